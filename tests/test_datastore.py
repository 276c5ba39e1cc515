"""A workspace's data folder: sessions of one server loading and reading it at the same time."""

from __future__ import annotations

import threading

import pytest

from kpi_model.datastore import DATA_FILE, PROFILES_FILE, DataStore
from kpi_model.engine import EnginePool
from kpi_model.models import Source, Workspace


def _workspace(tmp_path, rows: int = 20_000) -> Workspace:
    lines = ["day,amount"] + [f"2025-{1 + i % 12:02d}-{1 + i % 28:02d},{i}" for i in range(rows)]
    for name in ("orders", "returns", "visits"):
        (tmp_path / f"{name}.csv").write_text("\n".join(lines) + "\n")
    return Workspace(name="w", sources=[Source(name=n, path=f"{n}.csv") for n in ("orders", "returns", "visits")])


def test_sessions_opening_the_same_data_at_once_load_it_once_and_all_see_it_whole(tmp_path):
    workspace = _workspace(tmp_path)
    pool = EnginePool()
    folder = tmp_path / "opened"
    start = threading.Barrier(4)
    loaded: list[object] = []
    seen: list[dict[str, int]] = []
    failures: list[BaseException] = []

    def session() -> None:
        data = DataStore(folder, pool)
        try:
            start.wait()
            loaded.append(data.import_sources(workspace, tmp_path, only_if_missing=True))
            seen.append({name: profile.rows for name, profile in data.tables().items()})
        except BaseException as error:  # reported below, with the others
            failures.append(error)

    threads = [threading.Thread(target=session) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert sum(result is not None for result in loaded) == 1, "one session loads, the others find it loaded"
    assert seen == [{"orders": 20_000, "returns": 20_000, "visits": 20_000}] * 4
    assert sorted(p.name for p in folder.iterdir()) == [DATA_FILE, PROFILES_FILE], "no temporary database left behind"


def test_a_failed_first_load_leaves_no_database(tmp_path):
    workspace = _workspace(tmp_path, rows=10)
    (tmp_path / "visits.csv").write_bytes(b"\x00\x01binary")
    data = DataStore(tmp_path / "opened", EnginePool())
    with pytest.raises(Exception, match="binary data"):
        data.import_sources(workspace, tmp_path)
    assert not data.db_path.exists()
    assert list((tmp_path / "opened").iterdir()) == []

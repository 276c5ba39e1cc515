"""A workspace's data folder: sessions of one server loading and reading it at the same time."""

from __future__ import annotations

import threading

import duckdb
import pytest

from kpi_model.datastore import DATA_FILE, PROFILES_FILE, DataStore
from kpi_model.engine import EnginePool, lock
from kpi_model.models import Kpi, Source, Workspace


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


def test_an_uploaded_table_bigger_than_the_memory_limit_loads_and_computes_in_the_app(tmp_path, monkeypatch):
    """The app's path (upload, profile, the pool's read-only engine) under the operator's memory limit."""
    monkeypatch.setenv("KPI_WIZARD_MEMORY_LIMIT", "48MB")
    upload = tmp_path / "big.parquet"
    with duckdb.connect() as con:
        # ~4.5M distinct customers in one month: a count(DISTINCT) hash table far over the 48 MB limit.
        con.execute(
            "COPY (SELECT DATE '2025-01-01' + CAST(i % 28 AS INTEGER) AS order_date, hash(i) AS customer_id, "
            "CAST(hash(i, 2) % 100000 AS DOUBLE) / 100 AS amount FROM range(4500000) t(i)) "
            f"TO '{upload}' (FORMAT parquet, ROW_GROUP_SIZE 100000)"
        )
        expected = con.execute(f"SELECT count(DISTINCT customer_id), sum(amount) FROM '{upload}'").fetchone()
    assert upload.stat().st_size > 48 * 2**20
    data = DataStore(tmp_path / "data", EnginePool(timeout_s=120))
    assert data.limits.memory_limit == "48MB", "jobs get the operator's limit (their process does not see it)"
    with open(upload, "rb") as stream:
        profile = data.upload("big.parquet", stream, table="orders")
    assert profile.rows == 4_500_000
    engine = data.engine()
    assert engine.query("SELECT current_setting('memory_limit')")[1][0][0].startswith("45")  # 48 MB in MiB
    kpis = [
        Kpi(id=id_, name=id_, expression=formula, source="orders", time_column="order_date")
        for id_, formula in (("customers", "count(DISTINCT customer_id)"), ("revenue", "sum(amount)"))
    ]
    results = engine.compute_many(Workspace(name="w", sources=[Source(name="orders", path="big.parquet")], kpis=kpis))
    customers, revenue = results["customers"], results["revenue"]
    assert not isinstance(customers, Exception) and not isinstance(revenue, Exception), results
    assert customers.points[0].value == expected[0]
    assert abs((revenue.points[0].value or 0) - expected[1]) <= 1e-9 * expected[1]
    # Without a place to spill, the same query does not fit in the limit: spilling is what made it work.
    data.pool.release(data.db_path)
    with duckdb.connect(str(data.db_path), read_only=True) as bare:
        lock(bare, memory_limit="48MB", temp_directory="")
        with pytest.raises(duckdb.OutOfMemoryException):
            bare.execute(customers.sql).fetchall()

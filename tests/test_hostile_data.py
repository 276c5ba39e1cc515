"""Hostile data through :class:`DataStore`: files, views and traffic a visitor might send a team server.

Expected of every case, written before it was run: the call raises :class:`SourceError` with a
message that names a fix (or, for the accepted cases, returns normally and quickly); the canary
beside the workspace (a secret file and a second workspace) is untouched and never quoted; the
table loaded before is intact; no ``files/.upload-*``, staging table, temporary database or spill
folder is left behind; and this process is alive and still runs jobs.
"""

from __future__ import annotations

import io
import os
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from kpi_model import datastore_jobs, formula, sources
from kpi_model.datastore import PROFILES_FILE, UPLOADS, DataStore
from kpi_model.engine import EnginePool
from kpi_model.isolation import JobFailed, JobTimeout, database_lock, run_job
from kpi_model.sources import STAGING_PREFIX, Limits, SourceError

from .hostile_files import wide_csv, xlsx_bomb
from .hostile_support import Canary, names_a_fix

ORDERS = b"day,amount\n2025-01-31,10\n2025-02-28,20\n2025-03-31,30\n"
# Short view and profile limits keep the runaway cases quick; everything else is the default.
QUICK = Limits(view_timeout_s=2.0, profile_timeout_s=5.0)


@pytest.fixture
def canary(tmp_path) -> Canary:
    return Canary(tmp_path / "outside")


@pytest.fixture
def data(tmp_path) -> DataStore:
    """A workspace with one good table, 'orders', loaded before the hostile case."""
    store = DataStore(tmp_path / "ws", EnginePool(), limits=QUICK)
    assert store.upload("orders.csv", io.BytesIO(ORDERS)).rows == 3
    return store


def _refused(call: Callable[[], object], canary: Canary, tmp_path: Path) -> str:
    """The call raises SourceError; its message names a fix, no server path and no secret."""
    with pytest.raises(SourceError) as caught:
        call()
    message = str(caught.value)
    assert names_a_fix(message), message
    assert str(tmp_path / "ws") not in message, f"a server path in {message!r}"
    assert "Traceback" not in message
    canary.assert_untouched(message)
    return message


def _assert_intact(data: DataStore, canary: Canary, *, also: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """The earlier table is whole, nothing is left over, the canary is untouched, this process still runs jobs."""
    tables = data.tables()
    assert set(tables) == {"orders", *also}, sorted(tables)
    assert tables["orders"].rows == 3 and tables["orders"].error is None
    assert data.engine().query("SELECT sum(amount) FROM orders")[1] == [(60,)]
    staging = data.engine().query(
        f"SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, '{STAGING_PREFIX}')"
    )
    assert staging[1] == [], "no staging table left"
    assert list((data.folder / UPLOADS).glob(".upload-*")) == [], "no partial upload left"
    assert [p.name for p in data.folder.iterdir() if p.name.startswith((".data", "data.duckdb."))] == []
    canary.assert_untouched()
    assert run_job(os.getpid, what="checking", fix="none", timeout_s=30) != os.getpid()


def _upload(data: DataStore, name: str, content: bytes, **kwargs: object) -> Callable[[], object]:
    return lambda: data.upload(name, io.BytesIO(content), **kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- wide files


def test_a_3000_column_csv_is_refused_in_moments_before_any_table_exists(data, canary, tmp_path):
    content = wide_csv(tmp_path / "wide.csv", 3_000).read_bytes()
    assert len(content) < 25_000, "22 KB on the wire"
    started = time.monotonic()
    message = _refused(_upload(data, "wide.csv", content), canary, tmp_path)
    assert time.monotonic() - started < 5
    assert "wide.csv has 3,000 columns, more than the 1,000 a table may have" in message
    assert "keep the columns KPIs need" in message
    _assert_intact(data, canary)


def test_1001_columns_are_refused(data, canary, tmp_path):
    content = wide_csv(tmp_path / "wide.csv", 1_001).read_bytes()
    assert "1,001 columns" in _refused(_upload(data, "wide.csv", content), canary, tmp_path)
    _assert_intact(data, canary)


def test_1000_columns_load_profile_quickly_and_the_profile_is_kept(data, canary, tmp_path):
    content = wide_csv(tmp_path / "wide.csv", 1_000).read_bytes()
    started = time.monotonic()
    profile = data.upload("wide.csv", io.BytesIO(content))
    assert time.monotonic() - started < 30  # ~2 s here; one query over 5,000 aggregates took 72 s and 1.7 GB
    assert len(profile.columns) == 1_000 and profile.rows == 1 and profile.column("c999").distinct == 1
    started = time.monotonic()
    assert data.tables()["wide"] == profile
    assert time.monotonic() - started < 0.5, "a page run reads the cached profile, it does not profile again"
    (data.folder / PROFILES_FILE).unlink()
    started = time.monotonic()
    assert data.tables()["wide"] == profile, "a lost cache is made again, in a job"
    assert time.monotonic() - started < 30
    _assert_intact(data, canary, also={"wide"})


def test_a_3000_column_table_from_before_the_limit_profiles_in_chunks(data, canary, tmp_path):
    # Workspaces loaded before the limit may hold such a table: its profile crashed DuckDB on every visit.
    # What is tested is that it profiles at all, not how fast: the default time limit, not QUICK's 5 s.
    data = DataStore(data.folder, data.pool)
    with database_lock(data.db_path):
        data.pool.release(data.db_path)
        with duckdb.connect(str(data.db_path)) as connection:
            connection.execute(f"CREATE TABLE wide AS SELECT {', '.join(f'1 AS c{i}' for i in range(3_000))}")
    profile = data.tables()["wide"]
    assert profile.error is None and len(profile.columns) == 3_000 and profile.rows == 1
    _assert_intact(data, canary, also={"wide"})


def test_a_json_with_1001_keys_loads_as_one_map_column_not_1001(data, canary, tmp_path):
    # DuckDB reads objects wider than 200 keys as one MAP column, so JSON never comes near the column limit.
    record = "{" + ", ".join(f'"k{i}": {i}' for i in range(1_001)) + "}"
    started = time.monotonic()
    profile = data.upload("wide.ndjson", io.BytesIO((record + "\n").encode()))
    assert time.monotonic() - started < 10
    assert [(c.name, c.type) for c in profile.columns] == [("json", "MAP(VARCHAR, BIGINT)")]
    _assert_intact(data, canary, also={"wide"})


def test_a_csv_over_the_value_limit_is_refused(tmp_path, canary):
    data = DataStore(tmp_path / "ws", EnginePool(), limits=Limits(max_cells=1_000))
    data.upload("orders.csv", io.BytesIO(ORDERS))
    content = b"a,b\n" + b"1,2\n" * 600
    assert "1,200 values, more than the 1,000" in _refused(_upload(data, "many.csv", content), canary, tmp_path)
    _assert_intact(data, canary)


# ---------------------------------------------------------------------------- Excel


def test_an_xlsx_zip_bomb_is_refused_before_it_is_unpacked(data, canary, tmp_path):
    path = xlsx_bomb(tmp_path / "bomb.xlsx", unpacked_mb=100)
    assert path.stat().st_size < 500_000
    started = time.monotonic()
    message = _refused(_upload(data, "bomb.xlsx", path.read_bytes()), canary, tmp_path)
    assert time.monotonic() - started < 5, "the central directory is read, the sheet is not parsed"
    assert "that is how zip bombs look" in message and "export the sheet you need as CSV" in message
    _assert_intact(data, canary)


def test_an_xlsx_with_1001_columns_is_refused(data, canary, tmp_path):
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("wide")
    sheet.append([f"c{i}" for i in range(1_001)])
    sheet.append([1] * 1_001)
    workbook.save(tmp_path / "wide.xlsx")
    message = _refused(_upload(data, "wide.xlsx", (tmp_path / "wide.xlsx").read_bytes()), canary, tmp_path)
    assert "1,001 columns" in message
    _assert_intact(data, canary)


def test_an_xlsx_of_ten_thousand_parts_is_refused(data, canary, tmp_path):
    path = tmp_path / "parts.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for index in range(10_001):
            archive.writestr(f"xl/media/p{index}.xml", "")
    message = _refused(_upload(data, "parts.xlsx", path.read_bytes()), canary, tmp_path)
    assert "10,001 parts" in message
    _assert_intact(data, canary)


def test_a_file_named_xlsx_that_is_no_zip_is_refused(data, canary, tmp_path):
    message = _refused(_upload(data, "fake.xlsx", b"PK\x03\x04 this is not a zip" * 10), canary, tmp_path)
    assert "is not a readable .xlsx workbook" in message
    _assert_intact(data, canary)


# ---------------------------------------------------------------------------- Parquet


def _parquet(path: Path, select: str) -> bytes:
    with duckdb.connect() as connection:
        connection.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
    return path.read_bytes()


def test_a_parquet_with_1001_columns_is_refused_from_its_metadata(data, canary, tmp_path):
    content = _parquet(tmp_path / "wide.parquet", "SELECT " + ", ".join(f"1 AS c{i}" for i in range(1_001)))
    assert "1,001 columns" in _refused(_upload(data, "wide.parquet", content), canary, tmp_path)
    _assert_intact(data, canary)


def test_a_parquet_that_unpacks_past_the_limit_is_refused(tmp_path, canary):
    data = DataStore(tmp_path / "ws", EnginePool(), limits=Limits(parquet_max_unpacked_bytes=1024**2))
    data.upload("orders.csv", io.BytesIO(ORDERS))
    content = _parquet(tmp_path / "big.parquet", "SELECT hash(range) AS h FROM range(1000000)")
    message = _refused(_upload(data, "big.parquet", content), canary, tmp_path)
    assert "big.parquet unpacks to" in message and "over the 1.0 MB limit" in message
    _assert_intact(data, canary)


def test_a_parquet_declaring_too_many_values_is_refused_before_reading(tmp_path, canary):
    data = DataStore(tmp_path / "ws", EnginePool(), limits=Limits(max_cells=100_000))
    data.upload("orders.csv", io.BytesIO(ORDERS))
    content = _parquet(tmp_path / "long.parquet", "SELECT 1 AS a, 2 AS b FROM range(100000)")
    assert "200,000 values" in _refused(_upload(data, "long.parquet", content), canary, tmp_path)
    _assert_intact(data, canary)


def test_a_truncated_parquet_is_refused(data, canary, tmp_path):
    content = _parquet(tmp_path / "t.parquet", "SELECT range AS i, 'x' || range AS s FROM range(50000)")
    message = _refused(_upload(data, "cut.parquet", content[: len(content) // 2]), canary, tmp_path)
    assert "is not a valid Parquet file" in message and "truncated" in message
    _assert_intact(data, canary)


def test_a_parquet_of_nothing_but_a_magic_number_is_refused(data, canary, tmp_path):
    message = _refused(_upload(data, "fake.parquet", b"PAR1" + b"\x00" * 64), canary, tmp_path)
    assert "is not a valid Parquet file" in message
    _assert_intact(data, canary)


# ---------------------------------------------------------------------------- binary and broken text


def test_a_binary_file_named_csv_is_refused(data, canary, tmp_path):
    message = _refused(_upload(data, "binary.csv", b"day,amount\n\x00\x01\x02\x03" * 100), canary, tmp_path)
    assert "binary data (NUL bytes)" in message
    _assert_intact(data, canary)


# ---------------------------------------------------------------------------- views


@pytest.mark.parametrize(
    "sql",
    [
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r",
        "SELECT count(*) AS n FROM big a, big b, big c, big d",
    ],
    ids=["endless recursion", "4-way cross join"],
)
def test_a_runaway_view_is_stopped_at_its_limit_and_not_kept(data, canary, tmp_path, sql):
    data.upload("big.csv", io.BytesIO(b"id\n" + b"".join(b"%d\n" % i for i in range(3_000))))
    started = time.monotonic()
    message = _refused(lambda: data.create_view("runaway", sql), canary, tmp_path)
    assert time.monotonic() - started < 2.0 + 15, "stopped at the 2 s limit (plus a job's start)"
    assert "the view 'runaway' ran longer than 2 s and was not kept: narrow it" in message
    _assert_intact(data, canary, also={"big"})


def test_a_runaway_view_does_not_hold_up_another_sessions_query(data, canary, tmp_path):
    data.upload("big.csv", io.BytesIO(b"id\n" + b"".join(b"%d\n" % i for i in range(3_000))))
    sql = "SELECT count(*) AS n FROM big a, big b, big c, big d"
    done: list[float] = []
    engine = data.engine()
    creating = threading.Thread(target=_refuse_view, args=(data, sql))
    creating.start()
    time.sleep(0.3)
    started = time.monotonic()
    # Another session with the engine it already had: it queries while the view job runs elsewhere.
    assert engine.query("SELECT sum(amount) FROM orders")[1] == [(60,)]
    done.append(time.monotonic() - started)
    creating.join(30)
    assert done[0] < 1.0
    _assert_intact(data, canary, also={"big"})


def _refuse_view(data: DataStore, sql: str) -> None:
    with pytest.raises(SourceError, match="ran longer than"):
        data.create_view("runaway", sql)


@pytest.mark.parametrize(
    "sql_for",
    [
        lambda c: f"SELECT * FROM '{c.secret_file}'",
        lambda c: f"SELECT * FROM read_csv('{c.secret_file}')",
        lambda c: f"SELECT * FROM '{c.other_workspace / 'data.duckdb'}'",
        lambda c: "SELECT * FROM 'http://127.0.0.1:9/x.csv'",
        lambda c: f"ATTACH '{c.other_workspace / 'data.duckdb'}' AS other",
    ],
    ids=["file path", "read_csv", "other workspace", "http", "ATTACH"],
)
def test_a_view_that_reaches_outside_is_refused(data, canary, tmp_path, sql_for):
    _refused(lambda: data.create_view("peek", sql_for(canary)), canary, tmp_path)
    _assert_intact(data, canary)


def test_the_locked_connections_refuse_files_even_if_a_check_let_one_through(data, canary, tmp_path, monkeypatch):
    # Defence in depth: with the SQL check out of the way, the job's connection still reads no file.
    monkeypatch.setattr(formula, "validate_view", lambda sql, tables: sql)
    with database_lock(data.db_path):
        data.pool.release(data.db_path)
        connection = datastore_jobs.job_connection(data.db_path, QUICK)
        try:
            message = _refused(
                lambda: sources.create_view(connection, "peek", f"SELECT * FROM '{canary.secret_file}'"),
                canary,
                tmp_path,
            )
            assert "does not run" in message and "disabled by configuration" in message
        finally:
            connection.close()
        # An ingest's connection may read its own file, and only that one.
        own = tmp_path / "own.csv"
        own.write_bytes(ORDERS)
        connection = datastore_jobs.job_connection(data.db_path, QUICK, allowed_paths=(own,))
        try:
            assert connection.execute("SELECT count(*) FROM read_csv(?)", [str(own)]).fetchall() == [(3,)]
            with pytest.raises(duckdb.PermissionException):
                connection.execute("SELECT * FROM read_csv(?)", [str(canary.secret_file)])
            with pytest.raises(duckdb.Error):
                connection.execute("SET enable_external_access = true")
        finally:
            connection.close()
    _assert_intact(data, canary)


def test_a_runaway_view_saved_before_the_limit_is_reported_and_can_be_dropped(data, canary, tmp_path):
    # Older versions kept such views; every Data page visit then hung. Now the page gets a note at once.
    with database_lock(data.db_path):
        data.pool.release(data.db_path)
        with duckdb.connect(str(data.db_path)) as connection:
            connection.execute(
                "CREATE VIEW endless AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r"
            )
            connection.execute(f"CREATE VIEW peek AS SELECT * FROM read_csv('{canary.secret_file}')")
    started = time.monotonic()
    tables = data.tables()
    assert time.monotonic() - started < 2.0 + 20
    assert "took longer than 2 s: drop it" in (tables["endless"].error or "")
    assert "cannot be read" in (tables["peek"].error or "") and names_a_fix(tables["peek"].error or "")
    canary.assert_untouched(tables["peek"].error)
    started = time.monotonic()
    assert set(data.tables()) == {"orders", "endless", "peek"}
    assert time.monotonic() - started < 0.5, "the note is kept with the profiles: the next visit is instant"
    started = time.monotonic()
    assert data.engine().profile("endless") == tables["endless"], "the engine (the audit) reads the same profiles"
    assert time.monotonic() - started < 0.5
    data.drop("endless")
    data.drop("peek")
    _assert_intact(data, canary)


# ---------------------------------------------------------------------------- concurrency


def test_twenty_concurrent_uploads_to_one_workspace_all_land(data, canary):
    start = threading.Barrier(20)
    failures: list[BaseException] = []

    def upload(index: int) -> None:
        try:
            start.wait()
            content = b"day,amount\n" + b"2025-01-01,%d\n" % index * (index + 1)
            data.upload(f"part {index}.csv", io.BytesIO(content))
        except BaseException as error:  # collected, asserted below
            failures.append(error)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert failures == []
    names = {f"part_{i}" for i in range(20)}
    tables = data.tables()
    assert {name: tables[name].rows for name in names} == {f"part_{i}": i + 1 for i in range(20)}
    assert sorted(p.name for p in (data.folder / UPLOADS).iterdir()) == sorted(
        ["orders.csv", *(f"{name}.csv" for name in names)]
    )
    _assert_intact(data, canary, also=names)


def test_an_upload_and_computations_at_the_same_time_both_work(data, canary):
    failures: list[BaseException] = []
    sums: list[int] = []

    def uploads() -> None:
        try:
            for round_ in range(8):
                content = b"day,amount\n" + b"2025-01-01,1\n" * (1000 + round_)
                data.upload("events.csv", io.BytesIO(content), table="events")
        except BaseException as error:  # collected, asserted below
            failures.append(error)

    def computations() -> None:
        try:
            for _ in range(40):
                sums.append(data.engine().query("SELECT sum(amount) FROM orders")[1][0][0])
                time.sleep(0.02)
        except BaseException as error:  # collected, asserted below
            failures.append(error)

    threads = [threading.Thread(target=uploads), threading.Thread(target=computations)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert failures == []
    assert sums == [60] * 40
    assert data.tables()["events"].rows == 1007
    _assert_intact(data, canary, also={"events"})


# ---------------------------------------------------------------------------- a job that dies


@pytest.mark.parametrize(("fault", "said"), [("ingest:staged", "was killed"), ("ingest:staged:SIGSEGV", "SIGSEGV")])
def test_a_job_killed_mid_ingest_leaves_the_earlier_tables_and_no_partial_files(
    data, canary, tmp_path, monkeypatch, fault, said
):
    monkeypatch.setenv("KPIW_FAULT", fault)  # the job dies after its staging table is committed
    message = _refused(_upload(data, "events.csv", b"day,amount\n2025-01-01,5\n"), canary, tmp_path)
    assert message.startswith("Loading events.csv ") and said in message and "nothing was changed" in message
    monkeypatch.delenv("KPIW_FAULT")
    _assert_intact(data, canary)
    assert data.upload("events.csv", io.BytesIO(b"day,amount\n2025-01-01,5\n")).rows == 1, "the next load works"


def test_a_first_import_killed_midway_leaves_no_database(tmp_path, canary, monkeypatch):
    from kpi_model.models import Source, Workspace

    for name in ("orders", "returns"):
        (tmp_path / f"{name}.csv").write_bytes(ORDERS)
    workspace = Workspace(name="w", sources=[Source(name=n, path=f"{n}.csv") for n in ("orders", "returns")])
    data = DataStore(tmp_path / "opened", EnginePool())
    monkeypatch.setenv("KPIW_FAULT", "ingest:staged:SIGSEGV")
    message = _refused(lambda: data.import_sources(workspace, tmp_path), canary, tmp_path)
    assert "crashed the reader (signal SIGSEGV); nothing was changed" in message
    assert list(data.folder.iterdir()) == [], "no database, no half-built one"
    monkeypatch.delenv("KPIW_FAULT")
    assert set(data.import_sources(workspace, tmp_path) or {}) == {"orders", "returns"}


def test_a_load_past_the_job_time_limit_is_killed_and_tidied_up(tmp_path, canary):
    DataStore(tmp_path / "ws", EnginePool()).upload("orders.csv", io.BytesIO(ORDERS))
    data = DataStore(tmp_path / "ws", EnginePool(), limits=Limits(job_timeout_s=0.5))
    big = tmp_path / "big.csv"
    with duckdb.connect() as connection:
        connection.execute(
            f"COPY (SELECT range AS id, range % 97 AS g, 'x' || range AS s, now() AS t FROM range(4000000)) TO '{big}'"
        )
    with pytest.raises(JobTimeout) as caught:
        data.upload("big.csv", big.open("rb"))
    message = str(caught.value)
    assert message.startswith("Loading big.csv took longer than 0.5 s and was stopped; nothing was changed.")
    assert names_a_fix(message) and isinstance(caught.value, JobFailed)
    _assert_intact(data, canary)


def test_a_partial_upload_a_stopped_server_left_is_swept(data, canary):
    stale = data.folder / UPLOADS / ".upload-0123.csv"
    stale.write_bytes(b"half of a file")
    os.utime(stale, (time.time() - 7 * 3600,) * 2)
    data.upload("more.csv", io.BytesIO(b"a\n1\n"))
    assert not stale.exists()
    _assert_intact(data, canary, also={"more"})


# ---------------------------------------------------------------------------- the Data page


def test_the_data_page_shows_a_table_it_cannot_profile_and_lets_the_user_remove_it(tmp_path, monkeypatch, canary):
    from streamlit.testing.v1 import AppTest

    from .conftest import REPO

    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    monkeypatch.delenv("KPI_WIZARD_ACCESS", raising=False)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    at.text_input(key="new_workspace_name").input("Broken view")
    next(b for b in at.button if b.label == "Create workspace").click().run()
    # A database as an older version could leave it: a good table and a view that reads a file.
    folder = tmp_path / "store" / at.session_state["kw_workspace_id"]
    folder.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(folder / "data.duckdb")) as connection:
        connection.execute("CREATE TABLE sales AS SELECT 1 AS amount")
        connection.execute(f"CREATE VIEW peek AS SELECT * FROM read_csv('{canary.secret_file}')")
    at.switch_page("pages/data.py").run()
    assert not at.exception, at.exception
    labels = [e.label.replace("\\", "") for e in at.expander]
    assert "sales — 1 row, 1 column" in labels and "peek — could not be profiled" in labels
    warning = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "'peek' cannot be read" in warning and names_a_fix(warning)
    canary.assert_untouched(warning)
    assert not [b for b in at.button if b.label.startswith("Remove")], "removing asks first (a popover)"
    at.button(key="drop_peek").click().run()
    assert not at.exception, at.exception
    assert "Removed 'peek'" in " ".join(s.value for s in at.success).replace("\\", "")
    labels = [e.label.replace("\\", "") for e in at.expander]
    assert "sales — 1 row, 1 column" in labels and not any(label.startswith("peek") for label in labels)
    canary.assert_untouched()


# ---------------------------------------------------------------------------- long text values


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_text_value_over_256_kilobytes_is_refused(data, canary, tmp_path, suffix):
    source = tmp_path / f"long{suffix}"
    with duckdb.connect() as connection:  # a 300 KB value that packs to a few KB
        connection.execute(
            f"COPY (SELECT repeat('a', 300 * 1024) AS note, 1 AS n) TO '{source}'"
            + (" (FORMAT parquet, COMPRESSION zstd)" if suffix == ".parquet" else " (HEADER)")
        )
    message = _refused(_upload(data, source.name, source.read_bytes()), canary, tmp_path)
    assert "column 'note' is 300.0 KB of text, more than the 256.0 KB" in message and "leave long texts" in message
    _assert_intact(data, canary)

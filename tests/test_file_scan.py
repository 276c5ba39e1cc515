"""Files read in place (kpi_model.sources.scan and the engine over them): the same values as a load, KPIs
that read the same rows in one query, a file bigger than the memory limit, and no file but the sources."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import duckdb
import pytest

from kpi_model import workspace_file
from kpi_model.engine import Engine, lock
from kpi_model.errors import KpiWizardError
from kpi_model.formula import SeriesRequest
from kpi_model.models import Kpi, Source, Workspace
from kpi_model.sources import SourceError, ingest_file, load_workspace_sources, memory_limit_bytes, scan_file
from kpi_model.sources import scan as scan_module
from kpi_model.sources import staging as staging_module

from .conftest import SAMPLE_WORKSPACE

# CSVs a user really sends: each is read by a load (a table) and by a scan (a view); both must agree.
MESSY_CSVS: dict[str, bytes] = {
    "semicolon_decimal_comma.csv": b"id;amount;day\n1;1,5;2025-01-03\n2;-2,25;2025-02-04\n3;;2025-03-05\n",
    "quoted_separators.csv": b'id,name,amount\n1,"Smith, J.",3.5\n2,"say ""hi""",4\n3,,\n',
    "crlf_and_bom.csv": "\ufeffid,amount,day\r\n1,10,2025-01-01\r\n2,20.5,2025-01-02\r\n".encode(),
    "crlf.csv": b'id,name,amount\r\n1,"a\r\nb",10\r\n2,c,20.5\r\n',
    "cr_only.csv": b"id,amount\r1,10\r2,3\r",
    "utf16.csv": "name,v,day\ncafé,1,2025-01-01\nthé,2,2025-01-02\n".encode("utf-16"),
    "tabs.tsv": b"id\tamount\tday\n1\t2.5\t2025-01-01\n2\t3\t2025-02-01\n",
    "late_decimal.csv": ("price\n" + "10\n" * 25_000 + "19.99\n").encode(),
    "day_first_dates.csv": b"day,at,amount\n01/02/2025,01/02/2025 10:00:00,1\n03/04/2025,03/04/2025 11:30:00,2\n",
    "day_past_twelve.csv": b"day,amount\n13/02/2025,1\n03/04/2025,2\n",
    "timestamps_and_nulls.csv": b"at,amount,flag\n2025-01-01 10:00:00,1,true\n,2,false\n2025-01-03 12:00:00,,\n",
    "duplicate_headers.csv": b"id,amount,Amount,,id\n1,2,3,4,5\n",
}


def _rows(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple]:
    return con.execute(f'SELECT * FROM "{relation}" ORDER BY ALL').fetchall()


def _types(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple]:
    return [(r[0], r[1]) for r in con.execute(f'DESCRIBE "{relation}"').fetchall()]


@pytest.mark.parametrize("name", sorted(MESSY_CSVS))
def test_a_scan_reads_every_value_a_load_reads(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(MESSY_CSVS[name])
    con = duckdb.connect()
    profile = ingest_file(con, path, "loaded")
    scanned = scan_file(con, "scanned", path)
    assert con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'scanned'").fetchall() == [
        ("VIEW",)
    ]
    assert _types(con, "scanned") == _types(con, "loaded")
    assert _rows(con, "scanned") == _rows(con, "loaded")
    ambiguous = {c.name: c.ambiguous_date_format for c in profile.ambiguous_dates}
    assert dict(scanned.ambiguous_dates) == ambiguous
    if name == "late_decimal.csv":
        assert max(r[0] for r in _rows(con, "scanned")) == 19.99  # not rounded to 20 by a sampled type


def test_a_declared_date_format_is_read_as_a_load_reads_it(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_bytes(MESSY_CSVS["day_first_dates.csv"])
    con = duckdb.connect()
    ingest_file(con, path, "loaded", date_format="%m/%d/%Y")
    scanned = scan_file(con, "scanned", path, "%m/%d/%Y")
    assert _rows(con, "scanned") == _rows(con, "loaded")
    assert _rows(con, "scanned")[0][0] == dt.date(2025, 1, 2)
    assert scanned.ambiguous_dates == ()


def test_every_sample_source_scans_to_the_table_a_load_makes():
    workspace = workspace_file.load(SAMPLE_WORKSPACE)
    loaded = duckdb.connect()
    load_workspace_sources(loaded, workspace, SAMPLE_WORKSPACE.parent)
    engine = Engine.for_workspace(workspace, SAMPLE_WORKSPACE.parent)
    with engine:
        assert set(engine.scans) == {s.name for s in workspace.sources if s.path}
        for name in engine.scans:
            assert engine.query(f'SELECT * FROM "{name}" ORDER BY ALL')[1] == _rows(loaded, name), name


def _same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-12))


@pytest.mark.parametrize("request_", [SeriesRequest(), SeriesRequest(grain="week", by="channel")], ids=str)
def test_compute_over_scanned_files_equals_compute_over_loaded_tables(request_):
    workspace = workspace_file.load(SAMPLE_WORKSPACE)
    loaded = duckdb.connect()
    load_workspace_sources(loaded, workspace, SAMPLE_WORKSPACE.parent)
    with Engine(loaded) as old, Engine.for_workspace(workspace, SAMPLE_WORKSPACE.parent) as new:
        before, after = old.compute_many(workspace, None, request_), new.compute_many(workspace, None, request_)
    assert before.keys() == after.keys()
    computed = 0
    for kpi_id, expected in before.items():
        got = after[kpi_id]
        if isinstance(expected, Exception):
            assert isinstance(got, Exception) and str(got) == str(expected), kpi_id
            continue
        assert not isinstance(got, Exception), f"{kpi_id}: {got}"
        key = lambda p: (p.period, p.dimension or "")  # noqa: E731
        assert [key(p) for p in sorted(got.points, key=key)] == [key(p) for p in sorted(expected.points, key=key)]
        for a, b in zip(sorted(got.points, key=key), sorted(expected.points, key=key), strict=True):
            assert a.rows == b.rows and _same(a.value, b.value) and _same(a.numerator, b.numerator), kpi_id
        assert got.coverage == expected.coverage, kpi_id
        computed += 1
    assert computed >= 10


# ---------------------------------------------------------------------------- one scan per group


def _orders(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    lines = ["order_date,customer_id,amount,cost,status,channel"]
    for i in range(400):
        day = dt.date(2025, 1, 1) + dt.timedelta(days=i % 200)
        status = "returned" if i % 9 == 0 else "completed"
        lines.append(f"{day},{i % 37},{10 + i % 13}.5,{4 + i % 7},{status},{'web' if i % 3 else 'shop'}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _kpi(kpi_id: str, expression: str, **more: str) -> Kpi:
    return Kpi(id=kpi_id, name=kpi_id, source="orders", expression=expression, time_column="order_date", **more)


FOUR = [
    _kpi("revenue", "sum(amount)"),
    _kpi("margin", "(sum(amount) - sum(cost)) / sum(amount)"),
    _kpi("customers", "count(DISTINCT customer_id)"),
    _kpi("return_rate", "count(*) FILTER (WHERE status = 'returned') / count(*)"),
]


def _counting(engine: Engine) -> list[str]:
    """Every SQL statement the engine runs from now on that reads the orders source through.

    Left out: DESCRIBE (no row is read) and the look at a CSV's first rows (``LIMIT``) that guesses
    the range of a distinct count's ids.
    """
    ran: list[str] = []
    execute = engine._execute

    def spy(sql: str):
        if '"orders"' in sql and not sql.startswith("DESCRIBE") and " LIMIT " not in sql:
            ran.append(sql)
        return execute(sql)

    engine._execute = spy  # type: ignore[method-assign]
    return ran


@pytest.mark.parametrize("request_", [SeriesRequest(), SeriesRequest(grain="quarter", by="channel")], ids=str)
def test_kpis_that_read_the_same_rows_are_computed_in_one_scan(tmp_path, request_):
    _orders(tmp_path)
    filtered = [_kpi("web_revenue", "sum(amount)", filter="channel = 'web'")]
    workspace = Workspace(name="w", sources=[Source(name="orders", path="orders.csv")], kpis=FOUR + filtered)
    with Engine.for_workspace(workspace, tmp_path) as engine:
        ran = _counting(engine)
        together = engine.compute_many(workspace, None, request_)
    # The four share one query (with the source's coverage in it); the filtered KPI reads other rows.
    assert len(ran) == 2, ran
    assert all("sum(amount)" in sql.lower() for sql in ran)
    with Engine.for_workspace(workspace, tmp_path) as engine:
        alone = {k.id: engine.compute(workspace, k.id, request_) for k in workspace.kpis}
        engine.forget()
    for kpi_id, series in together.items():
        assert not isinstance(series, Exception)
        key = lambda p: (p.period, p.dimension or "")  # noqa: E731
        pairs = zip(sorted(series.points, key=key), sorted(alone[kpi_id].points, key=key), strict=True)
        assert all(key(a) == key(b) and a.rows == b.rows and _same(a.value, b.value) for a, b in pairs), kpi_id
        assert series.coverage == alone[kpi_id].coverage
        assert series.sql == alone[kpi_id].sql  # the SQL panels show what this KPI alone runs


def test_a_kpi_that_fails_in_a_shared_scan_says_why_and_the_others_compute(tmp_path):
    _orders(tmp_path)
    broken = _kpi("broken", "sum(status)")  # text: DuckDB refuses to add it up
    workspace = Workspace(name="w", sources=[Source(name="orders", path="orders.csv")], kpis=[*FOUR, broken])
    with Engine.for_workspace(workspace, tmp_path) as engine:
        results = engine.compute_many(workspace)
    assert "KPI 'broken' did not compute" in str(results["broken"])
    assert all(not isinstance(results[k.id], Exception) for k in FOUR)


# ---------------------------------------------------------------------------- memory and safety


def test_a_parquet_file_bigger_than_the_memory_limit_computes_by_spilling(tmp_path):
    path = tmp_path / "big.parquet"
    with duckdb.connect() as con:
        # ~4.5M distinct customers in one month: a count(DISTINCT) hash table far over the 48 MB limit.
        con.execute(
            f"COPY (SELECT DATE '2025-01-01' + CAST(i % 28 AS INTEGER) AS order_date, hash(i) AS customer_id, "
            f"CAST(hash(i, 2) % 100000 AS DOUBLE) / 100 AS amount FROM range(4500000) t(i)) TO '{path}' "
            "(FORMAT parquet, ROW_GROUP_SIZE 100000)"
        )
        expected = con.execute(f"SELECT count(DISTINCT customer_id), sum(amount) FROM '{path}'").fetchone()
    assert path.stat().st_size > 48 * 2**20
    kpis = [
        _kpi("customers", "count(DISTINCT customer_id)"),
        _kpi("revenue", "sum(amount)"),
    ]
    workspace = Workspace(name="w", sources=[Source(name="orders", path="big.parquet")], kpis=kpis)
    with Engine.for_workspace(workspace, tmp_path, memory_limit="48MB", timeout_s=120) as engine:
        spill = engine._spill
        results = engine.compute_many(workspace)
        # Without a place to spill, the same query does not fit in the limit: the spill is what made it work.
        with duckdb.connect() as bare:
            bare.execute(f"CREATE VIEW orders AS SELECT * FROM read_parquet('{path}')")
            lock(bare, memory_limit="48MB", allowed_paths=[path], temp_directory="")
            with pytest.raises(duckdb.OutOfMemoryException):
                bare.execute(results["customers"].sql).fetchall()  # type: ignore[union-attr]
    customers, revenue = results["customers"], results["revenue"]
    assert not isinstance(customers, Exception) and not isinstance(revenue, Exception)
    assert customers.points[0].value == expected[0]
    assert math.isclose(revenue.points[0].value or 0, expected[1], rel_tol=1e-9)
    assert spill is not None and not spill.exists(), "the spill folder goes with the engine"


def test_the_engine_reads_its_sources_and_no_other_file(tmp_path):
    _orders(tmp_path)
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    workspace = Workspace(name="w", sources=[Source(name="orders", path="orders.csv")], kpis=FOUR)
    with Engine.for_workspace(workspace, tmp_path) as engine:
        assert engine.query('SELECT count(*) FROM "orders"')[1] == [(400,)]
        for sql in (
            f"SELECT * FROM read_csv('{secret}')",
            f"SELECT * FROM '{secret}'",
            f"SELECT * FROM read_text('{tmp_path}/*')",
            f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'",
            "SET enable_external_access = true",
            f"SET allowed_paths = ['{secret}']",
        ):
            with pytest.raises(duckdb.Error):
                engine.query(sql)
    assert not (tmp_path / "out.csv").exists()


def test_a_file_gone_since_the_engine_opened_is_named_with_the_fix(tmp_path):
    orders = _orders(tmp_path)
    workspace = Workspace(name="w", sources=[Source(name="orders", path="orders.csv")], kpis=FOUR)
    with Engine.for_workspace(workspace, tmp_path) as engine:
        orders.unlink()
        result = engine.compute_many(workspace)["revenue"]
    assert isinstance(result, SourceError)
    assert "Source 'orders'" in str(result) and "is gone since" in str(result) and "--data" in str(result)


def test_a_big_csv_whose_later_rows_break_the_sampled_types_is_typed_from_every_row(tmp_path, monkeypatch):
    # As if the file were over the 64 MB a load sniffs whole: types come from a sample of 20,480 rows.
    monkeypatch.setattr(scan_module, "_FULL_SNIFF_BYTES", 1000)
    path = tmp_path / "orders.csv"
    path.write_text("order_date,customer_id\n" + "2025-01-02,17\n" * 30_000 + "2025-01-03,C-18\n")
    workspace = Workspace(
        name="w", sources=[Source(name="orders", path="orders.csv")], kpis=[_kpi("n", "count(DISTINCT customer_id)")]
    )
    with Engine.for_workspace(workspace, tmp_path) as engine:
        assert not engine.scans["orders"].every_row
        series = engine.compute(workspace, "n")
        assert engine.scans["orders"].every_row
        assert engine.query("SELECT typeof(customer_id) FROM orders LIMIT 1")[1] == [("VARCHAR",)]
    assert [p.value for p in series.points] == [2.0]


def test_a_big_csv_whose_first_quotes_come_after_the_sample_is_read_from_every_row(tmp_path, monkeypatch):
    # The sample has no quotes, so its view reads none; a later quoted comma would split the line in four.
    monkeypatch.setattr(scan_module, "_FULL_SNIFF_BYTES", 1000)
    path = tmp_path / "orders.csv"
    path.write_text("order_date,amount,customer\n" + "2025-01-02,2,Ann\n" * 30_000 + '2025-02-03,5,"Smith, John"\n')
    workspace = Workspace(name="w", sources=[Source(name="orders", path="orders.csv")], kpis=[_kpi("n", "sum(amount)")])
    with Engine.for_workspace(workspace, tmp_path) as engine:
        series = engine.compute(workspace, "n")
        assert engine.query("SELECT customer FROM orders WHERE amount = 5")[1] == [("Smith, John",)]
    assert [p.value for p in series.points] == [60_000.0, 5.0]


def test_a_big_csv_whose_first_quotes_come_after_the_sample_loads_from_every_row(tmp_path, monkeypatch):
    """The app's load, beside the scan above: the same file loads with the quoted comma kept in its value."""
    monkeypatch.setattr(staging_module, "_FULL_SNIFF_BYTES", 1000)
    path = tmp_path / "orders.csv"
    path.write_text("order_date,amount,customer\n" + "2025-01-02,2,Ann\n" * 30_000 + '2025-02-03,5,"Smith, John"\n')
    con = duckdb.connect()
    ingest_file(con, path, "orders")
    assert con.execute("SELECT count(*), max(customer) FILTER (WHERE amount = 5) FROM orders").fetchone() == (
        30_001,
        "Smith, John",
    )
    broken = tmp_path / "broken.csv"
    broken.write_text("order_date,amount\n" + "2025-01-02,2\n" * 30_000 + "2025-02-03,5,7\n")
    with pytest.raises(SourceError, match="has 3 fields but the header has 2"):
        ingest_file(con, broken, "broken")


def test_a_line_broken_in_every_reading_is_named_after_every_row_was_tried(tmp_path, monkeypatch):
    monkeypatch.setattr(scan_module, "_FULL_SNIFF_BYTES", 1000)
    path = tmp_path / "orders.csv"
    path.write_text("order_date,amount\n" + "2025-01-02,2\n" * 30_000 + "2025-02-03,5,7\n")
    workspace = Workspace(name="w", sources=[Source(name="orders", path="orders.csv")], kpis=[_kpi("n", "sum(amount)")])
    with Engine.for_workspace(workspace, tmp_path) as engine, pytest.raises(KpiWizardError) as raised:
        engine.compute(workspace, "n")
    assert "Source 'orders'" in str(raised.value) and "has 3 fields but the header has 2" in str(raised.value)


def test_a_broken_line_is_named_like_a_load_names_it(tmp_path):
    (tmp_path / "orders.csv").write_text("order_date,amount\n2025-01-01,1\n2025-01-02,2,3\n")
    workspace = Workspace(name="w", sources=[Source(name="orders", path="orders.csv")], kpis=FOUR[:1])
    with pytest.raises(SourceError) as raised:
        Engine.for_workspace(workspace, tmp_path)
    assert "Source 'orders'" in str(raised.value) and "has 3 fields but the header has 2" in str(raised.value)


def test_distinct_counts_on_parquet_use_bitmaps_sized_from_its_metadata(tmp_path):
    path = tmp_path / "orders.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT DATE '2025-01-01' + CAST(i % 90 AS INTEGER) AS order_date, "
            f"CASE WHEN i % 11 = 0 THEN NULL ELSE i % 5000 - 100 END AS customer_id FROM range(50000) t(i)) "
            f"TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 10000)"
        )
        expected = con.execute(
            f"SELECT date_trunc('month', order_date)::DATE, count(DISTINCT customer_id) FROM '{path}' GROUP BY 1 "
            "ORDER BY 1"
        ).fetchall()
    kpis = [_kpi("customers", "count(DISTINCT customer_id)"), _kpi("rows", "count(*)")]
    workspace = Workspace(name="w", sources=[Source(name="orders", path="orders.parquet")], kpis=kpis)
    with Engine.for_workspace(workspace, tmp_path) as engine:
        ran = _counting(engine)
        results = engine.compute_many(workspace)
        by_day = engine.compute(workspace, "customers", SeriesRequest(by="order_date"))
    customers = results["customers"]
    assert not isinstance(customers, Exception)
    assert [(p.period, p.value) for p in customers.points] == [(d, float(n)) for d, n in expected]
    assert any("BITSTRING_AGG" in sql.upper() for sql in ran)  # ranges read from the metadata, no extra scan
    assert "BITSTRING_AGG" not in by_day.sql.upper()  # a breakdown would cost a pass to size the bitmaps


@pytest.mark.parametrize("late_id", [150, 10_000_000], ids=["inside the guess", "outside the guess"])
def test_distinct_counts_on_a_csv_guess_the_range_from_its_first_rows_and_stay_exact(tmp_path, late_id):
    # The first 20,480 rows hold ids 0..99; the guessed range is 0..299; then one later id.
    lines = [f"2025-0{1 + i % 3}-15,{i % 100},1" for i in range(30_000)] + [f"2025-03-20,{late_id},1"]
    (tmp_path / "orders.csv").write_text("order_date,customer_id,amount\n" + "\n".join(lines) + "\n")
    kpis = [_kpi("customers", "count(DISTINCT customer_id)"), _kpi("revenue", "sum(amount)")]
    workspace = Workspace(name="w", sources=[Source(name="orders", path="orders.csv")], kpis=kpis)
    with Engine.for_workspace(workspace, tmp_path) as engine:
        ran = _counting(engine)
        customers = engine.compute_many(workspace)["customers"]
        again = engine.compute(workspace, "customers", SeriesRequest(grain="quarter"))
    assert not isinstance(customers, Exception)
    assert [p.value for p in customers.points] == [100.0, 100.0, 101.0]
    assert again.points[0].value == 101.0
    bitmaps = [sql for sql in ran if "BITSTRING_AGG" in sql.upper()]
    if late_id == 150:
        assert len(bitmaps) == 2 and "BITSTRING_AGG" in customers.sql.upper()
    else:  # the bitmap query stopped at the id outside the range; the plain count ran instead
        assert len(bitmaps) == 1 and "BITSTRING_AGG" not in customers.sql.upper()


def test_the_memory_limit_comes_from_the_environment_and_a_bad_one_is_refused(tmp_path, monkeypatch):
    _orders(tmp_path)
    workspace = Workspace(name="w", sources=[Source(name="orders", path="orders.csv")], kpis=FOUR)
    monkeypatch.setenv("KPI_WIZARD_MEMORY_LIMIT", "300MB")
    with Engine.for_workspace(workspace, tmp_path) as engine:
        assert engine.query("SELECT current_setting('memory_limit')")[1][0][0].startswith("286")  # 300 MB in MiB
    monkeypatch.setenv("KPI_WIZARD_MEMORY_LIMIT", "lots")
    with pytest.raises(KpiWizardError, match="'lots' is not a size: write it like 512MB"):
        Engine.for_workspace(workspace, tmp_path)


@pytest.mark.parametrize(
    ("limit", "expected"),
    [("512MB", 512 * 1000**2), ("1.5GiB", int(1.5 * 1024**3)), ("4 gb", 4 * 1000**3), ("32768KiB", 32 * 1024**2)],
)
def test_a_memory_limit_is_read_as_duckdb_reads_it(limit, expected):
    assert memory_limit_bytes(limit) == expected


@pytest.mark.parametrize(
    "limit", ["", "12", "1.2.3GB", "5 PB", "-1GB", "2GB; SET x=1", "0GB", "0KB", "1 kib", "31MB", "1TB",
              "99999999999999999999TB"]
)  # fmt: skip
def test_a_memory_limit_that_is_not_a_usable_size_is_refused_with_the_variable_named(limit):
    with pytest.raises(KpiWizardError, match="KPI_WIZARD_MEMORY_LIMIT"):
        memory_limit_bytes(limit)


@pytest.mark.parametrize("read", ["scan", "load"])
def test_a_header_wider_than_the_first_64_kb_is_counted_whole(tmp_path, read):
    """Before, only the first 64 KB of the header were counted: 150 long names hid 120,000 more columns."""
    names = ["x" * 500 + str(i) for i in range(150)] + [f"c{i}" for i in range(120_000)]
    path = tmp_path / "wide.csv"
    path.write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n")
    con = duckdb.connect()
    with pytest.raises(SourceError, match="has 120,150 columns, more than the 1,000"):
        scan_file(con, "wide", path) if read == "scan" else ingest_file(con, path, "wide")


def test_a_first_line_of_more_than_16_mb_is_not_taken_for_a_header(tmp_path):
    path = tmp_path / "one_line.csv"
    path.write_text("a" * (16 * 2**20 + 10))
    with pytest.raises(SourceError, match="first line is longer than 16 MB, so it is not a header row"):
        scan_file(duckdb.connect(), "one_line", path)


@pytest.mark.parametrize("name", ["[a].csv", "sales?.csv", "all*.csv"])
@pytest.mark.parametrize("read", ["scan", "load"])
def test_a_path_duckdb_would_read_as_a_pattern_is_refused_before_another_file_is_read(tmp_path, name, read):
    """Before, a source '[a].csv' was read by DuckDB as the pattern matching 'a.csv', another file."""
    (tmp_path / "a.csv").write_text("order_date,amount\n2025-01-01,999\n")
    (tmp_path / "salesX.csv").write_text("order_date,amount\n2025-01-01,999\n")
    path = tmp_path / name
    path.write_text("order_date,amount\n2025-01-01,1\n")
    con = duckdb.connect()
    with pytest.raises(SourceError, match="which DuckDB reads as a pattern of file names"):
        scan_file(con, "t", path) if read == "scan" else ingest_file(con, path, "t")


@pytest.mark.parametrize(
    ("written", "expected_fix"),
    [
        ("{day}/03/2025 {hour:02d}:15", "its values read as dates with date_format '%d/%m/%Y %H:%M'"),
        ("{day}.03.2025 {hour:02d}h15", "give the source the date_format its dates are written in"),
    ],
)
def test_a_time_column_of_text_is_named_with_the_date_format_it_reads_in(tmp_path, written, expected_fix):
    """DuckDB's sniffer leaves dd/mm/yyyy HH:MM as text; the user saw 'No function matches day(VARCHAR)'."""
    lines = [written.format(day=13 + i % 15, hour=i % 24) + f",{i}" for i in range(60)]
    (tmp_path / "orders.csv").write_text("order_date,amount\n" + "\n".join(lines) + "\n")
    workspace = Workspace(name="w", sources=[Source(name="orders", path="orders.csv")], kpis=FOUR[:1])
    derived = Kpi(id="double", name="double", expression="revenue * 2")
    workspace = workspace.model_copy(update={"kpis": [*FOUR[:1], derived]})
    with Engine.for_workspace(workspace, tmp_path) as engine:
        for kpi_id in ("revenue", "double"):
            with pytest.raises(KpiWizardError) as raised:
                engine.compute(workspace, kpi_id)
            message = str(raised.value)
            assert "the time column 'order_date' of source 'orders' holds text, not dates" in message
            assert expected_fix in message and "day(VARCHAR)" not in message


def test_running_out_of_memory_names_the_variable_and_a_size_that_works(tmp_path):
    path = tmp_path / "orders.csv"
    rows = "\n".join(f"2025-01-{1 + i % 28:02d},{i},cust-{i:09d}-{'x' * 20}" for i in range(400_000))
    path.write_text("order_date,amount,customer\n" + rows + "\n")
    workspace = Workspace(
        name="w", sources=[Source(name="orders", path="orders.csv")], kpis=[_kpi("n", "count(DISTINCT customer)")]
    )
    with Engine.for_workspace(workspace, tmp_path, memory_limit="32MB") as engine:
        with pytest.raises(KpiWizardError) as raised:
            engine.compute(workspace, "n")
    message = str(raised.value)
    assert "needs more memory than KPI_WIZARD_MEMORY_LIMIT (32MB) allows" in message
    assert "1GB suits most files" in message and "compute fewer periods" not in message

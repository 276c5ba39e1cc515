"""File ingestion: every format loads with the right types, every bad file is refused clearly
and atomically, profiles are right, type fixes check before they change, paths stay confined."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import duckdb
import pytest
from openpyxl import Workbook

from kpi_model import workspace_file
from kpi_model.models import Source, Workspace
from kpi_model.sources import (
    STAGING_PREFIX,
    SUPPORTED_SUFFIXES,
    SourceError,
    ingest_file,
    list_tables,
    load_workspace_sources,
    profile_table,
    resolve_source_path,
    set_column_type,
    table_name_for,
)

from .conftest import REPO, SAMPLE_WORKSPACE, cli

OLIST = REPO.parent / "shared" / "external" / "olist-funnel"

# The small hand-made table every format carries: 4 rows, a NULL in amount and in channel.
ROWS = [
    ("A1", dt.date(2024, 1, 5), 10.5, "web"),
    ("A2", dt.date(2024, 1, 6), None, "shop"),
    ("A3", dt.date(2024, 2, 1), 4.5, "web"),
    ("A4", dt.date(2024, 2, 3), 20, None),
]
HEADER = ("order_id", "order_date", "amount", "channel")


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def _delimited(sep: str) -> bytes:
    lines = [sep.join(HEADER)]
    lines += [sep.join("" if v is None else str(v) for v in row) for row in ROWS]
    return ("\n".join(lines) + "\n").encode()


def _records() -> list[dict]:
    as_json = [[v.isoformat() if isinstance(v, dt.date) else v for v in row] for row in ROWS]
    return [dict(zip(HEADER, row, strict=True)) for row in as_json]


def _xlsx(path: Path, rows: list[tuple], title: str = "Orders", extra_sheets: tuple[str, ...] = ()) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    for name in extra_sheets:
        workbook.create_sheet(name)
    workbook.save(path)
    return path


def _write(tmp_path: Path, fmt: str) -> Path:
    path = tmp_path / f"orders.{fmt}"
    if fmt == "csv":
        path.write_bytes(_delimited(","))
    elif fmt == "tsv":
        path.write_bytes(_delimited("\t"))
    elif fmt == "txt":
        path.write_bytes(_delimited("|"))
    elif fmt == "json":
        path.write_text(json.dumps(_records()))
    elif fmt in ("ndjson", "jsonl"):
        path.write_text("".join(json.dumps(r) + "\n" for r in _records()))
    elif fmt == "parquet":
        csv_path = tmp_path / "for_parquet.csv"
        csv_path.write_bytes(_delimited(","))
        with duckdb.connect() as other:
            other.execute(f"COPY (SELECT * FROM read_csv('{csv_path}')) TO '{path}' (FORMAT parquet)")
    elif fmt == "xlsx":
        _xlsx(path, [HEADER, *ROWS])
    return path


def _assert_clean(con) -> None:
    """The connection has no half-read result left behind (DuckDB 2.0 then refuses con.sql())."""
    assert con.sql("SELECT 1").fetchall() == [(1,)]


def _staging_left(con) -> list[str]:
    rows = con.execute("SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, ?)", [STAGING_PREFIX])
    return [r[0] for r in rows.fetchall()]


# ---------------------------------------------------------------------------- happy paths


@pytest.mark.parametrize("fmt", ["csv", "tsv", "txt", "parquet", "json", "ndjson", "jsonl", "xlsx"])
def test_each_format_loads_with_types_and_profile(con, tmp_path, fmt):
    profile = ingest_file(con, _write(tmp_path, fmt), "orders")
    _assert_clean(con)
    assert profile.name == "orders"
    assert profile.rows == 4
    assert profile.column_names == list(HEADER)
    order_date, amount, channel = profile.column("order_date"), profile.column("AMOUNT"), profile.column("channel")
    assert order_date is not None and amount is not None and channel is not None
    assert order_date.type == "DATE"
    assert (order_date.min, order_date.max, order_date.distinct, order_date.null_share) == (
        "2024-01-05",
        "2024-02-03",
        4,
        0.0,
    )
    assert amount.type == "DOUBLE"
    assert (amount.min, amount.max, amount.distinct, amount.null_share) == ("4.5", "20.0", 3, 0.25)
    assert channel.type == "VARCHAR"
    assert (channel.min, channel.max, channel.distinct, channel.null_share) == (None, None, 2, 0.25)
    assert profile.column("nope") is None
    assert con.execute("SELECT sum(amount) FROM orders").fetchone() == (35.0,)
    assert list_tables(con) == ["orders"]


def test_reloading_replaces_the_table_and_a_view_of_that_name(con, tmp_path):
    con.execute("CREATE VIEW orders AS SELECT 1 AS x")
    ingest_file(con, _write(tmp_path, "csv"), "orders")
    assert con.execute("SELECT count(*) FROM orders").fetchone() == (4,)
    smaller = tmp_path / "smaller.csv"
    smaller.write_text("order_id,amount\nB1,1\n")
    profile = ingest_file(con, smaller, "orders")
    assert (profile.rows, profile.column_names) == (1, ["order_id", "amount"])
    assert list_tables(con) == ["orders"]


def test_utf16_with_bom_and_utf8_bom_are_read(con, tmp_path):
    utf16 = tmp_path / "unicode.csv"
    utf16.write_bytes("name,v\ncafé,1\n".encode("utf-16"))  # Excel's "Unicode text": LE with BOM
    ingest_file(con, utf16, "u16")
    bom = tmp_path / "bom.csv"
    bom.write_bytes("name,v\ncafé,2\n".encode("utf-8-sig"))
    profile = ingest_file(con, bom, "bom")
    assert profile.column_names == ["name", "v"], "the BOM must not end up in the first column name"
    assert con.execute("SELECT name, v FROM u16 UNION ALL SELECT name, v FROM bom").fetchall() == [
        ("café", 1),
        ("café", 2),
    ]


@pytest.mark.parametrize(
    ("content", "total"),
    [("product;price\nTent;1,5\nStove;20,25\n", 21.75), ("product;price\nTent;1.5\nStove;20.25\n", 21.75)],
)
def test_semicolon_files_read_decimal_commas_and_points(con, tmp_path, content, total):
    path = tmp_path / "eu.csv"
    path.write_text(content)
    profile = ingest_file(con, path, "eu")
    assert profile.column("price").type == "DOUBLE"
    assert con.execute("SELECT sum(price) FROM eu").fetchall() == [(total,)]


def test_decimals_after_the_type_sample_are_not_rounded(con, tmp_path):
    # DuckDB samples 20,480 rows for types and would cast a late "19.99" into a BIGINT column as 20.
    path = tmp_path / "prices.csv"
    path.write_text("price\n" + "10\n" * 25_000 + "19.99\n")
    profile = ingest_file(con, path, "prices")
    assert profile.column("price").type == "DOUBLE"
    assert con.execute("SELECT max(price) FROM prices").fetchone() == (19.99,)


def test_duplicate_and_blank_headers_become_usable_names(con, tmp_path):
    csv_path = tmp_path / "dupes.csv"
    csv_path.write_text("id,amount,Amount,,id\n1,2,3,4,5\n")
    xlsx_path = _xlsx(tmp_path / "dupes.xlsx", [("id", "amount", "Amount", None, "id"), (1, 2, 3, 4, 5)])
    for path in (csv_path, xlsx_path):
        profile = ingest_file(con, path, "dupes")
        names = profile.column_names
        assert len({n.lower() for n in names}) == 5, f"names must be distinct for DuckDB: {names}"
        assert all(n.strip() for n in names)
        selected = ", ".join(f'"{n}"' for n in names)
        assert con.execute(f"SELECT {selected} FROM dupes").fetchall() == [(1, 2, 3, 4, 5)]


def test_xlsx_picks_the_named_sheet_and_keeps_timestamps(con, tmp_path):
    workbook = Workbook()
    workbook.active.title = "Notes"
    workbook.active.append(["just a note"])
    data = workbook.create_sheet("Deals")
    data.append([])  # a blank first row: the header is the first non-empty row
    data.append(["deal", "won_at", "flag"])
    data.append(["D1", dt.datetime(2024, 3, 1, 9, 30), True])
    data.append([None, None, None])
    data.append(["D2", dt.datetime(2024, 3, 2), False])
    path = tmp_path / "deals.xlsx"
    workbook.save(path)
    profile = ingest_file(con, path, "deals", sheet="Deals")
    assert profile.rows == 2, "blank rows carry no data and are skipped"
    assert [(c.name, c.type) for c in profile.columns] == [
        ("deal", "VARCHAR"),
        ("won_at", "TIMESTAMP"),
        ("flag", "BOOLEAN"),
    ]
    assert profile.column("won_at").max == "2024-03-02 00:00:00"


# ---------------------------------------------------------------------------- the bad-file corpus


def _ragged_late() -> bytes:
    return b"a,b,c\n" + b"1,2,3\n" * 30_000 + b"4,5\n"


def _xlsx_bytes(tmp_path: Path, rows: list[tuple], **kwargs) -> bytes:
    return _xlsx(tmp_path / "built.xlsx", rows, **kwargs).read_bytes()


def _truncated_parquet(tmp_path: Path) -> bytes:
    path = tmp_path / "good.parquet"
    with duckdb.connect() as other:
        other.execute(f"COPY (SELECT range AS a FROM range(1000)) TO '{path}' (FORMAT parquet)")
    data = path.read_bytes()
    return data[: len(data) // 2]


BAD_FILES = {
    # name: (file name, content builder or None for "do not create", ingest kwargs, expected message parts)
    "missing": ("nothere.csv", None, {}, ["nothere.csv was not found", "check the path"]),
    "unsupported": ("old.xls", lambda _: b"x", {}, ["'.xls' files are not supported", ".parquet", "save it as .xlsx"]),
    "empty": ("empty.csv", lambda _: b"", {}, ["empty.csv is empty (0 bytes)"]),
    "blank_lines": ("blank.csv", lambda _: b"\n\n \n", {}, ["only blank lines"]),
    "header_only": ("header.csv", lambda _: b"a,b,c\n", {}, ["header.csv has no data rows", "export it again"]),
    "binary": ("photo.csv", lambda _: bytes(range(256)) * 4, {}, ["binary data (NUL bytes)", "right file"]),
    "latin1": (
        "latin.csv",
        lambda _: "name,v\nabc,1\ncafé,2\n".encode("latin-1"),
        {},
        ["not UTF-8", "line 3", "CSV UTF-8"],
    ),
    "utf16_be": (
        "be.csv",
        lambda _: b"\xfe\xff" + "a,b\n1,2\n".encode("utf-16-be"),
        {},
        ["UTF-16", "save it as UTF-8"],
    ),
    "too_many_fields": (
        "more.csv",
        lambda _: b"a,b\n1,2\n3,4,5\n6,7\n",
        {},
        ["line 3 has 3 fields but the header has 2"],
    ),
    "too_few_fields": (
        "few.csv",
        lambda _: b"a,b,c\n1,2,3\n4,5\n6,7,8\n",
        {},
        ["line 3 has 2 fields but the header has 3"],
    ),
    "ragged_after_sample": ("late.csv", lambda _: _ragged_late(), {}, ["line 30002 has 2 fields but the header has 3"]),
    "ragged_tsv": ("t.tsv", lambda _: b"a\tb\n1\t2\t3\n", {}, ["line 2 has 3 fields", "separated by TAB"]),
    "corrupt_parquet": ("bad.parquet", _truncated_parquet, {}, ["not a valid Parquet file", "truncated"]),
    "garbage_parquet": ("junk.parquet", lambda _: b"PAR1" + b"x" * 500, {}, ["not a valid Parquet file"]),
    "invalid_json": (
        "bad.json",
        lambda _: b'[{"a": 1},\n{"a": x}]',
        {},
        ["bad.json is not valid JSON (record 2, character 7: unexpected character)", "a JSON array of objects"],
    ),
    "truncated_json": (
        "cut.json",
        lambda _: b'[{"a": 1}, {"a": 2',
        {},
        ["record 2, character 8: unexpected end of data"],
    ),
    "invalid_ndjson": (
        "bad.ndjson",
        lambda _: b'{"a": 1}\n{"a": x}\n{"a": 3}\n',
        {},
        ["bad.ndjson is not valid JSON (line 2, character 7: unexpected character)", "one JSON object per line"],
    ),
    "empty_json": ("none.json", lambda _: b"[]", {}, ["none.json has no data rows"]),
    "xlsx_not_zip": ("fake.xlsx", lambda _: b"name,v\n1,2\n", {}, ["not a readable .xlsx workbook", "save it again"]),
    "xlsx_header_only": ("h.xlsx", lambda p: _xlsx_bytes(p, [("a", "b")]), {}, ["h.xlsx has no data rows"]),
    "xlsx_empty_sheet": ("e.xlsx", lambda p: _xlsx_bytes(p, []), {}, ["sheet 'Orders' is empty"]),
    "xlsx_unknown_sheet": (
        "s.xlsx",
        lambda p: _xlsx_bytes(p, [("a",), (1,)], extra_sheets=("Q1",)),
        {"sheet": "Q2"},
        ["no sheet named 'Q2'", "'Orders', 'Q1'"],
    ),
    "xlsx_value_without_header": (
        "w.xlsx",
        lambda p: _xlsx_bytes(p, [("a", "b"), (1, 2), (3, 4, "stray")]),
        {},
        ["row 3 has a value in column C, which has no header"],
    ),
    "too_big": (
        "big.csv",
        lambda _: b"a\n" + b"1\n" * 600,
        {"max_bytes": 1000},
        ["1.2 KB", "over the 1000 bytes limit"],
    ),
    "sheet_on_csv": ("s.csv", lambda _: b"a\n1\n", {"sheet": "x"}, ["only applies to .xlsx"]),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_are_refused_and_change_nothing(con, tmp_path, case):
    name, build, kwargs, expected = BAD_FILES[case]
    con.execute("CREATE TABLE orders AS SELECT * FROM (VALUES (1, 'old'), (2, 'old')) t(id, note)")
    con.execute("CREATE TABLE other AS SELECT 42 AS answer")
    path = tmp_path / "upload" / name
    path.parent.mkdir()
    if build is not None:
        path.write_bytes(build(tmp_path))
    with pytest.raises(SourceError) as caught:
        ingest_file(con, path, "orders", **kwargs)
    message = str(caught.value)
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"
    _assert_clean(con)
    assert con.execute("SELECT id, note FROM orders ORDER BY id").fetchall() == [(1, "old"), (2, "old")]
    assert con.execute("SELECT answer FROM other").fetchall() == [(42,)]
    assert _staging_left(con) == []
    assert list_tables(con) == ["orders", "other"]


def test_xlsx_that_unpacks_past_the_limit_is_refused(con, tmp_path):
    # A repeated shared string compresses to almost nothing in the .xlsx but not in the unpacked rows.
    path = _xlsx(tmp_path / "bomb.xlsx", [("text",)] + [("x" * 100,)] * 10_500)
    limit = 300_000
    assert path.stat().st_size < limit
    with pytest.raises(SourceError, match=r"unpacks to more than the 293\.0 KB limit"):
        ingest_file(con, path, "bomb", max_bytes=limit)
    assert list_tables(con) == []
    assert _staging_left(con) == []


def test_unsupported_suffix_lists_every_supported_one(con, tmp_path):
    path = tmp_path / "data.gz"
    path.write_bytes(b"x")
    with pytest.raises(SourceError) as caught:
        ingest_file(con, path, "t")
    assert all(suffix in str(caught.value) for suffix in SUPPORTED_SUFFIXES)


@pytest.mark.parametrize("bad", ["1orders", "orders; DROP TABLE x", "", "a-b", 'x"y'])
def test_table_name_must_be_an_identifier(con, tmp_path, bad):
    with pytest.raises(SourceError, match="cannot be a table name"):
        ingest_file(con, _write(tmp_path, "csv"), bad)
    assert list_tables(con) == []


# ---------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("filename", "taken", "expected"),
    [
        ("Orders 2025 (v2).csv", (), "orders_2025_v2"),
        ("2025 orders.xlsx", (), "t_2025_orders"),
        ("Café Ümsatz.parquet", (), "cafe_umsatz"),
        ("C:\\Users\\me\\sales.csv", (), "sales"),
        ("../../etc/passwd", (), "passwd"),
        ("order.csv", (), "t_order"),  # a reserved word would need quoting in every formula
        ("???.csv", (), "data"),
        ("orders.csv", ("orders", "ORDERS_2"), "orders_3"),
        ("x" * 100 + ".csv", ("x" * 63,), "x" * 61 + "_2"),
    ],
)
def test_table_name_for(filename, taken, expected):
    name = table_name_for(filename, taken)
    assert name == expected
    assert len(name) <= 63


# ---------------------------------------------------------------------------- profiles


def test_profile_counts_in_one_row_for_views_too(con):
    con.execute(
        "CREATE TABLE t AS SELECT range AS id, CASE WHEN range % 4 = 0 THEN NULL ELSE range % 3 END AS k, "
        "TIMESTAMP '2024-01-01' + INTERVAL (range) HOUR AS at FROM range(100)"
    )
    con.execute("CREATE VIEW v AS SELECT * FROM t WHERE id < 10")
    table = profile_table(con, "t")
    assert table.rows == 100
    k = table.column("k")
    assert (k.type, k.null_share, k.distinct, k.min, k.max) == ("BIGINT", 0.25, 3, "0", "2")
    assert (table.column("at").min, table.column("at").max) == ("2024-01-01 00:00:00", "2024-01-05 03:00:00")
    view = profile_table(con, "v")
    assert view.rows == 10
    assert view.column("id").distinct == 10


def test_profile_of_unknown_table_names_the_loaded_ones(con):
    con.execute("CREATE TABLE orders AS SELECT 1 AS x")
    with pytest.raises(SourceError, match="no table 'ordres'; loaded tables: orders"):
        profile_table(con, "ordres")


# ---------------------------------------------------------------------------- type fixes


@pytest.fixture
def text_dates(con):
    con.execute(
        "CREATE TABLE t AS SELECT * FROM (VALUES ('01/02/2024', '3'), ('13/02/2024', '4.5'), (NULL, NULL)) v(d, n)"
    )
    return con


def test_text_dates_become_a_date_with_a_format(text_dates):
    profile = set_column_type(text_dates, "t", "D", "date", date_format="%d/%m/%Y")
    _assert_clean(text_dates)
    column = profile.column("d")
    assert (column.type, column.min, column.max, column.null_share) == ("DATE", "2024-02-01", "2024-02-13", 1 / 3)


def test_failed_date_conversion_quotes_examples_suggests_a_format_and_changes_nothing(text_dates):
    with pytest.raises(SourceError) as caught:
        set_column_type(text_dates, "t", "d", "DATE", date_format="%m/%d/%Y")
    message = str(caught.value)
    assert "1 of 2 values in t.d cannot be read as DATE with format '%m/%d/%Y'" in message
    assert "'13/02/2024'" in message
    assert "date_format='%d/%m/%Y'" in message
    assert "Nothing was changed" in message
    _assert_clean(text_dates)
    assert profile_table(text_dates, "t").column("d").type == "VARCHAR"
    assert text_dates.execute("SELECT d FROM t ORDER BY d").fetchall() == [("01/02/2024",), ("13/02/2024",), (None,)]


def test_date_without_format_suggests_one(text_dates):
    with pytest.raises(SourceError, match=r"e\.g\. '01/02/2024', '13/02/2024'.*date_format='%d/%m/%Y'"):
        set_column_type(text_dates, "t", "d", "DATE")


def test_examples_stop_at_three(con):
    con.execute("CREATE TABLE t AS SELECT 'x' || range AS v FROM range(10)")
    with pytest.raises(SourceError) as caught:
        set_column_type(con, "t", "v", "DOUBLE")
    assert "10 of 10 values" in str(caught.value)
    assert "e.g. 'x0', 'x1', 'x2'. Fix" in str(caught.value)


def test_bigint_refuses_to_drop_decimals(text_dates):
    with pytest.raises(SourceError, match=r"cannot be read as BIGINT, e\.g\. '4\.5'"):
        set_column_type(text_dates, "t", "n", "BIGINT")
    assert profile_table(text_dates, "t").column("n").type == "VARCHAR"
    profile = set_column_type(text_dates, "t", "n", "DOUBLE")
    assert profile.column("n").type == "DOUBLE"
    text_dates.execute("DELETE FROM t WHERE n = 4.5")
    assert set_column_type(text_dates, "t", "n", "BIGINT").column("n").type == "BIGINT"


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        (("d", "INTEGER"), {}, "not a type you can pick; use one of DATE, TIMESTAMP"),
        (("n", "DOUBLE"), {"date_format": "%d"}, "only applies to DATE or TIMESTAMP"),
        (("dd", "DATE"), {}, "no column 'dd' — did you mean 'd'?"),
        (("d", "DATE"), {"date_format": "%Q"}, "'%Q' is not a usable date format"),
    ],
)
def test_type_fix_argument_errors(text_dates, args, kwargs, expected):
    with pytest.raises(SourceError, match=expected):
        set_column_type(text_dates, "t", *args, **kwargs)
    assert [c.type for c in profile_table(text_dates, "t").columns] == ["VARCHAR", "VARCHAR"]


def test_type_fix_on_a_view_is_refused(text_dates):
    text_dates.execute("CREATE VIEW v AS SELECT * FROM t")
    with pytest.raises(SourceError, match="is a view defined by SQL"):
        set_column_type(text_dates, "v", "d", "VARCHAR")


# ---------------------------------------------------------------------------- paths


def test_paths_inside_the_folder_resolve(tmp_path):
    (tmp_path / "data").mkdir()
    assert resolve_source_path(tmp_path, "data/orders.csv") == (tmp_path / "data" / "orders.csv").resolve()
    assert resolve_source_path(tmp_path, "data/../data/x.csv") == (tmp_path / "data" / "x.csv").resolve()


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("/etc/passwd", "is an absolute path"),
        ("../secret.csv", "climbs out with '..'"),
        ("data/../../secret.csv", "climbs out with '..'"),
        ("", "is not a file path"),
        ("a\x00b", "is not a file path"),
    ],
)
def test_confined_paths_refuse_escapes(tmp_path, relative, expected):
    with pytest.raises(SourceError) as caught:
        resolve_source_path(tmp_path, relative)
    assert expected in str(caught.value)
    if relative.strip("\x00ab"):
        assert "is outside the workspace folder" in str(caught.value)
        assert "--data" in str(caught.value)
        assert str(tmp_path) not in str(caught.value)


def test_symlink_out_of_the_folder_is_refused_but_one_inside_is_fine(tmp_path):
    workspace, outside = tmp_path / "ws", tmp_path / "elsewhere"
    workspace.mkdir()
    outside.mkdir()
    (outside / "secret.csv").write_text("a\n1\n")
    (workspace / "inside.csv").write_text("a\n1\n")
    os.symlink(outside / "secret.csv", workspace / "link.csv")
    os.symlink(outside, workspace / "linkdir")
    os.symlink(workspace / "inside.csv", workspace / "alias.csv")
    for relative in ("link.csv", "linkdir/secret.csv"):
        with pytest.raises(SourceError, match=r"is a link to a file which is outside the workspace folder") as caught:
            resolve_source_path(workspace, relative)
        assert str(tmp_path) not in str(caught.value)
    assert resolve_source_path(workspace, "alias.csv") == (workspace / "inside.csv").resolve()


def test_unconfined_paths_allow_anything(tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    assert resolve_source_path(workspace, "../x.csv", confine=False) == (tmp_path / "x.csv").resolve()
    assert resolve_source_path(workspace, "/etc/hosts", confine=False) == Path("/etc/hosts").resolve()


def _symlink_loops(folder: Path) -> None:
    """loop.csv leads to itself, a.csv to b.csv and back, and loopdir is a folder link to itself."""
    os.symlink("loop.csv", folder / "loop.csv")
    os.symlink("b.csv", folder / "a.csv")
    os.symlink("a.csv", folder / "b.csv")
    os.symlink("loopdir", folder / "loopdir")


@pytest.mark.parametrize("confine", [True, False])
@pytest.mark.parametrize("relative", ["loop.csv", "a.csv", "loopdir/orders.csv"])
def test_a_symlink_loop_is_a_source_error_naming_the_path(tmp_path, relative, confine):
    _symlink_loops(tmp_path)
    with pytest.raises(SourceError) as caught:  # before: Path.resolve's RuntimeError
        resolve_source_path(tmp_path, relative, confine=confine)
    message = str(caught.value)
    assert f"'{relative}'" in message and "link that leads back to itself" in message, message
    assert "cannot be followed" in message and str(tmp_path) not in message


def test_compute_reports_a_symlink_loop_in_one_line(tmp_path):
    _symlink_loops(tmp_path)
    (tmp_path / "workspace.yaml").write_text(
        "name: Shop\nsources:\n  - {name: orders, path: loop.csv}\n"
        "kpis:\n  - {id: total, name: Total, source: orders, expression: count(*)}\n",
        encoding="utf-8",
    )
    result = cli("compute", str(tmp_path / "workspace.yaml"))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Source 'orders': 'loop.csv' is"), result.stderr
    assert "link that leads back to itself" in lines[0]


# ---------------------------------------------------------------------------- workspace sources


def test_sample_workspace_sources_all_load_with_every_row(con):
    workspace = workspace_file.load(SAMPLE_WORKSPACE)
    profiles = load_workspace_sources(con, workspace, SAMPLE_WORKSPACE.parent)
    _assert_clean(con)
    path_sources = [s for s in workspace.sources if s.path]
    assert path_sources, "the sample workspace should have file sources"
    assert set(profiles) == {s.name for s in path_sources}
    for source in path_sources:
        with (SAMPLE_WORKSPACE.parent / source.path).open("rb") as handle:
            lines = sum(1 for _ in handle)
        assert profiles[source.name].rows == lines - 1, source.name
    assert profiles["orders"].column("order_date").type == "DATE"
    assert sorted(list_tables(con)) == sorted(profiles)


def _workspace(*sources: Source) -> Workspace:
    return Workspace(name="t", sources=list(sources))


def test_overrides_replace_and_supply_sources(con, tmp_path):
    data = tmp_path / "extract.csv"
    data.write_text("id,v\n1,2\n3,4\n")
    workspace = _workspace(
        Source(name="orders", path="missing/orders.csv"),
        Source(name="crm", system="Salesforce"),
        Source(name="erp", system="SAP"),
    )
    profiles = load_workspace_sources(con, workspace, tmp_path, {"orders": data, "crm": data})
    assert {name: p.rows for name, p in profiles.items()} == {"orders": 2, "crm": 2}
    assert list_tables(con) == ["crm", "orders"], "a source naming only a system is skipped"


def test_override_for_an_unknown_source_names_the_known_ones(con, tmp_path):
    workspace = _workspace(Source(name="orders", path="o.csv"), Source(name="leads", path="l.csv"))
    with pytest.raises(SourceError, match="No source named 'ordrs' in the workspace; its sources are: orders, leads"):
        load_workspace_sources(con, workspace, tmp_path, {"ordrs": tmp_path / "x.csv"})
    assert list_tables(con) == []


def test_source_errors_name_the_source(con, tmp_path):
    (tmp_path / "bad.csv").write_text("a,b\n")
    with pytest.raises(SourceError, match=r"^Source 'orders': bad\.csv has no data rows"):
        load_workspace_sources(con, _workspace(Source(name="orders", path="bad.csv")), tmp_path)
    with pytest.raises(SourceError, match=r"^Source 'leads': '\.\./leads\.csv' climbs out"):
        load_workspace_sources(con, _workspace(Source(name="leads", path="../leads.csv")), tmp_path)


def test_views_that_select_from_each_other_in_a_circle_are_refused(con, tmp_path):
    workspace = _workspace(Source(name="a", sql="SELECT * FROM b"), Source(name="b", sql="SELECT * FROM a"))
    with pytest.raises(SourceError, match="in a circle"):
        load_workspace_sources(con, workspace, tmp_path)


def test_sql_sources_become_views_in_dependency_order(con, tmp_path):
    (tmp_path / "orders.csv").write_bytes(_delimited(","))
    workspace = _workspace(
        Source(name="big_web", sql="SELECT * FROM web_orders WHERE amount > 5"),
        Source(name="web_orders", sql="SELECT order_id, amount FROM orders WHERE channel = 'web'"),
        Source(name="orders", path="orders.csv"),
    )
    profiles = load_workspace_sources(con, workspace, tmp_path)
    assert {name: p.rows for name, p in profiles.items()} == {"orders": 4, "web_orders": 2, "big_web": 1}
    assert profiles["big_web"].column_names == ["order_id", "amount"]
    assert list_tables(con) == ["big_web", "orders", "web_orders"]


def test_a_view_that_reads_files_is_refused_with_its_source_name(con, tmp_path):
    workspace = _workspace(Source(name="sneaky", sql="SELECT * FROM read_csv('/etc/passwd')"))
    with pytest.raises(SourceError, match=r"^Source 'sneaky' \(a SQL view\): "):
        load_workspace_sources(con, workspace, tmp_path)
    assert list_tables(con) == []


# ---------------------------------------------------------------------------- real data


@pytest.mark.skipif(not OLIST.is_dir(), reason=f"real Olist data not present at {OLIST}")
def test_real_olist_closed_deals(con):
    profile = ingest_file(con, OLIST / "olist_closed_deals_dataset.csv", "closed_deals")
    assert profile.rows == 842
    assert profile.column("won_date").type == "TIMESTAMP"
    assert profile.column("won_date").null_share == 0.0
    has_company = profile.column("has_company")
    assert 0 < has_company.null_share < 1, "empty fields must load as NULL"
    empties = con.execute("SELECT count(*) FROM closed_deals WHERE business_segment = ''").fetchone()
    assert empties == (0,)


# ---------------------------------------------------------------------------- day/month order

AMBIGUOUS_CSV = "day,at,amount\n01/02/2025,01/03/2025 09:30:00,10\n03/04/2025,05/06/2025 18:00:00,20\n12/11/2025,,30\n"


def _dates(con, table: str, column: str) -> list:
    return [row[0] for row in con.execute(f'SELECT "{column}" FROM "{table}" ORDER BY amount').fetchall()]


def test_dates_that_read_both_ways_are_marked_with_the_format_used(tmp_path):
    con = duckdb.connect()
    path = tmp_path / "sales.csv"
    path.write_text(AMBIGUOUS_CSV)
    profile = ingest_file(con, path, "sales")
    assert {c.name: c.ambiguous_date_format for c in profile.ambiguous_dates} == {
        "day": "%d/%m/%Y",
        "at": "%d/%m/%Y %H:%M:%S",
    }
    assert _dates(con, "sales", "day") == [dt.date(2025, 2, 1), dt.date(2025, 4, 3), dt.date(2025, 11, 12)]


@pytest.mark.parametrize(
    "text",
    [
        "day,amount\n2025-01-02,1\n2025-03-04,2\n",  # ISO: one reading only
        "day,amount\n01/02/2025,1\n13/04/2025,2\n",  # the 13 settles it: day first
        "day,amount\n01/02/2025,1\n04/13/2025,2\n",  # month first
    ],
)
def test_dates_with_one_reading_are_not_marked(tmp_path, text):
    path = tmp_path / "sales.csv"
    path.write_text(text)
    assert ingest_file(duckdb.connect(), path, "sales").ambiguous_dates == []


def test_a_declared_date_format_reads_the_dates_that_way(tmp_path):
    con = duckdb.connect()
    path = tmp_path / "sales.csv"
    path.write_text(AMBIGUOUS_CSV)
    profile = ingest_file(con, path, "sales", date_format="%m/%d/%Y %H:%M:%S")
    assert profile.ambiguous_dates == []
    assert _dates(con, "sales", "day") == [dt.date(2025, 1, 2), dt.date(2025, 3, 4), dt.date(2025, 12, 11)]
    assert _dates(con, "sales", "at")[:2] == [dt.datetime(2025, 1, 3, 9, 30), dt.datetime(2025, 5, 6, 18, 0)]


def test_excel_text_dates_are_checked_too(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["day", "amount"])
    sheet.append(["01/02/2025", 1])
    sheet.append(["03/04/2025", 2])
    book.save(tmp_path / "sales.xlsx")
    profile = ingest_file(duckdb.connect(), tmp_path / "sales.xlsx", "sales")
    assert [c.ambiguous_date_format for c in profile.ambiguous_dates] == ["%d/%m/%Y"]


def test_settling_the_order_keeps_or_swaps_every_date_and_persists(tmp_path):
    from kpi_model.sources import settle_date_order

    path = tmp_path / "sales.csv"
    path.write_text(AMBIGUOUS_CSV)
    database = tmp_path / "data.duckdb"
    with duckdb.connect(str(database)) as con:
        ingest_file(con, path, "sales")
        ingest_file(con, path, "kept")
    with duckdb.connect(str(database)) as con:  # the mark is stored with the table
        assert len(profile_table(con, "sales").ambiguous_dates) == 2
        with pytest.raises(SourceError, match=r"pick '%d/%m/%Y' \(as read\) or '%m/%d/%Y'"):
            settle_date_order(con, "sales", "%Y-%m-%d")
        assert settle_date_order(con, "sales", "%m/%d/%Y").ambiguous_dates == []
        assert _dates(con, "sales", "day") == [dt.date(2025, 1, 2), dt.date(2025, 3, 4), dt.date(2025, 12, 11)]
        assert _dates(con, "sales", "at") == [dt.datetime(2025, 1, 3, 9, 30), dt.datetime(2025, 5, 6, 18, 0), None]
        assert settle_date_order(con, "kept", "%d/%m/%Y").ambiguous_dates == []
        assert _dates(con, "kept", "day") == [dt.date(2025, 2, 1), dt.date(2025, 4, 3), dt.date(2025, 11, 12)]
        with pytest.raises(SourceError, match="read only one way"):
            settle_date_order(con, "kept", "%m/%d/%Y")


def test_workspace_sources_use_their_date_format_and_note_the_ambiguous_ones(tmp_path):
    from kpi_model.sources import date_order_notes

    (tmp_path / "a.csv").write_text(AMBIGUOUS_CSV)
    (tmp_path / "b.csv").write_text(AMBIGUOUS_CSV)
    workspace = Workspace(
        name="w",
        sources=[Source(name="a", path="a.csv"), Source(name="b", path="b.csv", date_format="%m/%d/%Y")],
    )
    con = duckdb.connect()
    profiles = load_workspace_sources(con, workspace, tmp_path)
    (note,) = date_order_notes(profiles)
    assert note.startswith("source 'a': every date in day, at reads both day-first and month-first")
    assert "set date_format: '%m/%d/%Y' on the source" in note
    assert _dates(con, "b", "day")[0] == dt.date(2025, 1, 2)
    assert _dates(con, "b", "at")[0] == dt.datetime(2025, 1, 3, 9, 30), "date-times follow the declared order"


def test_date_format_without_date_codes_is_refused():
    with pytest.raises(ValueError, match="has no date codes"):
        Source(name="a", path="a.csv", date_format="dd/mm/yyyy")


def test_the_sources_a_kpi_reads_include_a_derived_kpis_inputs_and_a_views_tables():
    from kpi_model.models import Kpi, Source, Workspace
    from kpi_model.sources import sources_used

    workspace = Workspace(
        name="w",
        sources=[
            Source(name="Orders", path="orders.csv"),
            Source(name="sessions", path="sessions.csv"),
            Source(name="unused", path="unused.csv"),
            Source(name="web_orders", sql="WITH o AS (SELECT * FROM orders) SELECT * FROM o WHERE channel = 'web'"),
        ],
        kpis=[
            Kpi(id="visits", name="Visits", source="sessions", expression="count(*)", time_column="day"),
            Kpi(id="web_revenue", name="Web revenue", source="web_orders", expression="sum(amount)", time_column="d"),
            Kpi(id="revenue_per_visit", name="Revenue per visit", expression="web_revenue / visits"),
        ],
    )
    assert sources_used(workspace, ["visits"]) == {"sessions"}
    assert sources_used(workspace, ["web_revenue"]) == {"web_orders", "Orders"}, "the view's table, as DuckDB folds it"
    assert sources_used(workspace, ["revenue_per_visit"]) == {"web_orders", "Orders", "sessions"}
    assert sources_used(workspace, ["nosuch"]) == set()


def test_a_pipe_named_as_a_data_file_is_called_what_it_is(tmp_path):
    import os

    from kpi_model.sources import SourceError, ingest_file

    pipe = tmp_path / "orders.csv"
    os.mkfifo(pipe)
    with duckdb.connect() as con, pytest.raises(SourceError, match="is not a regular file"):
        ingest_file(con, pipe, "orders")

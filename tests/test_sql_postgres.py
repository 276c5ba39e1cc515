"""The PostgreSQL SQL that ``kpi-wizard sql`` prints runs as printed on a real PostgreSQL server and computes
what KPI Wizard's own DuckDB engine computes: every KPI of the sample workspace plus KPIs on view sources (one
view over another), at every grain, with and without a breakdown.

A throwaway cluster is started with initdb/pg_ctl in a temporary folder (as the ``postgres`` user when the
tests run as root), reached through a unix socket in that folder, and stopped at the end whatever happens.
The workspace's tables are loaded with the column types DuckDB read them with. ``make test`` installs
Debian's postgresql when it is missing (.ci/install-engines); ``pytest -m "not engines"`` leaves these out.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from kpi_model import workspace_file
from kpi_model.engine import Engine, Series
from kpi_model.formula import GRAINS, SeriesRequest, warehouse_script
from kpi_model.models import Workspace
from tests import engine_proof
from tests.conftest import REPO
from tests.warehouse_fixture import breakdown_column, computable_kpis, printed_statements

try:
    import psycopg
except ImportError:  # a missing driver is a broken set-up, not a reason to prove nothing
    psycopg = None

pytestmark = pytest.mark.engines

# The shared fixtures, bound here so that pytest finds them in this module.
workspace_path, workspace, engine = engine_proof.workspace_path, engine_proof.workspace, engine_proof.engine

# DuckDB's type of a loaded column → the PostgreSQL type that holds the same values.
POSTGRES_TYPES = {
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "TINYINT": "smallint",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "VARCHAR": "text",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "BOOLEAN": "boolean",
    "TIME": "time",
}
RELATIVE_TOLERANCE = 1e-9


def _postgres_binaries() -> Path:
    """The folder holding initdb and pg_ctl: on PATH, Debian's /usr/lib/postgresql/<version>/bin, /usr/local/bin."""
    found = shutil.which("initdb")
    candidates = [Path(found).parent] if found else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    candidates.append(Path("/usr/local/bin"))
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    pytest.fail(
        "PostgreSQL's initdb and pg_ctl were not found (PATH, /usr/lib/postgresql/*/bin, /usr/local/bin): "
        "run `make test`, which installs Debian's postgresql package (.ci/install-engines), or deselect these "
        "tests with pytest -m 'not engines'"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """A throwaway PostgreSQL cluster in a temporary folder, reachable only through its unix socket."""

    def __init__(self) -> None:
        if psycopg is None:
            pytest.fail("psycopg is missing: run `make test` (it installs the test extra, pip install -e '.[test]')")
        self.binaries = _postgres_binaries()
        # PostgreSQL refuses to run as root: the cluster then belongs to the postgres user, and so does its
        # folder, in /tmp (a TMPDIR under /root would be closed to that user).
        as_root = os.geteuid() == 0
        self.folder = Path(tempfile.mkdtemp(prefix="kpi-wizard-pg-", dir="/tmp" if as_root else None))
        self.port = _free_port()
        self.as_user: list[str] = []
        if as_root:
            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data = self.folder / "data"
        self.started = False

    def _run(self, *arguments: str) -> None:
        result = subprocess.run([*self.as_user, *arguments], capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(arguments[:2])} failed:\n{result.stdout}{result.stderr}{tail}")

    def start(self) -> None:
        self._run(
            str(self.binaries / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        options = f"-p {self.port} -k {self.folder} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
        self._run(
            str(self.binaries / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log"),
            "-w", "-t", "60", "start",
        )  # fmt: skip
        self.started = True

    def stop(self) -> None:
        try:
            if self.started or (self.data / "postmaster.pid").exists():  # a start that failed half-way too
                self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def connect(self) -> Any:
        return psycopg.connect(
            host=str(self.folder), port=self.port, user="postgres", dbname="postgres", autocommit=True
        )


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    server = Cluster()
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _load_tables(connection: Any, engine: Engine, tables: Sequence[str], schema: str) -> None:
    """Copy ``tables`` from the engine into ``schema``, each column with its DuckDB type's PostgreSQL twin."""
    connection.execute(f"CREATE SCHEMA {_quoted(schema)}")
    for table in tables:
        _, described = engine.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_schema = current_schema() AND table_name = '{table}' ORDER BY ordinal_position"
        )
        unknown = [kind for _, kind in described if kind not in POSTGRES_TYPES]
        assert not unknown, f"add the PostgreSQL type of DuckDB's {unknown} to POSTGRES_TYPES"
        columns = ", ".join(f"{_quoted(name)} {POSTGRES_TYPES[kind]}" for name, kind in described)
        target = f"{_quoted(schema)}.{_quoted(table)}"
        connection.execute(f"CREATE TABLE {target} ({columns})")
        _, rows = engine.query(f"SELECT * FROM {_quoted(table)}")
        with connection.cursor().copy(f"COPY {target} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


@pytest.fixture(scope="module")
def postgres(cluster: Cluster, engine: Engine, workspace: Workspace) -> Iterator[Any]:
    """A connection to the cluster whose search path holds the workspace's file sources as tables."""
    with cluster.connect() as connection:
        files = [s.name for s in workspace.sources if s.path]
        _load_tables(connection, engine, files, "warehouse")
        connection.execute("SET search_path TO warehouse")
        yield connection


def _rows(connection: Any, sql: str) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _same(left: float | None, right: float | None) -> bool:
    if left is None or right is None:
        return left is None and right is None
    return math.isclose(left, right, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12)


def _assert_matches(series: Series, rows: list[dict[str, Any]], what: str) -> None:
    """Every period (and breakdown value) of the warehouse's rows holds the engine's value, row count, numerator
    and denominator; periods compared as dates, NULLs equal."""
    by = series.request.by is not None
    expected = {(p.period, p.dimension): p for p in series.points}
    got = {}
    for row in rows:
        period = row["period"]
        assert type(period) is dt.date, f"{what}: the period is a {type(period).__name__}, not a date"
        got[(period, row.get("dimension") if by else None)] = row
    assert got.keys() == expected.keys(), f"{what}: periods differ: {sorted(got.keys() ^ expected.keys(), key=str)[:5]}"
    for key, point in expected.items():
        row = got[key]
        assert _same(_number(row["value"]), point.value), f"{what} {key}: {row['value']} != {point.value}"
        assert row["row_count"] == point.rows, f"{what} {key}: {row['row_count']} rows != {point.rows}"
        if "numerator" in row:
            assert _same(_number(row["numerator"]), point.numerator), f"{what} {key}: numerator"
            assert _same(_number(row["denominator"]), point.denominator), f"{what} {key}: denominator"


def _printed(workspace: Workspace, request: SeriesRequest, kpi_ids: list[str], **options: Any) -> dict[str, str]:
    """The printed PostgreSQL script for ``kpi_ids``, split by its contract: KPI id → its statement."""
    script = warehouse_script(workspace, kpi_ids, request, dialect="postgres", **options)
    assert not script.failures, script.failures
    statements = printed_statements(script.text())
    return {s.kpi_id: s.sql for s in statements if s.kpi_id is not None}


@pytest.mark.parametrize("grain", GRAINS)
def test_every_kpi_at_every_grain_computes_the_engines_values_on_postgres(postgres, engine, workspace, grain):
    kpi_ids = computable_kpis(workspace)
    assert {"completed_margin", "converted_revenue", "revenue_per_conversion", "revenue_per_session"} <= set(kpi_ids)
    compared = 0
    by_column: dict[str | None, list[str]] = {None: kpi_ids}
    for kpi_id in kpi_ids:
        by_column.setdefault(breakdown_column(workspace, kpi_id), []).append(kpi_id)
    for by, ids in by_column.items():
        request = SeriesRequest(grain=grain, by=by)
        printed = _printed(workspace, request, ids)
        assert printed.keys() == set(ids)
        for kpi_id, sql in printed.items():
            _assert_matches(engine.compute(workspace, kpi_id, request), _rows(postgres, sql), f"{kpi_id} by {by}")
            compared += 1
    assert compared == 2 * len(kpi_ids)


def test_views_created_first_then_every_kpi_reads_them(postgres, engine, workspace):
    """With --views create the CREATE VIEW statements come first, a view after the view it reads."""
    request = SeriesRequest(grain="month", by="Sales Region")
    ids = ["completed_margin", "converted_revenue", "revenue_per_conversion"]
    statements = printed_statements(
        warehouse_script(workspace, ids, request, dialect="postgres", views="create").text()
    )
    created = [
        next(line for line in s.sql.splitlines() if not line.startswith("--")) for s in statements if not s.kpi_id
    ]
    assert [line.removesuffix(" AS") for line in created] == [
        "CREATE OR REPLACE VIEW completed_orders",
        "CREATE OR REPLACE VIEW web_conversions",
    ], "each view once, after the view it reads"
    assert all(s.kpi_id is None for s in statements[: len(created)]), "the views come before the KPIs"
    postgres.execute("CREATE SCHEMA created_views")
    postgres.execute("SET search_path TO created_views, warehouse")
    try:
        for statement in statements:
            if statement.kpi_id is None:
                postgres.execute(statement.sql)
                continue
            assert "completed_orders AS (" not in statement.sql, "no view CTEs with --views create"
            rows = _rows(postgres, statement.sql)
            _assert_matches(engine.compute(workspace, statement.kpi_id, request), rows, statement.kpi_id)
    finally:
        postgres.execute("SET search_path TO warehouse")


def test_every_name_quoted_runs_on_lower_case_tables(postgres, engine, workspace):
    """--quote-names always: every name quoted exactly, which PostgreSQL's lower-case tables match too."""
    request = SeriesRequest(grain="quarter")
    ids = computable_kpis(workspace)
    for kpi_id, sql in _printed(workspace, request, ids, quote="always").items():
        assert 'AS "value"' in sql and "AS value" not in sql, "every name quoted, aliases too"
        _assert_matches(engine.compute(workspace, kpi_id, request), _rows(postgres, sql), kpi_id)


MIXED_CASE_CSV = """Order Date,Amount,Sales Region,STATUS
2026-01-05,10.5,North,ok
2026-01-20,4.5,South,ok
2026-02-03,7,North,void
2026-02-10,3,,ok
"""


def test_mixed_case_and_spaced_names_are_quoted_and_match_on_postgres(cluster, tmp_path):
    """Names that are not plain (a space, capitals) are quoted exactly; the plain ones are not."""
    (tmp_path / "shop.csv").write_text(MIXED_CASE_CSV, encoding="utf-8")
    document = {
        "name": "Mixed-case names",
        "sources": [
            {"name": "Shop", "path": "shop.csv"},
            {"name": "ok_shop", "sql": 'SELECT "Order Date", Amount, "Sales Region" FROM shop WHERE STATUS = \'ok\''},
        ],
        "kpis": [
            {"id": "sales", "name": "Sales", "source": "Shop", "expression": "sum(Amount)",
             "time_column": "Order Date"},
            {"id": "ok_sales", "name": "OK sales", "source": "ok_shop", "expression": 'sum("Amount") / count(*)',
             "time_column": "Order Date"},
        ],
    }  # fmt: skip
    path = tmp_path / "workspace.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    workspace = workspace_file.load(path)
    with Engine.for_workspace(workspace, tmp_path) as engine, cluster.connect() as connection:
        _load_tables(connection, engine, ["Shop"], "mixed")
        connection.execute("SET search_path TO mixed")
        for by in (None, "Sales Region"):
            request = SeriesRequest(grain="month", by=by)
            script = warehouse_script(workspace, None, request, dialect="postgres", columns=engine.columns())
            text = script.text()
            assert '"Order Date"' in text and '"Amount"' in text and '"Shop"' in text and '"STATUS"' in text
            assert '  "Shop": "Amount", "Order Date"' in text, "the header names the table and its columns"
            for kpi_id, sql in _printed(workspace, request, ["sales", "ok_sales"], columns=engine.columns()).items():
                _assert_matches(engine.compute(workspace, kpi_id, request), _rows(connection, sql), kpi_id)


def test_the_command_prints_the_script_that_was_proven(workspace_path, workspace):
    """`kpi-wizard sql --dialect postgres` prints exactly the script the tests above run."""
    result = subprocess.run(
        [sys.executable, "-m", "kpi_model.cli", "sql", str(workspace_path), "--dialect", "postgres", "--grain", "week"],
        capture_output=True, text=True, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    expected = warehouse_script(workspace, None, SeriesRequest(grain="week"), dialect="postgres").text()
    assert result.stdout == expected


UNCONVERTIBLE_CSV = """d,amount,region,opened,closed,rate
2026-01-05,10.5,North,2026-01-05 08:10:00,2026-01-05 10:05:00,1.25
2026-01-06,n/a,North,2026-01-06 09:00:00,2026-01-06 11:30:00,2.675
2026-01-20,4.5,South,2026-01-20 11:30:00,2026-01-21 01:00:00,7.5
2026-02-03,7,North,2026-02-03 07:00:00,2026-02-03 08:00:00,0.5
2026-02-10,,South,2026-02-10 12:00:00,2026-02-17 01:00:00,12
2026-02-11,3,South,2026-02-11 12:00:00,2026-02-11 13:30:00,3.3
"""


def test_formulas_outside_the_sample_run_as_printed_or_are_left_out_with_the_reason(cluster, tmp_path):
    """try_cast over a column holding 'n/a' (PostgreSQL has no TRY_CAST: the KPI is left out, named, because the
    plain CAST sqlglot prints fails there); median of hours between timestamps and mode() run and match (each
    month has one most frequent value: on a tie PostgreSQL takes the smallest, DuckDB any); round, %, // and log
    over a DOUBLE (PostgreSQL has some of them for NUMERIC only) run and match; so do date_diff units spelled in
    the plural and weeks counted as DuckDB counts them (7 days crossed, not 7 days elapsed, make a week)."""
    (tmp_path / "shop.csv").write_text(UNCONVERTIBLE_CSV, encoding="utf-8")
    kpi = {"source": "shop", "time_column": "d"}
    document = {
        "name": "Formulas outside the sample",
        "sources": [
            {"name": "shop", "path": "shop.csv"},
            {"name": "priced", "sql": "SELECT d, try_cast(amount AS DOUBLE) AS price FROM shop"},
        ],
        "kpis": [
            {"id": "priced_total", "name": "Priced", "expression": "sum(price)", **kpi, "source": "priced"},
            {"id": "median_hours", "name": "Median hours", "expression": "median(date_diff('hour', opened, closed))",
             **kpi},
            {"id": "top_region", "name": "Top region", "expression": "count(*) FILTER (WHERE region = 'North')",
             **kpi},
            {"id": "modal_hours", "name": "Modal hours", "expression": "mode(date_diff('hour', opened, closed))",
             **kpi},
            {"id": "day_counts", "name": "Day counts",
             "expression": "sum(date_diff('weeks', opened, closed)) * 1000 + sum(date_diff('hours', opened, closed))",
             **kpi},
            {"id": "rate_arithmetic", "name": "Rate arithmetic",
             "expression": "sum(round(rate, 2)) + sum(rate % 2) + sum(rate // 2) + max(log(rate)) + sum(7 // 2)",
             **kpi},
        ],
    }  # fmt: skip
    path = tmp_path / "workspace.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    workspace = workspace_file.load(path)
    with Engine.for_workspace(workspace, tmp_path) as engine, cluster.connect() as connection:
        _load_tables(connection, engine, ["shop"], "outside")
        connection.execute("SET search_path TO outside")
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            connection.execute("SELECT CAST(amount AS DOUBLE PRECISION) FROM shop")  # what would have been printed
        request = SeriesRequest(grain="month")
        script = warehouse_script(workspace, None, request, dialect="postgres", columns=engine.columns())
        assert list(script.failures) == ["priced_total"]
        assert "view source 'priced': try_cast(): PostgreSQL has no TRY_CAST" in str(script.failures["priced_total"])
        statements = printed_statements(script.text())
        assert [s.kpi_id for s in statements] == [
            "median_hours",
            "top_region",
            "modal_hours",
            "day_counts",
            "rate_arithmetic",
        ]
        for statement in statements:
            series = engine.compute(workspace, statement.kpi_id, request)
            _assert_matches(series, _rows(connection, statement.sql), statement.kpi_id)

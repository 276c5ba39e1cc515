"""The Spark SQL that ``kpi-wizard sql --dialect spark`` prints runs as printed on Apache Spark and gives
the values KPI Wizard's own DuckDB engine computes.

The workspace is the sample workspace plus KPIs on SQL-view sources (one view over another), from
tests/warehouse_fixture.py. For every KPI at every grain, with and without a breakdown, the CLI prints
the SQL; each statement runs as printed on a local Spark session (``local[2]``) over the workspace's
own data files, and the rows are compared with :meth:`Engine.compute` on the same files: the same
periods (and breakdown values), values, row counts and ratio parts. KPIs on view sources run twice:
with the views as CTEs (the default) and with ``--views create`` (CREATE VIEW statements first).

Beyond the sample's formulas, a KPI per function or operator whose Spark SQL could mean something else
than DuckDB's (FORMULAS), and date_diff in every unit over spans that end just past a boundary, are
compared the same way.

Spark reads each file with the column types DuckDB gave it (from DuckDB's ``DESCRIBE``), never with
types of its own guessing, and must find as many rows and non-NULL values per column: a difference
in the values is then the SQL's, not the CSV readers'. ``pytest -m "not engines"`` leaves these out.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import io
import logging
import math
import os
import shutil
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from kpi_model import cli, workspace_file
from kpi_model.engine import Engine, Series
from kpi_model.formula import GRAINS, Compiler, SeriesRequest, quote
from kpi_model.models import Workspace
from kpi_model.sources.workspace import plan_workspace_sources
from tests import engine_proof
from tests.warehouse_fixture import (
    breakdown_column,
    computable_kpis,
    printed_statements,
    warehouse_workspace,
)

if TYPE_CHECKING:
    from pyspark.sql import Row, SparkSession

pytestmark = pytest.mark.engines

# The shared fixtures, bound here so that pytest finds them in this module.
workspace_path, workspace, engine = engine_proof.workspace_path, engine_proof.workspace, engine_proof.engine

# Sums and averages of doubles add up in another order on Spark than on DuckDB; beyond that, nothing may differ.
RELATIVE_TOLERANCE = 1e-9
MAKE_TEST_HINT = (
    "run `make test`: it installs Java (Debian's default-jre-headless, via .ci/install-engines) and pyspark "
    "(the test extra); or deselect these tests with pytest -m 'not engines'"
)
DATABASE = "warehouse"

# DuckDB column types (as DESCRIBE names them) → the Spark SQL type that holds the same values.
SPARK_TYPES = {
    "VARCHAR": "STRING",
    "BOOLEAN": "BOOLEAN",
    "TINYINT": "TINYINT",
    "SMALLINT": "SMALLINT",
    "INTEGER": "INT",
    "BIGINT": "BIGINT",
    "FLOAT": "FLOAT",
    "DOUBLE": "DOUBLE",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
}
# The JVM's log on stderr: errors only.
QUIET_LOGGING = """rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.console.type = Console
appender.console.name = stderr
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""
# How Spark reads each kind of data file; FAILFAST: a value Spark cannot read as DuckDB's type stops
# the test instead of quietly becoming NULL.
SPARK_READERS = {
    ".csv": "csv OPTIONS (header 'true', mode 'FAILFAST', path {path})",
    ".parquet": "parquet OPTIONS (path {path})",
}


# ---------------------------------------------------------------- which queries run


@dataclass(frozen=True)
class Case:
    """One printed query: a KPI at a grain, broken down by a column or not, with its views as CTEs or created."""

    kpi_id: str
    grain: str
    by: str | None
    views: str  # "cte" (the default) or "create"

    @property
    def argv(self) -> list[str]:
        """The arguments of ``kpi-wizard sql WORKSPACE --dialect spark`` that print it."""
        by = ["--by", self.by] if self.by else []
        views = ["--views", self.views] if self.views != "cte" else []
        return ["--kpi", self.kpi_id, "--grain", self.grain, *by, *views]

    def __str__(self) -> str:
        return f"{self.kpi_id}-{self.grain}-{'by ' + self.by if self.by else 'total'}-{self.views}"


def reads_a_view(workspace: Workspace, kpi_id: str) -> bool:
    """Whether the KPI, or a KPI it is derived from, reads a SQL-view source."""
    views = {source.name for source in workspace.sources if source.sql}
    kpis = [workspace.kpi(name) for name in Compiler(workspace).dependencies(kpi_id)]
    return any(kpi is not None and kpi.source in views for kpi in kpis)


def all_cases() -> list[Case]:
    """Every KPI × grain × (total, breakdown); KPIs reading a view also with ``--views create``.

    A KPI on file sources prints the same SQL with either ``--views`` option (there is no view to
    define), so running it twice would prove nothing more.
    """
    workspace = warehouse_workspace()
    cases = []
    for kpi_id in computable_kpis(workspace):
        forms = ["cte", "create"] if reads_a_view(workspace, kpi_id) else ["cte"]
        for views in forms:
            for grain in GRAINS:
                for by in (None, breakdown_column(workspace, kpi_id)):
                    cases.append(Case(kpi_id, grain, by, views))
    return cases


CASES = all_cases()
# web_revenue's sources share only `channel`, holding different values in each (see warehouse_fixture):
# its breakdown has no rows on either engine, and the printed SQL must still run.
EMPTY_BY_DESIGN = {("web_revenue", "channel")}


# ---------------------------------------------------------------- the Spark session


def _require_spark() -> None:
    """Fail (never skip) when Spark cannot start here: the proof is part of `make test`."""
    if importlib.util.find_spec("pyspark") is None:
        pytest.fail(f"pyspark is not installed in this environment: {MAKE_TEST_HINT}", pytrace=False)
    java_home = os.environ.get("JAVA_HOME")
    has_java = shutil.which("java") is not None or (java_home is not None and Path(java_home, "bin", "java").is_file())
    if not has_java:
        pytest.fail(f"no Java runtime (no java on PATH, no JAVA_HOME): {MAKE_TEST_HINT}", pytrace=False)


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """One local Spark session for the module: two cores, no UI, loopback only, UTC, a throwaway warehouse."""
    _require_spark()
    from pyspark.sql import SparkSession

    folder = tmp_path_factory.mktemp("spark")
    log_settings = folder / "log4j2.properties"
    log_settings.write_text(QUIET_LOGGING, encoding="utf-8")
    java_options = [
        f"-Dlog4j2.configurationFile={log_settings.as_uri()}",
        # The JVM's quick compiler only: the optimising one spends the two cores on code that runs for a minute.
        "-XX:TieredStopAtLevel=1",
    ]
    builder = (
        SparkSession.builder.master("local[2]")
        .appName("kpi-wizard-sql-proof")
        .config("spark.sql.warehouse.dir", str(folder / "warehouse"))
        .config("spark.local.dir", str(folder / "scratch"))
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # DATE_TRUNC of a timestamp works in the session's zone; DuckDB's TIMESTAMP has none, so UTC.
        .config("spark.sql.session.timeZone", "UTC")
        # The tables hold thousands of rows and each query runs once: one shuffle partition, no adaptive
        # re-planning and no generated Java (compiling a query costs more than running it interpreted).
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.driver.extraJavaOptions", " ".join(java_options))
    )
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("SPARK_LOCAL_IP", "127.0.0.1")  # the JVM binds to loopback (and stops warning about it)
        session = builder.getOrCreate()
    # PySpark logs every failed query with its JVM stack trace; the test's own message names the statement.
    from pyspark.logger import PySparkLogger

    query_errors = PySparkLogger.getLogger("SQLQueryContextLogger")
    query_errors.setLevel(logging.CRITICAL)
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        query_errors.setLevel(logging.NOTSET)


# ---------------------------------------------------------------- the workspace's data on both engines


@pytest.fixture(scope="module")
def warehouse(spark: SparkSession, engine: Engine, workspace: Workspace, workspace_path: Path) -> SparkSession:
    """Spark with the workspace's file sources as tables in DATABASE."""
    load_tables(spark, engine, workspace, workspace_path, DATABASE)
    return spark


def load_tables(spark: SparkSession, engine: Engine, workspace: Workspace, workspace_path: Path, database: str) -> None:
    """Each file source of the workspace as a cached table of a new Spark database over the same file, typed as
    DuckDB read it (tables, not temporary views: Spark refuses a CREATE VIEW over a temporary view)."""
    files, _views = plan_workspace_sources(workspace, workspace_path.parent, confine=False)
    spark.sql(f"CREATE DATABASE {backquote(database)}")
    spark.catalog.setCurrentDatabase(database)
    for name, path, date_format in files:
        assert date_format is None, f"source '{name}' has a date format: pass it to Spark's reader"
        reader = SPARK_READERS.get(path.suffix.lower())
        assert reader is not None, f"source '{name}' is a {path.suffix} file: add its reader to SPARK_READERS"
        columns = [(column, spark_type(kind)) for column, kind, *_ in engine.query(f"DESCRIBE {quote(name)}")[1]]
        schema = ", ".join(f"{backquote(column)} {kind}" for column, kind in columns)
        using = reader.format(path=spark_string(str(path)))
        spark.sql(f"CREATE TABLE {backquote(name)} ({schema}) USING {using}")
        # Lazily: the counts below read the file once and fill the cache on the way.
        spark.sql(f"CACHE LAZY TABLE {backquote(name)}")
        assert_read_alike(engine, spark, name, [column for column, _ in columns])


def spark_type(duckdb_type: str) -> str:
    """The Spark SQL type for a DuckDB column type (DECIMAL(p,s) is spelled alike)."""
    if duckdb_type.startswith("DECIMAL("):
        return duckdb_type
    assert duckdb_type in SPARK_TYPES, f"no Spark type for DuckDB's {duckdb_type}: add it to SPARK_TYPES"
    return SPARK_TYPES[duckdb_type]


def assert_read_alike(engine: Engine, spark: SparkSession, table: str, columns: list[str]) -> None:
    """Spark read the file as DuckDB did: as many rows, and as many non-NULL values in every column."""
    in_duckdb = engine.query(f"SELECT count(*), {', '.join(f'count({quote(c)})' for c in columns)} FROM {quote(table)}")
    counts = ", ".join(f"count({backquote(c)})" for c in columns)
    in_spark = tuple(spark.sql(f"SELECT count(*), {counts} FROM {backquote(table)}").collect()[0])
    assert in_spark == in_duckdb[1][0], f"{table}: Spark read other rows or NULLs than DuckDB ({['rows', *columns]})"


def backquote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def spark_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# ---------------------------------------------------------------- the printed SQL, run as printed


def print_sql(workspace_path: Path, argv: Sequence[str]) -> str:
    """What ``kpi-wizard sql WORKSPACE --dialect spark ARGV`` prints (through the CLI's own entry point)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["sql", str(workspace_path), "--dialect", "spark", *argv])
    assert code == cli.EXIT_OK, f"kpi-wizard sql {' '.join(argv)} exited {code}: {err.getvalue()}"
    return out.getvalue()


def run_printed(spark: SparkSession, printed: str, database: str = DATABASE) -> tuple[list[str], dict[str, list[Row]]]:
    """Every statement of a printed script run in order on Spark, in ``database``: (statements that are not a
    KPI's, KPI → rows).

    Between scripts the database holds tables only: views a script created are dropped after it, so a KPI
    whose view is neither a CTE nor created fails instead of reading a view an earlier script left behind.
    """
    spark.catalog.setCurrentDatabase(database)
    statements = printed_statements(printed)
    setup: list[str] = []
    results: dict[str, list[Row]] = {}
    try:
        for statement in statements:
            try:
                rows = spark.sql(statement.sql).collect()
            except Exception as error:  # Spark's errors come through py4j with many types; the text says which
                raise AssertionError(
                    f"Spark refused a printed statement: {_first_line(error)}\n{statement.sql}"
                ) from None
            if statement.kpi_id is None:
                setup.append(statement.sql)
            else:
                results[statement.kpi_id] = rows
    finally:
        if any(statement.kpi_id is None for statement in statements):  # only a statement of its own creates
            for name in _views(spark, database):
                spark.sql(f"DROP VIEW {backquote(database)}.{backquote(name)}")
    return setup, results


def _views(spark: SparkSession, database: str) -> set[str]:
    return {row["viewName"] for row in spark.sql(f"SHOW VIEWS IN {backquote(database)}").collect()}


def _first_sql_line(statement: str) -> str:
    return next(line for line in statement.splitlines() if line.strip() and not line.startswith("--"))


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# ---------------------------------------------------------------- Spark's rows against the engine's series


def differences(expected: Series, rows: list[Row]) -> list[str]:
    """Each way Spark's rows differ from the engine's series (empty when they agree)."""
    by_key = {(point.period, point.dimension): point for point in expected.points}
    found: dict[tuple[dt.date, str | None], dict[str, Any]] = {}
    problems: list[str] = []
    for row in rows:
        record = row.asDict()
        period = record["period"]
        if type(period) is not dt.date:
            problems.append(f"period {period!r} is a {type(period).__name__}, not a date")
            continue
        key = (period, record.get("dimension"))
        if key in found:
            problems.append(f"{_label(key)} appears twice")
        found[key] = record
    for key in sorted(by_key.keys() - found.keys(), key=_sort_key):
        problems.append(f"{_label(key)} missing on Spark (engine: {by_key[key].value!r})")
    for key in sorted(found.keys() - by_key.keys(), key=_sort_key):
        problems.append(f"{_label(key)} only on Spark (value {found[key]['value']!r})")
    for key in sorted(found.keys() & by_key.keys(), key=_sort_key):
        point, record = by_key[key], found[key]
        pairs = [("value", point.value, record["value"]), ("row_count", point.rows, record["row_count"])]
        if "numerator" in record:
            pairs += [("numerator", point.numerator, record["numerator"])]
            pairs += [("denominator", point.denominator, record["denominator"])]
        for column, engine_value, spark_value in pairs:
            if not same_number(engine_value, spark_value):
                problems.append(f"{_label(key)} {column}: engine {engine_value!r}, Spark {spark_value!r}")
    return problems


def same_number(engine_value: float | int | None, spark_value: float | int | Decimal | None) -> bool:
    """NULL only equals NULL; numbers agree to RELATIVE_TOLERANCE (a NaN only matches a NaN)."""
    if engine_value is None or spark_value is None:
        return engine_value is None and spark_value is None
    ours, theirs = float(engine_value), float(spark_value)
    if math.isnan(ours) or math.isnan(theirs):
        return math.isnan(ours) and math.isnan(theirs)
    return math.isclose(ours, theirs, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12)


def _label(key: tuple[dt.date, str | None]) -> str:
    period, dimension = key
    return f"{period}" if dimension is None else f"{period} [{dimension}]"


def _sort_key(key: tuple[dt.date, str | None]) -> tuple[dt.date, str]:
    return key[0], "" if key[1] is None else key[1]


# ---------------------------------------------------------------- the proof


def test_the_cases_cover_every_kpi_grain_breakdown_and_view_form() -> None:
    """The matrix below is what the issue asks for; a KPI or grain quietly left out would weaken the proof."""
    workspace = warehouse_workspace()
    kpi_ids = computable_kpis(workspace)
    on_views = {"completed_margin", "converted_revenue", "revenue_per_conversion", "revenue_per_session"}
    assert on_views <= set(kpi_ids)
    assert {case.kpi_id for case in CASES} == set(kpi_ids)
    expected = 2 * len(GRAINS) * (len(kpi_ids) + len(on_views))
    assert len(CASES) == len(set(CASES)) == expected
    assert {case.kpi_id for case in CASES if case.views == "create"} == on_views


@pytest.fixture(scope="module")
def runs_with_view_ctes(
    warehouse: SparkSession, workspace_path: Path
) -> dict[Case, tuple[list[str], dict[str, list[Row]]] | AssertionError]:
    """The cases that create nothing (views as CTEs), printed and run on Spark up front, two at a time.

    Spark runs queries from several threads at once, and two keep both cores busy where one query mostly uses
    one. The cases with ``--views create`` run one by one in their tests, after these: the views they create
    would otherwise be there for a query whose CTE is missing.
    """
    cases = [case for case in CASES if case.views == "cte"]
    printed = {case: print_sql(workspace_path, case.argv) for case in cases}  # the CLI prints to sys.stdout: in turn

    def run(case: Case) -> tuple[list[str], dict[str, list[Row]]] | AssertionError:
        try:
            return run_printed(warehouse, printed[case])
        except AssertionError as error:
            return error

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(cases, pool.map(run, cases), strict=True))


@pytest.mark.parametrize("case", CASES, ids=str)
def test_printed_spark_sql_computes_the_engines_values(
    warehouse: SparkSession,
    runs_with_view_ctes: dict[Case, tuple[list[str], dict[str, list[Row]]] | AssertionError],
    engine: Engine,
    workspace: Workspace,
    workspace_path: Path,
    case: Case,
) -> None:
    if case.views == "create":
        setup, on_spark = run_printed(warehouse, print_sql(workspace_path, case.argv))
        assert setup and all(_first_sql_line(sql).startswith("CREATE OR REPLACE VIEW ") for sql in setup), setup
    else:
        outcome = runs_with_view_ctes[case]
        if isinstance(outcome, AssertionError):
            raise outcome
        setup, on_spark = outcome
        assert not setup, "the default form defines views as CTEs, in the KPI's one statement"
    assert list(on_spark) == [case.kpi_id], f"expected one KPI SELECT, for {case.kpi_id}; got {list(on_spark)}"
    expected = engine.compute(workspace, case.kpi_id, SeriesRequest(case.grain, by=case.by))  # type: ignore[arg-type]
    if (case.kpi_id, case.by) not in EMPTY_BY_DESIGN:
        assert expected.points, f"the engine computed no period for {case}: comparing would prove nothing"
    problems = differences(expected, on_spark[case.kpi_id])
    assert not problems, f"{case} differs on Spark:\n" + "\n".join(problems[:20])


# Spans that end just past a boundary of each unit, spans of just under and exactly one and two weeks, two
# backwards and one open: DuckDB's date_diff counts the unit's boundaries crossed (a week: the days crossed / 7).
TIMED_EVENTS_CSV = """event_id,started_at,ended_at
1,2024-01-31 23:59:59,2024-02-01 00:00:00
2,2024-03-31 23:59:59.5,2024-04-01 00:00:00.25
3,2024-12-31 23:59:59,2025-01-01 00:00:01
4,2024-05-10 10:00:59,2024-05-10 10:01:00
5,2024-06-03 10:00:00,2024-06-10 09:59:00
6,2024-06-03 10:00:00,2024-06-17 10:00:00
7,2024-07-01 10:01:00,2024-07-01 10:00:59
8,2024-08-01 09:00:00,
9,2024-09-20 12:00:00,2024-09-09 13:00:00
"""
DATE_DIFF_UNITS = ("millisecond", "seconds", "minute", "hours", "day", "week", "month", "quarter", "years")


def test_date_diff_counts_what_duckdb_counts_on_spark(spark: SparkSession, tmp_path: Path) -> None:
    """date_diff in every unit, its plural spellings too, over spans that end just past a boundary.

    Spark's DATEDIFF(unit, …) counts whole units elapsed (none from 10:00:59 to 10:01:00), DuckDB's date_diff
    the boundaries crossed (one): the sample's tickets are stamped on whole minutes and cannot tell them apart.
    """
    (tmp_path / "events.csv").write_text(TIMED_EVENTS_CSV, encoding="utf-8")
    kpis = [
        {
            "id": f"{unit}_between",
            "name": f"Sum of {unit} between start and end",
            "source": "events",
            "expression": f"sum(date_diff('{unit}', started_at, ended_at))",
            "time_column": "started_at",
        }
        for unit in DATE_DIFF_UNITS
    ]
    path = tmp_path / "workspace.yaml"
    document = {"name": "Timed events", "sources": [{"name": "events", "path": "events.csv"}], "kpis": kpis}
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    workspace = workspace_file.load(path)
    with Engine.for_workspace(workspace, tmp_path) as engine:
        load_tables(spark, engine, workspace, path, "timed_events")
        _, on_spark = run_printed(spark, print_sql(path, ["--grain", "day"]), "timed_events")
        assert set(on_spark) == {kpi["id"] for kpi in kpis}
        for kpi_id, rows in on_spark.items():
            expected = engine.compute(workspace, kpi_id, SeriesRequest("day"))
            problems = differences(expected, rows)
            assert not problems, f"{kpi_id} differs on Spark:\n" + "\n".join(problems)


# Formulas beyond the sample's, each a KPI on the sample's tables: the functions and operators a formula may use
# whose Spark SQL could mean something else than DuckDB's (log's base, day-of-week numbering, percentiles, decimal
# division, sample kurtosis and skewness, DuckDB-only aggregates), and a spread of the rest.
# Known to differ still, so not listed: ln/log of zero or less (DuckDB NaN or -inf, Spark NULL); CAST(double AS
# INTEGER) (DuckDB rounds half to even, Spark truncates); avg of a DECIMAL (Spark keeps 6 decimal places); date - date
# (DuckDB days, Spark an interval); extract(epoch FROM an interval) and product() (Spark has neither).
FORMULAS = {
    "orders": [
        "sum(log(amount)) FILTER (WHERE amount > 0)",
        "sum(log(2, amount)) FILTER (WHERE amount > 0)",
        "sum(ln(cost)) FILTER (WHERE cost > 0)",
        "sum(extract(dow FROM order_date))",
        "sum(extract(isodow FROM order_date))",
        "sum(date_part('dow', order_date)) / count(*)",
        "sum(2 * date_part('isodow', order_date))",
        "quantile_cont(amount, 0.9)",
        "quantile_disc(amount, 0.9)",
        "median(amount)",
        "fsum(amount)",
        "favg(amount)",
        "count(*) * 1.0 / 3",
        "sum(amount * 1.1) / 7",
        "avg(date_diff('days', order_date, delivered_date))",
        "stddev_samp(amount) + var_pop(cost)",
        "count_if(status = 'completed') / count(*)",
        "count(*) FILTER (WHERE channel ILIKE 'WEB' AND customer_id LIKE '%7')",
        "arg_max(amount, order_id)",
        "corr(amount, cost) + covar_pop(amount, cost)",
        "kurtosis(amount) + skewness(cost)",
        "kurtosis(amount) FILTER (WHERE channel = 'web') - skewness(amount) FILTER (WHERE region = 'East')",
        "sum(round(amount / 7, 2) + floor(amount / 3) - ceil(cost / 3))",
        "max(greatest(amount, cost * 2)) - min(least(amount, cost * 2))",
        "sum(exp(discount / 100) + sqrt(amount) + power(cost, 0.5) + sign(amount - 100))",
        "sum(coalesce(nullif(discount, 0), -1))",
        "sum(if(channel = 'web', amount, 0)) / sum(CASE WHEN channel = 'web' THEN 1 ELSE 0 END)",
        "sum(try_cast(order_no AS DOUBLE)) + sum(order_no // 2) + sum(order_no % 3)",
        "count(DISTINCT lower(channel) || upper(region)) + sum(length(trim('  ' || channel || ' ')))",
        "count(DISTINCT substring(customer_id, 1, 4)) + count(DISTINCT concat(channel, '-', region))",
        "count(DISTINCT date_trunc('week', order_date)) + count(DISTINCT strftime(order_date, '%Y-%m'))",
        "sum(extract(week FROM order_date) + extract(quarter FROM order_date) + extract(doy FROM order_date))",
        "count(*) FILTER (WHERE regexp_matches(customer_id, '7$'))",
        "count(*) FILTER (WHERE delivered_date > order_date + INTERVAL 3 DAY)",
        "count(*) FILTER (WHERE order_date BETWEEN DATE '2025-01-01' AND DATE '2025-06-30') / count(*)",
    ],
    "support_tickets": [
        "avg(epoch(first_response_at) - epoch(opened_at)) / 60",
        "avg(date_diff('hours', opened_at, resolved_at))",
        "quantile_cont(date_diff('minute', opened_at, first_response_at), 0.5)",
        "sum(extract(hour FROM opened_at)) + count(DISTINCT date_trunc('hour', opened_at))",
        "count(*) FILTER (WHERE resolved_at < opened_at + INTERVAL 1 DAY)",
        "count(*) FILTER (WHERE resolved_at - opened_at < INTERVAL 2 HOUR)",
        "avg(csat::DOUBLE) * 20.0",
    ],
}
TIME_COLUMNS = {"orders": "order_date", "support_tickets": "opened_at"}
FORMULA_CASES = [(source, expression) for source, expressions in FORMULAS.items() for expression in expressions]


@pytest.fixture(scope="module")
def formulas_workspace(workspace_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A KPI per formula of FORMULAS, on the warehouse workspace's own files (so its engine and tables serve)."""
    kpis = [
        {
            "id": f"formula_{number}",
            "name": expression,
            "source": source,
            "expression": expression,
            "time_column": TIME_COLUMNS[source],
        }
        for number, (source, expression) in enumerate(FORMULA_CASES)
    ]
    sources = [{"name": name, "path": str(workspace_path.parent / "data" / f"{name}.csv")} for name in FORMULAS]
    path = tmp_path_factory.mktemp("formulas") / "workspace.yaml"
    path.write_text(yaml.safe_dump({"name": "Formulas", "sources": sources, "kpis": kpis}), encoding="utf-8")
    return path


@pytest.mark.parametrize(("number", "expression"), [(n, e) for n, (_, e) in enumerate(FORMULA_CASES)], ids=str)
def test_formula_functions_compute_the_engines_values_on_spark(
    warehouse: SparkSession, engine: Engine, formulas_workspace: Path, number: int, expression: str
) -> None:
    kpi_id = f"formula_{number}"
    _, on_spark = run_printed(warehouse, print_sql(formulas_workspace, ["--kpi", kpi_id, "--grain", "quarter"]))
    expected = engine.compute(workspace_file.load(formulas_workspace), kpi_id, SeriesRequest("quarter"))
    assert expected.points and any(point.value is not None for point in expected.points)
    problems = differences(expected, on_spark[kpi_id])
    assert not problems, f"{expression} differs on Spark:\n" + "\n".join(problems[:10])

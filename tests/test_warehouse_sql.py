"""The warehouse script (kpi_model/formula/warehouse.py): view sources defined in it, one naming rule, a header.

PostgreSQL runs it for real (tests/test_sql_postgres.py); here Snowflake, BigQuery, T-SQL and Spark get
golden files and a sqlglot round trip: the printed SQL, read back in its dialect and run on DuckDB over the
same data, computes what the engine computes.
"""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest
import sqlglot
import yaml
from sqlglot import exp
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

from kpi_model import workspace_file
from kpi_model.engine import Engine
from kpi_model.errors import UnknownKpiError
from kpi_model.formula import DIALECTS, SeriesRequest, is_plain_name, quote_names, warehouse_script
from kpi_model.formula.warehouse import DIALECT_NAMES
from kpi_model.models import Workspace

from .conftest import REPO, cli
from .test_app_data import SAMPLE, home, new_app, opened_sample_data, sample_home, seeded_home  # noqa: F401
from .warehouse_fixture import (
    VIEW_KPIS,
    breakdown_column,
    computable_kpis,
    printed_statements,
    warehouse_workspace,
    write_warehouse_workspace,
)

GOLDEN = REPO / "tests" / "golden"
VIEW_KPI_IDS = [k["id"] for k in VIEW_KPIS]


def _golden(name: str, text: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), f"{name} changed; review, then UPDATE_GOLDEN=1"


@pytest.mark.parametrize("views", ["cte", "create"])
@pytest.mark.parametrize("dialect", DIALECTS)
def test_golden_view_sources_per_dialect(dialect, views):
    """A KPI on a view over a view: both views defined, the inner one first, and the script parses back."""
    script = warehouse_script(warehouse_workspace(), ["revenue_per_conversion"], dialect=dialect, views=views)
    text = script.text()
    _golden(f"revenue_per_conversion.{views}.{dialect}.sql", text)
    assert text.index("completed_orders AS") < text.index("web_conversions AS")
    statements = [s.sql for s in printed_statements(text)]
    assert len(statements) == (3 if views == "create" else 1)
    for sql in statements:
        assert sqlglot.parse_one(sql, read=dialect) is not None


@pytest.fixture(scope="module")
def workspace_and_engine(tmp_path_factory):
    path = write_warehouse_workspace(tmp_path_factory.mktemp("warehouse"))
    workspace = workspace_file.load(path)
    with Engine.for_workspace(workspace, path.parent) as engine:
        yield workspace, engine


def _read_back(sql: str, dialect: str) -> str:
    """``sql`` of ``dialect`` as DuckDB SQL. Two T-SQL types sqlglot carries over literally are mapped: VARCHAR(MAX)
    (DuckDB does not parse it) and FLOAT (8 bytes in T-SQL, 4 in DuckDB)."""

    def duckdb_types(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.DataType) and node.is_type("varchar") and node.expressions:
            return exp.DataType.build("VARCHAR")
        if dialect == "tsql" and isinstance(node, exp.DataType) and node.is_type("float"):
            return exp.DataType.build("DOUBLE")
        return node

    return sqlglot.parse_one(sql, read=dialect).transform(duckdb_types).sql(dialect="duckdb")


def _as_date(value):
    return value.date() if isinstance(value, dt.datetime) else value


@pytest.mark.parametrize("dialect", ["snowflake", "bigquery", "tsql", "spark"])
@pytest.mark.parametrize("grain", ["week", "quarter"])
def test_view_kpis_read_back_from_each_dialect_compute_the_engines_values(workspace_and_engine, dialect, grain):
    """The sqlglot round trip: the printed SQL (view CTEs, breakdown by a quoted name) read back runs on DuckDB."""
    workspace, engine = workspace_and_engine
    for kpi_id in VIEW_KPI_IDS:
        request = SeriesRequest(grain=grain, by=breakdown_column(workspace, kpi_id))
        printed = warehouse_script(workspace, [kpi_id], request, dialect=dialect).kpi_sql(kpi_id)
        names, rows = engine.query(_read_back(printed, dialect))
        got = {(_as_date(r[names.index("period")]), r[names.index("dimension")]): r[names.index("value")] for r in rows}
        series = engine.compute(workspace, kpi_id, request)
        assert len(series.points) > 4
        assert got.keys() == {(p.period, p.dimension) for p in series.points}, kpi_id
        for point in series.points:
            assert got[(point.period, point.dimension)] == pytest.approx(point.value, rel=1e-9), (kpi_id, point)


def _snowflake_identifiers(workspace: Workspace, **options) -> list[exp.Identifier]:
    text = warehouse_script(workspace, dialect="snowflake", **options).text()
    trees = [sqlglot.parse_one(s.sql, read="snowflake") for s in printed_statements(text)]
    return [identifier for tree in trees for identifier in tree.find_all(exp.Identifier)]


def test_snowflake_reads_every_plain_name_as_the_upper_case_name_of_a_normal_table():
    """Snowflake folds unquoted names to UPPER case and matches quoted ones exactly. Read back and normalised
    the way Snowflake resolves them (sqlglot's normalize_identifiers), every plain name in the default output
    is the upper-case name a normal Snowflake table has: no quoted lower-case name is left to miss it."""
    workspace = warehouse_workspace()
    identifiers = _snowflake_identifiers(workspace)
    quoted_lower = sorted({i.name for i in identifiers if i.quoted and i.name != i.name.upper()})
    assert quoted_lower == ["Sales Region"], "only a name that is not plain keeps its case"
    text = warehouse_script(workspace, dialect="snowflake").text()
    tree = normalize_identifiers(sqlglot.parse_one(printed_statements(text)[0].sql, read="snowflake"), "snowflake")
    resolved = {i.name for i in tree.find_all(exp.Identifier)}
    assert {"WEB_SESSIONS", "SESSION_DATE", "PERIOD", "VALUE"} <= resolved
    assert not {"web_sessions", "session_date"} & resolved


def test_snowflake_with_every_name_quoted_keeps_lower_case_names_exactly():
    identifiers = _snowflake_identifiers(warehouse_workspace(), quote="always")
    assert identifiers and all(i.quoted for i in identifiers)
    assert "session_date" in {i.name for i in identifiers}


@pytest.mark.parametrize(
    ("name", "dialect", "plain"),
    [
        ("order_date", "snowflake", True),
        ("_x1", "postgres", True),
        ("Amount", "postgres", False),  # upper-case letters: Snowflake and PostgreSQL fold them differently
        ("sales region", "duckdb", False),
        ("1st", "spark", False),
        ("order", "snowflake", False),  # reserved
        ("user", "postgres", False),  # reserved in PostgreSQL and T-SQL
        ("groups", "bigquery", False),  # reserved in BigQuery (sqlglot's list)
        ("period", "tsql", True),
    ],
)
def test_plain_names(name, dialect, plain):
    assert is_plain_name(name, dialect) is plain


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        ("snowflake", 'SELECT amount, "ORDER", "Sales Region" FROM "Shop"'),
        ("postgres", 'SELECT amount, "order", "Sales Region" FROM "Shop"'),
        ("tsql", "SELECT amount, [order], [Sales Region] FROM [Shop]"),
        ("spark", "SELECT amount, `order`, `Sales Region` FROM `Shop`"),
    ],
)
def test_reserved_words_are_quoted_as_the_warehouse_folds_them(dialect, expected):
    tree = sqlglot.parse_one('SELECT "amount", "order", "Sales Region" FROM Shop', read="duckdb")
    assert quote_names(tree, dialect).sql(dialect=dialect) == expected


def test_header_names_tables_and_columns_and_each_kpi_what_it_reads():
    request = SeriesRequest(by="Sales Region")
    script = warehouse_script(warehouse_workspace(), ["converted_revenue"], request, dialect="postgres")
    assert script.tables == {
        "orders": ("amount", "channel", "cost", "customer_id", "order_date", "order_id", "region", "status"),
        "web_sessions": ("channel", "converted", "device", "order_id", "session_date", "session_id"),
    }
    text = script.text()
    assert "--   orders: amount, channel, cost, customer_id, order_date, order_id, region, status\n" in text
    assert "View sources, as CTEs in front of each KPI that reads them: completed_orders, web_conversions." in text
    assert "-- converted_revenue: Revenue from converted web sessions (month, postgres)\nWITH" in text
    assert 'CAST("Sales Region" AS TEXT) AS dimension' in text


def test_every_kpi_prints_in_every_dialect_with_views_defined():
    workspace = warehouse_workspace()
    for dialect in DIALECTS:
        script = warehouse_script(workspace, dialect=dialect)
        assert not script.failures
        printed = printed_statements(script.text())
        assert [s.kpi_id for s in printed] == computable_kpis(workspace)
        for statement in printed:
            reads_views = statement.kpi_id in {*VIEW_KPI_IDS}
            assert ("completed_orders AS" in statement.sql) is reads_views, (dialect, statement.kpi_id)


def _with_views(*views: tuple[str, str]) -> Workspace:
    return Workspace.model_validate(
        {
            "name": "views",
            "sources": [{"name": "orders", "path": "orders.csv"}, *({"name": n, "sql": q} for n, q in views)],
            "kpis": [{"id": "k", "name": "K", "source": views[0][0], "expression": "count(*)", "time_column": "d"}],
        }
    )


def test_views_in_a_circle_are_refused_with_the_circle_named():
    workspace = _with_views(("a", "SELECT * FROM b"), ("b", "SELECT * FROM a"))
    script = warehouse_script(workspace, ["k"], dialect="postgres")
    assert "read each other in a circle" in str(script.failures["k"])


def test_a_view_the_engine_would_refuse_is_refused_here_too():
    workspace = _with_views(("v", "SELECT * FROM read_csv('/etc/passwd')"))
    script = warehouse_script(workspace, ["k"], dialect="postgres")
    assert "view source 'v'" in str(script.failures["k"])


def test_views_are_written_in_the_order_they_depend_on_each_other():
    workspace = _with_views(("c", "SELECT * FROM b"), ("b", "SELECT * FROM A"), ("a", "SELECT * FROM Orders"))
    script = warehouse_script(workspace, ["k"], dialect="postgres", views="create")
    assert [s.name for s in script.statements] == ["a", "b", "c", "k"]
    assert "FROM orders" in script.statements[0].sql, "a table takes its source's spelling"


def test_unknown_kpi_is_refused_before_anything_prints():
    with pytest.raises(UnknownKpiError, match="did you mean 'revenue'"):
        warehouse_script(warehouse_workspace(), ["revenu"], dialect="postgres")


def test_cli_views_create_and_quote_names(tmp_path):
    path = write_warehouse_workspace(tmp_path)
    result = cli("sql", str(path), "--dialect", "tsql", "--views", "create", "--kpi", "converted_revenue")
    assert result.returncode == 0, result.stderr
    assert re.search(r"CREATE OR ALTER VIEW completed_orders AS.*;\nGO\n", result.stdout, re.S)
    assert result.stdout.index("VIEW completed_orders") < result.stdout.index("VIEW web_conversions")
    quoted = cli("sql", str(path), "--dialect", "snowflake", "--quote-names", "always", "--kpi", "revenue")
    assert 'FROM "orders"' in quoted.stdout and 'AS "period"' in quoted.stdout


def test_cli_run_prints_each_result_under_its_statement(tmp_path):
    path = write_warehouse_workspace(tmp_path)
    result = cli("sql", str(path), "--run", "--grain", "year", "--kpi", "revenue", "--kpi", "converted_revenue")
    assert result.returncode == 0, result.stderr
    workspace = workspace_file.load(path)
    with Engine.for_workspace(workspace, path.parent) as engine:
        for kpi_id in ("revenue", "converted_revenue"):
            series = engine.compute(workspace, kpi_id, SeriesRequest(grain="year"))
            block = result.stdout.split(f"-- {kpi_id}: ")[1].split("\n\n")[0]
            assert f"-- result: {len(series.points)} rows" in block
            for point in series.points:
                assert re.search(rf"-- {point.period}\s+{re.escape(str(point.value))}\s", block), point
    refused = cli("sql", str(path), "--run", "--dialect", "postgres")
    assert refused.returncode == 2 and "--dialect duckdb" in refused.stderr


@pytest.mark.usefixtures("sample_home")
def test_preview_sql_panel_shows_the_runnable_script_in_each_dialect_and_naming_rule():
    """Preview's SQL panel shows what `kpi-wizard sql --kpi ID` prints for the KPI and request on screen."""
    at = new_app("pages/preview.py")
    kpi_id = at.selectbox(key="preview_kpi").value
    (code,) = at.code
    expected = warehouse_script(SAMPLE, [kpi_id], SeriesRequest(), dialect="duckdb").text()
    assert code.value.rstrip("\n") == expected.rstrip("\n")
    at.selectbox(key="preview_dialect").set_value("snowflake").run()
    assert f"-- {kpi_id}: " in at.code[0].value and "FROM web_sessions" in at.code[0].value
    at.toggle(key="preview_quote_names").set_value(True).run()
    assert 'FROM "web_sessions"' in at.code[0].value and 'AS "period"' in at.code[0].value
    assert not at.exception and not at.error


def test_a_name_spelled_in_another_case_than_its_view_defines_it_takes_the_views_spelling():
    """DuckDB matches `total` to a view's `AS Total`; a warehouse matches only the same spelling once quoted."""
    workspace = _with_views(("v", "SELECT order_date AS d, amount AS Total FROM orders"))
    workspace.kpis[0].expression = "sum(TOTAL)"
    sql = warehouse_script(workspace, ["k"], dialect="postgres").kpi_sql("k")
    assert 'SUM("Total")' in sql and 'amount AS "Total"' in sql


def test_a_line_break_in_a_name_stays_inside_the_comment_that_names_it():
    workspace = _with_views(("v", 'SELECT order_date AS d, amount AS "x\nDROP TABLE orders; --" FROM orders'))
    workspace.kpis[0].expression = 'sum("x\nDROP TABLE orders; --")'
    text = warehouse_script(workspace, ["k"], dialect="postgres").text()
    (statement,) = printed_statements(text)
    assert statement.kpi_id == "k"
    assert sqlglot.parse_one(statement.sql, read="postgres").find(exp.Drop) is None
    lines = [line for line in text.splitlines() if "DROP TABLE" in line]
    assert lines and all(line.startswith("-- ") or line.startswith("DROP TABLE orders; --") for line in lines)


# The answer key, written from each engine's documentation (docs/formulas.md has the table): formula → the
# function the reason names and the dialects that cannot compute it with DuckDB's meaning (its KPI is left out).
_ARITHMETIC = "sum(amount // 2) + sum(round(amount, 2)) + sum(amount % 2) + max(log(amount))"
_ALL_BUT_SPARK = {"postgres", "snowflake", "bigquery", "tsql"}
_ALL = {*_ALL_BUT_SPARK, "spark"}
UNTRANSLATABLE: dict[str, tuple[str, set[str]]] = {
    "median(amount)": ("median()", {"bigquery", "tsql"}),
    "median(date_diff('hour', d, e))": ("median()", {"bigquery", "tsql"}),
    "quantile_cont(amount, 0.9)": ("quantile_cont()", {"bigquery", "tsql"}),
    "quantile_disc(amount, 0.9)": ("quantile_disc()", {"bigquery", "tsql"}),
    "mode(channel)": ("mode()", {"bigquery", "tsql"}),
    "count(*) FILTER (WHERE amount > 0) / count(*)": ("", set()),
    "bool_or(amount > 0)": ("bool_or()", {"tsql"}),
    "approx_count_distinct(order_id)": ("approx_count_distinct()", {"postgres", "tsql"}),
    "arg_max(order_id, amount)": ("arg_max()", {"postgres", "tsql"}),
    "any_value(channel)": ("any_value()", {"postgres", "tsql"}),
    "first(amount)": ("first()", _ALL_BUT_SPARK),
    "kurtosis(amount)": ("kurtosis()", {"postgres", "bigquery", "tsql"}),
    "corr(amount, cost)": ("corr()", {"tsql"}),
    "product(amount)": ("product()", _ALL),
    "fsum(amount)": ("", set()),
    "sum(try_cast(amount AS DOUBLE))": ("try_cast()", {"postgres"}),
    "max(epoch(d))": ("epoch()", {"bigquery", "tsql"}),
    "count(*) FILTER (WHERE regexp_matches(channel, '^w'))": ("regexp_matches()", {"tsql"}),
    "count(*) FILTER (WHERE regexp_matches(channel, 'W', 'i'))": ("regexp_matches()", {"snowflake", "tsql"}),
    "count(*) FILTER (WHERE channel ILIKE 'w%')": ("ILIKE", {"tsql"}),
    "max(date_part('dow', d))": ("date_part()", {"bigquery", "tsql"}),
    "max(extract(dow FROM d))": ("extract()", {"bigquery", "tsql"}),
    "max(extract(month FROM d))": ("", set()),
    "sum(amount) / count(DISTINCT order_id)": ("", set()),
    _ARITHMETIC: ("", set()),
    "avg(date_diff('minute', d, e))": ("", set()),
    "avg(date_diff('week', d, e))": ("", set()),
    "avg(date_diff('hours', d, e))": ("", set()),
    "max(date_diff('decade', d, e))": ("date_diff()", _ALL),
}
# Where the dialect has the same meaning under another spelling: formula, dialect → what its SQL must hold.
REWRITTEN = {
    ("sum(try_cast(amount AS DOUBLE))", "snowflake"): "TRY_CAST(CAST(amount AS VARCHAR) AS DOUBLE)",
    ("sum(try_cast(amount AS DOUBLE))", "bigquery"): "SAFE_CAST(amount AS FLOAT64)",
    ("sum(try_cast(amount AS DOUBLE))", "tsql"): "TRY_CAST(amount AS FLOAT)",
    ("sum(try_cast(amount AS DOUBLE))", "spark"): "TRY_CAST(amount AS DOUBLE)",
    ("mode(channel)", "postgres"): "MODE() WITHIN GROUP (ORDER BY channel)",
    ("median(amount)", "postgres"): "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY amount)",
    ("fsum(amount)", "postgres"): "SUM(amount)",
    ("fsum(amount)", "tsql"): "SUM(amount)",
    # BigQuery's DATE_DIFF takes DATEs only, its DATETIME_DIFF counts whole units elapsed: both ends truncated.
    ("avg(date_diff('minute', d, e))", "bigquery"): "DATETIME_DIFF(DATETIME_TRUNC(CAST(e AS DATETIME), MINUTE), "
    "DATETIME_TRUNC(CAST(d AS DATETIME), MINUTE), MINUTE)",
    ("avg(date_diff('week', d, e))", "bigquery"): "DIV(DATE_DIFF(CAST(e AS DATE), CAST(d AS DATE), DAY), 7)",
    # DuckDB counts a week as the days crossed divided by 7; T-SQL's and Snowflake's weeks count Sundays crossed.
    ("avg(date_diff('week', d, e))", "tsql"): "AVG(DATEDIFF(DAY, d, e) / 7)",
    ("avg(date_diff('week', d, e))", "postgres"): "AVG((CAST(e AS DATE) - CAST(d AS DATE)) / 7)",
    # A unit in the plural is written as every dialect reads it (sqlglot passes 'hours' on as it is).
    ("avg(date_diff('hours', d, e))", "tsql"): "AVG(DATEDIFF(HOUR, d, e))",
    ("avg(date_diff('hours', d, e))", "snowflake"): "AVG(DATEDIFF(HOUR, d, e))",
    ("avg(date_diff('hours', d, e))", "postgres"): "DATE_TRUNC('HOUR', CAST(e AS TIMESTAMP))",
    ("avg(date_diff('week', d, e))", "snowflake"): "AVG(CAST(TRUNC(DATEDIFF(DAY, d, e) / 7) AS BIGINT))",
    # Snowflake's REGEXP_LIKE matches the whole string, DuckDB's regexp_matches any part of it.
    ("count(*) FILTER (WHERE regexp_matches(channel, '^w'))", "snowflake"): "(REGEXP_INSTR(channel, '^w') > 0)",
    ("max(epoch(d))", "spark"): "MAX((UNIX_MICROS(CAST(d AS TIMESTAMP)) / CAST(1000000 AS DOUBLE)))",
    ("max(date_part('dow', d))", "spark"): "MAX((EXTRACT(DAYOFWEEK FROM d) - 1))",
    # DuckDB's // truncates integers and divides a DOUBLE as it is, as / does in PostgreSQL and T-SQL; PostgreSQL
    # rounds, takes % and LOG(b, x) of NUMERIC only.
    (_ARITHMETIC, "postgres"): "SUM(amount / 2) + SUM(ROUND(CAST(amount AS DECIMAL), 2)) + "
    "SUM(CAST(amount AS DECIMAL) % CAST(2 AS DECIMAL)) + MAX(LOG10(amount))",
    (_ARITHMETIC, "tsql"): "SUM(amount / 2)",
}


def _orders_kpi(expression: str, *views: tuple[str, str]) -> Workspace:
    source = views[0][0] if views else "orders"
    return Workspace.model_validate(
        {
            "name": "formulas",
            "sources": [{"name": "orders", "path": "orders.csv"}, *({"name": n, "sql": q} for n, q in views)],
            "kpis": [{"id": "k", "name": "K", "source": source, "expression": expression, "time_column": "d"}],
        }
    )


@pytest.mark.parametrize("dialect", [d for d in DIALECTS if d != "duckdb"])
@pytest.mark.parametrize("formula", UNTRANSLATABLE)
def test_a_formula_the_dialect_cannot_compute_is_left_out_with_the_reason(formula, dialect):
    script = warehouse_script(_orders_kpi(formula), ["k"], dialect=dialect, pretty=False)
    function, refused_in = UNTRANSLATABLE[formula]
    if dialect in refused_in:
        error = str(script.failures["k"])
        assert f"left out of the {DIALECT_NAMES[dialect]} SQL: {function}: " in error
        assert "compute it in DuckDB" in error
        assert not printed_statements(script.text())
        assert f"--   k: {error}" in script.text(), "the header names what was left out"
    else:
        assert not script.failures, script.failures
        sql = script.kpi_sql("k")
        assert sqlglot.parse_one(sql, read=dialect) is not None
        if (formula, dialect) in REWRITTEN:
            assert REWRITTEN[formula, dialect] in sql
        assert "Left out" not in script.text()


def test_a_view_the_dialect_cannot_compute_leaves_out_its_kpis_and_is_not_created():
    view = ("priced", "SELECT d, try_cast(amount AS DOUBLE) AS price FROM orders")
    workspace = _orders_kpi("sum(price)", view)
    script = warehouse_script(workspace, ["k"], dialect="postgres", views="create")
    assert "view source 'priced': try_cast(): PostgreSQL has no TRY_CAST" in str(script.failures["k"])
    assert not script.statements, "neither the view nor the KPI is printed"
    snowflake = warehouse_script(workspace, ["k"], dialect="snowflake", views="create")
    assert not snowflake.failures and "TRY_CAST(CAST(amount AS VARCHAR) AS DOUBLE)" in snowflake.statements[0].sql


def test_a_view_selecting_star_is_said_to_need_every_column_not_a_column_named_star():
    workspace = _orders_kpi("sum(amount)", ("all_orders", "SELECT * FROM orders"))
    text = warehouse_script(workspace, ["k"], dialect="postgres").text()
    assert "--   orders: every column (a view selects *)\n" in text
    assert not re.search(r"orders: .*\*,", text)


def test_cli_says_on_stderr_which_kpi_it_left_out_and_why_and_exits_1(tmp_path):
    path = tmp_path / "workspace.yaml"
    workspace = _orders_kpi("median(date_diff('hour', d, e))")
    path.write_text(yaml.safe_dump(workspace.model_dump(mode="json", exclude_none=True)), encoding="utf-8")
    result = cli("sql", str(path), "--dialect", "bigquery")
    assert result.returncode == 1
    assert "k: left out of the BigQuery SQL: median(): BigQuery has no such aggregate" in result.stderr
    assert "MEDIAN" not in result.stdout and "--   k: left out of the BigQuery SQL" in result.stdout
    postgres = cli("sql", str(path), "--dialect", "postgres")
    assert postgres.returncode == 0 and "PERCENTILE_CONT(0.5) WITHIN GROUP" in postgres.stdout


@pytest.mark.usefixtures("home")
def test_preview_sql_panel_shows_why_a_kpi_is_left_out_of_a_dialect(tmp_path, monkeypatch):
    """A KPI the dialect cannot compute shows the reason on the Preview page, no SQL; DuckDB still shows its SQL."""
    path = write_warehouse_workspace(tmp_path)
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    (revenue,) = [k for k in document["kpis"] if k["id"] == "revenue"]
    revenue["expression"] = "median(amount)"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("KPI_WIZARD_OPEN", str(path))
    at = new_app("pages/preview.py")
    at.selectbox(key="preview_kpi").set_value("revenue").run()
    assert "MEDIAN(amount)" in at.code[0].value
    at.selectbox(key="preview_dialect").set_value("bigquery").run()
    assert not at.code
    shown = [error.value.replace("\\", "") for error in at.error]  # markdown-escaped
    reason = "Left out of the BigQuery SQL: median(): BigQuery has no such aggregate"
    assert any(reason in text for text in shown), shown

"""Formula checks and compilation: what is accepted, what is refused and why, and the SQL produced."""

from __future__ import annotations

import ast
import doctest
import importlib
import os

import pytest
import sqlglot
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kpi_model import workspace_file
from kpi_model.formula import (
    DIALECTS,
    Compiler,
    FormulaError,
    SeriesRequest,
    check_aggregate,
    check_derived,
    check_filter,
    compile_sql,
    safe_division,
    validate_view,
    warehouse_script,
)
from kpi_model.models import Goal, Kpi, Source, Unit, Workspace
from kpi_model.workspace_file import load

from .conftest import REPO, SAMPLE_WORKSPACE
from .hostile_formulas import HOSTILE_FORMULAS

COLUMNS = ["amount", "cost", "order_id", "customer_id", "status", "order_date", "channel"]
GOLDEN = REPO / "tests" / "golden"


def test_the_hostile_corpus_is_large_enough():
    assert len(HOSTILE_FORMULAS) >= 40
    assert len({label for label, _ in HOSTILE_FORMULAS}) == len(HOSTILE_FORMULAS)


@pytest.mark.parametrize(("label", "formula"), HOSTILE_FORMULAS, ids=[label for label, _ in HOSTILE_FORMULAS])
def test_hostile_formulas_are_rejected_before_execution(label, formula):
    with pytest.raises(FormulaError) as caught:
        check_aggregate(formula, COLUMNS, source="source 'orders'")
    message = str(caught.value)
    assert "Fix:" in message, "every rejection says how to fix it"
    assert len(message) < 600


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("read_csv('/etc/passwd')", "function 'read_csv' is not allowed"),
        ("sum(amount); DROP TABLE t", "2 statements"),
        ("\u0455um(amount)", "look-alike of 'sum'"),
        ("sum(amount) OVER ()", "window functions"),
        ("amount", "does not aggregate"),
        ("sum(amount) + cost", "column 'cost' is used outside an aggregate"),
        ("sum(avg(amount))", "cannot be nested"),
        ("sum(amout)", "did you mean 'amount'?"),
        ("(SELECT 1)", "define the join or subquery once as a SQL view"),
        ("sum(amount) +", "does not parse"),
        ("summ(amount)", "did you mean 'sum'?"),
        ("COPY orders TO 'x.csv'", "statements are never run"),
        ("", "is empty"),
        ("sum(amount) FILTER (WHERE status = web)", "unknown column 'web'"),
    ],
)
def test_rejections_name_the_problem_and_fix(formula, expected):
    with pytest.raises(FormulaError, match="Fix:") as caught:
        check_aggregate(formula, COLUMNS)
    assert expected in str(caught.value)


def test_position_points_at_the_problem():
    text = "sum(amount) + read_csv('x')"
    with pytest.raises(FormulaError) as caught:
        check_aggregate(text, COLUMNS)
    assert caught.value.position == text.index("read_csv")
    assert "at character 15" in str(caught.value)


@pytest.mark.parametrize(
    "formula",
    [
        "sum(amount)",
        "count(*)",
        "sum(amount) - sum(cost)",
        "count(DISTINCT customer_id) FILTER (WHERE status <> 'cancelled') / count(DISTINCT customer_id)",
        "avg(CASE WHEN status = 'returned' THEN 1 ELSE 0 END)",
        "median(amount)",
        "quantile_cont(amount, 0.9)",
        "sum(amount) / nullif(count(DISTINCT order_id), 0)",
        "avg(date_diff('day', order_date, order_date))",
        "count_if(amount > 100) * 1.0 / count(*)",
        'sum("amount") -- a comment is fine',
        "round(100.0 * sum(amount) / sum(cost), 1)",
        "max(order_date) - min(order_date)",
        "sum(amount) FILTER (WHERE channel IN ('web', 'b2b') AND order_date >= DATE '2025-01-01')",
    ],
)
def test_ordinary_formulas_are_accepted(formula):
    checked = check_aggregate(formula, COLUMNS)
    assert checked.columns <= set(COLUMNS)
    assert "--" not in checked.sql, "comments are stripped from what runs"


def test_column_names_are_matched_case_insensitively_and_reported_as_in_the_source():
    assert check_aggregate("sum(AMOUNT)", ["Amount"]).columns == {"Amount"}


def test_filter_rules():
    assert check_filter("status <> 'cancelled' AND amount > 0", COLUMNS).columns == {"status", "amount"}
    with pytest.raises(FormulaError, match="cannot contain aggregates"):
        check_filter("sum(amount) > 0", COLUMNS)
    with pytest.raises(FormulaError, match="not allowed"):
        check_filter("getenv('x') = 'y'", COLUMNS)


def test_derived_rules():
    assert check_derived("sessions * conversion_rate", {"sessions", "conversion_rate"}).columns == {
        "sessions",
        "conversion_rate",
    }
    with pytest.raises(FormulaError, match="cannot aggregate"):
        check_derived("sum(sessions)", {"sessions"})
    with pytest.raises(FormulaError, match="did you mean 'sessions'"):
        check_derived("sesions * 2", {"sessions"})


def test_safe_division_guards_every_denominator_once():
    tree = check_aggregate("sum(amount) / count(*) + sum(cost) / nullif(count(*), 0) + sum(cost) / 2", COLUMNS).tree
    sql = safe_division(tree).sql(dialect="duckdb")
    assert sql == "SUM(amount) / NULLIF(COUNT(*), 0) + SUM(cost) / NULLIF(COUNT(*), 0) + SUM(cost) / 2"


def test_safe_division_keeps_parentheses_of_compound_denominators():
    tree = check_aggregate("sum(amount) / (sum(cost) + sum(amount))", COLUMNS).tree
    assert safe_division(tree).sql(dialect="duckdb") == "SUM(amount) / NULLIF((SUM(cost) + SUM(amount)), 0)"


def _derived_workspace(expression_of_c: str) -> Workspace:
    return Workspace(
        name="w",
        units=[Unit(id="u", name="U")],
        goals=[Goal(id="g", unit="u", statement="G")],
        sources=[Source(name="t")],
        kpis=[
            Kpi(id="a", name="A", source="t", expression="sum(x)", time_column="d"),
            Kpi(id="b", name="B", source="t", expression="sum(y) + sum(x)", time_column="d"),
            Kpi(id="c", name="C", expression=expression_of_c),
            Kpi(id="d", name="D", expression="c * 2"),
        ],
    )


def test_derived_dependencies_leaves_first():
    compiler = Compiler(_derived_workspace("a / b"))
    assert compiler.dependencies("d") == ["a", "b", "c", "d"]


def test_derived_parenthesises_substituted_kpis():
    sql = compile_sql(_derived_workspace("a / b"), "c", pretty=False)
    # Each KPI's value comes in as one atomic term (a cast to double): precedence cannot leak into it.
    assert "CAST(k_a.value AS DOUBLE) / NULLIF(CAST(k_b.value AS DOUBLE), 0)" in sql
    assert "(SUM(y) + SUM(x)) AS value" in sql, "a compound KPI is wrapped before it is combined"


def test_derived_cycle_is_named():
    workspace = _derived_workspace("d + a")
    with pytest.raises(FormulaError, match=r"cycle: c → d → c"):
        Compiler(workspace).dependencies("c")


def test_request_validation():
    with pytest.raises(FormulaError, match="not a grain"):
        SeriesRequest(grain="fortnight")  # type: ignore[arg-type]
    import datetime as dt

    with pytest.raises(FormulaError, match="swap the dates"):
        SeriesRequest(start=dt.date(2026, 1, 2), end=dt.date(2026, 1, 1))


def test_unknown_source_columns_are_reported():
    workspace = load(SAMPLE_WORKSPACE)
    with pytest.raises(FormulaError, match="has no data loaded"):
        Compiler(workspace, {"orders": ["order_date"]}).select("sessions")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT * FROM read_csv('/etc/passwd')", "not a table of this workspace"),
        ("SELECT * FROM '/etc/passwd'", "unknown table '/etc/passwd'"),
        ("SELECT * FROM other.db.t", "not a table of this workspace"),
        ("SELECT 1; DROP TABLE orders", "2 statements"),
        ("COPY orders TO 'x'", "must be a SELECT"),
        ("SELECT * FROM orderz", "did you mean 'orders'"),
        ("SELECT getenv('HOME')", "not allowed"),
    ],
)
def test_view_validation_refuses(sql, message):
    with pytest.raises(FormulaError, match=message):
        validate_view(sql, {"orders", "leads"})


def test_view_validation_accepts_joins_unions_and_ctes():
    sql = (
        "WITH won AS (SELECT * FROM leads WHERE stage = 'won') "
        "SELECT o.*, w.lead_id FROM orders o LEFT JOIN won w ON o.customer_id = w.lead_id "
        "UNION ALL BY NAME SELECT * FROM orders"
    )
    assert "LEFT JOIN" in validate_view(sql, {"orders", "leads"})


GOLDEN_KPIS = ["revenue", "conversion_rate", "first_response_time", "web_revenue"]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("kpi_id", GOLDEN_KPIS)
def test_golden_sql_per_dialect_parses_back(kpi_id, dialect):
    """What `kpi-wizard sql --kpi ID --dialect D` prints; the views and naming rules have their own goldens
    (tests/test_warehouse_sql.py)."""
    workspace = load(SAMPLE_WORKSPACE)
    sql = warehouse_script(workspace, [kpi_id], dialect=dialect).text()
    golden = GOLDEN / f"{kpi_id}.{dialect}.sql"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(sql, encoding="utf-8")
    assert sql == golden.read_text(encoding="utf-8"), "SQL changed; review, then UPDATE_GOLDEN=1"
    (reparsed,) = sqlglot.parse(sql, read=dialect)
    assert reparsed is not None and reparsed.find(sqlglot.exp.Select) is not None


def test_breakdown_and_range_in_sql():
    import datetime as dt

    workspace = load(SAMPLE_WORKSPACE)
    request = SeriesRequest(grain="quarter", by="channel", start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
    sql = compile_sql(workspace, "revenue", request, pretty=False)
    assert 'MAKE_DATE(YEAR("order_date"), 3 * QUARTER("order_date") - 2, 1)' in sql
    assert 'CAST("channel" AS TEXT) AS dimension' in sql
    assert "\"order_date\" < CAST('2026-01-01' AS DATE)" in sql


# Arithmetic trees built at random: compiling must keep their meaning (no lost parentheses).
numbers = st.integers(min_value=1, max_value=9).map(str)
trees = st.recursive(
    numbers,
    lambda inner: st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(left=trees, right=trees)
# Integer KPIs whose product passes 2³¹ (found by this test): derived values are doubles.
@example(left="(((5 + 9) * (5 * 9)) * (5 * 9))", right="(((5 * 9) * (5 * 9)) * (5 * 9))")
def test_derived_compilation_preserves_arithmetic(left, right):
    import duckdb

    workspace = Workspace(
        name="w",
        sources=[Source(name="t")],
        kpis=[
            Kpi(id="p", name="P", source="t", expression=f"max({left})", time_column="d"),
            Kpi(id="q", name="Q", source="t", expression=f"max({right})", time_column="d"),
            Kpi(id="r", name="R", expression="p - q * p"),
        ],
    )
    connection = duckdb.connect()
    connection.execute("CREATE TABLE t AS SELECT DATE '2026-01-15' AS d")
    (value,) = connection.execute(f"SELECT value FROM ({compile_sql(workspace, 'r', pretty=False)})").fetchone()
    p, q = eval(left), eval(right)
    assert value == p - q * p


def test_check_kpi_text_knows_derived_from_aggregate_formulas():
    from kpi_model.formula import check_kpi_text

    workspace = load(SAMPLE_WORKSPACE)
    check_kpi_text(workspace, workspace.kpi("web_revenue"))
    check_kpi_text(workspace, workspace.kpi("revenue"))
    broken = workspace.kpi("revenue").model_copy(update={"expression": "sum(reopened / count("})
    with pytest.raises(FormulaError, match="does not parse"):
        check_kpi_text(workspace, broken)
    bad_filter = workspace.kpi("revenue").model_copy(update={"filter": "sum(amount) > 0"})
    with pytest.raises(FormulaError, match="cannot contain aggregates"):
        check_kpi_text(workspace, bad_filter)


def test_docs_list_every_allowed_function_and_each_one_is_accepted():
    from kpi_model.formula import _ALLOWED_FUNCTION_NAMES

    docs = (REPO / "docs" / "formulas.md").read_text(encoding="utf-8")
    missing = [name for name in _ALLOWED_FUNCTION_NAMES if f"`{name}`" not in docs]
    assert missing == [], "docs/formulas.md must list every allowed function"
    calls = {
        "arg_max": "arg_max(amount, cost)", "arg_min": "arg_min(amount, cost)", "corr": "corr(amount, cost)",
        "quantile_cont": "quantile_cont(amount, 0.5)", "quantile_disc": "quantile_disc(amount, 0.5)",
        "date_diff": "date_diff('day', order_date, order_date)", "date_trunc": "date_trunc('month', order_date)",
        "date_part": "date_part('year', order_date)", "datepart": "datepart('year', order_date)",
        "extract": "extract(year FROM order_date)", "strftime": "strftime(order_date, '%Y')",
        "cast": "CAST(amount AS DOUBLE)", "try_cast": "TRY_CAST(amount AS DOUBLE)", "if": "if(amount > 1, 1, 0)",
        "regexp_matches": "regexp_matches(status, 'x')", "substring": "substring(status, 1, 2)",
        "current_date": "current_date", "concat": "concat(status, 'x')", "round": "round(amount, 1)",
        "power": "power(amount, 2)", "greatest": "greatest(amount, cost)", "least": "least(amount, cost)",
        "coalesce": "coalesce(amount, 0)", "nullif": "nullif(amount, 0)", "epoch": "epoch(order_date)",
    }  # fmt: skip
    for name in _ALLOWED_FUNCTION_NAMES:
        call = calls.get(name, f"{name}(amount)")
        formula = f"max({call})" if name not in {"count", "sum", "avg", "min", "max"} else call
        if name in {"any_value", "approx_count_distinct", "arg_max", "arg_min", "bool_and", "bool_or", "corr",
                    "count_if", "favg", "first", "fsum", "kurtosis", "last", "median", "mode", "product",
                    "quantile_cont", "quantile_disc", "skewness", "stddev", "variance"}:  # fmt: skip
            formula = call if name != "bool_and" and name != "bool_or" else f"{name}(amount > 0)"
        check_aggregate(formula, COLUMNS)


@pytest.mark.parametrize("grain", ["day", "week", "month", "quarter", "year"])
def test_fast_period_arithmetic_equals_date_trunc(grain):
    import duckdb

    from kpi_model.formula import period_sql

    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE t AS SELECT DATE '2023-12-25' + CAST(range AS INTEGER) AS d, "
        "TIMESTAMP '2023-12-25 13:45:00' + INTERVAL (range) HOUR * 13 AS ts FROM range(1200)"
    )
    for column in ("d", "ts"):
        fast, portable = period_sql(column, grain), period_sql(column, grain, portable=True)
        (mismatches,) = connection.execute(
            f"SELECT count(*) FROM t WHERE ({fast}) IS DISTINCT FROM ({portable})"
        ).fetchone()
        assert mismatches == 0, (grain, column)


# The modules of kpi_model/formula, lowest first: each may import only those before it.
FORMULA_LAYERS = ["errors", "allowlist", "limits", "check", "rewrites", "dialects", "compile", "views", "warehouse"]


def _formula_imports(name: str) -> set[str]:
    """The modules of the formula package that kpi_model/formula/<name>.py imports, function-level ones too."""
    tree = ast.parse((REPO / "kpi_model" / "formula" / f"{name}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level:
            modules = [f"kpi_model.formula.{node.module or alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module == "kpi_model":
            modules = [f"kpi_model.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        else:
            continue
        for module in modules:
            if module == "kpi_model.formula":
                found.add("__init__")
            elif module.startswith("kpi_model.formula."):
                found.add(module.removeprefix("kpi_model.formula.").split(".")[0])
    return found


def test_formula_modules_import_only_the_layers_below_them():
    folder = REPO / "kpi_model" / "formula"
    assert sorted(path.stem for path in folder.glob("*.py") if path.stem != "__init__") == sorted(FORMULA_LAYERS)
    for index, name in enumerate(FORMULA_LAYERS):
        assert _formula_imports(name) <= set(FORMULA_LAYERS[:index]), f"kpi_model/formula/{name}.py reaches up"


def test_the_docstring_examples_of_the_formula_package_hold():
    attempted = {}
    for name in FORMULA_LAYERS:
        failed, attempted[name] = doctest.testmod(importlib.import_module(f"kpi_model.formula.{name}"))
        assert failed == 0, f"an example in kpi_model/formula/{name}.py does not hold (printed above)"
    assert attempted["rewrites"] >= 4  # each rewrite shows one


def test_a_view_source_whose_tables_are_not_loaded_says_to_load_them_not_to_upload_the_view():
    from kpi_model.formula import SourceNotLoadedError

    data = workspace_file.to_data(load(SAMPLE_WORKSPACE))
    data["sources"].append({"name": "web_orders", "sql": "SELECT * FROM orders WHERE channel = 'web'"})
    data["kpis"].append({"id": "web_sales", "name": "Web sales", "source": "web_orders", "expression": "sum(amount)",
                         "time_column": "order_date"})  # fmt: skip
    workspace = workspace_file.parse_workspace(data, source="sample + a view")
    with pytest.raises(SourceNotLoadedError, match="is a SQL view whose tables are not all loaded") as caught:
        Compiler(workspace, {"web_sessions": ["session_date"]}).select("web_sales")
    assert "upload its file" not in str(caught.value) and "tables its SQL selects from" in caught.value.fix

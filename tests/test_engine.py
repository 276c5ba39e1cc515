"""The locked engine: it computes what pandas computes, and it holds when validation is bypassed."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import sqlglot

from kpi_model.engine import Engine, QueryTimeout, lock
from kpi_model.formula import GRAINS, FormulaError, SeriesRequest, compile_sql
from kpi_model.workspace_file import load

from .conftest import SAMPLE_WORKSPACE
from .hostile_formulas import HOSTILE_FORMULAS

DATA = SAMPLE_WORKSPACE.parent / "data"
CANARIES = [
    Path("/tmp/kw_canary_copy.csv"),
    Path("/tmp/kw_canary_copy2.csv"),
    Path("/tmp/kw_canary.duckdb"),
    Path("/tmp/kw_canary_export"),
]


@pytest.fixture(scope="module")
def workspace():
    return load(SAMPLE_WORKSPACE)


@pytest.fixture(scope="module")
def engine(workspace):
    """The sample's files read in place, as ``kpi-wizard compute`` reads them."""
    with Engine.for_workspace(workspace, SAMPLE_WORKSPACE.parent, timeout_s=20) as locked:
        assert locked.scans, "the sample's CSV files are scanned, not loaded"
        yield locked


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    dates = {
        "orders": ["order_date", "returned_date", "delivered_date", "promised_date"],
        "web_sessions": ["session_date"],
        "leads": ["created_date", "mql_date", "won_date", "lost_date"],
        "support_tickets": ["opened_at", "first_response_at", "resolved_at"],
        "survey_responses": ["response_date"],
        "purchases": ["po_date"],
        "machine_log": ["log_date"],
    }
    return {name: pd.read_csv(DATA / f"{name}.csv", parse_dates=columns) for name, columns in dates.items()}


def monthly(frame: pd.DataFrame, time_column: str, compute) -> dict[str, float]:
    """pandas: group rows by calendar month of ``time_column`` and apply ``compute`` to each group."""
    frame = frame[frame[time_column].notna()]
    months = frame[time_column].dt.to_period("M").dt.start_time.dt.date.astype(str)
    return {month: compute(group) for month, group in frame.groupby(months)}


def share(mask: pd.Series) -> float:
    return mask.sum() / len(mask) if len(mask) else math.nan


def minutes_between(start: pd.Series, end: pd.Series) -> pd.Series:
    # DuckDB's date_diff('minute', a, b) counts minute boundaries crossed, not elapsed minutes.
    return (end.dt.floor("min") - start.dt.floor("min")).dt.total_seconds() / 60


def pandas_reference(f: dict[str, pd.DataFrame]) -> dict[str, dict[str, float]]:
    """Each sample KPI computed independently with pandas, from its definition in words."""
    orders, sessions, leads, tickets = f["orders"], f["web_sessions"], f["leads"], f["support_tickets"]
    completed = orders[orders.status == "completed"]
    not_cancelled = orders[orders.status != "cancelled"]
    web = orders[orders.channel == "web"]
    deliveries = orders[orders.channel.isin(["web", "b2b"]) & orders.delivered_date.notna()]
    mql = leads[leads.is_mql == 1]
    return {
        "sessions": monthly(sessions, "session_date", len),
        "conversion_rate": monthly(sessions, "session_date", lambda g: share(g.converted == 1)),
        "average_order_value": monthly(web, "order_date", lambda g: g.amount.sum() / g.order_id.nunique()),
        "page_views": monthly(sessions, "session_date", lambda g: g.pages_viewed.sum()),
        "nps": monthly(
            f["survey_responses"],
            "response_date",
            lambda g: 100.0 * ((g.nps_score >= 9).sum() - (g.nps_score <= 6).sum()) / len(g),
        ),
        "mqls": monthly(mql, "mql_date", len),
        "deals_won": monthly(leads[leads.stage == "won"], "won_date", len),
        "win_rate": monthly(
            mql,
            "mql_date",
            lambda g: (
                (g.stage == "won").sum() / g.stage.isin(["won", "lost"]).sum()
                if g.stage.isin(["won", "lost"]).sum()
                else math.nan
            ),
        ),
        "revenue": monthly(completed, "order_date", lambda g: g.amount.sum()),
        "gross_margin": monthly(completed, "order_date", lambda g: (g.amount.sum() - g.cost.sum()) / g.amount.sum()),
        "discount_rate": monthly(
            not_cancelled, "order_date", lambda g: g.discount.sum() / (g.amount.sum() + g.discount.sum())
        ),
        "purchase_price_savings": monthly(
            f["purchases"],
            "po_date",
            lambda g: ((g.list_price - g.paid_price) * g.quantity).sum() / (g.list_price * g.quantity).sum(),
        ),
        "on_time_delivery": monthly(deliveries, "order_date", lambda g: share(g.delivered_date <= g.promised_date)),
        "asset_utilisation": monthly(f["machine_log"], "log_date", lambda g: g.run_hours.sum() / g.planned_hours.sum()),
        "first_response_time": monthly(
            tickets, "opened_at", lambda g: minutes_between(g.opened_at, g.first_response_at).mean() / 60.0
        ),
        "csat": monthly(tickets, "opened_at", lambda g: g.csat.mean()),
        "defect_ticket_share": monthly(tickets, "opened_at", lambda g: share(g.category == "product defect")),
        "defect_return_rate": monthly(not_cancelled, "order_date", lambda g: share(g.return_reason == "defect")),
    }


def test_every_sample_kpi_matches_pandas(workspace, engine, frames):
    reference = pandas_reference(frames)
    computable = [k.id for k in workspace.kpis if k.source and k.expression]
    assert sorted(reference) == sorted(computable), "every computable sample KPI has a pandas reference"
    for kpi_id, expected in reference.items():
        series = engine.compute(workspace, kpi_id)
        got = {p.period.isoformat(): p.value for p in series.points}
        assert sorted(got) == sorted(expected), kpi_id
        for month, value in expected.items():
            if value is None or (isinstance(value, float) and math.isnan(value)):
                assert got[month] is None, (kpi_id, month)
            else:
                assert got[month] == pytest.approx(float(value), rel=1e-9, abs=1e-9), (kpi_id, month)


def test_derived_kpi_matches_the_product_of_its_drivers(workspace, engine, frames):
    reference = pandas_reference(frames)
    series = engine.compute(workspace, "web_revenue")
    assert len(series.points) >= 20
    for point in series.points:
        month = point.period.isoformat()
        expected = reference["sessions"][month] * reference["conversion_rate"][month]
        expected *= reference["average_order_value"][month]
        assert point.value == pytest.approx(expected, rel=1e-9)


def test_row_counts_and_ratio_parts(workspace, engine, frames):
    series = engine.compute(workspace, "conversion_rate")
    sessions = frames["web_sessions"]
    first = series.points[0]
    in_month = sessions[sessions.session_date.dt.to_period("M").dt.start_time.dt.date == first.period]
    assert first.rows == len(in_month)
    assert first.denominator == len(in_month)
    assert first.numerator == (in_month.converted == 1).sum()


def test_breakdown_by_dimension_sums_to_total(workspace, engine):
    total = {p.period: p.value for p in engine.compute(workspace, "revenue").points}
    by_channel = engine.compute(workspace, "revenue", SeriesRequest(by="channel"))
    sums: dict = {}
    for point in by_channel.points:
        sums[point.period] = sums.get(point.period, 0) + point.value
    assert {"web", "retail", "b2b"} <= {p.dimension for p in by_channel.points}
    for period, value in total.items():
        assert sums[period] == pytest.approx(value)


def test_grain_and_date_range(workspace, engine):
    import datetime as dt

    request = SeriesRequest(grain="quarter", start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
    series = engine.compute(workspace, "revenue", request)
    assert [p.period for p in series.points] == [dt.date(2025, m, 1) for m in (1, 4, 7, 10)]


@pytest.mark.parametrize("grain", GRAINS)
@pytest.mark.parametrize("kpi_id", ["revenue", "first_response_time", "web_revenue"])
def test_tsql_export_computes_what_the_engine_computes(workspace, engine, kpi_id, grain):
    """T-SQL has no SQL Server 2022 functions, and read back by sqlglot its periods and values are the engine's."""
    tsql = compile_sql(workspace, kpi_id, SeriesRequest(grain=grain), dialect="tsql")
    assert "DATETRUNC" not in tsql and "LEAST(" not in tsql.upper()
    names, rows = engine.query(sqlglot.transpile(tsql, read="tsql", write="duckdb")[0])
    exported = {row[names.index("period")]: row[names.index("value")] for row in rows}
    computed = {p.period: p.value for p in engine.compute(workspace, kpi_id, SeriesRequest(grain=grain)).points}
    assert len(computed) > 1
    assert {_as_date(period) for period in exported} == set(computed)
    for period, value in exported.items():
        assert value == pytest.approx(computed[_as_date(period)]), period
    if kpi_id == "web_revenue":
        counts = {_as_date(row[names.index("period")]): row[names.index("row_count")] for row in rows}
        series = engine.compute(workspace, kpi_id, SeriesRequest(grain=grain))
        assert counts == {p.period: p.rows for p in series.points}


def _as_date(value):
    import datetime as dt

    return value.date() if isinstance(value, dt.datetime) else value


def test_results_are_cached_per_definition(workspace, engine):
    first = engine.compute(workspace, "sessions")
    assert engine.compute(workspace, "sessions") is first
    changed = workspace.model_copy(deep=True)
    changed.kpis[0].filter = "device = 'mobile'"
    assert engine.compute(changed, "sessions") is not first


def test_coverage_is_read_once_per_source_and_time_column(workspace, engine, monkeypatch):
    import datetime as dt

    from kpi_model.periods import Coverage

    engine.forget()
    queries: list[str] = []
    run = engine._run
    monkeypatch.setattr(engine, "_run", lambda sql: queries.append(sql) or run(sql))
    for kpi_id in ("sessions", "conversion_rate", "page_views", "sessions"):
        series = engine.compute(workspace, kpi_id)
        assert series.coverage == Coverage(dt.date(2024, 11, 1), dt.date(2026, 10, 31)), kpi_id
    assert sum("isodow" in q for q in queries) == 1, "the three KPIs share web_sessions.session_date"
    # web_revenue = sessions * conversion_rate * average_order_value; three orders typed in 2027 are not "data as of".
    assert engine.compute(workspace, "web_revenue").coverage == Coverage(dt.date(2024, 11, 1), dt.date(2026, 10, 31))
    assert sum("isodow" in q for q in queries) == 2, "orders.order_date once more"
    assert engine.compute(workspace, "revenue").coverage.as_of == dt.date(2026, 10, 31)
    purchases = engine.compute(workspace, "purchase_price_savings")
    assert purchases.coverage is not None and purchases.coverage.working_days, "no purchase order on a weekend"
    assert purchases.is_complete(purchases.points[-1], dt.date(2026, 12, 5)), "POs to Friday 30 October cover October"
    engine.forget()
    assert engine._coverage == {}


def test_uncomputable_kpis_say_why(workspace, engine):
    results = engine.compute_many(workspace)
    assert isinstance(results["cart_abandonment_rate"], FormulaError)
    assert "no data source" in str(results["cart_abandonment_rate"])
    assert all(not isinstance(r, Exception) for k, r in results.items() if k != "cart_abandonment_rate")


def test_type_errors_from_duckdb_become_formula_errors(workspace, engine):
    broken = workspace.model_copy(deep=True)
    broken.kpi("revenue").expression = "sum(status)"
    with pytest.raises(FormulaError, match="did not compute"):
        engine.compute(broken, "revenue")


@pytest.fixture(scope="module")
def sandbox():
    connection = duckdb.connect()
    connection.execute("CREATE TABLE orders AS SELECT range AS amount, 'x' || range AS order_id FROM range(3000)")
    with Engine(connection, timeout_s=1.5, memory_limit="256MB") as locked:
        yield locked


@pytest.mark.parametrize(("label", "formula"), HOSTILE_FORMULAS, ids=[label for label, _ in HOSTILE_FORMULAS])
def test_locked_session_holds_even_when_validation_is_bypassed(sandbox, label, formula):
    for sql in (formula, f"SELECT {formula} FROM orders"):
        try:
            _, rows = sandbox.query(sql)
        except (duckdb.Error, QueryTimeout):
            continue
        assert "root:" not in repr(rows), f"{label}: read a system file"
    for canary in CANARIES:
        assert not canary.exists(), f"{label}: wrote {canary}"
    _, settings = sandbox.query(
        "SELECT current_setting('enable_external_access'), current_setting('lock_configuration')"
    )
    assert settings == [(False, True)], f"{label}: changed the lock"
    _, tables = sandbox.query("SELECT count(*) FROM orders")
    assert tables == [(3000,)], f"{label}: changed the data"


def test_long_queries_are_interrupted(sandbox):
    with pytest.raises(QueryTimeout, match=r"longer than 1\.5 s"):
        sandbox.query("SELECT count(*) FROM orders a, orders b, orders c, orders d")


def test_lock_cannot_be_undone():
    connection = duckdb.connect()
    lock(connection)
    with pytest.raises(duckdb.Error):
        connection.execute("SET enable_external_access = true")
    with pytest.raises(duckdb.Error):
        connection.execute("SELECT * FROM read_csv('/etc/passwd')")

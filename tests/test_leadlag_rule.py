"""KPI080 unvalidated-leading: the sample's real MQL → deals-won lag, and constructed pairs."""

from __future__ import annotations

import datetime as dt
import random

import duckdb
import pytest

from kpi_model.checks import audit
from kpi_model.checks.base import AuditContext, Severity
from kpi_model.checks.leadlag import RULES, UNVALIDATED_LEADING
from kpi_model.engine import Engine, Point, Series
from kpi_model.formula import FormulaError, SeriesRequest
from kpi_model.models import Kpi, Source, Workspace
from kpi_model.whatif import lead_lag, shift_period
from kpi_model.workspace_file import load

from .conftest import SAMPLE_WORKSPACE

TODAY = dt.date(2026, 11, 23)  # the sample's data end on 2026-10-31


@pytest.fixture(scope="module")
def workspace():
    return load(SAMPLE_WORKSPACE)


@pytest.fixture(scope="module")
def engine(workspace):
    connection = duckdb.connect()
    for source in workspace.sources:
        if source.path:
            connection.execute(
                f"CREATE TABLE {source.name} AS SELECT * FROM read_csv('{SAMPLE_WORKSPACE.parent / source.path}')"
            )
    with Engine(connection, timeout_s=20) as locked:
        yield locked


def test_registry_shape():
    assert RULES == [UNVALIDATED_LEADING]
    assert (UNVALIDATED_LEADING.id, UNVALIDATED_LEADING.slug) == ("KPI080", "unvalidated-leading")
    assert UNVALIDATED_LEADING.needs_data


def test_sample_mqls_lead_deals_won_by_two_months(workspace, engine):
    mqls, deals = engine.compute(workspace, "mqls"), engine.compute(workspace, "deals_won")
    result = lead_lag(mqls.points, deals.points, leading_name="MQLs", lagging_name="deals won")
    assert (result.verdict, result.best_lag, result.tested_on) == ("leads", 2, "changes")
    assert result.correlation is not None and result.correlation > 0.8  # r ≈ 0.86 on changes
    assert result.message.startswith(
        "Changes in MQLs show up in deals won 2 months later (r = 0.86 on period-to-period"
    )
    assert "p < 0.001 allowing for the 7 lags tried" in result.message
    assert result.by_lag[0].correlation is not None and abs(result.by_lag[0].correlation) < 0.3  # r ≈ −0.07
    levels = lead_lag(mqls.points, deals.points, levels=True)
    assert (levels.verdict, levels.best_lag) == ("leads", 2)  # the README says r ≈ 0.90 on levels


def test_sample_raises_only_not_yet_validated_infos(workspace, engine):
    # mqls → deals_won leads; the web drivers are in web_revenue's formula (skipped); page_views,
    # discount_rate and first_response_time change with their partners in the same month. Two pairs
    # cannot be told yet, and say so as info: nps is compared with web_revenue by quarter (8 quarters:
    # only a near-perfect relation could count), and defect tickets → defect returns is mostly one
    # step (the supplier change), too little for a test on changes over 24 months.
    report = audit(workspace, engine=engine, registry=RULES, today=TODAY)
    assert {(f.object.id, f.severity) for f in report.findings} == {
        ("nps", Severity.INFO),
        ("defect_ticket_share", Severity.INFO),
    }
    by_id = {f.object.id: f.message for f in report.findings}
    assert "Too little data to tell" in by_id["nps"]
    assert "not validated against 'defect_return_rate' yet" in by_id["defect_ticket_share"]
    assert "would have counted" in by_id["defect_ticket_share"]


def _series(kpi_id: str, values: list[float], grain: str = "month", start=dt.date(2010, 1, 1)) -> Series:
    points = [Point(shift_period(start, i, grain), v, 10) for i, v in enumerate(values)]
    return Series(kpi_id, SeriesRequest(grain=grain), points)  # type: ignore[arg-type]


def _pair_workspace(*, lagging_expression: str = "sum(y)") -> Workspace:
    return Workspace(
        name="pair",
        sources=[Source(name="t")],
        kpis=[
            Kpi(id="ads", name="Ad clicks", kind="leading", source="t", expression="sum(x)", time_column="d",
                pairs_with="sales"),
            Kpi(id="sales", name="Sales", kind="lagging", source="t", expression=lagging_expression,
                time_column="d", pairs_with="ads"),
        ],
    )  # fmt: skip


def _check(series: dict, workspace: Workspace | None = None) -> list:
    ctx = AuditContext(workspace or _pair_workspace(), TODAY, columns={"t": ["x", "y", "d"]}, series=series)
    return list(UNVALIDATED_LEADING.check(ctx))


def _noise(seed: int, n: int = 120) -> list[float]:
    rng = random.Random(seed)
    return [100 + rng.gauss(0, 10) for _ in range(n)]


def test_unrelated_pair_warns():
    (finding,) = _check({"ads": _series("ads", _noise(1)), "sales": _series("sales", _noise(2))})
    assert finding.severity == Severity.WARNING
    assert (finding.object.kind, finding.object.id) == ("kpi", "ads")
    assert "'ads' (Ad clicks)" in finding.message and "'sales' (Sales)" in finding.message
    assert "No evidence of a lead" in finding.message and "r = " in finding.message
    assert "effective n ≈ " in finding.message and "allowing for the 7 lags tried" in finding.message


def test_unrelated_short_pair_is_info_not_yet_validated():
    # 24 months: only |r| ≥ ~0.6 could count, so "no evidence" is no verdict on the pairing yet.
    (finding,) = _check({"ads": _series("ads", _noise(1, 24)), "sales": _series("sales", _noise(2, 24))})
    assert finding.severity == Severity.INFO
    assert "not validated against 'sales' yet" in finding.message and "would have counted" in finding.message


def test_leading_pair_passes():
    x = _noise(3)
    # sales[t + 2] = 3·ads[t] + noise
    rng = random.Random(4)
    sales = _series("sales", [3 * v + rng.gauss(0, 5) for v in x], start=dt.date(2010, 3, 1))
    assert _check({"ads": _series("ads", x), "sales": sales}) == []


def test_reverse_pair_warns():
    x = _noise(3)
    rng = random.Random(4)
    # ads[t + 2] = 3·sales[t]: the "lagging" KPI moves first.
    ads = _series("ads", [3 * v + rng.gauss(0, 5) for v in x], start=dt.date(2010, 3, 1))
    (finding,) = _check({"ads": ads, "sales": _series("sales", x)})
    assert finding.severity == Severity.WARNING
    assert "follows its lagging partner 'sales' instead of leading it" in finding.message
    assert "The other way round" in finding.message and "swap their kinds" in (finding.fix or "")


def test_too_little_data_and_constant_are_info():
    (short,) = _check({"ads": _series("ads", [1, 2]), "sales": _series("sales", [3, 4])})
    assert short.severity == Severity.INFO and "only 1 paired change" in short.message
    (flat,) = _check({"ads": _series("ads", [5.0] * 12), "sales": _series("sales", _noise(5, 12))})
    assert flat.severity == Severity.INFO and "does not change" in flat.message


def test_empty_months_of_a_count_are_zeros():
    rng = random.Random(6)
    x = [float(rng.randint(1, 9)) if i % 2 else 0.0 for i in range(48)]  # every other month without rows
    ads = _series("ads", x)
    ads = Series("ads", ads.request, [p for p in ads.points if p.value])
    sales = _series("sales", [2 * v + rng.gauss(0, 0.5) for v in x], start=dt.date(2010, 2, 1))
    # As sums of an unknown unit the gaps stay gaps: no two months in a row, nothing to test.
    (finding,) = _check({"ads": ads, "sales": sales})
    assert finding.severity == Severity.INFO and "Too little data" in finding.message
    # As counts, a month without rows is a zero, and the lead shows.
    counted = _pair_workspace()
    counted = counted.model_copy(
        update={"kpis": [k.model_copy(update={"unit_of_measure": "count"}) for k in counted.kpis]}
    )
    assert _check({"ads": ads, "sales": sales}, counted) == []


def test_incomplete_and_future_periods_do_not_count():
    x = _noise(3, 12)
    # Same month, same values: coincident (nothing to say) — unless a half-month spike counted.
    ads = _series("ads", [*x, 1e6], start=dt.date(2025, 11, 1))  # the last point is 2026-11: incomplete
    sales = _series("sales", [*x, -1e6], start=dt.date(2025, 11, 1))
    assert _check({"ads": ads, "sales": sales}) == []


def test_skipped_pairs():
    unrelated = {"ads": _series("ads", _noise(1)), "sales": _series("sales", _noise(2))}
    # A failed computation is the data rules' business.
    assert _check({"ads": unrelated["ads"], "sales": FormulaError("no", "fix")}) == []
    assert _check({"ads": unrelated["ads"]}) == []
    # A driver of its partner's formula is related by definition.
    derived = Workspace(
        name="tree",
        sources=[Source(name="t")],
        kpis=[
            Kpi(id="ads", name="Ad clicks", kind="leading", source="t", expression="sum(x)", time_column="d",
                pairs_with="sales"),
            Kpi(id="price", name="Price", source="t", expression="avg(p)", time_column="d"),
            Kpi(id="sales", name="Sales", kind="lagging", expression="ads * price"),
        ],
    )  # fmt: skip
    assert _check(unrelated, derived) == []


def test_different_cadences_without_engine_is_info():
    series = {"ads": _series("ads", _noise(1)), "sales": _series("sales", _noise(2, 10), grain="quarter")}
    (finding,) = _check(series)
    assert finding.severity == Severity.INFO
    assert "by month" in finding.message and "by quarter" in finding.message

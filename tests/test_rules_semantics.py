"""Semantic rules: vanity metrics, finance-only goals, cross-unit conflicts, duplicate KPIs."""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pytest

from kpi_model.checks import Severity, audit
from kpi_model.checks.names import load_concepts as load_concepts_vocabulary
from kpi_model.checks.semantics import (
    CROSS_UNIT,
    DUPLICATE,
    FINANCIAL_ONLY,
    VANITY,
    ConflictCatalogueError,
    load_conflicts,
    parse_conflicts,
)
from kpi_model.engine import Engine
from kpi_model.library import get_template, template_ids
from kpi_model.models import Category, Goal, Kpi, Target, Unit, Workspace
from kpi_model.workspace_file import load

from .conftest import SAMPLE_WORKSPACE

TODAY = dt.date(2026, 11, 23)
TARGET = Target(value=1, due=dt.date(2027, 12, 31))


def kpi(kpi_id: str, name: str, goal: str = "g1", **fields) -> Kpi:
    """A KPI that passes everything but what a test sets: it has an action and a target."""
    fields.setdefault("action", "The owner reviews it monthly")
    fields.setdefault("target", TARGET)
    return Kpi(id=kpi_id, name=name, goal=goal, **fields)


def workspace(*kpis: Kpi) -> Workspace:
    return Workspace(
        name="test",
        units=[Unit(id="ops", name="Operations"), Unit(id="service", name="Customer Service")],
        goals=[Goal(id="g1", unit="ops", statement="Run well"), Goal(id="g2", unit="service", statement="Serve well")],
        kpis=list(kpis),
    )


def findings(ws: Workspace, rule, **kwargs):
    return [f for f in audit(ws, registry=[rule], today=TODAY, **kwargs).findings if f.slug == rule.slug]


def about(found, object_id: str):
    return [f for f in found if f.object.id == object_id]


# ---------------------------------------------------------------------------- vanity-metric


def test_vanity_fires_on_a_raw_count_of_a_vanity_family():
    ws = workspace(
        kpi("views", "Page views", source="web", expression="sum(pages_viewed)", unit_of_measure="count"),
        kpi("follows", "Instagram followers", source="social", expression="max(n)", unit_of_measure="count"),
        kpi("installs", "New installs", source="app", expression="sum(downloads)", unit_of_measure="count"),
    )
    found = findings(ws, VANITY)
    assert {f.object.id for f in found} == {"views", "follows", "installs"}
    views = about(found, "views")[0]
    assert "'Page views' (views)" in views.message and "no denominator" in views.message
    assert "rate" in views.fix and views.severity == Severity.WARNING


def test_vanity_fires_on_cumulative_wording_and_on_a_count_without_time_window():
    ws = workspace(
        kpi("users", "Registered users since launch", source="users", expression="count(*)", time_column="d"),
        kpi("customers", "Customers", source="crm", expression="count(DISTINCT customer_id)", unit_of_measure="count"),
        kpi("sales_ytd", "Revenue year-to-date", source="o", expression="sum(amount)", time_column="d",
            unit_of_measure="currency"),
    )  # fmt: skip
    found = findings(ws, VANITY)
    assert "since launch" in about(found, "users")[0].message
    assert "no time column" in about(found, "customers")[0].message
    assert "time_column" in about(found, "customers")[0].fix
    assert not about(found, "sales_ytd"), "year-to-date is a period figure, not a lifetime total"


def test_a_kpi_that_merely_lacks_a_target_and_an_action_is_not_vanity():
    # missing-target and not-actionable report that root cause; vanity would report it a third time.
    ws = workspace(
        Kpi(id="orders", name="Orders shipped", goal="g1", source="o", expression="count(*)", time_column="d"),
        Kpi(id="draft", name="Something new", goal="g1"),
    )
    assert findings(ws, VANITY) == []


def test_vanity_spares_drivers_paired_counts_rates_and_money():
    ws = workspace(
        kpi("sessions", "Web sessions", source="web", expression="count(*)", time_column="d",
            unit_of_measure="count", template="sessions"),
        kpi("conversion", "Conversion rate", source="web", expression="count(order_id) / count(*)",
            time_column="d", unit_of_measure="percent"),
        kpi("aov", "Average order value", source="o", expression="avg(amount)", time_column="d",
            unit_of_measure="currency"),
        kpi("web_revenue", "Web revenue", expression="sessions * conversion * aov", unit_of_measure="currency",
            kind="lagging"),
        kpi("leads", "Marketing qualified leads", source="l", expression="count(*)", time_column="d",
            unit_of_measure="count", kind="leading", pairs_with="won"),
        kpi("won", "Deals won", source="l", expression="count(*)", time_column="d", unit_of_measure="count",
            kind="lagging", pairs_with="leads"),
        kpi("clicks", "Ad clicks", source="ads", expression="sum(clicks)", time_column="d", unit_of_measure="count",
            kind="leading", pairs_with="won"),
    )  # fmt: skip
    assert findings(ws, VANITY) == []


def test_vanity_pairing_does_not_excuse_a_total_or_a_count_outside_the_outcomes_driver_tree():
    ws = workspace(
        kpi("sessions", "Sessions", source="web", expression="count(*)", time_column="d", unit_of_measure="count"),
        kpi("rate", "Conversion", source="web", expression="count(order_id) / count(*)", time_column="d",
            unit_of_measure="percent"),
        kpi("revenue", "Web revenue", expression="sessions * rate", kind="lagging", unit_of_measure="currency"),
        kpi("views", "Page views", source="web", expression="sum(pages)", time_column="d", unit_of_measure="count",
            kind="leading", pairs_with="revenue"),
        kpi("won", "Deals won", source="l", expression="count(*)", time_column="d", kind="lagging"),
        kpi("total_leads", "Total leads", source="l", expression="count(*)", time_column="d",
            unit_of_measure="count", kind="leading", pairs_with="won"),
    )  # fmt: skip
    found = findings(ws, VANITY)
    assert {f.object.id for f in found} == {"views", "total_leads"}
    assert "computed from rate, sessions, not from it" in about(found, "views")[0].message
    assert "presented as a total" in about(found, "total_leads")[0].message


def test_vanity_survives_partial_drafts():
    ws = Workspace(
        name="drafts",
        kpis=[
            Kpi(id="a", name="Followers"),
            Kpi(id="b", name="B", expression="sum(", pairs_with="missing"),
            Kpi(id="c", name="C", expression="a * 2", baseline={"value": 1}),
        ],
    )
    found = findings(ws, VANITY)
    assert {f.object.id for f in found} <= {"b", "c"}
    assert not any("failed" in f.message for f in audit(ws, registry=[VANITY], today=TODAY).findings)


def _monthly_engine(values: list[int]) -> Engine:
    connection = duckdb.connect()
    rows = ", ".join(f"(DATE '2026-{m:02d}-15', {v})" for m, v in enumerate(values, start=1))
    connection.execute(f"CREATE TABLE stats AS SELECT * FROM (VALUES {rows}) t(day, total_members)")
    return Engine(connection)


@pytest.mark.parametrize(
    ("values", "fires"),
    [([100, 120, 130, 130, 150, 170, 190, 200], True), ([100, 120, 90, 130, 150, 110, 190, 200], False)],
)
def test_vanity_flags_a_series_that_never_falls(values, fires):
    ws = workspace(
        kpi("members", "Community", source="stats", expression="max(total_members)", time_column="day",
            unit_of_measure="count", cadence="monthly", pairs_with="missing"),
    )  # fmt: skip
    assert findings(ws, VANITY) == [], "without data the definition alone is fine"
    with _monthly_engine(values) as engine:
        found = findings(ws, VANITY, engine=engine)
    assert bool(found) is fires
    if fires:
        assert "never fall over 8 periods (2026-01 to 2026-08" in found[0].message


# ---------------------------------------------------------------------------- financial-only


def test_financial_only_fires_and_suggests_non_monetary_driver_templates():
    ws = workspace(
        kpi("revenue", "Net revenue", category="financial", template="revenue"),
        kpi("margin", "Gross margin", category="financial", template="gross_margin"),
        kpi("opex", "Operating costs", goal="g2", category="financial"),
        kpi("fpy", "First pass yield", goal="g2", category="process", template="first_pass_yield"),
    )
    found = findings(ws, FINANCIAL_ONLY)
    assert [(f.object.kind, f.object.id) for f in found] == [("goal", "g1")]
    assert "'Run well' (g1)" in found[0].message and "'Net revenue' (revenue)" in found[0].message
    suggested = [s for s in re.findall(r"\b([a-z_]+) \(", found[0].fix) if s in template_ids()]
    assert 2 <= len(suggested) <= 3
    for template_id in suggested:
        template = get_template(template_id)
        assert template.category != Category.FINANCIAL and template.unit_of_measure.value != "currency"
    assert "sessions" in suggested or "conversion_rate" in suggested, "revenue decomposes into them"


def test_financial_only_suggests_drivers_for_kpis_without_templates_and_skips_used_ones():
    ws = workspace(kpi("cash", "Cash from operations", category="financial"), kpi("csat", "CSAT", goal="g2"))
    found = findings(ws, FINANCIAL_ONLY)
    assert len(found) == 1 and "e.g. " in found[0].fix
    assert "csat (" not in found[0].fix, "a template the workspace already uses is not suggested"


def test_financial_only_does_not_fire_on_mixed_or_empty_goals():
    ws = workspace(
        kpi("revenue", "Revenue", category="financial"),
        kpi("conversion", "Conversion rate", category="marketing"),
        kpi("unknown", "Team mood", goal="g2", category=None),  # no category, and its name names no money
    )
    assert findings(ws, FINANCIAL_ONLY) == []
    assert findings(Workspace(name="x", goals=[Goal(id="g", unit="u", statement="S")]), FINANCIAL_ONLY) == []


# ---------------------------------------------------------------------------- cross-unit-conflict


def test_conflict_catalogue_loads_and_is_complete():
    conflicts = load_conflicts()
    assert len(conflicts) >= 10 and len({c.id for c in conflicts}) == len(conflicts)
    known = set(template_ids())
    for conflict in conflicts:
        assert conflict.why.endswith(".") and conflict.fix.endswith("."), conflict.id
        for family in (conflict.a, conflict.b):
            assert family.templates or family.concepts, conflict.id
            assert family.concepts <= set(load_concepts_vocabulary()), conflict.id
            assert family.templates <= known, (conflict.id, sorted(family.templates - known))
    ids = {c.id for c in conflicts}
    required = {
        "purchase-savings-vs-quality", "purchase-savings-vs-inventory", "utilisation-vs-delivery",
        "handle-time-vs-satisfaction", "cost-per-lead-vs-lead-quality", "inventory-turnover-vs-availability",
        "discounting-vs-margin", "time-to-hire-vs-quality-of-hire", "mql-volume-vs-win-rate",
        "throughput-vs-defects", "opex-cuts-vs-engagement", "utilisation-vs-overtime",
    }  # fmt: skip
    assert required <= ids


@pytest.mark.parametrize(
    "text",
    [
        "not: [a list",
        "{a: 1}",
        "- {id: x, a: {templates: [t]}, b: {concepts: [margin]}, why: W.}",
        "- {id: x, a: {concepts: 3}, b: {concepts: [margin]}, why: W., fix: F.}",
        "- {id: x, a: {}, b: {concepts: [margin]}, why: W., fix: F.}",
        "- {id: x, a: {concepts: [no-such-concept]}, b: {concepts: [margin]}, why: W., fix: F.}",
        "- {id: x, a: {columns: [mql_id]}, b: {concepts: [margin]}, why: W., fix: F.}",
    ],
)
def test_a_broken_catalogue_is_reported_by_entry(text):
    with pytest.raises(ConflictCatalogueError):
        parse_conflicts(text)


def test_cross_unit_conflict_fires_once_on_the_first_kpi_naming_the_other_and_its_unit():
    ws = workspace(
        kpi("savings", "Purchase price savings", template="purchase_price_savings", owner="Buyer"),
        kpi("defects", "Defect-related return rate", goal="g2", template="return_rate", owner="Returns lead"),
    )
    found = findings(ws, CROSS_UNIT)
    assert len(found) == 1 and found[0].object.id == "savings"
    message = found[0].message
    assert "'Defect-related return rate' (defects)" in message and "'Customer Service' (service)" in message
    assert "cheaper parts" in message and "Buyer" in found[0].fix and "Returns lead" in found[0].fix


def test_cross_unit_conflict_recognises_names_and_descriptions_and_reports_a_pair_once():
    ws = workspace(
        kpi(
            "calls",
            "Service KPI 7",
            goal="g2",
            source="t",
            expression="avg(handle_minutes)",
            description="Average handle time of a call, in minutes",
        ),
        kpi("happy", "Customer satisfaction", expression="avg(score)"),
        kpi("buy", "Procurement savings"),
        kpi("stock", "Stock level and defect rate", goal="g2"),  # matches two conflicts with buy
    )
    found = findings(ws, CROSS_UNIT)
    pairs = sorted((f.object.id, re.findall(r"\((\w+)\) of unit", f.message)[-1]) for f in found)
    assert pairs == [("buy", "stock"), ("calls", "happy")]


def test_cross_unit_conflict_needs_two_different_units():
    ws = workspace(
        kpi("savings", "Purchase price savings", template="purchase_price_savings"),
        kpi("defects", "Defect rate", template="defect_rate"),  # same unit: one owner weighs both
        kpi("orphan", "Scrap cost"),
    )
    ws.kpis[2].goal = None
    assert findings(ws, CROSS_UNIT) == []


# ---------------------------------------------------------------------------- duplicate-kpi


def test_duplicate_formula_ignores_comments_whitespace_case_and_nullif_guards():
    ws = workspace(
        kpi("revenue", "Net revenue", source="orders", expression="sum(amount)", filter="status = 'done'",
            time_column="day"),
        kpi("sales", "Sales booked", source="orders", expression="SUM( Amount ) -- net\n",
            filter="STATUS='done'", time_column="DAY"),
        kpi("rate", "Return share", source="orders", expression="count(ret) / count(*)", time_column="day"),
        kpi("share", "Returned orders", source="orders", expression="count(ret) / nullif(count(*), 0)",
            time_column="day"),
    )  # fmt: skip
    found = findings(ws, DUPLICATE)
    assert sorted(f.object.id for f in found) == ["sales", "share"]
    sales = about(found, "sales")[0]
    assert "'Net revenue' (revenue)" in sales.message and "same formula" in sales.message
    assert "delete sales or revenue" in sales.fix


def test_duplicate_by_name_and_once_per_pair():
    ws = workspace(
        kpi("nps", "Net promoter score", source="s", expression="avg(x)", time_column="d"),
        kpi("nps2", "Net Promoter Score!", goal="g2", source="s", expression="avg(x)", time_column="d"),
        kpi("csat", "Customer satisfaction score"),
        kpi("csat2", "Customer satisfaction scores"),
    )
    found = findings(ws, DUPLICATE)
    assert sorted(f.object.id for f in found) == ["csat2", "nps2"]
    nps2 = about(found, "nps2")[0]
    assert "same formula" in nps2.message and "nearly the same name" in nps2.message


def test_no_duplicate_for_different_filters_sources_or_names():
    ws = workspace(
        kpi("web", "Web orders", source="orders", expression="count(*)", filter="channel = 'web'", time_column="d"),
        kpi("web2", "Web orders (legacy spelling)", source="orders", expression="count(*)",
            filter="channel = 'Web'", time_column="d"),
        kpi("tickets", "Tickets", source="tickets", expression="count(*)", time_column="d"),
        kpi("orders", "Orders", source="orders", expression="count(*)", time_column="d"),
        kpi("margin", "Gross margin"),
        kpi("draft", "Draft", expression="sum("),
        kpi("draft2", "Another draft", expression="avg("),
    )  # fmt: skip
    assert findings(ws, DUPLICATE) == []


# ---------------------------------------------------------------------------- the sample workspace


@pytest.fixture(scope="module")
def sample_findings():
    return audit(load(SAMPLE_WORKSPACE), today=TODAY).findings


def test_sample_vanity_fires_on_page_views_only_among_the_documented_kpis(sample_findings):
    vanity = {f.object.id for f in sample_findings if f.slug == "vanity-metric"}
    assert "page_views" in vanity
    assert not vanity & {"sessions", "mqls", "nps", "conversion_rate", "revenue"}


def test_sample_financial_only_fires_on_profitable_growth(sample_findings):
    found = [f for f in sample_findings if f.slug == "financial-only"]
    assert [(f.object.kind, f.object.id) for f in found] == [("goal", "profitable-growth")]


def test_sample_cross_unit_conflict_between_savings_and_defect_returns(sample_findings):
    found = [f for f in sample_findings if f.slug == "cross-unit-conflict"]
    savings = [f for f in found if f.object.id == "purchase_price_savings"]
    assert len(savings) == 1
    assert "(defect_return_rate)" in savings[0].message and "(service)" in savings[0].message
    assert "(operations)" in savings[0].message


def test_sample_has_no_duplicates(sample_findings):
    assert not [f for f in sample_findings if f.slug == "duplicate-kpi"]


def test_a_unit_in_brackets_does_not_make_a_name_different():
    ws = workspace(
        kpi("time_to_hire", "Time to hire"),
        kpi("days_to_hire", "Time to hire (days)"),
        kpi("margin_eur", "Gross margin [EUR]"),
        kpi("margin", "Gross margin (by region)"),
    )
    assert sorted(f.object.id for f in findings(ws, DUPLICATE)) == ["days_to_hire"]


def test_a_name_alone_can_betray_a_vanity_count():
    ws = workspace(
        kpi("fb", "Number of Facebook likes"),
        kpi("visits", "Website visits"),
        kpi("engagement", "Facebook engagement rate"),
    )
    assert sorted(f.object.id for f in findings(ws, VANITY)) == ["fb", "visits"]

"""Semantic rules: vanity metrics, finance-only goals, cross-unit conflicts, duplicate KPIs."""

from __future__ import annotations

import re

import duckdb
import pytest

from kpi_model.checks import Severity, audit
from kpi_model.checks.balance import FINANCIAL_ONLY
from kpi_model.checks.conflicts import CROSS_UNIT, ConflictCatalogueError, load_conflicts, parse_conflicts
from kpi_model.checks.duplicates import DUPLICATE
from kpi_model.checks.names import load_concepts as load_concepts_vocabulary
from kpi_model.checks.vanity import VANITY
from kpi_model.engine import Engine
from kpi_model.library import get_template, template_ids
from kpi_model.models import Category, Goal, Kpi, Workspace
from kpi_model.workspace_file import load

from .conftest import SAMPLE_WORKSPACE
from .rule_builders import TODAY, about, audited, bare_kpi, register

# ---------------------------------------------------------------------------- vanity-metric


def test_vanity_fires_on_a_raw_count_of_a_vanity_family():
    ws = register(
        bare_kpi("views", "Page views", source="web", expression="sum(pages_viewed)", unit_of_measure="count"),
        bare_kpi("follows", "Instagram followers", source="social", expression="max(n)", unit_of_measure="count"),
        bare_kpi("installs", "New installs", source="app", expression="sum(downloads)", unit_of_measure="count"),
    )
    found = audited(VANITY, ws)
    assert {f.object.id for f in found} == {"views", "follows", "installs"}
    views = about(found, "views")[0]
    assert "'Page views' (views)" in views.message and "no denominator" in views.message
    assert "rate" in views.fix and views.severity == Severity.WARNING


def test_vanity_fires_on_cumulative_wording_and_on_a_count_without_time_window():
    ws = register(
        bare_kpi("users", "Registered users since launch", source="users", expression="count(*)", time_column="d"),
        bare_kpi(
            "customers", "Customers", source="crm", expression="count(DISTINCT customer_id)", unit_of_measure="count"
        ),
        bare_kpi(
            "sales_ytd",
            "Revenue year-to-date",
            source="o",
            expression="sum(amount)",
            time_column="d",
            unit_of_measure="currency",
        ),
    )
    found = audited(VANITY, ws)
    assert "since launch" in about(found, "users")[0].message
    assert "no time column" in about(found, "customers")[0].message
    assert "time_column" in about(found, "customers")[0].fix
    assert not about(found, "sales_ytd"), "year-to-date is a period figure, not a lifetime total"


def test_a_kpi_that_merely_lacks_a_target_and_an_action_is_not_vanity():
    # missing-target and not-actionable report that root cause; vanity would report it a third time.
    ws = register(
        Kpi(id="orders", name="Orders shipped", goal="deliver", source="o", expression="count(*)", time_column="d"),
        Kpi(id="draft", name="Something new", goal="deliver"),
    )
    assert audited(VANITY, ws) == []


def test_vanity_spares_drivers_paired_counts_rates_and_money():
    ws = register(
        bare_kpi(
            "sessions",
            "Web sessions",
            source="web",
            expression="count(*)",
            time_column="d",
            unit_of_measure="count",
            template="sessions",
        ),
        bare_kpi(
            "conversion",
            "Conversion rate",
            source="web",
            expression="count(order_id) / count(*)",
            time_column="d",
            unit_of_measure="percent",
        ),
        bare_kpi(
            "aov",
            "Average order value",
            source="o",
            expression="avg(amount)",
            time_column="d",
            unit_of_measure="currency",
        ),
        bare_kpi(
            "web_revenue",
            "Web revenue",
            expression="sessions * conversion * aov",
            unit_of_measure="currency",
            kind="lagging",
        ),
        bare_kpi(
            "leads",
            "Marketing qualified leads",
            source="l",
            expression="count(*)",
            time_column="d",
            unit_of_measure="count",
            kind="leading",
            pairs_with="won",
        ),
        bare_kpi(
            "won",
            "Deals won",
            source="l",
            expression="count(*)",
            time_column="d",
            unit_of_measure="count",
            kind="lagging",
            pairs_with="leads",
        ),
        bare_kpi(
            "clicks",
            "Ad clicks",
            source="ads",
            expression="sum(clicks)",
            time_column="d",
            unit_of_measure="count",
            kind="leading",
            pairs_with="won",
        ),
    )
    assert audited(VANITY, ws) == []


def test_vanity_pairing_does_not_excuse_a_total_or_a_count_outside_the_outcomes_driver_tree():
    ws = register(
        bare_kpi("sessions", "Sessions", source="web", expression="count(*)", time_column="d", unit_of_measure="count"),
        bare_kpi(
            "rate",
            "Conversion",
            source="web",
            expression="count(order_id) / count(*)",
            time_column="d",
            unit_of_measure="percent",
        ),
        bare_kpi("revenue", "Web revenue", expression="sessions * rate", kind="lagging", unit_of_measure="currency"),
        bare_kpi(
            "views",
            "Page views",
            source="web",
            expression="sum(pages)",
            time_column="d",
            unit_of_measure="count",
            kind="leading",
            pairs_with="revenue",
        ),
        bare_kpi("won", "Deals won", source="l", expression="count(*)", time_column="d", kind="lagging"),
        bare_kpi(
            "total_leads",
            "Total leads",
            source="l",
            expression="count(*)",
            time_column="d",
            unit_of_measure="count",
            kind="leading",
            pairs_with="won",
        ),
    )
    found = audited(VANITY, ws)
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
    found = audited(VANITY, ws)
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
    ws = register(
        bare_kpi(
            "members",
            "Community",
            source="stats",
            expression="max(total_members)",
            time_column="day",
            unit_of_measure="count",
            cadence="monthly",
            pairs_with="missing",
        ),
    )
    assert audited(VANITY, ws) == [], "without data the definition alone is fine"
    with _monthly_engine(values) as engine:
        found = audited(VANITY, ws, engine=engine)
    assert bool(found) is fires
    if fires:
        assert "never fall over 8 periods (2026-01 to 2026-08" in found[0].message


# ---------------------------------------------------------------------------- financial-only


def test_financial_only_fires_and_suggests_non_monetary_driver_templates():
    ws = register(
        bare_kpi("revenue", "Net revenue", category="financial", template="revenue"),
        bare_kpi("margin", "Gross margin", category="financial", template="gross_margin"),
        bare_kpi("opex", "Operating costs", goal="grow", category="financial"),
        bare_kpi("fpy", "First pass yield", goal="grow", category="process", template="first_pass_yield"),
    )
    found = audited(FINANCIAL_ONLY, ws)
    assert [(f.object.kind, f.object.id) for f in found] == [("goal", "deliver")]
    assert "'Deliver reliably' (deliver)" in found[0].message and "'Net revenue' (revenue)" in found[0].message
    suggested = [s for s in re.findall(r"\b([a-z_]+) \(", found[0].fix) if s in template_ids()]
    assert 2 <= len(suggested) <= 3
    for template_id in suggested:
        template = get_template(template_id)
        assert template.category != Category.FINANCIAL and template.unit_of_measure.value != "currency"
    assert "sessions" in suggested or "conversion_rate" in suggested, "revenue decomposes into them"


def test_financial_only_suggests_drivers_for_kpis_without_templates_and_skips_used_ones():
    ws = register(bare_kpi("cash", "Cash from operations", category="financial"), bare_kpi("csat", "CSAT", goal="grow"))
    found = audited(FINANCIAL_ONLY, ws)
    assert len(found) == 1 and "e.g. " in found[0].fix
    assert "csat (" not in found[0].fix, "a template the workspace already uses is not suggested"


def test_financial_only_does_not_fire_on_mixed_or_empty_goals():
    ws = register(
        bare_kpi("revenue", "Revenue", category="financial"),
        bare_kpi("conversion", "Conversion rate", category="marketing"),
        bare_kpi("unknown", "Team mood", goal="grow", category=None),  # no category, and its name names no money
    )
    assert audited(FINANCIAL_ONLY, ws) == []
    assert audited(FINANCIAL_ONLY, Workspace(name="x", goals=[Goal(id="g", unit="u", statement="S")])) == []


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
        "purchase-savings-vs-quality",
        "purchase-savings-vs-inventory",
        "utilisation-vs-delivery",
        "handle-time-vs-satisfaction",
        "cost-per-lead-vs-lead-quality",
        "inventory-turnover-vs-availability",
        "discounting-vs-margin",
        "time-to-hire-vs-quality-of-hire",
        "mql-volume-vs-win-rate",
        "throughput-vs-defects",
        "opex-cuts-vs-engagement",
        "utilisation-vs-overtime",
    }
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
    ws = register(
        bare_kpi("savings", "Purchase price savings", template="purchase_price_savings", owner="Buyer"),
        bare_kpi("defects", "Defect-related return rate", goal="grow", template="return_rate", owner="Returns lead"),
    )
    found = audited(CROSS_UNIT, ws)
    assert len(found) == 1 and found[0].object.id == "savings"
    message = found[0].message
    assert "'Defect-related return rate' (defects)" in message and "'Sales' (sales)" in message
    assert "cheaper parts" in message and "Buyer" in found[0].fix and "Returns lead" in found[0].fix


def test_cross_unit_conflict_recognises_names_and_descriptions_and_reports_a_pair_once():
    ws = register(
        bare_kpi(
            "calls",
            "Service KPI 7",
            goal="grow",
            source="t",
            expression="avg(handle_minutes)",
            description="Average handle time of a call, in minutes",
        ),
        bare_kpi("happy", "Customer satisfaction", expression="avg(score)"),
        bare_kpi("buy", "Procurement savings"),
        bare_kpi("stock", "Stock level and defect rate", goal="grow"),  # matches two conflicts with buy
    )
    found = audited(CROSS_UNIT, ws)
    pairs = sorted((f.object.id, re.findall(r"\((\w+)\) of unit", f.message)[-1]) for f in found)
    assert pairs == [("buy", "stock"), ("calls", "happy")]


def test_cross_unit_conflict_needs_two_different_units():
    ws = register(
        bare_kpi("savings", "Purchase price savings", template="purchase_price_savings"),
        bare_kpi("defects", "Defect rate", template="defect_rate"),  # same unit: one owner weighs both
        bare_kpi("orphan", "Scrap cost"),
    )
    ws.kpis[2].goal = None
    assert audited(CROSS_UNIT, ws) == []


# ---------------------------------------------------------------------------- duplicate-kpi


def test_duplicate_formula_ignores_comments_whitespace_case_and_nullif_guards():
    ws = register(
        bare_kpi(
            "revenue",
            "Net revenue",
            source="orders",
            expression="sum(amount)",
            filter="status = 'done'",
            time_column="day",
        ),
        bare_kpi(
            "sales",
            "Sales booked",
            source="orders",
            expression="SUM( Amount ) -- net\n",
            filter="STATUS='done'",
            time_column="DAY",
        ),
        bare_kpi("rate", "Return share", source="orders", expression="count(ret) / count(*)", time_column="day"),
        bare_kpi(
            "share",
            "Returned orders",
            source="orders",
            expression="count(ret) / nullif(count(*), 0)",
            time_column="day",
        ),
    )
    found = audited(DUPLICATE, ws)
    assert sorted(f.object.id for f in found) == ["sales", "share"]
    sales = about(found, "sales")[0]
    assert "'Net revenue' (revenue)" in sales.message and "same formula" in sales.message
    assert "delete sales or revenue" in sales.fix


def test_duplicate_by_name_and_once_per_pair():
    ws = register(
        bare_kpi("nps", "Net promoter score", source="s", expression="avg(x)", time_column="d"),
        bare_kpi("nps2", "Net Promoter Score!", goal="grow", source="s", expression="avg(x)", time_column="d"),
        bare_kpi("csat", "Customer satisfaction score"),
        bare_kpi("csat2", "Customer satisfaction scores"),
    )
    found = audited(DUPLICATE, ws)
    assert sorted(f.object.id for f in found) == ["csat2", "nps2"]
    nps2 = about(found, "nps2")[0]
    assert "same formula" in nps2.message and "nearly the same name" in nps2.message


def test_no_duplicate_for_different_filters_sources_or_names():
    ws = register(
        bare_kpi(
            "web", "Web orders", source="orders", expression="count(*)", filter="channel = 'web'", time_column="d"
        ),
        bare_kpi(
            "web2",
            "Web orders (legacy spelling)",
            source="orders",
            expression="count(*)",
            filter="channel = 'Web'",
            time_column="d",
        ),
        bare_kpi("tickets", "Tickets", source="tickets", expression="count(*)", time_column="d"),
        bare_kpi("orders", "Orders", source="orders", expression="count(*)", time_column="d"),
        bare_kpi("margin", "Gross margin"),
        bare_kpi("draft", "Draft", expression="sum("),
        bare_kpi("draft2", "Another draft", expression="avg("),
    )
    assert audited(DUPLICATE, ws) == []


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
    ws = register(
        bare_kpi("time_to_hire", "Time to hire"),
        bare_kpi("days_to_hire", "Time to hire (days)"),
        bare_kpi("margin_eur", "Gross margin [EUR]"),
        bare_kpi("margin", "Gross margin (by region)"),
    )
    assert sorted(f.object.id for f in audited(DUPLICATE, ws)) == ["days_to_hire"]


def test_a_name_alone_can_betray_a_vanity_count():
    ws = register(
        bare_kpi("fb", "Number of Facebook likes"),
        bare_kpi("visits", "Website visits"),
        bare_kpi("engagement", "Facebook engagement rate"),
    )
    assert sorted(f.object.id for f in audited(VANITY, ws)) == ["fb", "visits"]

"""Issue 11: the audit of a register imported from a spreadsheet (definitions in words, no SQL).

Each test builds a small register whose KPIs are complete in design (owner, goal, target,
thresholds, cadence, source system, action) but have no formula, then changes one thing.
"""

from __future__ import annotations

import pytest

from kpi_model.checks import Finding, Severity, audit
from kpi_model.checks.base import NOT_YET_COMPUTABLE, apply_patch
from kpi_model.checks.names import concepts_in, name_key, same_measure
from kpi_model.models import Thresholds, Workspace

from .rule_builders import TODAY, audit_kpi, kpi_in_words, register


def slugs(found: list[Finding]) -> list[str]:
    return sorted(f.slug for f in found if f.group is None)


# ---------------------------------------------------------------------------- definitions in words


def test_a_definition_in_words_is_judged_on_its_design_and_noted_once_as_not_yet_computable() -> None:
    ws = register(
        kpi_in_words("otd", "On-time delivery"),
        kpi_in_words("fpy", "First pass yield"),
        kpi_in_words("scrap", "Scrap rate"),
    )
    found = audit_kpi(ws, "otd")
    assert slugs(found) == [], found
    notes = [f for f in found if f.group == NOT_YET_COMPUTABLE]
    assert len(notes) == 1 and notes[0].severity == Severity.INFO
    assert "not yet computable" in notes[0].message and "SQL" not in notes[0].message


def test_a_definition_in_words_is_still_judged_on_owner_and_target() -> None:
    ws = register(kpi_in_words("otd", "On-time delivery", owner=None, target=None, thresholds=None))
    assert {"missing-owner", "missing-target"} <= set(slugs(audit_kpi(ws, "otd")))


def test_a_source_without_formula_or_definition_is_still_an_error() -> None:
    ws = register(kpi_in_words("otd", "On-time delivery", description=None))
    found = audit_kpi(ws, "otd")
    assert [f.severity for f in found if f.slug == "invalid-formula"] == [Severity.ERROR]


# ---------------------------------------------------------------------------- duplicates by meaning


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("On-time delivery", "On time delivery"),
        ("DSO", "Days sales outstanding"),
        ("OTIF", "On time in full"),
        ("NPS", "Net Promoter Score"),
        ("CSAT", "Customer satisfaction"),
        ("MTTR", "Mean time to repair"),
        ("EBIT", "Earnings before interest and taxes"),
        ("Scrap rate (%)", "Scrap rate"),
        ("Scrap %", "Scrap rate"),
        ("Scrap share", "Scrap ratio"),
        ("Return percentage", "Return rate"),
        ("Gross Margin.", "gross margin"),
        ("Ausschussquote", "Ausschuss-Quote (%)"),
    ],
)
def test_the_same_kpi_in_other_words_is_a_duplicate(left: str, right: str) -> None:
    assert same_measure(name_key(left), name_key(right)), (name_key(left), name_key(right))
    ws = register(kpi_in_words("a", left), kpi_in_words("b", right, goal="grow"))
    assert "duplicate-kpi" in slugs(audit_kpi(ws, "b"))


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Gross margin", "Gross margin per customer"),
        ("Revenue", "Revenue growth"),
        ("Scrap rate", "Scrap cost"),
        ("On-time delivery", "Supplier on-time delivery"),
        ("Umsatz", "Umsatzwachstum"),
        ("Inbound on-time delivery", "Outbound on-time delivery"),
    ],
)
def test_a_different_kpi_is_not_a_duplicate(left: str, right: str) -> None:
    assert not same_measure(name_key(left), name_key(right))
    ws = register(kpi_in_words("a", left), kpi_in_words("b", right, goal="grow"))
    assert "duplicate-kpi" not in slugs(audit_kpi(ws, "b"))


# ---------------------------------------------------------------------------- ratings without a scale


def test_a_rating_in_words_needs_a_scale_and_raises_no_missing_target() -> None:
    words = "Rating by customers after delivery\nBaseline as written: good\nTarget as written: very good"
    ws = register(
        kpi_in_words(
            "csat",
            "Customer satisfaction rating",
            description=words,
            baseline=None,
            target=None,
            thresholds=None,
            unit_of_measure=None,
        )
    )
    found = slugs(audit_kpi(ws, "csat"))
    assert "qualitative-without-scale" in found and "missing-target" not in found, found


def test_a_german_rating_by_school_grades_needs_a_scale() -> None:
    ws = register(
        kpi_in_words(
            "kz",
            "Kundenzufriedenheit",
            description="Bewertung der Kunden nach Lieferung (Note)",
            measure="qualitative",
            baseline=None,
            target=None,
            thresholds=None,
        )
    )
    found = slugs(audit_kpi(ws, "kz"))
    assert "qualitative-without-scale" in found and "missing-target" not in found, found


def test_a_score_with_its_scale_or_numbers_is_fine() -> None:
    ws = register(
        kpi_in_words(
            "nps",
            "Net promoter score",
            scale="-100-100",
            baseline={"value": 30},
            target={"value": 40, "due": "2027-12-31"},
            thresholds={"warning": 35, "critical": 25},
            unit_of_measure="score",
        ),
        kpi_in_words("otd", "On-time delivery"),
    )
    assert "qualitative-without-scale" not in slugs(audit_kpi(ws, "nps")) + slugs(audit_kpi(ws, "otd"))


# ---------------------------------------------------------------------------- category inference


def test_a_goal_of_money_kpis_is_financial_only_without_categories() -> None:
    ws = register(
        kpi_in_words("gm", "Gross margin", goal="money"),
        kpi_in_words("rg", "Revenue growth", goal="money"),
        kpi_in_words(
            "dso",
            "DSO",
            goal="money",
            description="Days sales outstanding of receivables",
            direction="down",
            baseline={"value": 50},
            target={"value": 40, "due": "2027-12-31"},
            thresholds={"warning": 45, "critical": 55},
        ),
        kpi_in_words("aov", "Average order value", goal="money"),
    )
    found = [f for f in audit(ws, today=TODAY).findings if f.slug == "financial-only"]
    assert [(f.object.kind, f.object.id) for f in found] == [("goal", "money")]


def test_german_money_kpis_are_financial() -> None:
    ws = register(
        kpi_in_words("u", "Umsatz", goal="money"),
        kpi_in_words("m", "Marge", goal="money"),
        kpi_in_words("f", "Forderungslaufzeit", goal="money"),
        kpi_in_words("k", "Kosten je Auftrag", goal="money"),
    )
    assert [f.object.id for f in audit(ws, today=TODAY).findings if f.slug == "financial-only"] == ["money"]


def test_operational_names_are_not_financial() -> None:
    ws = register(
        kpi_in_words("gm", "Gross margin", goal="money"),
        kpi_in_words("otd", "On-time delivery", goal="money"),
        kpi_in_words("scrap", "Scrap rate", goal="money"),
        kpi_in_words("nps", "NPS", goal="money"),
        kpi_in_words("turnover", "Employee turnover", goal="money"),
    )
    assert not [f for f in audit(ws, today=TODAY).findings if f.slug == "financial-only"]


# ---------------------------------------------------------------------------- thresholds vs target


def test_a_red_line_above_the_target_of_a_higher_is_better_kpi() -> None:
    ws = register(
        kpi_in_words(
            "otd",
            "On-time delivery",
            target={"value": 0.95, "due": "2027-12-31"},
            thresholds={"warning": 0.93, "critical": 0.97},
        )
    )
    assert "threshold-order" in slugs(audit_kpi(ws, "otd"))


def test_thresholds_without_a_direction_are_judged_when_they_fit_no_direction() -> None:
    ws = register(
        kpi_in_words(
            "otd",
            "On-time delivery",
            direction=None,
            baseline=None,
            target={"value": 0.98, "due": "2027-12-31"},
            thresholds={"warning": 0.97, "critical": 0.99},
        )
    )
    assert "threshold-order" in slugs(audit_kpi(ws, "otd"))


@pytest.mark.parametrize(("target", "warning", "critical"), [(0.95, 0.9, 0.85), (0.02, 0.03, 0.05), (0.9, None, 0.95)])
def test_thresholds_without_a_direction_are_not_guessed(target: float, warning: float | None, critical: float) -> None:
    thresholds = {"critical": critical} | ({"warning": warning} if warning is not None else {})
    ws = register(
        kpi_in_words(
            "otd",
            "On-time delivery",
            direction=None,
            baseline=None,
            target={"value": target, "due": "2027-12-31"},
            thresholds=thresholds,
        )
    )
    assert "threshold-order" not in slugs(audit_kpi(ws, "otd"))


def test_the_threshold_fix_respects_the_target() -> None:
    ws = register(
        kpi_in_words(
            "otd",
            "On-time delivery",
            target={"value": 0.98, "due": "2027-12-31"},
            thresholds={"warning": 0.97, "critical": 0.99},
        )
    )
    (finding,) = [f for f in audit_kpi(ws, "otd") if f.slug == "threshold-order"]
    assert finding.patch is not None and "warning 0.99" not in finding.fix
    patched = apply_patch(ws, finding)
    assert slugs(audit_kpi(patched, "otd")) == []


# ---------------------------------------------------------------------------- conflicts by meaning


def test_conflicts_are_recognised_by_meaning_in_english_and_german() -> None:
    ws = register(
        kpi_in_words("rabatt", "Rabattquote", goal="grow", owner="Sales lead"),
        kpi_in_words("marge", "Deckungsbeitrag", goal="money", owner="Controller"),
        kpi_in_words(
            "aht",
            "Average handle time",
            goal="deliver",
            direction="down",
            baseline={"value": 9},
            target={"value": 7, "due": "2027-12-31"},
            thresholds={"warning": 8, "critical": 10},
        ),
        kpi_in_words("fcr", "Erstlösungsquote", goal="grow"),
    )
    found = [f for f in audit(ws, today=TODAY).findings if f.slug == "cross-unit-conflict"]
    pairs = {
        (f.object.id, next(k.id for k in ws.kpis if f"({k.id})" in f.message.split("pulls against")[1])) for f in found
    }
    assert pairs == {("rabatt", "marge"), ("aht", "fcr")}, [f.message for f in found]


def test_a_column_name_alone_is_no_conflict() -> None:
    ws = register(
        kpi_in_words(
            "speed",
            "Lead response time",
            goal="grow",
            source="erp",
            expression="avg(hours)",
            filter="mql_id IS NOT NULL",
            time_column="d",
        ),
        kpi_in_words("win", "Win rate", goal="money"),
    )
    assert not [f for f in audit(ws, today=TODAY).findings if f.slug == "cross-unit-conflict"]


# ---------------------------------------------------------------------------- false alarms


def test_a_legitimate_kpi_without_a_target_is_not_also_vanity() -> None:
    ws = register(kpi_in_words("otd", "On-time delivery", target=None, thresholds=None, action=None))
    assert "vanity-metric" not in slugs(audit_kpi(ws, "otd"))


def test_a_ratio_of_other_kpis_is_not_vanity() -> None:
    ws = register(
        kpi_in_words(
            "orders",
            "Orders",
            unit_of_measure="count",
            baseline={"value": 900},
            target={"value": 1000, "due": "2027-12-31"},
            thresholds={"warning": 950, "critical": 900},
        ),
        kpi_in_words(
            "visits",
            "Website visits",
            unit_of_measure="count",
            baseline={"value": 9000},
            target={"value": 10000, "due": "2027-12-31"},
            thresholds={"warning": 9500, "critical": 9000},
        ),
        kpi_in_words("conv", "Visit to order", source=None, expression="orders / visits", unit_of_measure=None),
    )
    assert "vanity-metric" not in slugs(audit_kpi(ws, "conv"))


def test_an_owner_suggestion_fits_the_kpi() -> None:
    ws = register(kpi_in_words("scrap", "Scrap rate", owner=None))
    (finding,) = [f for f in audit_kpi(ws, "scrap") if f.slug == "missing-owner"]
    assert "Head of Sales" not in finding.fix and "e.g. Head of Quality" in finding.fix
    ws = register(
        kpi_in_words("mood", "Team mood", owner=None, category="people"), kpi_in_words("x", "Measure seven", owner=None)
    )
    (mood,) = [f for f in audit_kpi(ws, "mood") if f.slug == "missing-owner"]
    (unknown,) = [f for f in audit_kpi(ws, "x") if f.slug == "missing-owner"]
    assert "e.g. Head of HR" in mood.fix and "e.g." not in unknown.fix


def test_an_action_suggestion_fits_the_kpi() -> None:
    ws = register(kpi_in_words("scrap", "Scrap rate", action=None))
    (finding,) = [f for f in audit_kpi(ws, "scrap") if f.slug == "not-actionable"]
    assert "product pages" not in finding.fix


def test_a_lagging_only_goal_gets_a_leading_example_that_fits_its_kpis() -> None:
    ws = register(
        kpi_in_words("otd", "On-time delivery"),
        kpi_in_words(
            "scrap",
            "Scrap rate",
            direction="down",
            baseline={"value": 0.05},
            target={"value": 0.03, "due": "2027-12-31"},
            thresholds={"warning": 0.04, "critical": 0.06},
        ),
    )
    (finding,) = [f for f in audit(ws, today=TODAY).findings if f.slug == "unpaired-leading-lagging"]
    assert "orders picked on time ahead of 'On-time delivery'" in finding.fix
    assert "supplier defect rate ahead of returns" not in finding.fix


def test_the_cadence_advice_speaks_of_the_kpi_at_hand() -> None:
    ws = register(kpi_in_words("otd", "On-time delivery", cadence=None))
    (finding,) = [f for f in audit_kpi(ws, "otd") if f.slug == "missing-cadence"]
    assert "outcome like this one" in finding.fix and "leading indicators" not in finding.fix


def test_a_target_direction_fix_does_not_offer_a_direction_its_thresholds_contradict() -> None:
    ws = register(
        kpi_in_words(
            "otd",
            "On-time delivery",
            baseline={"value": 0.9},
            target={"value": 0.85, "due": "2027-12-31"},
            thresholds={"warning": 0.93, "critical": 0.88},
        )
    )
    (finding,) = [f for f in audit_kpi(ws, "otd") if f.slug == "target-direction"]
    assert "set a target above 93% (0.93)" in finding.fix and "direction: down" not in finding.fix
    flipped = register(
        kpi_in_words(
            "otd",
            "On-time delivery",
            baseline={"value": 0.9},
            target={"value": 0.85, "due": "2027-12-31"},
            thresholds={"warning": 0.87, "critical": 0.9},
        )
    )
    (finding,) = [f for f in audit_kpi(flipped, "otd") if f.slug == "target-direction"]
    assert finding.patch == {"direction": "down"}
    assert slugs(audit_kpi(apply_patch(flipped, finding), "otd")) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Forderungslaufzeit", {"receivables"}),
        ("Anforderungen erfüllt", set()),
        ("Energy savings", set()),
        ("System availability", set()),
        ("Employee retention rate", set()),
        ("Sales productivity", set()),
        ("Scrap cost", {"defects", "cost"}),
    ],
)
def test_concepts_are_read_from_whole_words_not_lookalikes(name: str, expected: set[str]) -> None:
    assert concepts_in(name) == expected


# ---------------------------------------------------------------------------- after the register corpus


def _conflicts(ws: Workspace) -> set[tuple[str, str]]:
    found = [f for f in audit(ws, today=TODAY).findings if f.slug == "cross-unit-conflict"]
    return {(f.object.id, k.id) for f in found for k in ws.kpis if f"({k.id})" in f.message.split("pulls against")[1]}


def test_a_conflict_is_reported_on_the_kpi_whose_pursuit_does_the_harm() -> None:
    # Finance's margins come first in the sheet; the finding is still about sales' discount-driven volume.
    ws = register(
        kpi_in_words("ebit", "EBIT margin", goal="money", owner="CFO"),
        kpi_in_words("gm", "Gross margin", goal="money", owner="Controller"),
        kpi_in_words("promo", "Share of volume sold on promotion", goal="grow", owner="Sales lead", direction="down"),
    )
    assert _conflicts(ws) == {("promo", "ebit"), ("promo", "gm")}
    assert {f.object.id for f in audit(ws, today=TODAY).findings if f.slug == "cross-unit-conflict"} == {"promo"}


@pytest.mark.parametrize(
    ("name", "other", "conflicting"),
    [
        ("MQL-to-SQL conversion", "Win rate (new business)", False),  # a quality rate, not MQL volume
        ("Number of MQLs", "Win rate (new business)", True),
        ("Inventory accuracy", "On-shelf availability", False),  # record accuracy, not stock held
        ("Shrinkage rate", "On-shelf availability", False),
        ("Inventory days", "On-shelf availability", True),
        ("Cost price reduction vs LY", "Return rate due to defects", True),
    ],
)
def test_conflict_families_read_what_the_name_measures(name: str, other: str, conflicting: bool) -> None:
    ws = register(
        kpi_in_words("a", name, goal="grow", owner="Lead A"), kpi_in_words("b", other, goal="deliver", owner="Lead B")
    )
    assert bool(_conflicts(ws)) is conflicting, _conflicts(ws)


@pytest.mark.parametrize(
    "name",
    [
        "Customer meetings held",
        "All-hands meetings held",
        "Anzahl Netzbesprechungen",
        "Follower Social Media",
        "Pressemitteilungen veröffentlicht",
    ],
)
def test_counts_of_activity_are_vanity(name: str) -> None:
    counted = {"baseline": {"value": 36}, "target": {"value": 48, "due": "2027-12-31"}}
    ws = register(kpi_in_words("x", name, unit_of_measure=None, thresholds={"warning": 44, "critical": 40}, **counted))
    assert "vanity-metric" in slugs(audit_kpi(ws, "x"))


@pytest.mark.parametrize(
    ("owner", "flagged"),
    [
        ("Head of Sales", True),
        ("CFO", True),
        ("Head of Sales Controlling", False),
        ("Head of Operations", False),
        ("M. Keller", False),
        ("COO", False),
    ],
)
def test_an_owner_whose_title_heads_another_unit_cannot_act(owner: str, flagged: bool) -> None:
    ws = register(
        kpi_in_words(
            "x",
            "Onboarding tickets per new customer",
            owner=owner,
            direction="down",
            baseline={"value": 7.5},
            target={"value": 4, "due": "2027-12-31"},
            thresholds={"warning": 6, "critical": 8},
            unit_of_measure=None,
        )
    )
    ws = ws.model_copy(update={"units": [u.model_copy(update={"owner": None}) for u in ws.units]})
    outside = [f for f in audit_kpi(ws, "x") if f.slug == "not-actionable" and "the head of" in f.message]
    assert bool(outside) is flagged, [f.message for f in audit_kpi(ws, "x")]


def test_a_financial_perspective_does_not_make_a_win_rate_money() -> None:
    # A scorecard files pipeline and win rate under its financial perspective; the names say otherwise.
    ws = register(
        kpi_in_words("arr", "ARR growth", goal="money", category="financial"),
        kpi_in_words("win", "Win rate (new business)", goal="money", category="financial"),
        kpi_in_words("ebit", "EBIT margin", goal="grow", category="financial"),
        kpi_in_words("eq", "Eigenkapitalquote", goal="grow"),
    )
    goals = {f.object.id for f in audit(ws, today=TODAY).findings if f.slug == "financial-only"}
    assert goals == {"grow"}


def test_a_register_without_heads_or_review_dates_gets_one_finding_for_each_not_one_per_object() -> None:
    ws = register(
        kpi_in_words("a", "On-time delivery", review_date=None), kpi_in_words("b", "Scrap rate", review_date=None)
    )
    ws = ws.model_copy(update={"units": [u.model_copy(update={"owner": None}) for u in ws.units]})
    found = [f for f in audit(ws, today=TODAY).findings if f.slug in ("missing-owner", "stale-review")]
    assert sorted((f.slug, f.object.kind) for f in found) == [
        ("missing-owner", "workspace"),
        ("stale-review", "workspace"),
    ], [f.message for f in found]
    assert "None of the 3 units names its head (Operations, Sales, Finance)" in found[0].message
    # With one head named, each unit without one is its own finding again.
    ws.units[0] = ws.units[0].model_copy(update={"owner": "COO"})
    units = [f.object.id for f in audit(ws, today=TODAY).findings if f.slug == "missing-owner"]
    assert sorted(units) == ["finance", "sales"]


def test_audience_and_output_counts_are_vanity_but_active_customers_are_not() -> None:
    counted = {"baseline": {"value": 36}, "target": {"value": 48, "due": "2027-12-31"}}
    lines = {"thresholds": {"warning": 44, "critical": 40}, "unit_of_measure": None}
    for name, vanity in (
        ("Number of production reports published", True),
        ("Anzahl Newsletter-Abonnenten", True),
        ("Active customers", False),  # customers who ordered: the library's risk is logins counted as activity
    ):
        ws = register(kpi_in_words("x", name, **lines, **counted))
        assert ("vanity-metric" in slugs(audit_kpi(ws, "x"))) is vanity, name


def test_financial_only_never_suggests_a_driver_the_vanity_rule_would_flag() -> None:
    ws = register(
        kpi_in_words("rev", "Revenue", goal="money", unit_of_measure="currency"),
        kpi_in_words("gm", "Gross margin", goal="money"),
        kpi_in_words("cash", "Free cash flow", goal="money", unit_of_measure="currency"),
    )
    (finding,) = [f for f in audit(ws, today=TODAY).findings if f.slug == "financial-only"]
    assert "sessions" not in finding.fix and "page_views" not in finding.fix, finding.fix


def test_a_percent_kpi_reads_as_percent_in_messages_and_as_both_in_fixes() -> None:
    ws = register(
        kpi_in_words(
            "otd",
            "On-time delivery",
            target={"value": 0.98, "due": "2027-12-31"},
            thresholds={"warning": 0.99, "critical": 0.97},
        )
    )
    (finding,) = [f for f in audit_kpi(ws, "otd") if f.slug == "threshold-order"]
    assert "warning 99% is above the target 98%" in finding.message, finding.message
    assert "warning 97% (0.97)" in finding.fix and "0.99" not in finding.message, finding.fix
    lines = {"target": {"value": 800, "due": "2027-12-31"}, "thresholds": {"warning": 850, "critical": 820}}
    counted = register(
        kpi_in_words("calls", "Calls answered", unit_of_measure="count", baseline={"value": 900}, **lines)
    )
    (finding,) = [f for f in audit_kpi(counted, "calls") if f.slug == "target-direction"]
    assert "its target 800 is below its baseline 900" in finding.message and "%" not in finding.message


def test_an_implied_direction_names_only_the_evidence_the_kpi_has() -> None:
    bare = kpi_in_words(
        "cost",
        "Cost per invoice",
        direction=None,
        thresholds=None,
        unit_of_measure="currency",
        baseline={"value": 4.8},
        target={"value": 3.5, "due": "2027-12-31"},
    )
    (finding,) = [f for f in audit_kpi(register(bare), "cost") if "no direction" in f.message]
    assert finding.fix == "set direction: down (lower is better): its target beside its baseline says so"
    lined = bare.model_copy(update={"thresholds": Thresholds(warning=4.0, critical=4.5)})
    (finding,) = [f for f in audit_kpi(register(lined), "cost") if "no direction" in f.message]
    assert finding.fix.endswith("its target beside its baseline and its thresholds say so")

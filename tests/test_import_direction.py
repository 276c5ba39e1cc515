"""Direction read from a register's red and amber lines when no column states it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpi_model.importers import import_spreadsheet
from kpi_model.importers.direction import implied_direction
from kpi_model.models import Direction

from .test_importers import write_csv

HEADER = ["KPI", "Owner", "Target", "Amber if", "Red if", "Action when off-track"]


def _import(tmp_path: Path, *rows: list[str], header: list[str] = HEADER):
    result = import_spreadsheet(write_csv(tmp_path / "register.csv", [header, *rows]))
    return {k.name: k for k in result.workspace.kpis}, result.notes


def test_comparators_of_the_lines_give_the_direction_with_one_note(tmp_path):
    kpis, notes = _import(
        tmp_path,
        ["On-time delivery", "Head of Logistics", "95%", "< 93%", "< 90%", "Expedite late orders"],
        ["Scrap rate", "Head of Production", "2%", "> 2.5%", "> 3%", "Stop the line"],
    )
    assert kpis["On-time delivery"].direction is Direction.UP
    assert kpis["Scrap rate"].direction is Direction.DOWN
    assert kpis["Scrap rate"].action == "Stop the line"  # 'Action when off-track' maps to the action
    said = [n for n in notes if "No column gives the direction" in n]
    assert len(said) == 2 and "rows 2" not in said[0] and "row 2" in said[0] and "row 3" in said[1], said


def test_positions_of_the_lines_give_the_direction_when_they_agree(tmp_path):
    kpis, _ = _import(
        tmp_path,
        ["Meetings", "Lead", "48", "44", "40", "Plan more"],
        ["Days to hire", "HR lead", "30", "35", "40", "Add recruiters"],
    )
    assert kpis["Meetings"].direction is Direction.UP
    assert kpis["Days to hire"].direction is Direction.DOWN


@pytest.mark.parametrize(
    ("target", "amber", "red"),
    [
        ("1850", "1800", "1900"),  # red above the target, amber below it: a flaw to report, not a direction
        ("10", "> 8", "< 5"),  # comparators that disagree
        ("10", "12", "9"),  # lines on both sides
    ],
)
def test_lines_that_contradict_each_other_decide_nothing(tmp_path, target, amber, red):
    kpis, notes = _import(tmp_path, ["Average order value", "CRM lead", target, amber, red, "Review prices"])
    assert kpis["Average order value"].direction is None
    assert not [n for n in notes if "No column gives the direction" in n]


def test_a_direction_column_wins_over_the_lines(tmp_path):
    header = ["KPI", "Owner", "Target", "Amber if", "Red if", "Polarity"]
    kpis, notes = _import(tmp_path, ["Churn", "CS lead", "5%", "< 4%", "< 3%", "Lower is better"], header=header)
    assert kpis["Churn"].direction is Direction.DOWN
    assert not [n for n in notes if "No column gives the direction" in n]


def test_german_headers_gelb_bei_and_rot_bei_map_to_the_lines(tmp_path):
    header = ["Kennzahl", "Verantwortlich", "Zielwert", "Gelb bei", "Rot bei"]
    rows = [["Bearbeitungszeit", "Leitung Netzanschluss", "10 Tage", "> 8 Tage", "> 12 Tage"]]
    result = import_spreadsheet(write_csv(tmp_path / "kennzahlen.csv", [header, *rows], delimiter=";"))
    kpi = result.workspace.kpis[0]
    assert kpi.thresholds is not None and (kpi.thresholds.warning, kpi.thresholds.critical) == (8, 12)
    # the lines say lower is better, and amber 8 then sits on the wrong side of the target 10: left for the audit
    assert kpi.direction is Direction.DOWN


def test_implied_direction_needs_a_target_for_positions():
    assert implied_direction(None, {"critical": 1.0}, {}) is None
    assert implied_direction(5.0, {}, {}) is None
    assert implied_direction(5.0, {"critical": 1.0}, {"critical": Direction.DOWN}) == (
        Direction.UP,
        "its red/amber lines say on which side it turns red",
    )


def test_a_rating_written_out_of_its_top_reads_the_value_and_sets_the_scale(tmp_path):
    header = ["KPI", "Definition", "Baseline", "Target"]
    rows = [
        ["Ticket CSAT", "Average post-ticket rating on a 1-5 scale", "4.3 / 5", "4.6 / 5"],
        ["Engagement", "Pulse survey", "7 out of 10", "8 out of 10"],
        ["Half", "Share of tickets", "", "1/2"],  # a fraction, not a rating
    ]
    result = import_spreadsheet(write_csv(tmp_path / "ratings.csv", [header, *rows]))
    csat, engagement, half = result.workspace.kpis
    assert (csat.baseline.value, csat.target.value, csat.scale) == (4.3, 4.6, "1-5")
    assert (engagement.target.value, engagement.scale) == (8, "up to 10")
    assert half.target is None and half.scale is None
    assert any("Row 2" in n and "scale was set to 1-5" in n for n in result.notes)


@pytest.mark.parametrize(
    ("text", "due"), [("H1 2027", "2027-06-30"), ("2027 H2", "2027-12-31"), ("1. Halbjahr 2027", "2027-06-30")]
)
def test_a_half_year_is_read_as_its_last_day(text: str, due: str) -> None:
    from kpi_model.importers.dates import read_date

    day, how = read_date(text)
    assert day.isoformat() == due and how is not None and "half year" in how


def test_a_uk_council_list_reads_its_own_words(tmp_path):
    header = ["Service area", "Priority", "Indicator", "How measured", "Lead officer", "Polarity", "2025/26 actual",
              "Target", "Target date", "Reporting frequency", "System", "RAG thresholds", "Improvement action",
              "Last reviewed"]  # fmt: skip
    rows = [
        ["Place", "Cleaner streets", "Recycling rate", "Tonnage recycled / total", "Head of Waste", "Bigger is better",
         "41.2%", "45%", "2026/27", "Monthly", "WasteDataFlow", "R <40% / A 40-45% / G ≥45%", "Extend food waste",
         "14/10/2026"],
        ["Resources", "Balance the budget", "Contract savings", "Saving vs previous price", "Head of Procurement",
         "Bigger is better", "£1.2m", "£1.8m", "31 Mar 2027", "Quarterly", "Unit4",
         "R <£1.0m / A £1.0m-1.8m / G ≥£1.8m", "Re-tender", "-"],
    ]  # fmt: skip
    result = import_spreadsheet(write_csv(tmp_path / "council.csv", [header, *rows]))
    recycling, savings = result.workspace.kpis
    assert result.workspace.unit_of_kpi(recycling).name == "Place" and recycling.owner == "Head of Waste"
    assert recycling.direction is Direction.UP and recycling.cadence.value == "monthly"
    assert (recycling.thresholds.critical, recycling.thresholds.warning) == (0.4, 0.45), "amber: the end away from red"
    assert recycling.target.due.isoformat() == "2027-03-31" and recycling.review_date.isoformat() == "2026-10-14"
    assert any("financial year '2026/27' read as ending 2027-03-31" in n for n in result.notes)
    assert (savings.thresholds.critical, savings.thresholds.warning) == (1_000_000, 1_800_000)
    assert savings.review_date is None


def test_a_priority_column_of_ranks_is_no_goal(tmp_path):
    rows = [["KPI", "Priority", "Owner"], ["Churn", "High", "CS lead"], ["NPS", "Low", "CS lead"]]
    result = import_spreadsheet(write_csv(tmp_path / "ranked.csv", rows))
    assert not result.workspace.goals
    assert any("Column 'Priority' holds ranks" in n for n in result.notes)


@pytest.mark.parametrize("text", ["1.0m / A 2", "5 (was 7)", "3 of 4 sites"])
def test_a_cell_with_more_numbers_than_one_is_refused_not_cut_short(text: str) -> None:
    from kpi_model.importers.values import read_amount

    with pytest.raises(ValueError, match=r"more than one number|is not a number"):
        read_amount(text, decimal=".")


def test_a_range_may_carry_multipliers_and_a_unit_word() -> None:
    from kpi_model.importers.values import read_amount

    assert (read_amount("2–3 days").low, read_amount("2–3 days").high) == (2, 3)
    money = read_amount("£1.0m-1.8m", money=True, decimal=".")
    assert (money.low, money.high) == (1_000_000, 1_800_000)


def test_baseline_to_target_alone_implies_no_direction_and_no_thresholds(tmp_path):
    """ "Cost per invoice € 4.80 → € 3.50" and no red or amber line: the direction stays empty (inferring it
    from baseline→target would hide a target set the wrong way), and no note speaks of lines that are not there.
    """
    header = ["KPI", "Unit", "Actual", "Target", "Threshold"]
    kpis, notes = _import(tmp_path, ["Cost per invoice processed", "€", "€ 4.80", "€ 3.50", ""], header=header)
    cost = kpis["Cost per invoice processed"]
    assert cost.direction is None and cost.thresholds is None
    assert (cost.baseline.value, cost.target.value) == (4.8, 3.5)
    assert not [n for n in notes if "direction" in n or "red/amber" in n or "threshold" in n.lower()], notes
    assert implied_direction(3.5, {}, {}) is None

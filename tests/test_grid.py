"""The grid of KPIs: rows as people type them, saved as one workspace or refused cell by cell."""

from __future__ import annotations

import datetime as dt

import pytest

from kpi_model import editing
from kpi_model.engine import Point, Series
from kpi_model.formula import SeriesRequest
from kpi_model.grid import (
    COLUMNS,
    MAX_CELL,
    GridError,
    apply_grid,
    grid_problems,
    grid_rows,
    partner_labels,
    row_problems,
    with_suggestions,
)
from kpi_model.models import Goal, Kpi, Target
from kpi_model.periods import Coverage
from kpi_model.suggestions import by_column, suggest


def rows_of(workspace, goal="grow-repeat"):
    return grid_rows(workspace, workspace.kpis_of(goal))


def test_rows_show_numbers_as_typed_and_partners_by_name(small_workspace):
    rate, revenue = rows_of(small_workspace)
    assert rate["kpi"] == "repeat_rate" and rate["goal"] == "Grow repeat revenue"
    assert (rate["baseline"], rate["target"], rate["warning"], rate["critical"]) == ("25%", "30%", "27%", "24%")
    assert rate["pairs_with"] == "Repeat revenue", "the partner is shown by name, not id"
    assert rate["target_due"] == "2027-06-30" and rate["cadence"] == "monthly", "a date is shown as it is typed"
    assert revenue["owner"] is None and revenue["baseline"] is None


def test_unchanged_rows_give_the_same_workspace(small_workspace):
    assert apply_grid(small_workspace, rows_of(small_workspace)) == small_workspace


def test_a_valid_batch_is_one_new_workspace_and_the_input_is_unchanged(small_workspace):
    rate, revenue = rows_of(small_workspace)
    rate.update(owner="  CCO ", target="32 %", review_date=dt.date(2027, 1, 15), warning="0.28")
    revenue.update(owner="Head of Sales", cadence="Monthly", unit_of_measure="currency", target="1,2k")
    revenue.update(target_due="2027-12-31", baseline="1.000,50", baseline_period="2026-12", direction="up")
    saved = apply_grid(small_workspace, [rate, revenue])
    new_rate, new_revenue = saved.kpi("repeat_rate"), saved.kpi("repeat_revenue")
    assert new_rate.owner == "CCO" and new_rate.target.value == pytest.approx(0.32)
    assert new_rate.target.due == dt.date(2027, 6, 30) and new_rate.review_date == dt.date(2027, 1, 15)
    assert new_rate.thresholds.warning == pytest.approx(0.28) and new_rate.thresholds.critical == pytest.approx(0.24)
    assert new_revenue.cadence == "monthly", "a pasted 'Monthly' is the cadence monthly"
    assert new_revenue.target.value == 1200 and new_revenue.target.due == dt.date(2027, 12, 31)
    assert (new_revenue.baseline.value, new_revenue.baseline.period) == (1000.5, "2026-12")
    assert new_rate.expression == small_workspace.kpi("repeat_rate").expression, "fields outside the grid are kept"
    assert small_workspace.kpi("repeat_rate").owner == "Head of Sales", "the input must stay unchanged"


def test_invalid_cells_are_all_named_and_nothing_is_changed(small_workspace):
    rate, revenue = rows_of(small_workspace)
    rate.update(target="abc", warning="12", owner="New owner")
    revenue.update(cadence="monthy", target_due="03/04/2027", baseline_period="2026-13", baseline="5")
    with pytest.raises(GridError) as raised:
        apply_grid(small_workspace, [rate, revenue])
    cells = {(c.kpi_name, c.column): c for c in raised.value.cells}
    assert set(cells) == {
        ("Repeat purchase rate", "Target value"),
        ("Repeat purchase rate", "Warning at"),
        ("Repeat revenue", "Review cadence"),
        ("Repeat revenue", "Target due"),
        ("Repeat revenue", "Baseline period"),
    }
    assert "'abc'" in cells["Repeat purchase rate", "Target value"].message
    assert "95%" in cells["Repeat purchase rate", "Target value"].fix
    assert cells["Repeat purchase rate", "Warning at"].message == "'12' would be 1,200%"
    assert cells["Repeat purchase rate", "Warning at"].fix.startswith("type 12%")
    assert "did you mean 'monthly'" in cells["Repeat revenue", "Review cadence"].fix
    assert "3 April 2027 (day first) or 4 March 2027 (month first)" in cells["Repeat revenue", "Target due"].message
    assert cells["Repeat revenue", "Target due"].fix.startswith("write 2027-04-03 for 3 April 2027")
    assert "2025-Q4" in cells["Repeat revenue", "Baseline period"].fix
    assert small_workspace.kpi("repeat_rate").owner == "Head of Sales"


def test_problems_per_row_join_each_bad_cell_with_its_fix_and_match_the_refused_save(small_workspace):
    rate, revenue = rows_of(small_workspace)
    assert grid_problems(small_workspace, [rate, revenue]) == []
    rate.update(target="abc", warning="12")
    with pytest.raises(GridError) as raised:
        apply_grid(small_workspace, [rate, revenue])
    cells = grid_problems(small_workspace, [rate, revenue])
    assert cells == raised.value.cells, "the grid marks exactly what a save would refuse"
    by_row = row_problems(cells)
    assert set(by_row) == {"repeat_rate"}, "a row without problems has no entry"
    parts = by_row["repeat_rate"].split(" · ")
    assert [p.split(":")[0] for p in parts] == [c.column for c in cells] == ["Target value", "Warning at"]
    for part, found in zip(parts, cells, strict=True):
        assert found.message.rstrip(".") in part and part.endswith(f"Fix: {found.fix}")


def test_percent_typed_for_a_count_is_refused_with_the_cards_words(small_workspace):
    workspace = editing.upsert_kpi(
        small_workspace, Kpi(id="orders", name="Orders", goal="grow-repeat", unit_of_measure="count")
    )
    (row,) = grid_rows(workspace, [workspace.kpi("orders")])
    row["target"] = "95%"
    with pytest.raises(GridError) as raised:
        apply_grid(workspace, [row])
    (problem,) = raised.value.cells
    assert problem.column == "Target value" and "unit of measure is count" in problem.message


def test_paste_like_strings_read_as_typed(small_workspace):
    _, revenue = rows_of(small_workspace)
    # As a spreadsheet pastes them: surrounding spaces, a tab inside, a thousands k, a decimal comma.
    revenue.update(owner="\tHead\tof Sales ", target=" 1,2k ", warning="1 000", critical="900,5", direction=" UP ")
    revenue.update(pairs_with="repeat purchase rate", review_date="2027-01-31", action="Call\ttop accounts")
    saved = apply_grid(small_workspace, [revenue]).kpi("repeat_revenue")
    assert saved.owner == "Head of Sales" and saved.action == "Call top accounts"
    assert (saved.target.value, saved.thresholds.warning, saved.thresholds.critical) == (1200, 1000, 900.5)
    assert saved.direction == "up" and saved.pairs_with == "repeat_rate"
    assert saved.review_date == dt.date(2027, 1, 31)


def test_blank_cells_clear_fields_and_nan_counts_as_blank(small_workspace):
    rate, _ = rows_of(small_workspace)
    rate.update(warning=float("nan"), critical="", target=None, target_due=None, baseline=None, baseline_period=None)
    saved = apply_grid(small_workspace, [rate]).kpi("repeat_rate")
    assert saved.thresholds is None and saved.target is None and saved.baseline is None


def test_a_baseline_period_without_value_and_unknown_partner_are_named(small_workspace):
    rate, revenue = rows_of(small_workspace)
    rate.update(baseline=None)
    revenue.update(pairs_with="Repeat revnue")
    with pytest.raises(GridError) as raised:
        apply_grid(small_workspace, [rate, revenue])
    messages = {(c.column, c.message, c.fix) for c in raised.value.cells}
    assert (
        "Baseline value",
        "a baseline period without its value",
        "give the baseline's value too (or clear its period)",
    ) in messages
    (partner,) = [c for c in raised.value.cells if c.column == "Partner"]
    assert "did you mean 'Repeat revenue'" in partner.fix


def test_a_kpi_paired_with_itself_is_named_at_its_partner_cell(small_workspace):
    rate, _ = rows_of(small_workspace)
    rate["pairs_with"] = "Repeat purchase rate"
    with pytest.raises(GridError) as raised:
        apply_grid(small_workspace, [rate])
    (problem,) = raised.value.cells
    assert (problem.kpi_id, problem.column) == ("repeat_rate", "Partner") and "itself" in problem.message


def test_partner_labels_add_the_id_only_where_names_repeat(small_workspace):
    # A file (an import, say) may hold two KPIs of one name; the app refuses to make a second one.
    twin = small_workspace.model_copy(
        update={"kpis": [*small_workspace.kpis, Kpi(id="on_time_2", name="On-time delivery", goal="deliver-on-time")]}
    )
    labels = partner_labels(twin)
    assert labels["repeat_rate"] == "Repeat purchase rate"
    assert labels["on_time"] == "On-time delivery (on_time)" and labels["on_time_2"] == "On-time delivery (on_time_2)"


def test_a_range_kpi_keeps_its_low_and_high(small_workspace):
    kpi = Kpi(
        id="stock_days", name="Stock days", goal="deliver-on-time", direction="range", target=Target(low=20, high=40)
    )
    workspace = editing.upsert_kpi(small_workspace, kpi)
    (row,) = grid_rows(workspace, [workspace.kpi("stock_days")])
    row["target_due"] = dt.date(2027, 12, 31)
    saved = apply_grid(workspace, [row]).kpi("stock_days")
    assert (saved.target.low, saved.target.high, saved.target.due) == (20, 40, dt.date(2027, 12, 31))


def test_every_column_has_a_label_and_a_fix():
    from kpi_model.grid import _FIXES

    assert set(_FIXES) == set(COLUMNS)


# Suggestions ---------------------------------------------------------------------------------------------


def _monthly(values, first=dt.date(2026, 1, 1), as_of=dt.date(2026, 7, 14)):
    points = [Point(dt.date(first.year, first.month + i, 1), v, 100) for i, v in enumerate(values)]
    return Series("k", SeriesRequest(grain="month"), points, coverage=Coverage(first, as_of))


def test_owner_comes_from_the_goal_first_then_the_unit(small_workspace):
    goal_owned = editing.upsert_goal(
        small_workspace,
        Goal(id="grow-repeat", unit="sales", statement="Grow repeat revenue", owner="Head of CRM"),
        old_id="grow-repeat",
    )
    revenue = goal_owned.kpi("repeat_revenue")
    assert by_column(suggest(goal_owned, revenue))["owner"] == "Head of CRM"
    (owner,) = [s for s in suggest(small_workspace, small_workspace.kpi("repeat_revenue")) if s.column == "owner"]
    assert (owner.value, owner.reason) == ("Head of Sales", "head of Sales")
    assert not [s for s in suggest(small_workspace, small_workspace.kpi("on_time")) if s.column == "owner"], (
        "Operations has no head: no owner to suggest"
    )


def test_template_fields_and_partner_are_suggested_only_when_empty(small_workspace):
    lead = Kpi(id="conv", name="Conversion", goal="grow-repeat", template="conversion_rate")
    from kpi_model.library import get_template

    template = get_template("conversion_rate")
    partner_id = template.partners[0]
    partner = Kpi(id="deals", name="Deals won", goal="grow-repeat", template=partner_id)
    workspace = editing.upsert_kpi(editing.upsert_kpi(small_workspace, lead), partner)
    found = by_column(suggest(workspace, workspace.kpi("conv")))
    assert found["cadence"] == template.cadence.value and found["direction"] == template.direction.value
    assert found["unit_of_measure"] == template.unit_of_measure.value
    assert found["pairs_with"] == "deals"
    filled = workspace.kpi("conv").model_copy(update={"cadence": "weekly", "pairs_with": "repeat_rate"})
    assert {"cadence", "pairs_with"}.isdisjoint(by_column(suggest(workspace, filled)))


def test_baseline_is_the_latest_complete_period_with_its_label(small_workspace):
    revenue = small_workspace.kpi("repeat_revenue")
    # Data to 14 July: July is partial and never the baseline; June is the latest complete month.
    found = suggest(small_workspace, revenue, _monthly([10, 11, 12, 13, 14, 15, 99]), today=dt.date(2026, 8, 1))
    values = by_column(found)
    assert (values["baseline"], values["baseline_period"]) == (15, "2026-06")
    assert "latest complete month" in next(s.reason for s in found if s.column == "baseline")


def test_a_measured_baseline_is_written_down_as_a_person_would(small_workspace):
    values = by_column(suggest(small_workspace, small_workspace.kpi("repeat_revenue"), _monthly([0.27345678] * 7)))
    assert values["baseline"] == 0.2735
    big = by_column(suggest(small_workspace, small_workspace.kpi("repeat_revenue"), _monthly([48213.6] * 7)))
    assert big["baseline"] == 48214


def test_thresholds_follow_the_whatif_method_when_a_target_and_data_exist(small_workspace):
    from kpi_model.whatif import target_preview

    revenue = small_workspace.kpi("repeat_revenue").model_copy(
        update={"target": Target(value=30, due=dt.date(2026, 12, 31)), "direction": "up"}
    )
    series = _monthly([10, 12, 11, 13, 12, 14, 99])
    today = dt.date(2026, 8, 1)
    values = by_column(suggest(small_workspace, revenue, series, today=today))
    preview = target_preview(
        revenue, series.points, target=30, due=dt.date(2026, 12, 31), today=today, coverage=series.coverage
    )
    assert preview.suggested_warning is not None
    assert (values["warning"], values["critical"]) == (preview.suggested_warning, preview.suggested_critical)
    no_target = by_column(suggest(small_workspace, small_workspace.kpi("repeat_revenue"), series, today=today))
    assert "warning" not in no_target, "no target, no thresholds to suggest"
    no_direction = revenue.model_copy(update={"direction": None, "template": None})
    assert {"warning", "critical"}.isdisjoint(by_column(suggest(small_workspace, no_direction, series, today=today))), (
        "no direction, no side of the target to put the lines on"
    )


def test_accepting_fills_empty_cells_only_in_the_rows_unit(small_workspace):
    _, revenue = rows_of(small_workspace)
    revenue.update(owner="Typed by hand", pairs_with=None)
    labels = partner_labels(small_workspace)
    suggested = {"owner": "Head of Sales", "unit_of_measure": "percent", "baseline": 0.25, "pairs_with": "on_time"}
    filled = with_suggestions(revenue, suggested, labels)
    assert filled["owner"] == "Typed by hand", "a filled cell is never overwritten"
    assert (filled["unit_of_measure"], filled["baseline"], filled["pairs_with"]) == (
        "percent",
        "25%",
        "On-time delivery",
    )
    saved = apply_grid(small_workspace, [filled]).kpi("repeat_revenue")
    assert saved.baseline.value == 0.25 and saved.pairs_with == "on_time"


@pytest.mark.parametrize(
    ("value", "unit"), [(0.03794, "percent"), (1.234, None), (-130.475, None), (0.12345, "percent")]
)
def test_a_shown_number_reads_back_even_with_three_decimals(value, unit):
    from kpi_model.typed_values import read_value, shown_value

    text = shown_value(value, unit)
    assert read_value(text, "Target value", unit) == pytest.approx(value, rel=1e-12), text


def test_an_untouched_number_keeps_its_stored_value_exactly(small_workspace):
    workspace = editing.upsert_kpi(
        small_workspace,
        small_workspace.kpi("repeat_rate").model_copy(
            update={"target": Target(value=0.1 + 0.2, due=dt.date(2027, 1, 1))}
        ),
        old_id="repeat_rate",
    )
    assert apply_grid(workspace, rows_of(workspace)) == workspace


def test_the_sample_workspace_reads_back_unchanged_and_every_shown_number_reads_as_typed():
    from kpi_model import workspace_file
    from kpi_model.typed_values import read_value

    from .conftest import SAMPLE_WORKSPACE

    sample = workspace_file.load(SAMPLE_WORKSPACE)
    rows = grid_rows(sample, sample.kpis)
    assert apply_grid(sample, rows) == sample
    for row, kpi in zip(rows, sample.kpis, strict=True):
        for column in ("baseline", "target", "warning", "critical"):
            if row[column]:
                read_value(row[column], COLUMNS[column], kpi.unit_of_measure)  # typed back, it reads


@pytest.mark.parametrize("column", ["target_due", "review_date"])
def test_a_grid_date_that_reads_two_ways_is_refused_with_both_readings_and_the_fix(small_workspace, column):
    rate, _ = rows_of(small_workspace)
    rate[column] = "03/04/2026"
    (problem,) = grid_problems(small_workspace, [rate])
    assert problem.column == COLUMNS[column]
    assert "'03/04/2026' reads two ways: 3 April 2026 (day first) or 4 March 2026 (month first)" == problem.message
    assert problem.fix == "write 2026-04-03 for 3 April 2026 or 2026-03-04 for 4 March 2026"


@pytest.mark.parametrize("typed", ["2026-04-03", "03/04/2026 ", "3 Apr 2026", "3 April 2026", "03.04.2026"])
def test_grid_dates_that_read_one_way_are_kept(small_workspace, typed):
    rate, _ = rows_of(small_workspace)
    rate.update(target_due=typed.replace("03/04", "13/04"), review_date=typed.replace("03/04", "13/04"))
    saved = apply_grid(small_workspace, [rate]).kpi("repeat_rate")
    expected = dt.date(2026, 4, 13) if "/" in typed else dt.date(2026, 4, 3)
    assert saved.target.due == expected and saved.review_date == expected


def test_a_period_in_a_date_cell_is_refused_with_its_last_day(small_workspace):
    rate, _ = rows_of(small_workspace)
    rate["review_date"] = "Q2 2027"
    (problem,) = grid_problems(small_workspace, [rate])
    assert "'Q2 2027' is a period" in problem.message and "2027-06-30" in problem.fix


def test_a_unit_pasted_as_a_word_is_marked_with_the_closest_choice_and_all_choices(small_workspace):
    rate, revenue = rows_of(small_workspace)
    rate["unit_of_measure"] = "hours"
    revenue.update(unit_of_measure="zzz", cadence="Monthly", direction=" UP ")
    cells = {(c.kpi_name, c.column): c for c in grid_problems(small_workspace, [rate, revenue])}
    assert set(cells) == {("Repeat purchase rate", "Unit of measure"), ("Repeat revenue", "Unit of measure")}
    hours = cells["Repeat purchase rate", "Unit of measure"]
    assert "'hours'" in hours.message and hours.fix.startswith("did you mean 'duration'")
    for found in cells.values():
        assert found.fix.endswith("pick one of: count, currency, percent, ratio, duration, score")
    assert "did you mean" not in cells["Repeat revenue", "Unit of measure"].fix, "nothing is close to 'zzz'"


def test_other_cells_of_a_row_are_checked_beside_a_bad_one(small_workspace):
    rate, _ = rows_of(small_workspace)
    rate.update(cadence="fortnightly", baseline_period="2026-13")
    columns = [c.column for c in grid_problems(small_workspace, [rate])]
    assert sorted(columns) == ["Baseline period", "Review cadence"]


def test_control_bidi_and_zero_width_characters_are_stripped_from_cells(small_workspace):
    rate, _ = rows_of(small_workspace)
    rate.update(owner="Head\u202e of\u200b Sales\x1b[2J", action="\x00Call\u2066 the team")
    rate.update(target_due="\u202a2027-06-30")
    saved = apply_grid(small_workspace, [rate]).kpi("repeat_rate")
    assert saved.owner == "Head of Sales[2J" and saved.action == "Call the team"
    assert saved.target.due == dt.date(2027, 6, 30)
    assert not any(ch in saved.owner + saved.action for ch in "\u202e\u200b\x1b\x00\u2066")


def test_a_cell_longer_than_the_limit_is_refused_with_its_length_and_the_fix(small_workspace):
    rate, _ = rows_of(small_workspace)
    rate.update(owner="x" * 2_000_000, action="y" * MAX_CELL)
    (problem,) = grid_problems(small_workspace, [rate])
    assert problem.column == "Owner" and "2,000,000 characters" in problem.message
    assert problem.fix.startswith(f"shorten it to at most {MAX_CELL:,} characters")
    assert len(str(problem)) < 400, "the refused text is not quoted back"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2027-06-30x", "has more after the date"),
        ("2027-06-30 and later", "has more after the date"),
        ("9" * 500, "500 characters is no date"),
    ],
)
def test_a_date_cell_with_more_than_a_date_is_refused_without_quoting_a_long_text(small_workspace, typed, expected):
    rate, _ = rows_of(small_workspace)
    rate["target_due"] = typed
    (problem,) = grid_problems(small_workspace, [rate])
    assert problem.column == "Target due" and expected in problem.message and len(problem.message) < 120


def test_a_spreadsheets_date_with_midnight_is_its_day(small_workspace):
    rate, _ = rows_of(small_workspace)
    rate["review_date"] = "2027-01-15 00:00:00"
    assert apply_grid(small_workspace, [rate]).kpi("repeat_rate").review_date == dt.date(2027, 1, 15)

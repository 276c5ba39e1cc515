"""What-if: periods, target previews, driver trees and lead/lag, against hand calculations."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import random
import statistics

import pytest

from kpi_model.engine import Point, Series
from kpi_model.errors import UnknownKpiError
from kpi_model.formula import SeriesRequest
from kpi_model.models import Kpi, Source, Target, Workspace
from kpi_model.periods import Coverage
from kpi_model.whatif import (
    WhatIfError,
    decomposition_suggestions,
    driver_tree,
    evaluate,
    latest_values,
    lead_lag,
    parse_baseline_period,
    periods_between,
    sensitivity,
    shift_period,
    target_preview,
    what_if,
)
from kpi_model.whatif.leadlag import empty_means_zero
from kpi_model.whatif.stats import correlation_p_value, effective_n, sidak
from kpi_model.workspace_file import load

from .conftest import SAMPLE_WORKSPACE

D = dt.date
TODAY = D(2026, 11, 15)


START = D(2026, 1, 1)


def points(values, start=START, grain="month"):
    """One point per consecutive period from ``start``."""
    return [Point(shift_period(start, i, grain), v, 1) for i, v in enumerate(values)]


def no_nan(payload) -> None:
    json.dumps(payload, allow_nan=False)  # raises on NaN or infinity


# ----------------------------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("baseline", "due", "grain", "expected"),
    [
        (D(2026, 10, 1), D(2026, 12, 31), "month", 2),  # November, December
        (D(2026, 10, 1), D(2026, 12, 1), "monthly", 2),  # the first day of the due month counts
        (D(2026, 10, 1), D(2026, 10, 31), "month", 0),  # due inside the baseline period
        (D(2026, 10, 1), D(2027, 12, 31), "month", 14),
        (D(2026, 7, 1), D(2027, 3, 31), "quarter", 2),  # Q4 2026, Q1 2027
        (D(2026, 2, 9), D(2026, 2, 22), "week", 1),  # W07 → Sunday of W08
        (D(2026, 2, 9), D(2026, 2, 23), "week", 2),  # Monday of W09
        (D(2025, 12, 22), D(2026, 1, 1), "week", 1),  # 2025-W52 → 2026-W01 (starts Mon 2025-12-29)
        (D(2026, 1, 1), D(2028, 6, 30), "year", 2),
        (D(2026, 10, 1), D(2026, 10, 31), "day", 30),
    ],
)
def test_periods_between(baseline, due, grain, expected):
    assert periods_between(baseline, due, grain) == expected


@pytest.mark.parametrize(
    ("label", "grain", "expected"),
    [
        ("2026-10", "month", D(2026, 10, 1)),
        ("2026-Q3", "quarter", D(2026, 7, 1)),
        ("2026-q4", "quarterly", D(2026, 10, 1)),
        ("2026-W07", "week", D(2026, 2, 9)),  # ISO week 7 of 2026 starts on Monday 9 February
        ("2021-W01", "week", D(2021, 1, 4)),  # 2021-01-01 is a Friday of 2020-W53
        ("2020-W53", "week", D(2020, 12, 28)),
        ("2026", "year", D(2026, 1, 1)),
        ("2026-10-15", "month", D(2026, 10, 1)),
        ("2026-10-15", "week", D(2026, 10, 12)),  # Thursday → its Monday
        ("2026-10-15", "quarter", D(2026, 10, 1)),
        ("2026-10-15", "day", D(2026, 10, 15)),
        ("2026-01-01", "week", D(2025, 12, 29)),  # the ISO week can start in the year before
        ("2026-11", "quarter", D(2026, 10, 1)),  # a finer label is widened to its quarter
        (D(2026, 5, 20), "quarter", D(2026, 4, 1)),
    ],
)
def test_parse_baseline_period(label, grain, expected):
    assert parse_baseline_period(label, grain) == expected


@pytest.mark.parametrize(
    ("label", "grain", "words"),
    [
        ("2026-Q3", "month", "names a quarter"),  # a monthly history has no single "2026-Q3"
        ("2026", "quarter", "names a year"),
        ("2025-W53", "week", "has no week 53"),  # 2025 has 52 ISO weeks
        ("2026-W07", "month", "names a week .* by month: write 2026-02"),  # a week is no month
        ("October", "month", "not a period"),
        ("2026-10", "fortnight", "not a period grain"),
    ],
)
def test_parse_baseline_period_refuses(label, grain, words):
    with pytest.raises(WhatIfError, match=words):
        parse_baseline_period(label, grain)


# ----------------------------------------------------------------------------- target preview

UP = Kpi(id="orders", name="Orders", direction="up")
DOWN = Kpi(id="returns", name="Returns", direction="down")
# 2026-01 … 2026-10, baseline 100 in 2026-10.
HISTORY = [80, 85, 90, 95, 100, 105, 110, 125, 115, 100]


def test_required_change_matches_hand_calculation():
    preview = target_preview(UP, points(HISTORY), target=121, due=D(2026, 12, 31), today=TODAY)
    data = preview.as_dict()
    assert data["baseline"] == {"period": "2026-10-01", "label": "2026-10", "value": 100}
    assert data["due"] == "2026-12-31"
    assert data["periods_remaining"] == 2
    assert data["required_change"]["absolute"] == pytest.approx(21)
    assert data["required_change"]["relative"] == pytest.approx(0.21)
    assert data["required_change_per_period"]["linear"] == pytest.approx(10.5)  # 21 / 2
    assert data["required_change_per_period"]["compound"] == pytest.approx(0.10)  # 1.1² = 1.21
    # Only 125 (2026-08) of the 10 periods reached 121.
    assert data["historical_attainment"] == pytest.approx(1 / 10)
    # Two-month windows (the target's horizon): +10 ×5, +20, +5, −25; none reaches +21 → 0 of 8.
    # (Single steps would have counted the one +15 as "a step that large".)
    assert data["historical_change_attainment"] == 0
    assert data["change_window"] == {"periods": 2, "windows": 8}
    at_115 = target_preview(UP, points(HISTORY), target=115, due=D(2026, 12, 31), today=TODAY)
    assert at_115.historical_change_attainment == pytest.approx(1 / 8)  # the +20 (2026-06 → 2026-08)
    assert [p["period"] for p in data["projection"]] == ["2026-11-01", "2026-12-01"]
    # Theil–Sen: +5 a month, 135 at 2026-12 with a band of about 118..152 → 121 is within it.
    assert data["verdict"] == "within-trend" and data["verdict_text"].startswith("The projection gets there")
    no_nan(data)


def test_down_direction_and_windows():
    data = target_preview(DOWN, points(HISTORY), target=90, due=D(2026, 12, 31), today=TODAY).as_dict()
    # 80, 85 and 90 are at or below 90 → 3 of 10.
    assert data["historical_attainment"] == pytest.approx(3 / 10)
    # Needed: −10 in two months; only 125 → 100 (−25) qualifies → 1 of 8.
    assert data["historical_change_attainment"] == pytest.approx(1 / 8)
    assert data["required_change_per_period"]["compound"] == pytest.approx((0.9**0.5) - 1)


def test_a_horizon_longer_than_the_history_has_no_windows():
    preview = target_preview(UP, points(HISTORY), target=150, due=D(2027, 12, 31), today=TODAY)
    assert preview.periods_remaining == 14 and preview.historical_change_attainment is None
    assert any("no two periods 14 months apart" in note for note in preview.notes)


def test_suggested_thresholds_follow_the_target_and_the_recent_spread():
    values = [100 + 10 * i + (3 if i % 2 else -3) for i in range(12)]  # a rising line, ±3 around it
    preview = target_preview(UP, points(values), target=250, due=D(2027, 3, 31), today=D(2027, 1, 10))
    warning, critical = preview.suggested_warning, preview.suggested_critical
    assert warning is not None and critical is not None
    assert 250 > warning > critical
    # The spread is the residuals' around the Theil–Sen line (±3, df-corrected), not the history's range.
    spread = 3 * math.sqrt(12 / 10)
    assert warning == pytest.approx(250 - 1.2816 * spread, abs=0.1)
    assert critical == pytest.approx(250 - 2.3263 * spread, abs=0.1)
    assert "1 time in 10" in preview.thresholds_text and "around the fit" in preview.thresholds_text
    assert "past critical" in preview.thresholds_text  # the baseline (213) is far below
    down = target_preview(DOWN, points(values[::-1]), target=50, due=D(2027, 3, 31), today=D(2027, 1, 10))
    assert down.suggested_warning is not None and down.suggested_critical is not None
    assert 50 < down.suggested_warning < down.suggested_critical


def test_thresholds_never_equal_and_inside_the_domain():
    line = [10.0 + 2 * i for i in range(8)]  # no noise at all
    preview = target_preview(UP, points(line), target=40, due=D(2026, 12, 31), today=D(2027, 1, 10))
    assert preview.suggested_warning is not None and preview.suggested_critical is not None
    assert 40 > preview.suggested_warning > preview.suggested_critical
    rate = Kpi(id="win", name="Win rate", direction="up", unit_of_measure="percent")
    noisy = [0.02, 0.06, 0.01, 0.07, 0.02, 0.05, 0.01, 0.06]  # spread wider than the room down to 0 %
    low = target_preview(rate, points(noisy), target=0.06, due=D(2026, 12, 31), today=D(2027, 1, 10))
    assert low.suggested_warning == pytest.approx(0.04) and low.suggested_critical == pytest.approx(0.02)
    assert "a third and two thirds" in low.thresholds_text
    assert target_preview(UP, points([1, 2, 3]), target=5, due=D(2026, 12, 31), today=TODAY).suggested_warning is None


def test_range_direction_uses_the_band():
    kpi = Kpi(id="fill", name="Fill rate", direction="range", target=Target(low=95, high=110))
    data = target_preview(kpi, points(HISTORY), target=999, due=D(2026, 12, 31), today=TODAY).as_dict()
    # 95, 100, 105, 110, 100 are inside 95..110 → 5 of 10; the baseline (100) is inside: no change needed.
    assert data["historical_attainment"] == pytest.approx(5 / 10)
    assert data["target"] == 100
    assert data["target_range"] == {"low": 95, "high": 110}
    assert data["required_change"]["absolute"] == 0
    assert data["historical_change_attainment"] is None
    assert data["suggested_thresholds"]["warning"] is None and data["suggested_thresholds"]["critical"] is None
    # The trend rises 5 a month: its band at 2026-12 (≈ 118..152) has left 95..110, but the
    # history has been inside the band → stretch. A flat history stays inside → within-trend.
    assert data["verdict"] == "stretch"
    flat = [100, 104, 98, 103, 101, 106, 99, 102, 97, 100]
    assert target_preview(kpi, points(flat), target=0, due=D(2026, 12, 31), today=TODAY).verdict == "within-trend"
    below = target_preview(
        kpi.model_copy(update={"target": Target(low=130, high=140)}),
        points(HISTORY),
        target=0,
        due=D(2026, 12, 31),
        today=TODAY,
    ).as_dict()
    assert below["target"] == 130  # the nearest point of the band
    assert below["required_change_per_period"]["linear"] == pytest.approx(15)
    assert below["verdict"] == "beyond-history"  # never inside 130..140
    range_without_band = Kpi(id="x", name="X", direction="range")
    with pytest.raises(WhatIfError, match="low and high"):
        target_preview(range_without_band, points(HISTORY), target=1, due=D(2026, 12, 31), today=TODAY)


def test_baseline_choice_and_incomplete_periods():
    series = [*points(HISTORY), Point(D(2026, 11, 1), 500, 1), Point(D(2027, 2, 1), 3, 1)]
    preview = target_preview(UP, series, target=121, due=D(2026, 12, 31), today=TODAY)
    assert preview.baseline_period == D(2026, 10, 1)  # 2026-11 is not complete on 2026-11-15
    assert any("2 periods not complete" in note for note in preview.notes)
    older = target_preview(UP, series, target=121, due=D(2026, 12, 31), baseline_period="2026-08", today=TODAY)
    assert older.baseline_value == 125 and older.periods_remaining == 4
    assert [p.period for p in older.projection] == [D(2026, 11, 1), D(2026, 12, 1)], "from the last data on"
    with pytest.raises(WhatIfError, match=r"no value for it \(the history runs 2026-01 to 2026-10\)"):
        target_preview(UP, series, target=121, due=D(2026, 12, 31), baseline_period="2025-05", today=TODAY)
    with pytest.raises(WhatIfError, match="not complete yet"):
        target_preview(UP, series, target=121, due=D(2026, 12, 31), baseline_period="2026-11", today=TODAY)
    with pytest.raises(WhatIfError, match="not after the baseline period"):
        target_preview(UP, series, target=121, due=D(2026, 10, 20), today=TODAY)
    with pytest.raises(WhatIfError, match="no complete month"):
        target_preview(UP, [], target=1, due=D(2026, 12, 31), today=TODAY)


@dataclasses.dataclass(frozen=True)
class FlaggedPoint:
    """A point that says itself whether its period is complete (coverage-aware series)."""

    period: dt.date
    value: float | None
    complete: bool
    dimension: str | None = None


def test_a_point_flagged_partial_is_never_the_baseline_nor_in_the_fit():
    series = [FlaggedPoint(p.period, p.value, True) for p in points(HISTORY)]
    series[-1] = FlaggedPoint(series[-1].period, 3.0, False)  # 2026-10: the data stops mid-month
    series[0] = FlaggedPoint(series[0].period, 1.0, False)  # 2026-01: the data starts mid-month
    preview = target_preview(UP, series, target=121, due=D(2026, 12, 31), today=TODAY)
    assert preview.baseline_period == D(2026, 9, 1) and preview.baseline_value == 115
    assert list(preview.history.values()) == HISTORY[1:-1]
    assert any("2 periods not complete" in note for note in preview.notes)


def test_compound_rate_undefined_cases_say_why():
    negative = target_preview(UP, points([-80, -60, -50]), target=10, due=D(2026, 12, 31), today=TODAY)
    assert negative.compound_per_period is None
    assert any("negative" in note for note in negative.notes)
    assert negative.required_relative == pytest.approx(60 / 50)  # measured against the baseline's size
    signs = target_preview(DOWN, points([30, 20, 10]), target=-5, due=D(2026, 12, 31), today=TODAY)
    assert signs.compound_per_period is None
    assert any("different signs" in note for note in signs.notes)
    zero = target_preview(UP, points([3, 2, 0]), target=5, due=D(2026, 12, 31), today=TODAY)
    assert zero.compound_per_period is None and zero.required_relative is None
    no_nan(zero.as_dict())


def test_band_formula_by_hand():
    # x = 0..5, y = 0, 2, 1, 3, 2, 4. Theil–Sen: the median of the 15 pairwise slopes is 0.6…
    ys = [0, 2, 1, 3, 2, 4]
    slopes = sorted((ys[j] - ys[i]) / (j - i) for i in range(6) for j in range(i + 1, 6))
    slope = statistics.median(slopes)
    intercept = statistics.median(y - slope * x for x, y in enumerate(ys))
    s = math.sqrt(sum((y - intercept - slope * x) ** 2 for x, y in enumerate(ys)) / 4)
    # … and at x = 6 the band is t(0.9; df 4) = 1.533 (tables) · s · √(1 + 1/6 + 3.5²/17.5).
    half = 1.533 * s * math.sqrt(1 + 1 / 6 + 3.5**2 / 17.5)
    preview = target_preview(UP, points(ys), target=4, due=D(2026, 7, 31), today=TODAY)
    (only,) = preview.projection
    assert only.period == D(2026, 7, 1)
    assert only.mid == pytest.approx(intercept + slope * 6)
    assert (only.low, only.high) == (pytest.approx(only.mid - half, abs=1e-3), pytest.approx(only.mid + half, abs=1e-3))
    assert preview.verdict == "within-trend" and preview.method_name == "trend"
    assert "Theil–Sen" in preview.method and "Student's t (df = 4)" in preview.method
    assert target_preview(UP, points(ys), target=6, due=D(2026, 7, 31), today=TODAY).verdict == "beyond-history"


def test_noiseless_trend_is_projected_exactly_but_a_new_high_is_beyond_history():
    line = [10 + 2.5 * i for i in range(12)]  # 2026-01 … 2026-12, up to 37.5
    preview = target_preview(UP, points(line), target=52.5, due=D(2027, 6, 30), today=D(2027, 1, 10))
    assert len(preview.projection) == 6
    for step, point in enumerate(preview.projection, start=12):
        expected = 10 + 2.5 * step
        assert point.mid == pytest.approx(expected)
        assert point.low is not None and point.high is not None
        assert point.high - point.low == pytest.approx(0, abs=1e-9)
    # At 2027-06 the line is at 52.5: on the trend, but no month has been there.
    assert (preview.verdict, preview.target_position) == ("beyond-history", "in-band")
    assert "band reaches it" in preview.verdict_text
    easy = target_preview(UP, points(line), target=30, due=D(2027, 6, 30), today=D(2027, 1, 10))
    assert (easy.verdict, easy.target_position) == ("within-trend", "below-band")
    assert any("more ambitious" in note for note in easy.notes)


def test_one_jump_is_not_a_trend():
    # A rate flat near 3 %, one jump to 13–14.5 %, back to 10 %: the best ever is 14.5 %.
    rate = Kpi(id="conv", name="Conversion", direction="up", unit_of_measure="percent")
    values = [0.03, 0.031, 0.029, 0.03, 0.032, 0.133, 0.145, 0.142, 0.135, 0.10]
    preview = target_preview(rate, points(values), target=0.15, due=D(2026, 12, 31), today=TODAY)
    assert preview.verdict == "beyond-history"
    assert "14.5%" in preview.verdict_text
    assert all(0 <= v <= 1 for p in preview.projection for v in (p.low, p.mid, p.high) if v is not None)


def test_verdicts_up():
    values = [100, 104, 98, 103, 101, 126, 99, 102, 97, 100]  # flat, one spike to 126
    preview = target_preview(UP, points(values), target=102, due=D(2026, 12, 31), today=TODAY)
    band = preview.projection[-1]
    assert band.low is not None and band.high is not None
    assert band.low < 102 < band.high < 120 < 126
    assert preview.verdict == "within-trend"
    stretch = target_preview(UP, points(values), target=120, due=D(2026, 12, 31), today=TODAY)
    assert (stretch.verdict, stretch.target_position) == ("stretch", "above-band")
    beyond = target_preview(UP, points(values), target=130, due=D(2026, 12, 31), today=TODAY)
    assert beyond.verdict == "beyond-history"
    easy = target_preview(UP, points(values), target=band.low - 1, due=D(2026, 12, 31), today=TODAY)
    assert (easy.verdict, easy.target_position) == ("within-trend", "below-band")
    assert any("more ambitious" in note for note in easy.notes)


def test_verdicts_down():
    values = [100, 96, 102, 97, 99, 74, 101, 98, 103, 100]  # flat, one dip to 74
    preview = target_preview(DOWN, points(values), target=80, due=D(2026, 12, 31), today=TODAY)
    band = preview.projection[-1]
    assert band.low is not None and 74 < 80 < band.low
    assert preview.verdict == "stretch"
    assert target_preview(DOWN, points(values), target=70, due=D(2026, 12, 31), today=TODAY).verdict == (
        "beyond-history"
    )
    easy = target_preview(DOWN, points(values), target=130, due=D(2026, 12, 31), today=TODAY)
    assert (easy.verdict, easy.target_position) == ("within-trend", "above-band")


def test_short_history_has_no_band_and_judges_by_values_reached():
    three = points([90, 95, 100])  # 2026-01 … 2026-03
    due = D(2026, 6, 30)
    preview = target_preview(UP, three, target=121, due=due, today=TODAY)
    assert any("Only 3 periods" in note for note in preview.notes)
    assert preview.verdict == "beyond-history"  # nothing so far reached 121
    assert preview.projection == [] and "No projection" in preview.method
    assert target_preview(UP, three, target=95, due=due, today=TODAY).verdict == "within-trend"  # 100 ≥ 95
    assert target_preview(DOWN, three, target=92, due=due, today=TODAY).verdict == "stretch"  # 90 once
    four = target_preview(UP, points([90, 95, 100, 97]), target=99, due=due, today=TODAY)
    assert len(four.projection) == 2 and all(p.low is None and p.high is None for p in four.projection)
    assert "no band" in four.method and four.verdict == "stretch"
    one = target_preview(UP, points([90]), target=99, due=due, today=TODAY)
    assert one.historical_change_attainment is None
    assert one.as_dict()["history"]["periods"] == 1
    no_nan(one.as_dict())


def test_stale_history_too_far_and_a_passed_due_date_are_stated():
    old = points([100 + 3 * i for i in range(12)], start=D(2017, 6, 1))  # 2017-06 … 2018-05
    today = D(2026, 12, 5)
    far = target_preview(UP, old, target=120, due=D(2027, 12, 31), today=today)
    assert far.verdict == "too-far-to-project"
    assert far.periods_ahead == 115 and far.max_periods_ahead == 12 and len(far.projection) == 12
    assert far.stale and far.periods_since_data == 102 and not far.due_passed
    assert far.verdict_text.startswith("Too far to project: 2027-12 is 115 months after the last data (2018-05)")
    assert "The history ends 2018-05, 103 months before today (2026-12-05)" in far.verdict_text
    past = target_preview(UP, old, target=120, due=D(2018, 12, 31), today=today)
    assert past.due_passed and "The due date 2018-12-31 has passed" in past.verdict_text
    assert past.verdict == "within-trend"  # the verdict still says what the data said, the text says when
    fresh = target_preview(UP, points(HISTORY), target=121, due=D(2026, 12, 31), today=TODAY)
    assert not fresh.stale and not fresh.due_passed and fresh.as_dict()["data_as_of"] == "2026-10-31"
    assert fresh.as_dict()["last_complete_period"] == {"period": "2026-10-01", "label": "2026-10"}


def test_projections_stay_in_the_kpis_domain():
    rate = Kpi(id="conv", name="Conversion", direction="up", unit_of_measure="percent")
    rising = [0.5 + 0.05 * i for i in range(10)]  # 50 % → 95 %: the line leaves 100 % soon
    preview = target_preview(rate, points(rising), target=0.97, due=D(2027, 6, 30), today=TODAY)
    assert max(p.high for p in preview.projection if p.high is not None) == 1.0
    assert any("held within the KPI's domain" in note for note in preview.notes)
    count = Kpi(id="leads", name="Leads", direction="down", unit_of_measure="count")
    falling = [900 - 100 * i for i in range(9)]  # 900 → 100
    down = target_preview(count, points(falling), target=50, due=D(2027, 6, 30), today=TODAY)
    assert min(p.low for p in down.projection if p.low is not None) == 0
    cash = Kpi(id="net_cash_flow", name="Net cash flow", direction="up", unit_of_measure="currency")
    signed = target_preview(cash, points(falling), target=1000, due=D(2027, 3, 31), today=TODAY)
    assert min(p.mid for p in signed.projection) < 0, "a net cash flow can be negative"
    assert signed.as_dict()["domain"]["low"] is None


def test_rate_changes_are_in_percentage_points():
    from kpi_model.whatif.target_result import format_change

    assert format_change(0.007, "percent") == "+0.70 pp"
    rate = Kpi(id="conv", name="Conversion", direction="up", unit_of_measure="percent")
    preview = target_preview(rate, points([0.10] * 10), target=0.114, due=D(2026, 12, 31), today=TODAY)
    assert preview.as_dict()["required_change_text"] == {"absolute": "+1.40 pp", "per_period": "+0.70 pp"}


def test_weekly_and_quarterly_grains():
    weekly = points([10, 11, 12, 13, 14], start=D(2026, 9, 7), grain="week")  # W37 … W41
    preview = target_preview(UP, weekly, target=20, due=D(2026, 11, 1), grain="week", today=TODAY)
    assert preview.as_dict()["baseline"]["label"] == "2026-W41"
    assert preview.periods_remaining == 3  # W42, W43, W44 (Sun 1 Nov is in W44)
    assert preview.linear_per_period == pytest.approx(2)
    quarterly = points([50, 55, 60, 65], start=D(2025, 10, 1), grain="quarter")
    preview = target_preview(UP, quarterly, target=80, due=D(2027, 3, 31), grain="quarterly", today=TODAY)
    assert preview.as_dict()["baseline"]["label"] == "2026-Q3"  # 2026-Q4 is not complete on 15 Nov
    assert preview.periods_remaining == 2


# ----------------------------------------------------------------------------------- drivers


@pytest.fixture(scope="module")
def sample():
    return load(SAMPLE_WORKSPACE)


SAMPLE_VALUES = {"sessions": 10359.0, "conversion_rate": 0.0379, "average_order_value": 130.47}


def test_sample_driver_tree(sample):
    tree = driver_tree(sample, "web_revenue")
    assert tree.leaves() == ["sessions", "conversion_rate", "average_order_value"]
    assert tree.expression == "sessions * conversion_rate * average_order_value"
    assert all(child.is_leaf for child in tree.children)
    assert tree.as_dict()["children"][0] == {"id": "sessions", "name": "Web shop sessions", "expression": None,
                                             "children": []}  # fmt: skip
    assert driver_tree(sample, "mqls").is_leaf


def test_evaluate_is_the_product(sample):
    assert evaluate(sample, "web_revenue", SAMPLE_VALUES) == pytest.approx(10359 * 0.0379 * 130.47)
    with pytest.raises(WhatIfError, match="no value for driver 'average_order_value'"):
        evaluate(sample, "web_revenue", {"sessions": 1, "conversion_rate": 1})
    with pytest.raises(UnknownKpiError, match="did you mean 'web_revenue'"):
        evaluate(sample, "web_revenu", SAMPLE_VALUES)


def test_sensitivity_of_a_pure_product_is_one(sample):
    results = sensitivity(sample, "web_revenue", SAMPLE_VALUES)
    assert {r.driver for r in results} == set(SAMPLE_VALUES)
    revenue = 10359 * 0.0379 * 130.47
    for result in results:
        assert result.relative == pytest.approx(0.01)  # +1 % in any factor is +1 % in the product
        assert result.elasticity == pytest.approx(1.0)
        assert result.absolute == pytest.approx(revenue * 0.01)


def test_what_if_relative_and_absolute(sample):
    revenue = 10359 * 0.0379 * 130.47
    moved = what_if(sample, "web_revenue", SAMPLE_VALUES, {"sessions": 0.10, "conversion_rate": 0.05}, relative=True)
    assert moved["web_revenue"] == (pytest.approx(revenue), pytest.approx(revenue * 1.10 * 1.05))
    assert moved["sessions"] == (10359, pytest.approx(11394.9))
    assert moved["average_order_value"] == (130.47, 130.47)
    plus = what_if(sample, "web_revenue", SAMPLE_VALUES, {"sessions": 1000}, relative=False)
    assert plus["web_revenue"][1] - plus["web_revenue"][0] == pytest.approx(1000 * 0.0379 * 130.47)
    with pytest.raises(WhatIfError, match="not in the driver tree"):
        what_if(sample, "web_revenue", SAMPLE_VALUES, {"mqls": 0.1}, relative=True)


def _workspace(**formulas: str) -> Workspace:
    """Leaves a, b, c (computed from a source) and the given derived KPIs."""
    leaves = [Kpi(id=name, name=name.upper(), source="t", expression="sum(x)", time_column="d") for name in "abc"]
    derived = [Kpi(id=kpi_id, name=kpi_id, expression=text) for kpi_id, text in formulas.items()]
    return Workspace(name="w", sources=[Source(name="t")], kpis=[*leaves, *derived])


def test_divide_by_zero_gives_none():
    ws = _workspace(ratio="a / b", top="ratio * c")
    assert evaluate(ws, "ratio", {"a": 6, "b": 3}) == 2
    assert evaluate(ws, "ratio", {"a": 6, "b": 0}) is None
    assert evaluate(ws, "top", {"a": 6, "b": 0, "c": 2}) is None  # NULL propagates, as in SQL
    moved = what_if(ws, "top", {"a": 6, "b": 3, "c": 2}, {"b": -3}, relative=False)
    assert moved["top"] == (4, None) and moved["ratio"] == (2, None)
    results = sensitivity(ws, "top", {"a": 6, "b": 0, "c": 2})
    assert all(r.elasticity is None for r in results)


def test_evaluator_functions():
    ws = _workspace(
        f="-(a - b) * 2 + abs(-c) / 4",
        g="coalesce(a / b, c) + greatest(a, b, c) - least(a, c)",
        h="nullif(a, b) + 1",
        i="round(a)",
    )
    # −(5 − 3)·2 + |−8|/4 = −4 + 2 = −2
    assert evaluate(ws, "f", {"a": 5, "b": 3, "c": 8}) == pytest.approx(-2)
    # b = 0: coalesce(NULL, 8) = 8; greatest(5, 0, 8) = 8; least(5, 8) = 5 → 11
    assert evaluate(ws, "g", {"a": 5, "b": 0, "c": 8}) == pytest.approx(11)
    assert evaluate(ws, "h", {"a": 5, "b": 5}) is None  # nullif(5, 5) is NULL
    assert evaluate(ws, "h", {"a": 5, "b": 4}) == 6
    with pytest.raises(WhatIfError, match="'round' cannot be evaluated"):
        evaluate(ws, "i", {"a": 5})


def test_nested_tree_and_moving_a_derived_kpi():
    ws = _workspace(mid="a + b", top="mid * c")
    tree = driver_tree(ws, "top")
    assert tree.leaves() == ["a", "b", "c"]
    assert tree.ids() == ["top", "mid", "a", "b", "c"]
    base = {"a": 1, "b": 3, "c": 10}
    assert evaluate(ws, "top", base) == 40
    moved = what_if(ws, "top", base, {"mid": 0.5}, relative=True)  # mid 4 → 6, pinned
    assert moved["top"] == (40, 60) and moved["a"] == (1, 1)
    elasticities = {r.driver: r.elasticity for r in sensitivity(ws, "top", base)}
    # top = (a + b)·c: +1 % in a adds 0.01 to mid (4 → 4.01), i.e. +0.25 % → elasticity 0.25.
    assert elasticities == {"c": pytest.approx(1.0), "b": pytest.approx(0.75), "a": pytest.approx(0.25)}


def test_decomposition_suggestions(sample):
    revenue = sample.kpi("revenue")
    assert decomposition_suggestions(revenue) == ["sessions * conversion_rate * average_order_value"]
    assert decomposition_suggestions(sample.kpi("mqls")) == []  # its template has no decomposition
    by_name = Kpi(id="gm_total", name="Gross margin of all stores")
    assert decomposition_suggestions(by_name) == ["(revenue - cost_of_goods_sold) / revenue"]
    assert decomposition_suggestions(Kpi(id="headcount", name="Headcount")) == []


def test_latest_values_skip_incomplete_and_errors():
    series = {
        "a": points([1, 2, 3, 99], start=D(2026, 8, 1)),  # 2026-11 is not complete on 15 Nov
        "b": WhatIfError("no data"),
        "c": [],
    }
    assert latest_values(series, today=TODAY) == {"a": 3}


# ---------------------------------------------------------------------------------- lead/lag


def shifted_pair(lag: int, *, seed: int, periods: int = 36, noise: float = 0.3, grain: str = "month"):
    """lagging[t + lag] = 2·leading[t] + 10 + noise: the answer is ``lag``."""
    rng = random.Random(seed)
    x = [rng.gauss(0, 1) for _ in range(periods)]
    leading = points(x, start=D(2024, 1, 1), grain=grain)
    lagging = [Point(shift_period(p.period, lag, grain), 2 * p.value + 10 + rng.gauss(0, noise), 1) for p in leading]
    return leading, lagging


@pytest.mark.parametrize("lag", [1, 2, 3])
def test_shifted_series_found_at_its_lag(lag):
    leading, lagging = shifted_pair(lag, seed=lag)
    # Aligned by date, not by position: drop some lagging periods and shuffle the rest.
    lagging = lagging[4:]
    random.Random(0).shuffle(lagging)
    result = lead_lag(leading, lagging, leading_name="MQLs", lagging_name="deals won")
    assert result.best_lag == lag
    assert result.correlation is not None and result.correlation > 0.9
    assert result.verdict == "leads"
    assert result.message.startswith(f"Changes in MQLs show up in deals won {lag} month")
    assert (
        "on period-to-period changes" in result.message and "p < 0.001 allowing for the 7 lags tried" in result.message
    )
    assert [item.lag for item in result.by_lag] == [0, 1, 2, 3]
    assert [item.lag for item in result.reverse_by_lag] == [-1, -2, -3]
    data = result.as_dict()
    assert data["by_lag"][lag]["periods"] == 31  # 36 − 4 dropped = 32 months, 31 changes
    assert data["tested_on"] == "changes" and data["lags_tested"] == 7 and data["excluded_lags"] == []
    assert data["p_value"] < 0.001 and data["lag_p_value"] <= data["p_value"]
    # Changes of white noise swing back (lag-1 autocorrelation −0.5 on both sides): n_eff ≈ 0.6·n.
    assert 12 < data["effective_n"] <= 31
    assert {"verdict", "best_lag", "correlation", "periods", "by_lag"} <= set(data)
    no_nan(data)


def test_weekly_defaults_and_lag():
    leading, lagging = shifted_pair(5, seed=5, periods=60, grain="week")
    result = lead_lag(leading, lagging, cadence="weekly")
    assert (result.max_lag, result.focus) == (6, (4, 6))
    assert result.best_lag == 5 and result.verdict == "leads"
    assert "5 weeks later" in result.message
    quarterly = lead_lag(*shifted_pair(1, seed=1, periods=16, grain="quarter"), cadence="quarterly")
    assert quarterly.max_lag == 2 and quarterly.best_lag == 1 and quarterly.verdict == "leads"


def test_the_lagging_kpi_moving_first_is_reverse():
    leading, lagging = shifted_pair(2, seed=2)
    result = lead_lag(lagging, leading, leading_name="deals won", lagging_name="MQLs")
    assert (result.verdict, result.best_lag) == ("reverse", -2)
    assert result.message.startswith("The other way round: changes in MQLs show up in deals won 2 months later")
    assert "MQLs looks like the leading one" in result.message
    assert result.as_dict()["reverse_by_lag"][1]["lag"] == -2


def test_random_pair_is_no_evidence():
    rng = random.Random(42)
    x = points([rng.gauss(0, 1) for _ in range(120)], start=D(2010, 1, 1))
    y = points([rng.gauss(0, 1) for _ in range(120)], start=D(2010, 1, 1))
    result = lead_lag(x, y, leading_name="noise", lagging_name="other noise")
    assert result.verdict == "no-evidence" and result.p_value is not None and result.p_value >= 0.05
    assert result.message.startswith("No evidence of a lead from noise to other noise (tested period-to-period changes")
    assert f"p = {result.p_value:.2f} allowing for the 7 lags tried" in result.message
    assert "would have counted" not in result.message, "120 months can show any relation worth managing by"
    assert result.detectable_r is not None and result.detectable_r < 0.5
    only_now = lead_lag(x, y, max_lag=0, leading_name="noise", lagging_name="other noise")
    assert (
        "the same month only" in only_now.message
        and "p = " in only_now.message
        and ", one lag tested" in only_now.message
    )
    assert only_now.lags_tested == 1 and only_now.reverse_by_lag == []


def test_same_month_is_coincident():
    rng = random.Random(7)
    x = [rng.gauss(0, 1) for _ in range(48)]
    same = lead_lag(points(x), points([v + rng.gauss(0, 0.2) for v in x]), leading_name="a", lagging_name="b")
    assert (same.verdict, same.best_lag) == ("coincident", 0)
    assert same.message.startswith("a and b change in the same month (r = ")
    assert same.message.endswith("; no lead of up to 3 months is as clear")


def test_constant_series_is_too_little_data_not_a_crash():
    leading = points([5.0] * 24)
    lagging = points([float(i % 7) for i in range(24)])
    result = lead_lag(leading, lagging, leading_name="flat", lagging_name="wavy")
    assert result.verdict == "too-little-data"
    assert result.best_lag is None and result.correlation is None and result.p_value is None
    assert all(item.correlation is None and not item.counted for item in result.by_lag)
    assert "flat does not change" in result.message
    no_nan(result.as_dict())


def test_two_periods_is_too_little_data():
    result = lead_lag(points([1.0, 2.0]), points([3.0, 5.0]))
    assert result.verdict == "too-little-data"
    assert result.message == (
        "Too little data to tell: only 1 paired change (at lags of 0 to 3 months each way; at least 6 are needed)"
    )
    assert lead_lag([], []).periods == 0
    with pytest.raises(WhatIfError):
        lead_lag([], [], max_lag=-1)


def test_eight_quarters_cannot_tell_even_a_strong_relation():
    rng = random.Random(0)
    leading = points([rng.gauss(0, 1) for _ in range(8)], grain="quarter")
    lagging = points([rng.gauss(0, 1) for _ in range(8)], grain="quarter")
    result = lead_lag(leading, lagging, cadence="quarterly")
    assert result.verdict == "too-little-data" and result.best_lag is None
    assert result.detectable_r is None or result.detectable_r >= 0.9
    assert result.message.startswith("Too little data to tell: at lags of 0 to 2 quarters each way, ")
    assert result.excluded_lags == [-2, 2], "7 changes leave 5 pairs at a lag of 2"
    assert [item.counted for item in result.by_lag] == [True, True, False]


def test_changes_remove_a_shared_trend_and_levels_say_so():
    rng = random.Random(3)
    # Both grow steadily; their month-to-month wiggles are unrelated.
    a = points([100 + 5 * i + rng.gauss(0, 2) for i in range(40)])
    b = points([50 + 3 * i + rng.gauss(0, 2) for i in range(40)])
    changes = lead_lag(a, b)
    assert changes.verdict == "no-evidence" and changes.differenced and changes.tested_on == "changes"
    assert math.isclose(changes.by_lag[0].periods, 39)
    assert lead_lag(a, b, differenced=True) == changes, "the old switch: changes are the default now"
    levels = lead_lag(a, b, levels=True)
    assert levels.tested_on == "levels" and "on levels" in levels.message
    assert levels.by_lag[0].correlation is not None and levels.by_lag[0].correlation > 0.9
    # r > 0.9 on levels, but a trend leaves few independent pairs: nothing like 40.
    assert levels.by_lag[0].effective_n is not None and levels.by_lag[0].effective_n < 10


def test_empty_periods_of_a_count_are_zeros():
    rng = random.Random(5)
    x = [float(rng.randint(0, 3)) for _ in range(36)]
    x[10] = x[11] = 0.0
    lead = [p for p in points(x) if p.value]  # a GROUP BY has no row for a month without rows
    lag = points([2 * v + rng.gauss(0, 0.1) for v in x], start=shift_period(START, 1, "month"))
    dropped = lead_lag(lead, lag)
    filled = lead_lag(lead, lag, leading_empty_is_zero=True)
    assert filled.by_lag[1].periods == 35 > dropped.by_lag[1].periods
    assert (filled.verdict, filled.best_lag) == ("leads", 1)
    assert filled.as_dict()["empty_periods_as_zero"] == {"leading": True, "lagging": False}
    # Only inside the series' own span: no zeros invented before its first or after its last value.
    late = lead_lag(lead[5:], lag, leading_empty_is_zero=True)
    assert late.by_lag[0].periods < filled.by_lag[0].periods


def test_a_series_counts_its_complete_periods_and_its_covered_empty_ones():
    # Data from 2024-01-01 to 2026-06-15: June 2026 is partial; January and February 2024 had no rows.
    x = [float(3 + i % 5) for i in range(30)]
    months = points(x, start=D(2024, 1, 1))[2:]
    series = Series("leads", SeriesRequest(grain="month"), months, coverage=Coverage(D(2024, 1, 1), D(2026, 6, 15)))
    lagging = points([float(i % 7) for i in range(60)], start=D(2023, 1, 1))  # plain points: taken as given

    def pairs(leading, **options):
        return lead_lag(leading, lagging, today=TODAY, **options).by_lag[0].periods

    assert pairs(series, leading_empty_is_zero=True) == 28  # 2024-01..2026-05: 29 months, 28 changes
    assert pairs(series) == 26  # 2024-03..2026-05
    assert pairs(months, leading_empty_is_zero=True) == 27  # plain points: 2024-03..2026-06, partial June too


@pytest.mark.parametrize(
    ("unit", "expression", "source", "expected"),
    [
        ("count", "count(*)", "t", True),
        ("count", "count(DISTINCT customer_id) FILTER (WHERE status = 'won')", "t", True),
        ("currency", "sum(amount)", "t", True),
        ("currency", "avg(amount)", "t", False),
        ("percent", "count(*) FILTER (WHERE late) / count(*)", "t", False),
        ("count", "sum(a) / count(*)", "t", False),
        ("count", "mqls * rate", None, False),
        ("count", "count(", "t", False),
    ],
)
def test_which_kpis_are_zero_when_empty(unit, expression, source, expected):
    kpi = Kpi(id="k", name="K", unit_of_measure=unit, expression=expression, source=source)
    assert empty_means_zero(kpi) is expected


def test_p_values_match_students_t():
    # Reference values: scipy.stats.pearsonr / t.sf for the same r and n.
    assert correlation_p_value(0.5, 20) == pytest.approx(0.02477, abs=1e-5)
    assert correlation_p_value(0.3, 100) == pytest.approx(0.002426, abs=1e-6)
    assert correlation_p_value(-0.9, 5) == pytest.approx(0.03739, abs=1e-5)
    assert correlation_p_value(0.0, 30) == pytest.approx(1.0)
    assert correlation_p_value(0.99, 2) == 1.0, "no degrees of freedom, no evidence"
    assert sidak(0.01, 7) == pytest.approx(1 - 0.99**7) and sidak(0.2, 1) == 0.2


def test_effective_n_shrinks_with_shared_autocorrelation():
    rng = random.Random(1)

    def ar(phi):
        value, out = 0.0, []
        for _ in range(400):
            value = phi * value + rng.gauss(0, 1)
            out.append(value)
        return out

    assert effective_n(400, ar(0.0), ar(0.0)) > 330
    assert 40 < effective_n(400, ar(0.8), ar(0.8)) < 110  # theory: 400·0.36/1.64 ≈ 88
    assert effective_n(400, ar(0.8), ar(-0.8)) == 400, "capped: opposite autocorrelations add nothing"


def _monthly(values: list[float]) -> list[Point]:
    """One point a month from January 2024."""
    return [Point(period=D(2024 + i // 12, i % 12 + 1, 1), value=v, rows=1) for i, v in enumerate(values)]


def test_a_record_the_steady_trend_reaches_is_amber_not_red():
    """A KPI climbing 1 a month reaches 45 in 2026-12 on its trend, though it has never been there."""
    kpi = Kpi(id="k", name="Orders", direction="up", unit_of_measure="count")
    rng = random.Random(3)
    points = _monthly([10 + i + rng.uniform(-0.4, 0.4) for i in range(24)])  # 2024-01 … 2025-12, up to ~33
    preview = target_preview(kpi, points, target=40, due=D(2026, 12, 31), today=D(2026, 1, 10))
    assert preview.verdict == "beyond-history" and preview.reached_on_projection and not preview.moving_away
    assert "Its projection gets there by 2026-12 if the recent pattern holds" in preview.verdict_text
    assert "plan what will change" not in preview.verdict_text


def test_a_target_the_trend_moves_away_from_is_said_to_be():
    """Net cash fell from +17k to −25k: +5k was reached before, but the trend runs the other way."""
    kpi = Kpi(id="cash", name="Net cash flow", direction="up", unit_of_measure="currency")
    points = _monthly([17_000 - 1_500 * i for i in range(30)])
    preview = target_preview(kpi, points, target=5_000, due=D(2026, 12, 31), today=D(2026, 7, 10))
    assert preview.verdict == "stretch" and preview.moving_away
    assert "The KPI is moving away from the target" in preview.verdict_text


def test_a_passed_due_date_the_data_does_not_reach_is_not_compared():
    kpi = Kpi(id="k", name="Orders", direction="up", unit_of_measure="count")
    points = _monthly([100.0 + i for i in range(35)])  # 2024-01 … 2026-11, November partial
    coverage = Coverage(D(2024, 1, 1), D(2026, 11, 15))
    preview = target_preview(kpi, points, target=140, due=D(2026, 11, 30), today=D(2026, 12, 5), coverage=coverage)
    assert "the data ends 2026-11-15, before it" in preview.verdict_text
    assert "compare with what happened" not in preview.verdict_text


def test_levels_of_drifting_kpis_point_to_testing_changes():
    """A random walk and its echo two months later, on levels: 36 months count as about 4 independent ones."""
    rng = random.Random(9)
    walk = [100.0]
    for _ in range(35):
        walk.append(walk[-1] + rng.gauss(0, 5))
    echo = [0.25 * walk[max(0, i - 2)] + rng.gauss(0, 1) for i in range(36)]
    on_levels = lead_lag(_monthly(walk), _monthly(echo), max_lag=3, cadence="month", levels=True, today=D(2026, 12, 5))
    assert on_levels.verdict == "too-little-data" and (on_levels.effective_n or 99) < 6
    assert "test period-to-period changes instead (recommended)" in on_levels.message
    on_changes = lead_lag(_monthly(walk), _monthly(echo), max_lag=3, cadence="month", today=D(2026, 12, 5))
    assert (on_changes.verdict, on_changes.best_lag) == ("leads", 2), on_changes.message

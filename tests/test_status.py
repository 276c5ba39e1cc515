"""Traffic lights and value formatting."""

from __future__ import annotations

import pytest

from kpi_model.models import Kpi
from kpi_model.status import Status, format_value, gap_to_target, status


def kpi(**fields) -> Kpi:
    return Kpi(id="k", name="K", **fields)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.31, Status.GREEN), (0.27, Status.GREEN), (0.26, Status.AMBER), (0.24, Status.AMBER), (0.2, Status.RED)],
)
def test_up_thresholds(value, expected):
    assert status(kpi(direction="up", thresholds={"warning": 0.27, "critical": 0.24}), value) == expected


@pytest.mark.parametrize(("value", "expected"), [(3.0, Status.GREEN), (4.5, Status.AMBER), (7.0, Status.RED)])
def test_down_thresholds_are_mirrored(value, expected):
    assert status(kpi(direction="down", thresholds={"warning": 4, "critical": 6}), value) == expected


def test_range_and_target_only_and_unknown():
    ranged = kpi(direction="range", target={"low": 1, "high": 3})
    assert status(ranged, 2) == Status.GREEN and status(ranged, 4) == Status.RED
    target_only = kpi(direction="up", target={"value": 10})
    assert status(target_only, 12) == Status.GREEN and status(target_only, 8) == Status.AMBER
    assert status(kpi(), 5) == Status.UNKNOWN and status(target_only, None) == Status.UNKNOWN


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0.1234, "percent", "12.3%"),
        (12345.6, "count", "12,346"),
        (1234567.8, "currency", "1,234,568"),
        (12.5, "currency", "12.50"),
        (None, "count", "—"),
        (4.25, "score", "4.25"),
        (0.01234, "ratio", "0.0123"),
    ],
)
def test_format_value(value, unit, text):
    assert format_value(value, unit) == text


def test_gap_to_target():
    assert gap_to_target(kpi(target={"value": 100}), 88) == "12% short of target"
    assert gap_to_target(kpi(target={"value": 100}), 110) == "10% past target"
    assert gap_to_target(kpi(direction="down", target={"value": 100}), 119) == "19% over target"
    assert gap_to_target(kpi(direction="down", target={"value": 100}), 95) == "5% under target"
    assert (
        gap_to_target(kpi(direction="range", target={"low": 90, "high": 110, "value": 100}), 88) == "12% below target"
    )
    assert gap_to_target(kpi(target={"value": 100}), 100.2) == "at target"
    assert gap_to_target(kpi(), 5) is None


def test_bands_follow_the_status_rules():
    from kpi_model.status import bands

    up = kpi(direction="up", thresholds={"warning": 0.27, "critical": 0.24})
    assert bands(up, 0.0, 0.5) == [(0.0, 0.24, Status.RED), (0.24, 0.27, Status.AMBER), (0.27, 0.5, Status.GREEN)]
    down = kpi(direction="down", thresholds={"warning": 4, "critical": 6})
    assert bands(down, 0, 10) == [(0, 4, Status.GREEN), (4, 6, Status.AMBER), (6, 10, Status.RED)]
    ranged = kpi(direction="range", target={"low": 1, "high": 3})
    assert [b[2] for b in bands(ranged, 0, 5)] == [Status.RED, Status.GREEN, Status.RED]
    assert bands(kpi(direction="up", target={"value": 10}), 0, 20) == [(0, 10, Status.AMBER), (10, 20, Status.GREEN)]
    assert bands(kpi(), 0, 1) == []
    clipped = bands(up, 0.25, 0.5)
    assert clipped[0] == (0.25, 0.27, Status.AMBER), "bands outside the visible range are dropped or clipped"
    for value in (0.1, 0.25, 0.3):
        (level,) = [b[2] for b in bands(up, 0.0, 0.5) if b[0] <= value < b[1]]
        assert level == status(up, value), "a band's colour is the status of the values inside it"


def test_latest_point_ignores_future_and_empty_periods():
    import datetime as dt

    from kpi_model.engine import Point
    from kpi_model.status import latest_point

    points = [
        Point(dt.date(2026, 9, 1), 5.0, 10),
        Point(dt.date(2026, 10, 1), 6.0, 12),
        Point(dt.date(2026, 11, 1), None, 0),
        Point(dt.date(2027, 3, 1), 238.0, 1),
    ]
    assert latest_point(points, today=dt.date(2026, 11, 23)).period == dt.date(2026, 10, 1)
    assert latest_point(points[2:3], today=dt.date(2026, 11, 23)) is None
    quarters = [Point(dt.date(2026, 7, 1), 0.3, 90), Point(dt.date(2026, 10, 1), 0.0, 3)]
    assert latest_point(quarters, "quarter", today=dt.date(2026, 11, 23)).period == dt.date(2026, 7, 1), (
        "the running quarter is not the latest figure"
    )
    assert latest_point(quarters, "quarter", today=dt.date(2027, 1, 1)).period == dt.date(2026, 10, 1)


def test_latest_point_skips_a_period_the_data_stops_inside():
    import datetime as dt

    from kpi_model.engine import Point
    from kpi_model.periods import Coverage
    from kpi_model.status import latest_point

    points = [Point(dt.date(2018, 10, 1), 21.0, 21), Point(dt.date(2018, 11, 1), 6.0, 6)]
    today = dt.date(2026, 12, 5)
    assert latest_point(points, today=today).period == dt.date(2018, 11, 1), "the calendar alone is fooled"
    covered = Coverage(dt.date(2017, 12, 5), dt.date(2018, 11, 14))
    assert latest_point(points, today=today, coverage=covered).period == dt.date(2018, 10, 1)
    assert latest_point(points[1:], today=today, coverage=covered) is None, "a partial period alone is never judged"


def test_unjudged_note_names_the_partial_period_and_the_judged_one():
    import datetime as dt

    from kpi_model.engine import Point, Series
    from kpi_model.formula import SeriesRequest
    from kpi_model.periods import Coverage
    from kpi_model.status import latest_of, unjudged_note

    today = dt.date(2026, 12, 5)
    points = [Point(dt.date(2018, 10, 1), 0.9, 110), Point(dt.date(2018, 11, 1), 0.255, 110)]
    series = Series("otd", SeriesRequest(), points, coverage=Coverage(dt.date(2018, 1, 1), dt.date(2018, 11, 14)))
    judged = latest_of(series, today)
    assert judged.value == 0.9
    assert unjudged_note(series, judged, today, unit="percent") == (
        "Status of 2018-10, the latest complete month; 2018-11 so far: 25.5%, partial (data as of 2018-11-14), "
        "not judged."
    )
    only_partial = Series("otd", SeriesRequest(), points[1:], coverage=series.coverage)
    assert unjudged_note(only_partial, None, today, unit="percent") == (
        "2018-11 so far: 25.5%, partial (data as of 2018-11-14), not judged: no complete month yet."
    )
    complete = Series("otd", SeriesRequest(), points[:1], coverage=series.coverage)
    assert unjudged_note(complete, latest_of(complete, today), today) is None


def test_numbers_never_come_out_in_scientific_notation():
    from kpi_model.models import Kpi, UnitOfMeasure
    from kpi_model.status import format_value, kpi_value
    from kpi_model.whatif.target_result import format_change
    from kpi_model.whatif.targets import target_concerns

    assert format_value(4_239_500.0, None) == "4,239,500"
    assert format_value(0.0000123, None) == "0.0000123"
    assert format_change(0.0000123, None) == "+0.0000123"
    assert kpi_value(Kpi(id="t", name="Resolution time (hours)", unit_of_measure=UnitOfMeasure.DURATION), 4.25) == (
        "4.2 h"
    )
    count = Kpi(id="c", name="Orders", unit_of_measure=UnitOfMeasure.COUNT)
    (concern,) = [m for _, m in target_concerns(count, 10.0, -4_239_500.0) if "below zero" in m]
    assert "-4,239,500" in concern and "e+06" not in concern


def test_a_gap_across_zero_is_an_amount_not_a_share():
    from kpi_model.models import Target

    cash = Kpi(id="cash", name="Net cash flow", direction="up", unit_of_measure="currency", target=Target(value=5000))
    assert gap_to_target(cash, -24_895.0) == "29,895 short of target"
    assert gap_to_target(cash, 4_000.0) == "20% short of target"
    zero = Kpi(id="z", name="Defects", direction="down", unit_of_measure="count", target=Target(value=0))
    assert gap_to_target(zero, 3.0) == "3 over target" and gap_to_target(zero, 0.0) == "at target"


def test_minus_zero_and_absurd_magnitudes_print_sensibly():
    from kpi_model.models import UnitOfMeasure

    assert format_value(-0.0, UnitOfMeasure.COUNT) == "0"
    assert format_value(1e300, UnitOfMeasure.CURRENCY) == "1.000e+300", "not 301 digits"

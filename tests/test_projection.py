"""Projections against the truth: seeded simulations with a known trend, season and noise, then Olist.

Each simulation draws series whose future is known, projects them with
:func:`kpi_model.whatif.projection.project` and checks what a user is told: that 80 % bands hold
80 % of outcomes even with a handful of points, that one jump does not tilt the trend, that the
method chosen on held-out periods is the right one, and that no projection leaves the KPI's
domain. ``pytest -s`` prints the figures quoted in docs/whatif.md.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import statistics
from pathlib import Path

import pytest

from kpi_model.engine import Engine
from kpi_model.models import Kpi, Source, Workspace
from kpi_model.periods import period_from_index
from kpi_model.whatif import target_preview
from kpi_model.whatif.projection import MIN_BAND_PERIODS, Domain, kpi_domain, project
from kpi_model.whatif.stats import t_quantile, theil_sen

FREE = Domain(None, None, "unbounded")
START = 2020 * 12  # period index of 2020-01


def history(values, start=START):
    return {period_from_index(start + i, "month"): v for i, v in enumerate(values)}


def ols(xs, ys):
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return slope, my - slope * mx, mx, sxx


# ------------------------------------------------------------------------------ band coverage


def coverage(n: int, ahead: int, runs: int, rng: random.Random) -> tuple[float, float]:
    """Share of true outcomes inside the 80 % band: (this method, the old z = 1.28 least-squares band)."""
    inside = old_inside = 0
    for _ in range(runs):
        level, slope, sigma = rng.uniform(50, 150), rng.uniform(-3, 3), rng.uniform(1, 10)
        ys = [level + slope * i + rng.gauss(0, sigma) for i in range(n + ahead)]
        truth = ys[-1]
        point = project(history(ys[:n]), "month", ahead, FREE).points[-1]
        assert point.low is not None and point.high is not None
        inside += point.low <= truth <= point.high
        xs = list(range(n))
        b, a, mx, sxx = ols(xs, ys[:n])
        s = math.sqrt(sum((y - a - b * x) ** 2 for x, y in zip(xs, ys[:n], strict=True)) / (n - 2))
        x = n - 1 + ahead
        half = 1.28 * s * math.sqrt(1 + 1 / n + (x - mx) ** 2 / sxx)
        old_inside += a + b * x - half <= truth <= a + b * x + half
    return inside / runs, old_inside / runs


def test_the_80_percent_band_holds_80_percent_with_few_points():
    rng = random.Random(20261205)
    rows = []
    for n in (MIN_BAND_PERIODS, 6, 8, 12, 24):
        for ahead in (1, 3, 6):
            new, old = coverage(n, ahead, 1000, rng)
            rows.append((n, ahead, new, old))
            # 1,000 runs: the standard error of a share near 80 % is 1.3 points; ±4 points is 3 of them.
            assert 0.76 <= new <= 0.84, (n, ahead, new)
    print("\n80 % band coverage, linear trend + normal noise, 1,000 runs each")
    print("periods  ahead  t band (Theil–Sen)  old z = 1.28 band")
    for n, ahead, new, old in rows:
        print(f"{n:7d}  {ahead:5d}  {new:17.1%}  {old:17.1%}")
    five = [old for n, _, _, old in rows if n == MIN_BAND_PERIODS]
    assert max(five) < 0.74, "with 5 points the normal quantile's band is visibly too narrow"


def test_no_band_under_the_minimum_of_points():
    ys = [10.0, 12.0, 11.0, 13.0]
    projection = project(history(ys), "month", 3, FREE)
    assert len(projection.points) == 3 and not projection.has_band
    assert "no band" in projection.text
    assert project(history(ys[:3]), "month", 3, FREE).points == []


def test_t_quantiles_match_the_tables():
    for df, expected in ((1, 3.078), (2, 1.886), (3, 1.638), (4, 1.533), (10, 1.372), (30, 1.310)):
        assert t_quantile(0.9, df) == pytest.approx(expected, abs=1e-3)


# ------------------------------------------------------------------------- robust to one jump


def test_theil_sen_is_robust_to_one_jump():
    rng = random.Random(7)
    errors_ts, errors_ols = [], []
    for _ in range(500):
        n = 12
        ys = [100 + 2 * i + rng.gauss(0, 1) for i in range(n)]
        ys[rng.randrange(n)] += rng.choice((-1, 1)) * 40  # one jump: a month's data entered twice, a promotion
        xs = list(range(n))
        errors_ts.append(abs(theil_sen(xs, ys)[0] - 2))
        errors_ols.append(abs(ols(xs, ys)[0] - 2))
    ts, ls = statistics.median(errors_ts), statistics.median(errors_ols)
    print(
        f"\nslope error with one ±40 jump in 12 months (true slope 2, noise 1): Theil–Sen {ts:.2f}, "
        f"least squares {ls:.2f}"
    )
    assert ts < 0.25 < ls


def test_a_level_shift_to_a_new_high_is_beyond_history_not_within_trend():
    # The Olist conversion shape: ~3 % for half a year, a jump to 13–14.5 %, then 10 %.
    rate = Kpi(id="conversion", name="Conversion", direction="up", unit_of_measure="percent")
    values = [0.008, 0.023, 0.022, 0.034, 0.040, 0.055, 0.133, 0.145, 0.142, 0.135, 0.100]
    points = [_point(period_from_index(START + i, "month"), v) for i, v in enumerate(values)]
    preview = target_preview(rate, points, target=0.15, due=dt.date(2020, 12, 31), today=dt.date(2020, 12, 1))
    assert preview.verdict == "beyond-history"
    assert all(0 <= v <= 1 for p in preview.projection for v in (p.low, p.mid, p.high) if v is not None)


def _point(period, value):
    from kpi_model.engine import Point

    return Point(period, value, 1)


# ------------------------------------------------------------------------------ method choice


def seasonal_series(rng, n=36, amplitude=20.0, slope=0.5, noise=3.0):
    return [100 + slope * i + amplitude * math.sin(2 * math.pi * i / 12) + rng.gauss(0, noise) for i in range(n)]


def test_the_seasonal_method_is_chosen_on_seasonal_data_and_the_trend_on_trending_data():
    rng = random.Random(12)
    runs = 200
    seasonal = sum(project(history(seasonal_series(rng)), "month", 6, FREE).method == "seasonal" for _ in range(runs))
    trending = sum(
        project(history([100 + 2 * i + rng.gauss(0, 5) for i in range(36)]), "month", 6, FREE).method == "trend"
        for _ in range(runs)
    )
    short = project(history(seasonal_series(rng, n=23)), "month", 6, FREE)
    print(
        f"\nmethod chosen on held-out months, 36 months of history, {runs} runs: seasonal data → seasonal "
        f"{seasonal / runs:.0%}; trending data → trend {trending / runs:.0%}"
    )
    assert seasonal / runs >= 0.9
    assert trending / runs >= 0.8
    assert short.method == "trend" and "24 months" in short.text, "seasonality needs two years"


def test_the_seasonal_projection_follows_last_years_shape_and_its_band_holds():
    rng = random.Random(3)
    inside = total = 0
    errors_seasonal, errors_trend = [], []
    for _ in range(300):
        ys = seasonal_series(rng, n=36 + 6)
        projection = project(history(ys[:36]), "month", 6, FREE)
        if projection.method != "seasonal":
            continue
        for point, truth in zip(projection.points, ys[36:], strict=True):
            assert point.low is not None and point.high is not None
            total += 1
            inside += point.low <= truth <= point.high
            errors_seasonal.append(abs(point.mid - truth))
        xs = list(range(36))
        b, a = theil_sen(xs, ys[:36])
        errors_trend += [abs(a + b * (36 + k) - ys[36 + k]) for k in range(6)]
    share = inside / total
    print(
        f"\nseasonal data (amplitude 20, noise 3): 80 % band held {share:.0%} of {total} outcomes; mean absolute "
        f"error {statistics.fmean(errors_seasonal):.1f} (a straight trend: {statistics.fmean(errors_trend):.1f})"
    )
    assert share >= 0.76, "the band may be wide (seasonal random walk), never too narrow"
    assert statistics.fmean(errors_seasonal) < statistics.fmean(errors_trend) / 2


# ------------------------------------------------------------------------------------- bounds


@pytest.mark.parametrize(
    ("unit", "name", "low", "high"),
    [
        ("percent", "Conversion rate", 0.0, 1.0),
        ("count", "Leads", 0.0, None),
        ("duration", "Time to first response", 0.0, None),
        ("currency", "Revenue", 0.0, None),
        ("currency", "Net cash flow", None, None),
        ("percent", "Gross margin", None, 1.0),
        ("score", "NPS", None, None),
    ],
)
def test_domains(unit, name, low, high):
    domain = kpi_domain(Kpi(id="k", name=name, unit_of_measure=unit))
    assert (domain.low, domain.high) == (low, high)


def test_projections_never_leave_the_domain():
    rng = random.Random(99)
    for _ in range(300):
        unit = rng.choice(["percent", "count", "currency"])
        kpi = Kpi(id="k", name="Some KPI", unit_of_measure=unit)
        n = rng.randrange(4, 40)
        if unit == "percent":
            level, slope, noise = rng.uniform(0.01, 0.99), rng.uniform(-0.05, 0.05), rng.uniform(0, 0.05)
        else:
            level, slope, noise = rng.uniform(10, 1000), rng.uniform(-80, 80), rng.uniform(0, 100)
        domain = kpi_domain(kpi)
        ys = [domain.clip(level + slope * i + rng.gauss(0, noise)) for i in range(n)]
        domain = kpi_domain(kpi, ys)
        for point in project(history(ys), "month", 36, domain).points:
            for value in (point.low, point.mid, point.high):
                assert value is None or domain.contains(value), (unit, value)


# --------------------------------------------------------------------------------- real data

OLIST = Path(__file__).resolve().parents[2] / "shared" / "external" / "olist-funnel"
needs_olist = pytest.mark.skipif(
    not OLIST.is_dir(), reason=f"real public data absent: {OLIST} (see ../shared/external/README)"
)


@pytest.fixture(scope="module")
def olist():
    workspace = Workspace(
        name="Olist funnel",
        sources=[
            Source(name="mqls", path=str(OLIST / "olist_marketing_qualified_leads_dataset.csv")),
            Source(name="deals", path=str(OLIST / "olist_closed_deals_dataset.csv")),
            Source(
                name="funnel",
                sql="SELECT m.mql_id, m.first_contact_date, d.won_date FROM mqls m LEFT JOIN deals d USING (mql_id)",
            ),
        ],
        kpis=[
            Kpi(
                id="mqls",
                name="Marketing qualified leads",
                source="mqls",
                expression="count(DISTINCT mql_id)",
                time_column="first_contact_date",
                unit_of_measure="count",
                direction="up",
                cadence="monthly",
            ),
            Kpi(
                id="conversion",
                name="MQL to deal conversion",
                source="funnel",
                expression="count(won_date) / count(*)",
                time_column="first_contact_date",
                unit_of_measure="percent",
                direction="up",
                cadence="monthly",
            ),
            Kpi(
                id="deals",
                name="Deals won",
                source="deals",
                expression="count(*)",
                time_column="won_date",
                unit_of_measure="count",
                direction="up",
                cadence="monthly",
            ),
        ],
    )
    with Engine.for_workspace(workspace, OLIST) as engine:
        yield workspace, {k.id: engine.compute(workspace, k.id) for k in workspace.kpis}


@needs_olist
def test_olist_targets_never_reached_are_beyond_history(olist):
    workspace, series = olist
    today = dt.date(2026, 12, 5)
    mqls = series["mqls"]
    preview = target_preview(
        workspace.kpi("mqls"),
        mqls.points,
        target=2000,
        due=dt.date(2018, 12, 31),
        today=today,
        coverage=mqls.coverage,
    )
    assert preview.verdict == "beyond-history"
    assert min(preview.history) == dt.date(2017, 7, 1), "June 2017 (data from the 14th) is partial"
    assert preview.baseline_period == dt.date(2018, 5, 1) and preview.baseline_value == 1303
    assert "the best month was 1,352 (2018-04)" in preview.verdict_text
    assert preview.stale and preview.due_passed
    assert preview.data_as_of == dt.date(2018, 5, 31), "the leads' last day, from the coverage"
    assert "The due date 2018-12-31 has passed" in preview.verdict_text
    warning, critical = preview.suggested_warning, preview.suggested_critical
    assert warning is not None and critical is not None and 2000 > warning > critical > 1000
    conversion = series["conversion"]
    rate = target_preview(
        workspace.kpi("conversion"),
        conversion.points,
        target=0.15,
        due=dt.date(2018, 12, 31),
        today=today,
        coverage=conversion.coverage,
    )
    assert rate.verdict == "beyond-history"
    assert "the best month was 14.5% (2018-02), short of 15.0%" in rate.verdict_text
    print(f"\nOlist MQLs 2,000 by 2018-12: {preview.verdict_text}\n  thresholds: {preview.thresholds_text}")
    print(f"Olist conversion 15 %: {rate.verdict_text}\n  method: {rate.method}")


@needs_olist
@pytest.mark.parametrize("kpi_id", ["mqls", "conversion", "deals"])
@pytest.mark.parametrize("due", [dt.date(2018, 12, 31), dt.date(2019, 6, 30), dt.date(2027, 12, 31)])
def test_olist_projections_stay_in_their_domain(olist, kpi_id, due):
    workspace, series = olist
    kpi = workspace.kpi(kpi_id)
    computed = series[kpi_id]
    values = [p.value for p in computed.points if p.value is not None]
    for target in (min(values) * 0.5, statistics.median(values), max(values) * 1.5):
        preview = target_preview(kpi, computed.points, target=target, due=due, coverage=computed.coverage)
        domain = kpi_domain(kpi, list(preview.history.values()))
        for point in preview.projection:
            for value in (point.low, point.mid, point.high):
                assert value is None or domain.contains(value), (kpi_id, point)
        if due.year == 2027:
            assert preview.verdict in ("too-far-to-project", "beyond-history"), (kpi_id, target, preview.verdict)
        assert "November 2018" not in preview.method
        if kpi_id == "deals":
            assert max(preview.history) == dt.date(2018, 10, 1), "November 2018 (deals to the 14th) is partial"


class _CountedReads(list):
    """A list that counts how often its items are read: the work theil_sen does."""

    reads = 0

    def __getitem__(self, index):
        type(self).reads += 1
        return super().__getitem__(index)


def test_theil_sen_on_a_long_history_samples_pairs_instead_of_trying_all():
    """100,000 daily points are 5·10⁹ pairs; a hostile upload must not hold a core for hours."""
    rng = random.Random(11)
    n = 20_000
    xs = _CountedReads(range(n))
    ys = [3 * x + 7 + rng.gauss(0, 40) for x in range(n)]
    for i in rng.sample(range(n), n // 10):  # a tenth gross outliers: the median shrugs them off
        ys[i] += rng.choice((-1, 1)) * 10_000
    _CountedReads.reads = 0
    slope, intercept = theil_sen(xs, ys)
    assert slope == pytest.approx(3, rel=0.002) and intercept == pytest.approx(7, abs=40)
    assert _CountedReads.reads < 6 * 50_000 + 2 * n, f"{_CountedReads.reads} reads: all pairs were tried"
    assert theil_sen(xs, ys) == (slope, intercept), "the sample is seeded: the same history, the same line"


# ------------------------------------------------------------------------- suggested thresholds


def _suggested(target: float, spread: float, unit: str | None, baseline: float = 0.0):
    from kpi_model.whatif.projection import Domain
    from kpi_model.whatif.thresholds import suggest_thresholds

    domain = Domain(0.0, 1.0 if unit == "percent" else None, "a rate" if unit == "percent" else "a count")
    return suggest_thresholds(
        direction="up",
        target=target,
        baseline=baseline,
        spread=spread,
        spread_periods=12,
        grain="month",
        domain=domain,
        unit=unit,
        show=(lambda v: f"{v:.1%}") if unit == "percent" else (lambda v: f"{v:,.0f}"),
    )


def test_the_threshold_sentence_quotes_the_spread_the_lines_use():
    far = _suggested(10_000_000, 587.0, "count", baseline=10_359)
    assert far.warning == 9_987_000 and far.critical == 9_977_000
    assert "a spread of ±10,000, 0.1 % of the target" in far.explanation and "(±587)" in far.explanation


def test_lines_never_print_the_same_and_counts_stay_whole():
    flat = _suggested(0.05, 0.0, "percent", baseline=0.05)
    assert flat.warning is not None and flat.critical is not None and flat.warning > flat.critical
    assert "Warning at 5.0% and critical at 5.0%" not in flat.explanation
    assert "Warning at 4.99% and critical at 4.99%" not in flat.explanation
    one = _suggested(1, 0.5, "count")
    assert (one.warning, one.critical) == (None, None) and "no whole number" in one.explanation
    twelve = _suggested(12, 0.3, "count")
    assert twelve.warning == round(twelve.warning) and twelve.critical == round(twelve.critical)
    assert 12 > twelve.warning > twelve.critical


def test_thresholds_for_a_seasonal_kpi_warn_that_fixed_lines_flag_the_low_season():
    from kpi_model.models import Kpi

    kpi = Kpi(id="k", name="Orders", direction="up", unit_of_measure="count")
    values = seasonal_series(random.Random(5))
    points = [_point(dt.date(2023 + i // 12, i % 12 + 1, 1), v) for i, v in enumerate(values)]
    seasonal = target_preview(kpi, points, target=140, due=dt.date(2026, 12, 31), today=dt.date(2026, 1, 10))
    assert seasonal.method_name == "seasonal"
    assert "fixed lines will flag its low season" in seasonal.thresholds_text
    rng = random.Random(8)
    flat = [_point(dt.date(2023 + i // 12, i % 12 + 1, 1), 100 + i + rng.gauss(0, 2)) for i in range(36)]
    trend = target_preview(kpi, flat, target=140, due=dt.date(2026, 12, 31), today=dt.date(2026, 1, 10))
    assert trend.method_name == "trend" and "low season" not in trend.thresholds_text

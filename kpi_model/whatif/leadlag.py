"""Lead/lag: does a leading KPI move before its lagging partner, and by how many periods? A test, not a look.

For every lag k from −max_lag to max_lag, leading[t] is paired with lagging[t + k] (periods aligned
by date) and Pearson's r computed. By default the pairs are **period-to-period changes**: two KPIs that
drift or grow correlate on levels whether or not one drives the other. Each lag's r gets a p-value
from Student's t over an **effective number of pairs**, n_eff = n·(1 − r1·s1)/(1 + r1·s1) (Bartlett /
Quenouille; r1, s1 the lag-1 autocorrelations), and the smallest p-value is corrected for the number
of lags tried (Šidák: 1 − (1 − p)^m). Below 5 % the sign of the best lag names the verdict: ``leads``
(k > 0), ``coincident`` (k = 0), ``reverse`` (k < 0: the "lagging" KPI moves first); otherwise
``no-evidence``, or ``too-little-data`` when no lag has 6 pairs.

Counts and currency sums are zero in a period without rows (:func:`empty_means_zero`), so those
periods count as zeros inside each series' own span instead of being dropped.
tests/test_leadlag_simulation.py measures false claims and power; docs/whatif.md quotes it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from kpi_model.errors import KpiWizardError, WhatIfError
from kpi_model.periods import (
    complete_points,
    is_complete,
    normalise_grain,
    period_start,
    shift_period,
    values_by_period,
)
from kpi_model.whatif.stats import correlation_p_value, effective_n, is_constant, pearson, sidak

if TYPE_CHECKING:
    from kpi_model.engine import Point, Series
    from kpi_model.models import Kpi, Workspace

__all__ = [
    "ALPHA",
    "HOPELESS_R",
    "LEADS_R",
    "MIN_PAIRED_PERIODS",
    "NO_RELATION_R",
    "VERDICTS",
    "LagCorrelation",
    "LeadLag",
    "default_max_lag",
    "empty_means_zero",
    "lead_lag",
]

MIN_PAIRED_PERIODS = 6  # a lag with fewer pairs is left out of the test (and listed as such)
ALPHA = 0.05  # family-wise: the chance of a claim on two unrelated KPIs, all lags tried together
# |r| a relation needs to be worth managing by: the audit rule only calls a pairing unsupported when
# the data were long enough to have shown one this strong (see LeadLag.detectable_r).
LEADS_R = 0.5
# Below this many effective pairs no lag can count unless |r| is near 1 (|r| ≥ 0.9 after the correction for
# the lags tried): "no evidence" would be an empty statement, so the verdict is too-little-data.
HOPELESS_R = 0.9
NO_RELATION_R = 0.3  # the old "no relation" line; kept for importers, no verdict uses it any more
VERDICTS = ("leads", "coincident", "reverse", "no-evidence", "too-little-data")
# grain → (largest lag tried by default, the lags usually looked at first)
_DEFAULT_LAGS = {
    "day": (42, (28, 42)),
    "week": (6, (4, 6)),
    "month": (3, (1, 3)),
    "quarter": (2, (1, 2)),
    "year": (1, (1, 1)),
}


def default_max_lag(cadence: str) -> int:
    """The longest lag :func:`lead_lag` tests unless told otherwise: 6 weeks, 3 months, 2 quarters…"""
    return _DEFAULT_LAGS[normalise_grain(cadence)][0]


def empty_means_zero(kpi: Kpi) -> bool:
    """Whether a period without rows is a real zero for ``kpi``: a count or currency KPI computed as one
    ``count(…)`` or ``sum(…)`` over a source (a rate or an average has no value there instead)."""
    # Imported here: the formula parser is not needed for the statistics.
    from sqlglot import exp

    from kpi_model.formula import parse_tree

    if kpi.unit_of_measure not in ("count", "currency") or not kpi.source or not kpi.expression:
        return False
    try:
        tree = parse_tree(kpi.expression, copy=False)
    except Exception:  # a broken formula is other rules' business; without it nothing is filled
        return False
    if isinstance(tree, exp.Filter):
        tree = tree.this
    return isinstance(tree, exp.Count | exp.Sum)


@dataclass(frozen=True)
class LagCorrelation:
    """Pearson's r of leading[t] against lagging[t + lag] over ``periods`` pairs, with its own p-value.

    ``counted`` is False for a lag left out of the test (fewer than :data:`MIN_PAIRED_PERIODS` pairs,
    or a constant side); ``p_value`` is this lag's alone, before the correction for lags tried.
    """

    lag: int
    correlation: float | None
    periods: int
    effective_n: float | None = None
    p_value: float | None = None
    counted: bool = False

    def as_dict(self) -> dict[str, Any]:
        """``{lag, correlation, periods, effective_n, p_value, counted}``."""
        return {
            "lag": self.lag,
            "correlation": self.correlation,
            "periods": self.periods,
            "effective_n": None if self.effective_n is None else round(self.effective_n, 1),
            "p_value": self.p_value,
            "counted": self.counted,
        }


@dataclass(frozen=True)
class LeadLag:
    """Whether and by how much a leading series leads a lagging one. :meth:`as_dict` is the JSON.

    ``best_lag`` is the lag with the smallest p-value (negative: the lagging KPI moves first);
    ``correlation``, ``periods`` and ``effective_n`` are that lag's; ``p_value`` is corrected for the
    ``lags_tested`` lags tried, ``lag_p_value`` is the best lag's alone. ``by_lag`` holds lags 0..max,
    ``reverse_by_lag`` lags −1..−max. ``detectable_r`` is the smallest |r| that would have counted at
    the best lag's effective n: what the data could have shown.
    """

    verdict: str
    best_lag: int | None
    correlation: float | None
    periods: int
    by_lag: list[LagCorrelation]
    grain: str
    max_lag: int
    focus: tuple[int, int]
    differenced: bool
    message: str
    p_value: float | None = None
    lag_p_value: float | None = None
    effective_n: float | None = None
    lags_tested: int = 0
    detectable_r: float | None = None
    reverse_by_lag: list[LagCorrelation] = field(default_factory=list)
    empty_as_zero: tuple[bool, bool] = (False, False)

    @property
    def tested_on(self) -> str:
        """``changes`` (period-to-period, the default) or ``levels``."""
        return "changes" if self.differenced else "levels"

    @property
    def excluded_lags(self) -> list[int]:
        """Lags left out of the test: too few pairs, or a side that does not change."""
        return sorted(item.lag for item in [*self.reverse_by_lag, *self.by_lag] if not item.counted)

    def as_dict(self) -> dict[str, Any]:
        """``verdict``, ``best_lag``, ``correlation``, ``periods``, ``p_value``, ``effective_n``, ``by_lag`` …"""
        return {
            "verdict": self.verdict,
            "best_lag": self.best_lag,
            "correlation": self.correlation,
            "periods": self.periods,
            "p_value": self.p_value,
            "lag_p_value": self.lag_p_value,
            "effective_n": None if self.effective_n is None else round(self.effective_n, 1),
            "alpha": ALPHA,
            "lags_tested": self.lags_tested,
            "excluded_lags": self.excluded_lags,
            "detectable_r": None if self.detectable_r is None else round(self.detectable_r, 3),
            "tested_on": self.tested_on,
            "empty_periods_as_zero": {"leading": self.empty_as_zero[0], "lagging": self.empty_as_zero[1]},
            "unit": self.grain,
            "max_lag": self.max_lag,
            "focus": list(self.focus),
            "differenced": self.differenced,
            "by_lag": [item.as_dict() for item in self.by_lag],
            "reverse_by_lag": [item.as_dict() for item in self.reverse_by_lag],
            "message": self.message,
        }


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def _p_text(p: float) -> str:
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def _zero_filled(values: dict[dt.date, float], grain: str, span: list[dt.date] | None) -> dict[dt.date, float]:
    """Every period of ``span`` (default: from the first to the last present one); the missing ones as 0."""
    if span is None and values:
        span, period = [], min(values)
        while period <= max(values):
            span.append(period)
            period = shift_period(period, 1, grain)
    return {period: values.get(period, 0.0) for period in sorted({*(span or ()), *values})}


def _values(
    series: Sequence[Point] | Series, grain: str, empty_is_zero: bool, today: dt.date | None
) -> dict[dt.date, float]:
    """Period → value for the test. A :class:`~kpi_model.engine.Series` keeps only its complete periods
    (:func:`kpi_model.periods.complete_points`: the data cover them, the calendar has passed them), and
    a count's zeros fill every complete period its data cover; plain points are taken as given."""
    if isinstance(series, Sequence):
        return (
            _zero_filled(values_by_period(series, grain), grain, None)
            if empty_is_zero
            else values_by_period(series, grain)
        )
    values = values_by_period(complete_points(series, grain, today=today), grain)
    if not empty_is_zero:
        return values
    span = None
    if series.coverage is not None:
        span, period = [], period_start(series.coverage.first, grain)
        while period <= series.coverage.last:
            if is_complete(period, grain, today or dt.date.today(), series.coverage):
                span.append(period)
            period = shift_period(period, 1, grain)
    return _zero_filled(values, grain, span)


def _differences(values: dict[dt.date, float], grain: str) -> dict[dt.date, float]:
    """Change from the previous period, only where that period is present (no bridging gaps)."""
    return {
        period: value - values[previous]
        for period, value in values.items()
        if (previous := shift_period(period, -1, grain)) in values
    }


def _lag_result(lead: dict[dt.date, float], lagged: dict[dt.date, float], lag: int, grain: str) -> LagCorrelation:
    pairs = [
        (value, lagged[later])
        for period, value in lead.items()
        if (later := shift_period(period, lag, grain)) in lagged
    ]
    xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
    r = pearson(xs, ys)
    if r is None or len(pairs) < MIN_PAIRED_PERIODS:
        return LagCorrelation(lag, r, len(pairs))
    n_eff = effective_n(len(pairs), xs, ys)
    return LagCorrelation(lag, r, len(pairs), n_eff, correlation_p_value(r, n_eff), True)


def _detectable_r(n_eff: float, tests: int) -> float | None:
    """The smallest |r| whose p-value, corrected for ``tests`` lags, falls below :data:`ALPHA`."""
    if n_eff <= 2.5:
        return None
    per_lag = -math.expm1(math.log1p(-ALPHA) / tests)
    low, high = 0.0, 1.0
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (low, middle) if correlation_p_value(middle, n_eff) <= per_lag else (middle, high)
    return high


def lead_lag(
    leading: Sequence[Point] | Series,
    lagging: Sequence[Point] | Series,
    *,
    max_lag: int | None = None,
    cadence: str = "monthly",
    levels: bool = False,
    differenced: bool | None = None,
    leading_empty_is_zero: bool = False,
    lagging_empty_is_zero: bool = False,
    leading_name: str = "the leading KPI",
    lagging_name: str = "the lagging KPI",
    today: dt.date | None = None,
    arithmetic: str | None = None,
) -> LeadLag:
    """Test whether ``leading`` moves before ``lagging``, at lags −max_lag..max_lag, periods aligned by date.

    Default lags: 0–6 weeks (weekly; 4–6 is the usual ``focus``), 0–3 months, 0–2 quarters, each
    way. Period-to-period changes are tested unless ``levels=True`` (levels of drifting KPIs correlate
    by themselves: see the module docstring). ``differenced`` is the old switch, kept for callers:
    changes are the default now, so only ``levels`` changes anything. ``*_empty_is_zero`` fills the
    periods without a value with 0 (counts and sums: :func:`empty_means_zero`): for a
    :class:`~kpi_model.engine.Series`, every complete period its data cover; for plain points, those
    between the first and the last. A Series keeps only its complete periods (as of ``today``).
    ``arithmetic`` (see :func:`formula_link`) is added to a claim: the pair is linked by a formula.
    """
    grain = normalise_grain(cadence)
    default_max, focus = _DEFAULT_LAGS[grain]
    top = default_max if max_lag is None else max_lag
    if top < 0:
        raise WhatIfError(f"max_lag must be 0 or more, not {max_lag}")
    if max_lag is not None:
        focus = (min(focus[0], top), min(focus[1], top))
    on_changes = not levels
    lead_values = _values(leading, grain, leading_empty_is_zero, today)
    lag_values = _values(lagging, grain, lagging_empty_is_zero, today)
    if on_changes:
        lead_values, lag_values = _differences(lead_values, grain), _differences(lag_values, grain)

    by_lag = [_lag_result(lead_values, lag_values, lag, grain) for lag in range(top + 1)]
    reverse = [_lag_result(lead_values, lag_values, -lag, grain) for lag in range(1, top + 1)]
    untested = LeadLag(
        "too-little-data", None, None, 0, by_lag, grain, top, focus, on_changes, "",
        reverse_by_lag=reverse, empty_as_zero=(leading_empty_is_zero, lagging_empty_is_zero),
    )  # fmt: skip
    words = _Words(leading_name, lagging_name, grain, top, on_changes)
    counted = [item for item in [*by_lag, *reverse] if item.counted]
    if not counted:
        overlap = max((item.periods for item in [*by_lag, *reverse]), default=0)
        constant = [name for name, values in ((leading_name, lead_values), (lagging_name, lag_values))
                    if len(values) >= 3 and is_constant(list(values.values()))]  # fmt: skip
        return replace(untested, periods=overlap, message=words.untestable(overlap, constant[0] if constant else None))

    best = min(counted, key=lambda item: (item.p_value, -abs(item.correlation or 0.0), abs(item.lag), -item.lag))
    r, n_eff, lag_p = best.correlation, best.effective_n, best.p_value
    assert r is not None and n_eff is not None and lag_p is not None
    tests = len(counted)
    p = sidak(lag_p, tests)
    detectable = _detectable_r(n_eff, tests)
    tested = replace(
        untested, periods=best.periods, p_value=p, lag_p_value=lag_p, effective_n=n_eff, lags_tested=tests,
        detectable_r=detectable,
    )  # fmt: skip
    stats = words.stats(r, best.periods, n_eff, p, tests)
    if p >= ALPHA and (detectable is None or detectable >= HOPELESS_R):
        # Nothing to act on: no lag and no r, as when no lag could be tested at all.
        return replace(tested, message=words.hopeless(detectable, stats))
    if p >= ALPHA:
        verdict = "no-evidence"
        message = words.no_evidence(best.lag, stats, detectable)
    else:
        verdict = "leads" if best.lag > 0 else "coincident" if best.lag == 0 else "reverse"
        message = words.claim(best.lag, r, stats)
    if arithmetic is not None and verdict in ("leads", "coincident", "reverse"):
        message += f". Read with care: {arithmetic}"
    return replace(tested, verdict=verdict, best_lag=best.lag, correlation=r, message=message)


def formula_link(workspace: Workspace, leading_id: str, lagging_id: str) -> str | None:
    """Why two KPIs move together by arithmetic (one is computed from the other), or None.

    Web order revenue = sessions × conversion × order value "follows" sessions in the same month by
    construction; a correlation between them is no evidence that one leads the other.
    """
    from kpi_model.formula import Compiler

    compiler = Compiler(workspace)
    for whole_id, part_id in ((lagging_id, leading_id), (leading_id, lagging_id)):
        try:
            inputs = compiler.dependencies(whole_id)[:-1]
        except KpiWizardError:  # a broken formula or a cycle: the audit says so; no link to report
            continue
        if part_id in inputs:
            whole, part = workspace.kpi(whole_id), workspace.kpi(part_id)
            assert whole is not None and part is not None
            return (
                f"{whole.name} is computed from {part.name}, so the two move together partly by arithmetic, "
                "not because one leads the other"
            )
    return None


@dataclass(frozen=True)
class _Words:
    """The messages of :func:`lead_lag`, worded so that no KPI name has to agree with a verb
    ("Marketing-qualified leads leads …"); each says what was tested (changes or levels)."""

    leading: str
    lagging: str
    unit: str
    top: int
    on_changes: bool

    @property
    def basis(self) -> str:
        return "on period-to-period changes" if self.on_changes else "on levels"

    @property
    def lags(self) -> str:
        return f"lags of 0 to {_plural(self.top, self.unit)} each way" if self.top else f"the same {self.unit} only"

    def stats(self, r: float, pairs: int, n_eff: float, p: float, tests: int) -> str:
        tried = ", one lag tested" if tests == 1 else f" allowing for the {tests} lags tried"
        return f"r = {r:.2f} {self.basis}, {pairs} pairs, effective n ≈ {n_eff:.0f}, {_p_text(p)}{tried}"

    def untestable(self, overlap: int, constant: str | None) -> str:
        what = "changes" if self.on_changes else "periods"
        if constant is not None and overlap >= MIN_PAIRED_PERIODS:
            return _capital(
                f"Too little data to tell: {constant} does not change over the {overlap} {what} that overlap, "
                f"so no correlation can be computed"
            )
        return (
            f"Too little data to tell: only {overlap} paired {what if overlap != 1 else what[:-1]} "
            f"(at {self.lags}; at least {MIN_PAIRED_PERIODS} are needed)"
        )

    def hopeless(self, detectable: float | None, stats: str) -> str:
        need = (
            "no relation could count"
            if detectable is None or detectable > 0.99
            else f"only |r| ≥ {detectable:.2f} could count"
        )
        text = f"Too little data to tell: at {self.lags}, {need}; the clearest pairing has {stats}"
        if not self.on_changes:
            # Two drifting KPIs leave few independent points on levels, however long the history.
            text += "; KPIs that drift say little on levels: test period-to-period changes instead (recommended)"
        return text

    def no_evidence(self, lag: int, stats: str, detectable: float | None) -> str:
        later = _plural(abs(lag), self.unit)
        where = (
            f"{self.lagging} {later} later" if lag > 0 else f"{self.lagging} {later} earlier" if lag < 0
            else f"the same {self.unit}"
        )  # fmt: skip
        could = (
            f"; with this much data only |r| ≥ {detectable:.2f} would have counted"
            if detectable is not None and detectable > LEADS_R
            else ""
        )
        return _capital(
            f"No evidence of a lead from {self.leading} to {self.lagging} (tested {self.basis.removeprefix('on ')}, "
            f"{self.lags}): the clearest pairing, with {where}, has {stats}{could}"
        )

    def claim(self, lag: int, r: float, stats: str) -> str:
        later = _plural(abs(lag), self.unit)
        inverse = ", in the opposite direction" if r < 0 else ""
        if lag > 0 and self.on_changes:
            return _capital(f"Changes in {self.leading} show up in {self.lagging} {later} later{inverse} ({stats})")
        if lag > 0:
            return _capital(
                f"The level of {self.leading} is echoed in {self.lagging} {later} later{inverse} ({stats}; "
                f"levels of two trending KPIs can correlate without one driving the other)"
            )
        if lag == 0:
            better = (
                f"; no lead of up to {_plural(self.top, self.unit)} is as clear"
                if self.top
                else f" (only the same {self.unit} was tested)"
            )
            moves = "change" if self.on_changes else "move"
            return _capital(
                f"{self.leading} and {self.lagging} {moves} in the same {self.unit}{inverse} ({stats}){better}"
            )
        subject = f"changes in {self.lagging} show" if self.on_changes else f"the level of {self.lagging} shows"
        return (
            f"The other way round: {subject} up in {self.leading} {later} later{inverse} ({stats}); "
            f"as paired, {self.lagging} looks like the leading one"
        )


def _capital(message: str) -> str:
    # The default names ("the leading KPI") start lower-case; a KPI id keeps its own spelling.
    return "T" + message[1:] if message.startswith("the ") else message

"""Targets and what-if: what a target requires, what history says about it, drivers and lags.

Four tools, all pure Python over already computed series (no database, no numpy needed):

- :func:`target_preview` — for a target and a due date: the change it requires (in total, per
  period linearly and compounded), how often history met it, a least-squares trend with an
  80 % prediction band up to the due period, a verdict and suggested thresholds.
- Driver trees — :func:`driver_tree`, :func:`evaluate`, :func:`what_if`, :func:`sensitivity`:
  a derived KPI (``web_revenue = sessions * conversion_rate * average_order_value``) is
  evaluated from its drivers' values with a small evaluator over the sqlglot tree (never
  ``eval``), so moving one driver shows what moves above it.
- :func:`lead_lag` — does a leading KPI actually lead its lagging partner, and by how many
  periods (Pearson correlation per lag, periods aligned by date).
- Period helpers — :func:`parse_baseline_period`, :func:`periods_between`.

Periods are identified by their start date, as the engine returns them: ISO weeks start on
Monday, quarters on 1 January/April/July/October.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kpi_model.errors import KpiWizardError
from kpi_model.models import PERIOD_LABEL_FORMS, Direction, Kpi, Workspace

if TYPE_CHECKING:
    from sqlglot import exp

    from kpi_model.engine import Point

__all__ = [
    "DriverNode",
    "LagCorrelation",
    "LeadLag",
    "ProjectionPoint",
    "Sensitivity",
    "TargetPreview",
    "WhatIfError",
    "decomposition_suggestions",
    "default_max_lag",
    "driver_tree",
    "evaluate",
    "latest_values",
    "lead_lag",
    "normalise_grain",
    "parse_baseline_period",
    "period_label",
    "period_start",
    "periods_between",
    "sensitivity",
    "shift_period",
    "target_preview",
    "what_if",
]


class WhatIfError(KpiWizardError):
    """A what-if that cannot be answered as asked; the message says why and what to do."""


# ------------------------------------------------------------------------------------ periods

_GRAINS = ("day", "week", "month", "quarter", "year")
_GRAIN_ALIASES = {
    **{grain: grain for grain in _GRAINS},
    "daily": "day",
    "weekly": "week",
    "monthly": "month",
    "quarterly": "quarter",
    "yearly": "year",
    "annual": "year",
}


def normalise_grain(grain: str) -> str:
    """``'month'`` for ``'month'`` or ``'monthly'`` (a grain or a cadence); raises :class:`WhatIfError`."""
    value = getattr(grain, "value", grain)
    found = _GRAIN_ALIASES.get(str(value).strip().lower())
    if found is None:
        raise WhatIfError(f"'{grain}' is not a period grain; use one of: {', '.join(_GRAINS)}")
    return found


def _index(day: dt.date, grain: str) -> int:
    """A running number of the period holding ``day``: consecutive periods differ by one."""
    if grain == "day":
        return day.toordinal()
    if grain == "week":
        return (day.toordinal() - 1) // 7  # ordinal 1 (0001-01-01) is a Monday, like ISO weeks
    if grain == "month":
        return day.year * 12 + day.month - 1
    if grain == "quarter":
        return day.year * 4 + (day.month - 1) // 3
    return day.year


def _from_index(index: int, grain: str) -> dt.date:
    if grain == "day":
        return dt.date.fromordinal(index)
    if grain == "week":
        return dt.date.fromordinal(index * 7 + 1)
    if grain == "month":
        return dt.date(index // 12, index % 12 + 1, 1)
    if grain == "quarter":
        return dt.date(index // 4, (index % 4) * 3 + 1, 1)
    return dt.date(index, 1, 1)


def period_start(day: dt.date, grain: str) -> dt.date:
    """The first day of the period at ``grain`` that holds ``day``."""
    grain = normalise_grain(grain)
    return _from_index(_index(day, grain), grain)


def shift_period(start: dt.date, periods: int, grain: str) -> dt.date:
    """The start of the period ``periods`` after (or before, if negative) the one holding ``start``."""
    grain = normalise_grain(grain)
    return _from_index(_index(start, grain) + periods, grain)


def period_label(start: dt.date, grain: str) -> str:
    """How people name the period: ``2026-10``, ``2026-Q4``, ``2026-W07``, ``2026`` or the date."""
    grain = normalise_grain(grain)
    if grain == "month":
        return f"{start.year:04d}-{start.month:02d}"
    if grain == "quarter":
        return f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"
    if grain == "week":
        year, week, _ = start.isocalendar()
        return f"{year:04d}-W{week:02d}"
    if grain == "year":
        return f"{start.year:04d}"
    return start.isoformat()


def periods_between(baseline_period: dt.date, due: dt.date, grain: str) -> int:
    """Whole periods after the baseline period, up to and including the one holding ``due``.

    Baseline 2026-10, due 2026-12-31, monthly → 2 (November and December). Zero or negative
    when the due date falls in or before the baseline period.
    """
    grain = normalise_grain(grain)
    return _index(due, grain) - _index(baseline_period, grain)


def parse_baseline_period(label: str | dt.date, grain: str) -> dt.date:
    """The start date, at ``grain``, of the period a label names.

    Labels: ``2026`` (year), ``2026-Q3`` (quarter), ``2026-10`` (month), ``2026-W07`` (ISO
    week) or a date. A label finer than the grain is widened (``2026-11`` at quarter grain is
    2026-10-01); a coarser one is refused, because a monthly history has no single "2026-Q3".
    """
    grain = normalise_grain(grain)
    if isinstance(label, dt.date):
        return period_start(label, grain)
    text = str(label).strip().upper()
    for pattern, label_grain in PERIOD_LABEL_FORMS:
        match = pattern.match(text)
        if not match:
            continue
        year = int(match.group(1))
        if label_grain == "year":
            start = dt.date(year, 1, 1)
        elif label_grain == "quarter":
            start = dt.date(year, (int(match.group(2)) - 1) * 3 + 1, 1)
        elif label_grain == "month":
            start = dt.date(year, int(match.group(2)), 1)
        else:
            try:
                start = dt.date.fromisocalendar(year, int(match.group(2)), 1)
            except ValueError:
                raise WhatIfError(f"'{label}' is not an ISO week: {year} has no week {match.group(2)}") from None
        if _GRAINS.index(label_grain) > _GRAINS.index(grain):
            raise WhatIfError(
                f"'{label}' names a {label_grain}, but the history is by {grain}: name one {grain} "
                f"(e.g. {period_label(start, grain)}) or preview the KPI at {label_grain} grain"
            )
        return period_start(start, grain)
    try:
        return period_start(dt.date.fromisoformat(text), grain)
    except ValueError:
        raise WhatIfError(
            f"'{label}' is not a period: write 2026 (year), 2026-Q3 (quarter), 2026-10 (month), "
            "2026-W07 (ISO week) or a date such as 2026-10-31"
        ) from None


def _is_complete(start: dt.date, grain: str, today: dt.date) -> bool:
    """A period is complete once the next one has begun (by ``today``)."""
    return shift_period(start, 1, grain) <= today


def _clean(points: Sequence[Point], grain: str) -> dict[dt.date, float]:
    """Period start → value, for periods with a finite value (breakdown rows are not a history)."""
    values: dict[dt.date, float] = {}
    for point in points:
        if point.dimension is not None or point.value is None or not math.isfinite(point.value):
            continue
        values[period_start(point.period, grain)] = float(point.value)
    return dict(sorted(values.items()))


# ---------------------------------------------------------------------------- small statistics


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def _percentile(values: Sequence[float], share: float) -> float:
    """Linear interpolation between closest ranks (numpy's default ``percentile`` method)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _is_constant(values: Sequence[float]) -> bool:
    # Relative tolerance: values summed from floats (0.1 + 0.2) are not exactly equal.
    scale = max(1.0, *(abs(v) for v in values))
    return max(values) - min(values) <= 1e-12 * scale


def _pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r, or None when it is undefined (fewer than 3 pairs, or a constant side)."""
    if len(xs) < 3 or _is_constant(xs) or _is_constant(ys):
        return None
    mx, my = _mean(xs), _mean(ys)
    sxy = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    syy = math.fsum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return None
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


# ---------------------------------------------------------------------------- target preview

Z_80 = 1.28  # two-sided 80 % normal quantile: 10 % of outcomes expected above, 10 % below
MIN_TREND_PERIODS = 4
METHOD = (
    "Linear trend fitted by least squares to {n} complete periods ({first} to {last}); "
    "mid = trend, 80 % band = mid ± 1.28·s·√(1 + 1/n + (x − x̄)²/Σ(x − x̄)²), s = residual standard "
    "deviation (n − 2 degrees of freedom). Seasonality is not modelled: read the band as the trend's "
    "range, not a seasonal forecast."
)


@dataclass(frozen=True)
class ProjectionPoint:
    """The trend's value for one future period with its 80 % band (band is None without spread)."""

    period: dt.date
    low: float | None
    mid: float
    high: float | None

    def as_dict(self) -> dict[str, Any]:
        """``{period, low, mid, high}``, period as the ISO start date."""
        return {"period": self.period.isoformat(), "low": self.low, "mid": self.mid, "high": self.high}


@dataclass(frozen=True)
class TargetPreview:
    """What a target means against a KPI's history. :meth:`as_dict` is the CLI's JSON."""

    kpi_id: str
    grain: str
    direction: str
    baseline_period: dt.date
    baseline_value: float
    target: float
    target_low: float | None
    target_high: float | None
    due: dt.date
    periods_remaining: int
    required_absolute: float
    required_relative: float | None
    linear_per_period: float
    compound_per_period: float | None
    history: dict[dt.date, float]
    historical_attainment: float | None
    historical_change_attainment: float | None
    projection: list[ProjectionPoint]
    method: str
    verdict: str
    target_position: str | None
    suggested_warning: float | None
    suggested_critical: float | None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form; every float is finite or None."""
        values = list(self.history.values())
        periods = list(self.history)
        return {
            "kpi": self.kpi_id,
            "grain": self.grain,
            "direction": self.direction,
            "baseline": {
                "period": self.baseline_period.isoformat(),
                "label": period_label(self.baseline_period, self.grain),
                "value": self.baseline_value,
            },
            "target": self.target,
            "target_range": (
                {"low": self.target_low, "high": self.target_high} if self.direction == Direction.RANGE.value else None
            ),
            "due": self.due.isoformat(),
            "due_period": period_start(self.due, self.grain).isoformat(),
            "periods_remaining": self.periods_remaining,
            "required_change": {"absolute": self.required_absolute, "relative": self.required_relative},
            "required_change_per_period": {"linear": self.linear_per_period, "compound": self.compound_per_period},
            "history": {
                "periods": len(values),
                "first": periods[0].isoformat() if periods else None,
                "last": periods[-1].isoformat() if periods else None,
                "min": min(values) if values else None,
                "max": max(values) if values else None,
            },
            "historical_attainment": self.historical_attainment,
            "historical_change_attainment": self.historical_change_attainment,
            "projection": [p.as_dict() for p in self.projection],
            "method": self.method,
            "verdict": self.verdict,
            "target_position": self.target_position,
            "suggested_thresholds": {"warning": self.suggested_warning, "critical": self.suggested_critical},
            "notes": list(self.notes),
        }


def _meets(value: float, direction: Direction, target: float, low: float | None, high: float | None) -> bool:
    if direction == Direction.RANGE:
        return low is not None and high is not None and low <= value <= high
    return value >= target if direction == Direction.UP else value <= target


def _trend(history: dict[dt.date, float], grain: str) -> tuple[float, float, float, float, float, int] | None:
    """``(slope, intercept, s, x̄, Σ(x − x̄)², n)`` of the least-squares line; x = period index."""
    n = len(history)
    if n < 3:  # two points fit any line exactly: no residual spread to make a band from
        return None
    xs = [float(_index(period, grain)) for period in history]
    ys = list(history.values())
    mx, my = _mean(xs), _mean(ys)
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    slope = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = my - slope * mx
    residuals = math.fsum((y - (intercept + slope * x)) ** 2 for x, y in zip(xs, ys, strict=True))
    s = math.sqrt(max(residuals, 0.0) / (n - 2))
    return slope, intercept, s, mx, sxx, n


def target_preview(
    kpi: Kpi,
    series: Sequence[Point],
    *,
    target: float,
    due: dt.date,
    baseline_period: str | dt.date | None = None,
    grain: str = "month",
    today: dt.date | None = None,
) -> TargetPreview:
    """What reaching ``target`` by ``due`` requires, and how it compares with the KPI's history.

    The history is every *complete* period with a value (a period is complete once the next one
    has begun by ``today``); later periods are left out and counted in a note. The baseline is
    the latest history period unless ``baseline_period`` names one (it must be in the history).

    Direction ``range`` (with ``kpi.target.low``/``high``): ``target`` is ignored; attainment
    counts periods inside low..high, and the required change is to the nearest bound (zero when
    the baseline is inside). A KPI without a direction is read as ``up``.

    Verdict, with the trend's 80 % band at the due period (at least 4 history periods):

    - ``within-trend``: the target lies within the band, or on its easy side (for ``up`` below
      the band) — the trend is expected to reach it (``target_position`` says which, and a note
      flags a target the whole band beats). For ``range``: the band overlaps low..high.
    - ``stretch``: beyond the band on the ambitious side, but no further than the best value
      the history has reached (its max for ``up``, min for ``down``; for ``range`` low..high
      overlaps the history's min..max).
    - ``beyond-history``: further than history has ever been.

    With fewer than 4 periods there is no trend to trust: ``within-trend`` if the baseline
    already meets the target, ``stretch`` if some history period met it, else ``beyond-history``.
    """
    grain = normalise_grain(grain)
    today = today or dt.date.today()
    direction = Direction(kpi.direction) if kpi.direction else Direction.UP
    notes: list[str] = []
    if kpi.direction is None:
        notes.append("The KPI has no direction; it is read as 'up' (higher is better).")
    if not math.isfinite(target):
        raise WhatIfError(f"the target {target} is not a number; give a finite value")

    all_values = _clean(series, grain)
    history = {p: v for p, v in all_values.items() if _is_complete(p, grain, today)}
    left_out = len(all_values) - len(history)
    if left_out:
        notes.append(
            f"{left_out} period{'s' if left_out != 1 else ''} not complete on {today.isoformat()} "
            f"(or dated in the future) {'were' if left_out != 1 else 'was'} left out of the history."
        )
    if not history:
        raise WhatIfError(
            f"KPI '{kpi.id}' has no complete {grain} with a value before {today.isoformat()}; "
            "load data for it (or check its dates) before previewing a target"
        )
    first, last = next(iter(history)), next(reversed(history))
    span = f"{period_label(first, grain)} to {period_label(last, grain)}"

    if baseline_period is None:
        base_period = last
    else:
        base_period = parse_baseline_period(baseline_period, grain)
        if base_period not in history:
            why = "it is not complete yet" if base_period in all_values else "the KPI has no value for it"
            raise WhatIfError(
                f"baseline period {period_label(base_period, grain)} cannot be used: {why} "
                f"(the history runs {span}); pick a period in that range, or leave the baseline out "
                "to use the latest one"
            )
    baseline = history[base_period]

    remaining = periods_between(base_period, due, grain)
    if remaining <= 0:
        raise WhatIfError(
            f"the due date {due.isoformat()} is not after the baseline period {period_label(base_period, grain)}; "
            "give a due date in a later period"
        )

    low = high = None
    if direction == Direction.RANGE:
        low = kpi.target.low if kpi.target else None
        high = kpi.target.high if kpi.target else None
        if low is None or high is None:
            raise WhatIfError(
                f"KPI '{kpi.id}' has direction 'range' but its target has no low and high; "
                "set target.low and target.high (the band to stay in)"
            )
        # The nearest point of the band is what has to be reached; inside it, nothing has to move.
        target = min(max(baseline, low), high)
        notes.append(
            f"Direction is range: the target is the band {low:g}..{high:g}; the change is measured to "
            f"its nearest point ({target:g})."
        )

    absolute = target - baseline
    relative = absolute / abs(baseline) if baseline != 0 else None
    linear = absolute / remaining
    compound: float | None = None
    if baseline > 0 and target > 0:
        compound = (target / baseline) ** (1 / remaining) - 1
    elif baseline < 0:
        notes.append(
            f"The baseline is negative ({baseline:g}): a compound growth rate is meaningless, and the "
            "relative change is measured against its size; use the linear change per period."
        )
    elif baseline == 0:
        notes.append("The baseline is zero: there is no relative or compound change from zero; use the linear one.")
    elif target == 0:
        notes.append("The target is zero: no compound rate reaches zero; use the linear change per period.")
    else:
        notes.append("The target and the baseline have different signs: no compound rate leads from one to the other.")

    meets = [_meets(v, direction, target, low, high) for v in history.values()]
    attainment = sum(meets) / len(meets)
    if _meets(baseline, direction, target, low, high):
        notes.append("The baseline already meets the target.")

    change_attainment: float | None = None
    need = (linear > 0) - (linear < 0)
    changes = [
        history[p] - history[q]
        for q, p in zip(history, list(history)[1:], strict=False)
        if _index(p, grain) - _index(q, grain) == 1  # a gap in the data is not a one-period change
    ]
    if need and changes:
        tolerance = 1e-9 * max(1.0, abs(linear))
        change_attainment = sum(need * c >= abs(linear) - tolerance for c in changes) / len(changes)
    elif not need:
        notes.append("No change is required, so the share of periods with enough change is not defined.")
    else:
        notes.append("No two consecutive periods in the history: the share of periods with enough change is unknown.")

    n = len(history)
    if n < MIN_TREND_PERIODS:
        notes.append(
            f"Only {n} period{'s' if n != 1 else ''} of history ({span}): a trend needs at least "
            f"{MIN_TREND_PERIODS}, so the verdict compares the target with the values reached so far."
        )
    fit = _trend(history, grain)
    projection: list[ProjectionPoint] = []
    method = "No trend: fewer than 3 complete periods of history."
    if fit is not None:
        slope, intercept, s, mx, sxx, n_fit = fit
        method = METHOD.format(n=n_fit, first=period_label(first, grain), last=period_label(last, grain))
        base_index = _index(base_period, grain)
        for step in range(1, remaining + 1):
            x = base_index + step
            mid = intercept + slope * x
            half = Z_80 * s * math.sqrt(1 + 1 / n_fit + (x - mx) ** 2 / sxx)
            projection.append(ProjectionPoint(_from_index(x, grain), mid - half, mid, mid + half))

    history_low, history_high = min(history.values()), max(history.values())
    position: str | None = None
    if n >= MIN_TREND_PERIODS and projection:
        band_low, band_high = projection[-1].low, projection[-1].high
        assert band_low is not None and band_high is not None
        position = "below-band" if target < band_low else "above-band" if target > band_high else "in-band"
        if direction == Direction.RANGE:
            assert low is not None and high is not None
            if band_high >= low and band_low <= high:
                verdict = "within-trend"
            elif high >= history_low and low <= history_high:
                verdict = "stretch"
            else:
                verdict = "beyond-history"
        else:
            easy = "below-band" if direction == Direction.UP else "above-band"
            best = history_high if direction == Direction.UP else history_low
            if position in ("in-band", easy):
                verdict = "within-trend"
                if position == easy:
                    notes.append(
                        "The whole trend band at the due period is past the target: on its current trend the "
                        "KPI reaches it without change; consider a more ambitious target."
                    )
            elif (target <= best) if direction == Direction.UP else (target >= best):
                verdict = "stretch"
            else:
                verdict = "beyond-history"
    elif _meets(baseline, direction, target, low, high):
        verdict = "within-trend"
    elif any(meets):
        verdict = "stretch"
    else:
        verdict = "beyond-history"

    warning = critical = None
    if direction == Direction.UP:
        warning, critical = _percentile(list(history.values()), 0.25), _percentile(list(history.values()), 0.10)
    elif direction == Direction.DOWN:
        warning, critical = _percentile(list(history.values()), 0.75), _percentile(list(history.values()), 0.90)
    else:
        notes.append("No thresholds are suggested for a range KPI: its band is the target itself.")

    return TargetPreview(
        kpi_id=kpi.id,
        grain=grain,
        direction=direction.value,
        baseline_period=base_period,
        baseline_value=baseline,
        target=target,
        target_low=low,
        target_high=high,
        due=due,
        periods_remaining=remaining,
        required_absolute=absolute,
        required_relative=relative,
        linear_per_period=linear,
        compound_per_period=compound,
        history=history,
        historical_attainment=attainment,
        historical_change_attainment=change_attainment,
        projection=projection,
        method=method,
        verdict=verdict,
        target_position=position,
        suggested_warning=warning,
        suggested_critical=critical,
        notes=notes,
    )


# ------------------------------------------------------------------------------ driver trees


@dataclass(frozen=True)
class DriverNode:
    """A KPI in a driver tree: derived KPIs have an expression and children, leaves have neither."""

    kpi_id: str
    name: str
    expression: str | None = None
    children: tuple[DriverNode, ...] = ()

    @property
    def is_leaf(self) -> bool:
        """A KPI computed from its own source (or not computable yet), not from other KPIs."""
        return not self.children

    def walk(self) -> Iterator[DriverNode]:
        """This node, then its descendants depth first (a KPI used twice appears twice)."""
        yield self
        for child in self.children:
            yield from child.walk()

    def ids(self) -> list[str]:
        """Every KPI id in the tree, top first, each once."""
        return list(dict.fromkeys(node.kpi_id for node in self.walk()))

    def leaves(self) -> list[str]:
        """Ids of the leaf drivers, in order of first appearance, each once."""
        return list(dict.fromkeys(node.kpi_id for node in self.walk() if node.is_leaf))

    def as_dict(self) -> dict[str, Any]:
        """``{id, name, expression, children}`` recursively."""
        return {
            "id": self.kpi_id,
            "name": self.name,
            "expression": self.expression,
            "children": [child.as_dict() for child in self.children],
        }


def _lookup_kpi(workspace: Workspace, kpi_id: str) -> Kpi:
    kpi = workspace.kpi(kpi_id)
    if kpi is None:
        ids = [k.id for k in workspace.kpis]
        match = difflib.get_close_matches(kpi_id, ids, n=1)
        raise WhatIfError(f"unknown KPI '{kpi_id}'" + (f"; did you mean '{match[0]}'?" if match else ""))
    return kpi


class _Tree:
    """A driver tree with each derived KPI's checked expression, ready to evaluate."""

    def __init__(self, workspace: Workspace, kpi_id: str) -> None:
        from sqlglot import exp

        from kpi_model.formula import Compiler, check_derived

        _lookup_kpi(workspace, kpi_id)
        compiler = Compiler(workspace)
        compiler.dependencies(kpi_id)  # raises FormulaError on a cycle before we recurse
        all_ids = {k.id for k in workspace.kpis}
        self.expressions: dict[str, exp.Expr] = {}
        self.kpis: dict[str, Kpi] = {}

        def build(node_id: str) -> DriverNode:
            kpi = _lookup_kpi(workspace, node_id)
            self.kpis[node_id] = kpi
            if not compiler.is_derived(kpi):
                return DriverNode(kpi.id, kpi.name)
            tree = check_derived(kpi.expression, all_ids - {kpi.id}).tree
            self.expressions[node_id] = tree
            # Depth-first order keeps the drivers in the order the formula names them.
            names = dict.fromkeys(n.name for n in tree.walk(bfs=False) if isinstance(n, exp.Column))
            return DriverNode(kpi.id, kpi.name, kpi.expression, tuple(build(name) for name in names))

        self.root = build(kpi_id)

    def values(
        self, leaf_values: Mapping[str, float | None], overrides: Mapping[str, float | None] | None = None
    ) -> dict[str, float | None]:
        """Every node's value: leaves from ``leaf_values``, derived ones computed, ``overrides`` pinned."""
        pinned = overrides or {}
        memo: dict[str, float | None] = {}

        def value_of(node_id: str) -> float | None:
            if node_id in memo:
                return memo[node_id]
            if node_id in pinned:
                result = pinned[node_id]
            elif node_id in self.expressions:
                result = _evaluate_node(self.expressions[node_id], value_of, node_id)
            elif node_id in leaf_values:
                raw = leaf_values[node_id]
                result = None if raw is None or not math.isfinite(raw) else float(raw)
            else:
                raise WhatIfError(
                    f"no value for driver '{node_id}' ({self.kpis[node_id].name}); compute it first "
                    "(it needs data) or give its value"
                )
            memo[node_id] = result
            return result

        value_of(self.root.kpi_id)
        return memo


_SUPPORTED = "+, -, *, /, parentheses, numbers, KPI ids, nullif, coalesce, greatest, least and abs"


def _evaluate_node(node: exp.Expr, value_of: Callable[[str], float | None], kpi_id: str) -> float | None:
    """Evaluate an arithmetic tree with SQL's NULL rules: x / 0 is NULL (the compiler's NULLIF)."""
    from sqlglot import exp

    def ev(item: exp.Expr) -> float | None:
        if isinstance(item, exp.Paren):
            return ev(item.this)
        if isinstance(item, exp.Literal):
            if item.is_string:
                raise WhatIfError(f"KPI '{kpi_id}': text '{item.this}' cannot be evaluated as a number")
            return float(item.this)
        if isinstance(item, exp.Null):
            return None
        if isinstance(item, exp.Column):
            return value_of(item.name)
        if isinstance(item, exp.Neg):
            inner = ev(item.this)
            return None if inner is None else -inner
        if isinstance(item, exp.Abs):
            inner = ev(item.this)
            return None if inner is None else abs(inner)
        if isinstance(item, (exp.Add, exp.Sub, exp.Mul, exp.Div)):
            left, right = ev(item.this), ev(item.expression)
            if left is None or right is None:
                return None
            if isinstance(item, exp.Add):
                return left + right
            if isinstance(item, exp.Sub):
                return left - right
            if isinstance(item, exp.Mul):
                return left * right
            return None if right == 0 else left / right
        if isinstance(item, exp.Nullif):
            left, right = ev(item.this), ev(item.expression)
            return None if left is None or (right is not None and left == right) else left
        if isinstance(item, (exp.Coalesce, exp.Greatest, exp.Least)):
            arguments = [item.this, *item.expressions]
            if isinstance(item, exp.Coalesce):
                for argument in arguments:  # lazily, like SQL: later arguments may not be needed
                    found = ev(argument)
                    if found is not None:
                        return found
                return None
            # DuckDB's greatest/least skip NULLs; they are NULL only when every argument is.
            present = [v for v in (ev(a) for a in arguments) if v is not None]
            if not present:
                return None
            return max(present) if isinstance(item, exp.Greatest) else min(present)
        name = item.sql_name().lower() if isinstance(item, exp.Func) else type(item).__name__
        raise WhatIfError(f"KPI '{kpi_id}': '{name}' cannot be evaluated in a what-if; it supports {_SUPPORTED}")

    try:
        result = ev(node)
    except RecursionError:
        raise WhatIfError(f"KPI '{kpi_id}': the formula is nested too deeply to evaluate") from None
    except OverflowError:
        return None
    return result if result is None or math.isfinite(result) else None


def driver_tree(workspace: Workspace, kpi_id: str) -> DriverNode:
    """The tree of KPIs a (derived) KPI is computed from, recursively; a plain KPI is a single leaf."""
    return _Tree(workspace, kpi_id).root


def evaluate(workspace: Workspace, kpi_id: str, values: Mapping[str, float | None]) -> float | None:
    """A KPI's value from its leaf drivers' values (derived KPIs in between are computed).

    Division by zero gives None, as the compiled SQL (``NULLIF``) does; a missing leaf value
    raises :class:`WhatIfError` naming it. Values given for derived KPIs are ignored.
    """
    tree = _Tree(workspace, kpi_id)
    return tree.values(values)[kpi_id]


def what_if(
    workspace: Workspace,
    kpi_id: str,
    base_values: Mapping[str, float | None],
    changes: Mapping[str, float],
    *,
    relative: bool,
) -> dict[str, tuple[float | None, float | None]]:
    """``{kpi_id: (before, after)}`` for every KPI in the tree after moving some drivers.

    ``changes`` maps a KPI of the tree to a relative fraction (``relative=True``: 0.05 is +5 %)
    or an absolute amount. A moved derived KPI is pinned at its moved value (what is below it
    keeps its values); everything above a moved KPI is recomputed.
    """
    tree = _Tree(workspace, kpi_id)
    unknown = sorted(set(changes) - set(tree.kpis))
    if unknown:
        raise WhatIfError(
            f"{', '.join(repr(u) for u in unknown)} {'is' if len(unknown) == 1 else 'are'} not in the driver tree "
            f"of '{kpi_id}'; its KPIs are: {', '.join(tree.root.ids())}"
        )
    before = tree.values(base_values)
    moved: dict[str, float | None] = {}
    for driver, change in changes.items():
        value = before.get(driver)
        if value is None:
            moved[driver] = None
        else:
            moved[driver] = value * (1 + change) if relative else value + change
    after = tree.values(base_values, moved)
    return {node: (before.get(node), after.get(node, before.get(node))) for node in tree.root.ids()}


@dataclass(frozen=True)
class Sensitivity:
    """The effect on the top KPI of moving one leaf driver by ``step`` (a fraction: 0.01 = +1 %)."""

    driver: str
    base_value: float | None
    step: float
    absolute: float | None
    relative: float | None
    elasticity: float | None

    def as_dict(self) -> dict[str, Any]:
        """``{driver, base_value, step, absolute, relative, elasticity}``."""
        return {
            "driver": self.driver,
            "base_value": self.base_value,
            "step": self.step,
            "absolute": self.absolute,
            "relative": self.relative,
            "elasticity": self.elasticity,
        }


def sensitivity(
    workspace: Workspace, kpi_id: str, base_values: Mapping[str, float | None], step: float = 0.01
) -> list[Sensitivity]:
    """For each leaf driver: the top KPI's change when that driver alone moves by ``step`` (relative).

    ``elasticity`` = relative change of the top KPI / ``step`` (1.0 for every factor of a pure
    product). Sorted by the size of the elasticity, largest first; undefined ones (None) last.
    """
    if step == 0 or not math.isfinite(step):
        raise WhatIfError("the sensitivity step must be a non-zero fraction, e.g. 0.01 for +1 %")
    tree = _Tree(workspace, kpi_id)
    base_top = tree.values(base_values)[kpi_id]
    results = []
    for driver in tree.root.leaves():
        driver_value = base_values.get(driver)
        moved = None if driver_value is None else driver_value * (1 + step)
        top = tree.values(base_values, {driver: moved})[kpi_id]
        absolute = None if top is None or base_top is None else top - base_top
        relative = None if absolute is None or not base_top else absolute / abs(base_top)
        elasticity = None if relative is None else relative / step
        results.append(Sensitivity(driver, driver_value, step, absolute, relative, elasticity))
    # Rounded so that float noise (0.99999… vs 1.00000…) does not reorder equal drivers.
    results.sort(key=lambda s: (s.elasticity is None, -round(abs(s.elasticity or 0.0), 9)))
    return results


def latest_values(
    series_by_id: Mapping[str, Any], *, today: dt.date | None = None, grain: str = "month"
) -> dict[str, float]:
    """Each KPI's value in its latest complete period (by ``today``): the what-if's base values.

    Accepts :class:`~kpi_model.engine.Series` objects (their own grain is used) or plain
    sequences of points (at ``grain``); errors and empty series are skipped.
    """
    today = today or dt.date.today()
    found: dict[str, float] = {}
    for kpi_id, series in series_by_id.items():
        if isinstance(series, BaseException):
            continue
        points = getattr(series, "points", series)
        request = getattr(series, "request", None)
        series_grain = normalise_grain(request.grain if request is not None else grain)
        history = {p: v for p, v in _clean(points, series_grain).items() if _is_complete(p, series_grain, today)}
        if history:
            found[kpi_id] = history[next(reversed(history))]
    return found


def decomposition_suggestions(kpi: Kpi) -> list[str]:
    """Driver formulas a KPI could be decomposed into, from the template library.

    From the KPI's own template when it names one (``[]`` if that template has no
    decomposition); otherwise from templates whose name, id or keywords appear as whole
    words in the KPI's name or id — longest match first.
    """
    from kpi_model.library import TemplateError, get_template, load_templates

    if kpi.template:
        try:
            template = get_template(kpi.template)
        except TemplateError:
            pass  # a template id from another library version: fall back to matching words
        else:
            return [template.decomposes_into] if template.decomposes_into else []

    def words(text: str) -> str:
        return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "

    haystack = words(f"{kpi.name} {kpi.id.replace('_', ' ')}")
    scored: list[tuple[int, str]] = []
    for template in load_templates():
        if not template.decomposes_into:
            continue
        phrases = [template.name, template.id.replace("_", " "), *template.keywords]
        hits = [len(p) for p in phrases if words(p).strip() and words(p) in haystack]
        if hits:
            scored.append((max(hits), template.decomposes_into))
    scored.sort(key=lambda item: -item[0])
    return list(dict.fromkeys(expression for _, expression in scored))


# --------------------------------------------------------------------------------- lead / lag

MIN_PAIRED_PERIODS = 6
LEADS_R = 0.5  # |r| at or above this counts as a relation strong enough to manage by
NO_RELATION_R = 0.3  # |r| below this at every lag: nothing to see
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


@dataclass(frozen=True)
class LagCorrelation:
    """Pearson's r of leading[t] against lagging[t + lag], over ``periods`` paired periods."""

    lag: int
    correlation: float | None
    periods: int

    def as_dict(self) -> dict[str, Any]:
        """``{lag, correlation, periods}``."""
        return {"lag": self.lag, "correlation": self.correlation, "periods": self.periods}


@dataclass(frozen=True)
class LeadLag:
    """Whether and by how much a leading series leads a lagging one. :meth:`as_dict` is the JSON."""

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

    def as_dict(self) -> dict[str, Any]:
        """``verdict``, ``best_lag``, ``correlation``, ``periods``, ``by_lag`` …, ``message``."""
        return {
            "verdict": self.verdict,
            "best_lag": self.best_lag,
            "correlation": self.correlation,
            "periods": self.periods,
            "unit": self.grain,
            "max_lag": self.max_lag,
            "focus": list(self.focus),
            "differenced": self.differenced,
            "by_lag": [item.as_dict() for item in self.by_lag],
            "message": self.message,
        }


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def _differences(values: dict[dt.date, float], grain: str) -> dict[dt.date, float]:
    """Change from the previous period, only where that period is present (no bridging gaps)."""
    return {
        period: value - values[previous]
        for period, value in values.items()
        if (previous := shift_period(period, -1, grain)) in values
    }


def lead_lag(
    leading: Sequence[Point],
    lagging: Sequence[Point],
    *,
    max_lag: int | None = None,
    cadence: str = "monthly",
    differenced: bool = False,
    leading_name: str = "the leading KPI",
    lagging_name: str = "the lagging KPI",
) -> LeadLag:
    """Correlate leading[t] with lagging[t + lag] for lag = 0..max_lag, periods aligned by date.

    Default lags: 0–6 weeks (weekly; 4–6 is the usual ``focus``), 0–3 months, 0–2 quarters.
    ``best_lag`` is the lag with the largest |r| among lags with at least 6 paired periods.
    Verdicts, in order: ``too-little-data`` (no lag has 6 pairs with a defined r — short or
    constant series), ``no-relation`` (|r| < 0.3 at every such lag), ``leads`` (|r| ≥ 0.5 at a
    best lag > 0), ``coincident`` (|r| ≥ 0.5 at lag 0), otherwise ``weak``. ``differenced``
    correlates period-to-period changes instead of levels, which removes shared trends.
    """
    grain = normalise_grain(cadence)
    default_max, focus = _DEFAULT_LAGS[grain]
    top = default_max if max_lag is None else max_lag
    if top < 0:
        raise WhatIfError(f"max_lag must be 0 or more, not {max_lag}")
    if max_lag is not None:
        focus = (min(focus[0], top), min(focus[1], top))
    lead_values, lag_values = _clean(leading, grain), _clean(lagging, grain)
    if differenced:
        lead_values, lag_values = _differences(lead_values, grain), _differences(lag_values, grain)
    basis = "on period-to-period changes" if differenced else "on levels"

    by_lag: list[LagCorrelation] = []
    constant_side: str | None = None
    for lag in range(top + 1):
        pairs = [
            (value, lag_values[later])
            for period, value in lead_values.items()
            if (later := shift_period(period, lag, grain)) in lag_values
        ]
        xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
        r = _pearson(xs, ys)
        if r is None and len(pairs) >= 3:
            constant_side = leading_name if _is_constant(xs) else lagging_name
        by_lag.append(LagCorrelation(lag, r, len(pairs)))

    eligible = [item for item in by_lag if item.correlation is not None and item.periods >= MIN_PAIRED_PERIODS]
    unit = grain
    lags = f"lags of 0 to {_plural(top, unit)}"
    if not eligible:
        overlap = max((item.periods for item in by_lag), default=0)
        if constant_side is not None and overlap >= MIN_PAIRED_PERIODS:
            message = (
                f"Too little data to tell: {constant_side} does not change over the {overlap} periods that "
                f"overlap, so no correlation can be computed"
            )
        else:
            message = (
                f"Too little data to tell: only {_plural(overlap, 'period')} overlap "
                f"(at {lags}; at least {MIN_PAIRED_PERIODS} are needed)"
            )
        return LeadLag("too-little-data", None, None, overlap, by_lag, grain, top, focus, differenced, message)

    best = max(eligible, key=lambda item: (abs(item.correlation or 0.0), -item.lag))
    r = best.correlation
    assert r is not None
    stats = f"r = {r:.2f} over {best.periods} periods, {basis}"
    inverse = ", in the opposite direction" if r < 0 else ""
    when = f"in the same {unit}" if best.lag == 0 else f"{_plural(best.lag, unit)} later"
    if all(abs(item.correlation or 0.0) < NO_RELATION_R for item in eligible):
        verdict = "no-relation"
        tested = f"at every lag from 0 to {_plural(top, unit)}" if top else f"in the same {unit}, the only lag tested"
        message = (
            f"No relation between {leading_name} and {lagging_name}: |r| < {NO_RELATION_R} {tested} "
            f"(best: {when}, {stats})"
        )
    elif abs(r) >= LEADS_R and best.lag > 0:
        verdict = "leads"
        # Worded so that no KPI name has to agree with a verb ("Marketing-qualified leads leads …").
        message = (
            f"Changes in {leading_name} show up in {lagging_name} {_plural(best.lag, unit)} later{inverse} ({stats})"
        )
    elif abs(r) >= LEADS_R:
        verdict = "coincident"
        better = f"; no lag up to {_plural(top, unit)} does better" if top else f" (only the same {unit} was tested)"
        message = f"{leading_name} and {lagging_name} move in the same {unit}{inverse} ({stats}){better}"
    else:
        verdict = "weak"
        message = f"Only a weak relation between {leading_name} and {lagging_name}: best {when}{inverse} ({stats})"
    if message.startswith("the "):  # the default names; a KPI id keeps its own spelling
        message = "T" + message[1:]
    return LeadLag(verdict, best.lag, r, best.periods, by_lag, grain, top, focus, differenced, message)


NON_NEGATIVE_UNITS = {"count", "currency", "percent", "ratio", "duration"}


def target_concerns(kpi: Kpi, baseline: float | None, target: float) -> list[tuple[str, str]]:
    """``(level, message)`` pairs about a proposed target before anyone commits to it.

    ``error``: the value cannot be meant (a negative count); ``warning``: it is possible but
    asks for nothing (already met by the baseline) or looks like a unit slip (30 for 30%).
    """
    concerns: list[tuple[str, str]] = []
    unit = kpi.unit_of_measure.value if kpi.unit_of_measure else None
    if unit in NON_NEGATIVE_UNITS and target < 0:
        concerns.append(("error", f"a {unit} KPI cannot be below zero; a target of {target:g} cannot be reached"))
    if unit == "percent" and target > 1.5:
        concerns.append(
            ("warning", f"percent KPIs are stored as fractions: did you mean {target / 100:g} for {target:g}%?")
        )
    direction = kpi.direction.value if kpi.direction else "up"
    if baseline is not None and direction in ("up", "down"):
        already = target <= baseline if direction == "up" else target >= baseline
        if already:
            side = "below" if direction == "up" else "above"
            concerns.append(
                (
                    "warning",
                    f"the baseline ({baseline:,.6g}) already meets it: a target {side} today's value asks for "
                    "no improvement (fine only if holding the level is the point)",
                )
            )
    return concerns

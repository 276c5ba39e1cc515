"""KPI023 threshold-order, and when thresholds fit a target and direction, which direction they imply.

For a KPI that should go up, red (critical) must come below amber (warning), and both at or below
the target: ``critical < warning <= target``; for one that should go down, the mirror image. The
helpers here work in "bigger is better" space (values times +1 or -1), so one comparison covers both.
"""

from __future__ import annotations

from collections.abc import Iterator

from kpi_model.checks.base import AuditContext, Finding, Rule, Severity
from kpi_model.checks.names import kpi_label
from kpi_model.models import Direction, Kpi, UnitOfMeasure

_SIGN = {Direction.UP: 1, Direction.DOWN: -1}


def num(value: float) -> str:
    """A number as the user typed it: 0.045, 12500, 1.5 (no exponent, no thousands separator)."""
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def shown(value: float, percent: bool = False) -> str:
    """A value in a finding's message: a percent KPI's 0.975 as ``97.5%``."""
    return f"{num(value * 100)}%" if percent else num(value)


def typed(value: float, percent: bool = False) -> str:
    """A value in a fix: as a percent and as the fraction a workspace file holds, ``97.5% (0.975)``."""
    return f"{num(value * 100)}% ({num(value)})" if percent else num(value)


def is_percent(kpi: Kpi) -> bool:
    """Whether the KPI's values are fractions shown as percents."""
    return kpi.unit_of_measure == UnitOfMeasure.PERCENT


def lines(kpi: Kpi) -> tuple[float | None, float | None, float | None]:
    """(target value, warning, critical) of a KPI, each None when not set."""
    target = kpi.target.value if kpi.target else None
    thresholds = kpi.thresholds
    return target, thresholds.warning if thresholds else None, thresholds.critical if thresholds else None


def fits(direction: Direction, target: float | None, warning: float | None, critical: float | None) -> bool:
    """Whether the thresholds are in order for the direction, and on the right side of the target."""
    sign = _SIGN[direction]
    if warning is not None and critical is not None and not sign * critical < sign * warning:
        return False
    if target is not None:
        if warning is not None and sign * warning > sign * target:
            return False
        if critical is not None and sign * critical >= sign * target:
            return False
    return True


def candidate_directions(kpi: Kpi) -> list[Direction]:
    """The directions a KPI may mean: its own; else the one its target and baseline show; else both."""
    if kpi.direction in _SIGN:
        return [kpi.direction]  # type: ignore[list-item]
    target, baseline = lines(kpi)[0], kpi.baseline.value if kpi.baseline else None
    if target is not None and baseline is not None and target != baseline:
        return [Direction.UP if target > baseline else Direction.DOWN]
    return [Direction.UP, Direction.DOWN]


def implied_direction(kpi: Kpi) -> Direction | None:
    """The direction a KPI without one clearly means, or None when that would be a guess.

    Clear means: its target lies on one side of its baseline, or only one direction fits its
    thresholds, and nothing else contradicts it. A target given as low and high means a range.
    """
    if kpi.direction is not None:
        return None
    target, warning, critical = lines(kpi)
    band = kpi.target
    if target is None:
        return Direction.RANGE if band and band.low is not None and band.high is not None else None
    baseline = kpi.baseline.value if kpi.baseline else None
    if baseline is not None and baseline == target:
        return None  # either direction would make the target "no change"
    candidates = candidate_directions(kpi)
    if warning is None and critical is None:
        return candidates[0] if len(candidates) == 1 else None
    fitting = [d for d in candidates if fits(d, target, warning, critical)]
    return fitting[0] if len(fitting) == 1 else None


def _decimals(*values: float | None) -> int:
    return max((len(num(v).partition(".")[2]) for v in values if v is not None), default=0)


def proposal(
    direction: Direction, target: float | None, warning: float | None, critical: float | None
) -> tuple[float | None, float | None] | None:
    """(warning, critical) that fit the direction and the target, as close to the given ones as possible.

    Values already on the right side of the target are kept (swapped if needed); a red line on the
    wrong side moves below the warning by the larger of its two gaps. None when there is nothing
    concrete to offer (both lines on the wrong side, or no gap to step by).
    """
    sign = _SIGN[direction]
    places = _decimals(target, warning, critical) + 1

    def back(value: float | None) -> float | None:
        return None if value is None else round(sign * value, places)

    if warning is not None and critical is not None:
        values = sorted({sign * warning, sign * critical})
        if target is None:
            good = (values[-1], values[0]) if len(values) == 2 else None
        else:
            top = sign * target
            below = [v for v in values if v <= top]
            above = [v for v in values if v > top]
            if len(below) == 2:
                good = (below[1], below[0])
            elif len(below) == 1 and (step := max(top - below[0], *(v - top for v in above), 0)) > 0:
                good = (below[0], below[0] - step)
            else:
                good = None
        result = (back(good[0]), back(good[1])) if good else None
    elif target is None:
        result = None
    elif warning is not None:
        mirrored = 2 * sign * target - sign * warning  # as far below the target as it is above now
        result = (back(mirrored), None)
    else:
        assert critical is not None
        gap = sign * critical - sign * target
        result = (None, back(sign * target - gap)) if gap > 0 else None
    if result is None or not fits(direction, target, *result) or result == (warning, critical):
        return None
    return result


# ---------------------------------------------------------------- KPI023 threshold-order


def _problems(
    direction: Direction, target: float | None, warning: float | None, critical: float | None, percent: bool = False
) -> list[str]:
    """What is wrong with the thresholds for this direction, in words (empty when they fit)."""

    def num(value: float) -> str:
        return shown(value, percent)

    up = direction == Direction.UP
    sign, below, above = (1, "below", "above") if up else (-1, "above", "below")
    found = []
    if warning is not None and critical is not None:
        if critical == warning:
            found.append(f"warning and critical are both {num(warning)}, so there is no amber zone")
        elif sign * critical > sign * warning:
            found.append(
                f"the thresholds are swapped: critical {num(critical)} is {above} warning {num(warning)}, but red "
                f"must come {below} amber"
            )
    if target is not None:
        beyond = [f"warning {num(warning)}"] if warning is not None and sign * warning > sign * target else []
        red = critical is not None and sign * critical >= sign * target
        beyond += [f"critical {num(critical)}"] if critical is not None and red else []
        if beyond:
            verb = "are" if len(beyond) > 1 else "is"
            side = f"{above} or at" if critical is not None and critical == target else above
            found.append(
                f"{' and '.join(beyond)} {verb} {side} the target {num(target)}, so it shows "
                f"{'red' if red else 'amber'} even when it reaches its target"
            )
    return found


def _order_rule(direction: Direction, target: float | None, percent: bool = False) -> str:
    at = f"the target {shown(target, percent)}" if target is not None else ""
    if direction == Direction.UP:
        return "red below amber" + (f", both at or below {at}" if at else "")
    return "red above amber" + (f", both at or above {at}" if at else "")


def _threshold_fix(kpi: Kpi, direction: Direction) -> tuple[str, dict[str, object] | None]:
    """A fix that fits the target and direction, with its patch when it is concrete."""
    target, warning, critical = lines(kpi)
    better = proposal(direction, target, warning, critical)
    percent = is_percent(kpi)
    rule = f"for direction {direction.value}: {_order_rule(direction, target, percent)}"
    if better is None:
        return f"move the thresholds: {rule}", None
    new_warning, new_critical = better
    if (new_warning, new_critical) == (critical, warning):
        text = f"swap them: warning {typed(critical, percent)}, critical {typed(warning, percent)}"  # type: ignore[arg-type]
    else:
        parts = [
            f"{name} {typed(v, percent)}"
            for name, v in (("warning", new_warning), ("critical", new_critical))
            if v is not None
        ]
        text = f"set {', '.join(parts)}"
    fixed = {k: v for k, v in (("warning", new_warning), ("critical", new_critical)) if v is not None}
    kept = kpi.thresholds.model_dump(mode="json", exclude_none=True) if kpi.thresholds else {}
    return f"{text} ({rule})", {"thresholds": kept | fixed}


def _threshold_order(ctx: AuditContext) -> Iterator[Finding]:
    for kpi in ctx.workspace.kpis:
        target, warning, critical = lines(kpi)
        if warning is None and critical is None:
            continue  # nothing to order
        label = kpi_label(kpi)
        if kpi.direction == Direction.RANGE:
            band = kpi.target
            if band is None or band.low is None or band.high is None:
                yield THRESHOLD_ORDER.finding(
                    "kpi", kpi.id,
                    f"KPI {label} stays inside a range but has thresholds and no complete range (low and high): "
                    "the thresholds have nothing to be read against",
                    "set target low and high; a range KPI is red outside them, so the thresholds can go",
                    severity=Severity.INFO,
                )  # fmt: skip
            continue
        candidates = candidate_directions(kpi)
        if any(fits(d, target, warning, critical) for d in candidates):
            continue  # in order for its direction, or for a direction it may mean (no guessing)
        if len(candidates) == 1:
            direction = candidates[0]
            problems = _problems(direction, target, warning, critical, is_percent(kpi))
            why = (
                f"should go {direction.value}" if kpi.direction is not None
                else f"has its target {'above' if direction == Direction.UP else 'below'} its baseline"
            )  # fmt: skip
            fix, patch = _threshold_fix(kpi, direction)
            yield THRESHOLD_ORDER.on_kpi(
                kpi, f"KPI {label} {why}, but its thresholds do not fit: {'; and '.join(problems)}", fix, patch=patch
            )
            continue
        up, down = (_problems(d, target, warning, critical, is_percent(kpi)) for d in (Direction.UP, Direction.DOWN))
        yield THRESHOLD_ORDER.on_kpi(
            kpi,
            f"KPI {label} has thresholds that fit no direction: {'; '.join(up)} if higher is better, and "
            f"{'; '.join(down)} if lower is better",
            f"set the direction, then {_threshold_fix(kpi, Direction.UP)[0]}, or "
            f"{_threshold_fix(kpi, Direction.DOWN)[0]}",
        )


THRESHOLD_ORDER = Rule(
    id="KPI023",
    slug="threshold-order",
    severity=Severity.WARNING,
    rationale="Thresholds in the wrong order, or on the wrong side of the target, show red when all is well, or "
    "green when it is not. Without a direction they are judged only when they fit neither way.",
    example="KPI 'Web conversion rate' (up) with target 0.045, warning 0.05 and critical 0.033.",
    fix="For 'up' keep critical < warning ≤ target; for 'down', critical > warning ≥ target.",
    check=_threshold_order,
)

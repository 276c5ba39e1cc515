"""Facts about a KPI's target, thresholds and direction that several rules share.

For a KPI that should go up, red (critical) must come below amber (warning), and both at or below
the target: ``critical < warning <= target``; for one that should go down, the mirror image. The
helpers work in "bigger is better" space (values times +1 or -1), so one comparison covers both.
"""

from __future__ import annotations

from kpi_model.checks.wording import num
from kpi_model.models import Direction, Kpi

_SIGN = {Direction.UP: 1, Direction.DOWN: -1}


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

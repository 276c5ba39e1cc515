"""Which way a register's KPI should move, when no column says so but its red and amber lines do.

Registers rarely have a "Higher is better" column; they write ``Red if < 90%`` or put the red
line below the target. A direction is inferred only from evidence that agrees with itself:

1. the comparators of the threshold cells (``< 90%`` means red below, so higher is better);
2. else the positions of the lines: every line below the target, red at or below amber, means up
   (mirrored for down).

Contradicting evidence decides nothing, so the audit still sees a threshold on the wrong side
of its target instead of a direction bent to fit it.
"""

from __future__ import annotations

from collections.abc import Mapping

from kpi_model.models import Direction

_OPPOSITE = {Direction.UP: Direction.DOWN, Direction.DOWN: Direction.UP}


def implied_direction(
    target: float | None,
    thresholds: Mapping[str, float],
    comparators: Mapping[str, Direction | None],
) -> tuple[Direction, str] | None:
    """The direction the lines imply and why, or None when they do not say it unambiguously.

    ``comparators`` holds, per threshold key, the side a cell's comparator favours as a target
    would read it (``'< 90%'`` → down); a threshold marks the bad side, so it implies the opposite.
    """
    said = {_OPPOSITE[d] for d in comparators.values() if d in _OPPOSITE}
    if len(said) == 1:
        return said.pop(), "its red/amber lines say on which side it turns red"
    if said or target is None or not thresholds:
        return None
    lines = list(thresholds.values())
    critical, warning = thresholds.get("critical"), thresholds.get("warning")
    if all(line < target for line in lines) and (critical is None or warning is None or critical <= warning):
        return Direction.UP, "its red/amber lines lie below its target"
    if all(line > target for line in lines) and (critical is None or warning is None or critical >= warning):
        return Direction.DOWN, "its red/amber lines lie above its target"
    return None

"""Small statistics over plain float sequences, shared by target previews and lead/lag (no numpy)."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["is_constant", "mean", "pearson", "percentile"]


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean, summed with ``math.fsum`` (no rounding drift); ``values`` is not empty."""
    return math.fsum(values) / len(values)


def percentile(values: Sequence[float], share: float) -> float:
    """Linear interpolation between closest ranks (numpy's default ``percentile`` method)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def is_constant(values: Sequence[float]) -> bool:
    """True when every value is the same, up to float noise; ``values`` is not empty."""
    # Relative tolerance: values summed from floats (0.1 + 0.2) are not exactly equal.
    scale = max(1.0, *(abs(v) for v in values))
    return max(values) - min(values) <= 1e-12 * scale


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r, or None when it is undefined (fewer than 3 pairs, or a constant side)."""
    if len(xs) < 3 or is_constant(xs) or is_constant(ys):
        return None
    mx, my = mean(xs), mean(ys)
    sxy = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    syy = math.fsum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return None
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))

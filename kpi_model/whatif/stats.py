"""Small statistics over plain float sequences, shared by target previews and lead/lag (no numpy)."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache

__all__ = [
    "THEIL_SEN_PAIRS",
    "autocorrelation",
    "correlation_p_value",
    "effective_n",
    "incomplete_beta",
    "is_constant",
    "mean",
    "median",
    "pearson",
    "percentile",
    "sidak",
    "t_cdf",
    "t_quantile",
    "theil_sen",
]


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


def autocorrelation(values: Sequence[float], lag: int = 1) -> float:
    """The sample autocorrelation at ``lag`` (the usual estimator: lagged products over the total
    sum of squares, so it stays within ±1); 0.0 for a constant or too short sequence."""
    n = len(values)
    if n <= lag + 1 or is_constant(values):
        return 0.0
    m = mean(values)
    total = math.fsum((v - m) ** 2 for v in values)
    return math.fsum((values[i] - m) * (values[i + lag] - m) for i in range(n - lag)) / total


def effective_n(n: int, xs: Sequence[float], ys: Sequence[float]) -> float:
    """Pairs worth of independent information in ``n`` pairs of two autocorrelated series.

    Bartlett's variance of a cross-correlation between two independent AR(1)-like series gives
    n_eff = n·(1 − r1·s1)/(1 + r1·s1) (Quenouille), with r1, s1 the lag-1 autocorrelations of
    ``xs`` and ``ys``. Capped at ``n``: a negative product is not taken as extra information.

    >>> effective_n(24, [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6]) < 24
    True
    """
    product = autocorrelation(xs) * autocorrelation(ys)
    return min(float(n), n * (1 - product) / (1 + product))


def _continued_fraction(a: float, b: float, x: float) -> float:
    """Lentz's continued fraction for the incomplete beta function (Numerical Recipes' betacf)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-14:
            break
    return h


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b), for a, b > 0 and 0 ≤ x ≤ 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _continued_fraction(b, a, 1.0 - x) / b


def correlation_p_value(r: float, n: float) -> float:
    """Two-sided p-value of Pearson's ``r`` over ``n`` (possibly effective, fractional) pairs.

    Student's t with n − 2 degrees of freedom: t² = r²(n − 2)/(1 − r²), p = I_{df/(df+t²)}(df/2, 1/2).
    With n ≤ 2 nothing can be told: 1.0.

    >>> round(correlation_p_value(0.5, 20), 4)  # scipy.stats.pearsonr gives 0.0248
    0.0248
    """
    df = n - 2.0
    if df <= 0:
        return 1.0
    r2 = min(r * r, 1.0)
    if r2 >= 1.0:
        return 0.0
    t2 = r2 * df / (1.0 - r2)
    return min(1.0, incomplete_beta(df / 2.0, 0.5, df / (df + t2)))


def sidak(p: float, tests: int) -> float:
    """The family-wise p-value of the smallest of ``tests`` p-values: 1 − (1 − p)^tests."""
    if tests <= 1:
        return p
    return -math.expm1(tests * math.log1p(-p)) if p < 1.0 else 1.0


def median(values: Sequence[float]) -> float:
    """The middle value (the mean of the two middle ones for an even count); ``values`` is not empty."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def t_cdf(t: float, df: float) -> float:
    """P(T ≤ t) for Student's t with ``df`` degrees of freedom (df > 0)."""
    tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


@lru_cache(maxsize=512)
def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (bisection on :func:`t_cdf`).

    >>> round(t_quantile(0.9, 3), 3)  # tables: 1.638
    1.638
    >>> round(t_quantile(0.9, 1e6), 3)  # the normal quantile
    1.282
    """
    if not 0.0 < p < 1.0:
        raise ValueError("p must be strictly between 0 and 1")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        high *= 2.0
    for _ in range(100):
        mid = (low + high) / 2.0
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-10:
            break
    return (low + high) / 2.0


THEIL_SEN_PAIRS = 50_000


def _sampled_pairs(n: int, count: int) -> Iterator[tuple[int, int]]:
    """``count`` index pairs ``i < j`` drawn at random, the same ones for the same ``n`` (seeded)."""
    rng = random.Random(n)
    for _ in range(count):
        a, b = rng.randrange(n), rng.randrange(n)
        if a != b:
            yield (a, b) if a < b else (b, a)


def theil_sen(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """``(slope, intercept)`` of the Theil–Sen line: the median of all pairwise slopes, and the median
    of ``y − slope·x``. One jump or outlier among the points barely moves it (breakdown point ≈ 29 %),
    where least squares would tilt the whole line towards it.

    >>> theil_sen([0, 1, 2, 3, 4], [0, 1, 2, 30, 4])
    (1.0, 0.0)
    """
    n = len(xs)
    if n * (n - 1) // 2 <= THEIL_SEN_PAIRS:
        pairs: Iterable[tuple[int, int]] = ((i, j) for i in range(n) for j in range(i + 1, n))
    else:
        # Past ~300 points, a fixed-size random sample of the pairs: the median of 50,000 slopes is as
        # robust, and the work no longer grows with n² (100,000 daily points are 5·10⁹ pairs).
        pairs = _sampled_pairs(n, THEIL_SEN_PAIRS)
    slopes = [(ys[j] - ys[i]) / (xs[j] - xs[i]) for i, j in pairs if xs[j] != xs[i]]
    slope = median(slopes) if slopes else 0.0
    return slope, median([y - slope * x for x, y in zip(xs, ys, strict=True)])

"""Goal-seek: which value of one driver brings the KPI above it to its target, the others held.

The top KPI as a function of one driver, ``f(x)``, is what the tree evaluator computes with that
driver pinned at ``x``. Sums, products and ratios of drivers make ``f`` linear-fractional in ``x``
(``(a·x + b) / (c·x + d)``: ``x`` in a numerator, a denominator, or both as in ``a / (a + b)``), so
three evaluations fix it and ``f(x) = target`` is solved exactly; the answer is checked by
evaluating the tree again. Any other shape (``greatest``, ``x * x``) falls back to a bracket search
and bisection inside the driver's domain. The answer says plainly when no value can do it: the
driver does not move the KPI, or the value needed lies outside what the driver can be (a win rate
of 130 %), or nothing in its domain gets there.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kpi_model.models import DriverChange, Kpi, Workspace
from kpi_model.whatif.driver_text import change_text, domain_text, driver_domain, value_text
from kpi_model.whatif.drivers import _check_in_tree, _Tree, moved_value

__all__ = ["GoalSeek", "goal_seek"]

# How close the top KPI must come to the target for an answer to count: relative, with an absolute floor.
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class GoalSeek:
    """The answer to "which value of ``driver`` brings ``kpi`` to ``target``".

    ``status``: ``reached`` (``value`` does it), ``outside-domain`` (only ``value``, which the driver
    cannot take, would), ``no-effect`` (moving the driver does not move the KPI), ``unreachable``
    (nothing in the domain gets there; ``value`` is the closest found), ``no-target`` or ``no-value``
    (the driver has no base value). ``message`` says it in a sentence. ``partial_base`` says why
    the base values cannot be trusted as a whole period (None when they can); the message ends with it.
    """

    kpi: str
    driver: str
    target: float | None
    status: str
    value: float | None
    base_value: float | None
    kpi_before: float | None
    kpi_at_value: float | None
    domain: tuple[float, float]
    message: str
    partial_base: str | None = None

    @property
    def change(self) -> float | None:
        """The relative move of the driver the answer needs (0.46 = +46 %), when it has one."""
        if self.value is None or not self.base_value:
            return None
        return (self.value - self.base_value) / abs(self.base_value)

    def as_dict(self) -> dict[str, Any]:
        """Every field, with the domain's infinite ends as None (JSON has no infinity)."""
        return {
            "kpi": self.kpi,
            "driver": self.driver,
            "target": self.target,
            "status": self.status,
            "value": self.value,
            "base_value": self.base_value,
            "change": self.change,
            "kpi_before": self.kpi_before,
            "kpi_at_value": self.kpi_at_value,
            "domain": [None if math.isinf(end) else end for end in self.domain],
            "message": self.message,
            "partial_base": self.partial_base,
        }


def _close(found: float | None, target: float) -> bool:
    return found is not None and abs(found - target) <= _TOLERANCE * max(1.0, abs(target))


def _linear_fractional_root(points: Sequence[tuple[float, float]], target: float) -> float | None:
    """The x where the linear-fractional curve through three points reaches ``target``, if it has one.

    ``y = (a·x + b) / (c·x + d)`` ⇔ ``a·x + b − c·x·y − d·y = 0``: three points give three
    equations in (a, b, c, d); the solution up to scale is the 4-vector of signed 3×3 minors.
    """
    rows = [(x, 1.0, -x * y, -y) for x, y in points]

    def minor(skip: int) -> float:
        m = [[row[j] for j in range(4) if j != skip] for row in rows]
        return (
            m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        )

    a, b, c, d = (minor(j) * (-1) ** j for j in range(4))
    denominator = a - target * c
    if denominator == 0 or not math.isfinite(denominator):
        return None
    root = (target * d - b) / denominator
    return root if math.isfinite(root) else None


def _bisect(f: Callable[[float], float | None], low: float, high: float, target: float) -> float | None:
    f_low = f(low)
    if f_low is None:
        return None
    below = f_low < target
    for _ in range(200):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        value = f(middle)
        if value is None:
            return None
        if (value < target) == below:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _probe_points(start: float, domain: tuple[float, float]) -> list[float]:
    """Points from ``start`` outwards, on a log scale in both directions, kept inside the domain."""
    low, high = domain
    scale = abs(start) or 1.0
    offsets = [0.0] + [sign * scale * 10 ** (k / 4) for k in range(-24, 41) for sign in (1, -1)]
    points = {start + offset for offset in offsets}
    points |= {end for end in domain if math.isfinite(end)}
    return sorted(x for x in points if low <= x <= high)


def _name(workspace: Workspace, kpi_id: str) -> str:
    kpi = workspace.kpi(kpi_id)
    return kpi.name if kpi is not None else kpi_id


def _shown(value: float | None, kpi: Kpi | None) -> str:
    return value_text(kpi, value)


def _domain_text(domain: tuple[float, float], kpi: Kpi | None) -> str:
    return domain_text(domain, kpi)


def goal_seek(
    workspace: Workspace,
    kpi_id: str,
    base_values: Mapping[str, float | None],
    driver: str,
    target: float | None = None,
    *,
    changes: Sequence[DriverChange] = (),
    domain: tuple[float, float] | None = None,
    partial_base: str | None = None,
) -> GoalSeek:
    """The value of ``driver`` that brings ``kpi_id`` to ``target`` (the KPI's own target by default).

    Every other driver keeps its base value, moved by ``changes`` first (goal-seek within a
    scenario); a change to ``driver`` itself is where the search starts. ``driver`` may be a leaf or
    a derived KPI in between (it is pinned, as in :func:`~kpi_model.whatif.drivers.what_if`).
    ``domain`` defaults to :func:`~kpi_model.whatif.driver_text.driver_domain` of the driver.
    ``partial_base`` (:meth:`~kpi_model.whatif.driver_base.DriverBase.partial_warning`) is added to
    the answer when the base values cover only part of a period: "now" is then part of a period.
    """
    tree = _Tree(workspace, kpi_id)
    _check_in_tree(tree, kpi_id, [driver, *(change.kpi for change in changes)])
    top, moved_kpi = tree.kpis[kpi_id], tree.kpis[driver]
    domain = domain or driver_domain(moved_kpi)
    if target is None and top.target is not None:
        target = top.target.value
    before = tree.values(base_values)
    pinned = {change.kpi: moved_value(change, before.get(change.kpi)) for change in changes}
    start_values = tree.values(base_values, pinned)
    start, kpi_before = start_values.get(driver), start_values.get(kpi_id)
    top_name, driver_name = _name(workspace, kpi_id), _name(workspace, driver)

    def answer(status: str, value: float | None, message: str, at: float | None = None) -> GoalSeek:
        if partial_base:
            message = f"{message}. {partial_base[:1].upper()}{partial_base[1:]}"
        return GoalSeek(kpi_id, driver, target, status, value, start, kpi_before, at, domain, message, partial_base)

    if target is None or not math.isfinite(target):
        return answer(
            "no-target",
            None,
            f"'{top_name}' has no target value to seek; give one (a range target has none: name the value)",
        )
    goal = f"its target {_shown(target, top)}"
    if start is None:
        return answer("no-value", None, f"'{driver_name}' has no value to start from, so nothing can be sought")

    def f(x: float) -> float | None:
        return tree.values(base_values, {**pinned, driver: x})[kpi_id]

    if _close(kpi_before, target):
        already = f"'{top_name}' is at {goal} already, with '{driver_name}' at {_shown(start, moved_kpi)}"
        return answer("reached", start, already, kpi_before)
    probes = _probe_points(start, domain)
    if len(probes) < 2:  # a domain of one point (or a start outside it): probe around the start
        probes = _probe_points(start, (-math.inf, math.inf))
    evaluated = [(x, f(x)) for x in probes]
    finite = [(x, y) for x, y in evaluated if y is not None]
    if not finite:
        return answer(
            "no-effect",
            None,
            f"'{top_name}' has no value whatever '{driver_name}' is (a division by zero below it?): "
            f"no value of '{driver_name}' reaches {goal}",
        )
    if len({y for _, y in finite}) <= 1:
        return answer(
            "no-effect",
            None,
            f"moving '{driver_name}' does not move '{top_name}' (it stays at {_shown(kpi_before, top)}): "
            f"no value of '{driver_name}' reaches {goal}",
        )
    # Exact for sums, products and ratios: fit the curve through three points near the start.
    step = abs(start) * 0.5 or 1.0
    near = [(x, f(x)) for x in (start - step, start, start + step)]
    fitted: float | None = None
    if all(y is not None for _, y in near):
        candidate = _linear_fractional_root([(x, y) for x, y in near if y is not None], target)
        if candidate is not None and _close(f(candidate), target):
            fitted = candidate
    root = fitted
    if root is None or not domain[0] <= root <= domain[1]:
        # Another shape, or a root outside the domain (x·x = 49 at −7 for a count): the bracket inside
        # the domain closest to the start, then bisection. The probes all lie inside the domain.
        brackets = [
            (x1, x2)
            for (x1, y1), (x2, y2) in itertools.pairwise(evaluated)
            if y1 is not None and y2 is not None and (y1 - target) * (y2 - target) <= 0
        ]
        brackets.sort(key=lambda pair: min(abs(pair[0] - start), abs(pair[1] - start)))
        for low, high in brackets:
            found = _bisect(f, low, high, target)
            if found is not None and _close(f(found), target):
                root = found
                break
    if root is not None and domain[0] <= root <= domain[1]:
        return answer(
            "reached",
            root,
            f"'{top_name}' reaches {goal} when '{driver_name}' is {_shown(root, moved_kpi)} "
            f"(now {_shown(start, moved_kpi)}{_relative(root, start)})",
            f(root),
        )
    if root is not None:  # only the fitted root, outside the domain, reaches the target
        return answer(
            "outside-domain",
            root,
            f"'{top_name}' would reach {goal} only with '{driver_name}' at {_shown(root, moved_kpi)}, outside what "
            f"it can be ({_domain_text(domain, moved_kpi)}): move other drivers too, or check the target",
            f(root),
        )
    inside = [(x, y) for x, y in finite if domain[0] <= x <= domain[1]] or finite
    closest_x, closest_y = min(inside, key=lambda item: abs(item[1] - target))
    return answer(
        "unreachable",
        closest_x,
        f"no value of '{driver_name}' ({_domain_text(domain, moved_kpi)}) brings '{top_name}' to {goal}; the "
        f"closest is {_shown(closest_y, top)} with '{driver_name}' at {_shown(closest_x, moved_kpi)}",
        closest_y,
    )


def _relative(value: float, start: float) -> str:
    if not start:
        return ""
    return f", {change_text((value - start) / abs(start))}"

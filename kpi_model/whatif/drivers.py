"""Driver trees: the KPIs a derived KPI is computed from, and what moving one of them does above it.

``web_revenue = sessions * conversion_rate * average_order_value`` is evaluated from its drivers'
values (:mod:`kpi_model.whatif.evaluator`), so :func:`what_if`, :func:`apply_changes` and
:func:`sensitivity` show what moves when a driver moves. :func:`base_values` takes every driver's
value from ONE base period (by default the latest complete period all drivers share), so a tree
never multiplies May's leads by November's deals; :func:`decomposition_suggestions` proposes
drivers for a KPI that has none yet. Goal-seek is in :mod:`~kpi_model.whatif.goal_seek`, named
scenarios in :mod:`~kpi_model.whatif.scenarios`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kpi_model.errors import WhatIfError
from kpi_model.models import DriverChange, Kpi, Workspace
from kpi_model.periods import (
    is_complete,
    normalise_grain,
    parse_baseline_period,
    period_label,
    shift_period,
    values_by_period,
)
from kpi_model.whatif.evaluator import evaluate_expression
from kpi_model.whatif.projection import Domain, kpi_domain

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = [
    "DriverBase",
    "DriverNode",
    "Sensitivity",
    "apply_changes",
    "base_values",
    "change_text",
    "decomposition_suggestions",
    "describe_change",
    "domain_text",
    "domain_warnings",
    "driver_domain",
    "driver_domain_rule",
    "driver_tree",
    "evaluate",
    "latest_values",
    "sensitivity",
    "signed",
    "value_text",
    "what_if",
]

# One minus sign in every driver table and message: the typographic one that
# :func:`~kpi_model.whatif.target_result.format_change` writes, never a hyphen beside it.
MINUS = "\u2212"


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
                result = evaluate_expression(self.expressions[node_id], value_of, node_id)
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
    typed = [
        DriverChange(kpi=driver, relative=change) if relative else DriverChange(kpi=driver, add=change)
        for driver, change in changes.items()
    ]
    return apply_changes(workspace, kpi_id, base_values, typed)


def moved_value(change: DriverChange, current: float | None) -> float | None:
    """The driver's value after ``change``: ``relative`` and ``add`` move ``current``, ``value`` replaces it."""
    if change.value is not None:
        return change.value
    if current is None:
        return None
    if change.relative is not None:
        return current * (1 + change.relative)
    return current + (change.add or 0.0)


def _check_in_tree(tree: _Tree, kpi_id: str, drivers: Collection[str]) -> None:
    unknown = sorted(set(drivers) - set(tree.kpis))
    if unknown:
        raise WhatIfError(
            f"{', '.join(repr(u) for u in unknown)} {'is' if len(unknown) == 1 else 'are'} not in the driver tree "
            f"of '{kpi_id}'; its KPIs are: {', '.join(tree.root.ids())}"
        )
    if kpi_id in drivers:
        raise WhatIfError(f"'{kpi_id}' is the KPI at the top; change the drivers below it")


def apply_changes(
    workspace: Workspace, kpi_id: str, base_values: Mapping[str, float | None], changes: Sequence[DriverChange]
) -> dict[str, tuple[float | None, float | None]]:
    """``{kpi_id: (before, after)}`` for every KPI in the tree after a scenario's typed changes.

    Each change moves a driver by a fraction, by an amount or to a value (no limit on the size:
    +300 % is allowed). A moved derived KPI is pinned; everything above a moved KPI is recomputed.
    """
    tree = _Tree(workspace, kpi_id)
    _check_in_tree(tree, kpi_id, [change.kpi for change in changes])
    before = tree.values(base_values)
    moved = {change.kpi: moved_value(change, before.get(change.kpi)) for change in changes}
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


def driver_domain_rule(kpi: Kpi | None) -> Domain:
    """The values a driver can take and why: the same rule as the target preview's (:func:`kpi_domain`).

    Rates 0–100 %, counts and durations ≥ 0, an amount such as revenue or a cost ≥ 0, while a net
    figure, cash, margin or profit (named so) may be negative; scores and unitless KPIs are unbounded.
    """
    if kpi is None:
        return Domain(None, None, "no bounds known for this unit")
    return kpi_domain(kpi)


def driver_domain(kpi: Kpi | None) -> tuple[float, float]:
    """:func:`driver_domain_rule` as ``(low, high)``, infinite where unbounded."""
    rule = driver_domain_rule(kpi)
    return (-math.inf if rule.low is None else rule.low, math.inf if rule.high is None else rule.high)


def signed(text: str) -> str:
    """``text`` with a leading hyphen-minus written as the minus sign every driver message uses."""
    return MINUS + text[1:] if text.startswith("-") else text


def value_text(kpi: Kpi | None, value: float | None) -> str:
    """A driver's value in its KPI's unit (``−40.00``, ``12.0%``), with the one minus sign."""
    from kpi_model.status import format_value, kpi_value

    return signed(kpi_value(kpi, value) if kpi is not None else format_value(value, None))


def change_text(fraction: float | None, digits: int = 1) -> str:
    """A relative change as ``+10.0%`` or ``−0.74%``; ``—`` when it has none."""
    return "—" if fraction is None else signed(f"{fraction:+.{digits}%}")


def domain_text(domain: tuple[float, float], kpi: Kpi | None) -> str:
    """``0.0% to 100.0%``, ``0 or more``, ``any number``: a domain in the KPI's unit."""
    low, high = domain
    if math.isinf(low) and math.isinf(high):
        return "any number"
    if math.isinf(high):
        return f"{value_text(kpi, low)} or more"
    if math.isinf(low):
        return f"{value_text(kpi, high)} or less"
    return f"{value_text(kpi, low)} to {value_text(kpi, high)}"


def describe_change(change: DriverChange, kpi: Kpi | None) -> str:
    """A change in words people read: ``Orders +10%``, ``Average order value +5.00``, ``Win rate = 12.0%``.

    The KPI's name, not its id, and amounts in its unit (a rate's amount in percentage points).
    """
    name = kpi.name if kpi is not None else change.kpi
    percent = kpi is not None and kpi.unit_of_measure == "percent"
    if change.relative is not None:
        return f"{name} {signed(f'{change.relative * 100:+.4g}%')}"
    if change.add is not None:
        if percent:
            return f"{name} {signed(f'{change.add * 100:+.4g} pp')}"
        shown = value_text(kpi, abs(change.add))
        return f"{name} {'+' if change.add >= 0 else MINUS}{shown}"
    return f"{name} = {value_text(kpi, change.value)}"


def domain_warnings(
    workspace: Workspace,
    changes: Sequence[DriverChange],
    values: Mapping[str, tuple[float | None, float | None]],
) -> list[str]:
    """One sentence per moved driver whose new value (``values[id][1]``) lies outside its domain.

    The sentence names the driver, its value and what it can be, so a −150 % on a price or a
    negative count is never shown as if it were a result.
    """
    warnings = []
    for change in changes:
        moved = values.get(change.kpi, (None, None))[1]
        kpi = workspace.kpi(change.kpi)
        rule = driver_domain_rule(kpi)
        if moved is None or rule.contains(moved):
            continue
        name = kpi.name if kpi is not None else change.kpi
        warnings.append(
            f"'{name}' moved to {value_text(kpi, moved)} is outside what it can be "
            f"({domain_text(driver_domain(kpi), kpi)}; {rule.reason}), so the values above it are no real outcome: "
            "type a smaller change"
        )
    return warnings


@dataclass(frozen=True)
class DriverBase:
    """The leaf drivers' values a tree is evaluated on, all from the same period(s).

    ``periods`` holds one period (its values) or the last N (their averages), oldest first.
    ``chosen`` is False for the default, the latest complete period every driver has. ``partial``
    names the drivers whose data does not cover all of the base period(s): their values are part
    of a period, and :attr:`caption` says so wherever the numbers go. ``latest_complete`` is the
    latest complete period all drivers share (None when they share none), the period to choose
    instead.
    """

    values: dict[str, float]
    grain: str
    periods: tuple[dt.date, ...]
    chosen: bool = False
    notes: tuple[str, ...] = field(default=())
    data_as_of: dict[str, dt.date] = field(default_factory=dict)
    partial: tuple[str, ...] = ()
    latest_complete: dt.date | None = None

    @property
    def period(self) -> dt.date:
        """The (last) base period."""
        return self.periods[-1]

    @property
    def label(self) -> str:
        """``2018-05``, or ``2018-03 to 2018-05`` for an average."""
        last = period_label(self.periods[-1], self.grain)
        return last if len(self.periods) == 1 else f"{period_label(self.periods[0], self.grain)} to {last}"

    @property
    def is_partial(self) -> bool:
        """Whether some driver's value covers only part of a base period."""
        return bool(self.partial)

    @property
    def partial_reason(self) -> str | None:
        """``data to 2026-11-15`` (the earliest last day among the partial drivers), or None when complete."""
        if not self.partial:
            return None
        days = [self.data_as_of[kpi_id] for kpi_id in self.partial if kpi_id in self.data_as_of]
        return f"data to {min(days).isoformat()}" if days else f"the {self.grain} is not over"

    @property
    def partial_text(self) -> str | None:
        """``partial: data to 2026-11-15``, or None when every base period is complete."""
        return None if self.partial_reason is None else f"partial: {self.partial_reason}"

    def partial_advice(self) -> str | None:
        """What a partial base means and which period to choose instead, or None when it is complete."""
        if self.partial_reason is None:
            return None
        instead = (
            f"choose {self.latest_complete_label}, the latest complete {self.grain} all drivers have"
            if self.latest_complete_label is not None
            else "choose a complete period"
        )
        return (
            f"every value on it covers only part of a {self.grain}, so 'now' and the change needed are not "
            f"a whole {self.grain}'s; {instead}"
        )

    def partial_warning(self) -> str | None:
        """``the base period 2026-11 is partial (data to 2026-11-15): …`` with the advice, or None."""
        if self.partial_reason is None:
            return None
        return f"the base period {self.label} is partial ({self.partial_reason}): {self.partial_advice()}"

    @property
    def caption(self) -> str:
        """What every value shown is: ``values of 2018-05``, ``averages of 2018-03 to 2018-05 (3 months)``.

        A partial base says so in the caption itself: ``values of 2026-11 (partial: data to 2026-11-15)``.
        """
        if len(self.periods) == 1:
            text = f"values of {self.label}"
        else:
            text = f"averages of {self.label} ({len(self.periods)} {self.grain}s)"
        return f"{text} ({self.partial_text})" if self.partial_text else text

    @property
    def how(self) -> str:
        """Why these periods: chosen, or the default rule."""
        if self.chosen:
            return "chosen"
        if len(self.periods) > 1:
            return f"ending at the latest complete {self.grain} all drivers have"
        return f"the latest complete {self.grain} all drivers have"

    @property
    def latest_complete_label(self) -> str | None:
        """The latest complete period all drivers share, as a label (``2026-10``), or None."""
        return None if self.latest_complete is None else period_label(self.latest_complete, self.grain)

    def as_dict(self) -> dict[str, Any]:
        """``{label, caption, grain, periods, chosen, how, values, data_as_of, partial, partial_text,
        latest_complete, notes}`` (periods as labels)."""
        return {
            "label": self.label,
            "caption": self.caption,
            "grain": self.grain,
            "periods": [period_label(p, self.grain) for p in self.periods],
            "chosen": self.chosen,
            "how": self.how,
            "values": dict(self.values),
            "data_as_of": {kpi_id: day.isoformat() for kpi_id, day in self.data_as_of.items()},
            "partial": list(self.partial),
            "partial_text": self.partial_text,
            "latest_complete": self.latest_complete_label,
            "notes": list(self.notes),
        }


def _history(series: Any, grain: str) -> dict[dt.date, float]:
    points = getattr(series, "points", series)
    return values_by_period(points, grain)


def base_values(
    series_by_id: Mapping[str, Any],
    *,
    grain: str = "month",
    period: str | dt.date | None = None,
    average_of: int = 1,
    today: dt.date | None = None,
    complete: Callable[[str, dt.date], bool] | None = None,
    zero_when_empty: Collection[str] = (),
    names: Mapping[str, str] | None = None,
) -> DriverBase:
    """Every driver's value in ONE base period: ``period`` if given, else the latest complete one all share.

    ``series_by_id`` maps each leaf driver to its :class:`~kpi_model.engine.Series` (or points) at
    ``grain``. ``average_of`` > 1 averages each driver over the N periods ending at the base period
    (every driver needs a value in each). ``complete(kpi_id, period_start)`` says whether a period
    is complete; by default :func:`~kpi_model.periods.is_complete` decides, by ``today`` and, for a
    series that carries its data's ``coverage``, by the days the data covers. Drivers in
    ``zero_when_empty`` (counts and sums: :func:`~kpi_model.whatif.leadlag.empty_means_zero`) are 0
    in a period without rows inside their data's span. ``names`` (KPI id → name) words the notes.
    Raises :class:`WhatIfError` naming the driver when a value is missing.
    """
    grain = normalise_grain(grain)
    today = today or dt.date.today()
    if average_of < 1:
        raise WhatIfError("average over at least 1 period")
    coverages = {kpi_id: getattr(series, "coverage", None) for kpi_id, series in series_by_id.items()}

    def calendar_and_coverage(kpi_id: str, start: dt.date) -> bool:
        coverage = coverages.get(kpi_id)
        if coverage is None:
            return is_complete(start, grain, today)
        return is_complete(start, grain, today, coverage=coverage)

    is_done = complete or calendar_and_coverage
    histories: dict[str, dict[dt.date, float]] = {}
    for kpi_id, series in series_by_id.items():
        history = {} if isinstance(series, BaseException) else _history(series, grain)
        if not history:
            reason = f": {series}" if isinstance(series, BaseException) else ""
            raise WhatIfError(f"driver '{kpi_id}' has no values{reason}; load its data or fix its formula first")
        if kpi_id in zero_when_empty:
            first, last = min(history), max(history)
            current = first
            while current <= last:
                history.setdefault(current, 0.0)
                current = shift_period(current, 1, grain)
            history = dict(sorted(history.items()))
        histories[kpi_id] = history
    if not histories:
        raise WhatIfError("the tree has no drivers with values")

    def name(kpi_id: str) -> str:
        return f"'{(names or {}).get(kpi_id, kpi_id)}'"

    def span(kpi_id: str) -> str:
        history = histories[kpi_id]
        return f"{name(kpi_id)} has {period_label(min(history), grain)} to {period_label(max(history), grain)}"

    shared = set.intersection(*(set(h) for h in histories.values()))
    complete_shared = {start for start in shared if all(is_done(kpi_id, start) for kpi_id in histories)}
    latest_complete = max(complete_shared) if complete_shared else None
    notes: list[str] = []
    if period is not None:
        end = parse_baseline_period(period, grain)
        missing = [kpi_id for kpi_id, history in histories.items() if end not in history]
        if missing:
            raise WhatIfError(
                f"no value in {period_label(end, grain)} for {', '.join(name(m) for m in missing)}: "
                + "; ".join(span(m) for m in missing)
            )
    else:
        if latest_complete is None:
            raise WhatIfError(
                f"the drivers have no complete {grain} in common ({'; '.join(span(k) for k in histories)}): "
                "load data that overlaps, or choose a period"
            )
        end = latest_complete
        later = [kpi_id for kpi_id, history in histories.items() if max(history) > end]
        if later:
            taken = (
                f"Every driver is taken from {period_label(end, grain)}"
                if average_of == 1
                else f"Every driver is averaged over the {average_of} {grain}s ending at {period_label(end, grain)}"
            )
            notes.append(
                f"{taken}, the latest complete {grain} they all have ({'; '.join(span(k) for k in histories)})"
            )
    periods = tuple(shift_period(end, offset, grain) for offset in range(1 - average_of, 1))
    values: dict[str, float] = {}
    for kpi_id, history in histories.items():
        lacking = [p for p in periods if p not in history]
        if lacking:
            raise WhatIfError(
                f"{name(kpi_id)} has no value in {', '.join(period_label(p, grain) for p in lacking)}, so it cannot be "
                f"averaged over {average_of} {grain}s to {period_label(end, grain)}; {span(kpi_id)}"
            )
        values[kpi_id] = sum(history[p] for p in periods) / len(periods)
    partial = tuple(kpi_id for kpi_id in histories if not all(is_done(kpi_id, p) for p in periods))
    if partial:  # which drivers; what to choose instead is DriverBase.partial_warning's
        end_label = period_label(end, grain)
        which = end_label if average_of == 1 else f"A {grain} of {period_label(periods[0], grain)} to {end_label}"
        notes.append(
            f"{which} is not complete for {', '.join(name(p) for p in partial)}: the values cover only part of "
            f"the {grain} (a count or a sum falls short)"
        )
    if average_of > 1:
        notes.append(
            "Each driver is averaged first and the tree evaluated on the averages (an average of a product is "
            "not the product of the averages)"
        )
    as_of = {kpi_id: c.as_of for kpi_id, c in coverages.items() if c is not None and hasattr(c, "as_of")}
    return DriverBase(
        values,
        grain,
        periods,
        chosen=period is not None,
        notes=tuple(notes),
        data_as_of=as_of,
        partial=partial,
        latest_complete=latest_complete,
    )


def latest_values(
    series_by_id: Mapping[str, Any], *, today: dt.date | None = None, grain: str = "month"
) -> dict[str, float]:
    """Each KPI's value in ITS OWN latest complete period (by ``today``).

    Not for a driver tree: drivers whose data ends at different periods would be mixed; use
    :func:`base_values`, which takes every driver from the same period.

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
        history = {
            p: v for p, v in values_by_period(points, series_grain).items() if is_complete(p, series_grain, today)
        }
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

"""Driver trees: the KPIs a derived KPI is computed from, and what moving one of them does above it.

``web_revenue = sessions * conversion_rate * average_order_value`` is evaluated from its drivers'
values (:mod:`kpi_model.whatif.evaluator`), so :func:`what_if`, :func:`apply_changes` and
:func:`sensitivity` show what moves when a driver moves; :func:`decomposition_suggestions` proposes
drivers for a KPI that has none yet. The values a tree is evaluated on come from ONE base period
(:mod:`~kpi_model.whatif.driver_base`); drivers' values, changes and domains are worded by
:mod:`~kpi_model.whatif.driver_text`. Goal-seek is in :mod:`~kpi_model.whatif.goal_seek`, named
scenarios in :mod:`~kpi_model.whatif.scenarios`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kpi_model.errors import UnknownKpiError, WhatIfError
from kpi_model.models import DriverChange, Kpi, Workspace
from kpi_model.whatif.evaluator import evaluate_expression

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = [
    "DriverNode",
    "Sensitivity",
    "apply_changes",
    "decomposition_suggestions",
    "driver_tree",
    "evaluate",
    "moved_value",
    "sensitivity",
    "what_if",
]


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
        raise UnknownKpiError(kpi_id, [k.id for k in workspace.kpis])
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

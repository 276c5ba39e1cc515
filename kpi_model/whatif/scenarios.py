"""Named scenarios and the driver report: a tree's values on one base period, moved, ranked and sought.

A :class:`~kpi_model.models.Scenario` (kept in the workspace file under ``scenarios:``) is a name
and a set of :class:`~kpi_model.models.DriverChange`; :func:`compare_scenarios` evaluates several
on the same base values, side by side. :func:`driver_report` gathers what the CLI ``drivers``
command and the What-if page show: the tree, every node's value before and after the changes
(labelled with the base period), the sensitivities and any goal-seeks.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kpi_model.errors import UnknownKpiError, WhatIfError
from kpi_model.models import DriverChange, Scenario, UnitOfMeasure, Workspace, _cut
from kpi_model.periods import cadence_grain, normalise_grain
from kpi_model.whatif.driver_base import DriverBase, base_values
from kpi_model.whatif.driver_text import MINUS, change_text, describe_change, domain_warnings, signed, value_text
from kpi_model.whatif.drivers import DriverNode, Sensitivity, apply_changes, driver_tree, sensitivity
from kpi_model.whatif.goal_seek import GoalSeek, goal_seek

if TYPE_CHECKING:
    from kpi_model.engine import Engine

__all__ = [
    "STALE_SCENARIO_FIX",
    "DriverReport",
    "ScenarioResult",
    "base_from_engine",
    "base_from_series",
    "changes_text",
    "compare_scenarios",
    "derived_tree",
    "driver_report",
    "new_scenario",
    "parse_change",
    "run_scenario",
    "scenario_problem",
    "with_scenario",
    "without_scenario",
]

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_CHANGE = re.compile(rf"^\s*([a-z_][a-z0-9_]*)\s*=\s*({_NUMBER})\s*(%?)\s*$")
# Units whose values are written as percents: there a bare "12%" can only mean the value 0.12.
_PERCENT_UNITS = frozenset({UnitOfMeasure.PERCENT, UnitOfMeasure.RATIO})


def parse_change(text: str, workspace: Workspace) -> DriverChange:
    """``DRIVER=VALUE`` as typed on the command line, read in the driver's unit of measure.

    A sign makes it a move: ``mqls=+10%`` by 10 %, ``deals=+20`` / ``deals=-20`` by an amount. No
    sign sets the value: ``deals=150``, and on a percent or ratio KPI ``win_rate=12%`` (0.12). A
    bare percent on any other KPI (``sessions=15%``) could be a change or a value, so it is refused
    with both spellings. Full-width digits and signs (``１５％``) and the minus sign (−) read as
    their ASCII forms.
    """
    typed = unicodedata.normalize("NFKC", text).replace(MINUS, "-")
    match = _CHANGE.match(typed)
    if match is None:
        raise WhatIfError(
            f"'{_cut(text)}' is not a driver change: write DRIVER=VALUE, e.g. mqls=+10% (move by 10 %), deals=+20 "
            "(add 20), deals=150 (set to 150) or win_rate=12% (set a percent KPI to 12 %)"
        )
    driver, number, percent = match.groups()
    value = float(number)
    if not math.isfinite(value):
        raise WhatIfError(f"'{_cut(text)}': the value is not a finite number")
    signed = number.lstrip()[0] in "+-"
    if signed:
        return DriverChange(kpi=driver, relative=value / 100) if percent else DriverChange(kpi=driver, add=value)
    kpi = workspace.kpi(driver)
    if percent and kpi is not None and kpi.unit_of_measure not in _PERCENT_UNITS:
        move = f"write {driver}=+{number}% (or -{number}%) to move it by {number} %"
        if kpi.unit_of_measure is None:
            raise WhatIfError(
                f"'{_cut(text)}': '{kpi.name}' has no unit of measure, so {number}% could be a change or a value: "
                f"{move}, or {driver}={value / 100:g} to set it to {number} % (or give it the unit percent)"
            )
        raise WhatIfError(
            f"'{_cut(text)}': '{kpi.name}' is a {kpi.unit_of_measure.value}, not a percent, so {number}% could be a "
            f"change or a value: {move}, or {driver}={number} to set it to {number}"
        )
    return DriverChange(kpi=driver, value=value / 100 if percent else value)


@dataclass(frozen=True)
class ScenarioResult:
    """A scenario evaluated on base values: every KPI of the tree before and after its changes.

    ``stale`` says why a saved scenario could not be evaluated (a changed KPI has left the tree
    since it was saved); its ``values`` are then empty and it is shown apart, with that reason.
    """

    kpi: str
    name: str
    changes: tuple[DriverChange, ...]
    values: dict[str, tuple[float | None, float | None]]
    scenario_id: str | None = None
    stale: str | None = None

    @property
    def before(self) -> float | None:
        """The top KPI on the base values."""
        return self.values.get(self.kpi, (None, None))[0]

    @property
    def after(self) -> float | None:
        """The top KPI after the changes."""
        return self.values.get(self.kpi, (None, None))[1]

    @property
    def change(self) -> float | None:
        """The top KPI's relative change (0.1 = +10 %), when defined."""
        if self.before is None or self.after is None or self.before == 0:
            return None
        return (self.after - self.before) / abs(self.before)

    def as_dict(self) -> dict[str, Any]:
        """``{id, name, kpi, changes, before, after, change, values: {id: {before, after}}, stale}``."""
        return {
            "id": self.scenario_id,
            "name": self.name,
            "kpi": self.kpi,
            "changes": [change.model_dump(exclude_none=True) for change in self.changes],
            "before": self.before,
            "after": self.after,
            "change": self.change,
            "values": {kpi_id: {"before": b, "after": a} for kpi_id, (b, a) in self.values.items()},
            "stale": self.stale,
        }


STALE_SCENARIO_FIX = (
    "change only KPIs of its driver tree, or delete the scenario (What-if → Driver tree → Delete a scenario, "
    "or its entry under scenarios: in the workspace file)"
)


def scenario_problem(workspace: Workspace, scenario: Scenario) -> str | None:
    """Why a saved scenario no longer fits its KPI's current driver tree, or None when it fits.

    A formula edited after the scenario was saved can drop a driver it changes, or make the KPI
    one computed from its own source. A tree that cannot be built (a formula that does not parse
    or names an unknown KPI) is the formula's problem, not the scenario's: None.
    """
    from kpi_model.errors import KpiWizardError

    try:
        tree = driver_tree(workspace, scenario.kpi)
    except KpiWizardError:
        return None
    if tree.is_leaf:
        kpi = workspace.kpi(scenario.kpi)
        if kpi is None or not kpi.source:  # a formula that names no KPI it can use: the formula rules say so
            return None
        return (
            f"'{scenario.kpi}' is now computed from its source '{kpi.source}', not from other KPIs, "
            "so it has no driver tree"
        )
    ids = tree.ids()
    outside = list(dict.fromkeys(change.kpi for change in scenario.changes if change.kpi not in ids))
    if not outside:
        return None
    return (
        f"it changes {', '.join(repr(kpi_id) for kpi_id in outside)}, which {'is' if len(outside) == 1 else 'are'} "
        f"not in the driver tree of '{scenario.kpi}' (its KPIs are: {', '.join(ids)})"
    )


def run_scenario(workspace: Workspace, scenario: Scenario, base: Mapping[str, float | None]) -> ScenarioResult:
    """One saved scenario on base values (its changes checked against the tree of its KPI)."""
    values = apply_changes(workspace, scenario.kpi, base, scenario.changes)
    return ScenarioResult(scenario.kpi, scenario.name, tuple(scenario.changes), values, scenario.id)


def compare_scenarios(
    workspace: Workspace, kpi_id: str, scenarios: Sequence[Scenario], base: Mapping[str, float | None]
) -> list[ScenarioResult]:
    """Several scenarios of one KPI on the same base values, in the order given, for a side-by-side table.

    Each is evaluated on its own: one that no longer fits the tree comes back ``stale`` with the
    reason, and the others are compared all the same.
    """
    other = [s.id for s in scenarios if s.kpi != kpi_id]
    if other:
        raise WhatIfError(f"scenario(s) {', '.join(repr(o) for o in other)} are about another KPI than '{kpi_id}'")
    results = []
    for scenario in scenarios:
        try:
            results.append(run_scenario(workspace, scenario, base))
        except (WhatIfError, UnknownKpiError) as error:  # a KPI gone since the scenario was saved
            reason = scenario_problem(workspace, scenario) or str(error)
            results.append(ScenarioResult(kpi_id, scenario.name, tuple(scenario.changes), {}, scenario.id, reason))
    return results


def changes_text(workspace: Workspace, changes: Sequence[DriverChange]) -> str:
    """``Orders +10%, Average order value +5.00``: changes by the KPIs' names, values in their units."""
    return ", ".join(describe_change(change, workspace.kpi(change.kpi)) for change in changes)


def new_scenario(
    workspace: Workspace, name: str, kpi_id: str, base: DriverBase, changes: Sequence[DriverChange]
) -> Scenario:
    """A scenario of ``changes`` named ``name``, with a fresh id, kept on ``base``'s period when one was chosen.

    Refused on a partial base period: changes sized on part of a month would be compared later
    with whole months as if they were one.
    """
    from kpi_model import editing

    warning = base.partial_warning()
    if warning is not None:
        raise WhatIfError(f"not saved: {warning}, then save the scenario")
    if not name.strip():
        raise WhatIfError("name the scenario first, e.g. More leads")
    taken = [s.id for s in workspace.scenarios]
    return Scenario(
        id=editing.unique_id(editing.slugify(name) or "scenario", taken),
        name=name.strip(),
        kpi=kpi_id,
        period=base.label if base.chosen and len(base.periods) == 1 else None,
        changes=list(changes),
    )


def with_scenario(workspace: Workspace, scenario: Scenario, *, old_id: str | None = None) -> Workspace:
    """A copy with ``scenario`` added (or put in place of ``old_id``), checked like a loaded file."""
    from kpi_model.editing import _place, _with

    return _with(workspace, scenarios=_place(workspace.scenarios, scenario, old_id, "scenario"))


def without_scenario(workspace: Workspace, scenario_id: str) -> Workspace:
    """A copy without the scenario ``scenario_id``."""
    from kpi_model.editing import _with

    return _with(workspace, scenarios=[s for s in workspace.scenarios if s.id != scenario_id])


def derived_tree(workspace: Workspace, kpi_id: str) -> DriverNode:
    """The driver tree of a derived KPI; a KPI computed from its own source has none, and is refused."""
    tree = driver_tree(workspace, kpi_id)
    if tree.is_leaf:
        from kpi_model.formula import Compiler

        compiler = Compiler(workspace)
        derived = [k.id for k in workspace.kpis if compiler.is_derived(k)]
        raise WhatIfError(
            f"'{kpi_id}' is computed from its own source, not from other KPIs, so it has no driver tree; "
            + (f"derived KPIs: {', '.join(derived)}" if derived else "write a derived KPI, e.g. sessions * conversion")
        )
    return tree


def base_from_engine(
    workspace: Workspace,
    engine: Engine,
    kpi_id: str,
    *,
    grain: str | None = None,
    period: str | dt.date | None = None,
    average_of: int = 1,
    today: dt.date | None = None,
) -> DriverBase:
    """Compute the tree's leaf drivers at the top KPI's grain and take their values from one base period."""
    from kpi_model.formula import SeriesRequest

    tree = derived_tree(workspace, kpi_id)
    top = workspace.kpi(kpi_id)
    grain = normalise_grain(grain) if grain else cadence_grain(top.cadence if top is not None else None)
    request = SeriesRequest(grain=grain)  # type: ignore[arg-type]
    series = {leaf: engine.compute(workspace, leaf, request) for leaf in tree.leaves()}
    return base_from_series(workspace, series, grain=grain, period=period, average_of=average_of, today=today)


def base_from_series(
    workspace: Workspace,
    series: Mapping[str, Any],
    *,
    grain: str,
    period: str | dt.date | None = None,
    average_of: int = 1,
    today: dt.date | None = None,
) -> DriverBase:
    """:func:`~kpi_model.whatif.driver_base.base_values` of computed leaf series, counts and sums 0 where empty."""
    from kpi_model.whatif.leadlag import empty_means_zero

    zero = {kpi_id for kpi_id in series if (kpi := workspace.kpi(kpi_id)) is not None and empty_means_zero(kpi)}
    names = {kpi.id: kpi.name for kpi in workspace.kpis}
    return base_values(
        series, grain=grain, period=period, average_of=average_of, today=today, zero_when_empty=zero, names=names
    )


@dataclass(frozen=True)
class DriverReport:
    """A driver tree evaluated on one base period: values before/after changes, sensitivities, goal-seeks."""

    kpi: str
    tree: DriverNode
    base: DriverBase
    changes: tuple[DriverChange, ...]
    values: dict[str, tuple[float | None, float | None]]
    sensitivities: tuple[Sensitivity, ...]
    goal_seeks: tuple[GoalSeek, ...]
    domain_warnings: tuple[str, ...] = ()

    @property
    def warnings(self) -> list[str]:
        """What makes the numbers suspect: a partial base period, then drivers moved outside their domain."""
        partial = self.base.partial_warning()
        return ([partial[:1].upper() + partial[1:]] if partial else []) + list(self.domain_warnings)

    def as_dict(self) -> dict[str, Any]:
        """The JSON the CLI prints: ``{kpi, base, tree, changes, values, sensitivity, goal_seek, warnings}``."""
        return {
            "kpi": self.kpi,
            "base": self.base.as_dict(),
            "tree": self.tree.as_dict(),
            "changes": [change.model_dump(exclude_none=True) for change in self.changes],
            "values": {kpi_id: {"before": b, "after": a} for kpi_id, (b, a) in self.values.items()},
            "sensitivity": [s.as_dict() for s in self.sensitivities],
            "goal_seek": [g.as_dict() for g in self.goal_seeks],
            "warnings": list(self.warnings),
        }

    def to_text(self, workspace: Workspace) -> str:
        """The tree indented with its values, then the sensitivities and goal-seek answers.

        The warnings are not in it: the CLI writes them to stderr.
        """

        def name(kpi_id: str) -> str:
            kpi = workspace.kpi(kpi_id)
            return kpi.name if kpi is not None else kpi_id

        moved = bool(self.changes)
        lines = [f"{name(self.kpi)} ({self.kpi}): driver tree on {self.base.caption} ({self.base.how})"]
        if self.base.data_as_of:
            days = sorted(set(self.base.data_as_of.values()))
            lines.append(
                f"  data as of {days[0].isoformat()}"
                if len(days) == 1
                else "  data as of "
                + ", ".join(f"{day.isoformat()} ({name(kpi_id)})" for kpi_id, day in self.base.data_as_of.items())
            )
        lines += [f"  note: {note}" for note in self.base.notes]

        def rows(node: DriverNode, depth: int) -> Iterator[tuple[DriverNode, str]]:
            yield node, f"{'  ' * depth}{name(node.kpi_id)} ({node.kpi_id})"
            for child in node.children:
                yield from rows(child, depth + 1)

        width = max(40, *(len(label) for _, label in rows(self.tree, 0)))  # long names never push values out
        header = f"  {'KPI':<{width}} {'value':>14}" + (f" {'after':>14} {'change':>8}" if moved else "")
        lines.append(header)
        for node, label in rows(self.tree, 0):
            before, after = self.values.get(node.kpi_id, (None, None))
            kpi = workspace.kpi(node.kpi_id)
            row = f"  {label:<{width}} {value_text(kpi, before):>14}"
            if moved:
                change = None if before in (None, 0) or after is None else (after - before) / abs(before)
                row += f" {value_text(kpi, after):>14} {change_text(change):>8}"
            lines.append(row)
        if moved:
            lines.append(f"  changes: {changes_text(workspace, self.changes)}")
        if self.sensitivities:
            step = self.sensitivities[0].step
            lines.append(f"sensitivity: the effect on {name(self.kpi)} of {step:+.0%} in each driver, largest first")
            for s in self.sensitivities:
                effect = change_text(s.relative, 2)
                elasticity = "—" if s.elasticity is None else signed(f"{s.elasticity:.2f}")
                lines.append(f"  {name(s.driver)} ({s.driver}): {effect}, elasticity {elasticity}")
        for seek in self.goal_seeks:
            lines.append(f"goal-seek {seek.driver}: {seek.status}: {seek.message}")
        return "\n".join(lines) + "\n"


def driver_report(
    workspace: Workspace,
    kpi_id: str,
    base: DriverBase,
    *,
    changes: Sequence[DriverChange] = (),
    seek: Sequence[str] = (),
    target: float | None = None,
    step: float = 0.01,
) -> DriverReport:
    """Everything about a driver tree on one base: values moved by ``changes``, sensitivities, goal-seeks.

    Goal-seek holds the other drivers at their moved values and seeks ``target`` (the KPI's own
    target by default) for each driver in ``seek``. ``warnings``: the base period is partial, or a
    moved driver lies outside what it can be (:func:`~kpi_model.whatif.driver_text.domain_warnings`).
    """
    tree = derived_tree(workspace, kpi_id)
    values = apply_changes(workspace, kpi_id, base.values, changes)
    sensitivities = tuple(sensitivity(workspace, kpi_id, base.values, step))
    seeks = tuple(
        goal_seek(
            workspace,
            kpi_id,
            base.values,
            driver,
            target,
            changes=[change for change in changes if change.kpi != driver],
            partial_base=base.partial_warning(),
        )
        for driver in seek
    )
    outside = tuple(domain_warnings(workspace, changes, values))
    return DriverReport(kpi_id, tree, base, tuple(changes), values, sensitivities, seeks, outside)

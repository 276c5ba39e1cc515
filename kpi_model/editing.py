"""Edits to a workspace that keep its references consistent.

Each function takes a workspace and returns a new one (the input is not changed), so
the app can keep the previous state and a failed edit loses nothing. Renaming an id
updates every reference to it; deleting a goal deletes or detaches its KPIs as asked.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError

from kpi_model.errors import KpiWizardError, WorkspaceError
from kpi_model.identifiers import fold_name
from kpi_model.models import Goal, Kpi, Scenario, Source, Unit, Workspace
from kpi_model.validation import did_you_mean, reference_problems, structure_problems

MIN_KPIS_PER_GOAL = 3
MAX_KPIS_PER_GOAL = 5


class EditError(KpiWizardError):
    """An edit that would break the workspace; the message says why and what to do instead."""


MAX_SLUG = 50  # characters of a made id; room is left for a '-2' and for 'kpi_' in front
# Words an id made from a cut statement should not end on: 'grow-repeat-revenue-from' reads as unfinished.
_TRAILING_WORDS = frozenset("a an and at by for from in into of on or the to with".split())


def slugify(text: str, *, separator: str = "-") -> str:
    """A lower-case ASCII id from free text: ``'Grow repeat revenue!'`` → ``grow-repeat-revenue``.

    A long text is cut between words, never inside one, and not after a small word such as 'from';
    only a single word longer than the limit is cut.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    kept: list[str] = []
    for word in words:
        if len(separator.join([*kept, word])) > MAX_SLUG:
            break
        kept.append(word)
    if not kept:
        return words[0][:MAX_SLUG] if words else "item"
    if len(kept) < len(words):
        while len(kept) > 1 and kept[-1] in _TRAILING_WORDS:
            kept.pop()
    return separator.join(kept)


def kpi_id_from(text: str) -> str:
    """A KPI id (snake_case, starting with a letter) from a KPI name."""
    slug = slugify(text, separator="_")
    return slug if slug[0].isalpha() else f"kpi_{slug}"


def is_referenced(workspace: Workspace, kpi_id: str) -> bool:
    """Whether anything besides the KPI itself names its id: a partner, a formula, a scenario, an alert …

    A value equal to the id anywhere in the document counts, so a reference of a kind added later counts
    too; in formulas, filters and view SQL the id as a word counts, a column of that name as well (the
    safe side: the id then stays).
    """
    others = workspace.model_dump(mode="json")
    others["kpis"] = [k for k in others["kpis"] if k["id"] != kpi_id]
    if f'"{kpi_id}"' in json.dumps(others):
        return True
    word = re.compile(rf"\b{re.escape(kpi_id)}\b")
    sql = [k.expression for k in workspace.kpis if k.id != kpi_id] + [
        k.filter for k in workspace.kpis if k.id != kpi_id
    ]
    sql += [source.sql for source in workspace.sources]
    return any(word.search(text) for text in sql if text)


def id_after_rename(workspace: Workspace, kpi: Kpi, new_name: str) -> str:
    """The id a KPI renamed to ``new_name`` takes: one made from the new name while nothing refers to it.

    Only an id that was made (from the KPI's name or its template, perhaps with ``_2``) follows the
    name; an id typed by hand, and one that is referenced anywhere, stays as it is.
    """
    made = {kpi_id_from(kpi.name), kpi.template}
    if re.sub(r"_\d+$", "", kpi.id) not in made and kpi.id not in made:
        return kpi.id
    if is_referenced(workspace, kpi.id):
        return kpi.id
    return unique_id(kpi_id_from(new_name), [k.id for k in workspace.kpis if k.id != kpi.id], separator="_")


def unique_id(base: str, taken: Iterable[str], *, separator: str = "-") -> str:
    """``base``, or ``base-2``, ``base-3`` … whichever is not taken."""
    existing = set(taken)
    if base not in existing:
        return base
    number = 2
    while f"{base}{separator}{number}" in existing:
        number += 1
    return f"{base}{separator}{number}"


def _with(workspace: Workspace, **lists: list[Any]) -> Workspace:
    """A copy of ``workspace`` with some lists replaced, validated; a broken result raises."""
    data = workspace.model_dump()
    data.update({name: [item.model_dump() for item in items] for name, items in lists.items()})
    try:
        result = Workspace.model_validate(data)
    except ValidationError as error:
        raise WorkspaceError(structure_problems(error)) from None
    problems = reference_problems(result)
    if problems:
        raise WorkspaceError(problems)
    return result


def _place(items: list[Any], new: Any, old_id: str | None, label: str, key: str = "id") -> list[Any]:
    """``items`` with ``new`` appended (``old_id`` None) or put in place of ``old_id``; ids stay unique."""
    new_id = getattr(new, key)
    index = None if old_id is None else next((i for i, item in enumerate(items) if getattr(item, key) == old_id), None)
    if any(getattr(item, key) == new_id for i, item in enumerate(items) if i != index):
        raise EditError(f"a {label} with {key} '{new_id}' exists already; choose another {key}")
    placed = list(items)
    if index is None:
        placed.append(new)
    else:
        placed[index] = new
    return placed


def same_name(a: str, b: str) -> bool:
    """Whether two names read the same to a person: case and spacing aside (``'Sales '`` = ``'sales'``)."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _name_taken(existing: Iterable[tuple[str, str]], new_id: str, name: str, old_id: str | None) -> str | None:
    """The id of another item (not ``old_id``, not ``new_id``) whose name reads as ``name``, if any."""
    return next((i for i, other in existing if i not in (old_id, new_id) and same_name(other, name)), None)


def upsert_unit(workspace: Workspace, unit: Unit, *, old_id: str | None = None) -> Workspace:
    """Add a unit (``old_id`` None), or replace the one with ``old_id`` (renaming its references).

    A second unit of the same name is refused: every picker shows units by name, so two would be confused.
    """
    before = workspace.unit(old_id) if old_id else None
    renamed = before is None or not same_name(before.name, unit.name)
    taken = _name_taken(((u.id, u.name) for u in workspace.units), unit.id, unit.name, old_id)
    if renamed and (existing := workspace.unit(taken or "")) is not None:
        raise EditError(
            f"a unit named '{existing.name}' exists already (id '{existing.id}'); give this one another name, "
            "or edit that unit instead"
        )
    units = _place(workspace.units, unit, old_id, "unit")
    goals = [g.model_copy(update={"unit": unit.id}) if old_id and g.unit == old_id else g for g in workspace.goals]
    kpis = [k.model_copy(update={"unit": unit.id}) if old_id and k.unit == old_id else k for k in workspace.kpis]
    return _with(workspace, units=units, goals=goals, kpis=kpis)


def delete_unit(workspace: Workspace, unit_id: str) -> Workspace:
    """Remove a unit that has no goals left; KPIs that named it are kept without a unit."""
    if workspace.goals_of(unit_id):
        names = "; ".join(f"'{g.statement}'" for g in workspace.goals_of(unit_id))
        raise EditError(f"this unit still has goals: {names}. Move them to another unit or delete them first")
    kpis = [k.model_copy(update={"unit": None}) if k.unit == unit_id else k for k in workspace.kpis]
    return _with(workspace, units=[u for u in workspace.units if u.id != unit_id], kpis=kpis)


def upsert_goal(workspace: Workspace, goal: Goal, *, old_id: str | None = None) -> Workspace:
    """Add a goal, or replace the one with ``old_id`` (moving its KPIs to the new id)."""
    if not workspace.unit(goal.unit):
        raise EditError(
            f"unknown unit '{goal.unit}'{did_you_mean(goal.unit, [u.id for u in workspace.units])}; add the unit first"
        )
    before = workspace.goal(old_id) if old_id else None
    restated = before is None or before.unit != goal.unit or not same_name(before.statement, goal.statement)
    siblings = ((g.id, g.statement) for g in workspace.goals_of(goal.unit))
    if restated and (taken := _name_taken(siblings, goal.id, goal.statement, old_id)) is not None:
        unit = workspace.unit(goal.unit)
        raise EditError(
            f"the unit '{unit.name if unit else goal.unit}' has this goal already (id '{taken}'); "
            "word this one differently, or edit that goal instead"
        )
    goals = _place(workspace.goals, goal, old_id, "goal")
    # Its KPIs follow it: to the new id and, when they name a unit, to the goal's (perhaps new) unit.
    kpis = [
        k.model_copy(update={"goal": goal.id, "unit": goal.unit if k.unit else None})
        if old_id and k.goal == old_id
        else k
        for k in workspace.kpis
    ]
    return _with(workspace, goals=goals, kpis=kpis)


def delete_goal(workspace: Workspace, goal_id: str, *, delete_kpis: bool = False) -> Workspace:
    """Remove a goal; its KPIs are deleted or, by default, kept without a goal (but in its unit)."""
    goals = [g for g in workspace.goals if g.id != goal_id]
    if delete_kpis:
        doomed = {k.id for k in workspace.kpis if k.goal == goal_id}
        kpis = [_unpair(k, doomed) for k in workspace.kpis if k.id not in doomed]
    else:
        # Kept KPIs keep their unit: the goal's, which they belonged to.
        unit = goal.unit if (goal := workspace.goal(goal_id)) else None
        kpis = [k.model_copy(update={"goal": None, "unit": unit}) if k.goal == goal_id else k for k in workspace.kpis]
    return _with(workspace, goals=goals, kpis=kpis)


def _unpair(kpi: Kpi, removed: set[str]) -> Kpi:
    return kpi.model_copy(update={"pairs_with": None}) if kpi.pairs_with in removed else kpi


def upsert_kpi(workspace: Workspace, kpi: Kpi, *, old_id: str | None = None) -> Workspace:
    """Add a KPI, or replace the one with ``old_id`` (updating ``pairs_with`` and scenario references).

    A second KPI of the same name in one goal is refused: the goal's pickers and reports show KPIs by name.
    """
    before = workspace.kpi(old_id) if old_id else None
    renamed = before is None or before.goal != kpi.goal or not same_name(before.name, kpi.name)
    siblings = ((k.id, k.name) for k in workspace.kpis_of(kpi.goal)) if kpi.goal else iter(())
    if renamed and (twin := workspace.kpi(_name_taken(siblings, kpi.id, kpi.name, old_id) or "")) is not None:
        raise EditError(
            f"this goal has a KPI named '{twin.name}' already (id '{twin.id}'); name this one differently "
            "(say by channel or segment), or edit that one instead"
        )
    kpis = _place(workspace.kpis, kpi, old_id, "KPI")
    if old_id and kpi.id != old_id:
        kpis = [k.model_copy(update={"pairs_with": kpi.id}) if k.pairs_with == old_id else k for k in kpis]
        scenarios = scenarios_after_kpi_change(workspace.scenarios, old_id, kpi.id)
        return _with(workspace, kpis=kpis, scenarios=scenarios)
    return _with(workspace, kpis=kpis)


def replace_kpis(workspace: Workspace, kpis: list[Kpi]) -> Workspace:
    """``workspace`` with its KPIs replaced at once (the grid's save), validated as a whole."""
    return _with(workspace, kpis=kpis)


def delete_kpi(workspace: Workspace, kpi_id: str) -> Workspace:
    """Remove a KPI, any pairing that pointed at it, and its part in saved scenarios."""
    kpis = [_unpair(k, {kpi_id}) for k in workspace.kpis if k.id != kpi_id]
    return _with(workspace, kpis=kpis, scenarios=scenarios_after_kpi_change(workspace.scenarios, kpi_id, None))


def scenarios_after_kpi_change(scenarios: Sequence[Scenario], old_id: str, new_id: str | None) -> list[Scenario]:
    """Scenarios after a KPI is renamed (``new_id``) or deleted (None): references follow a rename;
    a deleted KPI's scenarios go, and so do changes of a deleted driver. For the KPI editor's saves."""
    kept = []
    for scenario in scenarios:
        if scenario.kpi == old_id and new_id is None:
            continue
        changes = [
            change.model_copy(update={"kpi": new_id}) if change.kpi == old_id else change
            for change in scenario.changes
            if not (change.kpi == old_id and new_id is None)
        ]
        kpi = new_id if scenario.kpi == old_id and new_id is not None else scenario.kpi
        kept.append(scenario.model_copy(update={"kpi": kpi, "changes": changes}))
    return kept


def upsert_source(workspace: Workspace, source: Source, *, old_name: str | None = None) -> Workspace:
    """Add a data source, or replace the one named ``old_name`` (its KPIs follow a rename)."""
    sources = _place(workspace.sources, source, old_name, "source", key="name")
    kpis = [
        k.model_copy(update={"source": source.name}) if old_name and k.source == old_name else k for k in workspace.kpis
    ]
    return _with(workspace, sources=sources, kpis=kpis)


def refuse_case_twin(workspace: Workspace, name: str) -> None:
    """Raise when another source's name differs from ``name`` only in case: DuckDB does not tell them apart,
    so loading or defining ``name`` would replace that source's data before any check could refuse it."""
    twin = next((s.name for s in workspace.sources if s.name != name and fold_name(s.name) == fold_name(name)), None)
    if twin is not None:
        raise KpiWizardError(
            f"the source '{twin}' exists, and DuckDB does not tell '{name}' from '{twin}'",
            f"use '{twin}' to replace its data, or choose another name",
        )


def kpi_count_hint(count: int) -> tuple[str, str]:
    """``(level, message)`` nudging a goal towards 3–5 KPIs; level is ok, low or high."""
    if count < MIN_KPIS_PER_GOAL:
        missing = MIN_KPIS_PER_GOAL - count
        return (
            "low",
            f"{count} KPI{'s' if count != 1 else ''} — add {missing} more: "
            "a goal needs 3–5 to be seen from more than one side",
        )
    if count > MAX_KPIS_PER_GOAL:
        return "high", f"{count} KPIs — too many to steer by; keep the 3–5 that drive decisions"
    return "ok", f"{count} KPIs — within the 3–5 that keep a goal focused"

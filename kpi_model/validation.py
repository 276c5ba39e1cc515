"""Turn a raw document into a :class:`Workspace`, or into problems a person understands.

Two passes: pydantic checks structure (types, enums, id forms); then
:func:`reference_problems` checks that ids are unique and references resolve.
Every problem is a ``path: message`` line that names the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from kpi_model.errors import Problem, UnknownKpiError, WorkspaceError
from kpi_model.identifiers import fold_name
from kpi_model.models import (
    FORMAT_VERSION,
    AlertChannel,
    Baseline,
    DriverChange,
    Goal,
    Kpi,
    Scenario,
    SmtpSettings,
    Source,
    Target,
    Thresholds,
    Unit,
    Workspace,
)

_LIST_MODELS: dict[str, type[BaseModel]] = {
    "units": Unit,
    "goals": Goal,
    "sources": Source,
    "kpis": Kpi,
    "scenarios": Scenario,
    "changes": DriverChange,
    "alerts": AlertChannel,
}
_NESTED_MODELS: dict[str, type[BaseModel]] = {
    "baseline": Baseline,
    "target": Target,
    "thresholds": Thresholds,
    "smtp": SmtpSettings,
}
_KPI_ID_HINT = (
    "KPI ids are lower-case letters, digits and '_', starting with a letter "
    "(they are used as names in formulas), e.g. 'repeat_rate'"
)
_SOURCE_NAME_HINT = (
    "source names are letters, digits and '_', starting with a letter (they become table names), e.g. 'orders'"
)
_SLUG_HINT = "ids are lower-case letters, digits, '-' and '_', e.g. 'grow-repeat'"


def _id_hint(model: type[BaseModel], field: str) -> str:
    if (model is Kpi and field in {"id", "pairs_with"}) or (model in (Scenario, DriverChange) and field == "kpi"):
        return _KPI_ID_HINT
    if (model is Source and field == "name") or (model is Kpi and field == "source"):
        return _SOURCE_NAME_HINT
    return _SLUG_HINT


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` — did you mean 'x'?`` for the closest choice, or an empty string."""
    options = list(choices)
    match = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    if not match:  # 'upward' → 'up', 'fin' → 'financial': a shared start is a good hint too
        lowered = str(word).lower()
        match = [
            o for o in options if len(o) >= 2 and len(lowered) >= 2 and (lowered.startswith(o) or o.startswith(lowered))
        ]
    return f" — did you mean '{match[0]}'?" if match else ""


def _sentence(text: str, suggestion: str) -> str:
    """Join a statement and an optional suggestion so that the result reads as sentences."""
    return f"{text}{suggestion}" if suggestion else f"{text}."


def _shown(value: Any, limit: int = 60) -> str:
    """A value as a message quotes it: cut short, so a huge value never becomes a huge message."""
    text = str(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def format_path(loc: Sequence[int | str]) -> str:
    """``('kpis', 3, 'goal')`` → ``kpis[3].goal``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{_shown(part)}" if out else _shown(part)
    return out


def _model_at(loc: Sequence[int | str], root: type[BaseModel]) -> type[BaseModel]:
    """The model class that owns the last key of ``loc``."""
    model = root
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        model = _LIST_MODELS.get(part) or _NESTED_MODELS.get(part) or model
    return model


def _enum_of(model: type[BaseModel], field: str) -> type[Enum] | None:
    info = model.model_fields.get(field)
    if info is None:
        return None
    for candidate in (info.annotation, *getattr(info.annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return candidate
    return None


def _structure_problem(error: Any, root: type[BaseModel], prefix: tuple[int | str, ...]) -> Problem:
    loc = tuple(part for part in error["loc"] if not _is_union_tag(part))
    path = format_path(prefix + loc)
    field = next((p for p in reversed(loc) if isinstance(p, str)), "")
    kind = error["type"]
    value = error.get("input")
    model = _model_at(loc, root) if loc else root

    if kind == "enum":
        enum = _enum_of(model, field)
        choices = [m.value for m in enum] if enum else []
        lead = _sentence(f"'{_shown(value)}' is not a valid {field}", did_you_mean(_shown(value, 200), choices))
        return Problem(path, f"{lead} Use one of: {', '.join(choices)}.")
    if kind == "extra_forbidden":
        known = list(model.model_fields)
        lead = _sentence(f"unknown key '{_shown(field)}'", did_you_mean(_shown(field, 200), known))
        return Problem(path, f"{lead} Keys allowed here: {', '.join(known)}.")
    if kind == "missing":
        return Problem(path, f"'{field}' is required here; add it")
    if kind == "string_pattern_mismatch":
        return Problem(path, f"'{_shown(value)}' is not a valid {field}: {_id_hint(model, field)}")
    if kind.startswith("date"):
        return Problem(path, f"'{_shown(value)}' is not a date; write it as YYYY-MM-DD, e.g. 2027-06-30")
    if kind.startswith(("float", "int")):
        return Problem(
            path, f"'{_shown(value)}' is not a number; write a plain number such as 0.3 (no % sign or units)"
        )
    if kind in {"list_type", "model_type", "dict_type"}:
        expected = {"list_type": "a list", "model_type": "a mapping of keys", "dict_type": "a mapping of keys"}[kind]
        form = "'- item'" if kind == "list_type" else "'key: value'"
        return Problem(
            path or "(document)",
            f"expected {expected}, found {type(value).__name__}; check the indentation: write it as {form} lines",
        )
    if kind == "value_error":
        message = str(error.get("ctx", {}).get("error", error["msg"]))
        return Problem(path or "(document)", message)
    if kind == "string_too_short":
        return Problem(path, f"'{field}' must not be empty")
    if kind == "string_type":
        return Problem(
            path, f"expected text, found {type(value).__name__}; write plain text (in quotes if it looks like a number)"
        )
    if kind == "string_too_long":
        return Problem(path, f"{error['msg'].lower()}; shorten it")
    if kind == "too_long":
        limit = error.get("ctx", {}).get("max_length")
        return Problem(
            path,
            f"{_count(value)} {field}, more than the {limit:,} one workspace may hold; split it into several "
            "workspaces (one per part of the organisation)",
        )
    return Problem(path or "(document)", error["msg"])


def _count(value: Any) -> str:
    return f"{len(value):,}" if hasattr(value, "__len__") else "too many"


def _unknown_unit(path: str, unit: str, unit_ids: list[str]) -> Problem:
    hint = did_you_mean(unit, unit_ids) if unit_ids else " — add the unit under 'units:' first"
    return Problem(path, f"unknown unit '{unit}'{hint}")


def _is_union_tag(part: int | str) -> bool:
    # pydantic puts the union member's type name into loc ("function-after[...]", "str" …)
    return isinstance(part, str) and ("[" in part or part in {"str", "float", "int", "date"})


def structure_problems(
    error: ValidationError, root: type[BaseModel] = Workspace, prefix: tuple[int | str, ...] = ()
) -> list[Problem]:
    """Readable problems from a pydantic ``ValidationError`` of ``root`` (one per error, deduplicated).

    ``prefix`` is where ``root`` sits in the workspace, e.g. ``("kpis", 3)`` for a KPI form.
    """
    seen: dict[str, Problem] = {}
    for raw in error.errors():
        problem = _structure_problem(raw, root, prefix)
        seen.setdefault(str(problem), problem)
    return list(seen.values())


def _duplicates(items: Sequence[Any], attr: str, section: str, label: str) -> list[Problem]:
    problems = []
    first_index: dict[str, int] = {}
    for index, item in enumerate(items):
        key = getattr(item, attr)
        if key in first_index:
            problems.append(
                Problem(
                    f"{section}[{index}].{attr}",
                    f"duplicate {label} '{key}' (also {section}[{first_index[key]}]); give each a unique {attr}",
                )
            )
        else:
            first_index[key] = index
    return problems


def _names_differing_in_case(sources: Sequence[Source]) -> list[Problem]:
    """Sources whose names differ only in case: DuckDB reads ``A`` and ``a`` as one table, so one would
    silently replace the other (and a view over the other then reads itself)."""
    problems = []
    first_index: dict[str, int] = {}
    for index, source in enumerate(sources):
        folded = fold_name(source.name)
        if folded not in first_index:
            first_index[folded] = index
        elif (other := sources[first_index[folded]].name) != source.name:  # the same name is a duplicate
            problems.append(
                Problem(
                    f"sources[{index}].name",
                    f"source '{source.name}' and source '{other}' (sources[{first_index[folded]}]) differ only "
                    "in case, and DuckDB does not tell table names apart by case, so one would replace the "
                    f"other: rename one of them (e.g. '{source.name}_2')",
                )
            )
    return problems


def reference_problems(workspace: Workspace) -> list[Problem]:
    """Duplicate ids and references that point nowhere, with the closest valid name."""
    problems: list[Problem] = []
    problems += _duplicates(workspace.units, "id", "units", "unit id")
    problems += _duplicates(workspace.goals, "id", "goals", "goal id")
    problems += _duplicates(workspace.sources, "name", "sources", "source name")
    problems += _names_differing_in_case(workspace.sources)
    problems += _duplicates(workspace.kpis, "id", "kpis", "KPI id")

    unit_ids = [u.id for u in workspace.units]
    goal_ids = [g.id for g in workspace.goals]
    source_names = [s.name for s in workspace.sources]
    kpi_ids = [k.id for k in workspace.kpis]

    for index, goal in enumerate(workspace.goals):
        if goal.unit not in unit_ids:
            problems.append(_unknown_unit(f"goals[{index}].unit", goal.unit, unit_ids))
    for index, kpi in enumerate(workspace.kpis):
        if kpi.goal is not None and kpi.goal not in goal_ids:
            problems.append(
                Problem(f"kpis[{index}].goal", f"unknown goal '{kpi.goal}'{did_you_mean(kpi.goal, goal_ids)}")
            )
        if kpi.unit is not None:
            owning_goal = workspace.goal(kpi.goal) if kpi.goal else None
            if kpi.unit not in unit_ids:
                problems.append(_unknown_unit(f"kpis[{index}].unit", kpi.unit, unit_ids))
            elif owning_goal is not None and owning_goal.unit != kpi.unit:
                problems.append(
                    Problem(
                        f"kpis[{index}].unit",
                        f"unit '{kpi.unit}' does not match the goal '{owning_goal.id}', which belongs to unit "
                        f"'{owning_goal.unit}' — set unit: {owning_goal.unit}, leave unit out (a KPI with a goal "
                        f"belongs to its goal's unit), or pick a goal of unit '{kpi.unit}'",
                    )
                )
        if kpi.source is not None and kpi.source not in source_names:
            problems.append(
                Problem(
                    f"kpis[{index}].source",
                    f"unknown source '{kpi.source}'{did_you_mean(kpi.source, source_names)}"
                    " (sources are declared under 'sources:')",
                )
            )
        if kpi.pairs_with is not None:
            if kpi.pairs_with == kpi.id:
                problems.append(Problem(f"kpis[{index}].pairs_with", "a KPI cannot pair with itself"))
            elif kpi.pairs_with not in kpi_ids:
                problems.append(Problem(f"kpis[{index}].pairs_with", str(UnknownKpiError(kpi.pairs_with, kpi_ids))))
    problems += _scenario_problems(workspace, kpi_ids)
    return problems


def _scenario_problems(workspace: Workspace, kpi_ids: list[str]) -> list[Problem]:
    """Scenario ids unique; the KPI and every driver a scenario names exist, each driver changed once.

    Whether a driver is in the KPI's driver tree needs the formulas: the what-if says so when it runs.
    """
    problems = _duplicates(workspace.scenarios, "id", "scenarios", "scenario id")
    for index, scenario in enumerate(workspace.scenarios):
        if scenario.kpi not in kpi_ids:
            problems.append(Problem(f"scenarios[{index}].kpi", str(UnknownKpiError(scenario.kpi, kpi_ids))))
        first: dict[str, int] = {}
        for position, change in enumerate(scenario.changes):
            path = f"scenarios[{index}].changes[{position}].kpi"
            if change.kpi not in kpi_ids:
                problems.append(Problem(path, str(UnknownKpiError(change.kpi, kpi_ids))))
            elif change.kpi == scenario.kpi:
                problems.append(
                    Problem(path, f"'{change.kpi}' is the KPI the scenario is about; change the drivers below it")
                )
            elif change.kpi in first:
                problems.append(
                    Problem(
                        path,
                        f"driver '{change.kpi}' is changed twice (also changes[{first[change.kpi]}]); "
                        "keep one change per driver",
                    )
                )
            else:
                first[change.kpi] = position
    return problems


ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_part(model: type[ModelT], data: dict[str, Any], prefix: tuple[int | str, ...] = ()) -> ModelT:
    """Validate one part of a workspace (a KPI from a form, say) or raise :class:`WorkspaceError`."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise WorkspaceError(structure_problems(error, model, prefix)) from None


def parse_workspace(data: Any, *, source: str | None = None) -> Workspace:
    """Validate a decoded document (dict) into a :class:`Workspace` or raise :class:`WorkspaceError`."""
    if not isinstance(data, dict):
        found = "an empty document" if data is None else f"a {type(data).__name__}"
        raise WorkspaceError(
            [Problem("(document)", f"expected a mapping with 'name', 'units', 'goals', 'kpis'; found {found}")],
            source=source,
        )
    version = data.get("format_version", FORMAT_VERSION)
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise WorkspaceError(
            [
                Problem(
                    "format_version",
                    f"written by a newer KPI Wizard (format {version}, this one reads {FORMAT_VERSION}); "
                    "upgrade kpi-wizard",
                )
            ],
            source=source,
        )
    try:
        workspace = Workspace.model_validate(data)
    except ValidationError as error:
        raise WorkspaceError(structure_problems(error), source=source) from None
    problems = reference_problems(workspace)
    if problems:
        raise WorkspaceError(problems, source=source)
    return workspace

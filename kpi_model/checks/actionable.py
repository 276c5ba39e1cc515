"""KPI024 not-actionable: does someone know what to do when the KPI moves, and can they do it?

A KPI needs a direction (is a rise good news?), an agreed action for when it goes off track, and
an owner inside its own unit: the head of another unit cannot act on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from kpi_model.checks.base import AuditContext, Finding, Rule, Severity
from kpi_model.checks.names import owner_role, words_of
from kpi_model.checks.target_facts import implied_direction
from kpi_model.checks.wording import kpi_label
from kpi_model.models import Direction, Kpi, Unit


def _casefold_name(name: str | None) -> str:
    """An owner or a title as compared: trimmed and case-folded ("  head of sales " = "Head of Sales")."""
    return (name or "").strip().casefold()


_BETTER = {
    Direction.UP: "(higher is better)",
    Direction.DOWN: "(lower is better)",
    Direction.RANGE: "(stay inside low–high)",
}


def _implied_because(kpi: Kpi, implied: Direction) -> str:
    """Why a direction is implied, naming only what the KPI has: a band, thresholds, a target beside a baseline."""
    if implied == Direction.RANGE:
        return "its target is a band"
    has_lines = kpi.thresholds is not None and (kpi.thresholds.warning, kpi.thresholds.critical) != (None, None)
    said = ["its target beside its baseline"] if kpi.baseline is not None else ["its target"]
    evidence = [*said, "its thresholds"] if has_lines else said
    return f"{' and '.join(evidence)} {'say' if len(evidence) > 1 else 'says'} so"


# A chief's title names a function; the unit of that name is the one the chief heads.
_CHIEF_OF = {
    "cfo": ("finance", "finanzen", "controlling", "accounting"),
    "coo": ("operations", "betrieb"),
    "cmo": ("marketing",),
    "cto": ("engineering", "technology", "it"),
    "cio": ("it", "information technology"),
    "chro": ("hr", "human resources", "people", "personal"),
    "cro": ("sales", "revenue"),
}
# How a register writes the head of a unit: "Head of Sales", "VP Sales", "Leitung Vertrieb" …
_HEAD_OF = re.compile(
    r"^(?:head of|vp of|vp|vice president of|vice president|director of|chief|leitung|leiter|leiterin|bereichsleitung)"
    r" (?P<unit>.+)$|^(?P<unit2>.+) (?:director|lead|leitung)$"
)


def _units_headed_by(owner: str | None, units: Sequence[Unit]) -> list[str]:
    """The units whose head the owner's title names exactly ("Head of Sales", "CFO"), by id."""
    title = words_of(owner)
    by_name = {words_of(u.name): u.id for u in units}
    if title in _CHIEF_OF:
        return [by_name[n] for n in _CHIEF_OF[title] if n in by_name]
    match = _HEAD_OF.match(title)
    named = match and (match.group("unit") or match.group("unit2"))
    return [by_name[named]] if named in by_name else []


def _not_actionable(ctx: AuditContext) -> Iterator[Finding]:
    heads: dict[str, list[str]] = {}
    for head in ctx.workspace.units:
        if _casefold_name(head.owner):
            heads.setdefault(_casefold_name(head.owner), []).append(head.id)
    for kpi in ctx.workspace.kpis:
        if (
            kpi.owner
            and _casefold_name(kpi.owner) not in heads
            and (titled := _units_headed_by(kpi.owner, ctx.workspace.units))
        ):
            heads[_casefold_name(kpi.owner)] = titled
    for kpi in ctx.workspace.kpis:
        label = kpi_label(kpi)
        if kpi.direction is None:
            implied = implied_direction(kpi)
            fix = "set direction: up (higher is better), down (lower is better) or range (stay inside low–high)"
            if implied is not None:
                fix = f"set direction: {implied.value} {_BETTER[implied]}: {_implied_because(kpi, implied)}"
            yield NOT_ACTIONABLE.on_kpi(
                kpi,
                f"KPI {label} has no direction: nobody can tell whether a rise is good news",
                fix,
                patch={"direction": implied.value} if implied is not None else None,
            )
        if not kpi.action:
            who = kpi.owner or "its owner"
            yield NOT_ACTIONABLE.on_kpi(
                kpi,
                f"KPI {label} has no action: nobody has agreed what {who} does when it goes off track",
                f"write the first thing {who} does when '{kpi.name}' crosses its warning threshold, e.g. 'look "
                "into the three biggest causes of the last period and agree one countermeasure'",
            )
        unit = ctx.unit_of(kpi)
        headed = heads.get(_casefold_name(kpi.owner), [])
        if unit is not None and headed and unit.id not in headed:
            other = ctx.workspace.unit(headed[0])
            other_name = other.name if other else headed[0]
            role = owner_role(kpi)
            example = f", e.g. {role} of '{unit.name}'" if role else (f", e.g. {unit.owner}" if unit.owner else "")
            yield NOT_ACTIONABLE.on_kpi(
                kpi,
                f"KPI {label} belongs to unit '{unit.name}' but is owned by {kpi.owner}, the head of "
                f"'{other_name}': the owner cannot act on it",
                f"give it an owner in '{unit.name}'{example}, or move it to a goal of '{other_name}'",
            )


NOT_ACTIONABLE = Rule(
    id="KPI024",
    slug="not-actionable",
    severity=Severity.WARNING,
    rationale="A KPI nobody knows how to act on (no direction, no agreed action, an owner outside the unit) "
    "is reported, not managed.",
    example="KPI 'Net revenue' with no action, or owned by the head of another unit.",
    fix="Set the direction, the owner's action when off track, and an owner inside the KPI's unit.",
    check=_not_actionable,
)


RULES: list[Rule] = [NOT_ACTIONABLE]

"""KPI042 cross-unit-conflict: KPIs of different units that push against each other.

The documented pairs live in ``conflicts.yaml`` beside this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from kpi_model import documents
from kpi_model.checks.base import AuditContext, Finding, Rule, Severity
from kpi_model.checks.names import CONCEPTS_FILE, concepts_of, has_phrase, load_concepts, words_of
from kpi_model.checks.wording import kpi_label, unit_label
from kpi_model.errors import KpiWizardError
from kpi_model.models import Kpi

CONFLICTS_PACKAGE = "kpi_model.checks"
CONFLICTS_FILE = "conflicts.yaml"


class ConflictCatalogueError(KpiWizardError):
    """The conflict catalogue (conflicts.yaml) is broken; the message names the entry and the problem."""


@dataclass(frozen=True)
class Family:
    """How to recognise a KPI of one side of a conflict: by template, or by what its words mean."""

    templates: frozenset[str]
    concepts: frozenset[str]
    not_names: tuple[str, ...] = ()

    def matches(self, kpi: Kpi) -> bool:
        """Whether the KPI belongs here: by template (or id), or a concept of its name (or description).

        ``not_names`` words rule a name out (a *supplier's* on-time delivery is not the customer's).
        A column a formula happens to read says nothing about what the KPI means, so it is not used.
        """
        if (kpi.template and kpi.template in self.templates) or kpi.id in self.templates:
            return True
        name = words_of(kpi.name)
        if any(has_phrase(name, word) for word in self.not_names):
            return False
        return bool(self.concepts & concepts_of(kpi))


@dataclass(frozen=True)
class Conflict:
    """A documented pair of KPI families that push against each other."""

    id: str
    a: Family
    b: Family
    why: str
    fix: str


def _family(raw: Any, where: str) -> Family:
    if not isinstance(raw, dict):
        raise ConflictCatalogueError(f"{where}: expected a mapping with templates and concepts")
    unknown = set(raw) - {"templates", "concepts", "not_names"}
    if unknown:
        raise ConflictCatalogueError(f"{where}: unknown keys {sorted(unknown)}")
    lists: dict[str, list[str]] = {}
    for key in ("templates", "concepts", "not_names"):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConflictCatalogueError(f"{where}.{key}: expected a list of non-empty strings")
        lists[key] = value
    if not (lists["templates"] or lists["concepts"]):
        raise ConflictCatalogueError(f"{where}: give at least one template or concept")
    known = load_concepts()
    strange = [c for c in lists["concepts"] if c not in known]
    if strange:
        raise ConflictCatalogueError(f"{where}.concepts: {', '.join(strange)} not in {CONCEPTS_FILE}")
    return Family(
        frozenset(lists["templates"]), frozenset(lists["concepts"]), tuple(words_of(n) for n in lists["not_names"])
    )


def parse_conflicts(text: str, *, filename: str = CONFLICTS_FILE) -> tuple[Conflict, ...]:
    """Conflicts from the YAML text of a catalogue; :class:`ConflictCatalogueError` names any problem."""
    data = documents.load_data_file(
        text, documents.Limits(what="a conflict catalogue"), filename=filename, error=ConflictCatalogueError
    )
    if not isinstance(data, list):
        raise ConflictCatalogueError(f"{filename}: expected a list of conflicts")
    conflicts: list[Conflict] = []
    for index, raw in enumerate(data):
        where = f"{filename}: entry #{index + 1}"
        if not isinstance(raw, dict):
            raise ConflictCatalogueError(f"{where}: expected a mapping")
        missing = [k for k in ("id", "a", "b", "why", "fix") if not raw.get(k)]
        if missing:
            raise ConflictCatalogueError(f"{where}: missing {', '.join(missing)}")
        where = f"{filename}: conflict '{raw['id']}'"
        if any(c.id == raw["id"] for c in conflicts):
            raise ConflictCatalogueError(f"{where}: duplicate id")
        if not isinstance(raw["why"], str) or not isinstance(raw["fix"], str):
            raise ConflictCatalogueError(f"{where}: why and fix must be sentences")
        conflicts.append(
            Conflict(
                str(raw["id"]),
                _family(raw["a"], f"{where}.a"),
                _family(raw["b"], f"{where}.b"),
                " ".join(raw["why"].split()),
                " ".join(raw["fix"].split()),
            )
        )
    return tuple(conflicts)


@cache
def load_conflicts() -> tuple[Conflict, ...]:
    """The packaged catalogue ``kpi_model/checks/conflicts.yaml`` (read with importlib.resources)."""
    text = resources.files(CONFLICTS_PACKAGE).joinpath(CONFLICTS_FILE).read_text(encoding="utf-8")
    return parse_conflicts(text)


def _cross_unit_conflicts(ctx: AuditContext) -> Iterator[Finding]:
    workspace = ctx.workspace
    units = {k.id: ctx.unit_of(k) for k in workspace.kpis}
    seen: set[frozenset[str]] = set()
    # (KPI of side a, conflict, other unit) -> its side-b KPIs there: one finding names them all.
    grouped: dict[tuple[str, str, str], list[Kpi]] = {}
    conflicts = {c.id: c for c in load_conflicts()}
    for conflict in conflicts.values():
        side_a = [k for k in workspace.kpis if conflict.a.matches(k)]
        side_b = [k for k in workspace.kpis if conflict.b.matches(k)]
        for x in side_a:
            for y in side_b:
                unit_x, unit_y = units[x.id], units[y.id]
                if x.id == y.id or unit_x is None or unit_y is None or unit_x.id == unit_y.id:
                    continue
                # The KPI whose pursuit does the harm carries the finding, whatever the sheet's order.
                first, other = x, y
                if frozenset((x.id, y.id)) in seen:
                    continue  # report a pair once, under the first conflict that explains it
                seen.add(frozenset((x.id, y.id)))
                other_unit = units[other.id]
                assert other_unit is not None
                grouped.setdefault((first.id, conflict.id, other_unit.id), []).append(other)
    for (first_id, conflict_id, other_unit_id), others in grouped.items():
        anchor = workspace.kpi(first_id)
        unit, other_unit = units[first_id], workspace.unit(other_unit_id)
        assert anchor is not None and unit is not None and other_unit is not None
        conflict = conflicts[conflict_id]
        names = " and ".join(kpi_label(k) for k in others)
        named = list(dict.fromkeys(k.owner for k in [anchor, *others] if k.owner))
        owners = f"their owners ({', '.join(named)})" if named else "both units' heads"
        yield CROSS_UNIT.on_kpi(
            anchor,
            f"KPI {kpi_label(anchor)} of {unit_label(unit)} pulls against {names} of {unit_label(other_unit)}: "
            f"{conflict.why}",
            f"{conflict.fix} Review the KPIs together, in one meeting with {owners}.",
        )


CROSS_UNIT = Rule(
    id="KPI042",
    slug="cross-unit-conflict",
    severity=Severity.WARNING,
    rationale="When two units own KPIs that push against each other, each can hit its target at the other's "
    "expense (documented pairs: kpi_model/checks/conflicts.yaml).",
    example="Procurement's purchase_price_savings (cheaper suppliers) vs service's defect_return_rate.",
    fix="Make the trade-off visible: give one unit the other's KPI as a guardrail, or a shared KPI that nets "
    "both effects, and review them together.",
    check=_cross_unit_conflicts,
)

RULES: list[Rule] = [CROSS_UNIT]

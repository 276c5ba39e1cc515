"""KPI041 financial-only: a goal measured only in money has no early signal and no lever.

The category of a KPI is its ``category`` when set, else inferred from its name and description.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from kpi_model.checks import formula_facts as facts
from kpi_model.checks.base import PAIRING_FIELD, AuditContext, Finding, Rule, Severity
from kpi_model.checks.names import concepts_of, is_financial, load_concepts, words_of
from kpi_model.checks.wording import capital, goal_label, kpi_label
from kpi_model.library import Template
from kpi_model.models import Category, Kpi, UnitOfMeasure

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STOPWORDS = frozenset(
    "a an and the of in on by to for from with per our all more less than grow lift cut raise reduce keep make "
    "total rate share number value cost costs".split()
)
# Non-monetary drivers that fit most businesses, for goals whose KPIs match no template.
_DEFAULT_DRIVERS = ("conversion_rate", "customer_retention_rate", "on_time_delivery", "first_pass_yield", "csat")


def _driver_suggestions(goal_statement: str, kpis: list[Kpi], used: set[str]) -> list[Template]:
    """2–3 non-monetary templates that drive these financial KPIs, best first."""
    library = facts.library()
    templates = [t for t in (facts.template_of(k) for k in kpis) if t is not None]
    own = {t.id for t in templates}

    def usable(template: Template | None) -> bool:
        return (
            template is not None
            and template.category != Category.FINANCIAL
            and template.unit_of_measure != UnitOfMeasure.CURRENCY
            and not template.vanity_risk  # never advise adding what the vanity rule would flag
            and template.id not in used
        )

    found: dict[str, Template] = {}

    def add(candidates: Iterable[Template | None]) -> None:
        for candidate in candidates:
            if candidate is not None and usable(candidate):
                found.setdefault(candidate.id, candidate)

    # 1. The drivers the financial template decomposes into (revenue = sessions * conversion_rate * …).
    add(library.get(name) for t in templates for name in _IDENTIFIER.findall(t.decomposes_into or ""))
    # 2. Their documented leading partners.
    add(library.get(name) for t in templates for name in t.partners)
    # 3. Customer and process templates that name them as partner (the link seen from the other side).
    related = [t for t in library.values() if t.category in (Category.CUSTOMER, Category.PROCESS)]
    add(t for t in related if own & set(t.partners))
    # 4. Customer and process templates sharing words with the goal and the KPIs' names.
    words = set(words_of(" ".join([goal_statement, *(k.name for k in kpis)])).split()) - _STOPWORDS
    scored = sorted(
        ((len(words & set(words_of(" ".join([t.name, *t.keywords])).split())), i, t) for i, t in enumerate(related)),
        key=lambda item: (-item[0], item[1]),
    )
    add(t for score, _, t in scored if score > 0)
    add(library.get(name) for name in _DEFAULT_DRIVERS)
    return list(found.values())[:3]


def _financial(kpi: Kpi) -> bool:
    template = facts.template_of(kpi)
    if kpi.category is None and template is not None and template.unit_of_measure == UnitOfMeasure.CURRENCY:
        return True  # measured in money, whatever family the library files it under (average order value)
    if kpi.category == Category.FINANCIAL and kpi.unit_of_measure != UnitOfMeasure.CURRENCY:
        # A category is often the block a register files the KPI under (a scorecard's financial
        # perspective); a name that plainly measures something else (a win rate) says what it is.
        named = concepts_of(kpi)
        concepts = load_concepts()
        if named and not any(concepts[c].financial for c in named):
            return False
    return is_financial(kpi, template.category if template else None)


def _financial_only(ctx: AuditContext) -> Iterator[Finding]:
    workspace = ctx.workspace
    used = {k.template for k in workspace.kpis if k.template} | facts.kpi_ids(workspace)
    for goal in workspace.goals:
        kpis = workspace.kpis_of(goal.id)
        if not kpis or not all(_financial(k) for k in kpis):
            continue
        suggestions = _driver_suggestions(goal.statement, kpis, used)
        listed = ", ".join(kpi_label(k) for k in kpis)
        examples = "; ".join(f"{t.id} ({t.name}, {t.category.value})" for t in suggestions)
        yield FINANCIAL_ONLY.on_goal(
            goal,
            f"{capital(goal_label(goal))} is measured only by financial KPIs ({listed}): they report the "
            "result after the fact, but nothing shows what drives it or where to act during the year.",
            f"Add 2–3 non-monetary driver KPIs from the library, e.g. {examples}, and pair them with the "
            f"financial KPIs ({PAIRING_FIELD})."
            if suggestions
            else FINANCIAL_ONLY.fix,
        )


FINANCIAL_ONLY = Rule(
    id="KPI041",
    slug="financial-only",
    severity=Severity.WARNING,
    rationale="Financial KPIs are lagging results; a goal measured only in money has no early signal and no lever. "
    "A KPI without a category counts as financial when its name names only money (margin, revenue, DSO, "
    "EBIT, Umsatz, Kosten …; kpi_model/checks/concepts.yaml).",
    example="Goal 'Grow revenue and margin' with only revenue, gross_margin and discount_rate.",
    fix="Add customer or process KPIs that drive the financial result (conversion rate, first-pass yield, "
    "repeat purchase rate) and pair them with the financial KPIs.",
    check=_financial_only,
)

RULES: list[Rule] = [FINANCIAL_ONLY]

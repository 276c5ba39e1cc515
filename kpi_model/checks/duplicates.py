"""KPI043 duplicate-kpi: the same measure twice, by formula or by name."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from kpi_model.checks import formula_facts as facts
from kpi_model.checks.base import AuditContext, Finding, Rule, Severity
from kpi_model.checks.names import name_key, same_measure
from kpi_model.checks.wording import kpi_label
from kpi_model.formula import safe_division
from kpi_model.models import Kpi


def _normal_sql(text: str | None) -> str | None:
    """Formula text with comments, whitespace, identifier case and ``/ nullif(…, 0)`` guards normalised."""
    tree = facts.tree(text)
    if tree is None:
        return " ".join((text or "").split()).lower() or None
    tree = safe_division(tree)  # `a / b` and `a / nullif(b, 0)` compute the same thing
    for node in tree.walk():
        node.comments = None
        if isinstance(node, exp.Identifier):
            # DuckDB identifiers are case-insensitive; string literals keep their case ('Web' <> 'web').
            node.set("this", str(node.this).lower())
            node.set("quoted", True)
    while isinstance(tree, exp.Paren):
        tree = tree.this
    return tree.sql(dialect="duckdb", comments=False, normalize_functions="lower")


def _formula_key(kpi: Kpi) -> tuple[str, str, str, str] | None:
    expression = _normal_sql(kpi.expression)
    if expression is None:
        return None
    return (
        (kpi.source or "").lower(),
        expression,
        _normal_sql(kpi.filter) or "",
        (kpi.time_column or "").lower(),
    )


def _trigrams(text: str) -> set[str]:
    padded = f"  {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _name_candidates(names: list[str]) -> Iterator[tuple[int, int]]:
    """Pairs of names worth comparing: equal ones, or ones sharing most of their trigrams.

    A similarity of 0.9 leaves room for a few edits only, and each edit breaks at most three
    trigrams, so near-identical names share well over half of them. An inverted index finds
    those pairs without comparing every name with every other (1,000 KPIs: 500,000 pairs).
    """
    grams = [_trigrams(name) if name else set() for name in names]
    postings: dict[str, list[int]] = {}
    for index, own in enumerate(grams):
        for gram in own:
            postings.setdefault(gram, []).append(index)
    for j, own in enumerate(grams):
        if not own:
            continue
        shared: dict[int, int] = {}
        for gram in own:
            for i in postings[gram]:
                if i < j:
                    shared[i] = shared.get(i, 0) + 1
        for i, count in shared.items():
            if count * 2 >= min(len(own), len(grams[i])):
                yield i, j


def _duplicates(ctx: AuditContext) -> Iterator[Finding]:
    # One finding per KPI that repeats earlier ones, naming them; formulas are matched by key
    # (linear), names pairwise only between names of similar length.
    kpis = ctx.workspace.kpis
    keys = [_formula_key(k) for k in kpis]
    names = [name_key(k.name) for k in kpis]
    first_with_key: dict[tuple[str, str, str, str], list[int]] = {}
    similar: dict[int, set[int]] = {}
    for i, j in _name_candidates(names):
        if same_measure(names[i], names[j]):
            similar.setdefault(max(i, j), set()).add(min(i, j))
    for index, later in enumerate(kpis):
        key = keys[index]
        same_formula = first_with_key.setdefault(key, []) if key is not None else []
        earlier_formula = list(same_formula)
        if key is not None:
            same_formula.append(index)
        earlier_name = sorted(similar.get(index, set()))
        if not earlier_formula and not earlier_name:
            continue
        problems = []
        if earlier_formula:
            where = f"source '{later.source}'" if later.source else "the same KPIs (derived)"
            problems.append(
                f"computes the same formula `{' '.join((later.expression or '').split())}` on {where} with the same "
                f"filter and time column as {_names(kpis, earlier_formula)}"
            )
        if earlier_name:
            problems.append(f"has nearly the same name as {_names(kpis, earlier_name)}")
        other = kpis[(earlier_formula or earlier_name)[0]]
        fix = (
            f"Keep one: delete {later.id} or {other.id} and measure both goals with the other; if they are "
            "meant to differ, make the difference explicit in the filter (e.g. a channel) and in the name."
            if earlier_formula
            else f"Rename one so that the names say how they differ (scope, filter, unit), or merge {later.id} "
            f"into {other.id} if they measure the same thing."
        )
        yield DUPLICATE.on_kpi(
            later,
            f"KPI {kpi_label(later)} {' and '.join(problems)}; two numbers for one thing invite arguing about which "
            "is right.",
            fix,
        )


def _names(kpis: list[Kpi], indexes: list[int]) -> str:
    shown = ", ".join(kpi_label(kpis[i]) for i in indexes[:3])
    return shown + (f" and {len(indexes) - 3} more" if len(indexes) > 3 else "")


DUPLICATE = Rule(
    id="KPI043",
    slug="duplicate-kpi",
    severity=Severity.WARNING,
    rationale="Two KPIs with the same formula or nearly the same name split attention and drift apart over time. "
    "Names are compared without units in brackets, abbreviations (DSO, OTIF, NPS …), '%'/'share'/'ratio' "
    "wording, hyphens and case; an added word ('per customer', 'growth') makes a different KPI.",
    example="'Net revenue' and 'Net Revenue (orders)', both sum(amount) on orders where status = 'completed'.",
    fix="Keep one KPI per measure; if two are meant to differ, make the difference explicit in filter and name.",
    check=_duplicates,
)

RULES: list[Rule] = [DUPLICATE]

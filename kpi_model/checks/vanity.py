"""KPI040 vanity-metric: running totals, raw volumes without a denominator, numbers nobody acts on.

Reads names, formulas and templates; with data loaded it also reads the computed series (a series
that never falls behaves like a running total).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import Any

from sqlglot import exp

from kpi_model.checks import formula_facts as facts
from kpi_model.checks.base import PAIRING_FIELD, AuditContext, Finding, Rule, Severity
from kpi_model.checks.names import concepts_in, has_phrase, words_of
from kpi_model.checks.wording import capital, kpi_label, period_text, sentence
from kpi_model.formula import ratio_parts
from kpi_model.models import Kind, Kpi, UnitOfMeasure, Workspace

MIN_MONOTONE_PERIODS = 6
ACTIVITY_VOLUME = "activity-volume"  # the concept (concepts.yaml) of counts of effort rather than results


# Words the library does not list but that name classic vanity counts.
_EXTRA_VANITY_PHRASES = tuple(
    "page views, pageviews, impressions, likes, followers, subscribers, downloads, installs, app installs, "
    "registered users, registrations, sign ups, signups, email opens, opens, clicks, views, shares, retweets, "
    "reach, visits, visitors, hits".split(", ")
)
# Library keywords too broad to mean vanity on their own ("Key accounts won" is not one).
_AMBIGUOUS_PHRASES = frozenset({"accounts", "app store", "audience"})
# Column-name words that identify a vanity count in a formula (pages_viewed, follower_count …).
_VANITY_COLUMN_WORDS = frozenset(
    "pageview pageviews viewed views impressions likes follower followers downloads installs clicks opens shares "
    "subscribers signups registrations visits hits reach".split()
)
_PERIOD_TO_DATE = re.compile(r"\b(year|month|quarter|week)[ -]to[ -]date\b|\bytd\b|\bmtd\b|\bqtd\b", re.I)
_CUMULATIVE = re.compile(
    r"\b(all[ -]?time|cumulative|cumulated|running total|lifetime total|to[ -]date|"
    r"since (launch|inception|founding|go[ -]live|the (start|beginning|launch)))\b",
    re.I,
)
_TOTAL = re.compile(r"\btotal\b", re.I)
# Units that cannot accumulate: a rate or score is never a running total.
_NON_ADDITIVE = {UnitOfMeasure.PERCENT, UnitOfMeasure.RATIO, UnitOfMeasure.SCORE, UnitOfMeasure.DURATION}


@cache
def _vanity_vocabulary() -> tuple[frozenset[str], frozenset[str]]:
    """(template ids, name phrases) of vanity-prone counts: library templates with a ``vanity_risk``."""
    templates = [t for t in facts.library().values() if t.vanity_risk and t.unit_of_measure == UnitOfMeasure.COUNT]
    phrases = {words_of(p) for p in _EXTRA_VANITY_PHRASES}
    for template in templates:
        phrases.add(words_of(template.name))
        phrases.update(words_of(keyword) for keyword in template.keywords)
    return frozenset(t.id for t in templates), frozenset(p for p in phrases if p and p not in _AMBIGUOUS_PHRASES)


def _unwrap(node: exp.Expr) -> exp.Expr:
    """The aggregate under parentheses and a FILTER clause."""
    while isinstance(node, (exp.Paren, exp.Filter)):
        node = node.this
    return node


_NOT_A_COUNT_WORDS = frozenset(
    {
        "rate",
        "ratio",
        "share",
        "percent",
        "percentage",
        "pct",
        "per",
        "average",
        "avg",
        "mean",
        "median",
        "index",
        "score",
        "conversion",
        "cost",
        "roi",
        "roas",
        "margin",
        "value",
        "time",
        "duration",
    }
)


def _is_raw_count(kpi: Kpi) -> bool:
    """A count (or plain sum) with no denominator: unit ``count``, or a bare count/sum formula."""
    if kpi.unit_of_measure is not None:
        return kpi.unit_of_measure == UnitOfMeasure.COUNT
    tree = facts.tree(kpi.expression)
    if tree is None:
        template = facts.template_of(kpi)
        if template is not None:
            return template.unit_of_measure == UnitOfMeasure.COUNT
        # An imported KPI often has only a name: "Number of Facebook likes" is a count, "Like rate" is not.
        return not (set(words_of(kpi.name).split()) & _NOT_A_COUNT_WORDS)
    return ratio_parts(tree) is None and isinstance(_unwrap(tree), (exp.Count, exp.Sum))


def _vanity_family(kpi: Kpi, ids: set[str]) -> str | None:
    """What makes a KPI a vanity-prone count (its template, a phrase of its name or a column), or None."""
    template_ids, phrases = _vanity_vocabulary()
    template = facts.template_of(kpi)
    if template is not None and template.id in template_ids:
        return f"the '{template.id}' template"
    name = words_of(kpi.name)
    for phrase in sorted(phrases, key=len, reverse=True):
        if has_phrase(name, phrase):
            return f"'{phrase}'"
    if ACTIVITY_VOLUME in concepts_in(kpi.name):  # meetings held, press releases, Netzbesprechungen …
        return "a count of activity (meetings, posts, releases, followers)"
    for column in sorted(facts.columns(kpi, ids)):
        if set(re.split(r"[^a-z0-9]+", column)) & _VANITY_COLUMN_WORDS:
            return f"column {column}"
    return None


def _advice(kpi: Kpi) -> str:
    """The library's own advice on a vanity template (its last sentence), if any."""
    template = facts.template_of(kpi)
    if template is None or not template.vanity_risk:
        return ""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", template.vanity_risk.strip()) if s.strip()]
    return f" The library says: {sentences[-1]}" if sentences else ""


@dataclass(frozen=True)
class _Signal:
    reason: str
    fix: str


def _cumulative_signals(kpi: Kpi, ids: set[str]) -> list[_Signal]:
    """Running totals: cumulative wording, or a count over the whole table (no time column)."""
    signals: list[_Signal] = []
    if kpi.unit_of_measure in _NON_ADDITIVE:
        return signals
    wording = _CUMULATIVE.search(_PERIOD_TO_DATE.sub(" ", facts.kpi_text(kpi)))
    if wording:
        signals.append(
            _Signal(
                f"its name or description says '{wording.group(0)}': a running total only goes up and always "
                "looks like progress",
                "report the change per period instead (new items per month, with a time column) and set a "
                "target for the period",
            )
        )
    if kpi.source and kpi.expression and not kpi.time_column and _is_raw_count(kpi) and not facts.derived(kpi, ids):
        signals.append(
            _Signal(
                "it has no time column, so it counts every row ever loaded (a lifetime total)",
                "name the date column (time_column) so that it counts what happened in each period",
            )
        )
    return signals


def _family_signal(kpi: Kpi, workspace: Workspace, ids: set[str], feeds: Mapping[str, list[str]]) -> _Signal | None:
    """A raw count of a vanity-prone family that is neither a driver input nor paired with its outcome."""
    if not _is_raw_count(kpi):
        return None
    family = _vanity_family(kpi, ids)
    if family is None or feeds.get(kpi.id):
        return None  # an input of a derived KPI is a driver, not a headline
    labelled_total = bool(_TOTAL.search(facts.kpi_text(kpi)))
    partner = workspace.kpi(kpi.pairs_with) if kpi.pairs_with else None
    unpaired: list[str] = []
    if partner is not None and partner.kind == Kind.LAGGING:
        partner_drivers = facts.drivers(partner, ids)
        if labelled_total:
            unpaired.append(
                f"presented as a total, it is reported for its own sake, not as a driver of {kpi_label(partner)}"
            )
        if partner_drivers and kpi.id not in partner_drivers:
            unpaired.append(
                f"it is paired with {kpi_label(partner)}, but that outcome is computed from "
                f"{', '.join(sorted(partner_drivers))}, not from it"
            )
        if not unpaired:
            return None  # a leading count paired with the outcome it should move is a driver
    why_not_paired = "".join(f"; {reason}" for reason in unpaired)
    total = " labelled as a total," if labelled_total else ""
    if partner is not None and partner.kind == Kind.LAGGING:
        as_driver = (
            f"if it is meant as a driver of {kpi_label(partner)}, make it one: use it in that KPI's formula, or pair "
            f"it with the outcome it really moves ({PAIRING_FIELD})"
        )
    else:
        as_driver = (
            f"if it is meant as a driver, use it in a derived KPI or pair it with the lagging outcome it moves "
            f"({PAIRING_FIELD})"
        )
    return _Signal(
        f"it is a raw count{total} with no denominator, recognised by {family}; such counts grow with bots, "
        f"repeat visits and cheap volume as easily as with real demand{why_not_paired}",
        "report it as a rate against its base (per session, per visitor, per customer) or replace it with the "
        f"outcome it should lead to; {as_driver}.{_advice(kpi)}",
    )


def _monotone_signal(kpi: Kpi, ctx: AuditContext) -> _Signal | None:
    """A series that never falls over ≥ 6 periods and has no denominator behaves like a running total."""
    if ctx.series is None or kpi.unit_of_measure not in (None, UnitOfMeasure.COUNT):
        return None
    series = ctx.series.get(kpi.id)
    points = getattr(series, "points", None)
    if not points or any(p.denominator is not None for p in points):
        return None
    values = sorted((p.period, p.value) for p in points if p.value is not None and p.dimension is None)

    def rising(run: list[tuple[Any, float]]) -> bool:
        return all(b[1] >= a[1] for a, b in pairwise(run)) and run[-1][1] > run[0][1]

    run = values
    if len(run) > MIN_MONOTONE_PERIODS and not rising(run):
        run = values[:-1]  # the latest period is often partial; judge the ones before it
    if len(run) < MIN_MONOTONE_PERIODS or not rising(run):
        return None
    grain = getattr(getattr(series, "request", None), "grain", "month")
    first, last = period_text(run[0][0], grain), period_text(run[-1][0], grain)
    return _Signal(
        f"its values never fall over {len(run)} periods ({first} to {last}: {run[0][1]:,.0f} → {run[-1][1]:,.0f}), "
        "which is how a cumulative total behaves",
        "check that the formula counts what happened in each period (e.g. new sign-ups by sign-up date), not a "
        "running total or a snapshot of everything so far",
    )


def _derived_inputs(workspace: Workspace, ids: set[str]) -> dict[str, list[str]]:
    """KPI id -> the derived KPIs computed from it."""
    feeds: dict[str, list[str]] = {}
    for kpi in workspace.kpis:
        for name in sorted(facts.drivers(kpi, ids)):
            feeds.setdefault(name, []).append(kpi.id)
    return feeds


def _is_derived_ratio(kpi: Kpi, ids: set[str]) -> bool:
    tree = facts.tree(kpi.expression)
    return tree is not None and facts.derived(kpi, ids) and bool(list(tree.find_all(exp.Div)))


def _vanity(ctx: AuditContext) -> Iterator[Finding]:
    workspace = ctx.workspace
    ids = facts.kpi_ids(workspace)
    feeds = _derived_inputs(workspace, ids)
    for kpi in workspace.kpis:
        if _is_derived_ratio(kpi, ids):
            continue  # a ratio of other KPIs has its denominator: it is the cure for a vanity count
        signals = _cumulative_signals(kpi, ids)
        signals += [s for s in (_family_signal(kpi, workspace, ids, feeds), _monotone_signal(kpi, ctx)) if s]
        if not signals:
            continue
        fixes = list(dict.fromkeys(s.fix for s in signals))
        yield VANITY.on_kpi(
            kpi,
            f"KPI {kpi_label(kpi)} looks like a vanity metric: {'; and '.join(s.reason for s in signals)}.",
            " ".join(sentence(capital(f)) for f in fixes),
        )


VANITY = Rule(
    id="KPI040",
    slug="vanity-metric",
    severity=Severity.WARNING,
    rationale="A running total or a raw volume without a denominator looks like progress but steers nothing. "
    "A KPI that merely lacks a target or an action is not vanity: missing-target and not-actionable say so.",
    example="'Total page views' = sum(pages_viewed): it rises with bots and slow navigation while revenue falls.",
    fix="Report a rate or the outcome instead, or make the count a driver: use it in a derived KPI or pair it with "
    "the lagging outcome it should move.",
    check=_vanity,
)

RULES: list[Rule] = [VANITY]

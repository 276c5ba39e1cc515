"""Quality rules about what KPIs mean: vanity metrics, finance-only goals, cross-unit conflicts, duplicates.

These rules read the definitions (names, formulas, templates, goals) and work on partial drafts:
any field may be missing. The vanity rule also uses computed series when data is loaded.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Any

from sqlglot import exp
from sqlglot.errors import SqlglotError

from kpi_model import documents
from kpi_model.checks.base import PAIRING_FIELD, AuditContext, Finding, Rule, Severity
from kpi_model.errors import KpiWizardError
from kpi_model.formula import is_derived, parse_tree, ratio_parts, referenced_names, safe_division
from kpi_model.library import Template, load_templates
from kpi_model.models import Category, Kind, Kpi, UnitOfMeasure, Workspace

CONFLICTS_PACKAGE = "kpi_model.checks"
CONFLICTS_FILE = "conflicts.yaml"
NAME_SIMILARITY = 0.9
MIN_MONOTONE_PERIODS = 6

# ---------------------------------------------------------------------------- shared helpers


@functools.lru_cache(maxsize=8192)
def _norm(text: str | None) -> str:
    """Lower-case words joined by single spaces: "On-time_Delivery (OTD)" -> "on time delivery otd"."""
    return " ".join(re.findall(r"[a-z0-9]+", (text or "").lower()))


def _has_phrase(normalised: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs as whole words in already normalised text."""
    wanted = _norm(phrase)
    return bool(wanted) and f" {wanted} " in f" {normalised} "


def _label(kpi: Kpi) -> str:
    return f"'{kpi.name}' ({kpi.id})"


def _tree(text: str | None) -> exp.Expr | None:
    """The sqlglot tree of a formula, or None when it is empty or does not parse (other rules say why)."""
    if not text or not text.strip():
        return None
    try:
        return parse_tree(text, copy=False)
    except (SqlglotError, ValueError):
        return None


def _kpi_ids(workspace: Workspace) -> set[str]:
    return {k.id for k in workspace.kpis}


def _is_derived(kpi: Kpi, ids: set[str]) -> bool:
    return is_derived(kpi.expression, kpi.source, ids - {kpi.id})


def _drivers(kpi: Kpi, ids: set[str]) -> set[str]:
    """KPI ids a derived KPI is computed from (empty for a KPI with its own source)."""
    return referenced_names(kpi.expression or "") & (ids - {kpi.id}) if _is_derived(kpi, ids) else set()


def _columns(kpi: Kpi, ids: set[str]) -> set[str]:
    """Lower-cased column names in a KPI's expression and filter (none for a derived KPI)."""
    if _is_derived(kpi, ids):
        return set()
    names = referenced_names(kpi.expression or "") | referenced_names(kpi.filter or "")
    return {name.lower() for name in names}


@cache
def _library() -> dict[str, Template]:
    return {t.id: t for t in load_templates()}


def _template(kpi: Kpi) -> Template | None:
    """The library template a KPI came from: its ``template``, else a template with its id."""
    library = _library()
    return library.get(kpi.template or "") or library.get(kpi.id)


def _text(kpi: Kpi) -> str:
    return " ".join(filter(None, [kpi.name, kpi.description]))


# ---------------------------------------------------------------------------- KPI040 vanity-metric

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
    templates = [t for t in _library().values() if t.vanity_risk and t.unit_of_measure == UnitOfMeasure.COUNT]
    phrases = {_norm(p) for p in _EXTRA_VANITY_PHRASES}
    for template in templates:
        phrases.add(_norm(template.name))
        phrases.update(_norm(keyword) for keyword in template.keywords)
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
    tree = _tree(kpi.expression)
    if tree is None:
        template = _template(kpi)
        if template is not None:
            return template.unit_of_measure == UnitOfMeasure.COUNT
        # An imported KPI often has only a name: "Number of Facebook likes" is a count, "Like rate" is not.
        return not (set(_norm(kpi.name).split()) & _NOT_A_COUNT_WORDS)
    return ratio_parts(tree) is None and isinstance(_unwrap(tree), (exp.Count, exp.Sum))


def _vanity_family(kpi: Kpi, ids: set[str]) -> str | None:
    """What makes a KPI a vanity-prone count (its template, a phrase of its name or a column), or None."""
    template_ids, phrases = _vanity_vocabulary()
    template = _template(kpi)
    if template is not None and template.id in template_ids:
        return f"the '{template.id}' template"
    name = _norm(kpi.name)
    for phrase in sorted(phrases, key=len, reverse=True):
        if _has_phrase(name, phrase):
            return f"'{phrase}'"
    for column in sorted(_columns(kpi, ids)):
        if set(re.split(r"[^a-z0-9]+", column)) & _VANITY_COLUMN_WORDS:
            return f"column {column}"
    return None


def _advice(kpi: Kpi) -> str:
    """The library's own advice on a vanity template (its last sentence), if any."""
    template = _template(kpi)
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
    wording = _CUMULATIVE.search(_PERIOD_TO_DATE.sub(" ", _text(kpi)))
    if wording:
        signals.append(
            _Signal(
                f"its name or description says '{wording.group(0)}': a running total only goes up and always "
                "looks like progress",
                "report the change per period instead (new items per month, with a time column) and set a "
                "target for the period",
            )
        )
    if kpi.source and kpi.expression and not kpi.time_column and _is_raw_count(kpi) and not _is_derived(kpi, ids):
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
    labelled_total = bool(_TOTAL.search(_text(kpi)))
    partner = workspace.kpi(kpi.pairs_with) if kpi.pairs_with else None
    unpaired: list[str] = []
    if partner is not None and partner.kind == Kind.LAGGING:
        partner_drivers = _drivers(partner, ids)
        if labelled_total:
            unpaired.append(
                f"presented as a total, it is reported for its own sake, not as a driver of {_label(partner)}"
            )
        if partner_drivers and kpi.id not in partner_drivers:
            unpaired.append(
                f"it is paired with {_label(partner)}, but that outcome is computed from "
                f"{', '.join(sorted(partner_drivers))}, not from it"
            )
        if not unpaired:
            return None  # a leading count paired with the outcome it should move is a driver
    why_not_paired = "".join(f"; {reason}" for reason in unpaired)
    total = " labelled as a total," if labelled_total else ""
    if partner is not None and partner.kind == Kind.LAGGING:
        as_driver = (
            f"if it is meant as a driver of {_label(partner)}, make it one: use it in that KPI's formula, or pair "
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


def _decision_signal(kpi: Kpi) -> _Signal | None:
    """A reported KPI with no action and no target."""
    # Only a KPI that is reported (it has a formula or a baseline): a bare new draft is not yet a metric.
    if not (kpi.expression or kpi.baseline) or (kpi.action and kpi.action.strip()) or kpi.target is not None:
        return None
    return _Signal(
        "it has neither an action nor a target, so no decision depends on it",
        "give it a time-bound target and an action (who does what when it crosses its warning threshold), "
        "or drop it from the scorecard",
    )


def _period_label(period: Any, grain: str) -> str:
    text = period.isoformat() if hasattr(period, "isoformat") else str(period)
    if grain == "month":
        return text[:7]
    if grain == "quarter" and hasattr(period, "month"):
        return f"{period.year}-Q{(period.month - 1) // 3 + 1}"
    if grain == "year":
        return text[:4]
    return text[:10]


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
    first, last = _period_label(run[0][0], grain), _period_label(run[-1][0], grain)
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
        for name in sorted(_drivers(kpi, ids)):
            feeds.setdefault(name, []).append(kpi.id)
    return feeds


def _vanity(ctx: AuditContext) -> Iterator[Finding]:
    workspace = ctx.workspace
    ids = _kpi_ids(workspace)
    feeds = _derived_inputs(workspace, ids)
    for kpi in workspace.kpis:
        signals = _cumulative_signals(kpi, ids)
        signals += [
            s
            for s in (_family_signal(kpi, workspace, ids, feeds), _decision_signal(kpi), _monotone_signal(kpi, ctx))
            if s
        ]
        if not signals:
            continue
        fixes = list(dict.fromkeys(s.fix for s in signals))
        yield VANITY.finding(
            "kpi",
            kpi.id,
            f"KPI {_label(kpi)} looks like a vanity metric: {'; and '.join(s.reason for s in signals)}.",
            " ".join(_sentence(_capital(f)) for f in fixes),
        )


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


VANITY = Rule(
    id="KPI040",
    slug="vanity-metric",
    severity=Severity.WARNING,
    rationale="A running total, a raw volume without a denominator or a number nobody acts on looks like progress "
    "but steers nothing.",
    example="'Total page views' = sum(pages_viewed): it rises with bots and slow navigation while revenue falls.",
    fix="Report a rate or the outcome instead, or make the count a driver: use it in a derived KPI or pair it with "
    "the lagging outcome it should move, and give it an action and a target.",
    check=_vanity,
)

# ---------------------------------------------------------------------------- KPI041 financial-only

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STOPWORDS = frozenset(
    "a an and the of in on by to for from with per our all more less than grow lift cut raise reduce keep make "
    "total rate share number value cost costs".split()
)
# Non-monetary drivers that fit most businesses, for goals whose KPIs match no template.
_DEFAULT_DRIVERS = ("conversion_rate", "customer_retention_rate", "on_time_delivery", "first_pass_yield", "csat")


def _driver_suggestions(goal_statement: str, kpis: list[Kpi], used: set[str]) -> list[Template]:
    """2–3 non-monetary templates that drive these financial KPIs, best first."""
    library = _library()
    templates = [t for t in (_template(k) for k in kpis) if t is not None]
    own = {t.id for t in templates}

    def usable(template: Template | None) -> bool:
        return (
            template is not None
            and template.category != Category.FINANCIAL
            and template.unit_of_measure != UnitOfMeasure.CURRENCY
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
    words = set(_norm(" ".join([goal_statement, *(k.name for k in kpis)])).split()) - _STOPWORDS
    scored = sorted(
        ((len(words & set(_norm(" ".join([t.name, *t.keywords])).split())), i, t) for i, t in enumerate(related)),
        key=lambda item: (-item[0], item[1]),
    )
    add(t for score, _, t in scored if score > 0)
    add(library.get(name) for name in _DEFAULT_DRIVERS)
    return list(found.values())[:3]


def _financial_only(ctx: AuditContext) -> Iterator[Finding]:
    workspace = ctx.workspace
    used = {k.template for k in workspace.kpis if k.template} | _kpi_ids(workspace)
    for goal in workspace.goals:
        kpis = workspace.kpis_of(goal.id)
        if not kpis or any(k.category != Category.FINANCIAL for k in kpis):
            continue
        suggestions = _driver_suggestions(goal.statement, kpis, used)
        listed = ", ".join(_label(k) for k in kpis)
        examples = "; ".join(f"{t.id} ({t.name}, {t.category.value})" for t in suggestions)
        yield FINANCIAL_ONLY.finding(
            "goal",
            goal.id,
            f"Goal '{goal.statement}' ({goal.id}) is measured only by financial KPIs ({listed}): they report the "
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
    rationale="Financial KPIs are lagging results; a goal measured only in money has no early signal and no lever.",
    example="Goal 'Grow revenue and margin' with only revenue, gross_margin and discount_rate.",
    fix="Add customer or process KPIs that drive the financial result (conversion rate, first-pass yield, "
    "repeat purchase rate) and pair them with the financial KPIs.",
    check=_financial_only,
)

# ---------------------------------------------------------------------------- KPI042 cross-unit-conflict


class ConflictCatalogueError(KpiWizardError):
    """The conflict catalogue (conflicts.yaml) is broken; the message names the entry and the problem."""


@dataclass(frozen=True)
class Family:
    """How to recognise a KPI of one side of a conflict."""

    templates: frozenset[str]
    names: tuple[str, ...]
    columns: tuple[str, ...]
    not_names: tuple[str, ...] = ()

    def matches(self, kpi: Kpi, columns: set[str]) -> bool:
        """Whether the KPI belongs here: by template (or id), whole words of its name, or a column keyword.

        ``not_names`` words rule a name out (a *supplier's* on-time delivery is not the customer's).
        """
        if (kpi.template and kpi.template in self.templates) or kpi.id in self.templates:
            return True
        name = _norm(kpi.name)
        if any(_has_phrase(name, word) for word in self.not_names):
            return False
        if any(_has_phrase(name, phrase) for phrase in self.names):
            return True
        return any(keyword in column for keyword in self.columns for column in columns)


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
        raise ConflictCatalogueError(f"{where}: expected a mapping with templates, names and columns")
    unknown = set(raw) - {"templates", "names", "columns", "not_names"}
    if unknown:
        raise ConflictCatalogueError(f"{where}: unknown keys {sorted(unknown)}")
    lists: dict[str, list[str]] = {}
    for key in ("templates", "names", "columns", "not_names"):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConflictCatalogueError(f"{where}.{key}: expected a list of non-empty strings")
        lists[key] = value
    if not any(lists[key] for key in ("templates", "names", "columns")):
        raise ConflictCatalogueError(f"{where}: give at least one template, name or column keyword")
    return Family(
        frozenset(lists["templates"]),
        tuple(_norm(n) for n in lists["names"]),
        tuple(c.lower() for c in lists["columns"]),
        tuple(_norm(n) for n in lists["not_names"]),
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
    ids = _kpi_ids(workspace)
    order = {k.id: i for i, k in enumerate(workspace.kpis)}
    units = {k.id: ctx.unit_of(k) for k in workspace.kpis}
    columns = {k.id: _columns(k, ids) for k in workspace.kpis}
    seen: set[tuple[str, str]] = set()
    # (first KPI, conflict, other unit) -> other KPIs: one finding names every KPI of that unit.
    grouped: dict[tuple[str, str, str], list[Kpi]] = {}
    conflicts = {c.id: c for c in load_conflicts()}
    for conflict in conflicts.values():
        side_a = [k for k in workspace.kpis if conflict.a.matches(k, columns[k.id])]
        side_b = [k for k in workspace.kpis if conflict.b.matches(k, columns[k.id])]
        for x in side_a:
            for y in side_b:
                unit_x, unit_y = units[x.id], units[y.id]
                if x.id == y.id or unit_x is None or unit_y is None or unit_x.id == unit_y.id:
                    continue
                first, other = (x, y) if order[x.id] < order[y.id] else (y, x)
                if (first.id, other.id) in seen:
                    continue  # report a pair once, under the first conflict that explains it
                seen.add((first.id, other.id))
                other_unit = units[other.id]
                assert other_unit is not None
                grouped.setdefault((first.id, conflict.id, other_unit.id), []).append(other)
    for (first_id, conflict_id, other_unit_id), others in grouped.items():
        anchor = workspace.kpi(first_id)
        unit, other_unit = units[first_id], workspace.unit(other_unit_id)
        assert anchor is not None and unit is not None and other_unit is not None
        conflict = conflicts[conflict_id]
        names = " and ".join(_label(k) for k in others)
        named = list(dict.fromkeys(k.owner for k in [anchor, *others] if k.owner))
        owners = f"their owners ({', '.join(named)})" if named else "both units' heads"
        yield CROSS_UNIT.finding(
            "kpi",
            anchor.id,
            f"KPI {_label(anchor)} of unit '{unit.name}' ({unit.id}) pulls against {names} of unit "
            f"'{other_unit.name}' ({other_unit.id}): {conflict.why}",
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

# ---------------------------------------------------------------------------- KPI043 duplicate-kpi


def _normal_sql(text: str | None) -> str | None:
    """Formula text with comments, whitespace, identifier case and ``/ nullif(…, 0)`` guards normalised."""
    tree = _tree(text)
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


def _similar_names(left: str, right: str) -> bool:
    """Names (already normalised, see :func:`_name_key`) that are equal or differ by a few characters."""
    if not left or not right:
        return False
    if left == right:
        return True
    # The ratio can only reach the bar when the lengths are close: skip the matcher otherwise.
    if 2 * min(len(left), len(right)) / (len(left) + len(right)) < NAME_SIMILARITY:
        return False
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    return matcher.quick_ratio() >= NAME_SIMILARITY and matcher.ratio() >= NAME_SIMILARITY


_UNIT_IN_BRACKETS = re.compile(
    r"[(\[]\s*(?:in\s+)?(?:days?|hours?|hrs?|h|minutes?|mins?|weeks?|months?|years?|%|percent|pct|eur|usd|gbp|€|\$|"
    r"£|k€|count|number|no\.?|#|ratio|rate|score|points?|fte)\s*[)\]]",
    re.IGNORECASE,
)


def _name_key(name: str) -> str:
    # "Time to hire (days)" and "Time to hire" name one measure: a unit in brackets is not a
    # difference a reader would see as a second KPI ("(legacy spelling)" is, so only units go).
    return _norm(_UNIT_IN_BRACKETS.sub(" ", name)) or _norm(name)


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
    names = [_name_key(k.name) for k in kpis]
    first_with_key: dict[tuple[str, str, str, str], list[int]] = {}
    similar: dict[int, set[int]] = {}
    for i, j in _name_candidates(names):
        if _similar_names(names[i], names[j]):
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
        yield DUPLICATE.finding(
            "kpi",
            later.id,
            f"KPI {_label(later)} {' and '.join(problems)}; two numbers for one thing invite arguing about which "
            "is right.",
            fix,
        )


def _names(kpis: list[Kpi], indexes: list[int]) -> str:
    shown = ", ".join(_label(kpis[i]) for i in indexes[:3])
    return shown + (f" and {len(indexes) - 3} more" if len(indexes) > 3 else "")


DUPLICATE = Rule(
    id="KPI043",
    slug="duplicate-kpi",
    severity=Severity.WARNING,
    rationale="Two KPIs with the same formula or nearly the same name split attention and drift apart over time.",
    example="'Net revenue' and 'Net Revenue (orders)', both sum(amount) on orders where status = 'completed'.",
    fix="Keep one KPI per measure; if two are meant to differ, make the difference explicit in filter and name.",
    check=_duplicates,
)

RULES: list[Rule] = [VANITY, FINANCIAL_ONLY, CROSS_UNIT, DUPLICATE]

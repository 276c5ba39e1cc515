"""KPI061 data-quality: empty dates and values, future dates, negative amounts and repeated keys.

Needs data (``needs_data``): one aggregate query per source in the engine's locked session, with
every identifier quoted. The other data rule, small-sample, is :mod:`kpi_model.checks.small_sample`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from kpi_model.checks.base import AuditContext, Finding, Rule, Severity
from kpi_model.checks.wording import kpi_label
from kpi_model.errors import KpiWizardError
from kpi_model.formula import FormulaError, check_aggregate, check_filter, quote
from kpi_model.models import Kpi, UnitOfMeasure

_CAMEL_ID = re.compile(r"[a-z](Id|ID)$")
_DATE_TYPE = re.compile(r"^(DATE|TIMESTAMP.*)$")
_COUNTS = (exp.Count, exp.CountIf, exp.ApproxDistinct)
# An id column that is empty in fewer than this share of rows is meant to be filled.
MAX_ID_NULL_SHARE = 0.5
# A key is "mostly distinct": at most this share of its values repeat.
MAX_KEY_REPEAT_SHARE = 0.1


def _is_id(name: str) -> bool:
    return bool(re.search(r"(?:^|_)id$", name, re.IGNORECASE) or _CAMEL_ID.search(name) or name.lower() == "id")


def _value_columns(node: exp.Expr, *, keep_coalesce: bool) -> set[str]:
    """Columns whose values an aggregate consumes: not conditions (CASE WHEN, FILTER) nor, unless asked, coalesce."""
    if isinstance(node, exp.Column):
        return {node.name}
    if isinstance(node, exp.Where) or (isinstance(node, exp.Coalesce) and not keep_coalesce):
        return set()  # a null handled by coalesce was thought of
    if isinstance(node, exp.If):
        branches = [node.args.get("true"), node.args.get("false")]
        return set().union(*(_value_columns(b, keep_coalesce=keep_coalesce) for b in branches if b is not None))
    if isinstance(node, exp.Case):
        branches = [i.args.get("true") for i in node.args.get("ifs") or []] + [node.args.get("default")]
        return set().union(*(_value_columns(b, keep_coalesce=keep_coalesce) for b in branches if b is not None))
    found: set[str] = set()
    for child in node.iter_expressions():
        found |= _value_columns(child, keep_coalesce=keep_coalesce)
    return found


def _aggregated(tree: exp.Expr, kinds: tuple[type, ...], *, keep_coalesce: bool) -> set[str]:
    """Columns consumed by aggregates of ``kinds`` (count() is left out: it skips nulls on purpose)."""
    from kpi_model.formula import AGGREGATES

    found: set[str] = set()
    for node in tree.find_all(*AGGREGATES):
        if isinstance(node, kinds) and not isinstance(node, _COUNTS):
            found |= _value_columns(node, keep_coalesce=keep_coalesce)
    return found


@dataclass
class _KpiPlan:
    """What to measure for one KPI: its row condition and the columns to check."""

    kpi: Kpi
    condition: str
    time_column: str | None
    null_columns: list[str] = field(default_factory=list)
    negative_columns: list[str] = field(default_factory=list)


@dataclass
class _Query:
    """One aggregate query over a source, built part by part; results come back by key."""

    parts: dict[str, str] = field(default_factory=dict)

    def add(self, key: str, sql: str) -> str:
        self.parts.setdefault(key, sql)
        return key


def _plan_kpi(kpi: Kpi, names: Mapping[str, str]) -> _KpiPlan | None:
    """The KPI's filter and columns resolved against the source; None if its formula does not check."""
    columns = list(names.values())
    try:
        condition = check_filter(kpi.filter, columns).sql if kpi.filter else "TRUE"
        tree = check_aggregate(kpi.expression, columns).tree if kpi.expression else None
    except FormulaError:
        return None  # invalid-formula / unknown-column say why; nothing trustworthy to measure here
    time_column = names.get((kpi.time_column or "").lower())
    plan = _KpiPlan(kpi, f"({condition})", time_column)
    if tree is not None:
        plan.null_columns = sorted({names[c.lower()] for c in _aggregated(tree, (exp.Func,), keep_coalesce=False)})
        if kpi.unit_of_measure == UnitOfMeasure.CURRENCY:
            summed = _aggregated(tree, (exp.Sum,), keep_coalesce=True)
            plan.negative_columns = sorted({names[c.lower()] for c in summed})
    return plan


def _run(ctx: AuditContext, source: str, query: _Query) -> dict[str, Any]:
    """All parts in one scan; if that fails (a type the check did not expect), each part on its own."""
    from kpi_model.engine import QueryTimeout  # lazily: importing the checks must not load DuckDB

    assert ctx.engine is not None
    keys = list(query.parts)
    if not keys:
        return {}
    table = quote(source)
    try:
        _, rows = ctx.engine.query(
            f"SELECT {', '.join(f'{sql} AS {quote(key)}' for key, sql in query.parts.items())} FROM {table}"
        )
        return dict(zip(keys, rows[0], strict=True))
    except QueryTimeout:
        raise  # part by part would only time out again, once per part
    except Exception:  # duckdb errors vary; fall back to part-by-part below
        results: dict[str, Any] = {}
        for key, sql in query.parts.items():
            try:
                results[key] = ctx.engine.query(f"SELECT {sql} FROM {table}")[1][0][0]
            except Exception:  # a part that cannot run is skipped, not reported as a crash
                results[key] = None
        return results


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def _names(kpis: list[Kpi]) -> str:
    labels = [kpi_label(k) for k in kpis]
    return ", ".join(labels[:-1]) + f" and {labels[-1]}" if len(labels) > 1 else "".join(labels)


def _subject(kpis: list[Kpi], verb: str) -> str:
    """'KPI a (x) sums' or 'KPIs a (x) and b (y) sum'."""
    return f"KPI {_names(kpis)} {verb}s" if len(kpis) == 1 else f"KPIs {_names(kpis)} {verb}"


def _type_of(ctx: AuditContext, source: str, column: str) -> str:
    profile = (ctx.profiles or {}).get(source)
    described = profile.column(column) if profile is not None else None
    return described.type.upper() if described is not None else ""


def _key_columns(source: str, columns: list[str]) -> list[str]:
    """Id columns that should identify a row: the table's first column, or one named after the table."""
    stem = re.split(r"[_\W]+", source.lower())[-1]
    stem = stem[:-1] if stem.endswith("s") else stem
    keys = []
    for position, column in enumerate(columns):
        if not _is_id(column):
            continue
        base = re.sub(r"_?id$", "", column, flags=re.IGNORECASE).lower()
        if position == 0 or column.lower() == "id" or (base and (base == stem or stem.startswith(base))):
            keys.append(column)
    return keys


def _source_findings(ctx: AuditContext, source: str, kpis: list[Kpi]) -> Iterator[Finding]:
    assert ctx.columns is not None
    columns = ctx.columns[source]
    names = {c.lower(): c for c in columns}
    plans = [p for p in (_plan_kpi(k, names) for k in kpis) if p is not None]
    query = _Query()
    total = query.add("rows", "count(*)")
    today = ctx.today.isoformat()
    ids = [c for c in columns if _is_id(c)]
    keys = _key_columns(source, columns)
    example_key = keys[0] if keys else (ids[0] if ids else None)
    for index, plan in enumerate(plans):
        time_ok = f"{quote(plan.time_column)} IS NOT NULL" if plan.time_column else "TRUE"
        query.add(f"k{index}:rows", f"count(*) FILTER (WHERE {plan.condition})")
        if plan.time_column:
            query.add(f"k{index}:null_time", f"count(*) FILTER (WHERE {plan.condition} AND NOT {time_ok})")
        query.add(f"k{index}:seen", f"count(*) FILTER (WHERE {plan.condition} AND {time_ok})")
        for column in plan.null_columns:
            missing = f"{plan.condition} AND {time_ok} AND {quote(column)} IS NULL"
            query.add(f"k{index}:null:{column}", f"count(*) FILTER (WHERE {missing})")
        for column in plan.negative_columns:
            value = f"TRY_CAST({quote(column)} AS DOUBLE)"
            negative = f"{plan.condition} AND {time_ok} AND {value} < 0"
            query.add(f"k{index}:neg:{column}", f"count(*) FILTER (WHERE {negative})")
            query.add(f"k{index}:min:{column}", f"min({value}) FILTER (WHERE {plan.condition} AND {time_ok})")
    time_columns = list(dict.fromkeys(p.time_column for p in plans if p.time_column))
    for column in time_columns:
        kind = _type_of(ctx, source, column)
        if kind and not (_DATE_TYPE.match(kind) or kind == "VARCHAR"):
            continue  # a number or text code is no date; unknown-column / type checks say so elsewhere
        as_date = f"CAST({quote(column)} AS DATE)" if _DATE_TYPE.match(kind) else f"TRY_CAST({quote(column)} AS DATE)"
        future = f"{as_date} > DATE '{today}'"
        query.add(f"future:{column}", f"count(*) FILTER (WHERE {future})")
        query.add(f"future_min:{column}", f"CAST(min({as_date}) FILTER (WHERE {future}) AS VARCHAR)")
        query.add(f"future_max:{column}", f"CAST(max({as_date}) FILTER (WHERE {future}) AS VARCHAR)")
        if example_key:
            query.add(f"future_key:{column}", f"CAST(min({quote(example_key)}) FILTER (WHERE {future}) AS VARCHAR)")
    for column in ids:
        query.add(f"filled:{column}", f"count({quote(column)})")
        if column in keys:
            query.add(f"distinct:{column}", f"count(DISTINCT {quote(column)})")
    result = _run(ctx, source, query)
    rows = int(result.get(total) or 0)
    yield from _time_and_value_findings(source, plans, result)
    for column in time_columns:
        future_count = int(result.get(f"future:{column}") or 0)
        if not future_count:
            continue
        users = [p.kpi for p in plans if p.time_column == column]
        low, high = result.get(f"future_min:{column}"), result.get(f"future_max:{column}")
        span = low if low == high else f"{low} to {high}"
        example = result.get(f"future_key:{column}")
        example_text = f", e.g. {example_key} {example}" if example and example_key else ""
        yield DATA_QUALITY.on_source(
            source,
            f"Source '{source}': {future_count:,} rows have {column} after today ({today}): {span}{example_text}. "
            f"They are counted in future periods of {_names(users)}, which look like real results.",
            f"Correct the dates in the extract (typing errors such as a wrong year are common), or exclude them "
            f"with a filter such as {column} <= current_date until they are fixed.",
        )
    for column in ids:
        filled = int(result.get(f"filled:{column}") or 0)
        empty = rows - filled
        if 0 < empty and rows and empty / rows < MAX_ID_NULL_SHARE:
            yield DATA_QUALITY.on_source(
                source,
                f"Source '{source}': {column} is empty in {empty:,} of {rows:,} rows ({_pct(empty, rows)}); those "
                f"rows cannot be attributed, and counts of distinct {column} silently leave them out.",
                f"Fill {column} in the extract, or decide what an empty one means and filter it explicitly "
                f"({column} IS NOT NULL) in the KPIs that need it.",
            )
        distinct = result.get(f"distinct:{column}")
        if distinct is None or not filled:
            continue
        repeated = filled - int(distinct)
        if 0 < repeated <= MAX_KEY_REPEAT_SHARE * filled:
            yield DATA_QUALITY.on_source(
                source,
                f"Source '{source}': {column} identifies a row but {repeated:,} rows repeat an existing value "
                f"({int(distinct):,} distinct in {filled:,} rows); rows loaded twice are counted twice by "
                f"{_names(kpis)}.",
                f"De-duplicate the extract (keep one row per {column}); if repeats are legitimate (several lines per "
                f"{column}), count distinct {column} in the KPIs instead of rows.",
            )


def _time_and_value_findings(source: str, plans: list[_KpiPlan], result: Mapping[str, Any]) -> Iterator[Finding]:
    """Empty time columns, empty aggregated columns and negative amounts: one finding per column."""
    worst: dict[tuple[str, str], tuple[int, int, list[Kpi], Any]] = {}

    def note(problem: str, column: str, count: int, base: int, kpi: Kpi, extra: Any = None) -> None:
        if count <= 0:
            return
        previous = worst.get((problem, column))
        users = [*(previous[2] if previous else []), kpi]
        if previous is None or count > previous[0]:
            worst[(problem, column)] = (count, base, users, extra)
        else:
            worst[(problem, column)] = (previous[0], previous[1], users, previous[3])

    for index, plan in enumerate(plans):
        counted = int(result.get(f"k{index}:rows") or 0)
        seen = int(result.get(f"k{index}:seen") or 0)
        if plan.time_column:
            note("time", plan.time_column, int(result.get(f"k{index}:null_time") or 0), counted, plan.kpi)
        for column in plan.null_columns:
            note("null", column, int(result.get(f"k{index}:null:{column}") or 0), seen, plan.kpi)
        for column in plan.negative_columns:
            smallest = result.get(f"k{index}:min:{column}")
            note("negative", column, int(result.get(f"k{index}:neg:{column}") or 0), seen, plan.kpi, smallest)
    for (problem, column), (count, base, users, extra) in worst.items():
        share = _pct(count, base)
        if problem == "time":
            message = (
                f"{column}, the time column, is empty in {count:,} of {base:,} rows ({share}) that "
                f"{_subject(users, 'count')}; those rows fall out of every period"
            )
            fix = f"Fill {column} in the extract, or use a date column that is always set as the time column."
        elif problem == "null":
            message = (
                f"{column} is empty in {count:,} of {base:,} rows ({share}) that {_subject(users, 'aggregate')}; "
                "the aggregate skips them silently, so the value describes only the rows that have one"
            )
            fix = (
                f"Fill {column} in the extract; if empty means 'not answered' or 'not yet', say so in the KPI's "
                f"description and track the share of empty {column} beside it."
            )
        else:
            message = (
                f"{column} has {count:,} negative values (smallest {float(extra):,.2f}) in rows that currency "
                f"{_subject(users, 'sum')}; refunds or corrections booked as negative amounts net against real sales"
            )
            fix = (
                f"Decide whether corrections belong in the KPI: exclude them with a filter ({column} >= 0) or keep "
                "them deliberately and say so in the description."
            )
        yield DATA_QUALITY.on_source(source, f"Source '{source}': {message}.", fix)


def _data_quality(ctx: AuditContext) -> Iterator[Finding]:
    if ctx.engine is None or ctx.columns is None:
        return
    by_source: dict[str, list[Kpi]] = {}
    for kpi in ctx.workspace.kpis:
        if kpi.source and kpi.source in ctx.columns:
            by_source.setdefault(kpi.source, []).append(kpi)
    for source, kpis in by_source.items():
        try:
            yield from _source_findings(ctx, source, kpis)
        except KpiWizardError:
            continue  # a timed-out or unreadable source: compute/preview report it where it is used


DATA_QUALITY = Rule(
    id="KPI061",
    slug="data-quality",
    severity=Severity.WARNING,
    rationale="Empty dates or values, future dates, negative amounts and duplicated keys change KPI values "
    "without anyone noticing.",
    example="orders: 8 order_id values appear twice, 12 negative amounts, 3 orders dated next year.",
    fix="Fix the extract, or make the KPI's handling explicit in its filter and description.",
    check=_data_quality,
    needs_data=True,
)

RULES: list[Rule] = [DATA_QUALITY]

"""SQL dialects a KPI query is exported to, and the rewrites one of them needs to run where it is used."""

from __future__ import annotations

from collections.abc import Callable

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import map_date_part

from kpi_model.formula.limits import _bounded

DIALECTS = ("duckdb", "postgres", "snowflake", "bigquery", "spark", "tsql")


# T-SQL before SQL Server 2022 has neither DATETRUNC nor LEAST; the forms below run on 2008 and later.
_TSQL_EPOCH = "1900-01-01"  # a Monday; the same date whatever SET DATEFORMAT says


def _tsql(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def _tsql_truncation(node: exp.Expr) -> exp.Expr:
    """``date_trunc``/``timestamp_trunc`` by DATEADD and DATEDIFF from a fixed Monday (DATETRUNC is 2022+)."""
    epoch = exp.Literal.string(_TSQL_EPOCH)
    unit, value = node.text("unit").upper(), node.this
    if unit == "DAY":
        inside_date_cast = isinstance(node.parent, exp.Cast) and node.parent.to.is_type("date")
        return value if inside_date_cast else exp.cast(value, "DATE")
    if unit == "WEEK":  # ISO weeks start on Monday; DATEDIFF(WEEK, …) counts Sundays.
        days = _tsql("DATEDIFF", exp.var("DAY"), epoch, value)
        since_monday = exp.Mod(this=days, expression=exp.Literal.number(7))
        return _tsql("DATEADD", exp.var("DAY"), exp.Neg(this=exp.paren(since_monday)), value)
    if unit in ("MONTH", "QUARTER", "YEAR"):
        return _tsql("DATEADD", exp.var(unit), _tsql("DATEDIFF", exp.var(unit), epoch, value), epoch)
    return node


def _tsql_least(node: exp.Expr) -> exp.Expr:
    """``LEAST(a, b)`` as (SELECT MIN(v) FROM (VALUES (a), (b)) AS row_counts(v)), built as a tree (LEAST is 2022+)."""
    rows = [exp.Tuple(expressions=[value.copy()]) for value in [node.this, *node.expressions]]
    alias = exp.TableAlias(this=exp.to_identifier("row_counts"), columns=[exp.to_identifier("v")])
    values = exp.Values(expressions=rows, alias=alias)
    return exp.Subquery(this=exp.select(exp.Min(this=exp.column("v"))).from_(values))


def _plain_division(node: exp.Expr) -> exp.Expr:
    """``x // y`` as ``x / y``: DuckDB truncates integers and divides a DOUBLE as it is, as PostgreSQL's and T-SQL's
    ``/`` do (sqlglot's DIV fails on a DOUBLE in PostgreSQL, and T-SQL's CAST to BIGINT truncates one)."""
    if not isinstance(node, exp.IntDiv):
        return node
    return exp.Div(this=node.this, expression=node.expression, typed=True)  # typed: no cast to a float


# Node type → its portable T-SQL form, as sqlglot's generators map types to handlers.
_TSQL_REWRITES: dict[type[exp.Expr], Callable[[exp.Expr], exp.Expr]] = {
    exp.TimestampTrunc: _tsql_truncation,
    exp.DateTrunc: _tsql_truncation,
    exp.Least: _tsql_least,
    exp.IntDiv: _plain_division,
}


def _tsql_portable(tree: exp.Expr) -> exp.Expr:
    """``tree`` with period truncation and LEAST written for every SQL Server still in use."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        handler = _TSQL_REWRITES.get(type(node))
        return node if handler is None else handler(node)

    return tree.transform(rewrite)


def _bigquery_iso_weeks(tree: exp.Expr) -> exp.Expr:
    """Weeks that start on Monday, as everywhere else here: BigQuery's plain ``WEEK`` starts on Sunday."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)) and node.text("unit").upper() == "WEEK":
            node.set("unit", exp.WeekStart(this=exp.var("MONDAY")))
        return node

    return tree.transform(rewrite)


# The units BigQuery's DATETIME_DIFF counts here (whole units elapsed: both ends are truncated to count boundaries).
_BIGQUERY_TIMESTAMP_UNITS = frozenset({"MICROSECOND", "MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY"})
_BIGQUERY_DATE_UNITS = frozenset({"WEEK", "MONTH", "QUARTER", "YEAR"})


def _duckdb_diff_unit(node: exp.Expr) -> str:
    """The unit of a ``date_diff`` in one spelling per unit ('minutes' and 'min' are MINUTE)."""
    unit = map_date_part(node.args["unit"], "duckdb").name.upper()
    return "WEEK" if unit == "WEEKS" else unit  # the one plural sqlglot leaves as it is


def _weeks_in_days(node: exp.Expr) -> exp.Expr:
    """``date_diff('week', a, b)`` as the days crossed divided by 7 (towards zero), as DuckDB counts weeks: T-SQL's
    and Snowflake's DATEDIFF(WEEK, …) count the Sundays (or WEEK_START days) crossed instead, and sqlglot's
    PostgreSQL form the whole days elapsed."""
    if not isinstance(node, exp.DateDiff) or node.args.get("unit") is None or _duckdb_diff_unit(node) != "WEEK":
        return node
    days = exp.DateDiff(this=node.this, expression=node.expression, unit=exp.var("DAY"), date_part_boundary=True)
    return exp.IntDiv(this=days, expression=exp.Literal.number(7))


def _bigquery_date_diff(node: exp.Expr) -> exp.Expr:
    """``date_diff`` as DuckDB counts it (unit boundaries crossed), on any date or timestamp column: BigQuery's
    DATE_DIFF takes DATEs only and its DATETIME_DIFF (DuckDB's TIMESTAMP is a DATETIME there) counts whole units
    elapsed, so both ends are truncated;
    months and longer are counted between DATEs, a week is the days crossed divided by 7, as in DuckDB."""
    if not isinstance(node, exp.DateDiff) or node.args.get("unit") is None:
        return node
    unit = _duckdb_diff_unit(node)
    end, start = node.this, node.expression
    if unit in _BIGQUERY_TIMESTAMP_UNITS:
        end, start = (exp.DatetimeTrunc(this=exp.cast(v, "TIMESTAMP"), unit=exp.var(unit)) for v in (end, start))
        return exp.DatetimeDiff(this=end, expression=start, unit=exp.var(unit))
    if unit not in _BIGQUERY_DATE_UNITS:
        return node
    end, start = exp.cast(end, "DATE"), exp.cast(start, "DATE")
    if unit == "WEEK":
        days = exp.DateDiff(this=end, expression=start, unit=exp.var("DAY"))
        return exp.IntDiv(this=days, expression=exp.Literal.number(7))
    return exp.DateDiff(this=end, expression=start, unit=exp.var(unit))


# The date_diff units every dialect counts (Spark's DATEDIFF and DATE_TRUNC spell them so too: no plurals).
_DIFF_UNITS = frozenset(
    {"MICROSECOND", "MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}
)
# DuckDB's day-of-week parts: 0 (Sunday) to 6, and ISO's 1 (Monday) to 7. Spark's DOW runs from 1 (Sunday).
_DUCKDB_DAY_OF_WEEK = frozenset({"DOW", "DAYOFWEEK", "WEEKDAY"})
_DUCKDB_ISO_DAY_OF_WEEK = frozenset({"ISODOW", "DAYOFWEEKISO", "DAYOFWEEK_ISO"})
# DuckDB's error-compensated sum and average; Spark has only the plain ones (the same to 1e-12 or so).
_SPARK_PLAIN_AGGREGATES: dict[str, type[exp.Func]] = {"fsum": exp.Sum, "favg": exp.Avg}


def _spark_date_diff(node: exp.Expr) -> exp.Expr:
    """``date_diff`` counting on Spark what it counts in DuckDB.

    DuckDB takes a unit in many spellings ('seconds', 'hrs'), Spark's DATEDIFF one per unit. DuckDB counts the
    unit's boundaries crossed (10:00:59 to 10:01:00 is one minute), Spark the whole units elapsed (none): with
    both ends truncated to the unit, Spark counts the boundaries too. A DuckDB week is the days crossed divided
    by 7 (towards zero), so for weeks both ends are truncated to the day.
    """
    if node.args.get("unit") is None:
        return node
    unit = _duckdb_diff_unit(node)
    if unit not in _DIFF_UNITS:
        return node
    node.set("unit", exp.var(unit))
    for end in ("this", "expression"):
        truncated_to = "DAY" if unit == "WEEK" else unit
        node.set(end, exp.TimestampTrunc(this=node.args[end], unit=exp.var(truncated_to)))
    return node


def _spark_epoch(value: exp.Expr) -> exp.Expr:
    """DuckDB's epoch: seconds since 1970 with their fraction (Spark's UNIX_TIMESTAMP drops it, EXTRACT has none)."""
    micros = exp.Anonymous(this="UNIX_MICROS", expressions=[exp.cast(value, "TIMESTAMP")])
    return exp.paren(exp.Div(this=micros, expression=exp.cast(exp.Literal.number(1_000_000), "DOUBLE")))


def _spark_day_of_week(node: exp.Expr) -> exp.Expr:
    """``extract``/``date_part`` of the day of the week numbered as in DuckDB (Spark's DOW is one higher), and of
    the epoch, which Spark does not extract."""
    if isinstance(node, exp.TimeToUnix):
        return _spark_epoch(node.this)
    if isinstance(node, exp.Anonymous):  # date_part('dow', x), which sqlglot does not model
        unit, *values = node.expressions
        if node.name.lower() not in ("date_part", "datepart") or not unit.is_string or len(values) != 1:
            return node
        node = exp.Extract(this=exp.var(unit.name), expression=values[0])
    part = node.name.upper()
    if part == "EPOCH":
        return _spark_epoch(node.expression)
    if part in _DUCKDB_ISO_DAY_OF_WEEK:
        return exp.Extract(this=exp.var("DAYOFWEEK_ISO"), expression=node.expression)
    if part in _DUCKDB_DAY_OF_WEEK:
        sunday_first = exp.Extract(this=exp.var("DAYOFWEEK"), expression=node.expression)
        return exp.paren(exp.Sub(this=sunday_first, expression=exp.Literal.number(1)))
    return node


def _spark_double_literal(node: exp.Expr) -> exp.Expr:
    """``1.0`` as a DOUBLE: both read it as a DECIMAL, but DuckDB divides decimals into a DOUBLE where Spark keeps
    a DECIMAL rounded to as few as 6 places (``count(*) * 1.0 / 3`` is 307.333333)."""
    text = node.name
    if node.is_string or "." not in text or "e" in text.lower():
        return node
    return exp.cast(node.copy(), "DOUBLE")


def _spark_percentile(node: exp.Expr) -> exp.Expr:
    """``quantile_cont(x, 0.9)`` as PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY x): Spark has no two-argument form,
    and sqlglot would print its own WITHIN GROUP as PERCENTILE_APPROX, which is approximate."""
    if node.args.get("expression") is None or isinstance(node.parent, exp.WithinGroup):
        return node
    name = "PERCENTILE_CONT" if isinstance(node, exp.PercentileCont) else "PERCENTILE_DISC"
    # The node replaced is not visited further: rewrite what it orders by here.
    order = exp.Order(expressions=[exp.Ordered(this=_spark_portable(node.this))])
    return exp.WithinGroup(this=exp.Anonymous(this=name, expressions=[node.expression]), expression=order)


# DuckDB's kurtosis and skewness are the sample's (bias-corrected, NULL below 4 and 3 values); Spark's are the
# population's. The corrections, over Spark's value (:g) and the count of values (:n):
_SAMPLE_MOMENTS: dict[type[exp.Expr], str] = {
    exp.Kurtosis: "CASE WHEN :n > 3 THEN (:n - 1) / ((:n - 2) * (:n - 3)) * ((:n + 1) * :g + 6) END",
    exp.Skewness: "CASE WHEN :n > 2 THEN SQRT(:n * (:n - 1)) / (:n - 2) * :g END",
}


def _spark_sample_moment(node: exp.Expr) -> exp.Expr:
    """``kurtosis``/``skewness`` (or one with a FILTER) as DuckDB computes them, from Spark's population values."""
    moment = node.this if isinstance(node, exp.Filter) else node
    if type(moment) not in _SAMPLE_MOMENTS or (moment is node and isinstance(node.parent, exp.Filter)):
        return node
    # The node replaced is not visited further: rewrite its argument and filter here.
    where = _spark_portable(node.expression) if isinstance(node, exp.Filter) else None
    values = _spark_portable(moment.this)

    def aggregate(function: exp.Expr) -> exp.Expr:
        return exp.paren(exp.Filter(this=function, expression=where.copy()) if where else function)

    parts = {"n": aggregate(exp.Count(this=values.copy())), "g": aggregate(type(moment)(this=values.copy()))}
    template = sqlglot.parse_one(_SAMPLE_MOMENTS[type(moment)], read="duckdb")
    return exp.paren(
        template.transform(lambda part: parts[part.name].copy() if isinstance(part, exp.Placeholder) else part)
    )


def _spark_aggregate(node: exp.Expr) -> exp.Expr:
    plain = _SPARK_PLAIN_AGGREGATES.get(node.name.lower())
    if plain is None or len(node.expressions) != 1:
        return _spark_day_of_week(node)
    return plain(this=node.expressions[0])


# Node type → its Spark form where DuckDB's meaning would otherwise be lost.
_SPARK_REWRITES: dict[type[exp.Expr], Callable[[exp.Expr], exp.Expr]] = {
    exp.DateDiff: _spark_date_diff,
    exp.Extract: _spark_day_of_week,
    exp.TimeToUnix: _spark_day_of_week,
    exp.Anonymous: _spark_aggregate,
    exp.Literal: _spark_double_literal,
    exp.PercentileCont: _spark_percentile,
    exp.PercentileDisc: _spark_percentile,
    exp.Kurtosis: _spark_sample_moment,
    exp.Skewness: _spark_sample_moment,
    exp.Filter: _spark_sample_moment,
}


def _spark_portable(tree: exp.Expr) -> exp.Expr:
    """``tree`` computing on Spark what it computes in DuckDB (each rewrite above says where the two differ)."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        handler = _SPARK_REWRITES.get(type(node))
        return node if handler is None else handler(node)

    return tree.transform(rewrite)


def _plain_aggregate(node: exp.Expr) -> exp.Expr:
    """DuckDB's ``fsum``/``favg`` as SUM/AVG: no warehouse has them (see :data:`_SPARK_PLAIN_AGGREGATES`)."""
    plain = _SPARK_PLAIN_AGGREGATES.get(node.name.lower()) if isinstance(node, exp.Anonymous) else None
    return node if plain is None or len(node.expressions) != 1 else plain(this=node.expressions[0])


def _diff_unit_spelled_once(node: exp.Expr) -> exp.Expr:
    """A ``date_diff`` unit in the one spelling every dialect reads: sqlglot passes 'hours' or 'secs' on as they
    are (T-SQL and Snowflake then fail, PostgreSQL gets a cast of AGE)."""
    if isinstance(node, exp.DateDiff) and node.args.get("unit") is not None:
        node.set("unit", exp.var(_duckdb_diff_unit(node)))
    return node


def _log_base_ten(node: exp.Expr) -> exp.Expr:
    """DuckDB's one-argument ``log`` is base 10; sqlglot reads it as the natural log (LN, or LOG elsewhere)."""
    if isinstance(node, exp.Log) and node.args.get("expression") is None:
        return exp.Log(this=exp.Literal.number(10), expression=node.this)
    return node


def _snowflake_portable(node: exp.Expr) -> exp.Expr:
    """``try_cast(x AS t)`` as TRY_CAST(CAST(x AS VARCHAR) AS t): Snowflake's TRY_CAST takes text only, and sqlglot
    prints a plain CAST (which fails on a value that does not convert) when it cannot tell that ``x`` is text.
    ``regexp_matches(s, p)`` as REGEXP_INSTR(s, p) > 0: Snowflake's REGEXP_LIKE matches the whole string only."""
    if isinstance(node, exp.RegexpLike) and node.args.get("flag") is None:
        found = exp.Anonymous(this="REGEXP_INSTR", expressions=[node.this, node.expression])
        return exp.paren(exp.GT(this=found, expression=exp.Literal.number(0)))
    if isinstance(node, exp.TryCast) and not node.args.get("requires_string"):
        node.set("this", exp.cast(node.this, "VARCHAR"))
        node.set("requires_string", True)
    return node


def _postgres_numeric(node: exp.Expr) -> exp.Expr:
    """What PostgreSQL has only for NUMERIC, over a DOUBLE too: ``round(x, n)`` and ``x % y`` on a cast to NUMERIC
    (DuckDB also rounds 2.675 to 2.68), ``log`` as LOG10 or a ratio of LN (its LOG(b, x) takes NUMERIC only)."""
    if isinstance(node, exp.Round) and node.args.get("decimals") is not None:
        node.set("this", exp.cast(node.this, "DECIMAL"))
    elif isinstance(node, exp.Mod):
        node.set("this", exp.cast(node.this, "DECIMAL"))
        node.set("expression", exp.cast(node.expression, "DECIMAL"))
    elif isinstance(node, exp.Log) and node.args.get("expression") is not None:
        base, value = node.this, node.expression
        if base.is_number and base.to_py() == 10:
            return exp.Anonymous(this="LOG10", expressions=[value])
        return exp.Div(this=exp.Ln(this=value), expression=exp.Ln(this=base))
    return node


def _postgres_mode(node: exp.Expr) -> exp.Expr:
    """``mode(x)`` as MODE() WITHIN GROUP (ORDER BY x), PostgreSQL's only form of it."""
    if not isinstance(node, exp.Mode) or isinstance(node.parent, exp.WithinGroup):
        return _postgres_numeric(_plain_division(node))
    order = exp.Order(expressions=[exp.Ordered(this=node.this.copy())])
    return exp.WithinGroup(this=exp.Anonymous(this="MODE", expressions=[]), expression=order)


# What DuckDB computes that a dialect has no same-meaning form for (sqlglot would print a function the warehouse
# does not have, or one that means something else): node type → why. docs/formulas.md has the table.
_NO_AGGREGATE = "has no such aggregate"
_WINDOW_ONLY = "has PERCENTILE_CONT/DISC only as a window function (with OVER), not as an aggregate"
_MISSING: dict[str, dict[type[exp.Expr], str]] = {
    "postgres": {
        exp.TryCast: "has no TRY_CAST (a plain CAST fails the query on a value that does not convert)",
        exp.ApproxDistinct: _NO_AGGREGATE,
        exp.ArgMax: _NO_AGGREGATE,
        exp.ArgMin: _NO_AGGREGATE,
        exp.AnyValue: "has ANY_VALUE only from version 16",
        exp.First: _NO_AGGREGATE,
        exp.Last: _NO_AGGREGATE,
        exp.Kurtosis: _NO_AGGREGATE,
        exp.Skewness: _NO_AGGREGATE,
    },
    "snowflake": {exp.First: _NO_AGGREGATE, exp.Last: _NO_AGGREGATE},
    "bigquery": {
        exp.Median: _NO_AGGREGATE,
        exp.PercentileCont: _WINDOW_ONLY,
        exp.PercentileDisc: _WINDOW_ONLY,
        exp.Mode: _NO_AGGREGATE,
        exp.First: _NO_AGGREGATE,
        exp.Last: _NO_AGGREGATE,
        exp.Kurtosis: _NO_AGGREGATE,
        exp.Skewness: _NO_AGGREGATE,
        exp.TimeToUnix: "has no EPOCH (sqlglot prints TIME_TO_UNIX, which does not exist)",
    },
    "spark": {},
    "tsql": {
        exp.Median: _NO_AGGREGATE,
        exp.PercentileCont: _WINDOW_ONLY,
        exp.PercentileDisc: _WINDOW_ONLY,
        exp.Mode: _NO_AGGREGATE,
        exp.LogicalAnd: "has no boolean aggregates",
        exp.LogicalOr: "has no boolean aggregates",
        exp.ApproxDistinct: "has APPROX_COUNT_DISTINCT only from SQL Server 2019",
        exp.ArgMax: _NO_AGGREGATE,
        exp.ArgMin: _NO_AGGREGATE,
        exp.AnyValue: _NO_AGGREGATE,
        exp.First: _NO_AGGREGATE,
        exp.Last: _NO_AGGREGATE,
        exp.Corr: _NO_AGGREGATE,
        exp.CovarSamp: _NO_AGGREGATE,
        exp.CovarPop: _NO_AGGREGATE,
        exp.Kurtosis: _NO_AGGREGATE,
        exp.Skewness: _NO_AGGREGATE,
        exp.TimeToUnix: "has no EPOCH (sqlglot prints TIME_TO_UNIX, which does not exist)",
        exp.RegexpLike: "has regular expressions only from SQL Server 2025",
        exp.ILike: "has no ILIKE",
    },
}
# DuckDB functions sqlglot does not model (kept by name), where a dialect has none of that name and meaning.
_MISSING_BY_NAME: dict[str, dict[str, str]] = {
    "postgres": {"product": _NO_AGGREGATE},
    "snowflake": {"product": _NO_AGGREGATE},
    "bigquery": {"product": _NO_AGGREGATE, "date_part": "has no DATE_PART", "datepart": "has no DATE_PART"},
    "spark": {"product": "has no such aggregate (Spark 4.0 SQL)"},
    "tsql": {"product": _NO_AGGREGATE, "date_part": "has no DATE_PART", "datepart": "has no DATE_PART"},
}
# The parts of a date EXTRACT numbers alike in DuckDB, BigQuery and T-SQL (their weeks and days of the week differ).
_SHARED_DATE_PARTS = frozenset({"YEAR", "QUARTER", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"})
# The DuckDB spelling of functions whose sqlglot name is another.
_DUCKDB_NAMES: dict[type[exp.Expr], str] = {
    exp.PercentileCont: "quantile_cont",
    exp.PercentileDisc: "quantile_disc",
    exp.ApproxDistinct: "approx_count_distinct",
    exp.LogicalAnd: "bool_and",
    exp.LogicalOr: "bool_or",
    exp.TimeToUnix: "epoch",
    exp.RegexpLike: "regexp_matches",
    exp.TryCast: "try_cast",
    exp.ILike: "ILIKE",
    exp.Extract: "extract",
    exp.DateDiff: "date_diff",
}


def _duckdb_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if type(node) in _DUCKDB_NAMES:
        return _DUCKDB_NAMES[type(node)]
    return type(node).sql_name().lower() if isinstance(node, exp.Func) else node.key


def untranslatable(tree: exp.Expr, dialect: str) -> list[str]:
    """Why ``tree`` (DuckDB, as compiled) cannot be written in ``dialect`` with the same meaning: one reason per
    function or construct, in the order met; empty when it can."""
    if dialect == "duckdb":
        return []
    name = {"postgres": "PostgreSQL", "snowflake": "Snowflake", "bigquery": "BigQuery", "spark": "Spark"}
    label = name.get(dialect, "T-SQL")
    reasons: dict[str, None] = {}
    for node in tree.walk():
        why = _MISSING[dialect].get(type(node))
        if isinstance(node, exp.Anonymous):
            why = _MISSING_BY_NAME[dialect].get(node.name.lower())
        elif isinstance(node, exp.Extract) and dialect in ("bigquery", "tsql"):
            part = node.name.upper()
            why = None if part in _SHARED_DATE_PARTS else f"numbers the date part '{part.lower()}' otherwise, if at all"
        elif isinstance(node, exp.DateDiff) and node.args.get("unit") is not None:
            unit = _duckdb_diff_unit(node)
            why = None if unit in _DIFF_UNITS else f"has no date_diff unit '{unit.lower()}'"
        elif dialect == "snowflake" and isinstance(node, exp.RegexpLike) and node.args.get("flag") is not None:
            why = "has no unanchored REGEXP_LIKE with options (REGEXP_LIKE matches the whole string)"
        elif dialect == "spark" and isinstance(node, (exp.First, exp.Last)) and node.find(exp.Order):
            why = "has no FIRST/LAST with ORDER BY inside"
        if why:
            function = _duckdb_name(node)
            reasons[f"{function}{'' if function.isupper() else '()'}: {label} {why}"] = None
    return list(reasons)


@_bounded
def render_sql(tree: exp.Expr, dialect: str, *, pretty: bool = True) -> str:
    """A compiled KPI query as SQL of ``dialect`` (T-SQL that runs on SQL Server 2008 and later)."""
    if dialect != "duckdb":
        tree = tree.transform(_log_base_ten).transform(_plain_aggregate).transform(_diff_unit_spelled_once)
    if dialect in ("tsql", "snowflake", "postgres"):
        tree = tree.transform(_weeks_in_days)
    if dialect == "tsql":
        tree = _tsql_portable(tree)
    elif dialect == "bigquery":
        tree = _bigquery_iso_weeks(tree).transform(_bigquery_date_diff)
    elif dialect == "spark":
        tree = _spark_portable(tree)
    elif dialect == "snowflake":
        tree = tree.transform(_snowflake_portable)
    elif dialect == "postgres":
        tree = tree.transform(_postgres_mode)
    return tree.sql(dialect=dialect, pretty=pretty, comments=False)

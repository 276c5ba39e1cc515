"""Row conditions built from a column, an operator and a value, as safe DuckDB SQL.

The wizard asks "which rows count as won?" with three pickers instead of free SQL:
``won_date`` *is set*, ``status`` *=* ``paid``. :func:`condition_sql` turns the three into a
condition: the column is quoted as an identifier and the value becomes a literal of the
column's type (a quoted string, a checked number, ``TRUE``/``FALSE``, ``DATE '…'``), so
nothing typed as a value can end the literal and add SQL of its own.
"""

from __future__ import annotations

import datetime as dt
import math
from enum import StrEnum

from kpi_model.errors import KpiWizardError
from kpi_model.library import quote_column

__all__ = [
    "ColumnKind",
    "ConditionError",
    "Operator",
    "column_kind",
    "column_label",
    "condition_sql",
]

MAX_VALUE_LENGTH = 200


class ConditionError(KpiWizardError):
    """A condition that cannot be built; the message names the problem and what to write instead."""


class Operator(StrEnum):
    """How a column is compared, as the wizard shows it."""

    EQUALS = "="
    NOT_EQUALS = "≠"
    IS_SET = "is set"
    IS_NOT_SET = "is not set"
    GREATER = ">"
    LESS = "<"

    @property
    def needs_value(self) -> bool:
        """Whether the operator compares with a value ("is set" does not)."""
        return self not in (Operator.IS_SET, Operator.IS_NOT_SET)


_SQL_OPERATOR = {Operator.EQUALS: "=", Operator.NOT_EQUALS: "<>", Operator.GREATER: ">", Operator.LESS: "<"}


class ColumnKind(StrEnum):
    """What a column holds, as far as comparing it goes; the value shows in pick-lists."""

    DATE = "date"
    TIMESTAMP = "timestamp"
    NUMBER = "number"
    BOOLEAN = "true/false"
    TEXT = "text"
    OTHER = "other"

    @property
    def is_temporal(self) -> bool:
        """Dates and timestamps: the columns a KPI can be tracked over."""
        return self in (ColumnKind.DATE, ColumnKind.TIMESTAMP)


_NUMBER_TYPES = frozenset(
    """TINYINT SMALLINT INTEGER BIGINT HUGEINT UTINYINT USMALLINT UINTEGER UBIGINT UHUGEINT
    FLOAT DOUBLE REAL DECIMAL NUMERIC INT BIGNUM""".split()
)


def column_kind(sql_type: str | None) -> ColumnKind:
    """The kind of a DuckDB column type (``DECIMAL(18,2)`` → number, ``TIMESTAMP WITH TIME ZONE`` → timestamp)."""
    name = (sql_type or "").strip().upper()
    base = name.split("(")[0].strip()
    if base == "DATE":
        return ColumnKind.DATE
    if base.startswith("TIMESTAMP"):
        return ColumnKind.TIMESTAMP
    if base in _NUMBER_TYPES:
        return ColumnKind.NUMBER
    if base in ("BOOLEAN", "BOOL"):
        return ColumnKind.BOOLEAN
    if base in ("VARCHAR", "TEXT", "STRING", "CHAR", "BPCHAR", "UUID") or base.startswith("ENUM"):
        return ColumnKind.TEXT
    return ColumnKind.OTHER


def column_label(name: str, sql_type: str | None) -> str:
    """A column as a pick-list shows it: ``order_date (date)``."""
    return f"{name} ({column_kind(sql_type).value})" if sql_type else name


_TRUE = frozenset({"true", "yes", "y", "1", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "f"})


def _literal(value: str, kind: ColumnKind, column: str) -> str:
    """``value`` as a SQL literal of the column's kind; ConditionError when it is not one."""
    if kind is ColumnKind.NUMBER:
        try:
            number = float(value)
        except ValueError:
            raise ConditionError(
                f"'{value}' is not a number, and column '{column}' holds numbers; write e.g. 100 or 2.5 "
                "(a point for decimals, no thousands separators)"
            ) from None
        if not math.isfinite(number):
            raise ConditionError(f"'{value}' is not a finite number; write e.g. 100 or 2.5")
        return (
            str(int(number)) if number.is_integer() and "." not in value and "e" not in value.lower() else repr(number)
        )
    if kind is ColumnKind.BOOLEAN:
        word = value.lower()
        if word in _TRUE | _FALSE:
            return "TRUE" if word in _TRUE else "FALSE"
        raise ConditionError(f"column '{column}' is true/false; compare it with true or false, not '{value}'")
    if kind.is_temporal:
        try:
            if kind is ColumnKind.DATE:
                return f"DATE '{dt.date.fromisoformat(value).isoformat()}'"
            return f"TIMESTAMP '{dt.datetime.fromisoformat(value).isoformat(sep=' ')}'"
        except ValueError:
            example = "2026-03-31" if kind is ColumnKind.DATE else "2026-03-31 17:00"
            raise ConditionError(
                f"'{value}' is not a {kind.value} for column '{column}'; write it as {example}"
            ) from None
    # Text (or a type not known here): a string literal; doubling the quote keeps the value inside it.
    return "'" + value.replace("'", "''") + "'"


def condition_sql(
    column: str, operator: Operator | str, value: str | None = None, column_type: str | None = None
) -> str:
    """A DuckDB row condition from a column, an operator and a value, safe to paste into SQL.

    ``column_type`` is the column's DuckDB type when known: the value is then checked and written
    as a literal of that type; without it the value is compared as text.

    >>> condition_sql("status", "=", "paid")
    "status = 'paid'"
    >>> condition_sql("won date", "is set")
    '"won date" IS NOT NULL'
    >>> condition_sql("amount", ">", "1000", "DECIMAL(18,2)")
    'amount > 1000'
    >>> condition_sql("name", "≠", "O'Brien'; DROP TABLE t; --")
    "name <> 'O''Brien''; DROP TABLE t; --'"
    """
    name = column.strip()
    if not name:
        raise ConditionError("pick the column the condition is about")
    try:
        op = Operator(operator)
    except ValueError:
        choices = ", ".join(o.value for o in Operator)
        raise ConditionError(f"'{operator}' is not an operator; use one of: {choices}") from None
    quoted = quote_column(name)
    if op is Operator.IS_SET:
        return f"{quoted} IS NOT NULL"
    if op is Operator.IS_NOT_SET:
        return f"{quoted} IS NULL"
    text = (value or "").strip()
    if not text:
        raise ConditionError(f"give the value that '{name}' is compared with ({op.value}), or use 'is set'")
    if len(text) > MAX_VALUE_LENGTH:
        raise ConditionError(f"the value is {len(text)} characters long; keep it under {MAX_VALUE_LENGTH}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise ConditionError("the value holds a line break or another control character; type it on one line")
    kind = column_kind(column_type)
    if kind is ColumnKind.BOOLEAN and op in (Operator.GREATER, Operator.LESS):
        raise ConditionError(f"column '{name}' is true/false: compare it with = or ≠, not {op.value}")
    return f"{quoted} {_SQL_OPERATOR[op]} {_literal(text, kind, name)}"

"""Conditions from (column, operator, value): the SQL written, values kept literal, problems named."""

from __future__ import annotations

import doctest

import duckdb
import pytest
import sqlglot
from hypothesis import given
from hypothesis import strategies as st
from sqlglot import exp

from kpi_model import conditions
from kpi_model.conditions import ColumnKind, ConditionError, Operator, column_kind, column_label, condition_sql
from kpi_model.errors import KpiWizardError


@pytest.mark.parametrize(
    ("column", "operator", "value", "column_type", "sql"),
    [
        ("status", "=", "paid", "VARCHAR", "status = 'paid'"),
        ("status", "≠", "cancelled", None, "status <> 'cancelled'"),
        ("won_date", "is set", None, "DATE", "won_date IS NOT NULL"),
        ("won_date", "is not set", "ignored", "DATE", "won_date IS NULL"),
        ("amount", ">", "1000", "DECIMAL(18,2)", "amount > 1000"),
        ("amount", "<", " 2.5 ", "DOUBLE", "amount < 2.5"),
        ("amount", ">", "1e3", "DOUBLE", "amount > 1000.0"),
        ("won", "=", "Yes", "BOOLEAN", "won = TRUE"),
        ("won", "≠", "false", "BOOLEAN", "won <> FALSE"),
        ("order_date", ">", "2026-03-31", "DATE", "order_date > DATE '2026-03-31'"),
        (
            "created_at",
            "<",
            "2026-03-31T17:00",
            "TIMESTAMP WITH TIME ZONE",
            "created_at < TIMESTAMP '2026-03-31 17:00:00'",
        ),
        ("Order Status", "=", "paid", "VARCHAR", "\"Order Status\" = 'paid'"),
        ("order", "=", "x", "VARCHAR", "\"order\" = 'x'"),  # a reserved word is quoted
        ("note", "=", "it's", "VARCHAR", "note = 'it''s'"),
        (" status ", Operator.EQUALS, "paid", "VARCHAR", "status = 'paid'"),
    ],
)
def test_condition_sql(column, operator, value, column_type, sql) -> None:
    assert condition_sql(column, operator, value, column_type) == sql


HOSTILE = [
    "x' OR 1=1 --",
    "'; DROP TABLE orders; --",
    "paid') OR (TRUE",
    "\\' OR 1=1",
    "$$ OR 1=1 $$",
    "/* comment */ 1",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_value_stays_one_literal(value: str) -> None:
    sql = condition_sql("status", "=", value, "VARCHAR")
    tree = sqlglot.parse_one(sql, read="duckdb")
    assert isinstance(tree, exp.EQ)
    assert isinstance(tree.expression, exp.Literal) and tree.expression.this == value
    con = duckdb.connect()
    con.execute("CREATE TABLE t (status VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [("paid",), (value,)])
    assert con.execute(f"SELECT count(*) FROM t WHERE {sql}").fetchone() == (1,)


_PRINTABLE = st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_characters="\x7f")


@given(st.text(alphabet=_PRINTABLE, min_size=1, max_size=40).map(str.strip).filter(bool))
def test_any_printable_value_finds_exactly_the_rows_holding_it(value: str) -> None:
    sql = condition_sql("status", "=", value)
    con = duckdb.connect()
    con.execute("CREATE TABLE t (status VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [(value,), (value + "x",), ("",)])
    assert con.execute(f"SELECT status FROM t WHERE {sql}").fetchall() == [(value,)]


def test_a_hostile_column_name_stays_one_identifier() -> None:
    sql = condition_sql('a" = 1 OR "b', "is set")
    tree = sqlglot.parse_one(sql, read="duckdb")
    assert isinstance(tree, exp.Not) and isinstance(tree.this, exp.Is)
    assert tree.this.this.name == 'a" = 1 OR "b'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", "=", "x"), "pick the column"),
        (("status", "like", "x"), "'like' is not an operator; use one of: =, ≠, is set, is not set, >, <"),
        (("status", "=", "  "), "give the value that 'status' is compared with (=), or use 'is set'"),
        (("amount", ">", "1,000", "DOUBLE"), "'1,000' is not a number, and column 'amount' holds numbers"),
        (("amount", ">", "nan", "DOUBLE"), "not a finite number"),
        (("won", "=", "maybe", "BOOLEAN"), "compare it with true or false, not 'maybe'"),
        (("won", ">", "true", "BOOLEAN"), "compare it with = or ≠, not >"),
        (("order_date", ">", "31.03.2026", "DATE"), "write it as 2026-03-31"),
        (("status", "=", "paid\nOR 1=1"), "line break"),
        (("status", "=", "x" * 201), "keep it under 200"),
    ],
)
def test_problems_are_named_with_the_fix(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(ConditionError) as info:
        condition_sql(*args)
    assert message in str(info.value)
    assert isinstance(info.value, KpiWizardError)


@pytest.mark.parametrize(
    ("sql_type", "kind"),
    [
        ("DATE", ColumnKind.DATE),
        ("TIMESTAMP", ColumnKind.TIMESTAMP),
        ("TIMESTAMP WITH TIME ZONE", ColumnKind.TIMESTAMP),
        ("timestamp_ns", ColumnKind.TIMESTAMP),
        ("DECIMAL(18,3)", ColumnKind.NUMBER),
        ("BIGINT", ColumnKind.NUMBER),
        ("BOOLEAN", ColumnKind.BOOLEAN),
        ("VARCHAR", ColumnKind.TEXT),
        ("STRUCT(a INTEGER)", ColumnKind.OTHER),
        (None, ColumnKind.OTHER),
    ],
)
def test_column_kind(sql_type: str | None, kind: ColumnKind) -> None:
    assert column_kind(sql_type) is kind


def test_column_label_and_temporal_kinds() -> None:
    assert column_label("order_date", "DATE") == "order_date (date)"
    assert column_label("won", "BOOLEAN") == "won (true/false)"
    assert column_label("amount", "DECIMAL(18,2)") == "amount (number)"
    assert column_label("x", None) == "x"
    assert [k for k in ColumnKind if k.is_temporal] == [ColumnKind.DATE, ColumnKind.TIMESTAMP]
    assert [o for o in Operator if not o.needs_value] == [Operator.IS_SET, Operator.IS_NOT_SET]


def test_every_type_duckdb_reports_for_a_sample_table_has_the_right_kind() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t (d DATE, ts TIMESTAMP, tz TIMESTAMPTZ, i INTEGER, h HUGEINT, f FLOAT, n DECIMAL(10,2), "
        "b BOOLEAN, s VARCHAR, u UUID)"
    )
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns").fetchall())
    kinds = {name: column_kind(sql_type).value for name, sql_type in types.items()}
    assert kinds == dict(
        d="date",
        ts="timestamp",
        tz="timestamp",
        i="number",
        h="number",
        f="number",
        n="number",
        b="true/false",
        s="text",
        u="text",
    )


def test_examples_in_the_module_hold() -> None:
    failed, attempted = doctest.testmod(conditions)
    assert attempted and not failed

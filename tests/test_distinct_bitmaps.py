"""count(DISTINCT) of integer columns as bitmaps: the same numbers as the hash table, and only where it pays."""

from __future__ import annotations

import datetime as dt
import random

import duckdb
import pytest

from kpi_model.engine import Engine, bitmap_fits, estimated_periods
from kpi_model.formula import (
    Compiler,
    SeriesRequest,
    bitmap_distinct_counts,
    check_aggregate,
    compile_sql,
    distinct_count_columns,
)
from kpi_model.models import Kpi, Source, Workspace

FORMULAS = {
    "customers": "count(DISTINCT customer_id)",
    "repeaters": "count(DISTINCT customer_id) FILTER (WHERE kind = 'repeat')",
    "nobody": "count(DISTINCT customer_id) FILTER (WHERE kind = 'never')",
    "per_customer": "sum(amount) / count(DISTINCT customer_id)",
    "mixed": "count(DISTINCT customer_id) - count(DISTINCT store_id) + count(DISTINCT label)",
    "wide": "count(DISTINCT big_id)",
}


def _workspace() -> Workspace:
    return Workspace(
        name="Bitmaps",
        sources=[Source(name="orders", path="orders.csv"), Source(name="orders_view", sql="SELECT * FROM orders")],
        kpis=[
            *(
                Kpi(id=kpi_id, name=kpi_id, source="orders", expression=formula, time_column="day")
                for kpi_id, formula in FORMULAS.items()
            ),
            Kpi(
                id="via_view",
                name="via view",
                source="orders_view",
                expression=FORMULAS["customers"],
                time_column="day",
            ),
        ],
    )


@pytest.fixture(scope="module")
def connection():
    rng = random.Random(7)
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE orders (day DATE, customer_id INTEGER, store_id SMALLINT, big_id BIGINT, "
        "label VARCHAR, kind VARCHAR, amount DOUBLE)"
    )
    rows = []
    for _ in range(20_000):
        customer = rng.choice([None, *range(-50, 3000)])
        rows.append(
            (
                dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(400)),
                customer,
                rng.randrange(1, 40),
                rng.randrange(10**15),
                f"L{rng.randrange(30)}",
                rng.choice(["new", "repeat"]),
                rng.uniform(1, 100),
            )
        )
    connection.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    connection.execute("CREATE VIEW orders_view AS SELECT * FROM orders")
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def engine(connection):
    with Engine(connection.cursor(), timeout_s=20) as locked:
        yield locked


def _hash_counted(connection, kpi_id: str, request: SeriesRequest) -> dict:
    """The KPI as compiled for export, no bitmaps: DuckDB's own count(DISTINCT)."""
    sql = Compiler(_workspace(), portable=True).select(kpi_id, request).sql(dialect="duckdb")
    rows = connection.execute(sql).fetchall()
    names = [d[0] for d in connection.description]
    records = [dict(zip(names, row, strict=True)) for row in rows]
    return {(r["period"], r.get("dimension")): r["value"] for r in records}


@pytest.mark.parametrize("kpi_id", ["customers", "repeaters", "nobody", "per_customer", "mixed"])
@pytest.mark.parametrize(
    "request_",
    [
        SeriesRequest("month"),
        SeriesRequest("day"),
        SeriesRequest("week", by="kind"),
        SeriesRequest("quarter", by="label"),
    ],
    ids=["month", "day", "week-by-kind", "quarter-by-label"],
)
def test_bitmap_counts_equal_the_hash_table(engine, connection, kpi_id, request_):
    series = engine.compute(_workspace(), kpi_id, request_)
    assert "bitstring_agg" in series.sql.lower()
    expected = _hash_counted(connection, kpi_id, request_)
    assert len(series.points) == len(expected) > 0
    for point in series.points:
        assert point.value == pytest.approx(expected[(point.period, point.dimension)]), point


def test_an_empty_filtered_group_counts_zero_not_null(engine):
    series = engine.compute(_workspace(), "nobody")
    assert "bitstring_agg" in series.sql.lower()
    assert {p.value for p in series.points} == {0.0}


def test_only_integer_columns_of_tables_with_a_narrow_range_get_bitmaps(engine):
    mixed = engine.compute(_workspace(), "mixed").sql.lower()
    # customer_id and store_id are narrow integers; label is text and keeps its count(DISTINCT).
    assert mixed.count("bitstring_agg") == 2
    assert "count(distinct label)" in mixed
    # big_id spans 10^15 values: bitmaps would be larger than the data.
    assert "bitstring_agg" not in engine.compute(_workspace(), "wide").sql.lower()
    # A view's range would cost a full run of the view.
    assert "bitstring_agg" not in engine.compute(_workspace(), "via_view").sql.lower()


def test_a_stale_range_falls_back_to_the_hash_table(connection, engine):
    with Engine(connection.cursor(), timeout_s=20, locked=True) as locked:
        request = SeriesRequest("month")
        locked._distinct.sized[("orders", "customer_id", "day", "month", None)] = (0, 10)  # narrower than the data
        series = locked.compute(_workspace(), "customers", request)
        assert "bitstring_agg" not in series.sql.lower()
        expected = _hash_counted(connection, "customers", request)
        assert {p.period: p.value for p in series.points} == {
            period: float(value) for (period, _), value in expected.items()
        }


def test_exports_and_the_shown_sql_never_use_bitmaps(engine):
    columns = engine.columns()
    for dialect in ("duckdb", "postgres", "tsql"):
        assert "bitstring" not in compile_sql(_workspace(), "customers", columns=columns, dialect=dialect).lower()
    portable = Compiler(_workspace(), columns, portable=True, distinct_ranges={"orders": {"customer_id": (1, 9)}})
    assert "bitstring" not in portable.select("customers").sql(dialect="duckdb").lower()


def test_rewrite_keeps_filters_and_other_aggregates():
    tree = check_aggregate("count(DISTINCT a) FILTER (WHERE b > 1) / count(DISTINCT c) + count(DISTINCT a, c)").tree
    assert distinct_count_columns(tree) == {"a", "c"}
    sql = bitmap_distinct_counts(tree, {"a": (-5, 9)}).sql(dialect="duckdb")
    assert "COALESCE(BIT_COUNT(BITSTRING_AGG(a, -5, 9) FILTER(WHERE b > 1)), 0)" in sql
    assert "COUNT(DISTINCT c)" in sql
    assert sql.count("BITSTRING_AGG") == 1  # not the two-column count


def test_bitmap_fits_weighs_bitmap_size_against_rows_and_memory():
    assert bitmap_fits(rows=10_000_000, low=1, high=500_000, groups=24, threads=2)
    assert not bitmap_fits(rows=10_000_000, low=1, high=50_000_000, groups=24, threads=2)  # 150 MB of bitmaps
    assert not bitmap_fits(rows=100, low=1, high=10_000, groups=100, threads=2)  # tiny table, wide range
    assert not bitmap_fits(rows=10**12, low=1, high=2**30, groups=10, threads=2)  # past the memory budget


def test_estimated_periods_is_an_upper_bound():
    first, last = dt.date(2024, 1, 1), dt.date(2025, 12, 31)
    assert estimated_periods(first, last, "month") >= 24
    assert estimated_periods(first, last, "day") >= 731
    assert estimated_periods(dt.datetime(2024, 1, 1, 9), dt.datetime(2024, 3, 1, 18), "week") >= 9
    assert estimated_periods("2024-01-01", "2024-02-01", "month") is None

"""The bundled sample company: deterministic data, a workspace that computes, real relationships.

See sample_data/README.md for what the data and the deliberately flawed workspace contain.
"""

from __future__ import annotations

import csv
import hashlib
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from kpi_model.models import Category, Direction, Kind
from kpi_model.validation import reference_problems
from kpi_model.workspace_file import load

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
DATA = SAMPLE / "data"
WORKSPACE = SAMPLE / "workspace.yaml"


def documented_columns() -> dict[str, list[str]]:
    """Column names per table, read from the tables in sample_data/README.md."""
    columns: dict[str, list[str]] = {}
    table = None
    for line in (SAMPLE / "README.md").read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^### `(\w+)\.csv`", line)
        if heading:
            table = heading.group(1)
            columns[table] = []
        elif line.startswith("#"):
            table = None
        elif table and (cell := re.match(r"^\| ((?:`\w+`(?:, )?)+) \|", line)):
            columns[table] += re.findall(r"`(\w+)`", cell.group(1))
    return columns


COLUMNS = documented_columns()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def correlation(xs: list[float], ys: list[float]) -> float:
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=False))
    return cov / (sum((x - mx) ** 2 for x in xs) * sum((y - my) ** 2 for y in ys)) ** 0.5


@pytest.fixture(scope="module")
def workspace():
    return load(WORKSPACE)


@pytest.fixture(scope="module")
def db(workspace):
    con = duckdb.connect()
    for source in workspace.sources:
        path = (WORKSPACE.parent / source.path).as_posix()
        con.execute(f"CREATE TABLE {source.name} AS SELECT * FROM read_csv_auto('{path}')")
    yield con
    con.close()


def monthly(con, sql: str) -> dict:
    """``{month: value}`` from a query returning (month, value) rows."""
    return dict(con.execute(sql).fetchall())


# ------------------------------------------------------------------ the generator


def test_generator_reproduces_the_committed_csvs_byte_for_byte(tmp_path):
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(SAMPLE / "generate.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    elapsed = time.perf_counter() - started
    assert elapsed < 15, f"generator took {elapsed:.1f} s; keep it under 15 s"
    written = sorted(p.name for p in tmp_path.glob("*.csv"))
    assert written == sorted(f"{name}.csv" for name in COLUMNS)
    for name in written:
        assert sha256(tmp_path / name) == sha256(DATA / name), f"{name} differs: rerun sample_data/generate.py"
    for name in COLUMNS:
        assert name in result.stdout  # prints the row count per table


def test_tables_have_the_documented_columns_and_a_sensible_size():
    total_rows, total_bytes = 0, 0
    for name, columns in COLUMNS.items():
        path = DATA / f"{name}.csv"
        with open(path, newline="", encoding="utf-8") as stream:
            reader = csv.reader(stream)
            assert next(reader) == columns, name
            rows = sum(1 for _ in reader)
        assert rows > 500, f"{name} has only {rows} rows"
        total_rows += rows
        total_bytes += path.stat().st_size
    assert 50_000 <= total_rows <= 500_000
    assert total_bytes < 25 * 1024 * 1024


# ------------------------------------------------------------------ the workspace


def test_workspace_loads_validates_and_its_sources_exist(workspace):
    assert workspace.name == "Northwind Outfitters 2027 scorecard"
    assert reference_problems(workspace) == []
    assert [u.id for u in workspace.units] == ["sales", "operations", "service"]
    assert len(workspace.goals) == 5
    for source in workspace.sources:
        assert source.path and source.system, source.name
        assert not Path(source.path).is_absolute() and ".." not in Path(source.path).parts
        assert (WORKSPACE.parent / source.path).is_file(), source.path
    assert {s.name for s in workspace.sources} == set(COLUMNS)


def test_every_sourced_kpi_computes_monthly_in_duckdb(workspace, db):
    sourced = [k for k in workspace.kpis if k.source and k.expression]
    assert len(sourced) >= 15
    for kpi in sourced:
        where = f" WHERE {kpi.filter}" if kpi.filter else ""
        sql = (
            f"SELECT date_trunc('month', {kpi.time_column}) AS period, {kpi.expression} AS value "
            f"FROM {kpi.source}{where} GROUP BY ALL ORDER BY 1"
        )
        rows = db.execute(sql).fetchall()
        values = [value for _, value in rows if value is not None]
        assert len(values) >= 20, f"{kpi.id}: only {len(values)} monthly values"


def test_baselines_match_the_data_for_their_period(workspace, db):
    for kpi in workspace.kpis:
        if not (kpi.source and kpi.expression):
            continue
        period = kpi.baseline.period
        if "-Q" in period:
            year, quarter = period.split("-Q")
            grain, start = "quarter", f"{year}-{(int(quarter) - 1) * 3 + 1:02d}-01"
        else:
            grain, start = "month", f"{period}-01"
        condition = f"date_trunc('{grain}', {kpi.time_column}) = DATE '{start}'"
        where = f"({kpi.filter}) AND {condition}" if kpi.filter else condition
        (value,) = db.execute(f"SELECT {kpi.expression} FROM {kpi.source} WHERE {where}").fetchone()
        assert value == pytest.approx(kpi.baseline.value, rel=0.01), kpi.id


def test_driver_tree_multiplies_out_to_web_revenue(workspace, db):
    tree = workspace.kpi("web_revenue")
    assert tree.source is None and tree.expression == "sessions * conversion_rate * average_order_value"
    parts = {
        k.id: k.baseline.value for k in workspace.kpis if k.id in ("sessions", "conversion_rate", "average_order_value")
    }
    assert all(workspace.kpi(kpi_id).source for kpi_id in parts)
    product = parts["sessions"] * parts["conversion_rate"] * parts["average_order_value"]
    assert product == pytest.approx(tree.baseline.value, rel=0.01)
    (actual,) = db.execute(
        "SELECT sum(amount) FROM orders WHERE channel = 'web' AND date_trunc('month', order_date) = DATE '2026-10-01'"
    ).fetchone()
    assert product == pytest.approx(actual, rel=0.02)


def test_leading_lagging_pair_is_declared_both_ways(workspace):
    mqls, won = workspace.kpi("mqls"), workspace.kpi("deals_won")
    assert (mqls.kind, won.kind) == (Kind.LEADING, Kind.LAGGING)
    assert mqls.pairs_with == "deals_won" and won.pairs_with == "mqls"
    assert mqls.goal == won.goal


# ------------------------------------------------------------------ relationships in the data


def test_mqls_lead_won_deals_by_two_months(db):
    mqls = monthly(
        db,
        "SELECT date_trunc('month', mql_date), count(*) FROM leads WHERE is_mql = 1 GROUP BY ALL",
    )
    won = monthly(
        db,
        "SELECT date_trunc('month', won_date), count(*) FROM leads WHERE stage = 'won' GROUP BY ALL",
    )
    months = sorted(mqls)

    def lagged(lag: int) -> float:
        pairs = [
            (mqls[m], won[months[i + lag]]) for i, m in enumerate(months[: len(months) - lag]) if months[i + lag] in won
        ]
        assert len(pairs) >= 18
        return correlation([p[0] for p in pairs], [p[1] for p in pairs])

    assert lagged(2) > 0.5
    assert lagged(2) > lagged(0) + 0.2


def test_cheaper_supplier_raises_savings_then_defects_then_defect_returns(db):
    def mean_over(table_sql: str, first: str, last: str) -> float:
        values = monthly(db, table_sql)
        return statistics.fmean(v for m, v in values.items() if first <= m.strftime("%Y-%m") <= last)

    savings = (
        "SELECT date_trunc('month', po_date), sum((list_price - paid_price) * quantity) / sum(list_price * quantity) "
        "FROM purchases GROUP BY ALL"
    )
    defects = "SELECT date_trunc('month', po_date), sum(defects_found) / sum(quantity) FROM purchases GROUP BY ALL"
    returns = (
        "SELECT date_trunc('month', order_date), count(*) FILTER (WHERE return_reason = 'defect') / count(*) "
        "FROM orders WHERE status <> 'cancelled' AND order_date < DATE '2026-10-01' GROUP BY ALL"
    )
    for sql, factor in ((savings, 1.5), (defects, 1.8), (returns, 1.8)):
        before, after = mean_over(sql, "2024-11", "2025-06"), mean_over(sql, "2025-10", "2026-09")
        assert after > factor * before, sql
    # Defect returns follow the previous month's incoming defect rate more closely than the same month's.
    rate, ret = monthly(db, defects), monthly(db, returns)
    months = sorted(m for m in ret if m in rate)
    same = correlation([rate[m] for m in months[1:]], [ret[m] for m in months[1:]])
    next_month = correlation([rate[a] for a in months[:-1]], [ret[b] for b in months[1:]])
    assert next_month > 0.6 and next_month > same


def test_slow_first_response_months_have_lower_csat(db):
    rows = db.execute(
        "SELECT avg(date_diff('minute', opened_at, first_response_at)), avg(csat) FROM support_tickets "
        "GROUP BY date_trunc('month', opened_at)"
    ).fetchall()
    assert correlation([r[0] for r in rows], [r[1] for r in rows]) < -0.6


def test_seasonality_and_growth(db):
    revenue = monthly(
        db,
        "SELECT strftime(order_date, '%Y-%m'), sum(amount) FROM orders WHERE status = 'completed' GROUP BY ALL",
    )
    assert revenue["2025-12"] > 1.3 * statistics.fmean(revenue[f"2025-{m:02d}"] for m in range(1, 10))
    first_year = sum(v for m, v in revenue.items() if "2024-11" <= m <= "2025-10")
    second_year = sum(v for m, v in revenue.items() if "2025-11" <= m <= "2026-10")
    assert second_year > 1.1 * first_year


def test_data_quality_warts_are_present(db):
    def one(sql: str):
        return db.execute(sql).fetchone()[0]

    missing_customer = one("SELECT avg((customer_id IS NULL)::INT) FROM orders")
    assert 0.005 < missing_customer < 0.02
    assert 3 <= one("SELECT count(*) - count(DISTINCT order_id) FROM orders") <= 12
    assert 5 <= one("SELECT count(*) FROM orders WHERE amount < 0") <= 20
    assert one("SELECT count(*) FROM orders WHERE channel = 'Web'") > 0
    assert one("SELECT count(*) FROM orders WHERE year(order_date) = 2027") == 3
    assert one("SELECT count(*) FROM support_tickets WHERE first_response_at IS NULL") > 10
    assert 0.2 < one("SELECT avg((csat IS NOT NULL)::INT) FROM support_tickets") < 0.8


# ------------------------------------------------------------------ the deliberate flaws (README)


def test_documented_flaws_are_present(workspace):
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    for slug in (
        "vanity-metric",
        "missing-owner",
        "financial-only",
        "unpaired-leading-lagging",
        "cross-unit-conflict",
        "goal-kpi-count",
        "target-not-time-bound",
        "missing-source",
    ):
        assert f"`{slug}`" in readme, slug

    # vanity-metric: a raw volume count with no denominator
    page_views = workspace.kpi("page_views")
    assert page_views.expression == "sum(pages_viewed)" and page_views.template == "page_views"
    # missing-owner
    assert workspace.kpi("defect_ticket_share").owner is None
    assert [k.id for k in workspace.kpis if not k.owner] == ["defect_ticket_share"]
    # financial-only
    financial = workspace.kpis_of("profitable-growth")
    assert len(financial) >= 3 and all(k.category == Category.FINANCIAL for k in financial)
    assert [
        g.id for g in workspace.goals if all(k.category == Category.FINANCIAL for k in workspace.kpis_of(g.id))
    ] == ["profitable-growth"]
    # unpaired-leading-lagging: a goal with lagging KPIs and no leading one
    sourcing = workspace.kpis_of("cheaper-sourcing")
    assert sourcing and all(k.kind == Kind.LAGGING and k.pairs_with is None for k in sourcing)
    # cross-unit-conflict
    savings, defect_returns = (
        workspace.kpi("purchase_price_savings"),
        workspace.kpi("defect_return_rate"),
    )
    assert workspace.unit_of_kpi(savings).id == "operations" and workspace.unit_of_kpi(defect_returns).id == "service"
    assert savings.template == "purchase_price_savings" and defect_returns.template == "return_rate"
    assert (savings.direction.value, defect_returns.direction.value) == ("up", "down")
    # goal-kpi-count
    counts = {g.id: len(workspace.kpis_of(g.id)) for g in workspace.goals}
    assert counts.pop("grow-web-revenue") == 7
    assert all(3 <= n <= 5 for n in counts.values()), counts
    # target-not-time-bound
    assert [k.id for k in workspace.kpis if k.target and k.target.due is None] == ["asset_utilisation"]
    # missing-source: neither a source nor a formula
    assert [k.id for k in workspace.kpis if not k.source and not k.expression] == ["cart_abandonment_rate"]


def test_everything_else_is_complete(workspace):
    for kpi in workspace.kpis:
        assert kpi.goal and kpi.category and kpi.kind and kpi.direction and kpi.cadence, kpi.id
        assert kpi.baseline and kpi.baseline.period and kpi.target and kpi.thresholds and kpi.action, kpi.id
        if kpi.pairs_with:
            partner = workspace.kpi(kpi.pairs_with)
            assert partner.goal == kpi.goal and partner.kind != kpi.kind, kpi.id
    for goal in workspace.goals:
        assert goal.due and goal.due.year == 2027 and goal.owner, goal.id
    for kpi in workspace.kpis:
        if kpi.target.due:
            assert kpi.target.due.year == 2027, kpi.id
        # targets improve on the baseline; amber and red lie on the bad side of the target
        sign = 1 if kpi.direction == Direction.UP else -1
        target, warning, critical = (
            sign * v for v in (kpi.target.value, kpi.thresholds.warning, kpi.thresholds.critical)
        )
        assert target > sign * kpi.baseline.value, kpi.id
        assert critical < warning < target, kpi.id

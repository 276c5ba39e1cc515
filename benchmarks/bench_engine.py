#!/usr/bin/env python
"""Reproducible benchmarks for the KPI compute engine (timing goals live here, never in unit tests).

One run:

1. generates a deterministic orders table of N rows with DuckDB's ``range()`` and ``hash()``
   and writes it to a CSV in a temporary folder (not timed);
2. ingests the CSV with ``kpi_model.sources.ingest_file`` into a DuckDB database file, in a
   child process, and records the wall time and the child's peak RSS;
3. times four KPI shapes three ways — ``Engine.compute`` (``Engine.forget()`` before every
   repetition: no cached result, column list or statistics), the same KPI as hand-written SQL
   on an unlocked DuckDB connection, and pandas on a DataFrame already in memory — and checks
   that all three return the same numbers;
4. times a Streamlit rerun of a preview page whose KPI result is cached (``AppTest``);
5. prints a Markdown report and, with ``--write-doc``, rewrites ``docs/benchmarks.md``.

    .venv/bin/python benchmarks/bench_engine.py                 # 10M rows, 3 repetitions
    .venv/bin/python benchmarks/bench_engine.py --quick         # 1M rows
    .venv/bin/python benchmarks/bench_engine.py --write-doc     # and rewrite docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import io
import json
import logging
import math
import os
import platform
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # kpi_model without an installed package
DOC = REPO / "docs" / "benchmarks.md"
APP_SCRIPT = Path(__file__).resolve().parent / "preview_rerun_app.py"

DEFAULT_ROWS = 10_000_000
QUICK_ROWS = 1_000_000
RERUNS = 10

# Goals (PASS/FAIL in the report).
INGEST_RSS_GOAL_MIB = 1536  # 1.5 GiB
ENGINE_OVER_HAND_GOAL = 1.25  # engine / hand-written SQL, at most
PANDAS_OVER_ENGINE_GOAL = 5.0  # pandas / engine, at least
RERUN_GOAL_MS = 200.0
REL_TOLERANCE = 1e-9

NOTES_START = "<!-- notes:start -->"
NOTES_END = "<!-- notes:end -->"

# ---------------------------------------------------------------------------- data


# Deterministic for a given DuckDB version: every column is a function of the row number via hash().
# Rows first..first+rows-1; bench_files.py starts elsewhere for another seed.
ORDERS_SELECT = """
    SELECT
        i + 1 AS order_id,
        DATE '2024-01-01' + CAST(hash(i, 1) % 731 AS INTEGER) AS order_date,
        CAST(hash(i, 2) % 500000 AS BIGINT) + 1 AS customer_id,
        ['North', 'South', 'East', 'West', 'Central'][CAST(hash(i, 3) % 5 AS INTEGER) + 1] AS region,
        ['web', 'store', 'app', 'phone'][CAST(hash(i, 4) % 4 AS INTEGER) + 1] AS channel,
        CAST(hash(i, 5) % 50000 + 501 AS DOUBLE) / 100 AS amount,
        round(amount * (0.35 + CAST(hash(i, 6) % 4000 AS DOUBLE) / 10000), 2) AS cost,
        CASE WHEN hash(i, 7) % 100 < 5 THEN 'returned'
             WHEN hash(i, 7) % 100 < 7 THEN 'cancelled'
             ELSE 'completed' END AS status
    FROM range({first}, {first} + {rows}) AS t(i)
"""
GENERATE_SQL = "COPY (" + ORDERS_SELECT + ") TO '{path}' (HEADER, DELIMITER ',')"


def generate_csv(path: Path, rows: int) -> float:
    """Write the orders CSV; return the seconds it took (reported, not a benchmark)."""
    import duckdb

    start = time.perf_counter()
    with duckdb.connect() as con:
        con.execute(GENERATE_SQL.format(first=0, rows=int(rows), path=str(path).replace("'", "''")))
    return time.perf_counter() - start


# ---------------------------------------------------------------------------- ingestion


def _ingest_child(csv_path: str, db_path: str) -> None:
    """Child process: load the CSV as the app does (ingest_file, then CHECKPOINT and close)."""
    started = time.perf_counter()
    import duckdb

    from kpi_model.sources import ingest_file

    imported = time.perf_counter()
    rss_after_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    con = duckdb.connect(db_path)
    t0 = time.perf_counter()
    profile = ingest_file(con, Path(csv_path), "orders")
    t1 = time.perf_counter()
    con.execute("CHECKPOINT")
    con.close()
    t2 = time.perf_counter()
    print(
        json.dumps(
            {
                "import_s": imported - started,
                "ingest_s": t1 - t0,
                "checkpoint_s": t2 - t1,
                "rows": profile.rows,
                "columns": {c.name: c.type for c in profile.columns},
                "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "rss_after_import_kib": rss_after_import,
            }
        )
    )


@dataclass
class IngestRun:
    wall_s: float  # whole child process, interpreter start to exit
    ingest_s: float  # ingest_file() alone
    checkpoint_s: float  # CHECKPOINT + close, as DataStore does after an upload
    peak_rss_mib: float  # the child's peak RSS (its own getrusage)
    children_rss_mib: float  # getrusage(RUSAGE_CHILDREN) in the parent, as a cross-check
    rss_after_import_mib: float
    rows: int
    columns: dict[str, str]
    db_mib: float


def ingest(csv_path: Path, db_path: Path) -> IngestRun:
    """Ingest in a fresh child process and measure it."""
    db_path.unlink(missing_ok=True)
    Path(str(db_path) + ".wal").unlink(missing_ok=True)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--ingest-child", str(csv_path), str(db_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"ingestion failed (exit {done.returncode}):\n{done.stderr}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return IngestRun(
        wall_s=wall,
        ingest_s=report["ingest_s"],
        checkpoint_s=report["checkpoint_s"],
        peak_rss_mib=report["maxrss_kib"] / 1024,
        children_rss_mib=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        rss_after_import_mib=report["rss_after_import_kib"] / 1024,
        rows=report["rows"],
        columns=report["columns"],
        db_mib=db_path.stat().st_size / 1024**2,
    )


# ---------------------------------------------------------------------------- KPI shapes

Key = tuple[dt.date, str | None]
Values = dict[Key, float]


def _month(df: pd.DataFrame) -> Any:
    # Period is the idiomatic month key, and the quickest to group by (datetime64[M] arrays were 2-3x slower).
    return df["order_date"].dt.to_period("M")


def pandas_revenue(df: pd.DataFrame) -> Any:
    return df["amount"].groupby(_month(df)).sum()


def pandas_margin(df: pd.DataFrame) -> Any:
    sums = df[["amount", "cost"]].groupby([_month(df), df["region"]]).sum()
    return (sums["amount"] - sums["cost"]) / sums["amount"]


def pandas_customers(df: pd.DataFrame) -> Any:
    return df["customer_id"].groupby(_month(df)).nunique()


def pandas_return_rate(df: pd.DataFrame) -> Any:
    return df["status"].eq("returned").groupby([_month(df), df["channel"]]).mean()


@dataclass(frozen=True)
class Shape:
    key: str
    kpi_id: str
    title: str
    expression: str
    by: str | None
    hand_sql: str
    pandas: Callable[[pd.DataFrame], Any]


SHAPES = (
    Shape(
        "a",
        "revenue",
        "sum(amount) by month",
        "sum(amount)",
        None,
        "SELECT date_trunc('month', order_date) AS period, sum(amount) AS value\n"
        "FROM orders GROUP BY period ORDER BY period",
        pandas_revenue,
    ),
    Shape(
        "b",
        "margin",
        "(sum(amount) - sum(cost)) / sum(amount) by month × region",
        "(sum(amount) - sum(cost)) / sum(amount)",
        "region",
        "SELECT date_trunc('month', order_date) AS period, region,\n"
        "       (sum(amount) - sum(cost)) / sum(amount) AS value\n"
        "FROM orders GROUP BY period, region ORDER BY period, region",
        pandas_margin,
    ),
    Shape(
        "c",
        "customers",
        "count(DISTINCT customer_id) by month",
        "count(DISTINCT customer_id)",
        None,
        "SELECT date_trunc('month', order_date) AS period, count(DISTINCT customer_id) AS value\n"
        "FROM orders GROUP BY period ORDER BY period",
        pandas_customers,
    ),
    Shape(
        "d",
        "return_rate",
        "count(*) FILTER (WHERE status = 'returned') / count(*) by month × channel",
        "count(*) FILTER (WHERE status = 'returned') / count(*)",
        "channel",
        "SELECT date_trunc('month', order_date) AS period, channel,\n"
        "       count(*) FILTER (WHERE status = 'returned') / count(*) AS value\n"
        "FROM orders GROUP BY period, channel ORDER BY period, channel",
        pandas_return_rate,
    ),
)
IMPLEMENTATIONS = ("engine", "engine_sql", "hand", "pandas")
IMPLEMENTATION_NAMES = {
    "engine": "Engine.compute",
    "engine_sql": "engine's SQL, raw",
    "hand": "hand-written SQL",
    "pandas": "pandas",
}


def workspace() -> Any:
    from kpi_model.models import Kpi, Source, Workspace

    return Workspace(
        name="Benchmark",
        sources=[Source(name="orders", path="orders.csv")],
        kpis=[
            Kpi(id=s.kpi_id, name=s.title, source="orders", expression=s.expression, time_column="order_date")
            for s in SHAPES
        ],
    )


def _as_date(value: Any) -> dt.date:
    if hasattr(value, "to_timestamp"):  # pandas Period
        value = value.to_timestamp()
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    import numpy as np

    if isinstance(value, np.datetime64):
        return value.astype("datetime64[D]").astype(dt.date)
    raise TypeError(f"not a date: {value!r}")


def values_of_series(series: Any) -> Values:
    return {(p.period, p.dimension): p.value for p in series.points}


def values_of_rows(rows: list[tuple[Any, ...]], by: str | None) -> Values:
    if by:
        return {(_as_date(r[0]), str(r[1])): r[2] for r in rows}
    return {(_as_date(r[0]), None): r[1] for r in rows}


def values_of_pandas(result: Any, by: str | None) -> Values:
    out: Values = {}
    for index, value in result.items():
        if by:
            out[(_as_date(index[0]), str(index[1]))] = float(value)
        else:
            out[(_as_date(index), None)] = float(value)
    return out


def check_same(shape: Shape, name: str, got: Values, expected: Values) -> None:
    """Raise if two results differ in their keys or in any value beyond REL_TOLERANCE."""
    if set(got) != set(expected):
        missing = sorted(set(expected) - set(got), key=str)[:3]
        extra = sorted(set(got) - set(expected), key=str)[:3]
        raise AssertionError(f"({shape.key}) {name}: other periods/dimensions; missing {missing}, extra {extra}")
    for key, value in expected.items():
        other = got[key]
        if value is None or other is None or not math.isclose(other, value, rel_tol=REL_TOLERANCE, abs_tol=1e-15):
            raise AssertionError(f"({shape.key}) {name}: {key} is {other!r}, the engine says {value!r}")


# ---------------------------------------------------------------------------- compute timings


@dataclass
class ShapeResult:
    shape: Shape
    times: dict[str, list[float]] = field(default_factory=lambda: {i: [] for i in IMPLEMENTATIONS})
    points: int = 0
    engine_sql: str = ""
    compile_ms: float = 0.0

    def median_ms(self, impl: str) -> float:
        return statistics.median(self.times[impl]) * 1000

    def spread_ms(self, impl: str) -> tuple[float, float]:
        return min(self.times[impl]) * 1000, max(self.times[impl]) * 1000

    @property
    def engine_over_hand(self) -> float:
        return self.median_ms("engine") / self.median_ms("hand")

    @property
    def pandas_over_engine(self) -> float:
        return self.median_ms("pandas") / self.median_ms("engine")

    def best_ratio(self, slow: str, fast: str) -> float:
        """The ratio of the fastest runs: less sensitive to other processes than the medians (not a goal)."""
        return min(self.times[slow]) / min(self.times[fast])


def load_dataframe(csv_path: Path) -> tuple[pd.DataFrame, float]:
    """The DataFrame an analyst would have: read_csv (pyarrow engine) and a parsed date column. Not timed."""
    import pandas as pd

    start = time.perf_counter()
    df = pd.read_csv(csv_path, engine="pyarrow")
    df["order_date"] = pd.to_datetime(df["order_date"], format="%Y-%m-%d")
    return df, time.perf_counter() - start


def time_compute(
    db_path: Path, hand_db_path: Path, df: pd.DataFrame, repeat: int, quiet: Quiet
) -> tuple[list[ShapeResult], list[float]]:
    """Interleave the implementations (order rotated every repetition), after one untimed warm-up round.

    Returns the results and, per timed round, the cores other processes kept busy meanwhile.
    Each round starts when the machine is quiet (see :class:`Quiet`).

    The engine works on ``db_path`` (read-only, locked, as in the app); hand-written SQL and the
    engine's raw SQL run on an unlocked read-only connection to ``hand_db_path``, a byte copy of the
    same database (DuckDB shares one instance per file within a process, and locking is per instance).
    """
    import duckdb

    from kpi_model.engine import Engine
    from kpi_model.formula import SeriesRequest

    ws = workspace()
    results = [ShapeResult(shape) for shape in SHAPES]
    round_load: list[float] = []
    hand = duckdb.connect(str(hand_db_path), read_only=True)
    engine = Engine.open_database(db_path, timeout_s=600)
    try:
        for rep in range(-1, repeat):  # -1: warm-up round (loads the buffer pools, fills the column cache)
            if rep >= 0:
                quiet.wait()
            others = OtherLoad()
            for result in results:
                shape = result.shape
                request = SeriesRequest(grain="month", by=shape.by)
                turn = (rep + 1) % len(IMPLEMENTATIONS)
                order = IMPLEMENTATIONS[turn:] + IMPLEMENTATIONS[:turn]
                got: dict[str, Values] = {}
                for impl in order:
                    gc.collect()
                    if impl == "engine":
                        _forget(engine)  # force real computation: the cache is keyed on the definition
                        start = time.perf_counter()
                        series = engine.compute(ws, shape.kpi_id, request)
                        elapsed = time.perf_counter() - start
                        got[impl] = values_of_series(series)
                        result.points = len(series.points)
                        result.engine_sql = series.sql
                    elif impl == "engine_sql":
                        sql = result.engine_sql or engine.compiler(ws).select(shape.kpi_id, request).sql("duckdb")
                        start = time.perf_counter()
                        cursor = hand.execute(sql)
                        names = [d[0] for d in cursor.description or []]
                        rows = cursor.fetchall()
                        elapsed = time.perf_counter() - start
                        index = {n: i for i, n in enumerate(names)}
                        picked = [
                            (r[index["period"]], *((r[index["dimension"]],) if shape.by else ()), r[index["value"]])
                            for r in rows
                        ]
                        got[impl] = values_of_rows(picked, shape.by)
                    elif impl == "hand":
                        start = time.perf_counter()
                        rows = hand.execute(shape.hand_sql).fetchall()
                        elapsed = time.perf_counter() - start
                        got[impl] = values_of_rows(rows, shape.by)
                    else:
                        start = time.perf_counter()
                        frame = shape.pandas(df)
                        elapsed = time.perf_counter() - start
                        got[impl] = values_of_pandas(frame, shape.by)
                    if rep >= 0:
                        result.times[impl].append(elapsed)
                for impl in IMPLEMENTATIONS:
                    if impl != "engine":
                        check_same(shape, IMPLEMENTATION_NAMES[impl], got[impl], got["engine"])
            if rep >= 0:
                round_load.append(others.cores())
        for result in results:  # the part of Engine.compute that is sqlglot, not DuckDB
            compiler = engine.compiler(ws)
            request = SeriesRequest(grain="month", by=result.shape.by)
            laps = []
            for _ in range(20):
                start = time.perf_counter()
                compiler.select(result.shape.kpi_id, request).sql(dialect="duckdb")
                laps.append(time.perf_counter() - start)
            result.compile_ms = statistics.median(laps) * 1000
    finally:
        engine.close()
        hand.close()
    return results, round_load


def _forget(engine: Any) -> None:
    if not hasattr(engine, "forget"):
        raise SystemExit("Engine has no forget() any more: update bench_engine.py so it times real computation")
    engine.forget()


def profile_engine(db_path: Path, hand_db_path: Path) -> str:
    """EXPLAIN ANALYZE of the engine's and the hand-written SQL, and a cProfile of Engine.compute."""
    import duckdb

    from kpi_model.engine import Engine
    from kpi_model.formula import SeriesRequest

    out = io.StringIO()
    ws = workspace()
    engine = Engine.open_database(db_path, timeout_s=600)
    hand = duckdb.connect(str(hand_db_path), read_only=True)
    try:
        for shape in SHAPES:
            request = SeriesRequest(grain="month", by=shape.by)
            engine.compute(ws, shape.kpi_id, request)
            _forget(engine)
            profiler = cProfile.Profile()
            profiler.enable()
            series = engine.compute(ws, shape.kpi_id, request)
            profiler.disable()
            out.write(f"\n## ({shape.key}) {shape.title}: cProfile of Engine.compute\n\n")
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(12)
            for label, sql in (("engine SQL", series.sql), ("hand-written SQL", shape.hand_sql)):
                plan = hand.execute(f"EXPLAIN ANALYZE {sql}").fetchall()
                out.write(f"\n## ({shape.key}) EXPLAIN ANALYZE, {label}\n\n{plan[0][1]}\n")
    finally:
        hand.close()
        engine.close()
    return out.getvalue()


# ---------------------------------------------------------------------------- app rerun


@dataclass
class RerunResult:
    script: str
    first_ms: float = 0.0
    reruns_ms: list[float] = field(default_factory=list)
    error: str | None = None  # why it could not be timed

    @property
    def median_ms(self) -> float:
        return statistics.median(self.reruns_ms) if self.reruns_ms else math.nan


PREVIEW_WORKSPACE = """\
name: Benchmark orders
units: [{id: sales, name: Sales, owner: Head of Sales}]
goals: [{id: grow-margin, unit: sales, statement: Grow the gross margin, due: 2026-12-31}]
sources: [{name: orders, path: orders.csv, system: ERP}]
kpis:
  - id: margin
    name: Gross margin
    goal: grow-margin
    owner: Head of Sales
    category: financial
    kind: lagging
    source: orders
    expression: "(sum(amount) - sum(cost)) / sum(amount)"
    time_column: order_date
    unit_of_measure: ratio
    direction: up
    cadence: monthly
    baseline: {value: 0.44, period: 2024-12}
    target: {value: 0.47, due: 2026-06-30}
    thresholds: {warning: 0.45, critical: 0.43}
    action: "Review discounts when below warning"
"""


def _quiet_streamlit() -> None:
    for name in ("streamlit.runtime.caching.cache_data_api", "streamlit.runtime.scriptrunner_utils.script_run_context"):
        logging.getLogger(name).setLevel(logging.ERROR)  # "no runtime" warnings from clearing caches outside one


def _clear_streamlit_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()  # drops engines; their connections close with them
    gc.collect()


def _time_reruns(at: Any, reruns: int, check: Callable[[Any], None]) -> list[float]:
    laps = []
    for _ in range(reruns):
        gc.collect()
        start = time.perf_counter()
        at.run()
        laps.append((time.perf_counter() - start) * 1000)
        check(at)
    return laps


def _problem(at: Any) -> str | None:
    if at.exception:
        return f"exception: {at.exception[0].value}"
    if at.error:
        return f"error shown: {at.error[0].value}"
    if not at.get("vega_lite_chart"):
        return "no chart drawn"
    return None


def _check(at: Any) -> None:
    problem = _problem(at)
    if problem:
        raise RuntimeError(problem)


def time_rerun_standin(db_path: Path, reruns: int) -> RerunResult:
    """AppTest on benchmarks/preview_rerun_app.py: the first run computes, later runs hit the caches."""
    from streamlit.testing.v1 import AppTest

    _quiet_streamlit()
    _clear_streamlit_caches()
    os.environ["KPIW_BENCH_DB"] = str(db_path)
    result = RerunResult(str(APP_SCRIPT.relative_to(REPO)))
    try:
        at = AppTest.from_file(str(APP_SCRIPT), default_timeout=600)
        start = time.perf_counter()
        at.run()
        result.first_ms = (time.perf_counter() - start) * 1000
        _check(at)
        result.reruns_ms = _time_reruns(at, reruns, _check)
    except Exception as error:  # reported in the results, not fatal
        result.error = f"{type(error).__name__}: {error}"
    finally:
        _clear_streamlit_caches()
    return result


def time_rerun_preview_page(workdir: Path, csv_path: Path, reruns: int) -> RerunResult:
    """AppTest on app.py, switched to pages/preview.py, on a workspace whose orders source is the benchmark CSV.

    The first visit loads the CSV into the app's store and computes the margin KPI; the
    breakdown is then set to region (computed once more); the timed reruns hit the engine's cache.
    """
    from streamlit.testing.v1 import AppTest

    page = REPO / "pages" / "preview.py"
    result = RerunResult("app.py → pages/preview.py")
    if not page.is_file():
        result.error = "pages/preview.py does not exist"
        return result
    _quiet_streamlit()
    _clear_streamlit_caches()
    folder = workdir / "preview-workspace"
    folder.mkdir(exist_ok=True)
    (folder / "workspace.yaml").write_text(PREVIEW_WORKSPACE, encoding="utf-8")
    link = folder / "orders.csv"
    link.unlink(missing_ok=True)
    os.link(csv_path, link)  # a hard link: the page reads sources from inside the workspace folder
    saved = {k: os.environ.get(k) for k in ("KPI_WIZARD_HOME", "KPI_WIZARD_OPEN")}
    os.environ["KPI_WIZARD_HOME"] = str(workdir / "store")
    os.environ["KPI_WIZARD_OPEN"] = str(folder / "workspace.yaml")
    try:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=600)
        start = time.perf_counter()
        at.run()
        at.switch_page("pages/preview.py").run()
        _check(at)
        by = at.selectbox(key="preview_by_margin")
        by.set_value("region").run()
        result.first_ms = (time.perf_counter() - start) * 1000
        _check(at)
        if at.selectbox(key="preview_by_margin").value != "region":
            raise RuntimeError("the breakdown did not stay on region")
        result.reruns_ms = _time_reruns(at, reruns, _check)
    except Exception as error:  # the page is in development: report, fall back to the stand-in
        result.error = f"{type(error).__name__}: {error}"
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _clear_streamlit_caches()
    return result


# ---------------------------------------------------------------------------- environment


class OtherLoad:
    """How many cores other processes kept busy meanwhile: /proc/stat busy time minus this process's CPU time."""

    def __init__(self) -> None:
        self._start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float]:
        with open("/proc/stat", encoding="utf-8") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
        busy = sum(fields[:3]) + sum(fields[5:8])  # user nice system (idle iowait) irq softirq steal
        own = os.times()
        return (
            busy / os.sysconf("SC_CLK_TCK"),
            own.user + own.system + own.children_user + own.children_system,
            time.monotonic(),
        )

    def cores(self) -> float:
        busy, own, now = self._sample()
        busy0, own0, then = self._start
        return max(0.0, ((busy - busy0) - (own - own0)) / max(now - then, 1e-9))


@dataclass
class Quiet:
    """Before a timed round, wait (up to ``max_wait_s`` in all) until other processes keep < ``threshold`` cores busy.

    Nothing is discarded: rounds are only scheduled into quiet moments, and the load during each
    round is reported. ``max_wait_s=0`` switches waiting off.
    """

    max_wait_s: float
    threshold: float = 0.25
    window_s: float = 2.0
    waited_s: float = 0.0

    def wait(self) -> None:
        while self.waited_s < self.max_wait_s:
            probe = OtherLoad()
            time.sleep(self.window_s)
            if probe.cores() < self.threshold:
                return
            self.waited_s += self.window_s


def machine() -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with open("/proc/meminfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                break
    return {"cpu": cpu, "cores": str(os.cpu_count()), "ram": ram, "os": platform.platform()}


def versions() -> dict[str, str]:
    import altair
    import duckdb
    import numpy
    import pandas
    import pyarrow
    import sqlglot
    import streamlit

    return {
        "Python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pandas": pandas.__version__,
        "numpy": numpy.__version__,
        "pyarrow": pyarrow.__version__,
        "sqlglot": sqlglot.__version__,
        "streamlit": streamlit.__version__,
        "altair": altair.__version__,
    }


def git_revision() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} (with uncommitted changes)" if dirty else head


# ---------------------------------------------------------------------------- report


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "**FAIL**"


def _ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


@dataclass
class Report:
    rows: int
    repeat: int
    started: str
    machine: dict[str, str]
    versions: dict[str, str]
    revision: str
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    others_cores: float  # cores kept busy by other processes during the KPI timings (mean of the rounds)
    round_load: list[float]  # the same, per timed round
    waited_s: float
    wait_quiet_s: float
    csv_mib: float
    generate_s: float
    dataframe_s: float
    dataframe_mib: float
    ingests: list[IngestRun]
    shapes: list[ShapeResult]
    pages: list[RerunResult]  # the real Preview page first, then the stand-in
    command: str

    @property
    def rerun(self) -> RerunResult:
        """The rerun the goal is judged on: the real Preview page if it could be timed, else the stand-in."""
        timed = [r for r in self.pages if r.reruns_ms]
        return timed[0] if timed else self.pages[-1]

    @property
    def ingest_peak_mib(self) -> float:
        return max(r.peak_rss_mib for r in self.ingests)

    def goals(self) -> list[tuple[str, str, str, bool]]:
        """(goal, measured, target, ok) for every goal."""
        rows = [("CSV ingest peak RSS", f"{self.ingest_peak_mib:,.0f} MiB", "< 1.5 GiB", self.ingest_peak_mib < 1536)]
        for r in self.shapes:
            ratio = r.engine_over_hand
            rows.append(
                (f"({r.shape.key}) engine / hand-written SQL", f"{ratio:.2f}", "≤ 1.25", ratio <= ENGINE_OVER_HAND_GOAL)
            )
        for r in self.shapes:
            ratio = r.pandas_over_engine
            rows.append((f"({r.shape.key}) pandas / engine", f"{ratio:.1f}", "≥ 5", ratio >= PANDAS_OVER_ENGINE_GOAL))
        rerun = self.rerun.median_ms
        rows.append(
            (
                f"App rerun with a cached result ({self.rerun.script})",
                f"{rerun:.0f} ms",
                "< 200 ms",
                rerun < RERUN_GOAL_MS,
            )
        )
        return rows

    def _robustness(self, goal: str) -> str:
        """For a ratio goal: a warning when the ratio of the fastest runs gives the other verdict."""
        for r in self.shapes:
            if goal == f"({r.shape.key}) engine / hand-written SQL":
                median_ok, best = r.engine_over_hand <= ENGINE_OVER_HAND_GOAL, r.best_ratio("engine", "hand")
                best_ok, shown = best <= ENGINE_OVER_HAND_GOAL, f"{best:.2f}"
            elif goal == f"({r.shape.key}) pandas / engine":
                median_ok, best = r.pandas_over_engine >= PANDAS_OVER_ENGINE_GOAL, r.best_ratio("pandas", "engine")
                best_ok, shown = best >= PANDAS_OVER_ENGINE_GOAL, f"{best:.1f}"
            else:
                continue
            if median_ok != best_ok:
                return f" — not robust: the fastest runs give {shown}"
        return ""

    @property
    def rerun_count(self) -> int:
        return max(len(r.reruns_ms) for r in self.pages)

    def _rerun_row(self, r: RerunResult) -> str:
        if not r.reruns_ms:
            return f"| {r.script} | – | – | – | not timed: {r.error} |"
        judged = " (the goal)" if r is self.rerun else ""
        return (
            f"| {r.script} | {r.first_ms:,.0f} ms | {r.median_ms:.0f} ms "
            f"| {min(r.reruns_ms):.0f}–{max(r.reruns_ms):.0f} ms | {_verdict(r.median_ms < RERUN_GOAL_MS)}{judged} |"
        )

    def markdown(self, notes: str | None = None) -> str:
        ingest_wall = statistics.median(r.wall_s for r in self.ingests)
        ingest_only = statistics.median(r.ingest_s for r in self.ingests)
        checkpoint = statistics.median(r.checkpoint_s for r in self.ingests)
        first = self.ingests[0]
        passed = sum(ok for *_, ok in self.goals())
        lines = [
            "# Benchmarks",
            "",
            "<!-- Generated by benchmarks/bench_engine.py --write-doc; rerun it rather than editing the figures. -->",
            "",
            f"KPI compute engine on **{self.rows:,} orders rows**, measured {self.started} "
            f"(revision {self.revision}). {passed} of {len(self.goals())} goals met. "
            "Ratios compare implementations measured in the same run.",
            "",
            "## Goals",
            "",
            "| Goal | Measured | Target | Result |",
            "|---|---:|---:|---|",
            *[
                f"| {goal} | {measured} | {target} | {_verdict(ok)}{self._robustness(goal)} |"
                for goal, measured, target, ok in self.goals()
            ],
            "",
            "## KPI computation",
            "",
            f"Median of {self.repeat} repetitions, in milliseconds (min–max in brackets). `Engine.forget()` runs "
            "before every `Engine.compute`, so each one reads the column lists and statistics it needs, compiles "
            "and runs its query. Ratios are of the "
            "medians (the goals); *best* is the ratio of the fastest runs, a check on interference from other "
            f"processes, which kept {self.others_cores:.2f} of the {self.machine['cores']} cores busy on average "
            "during these timings.",
            "",
            "| KPI shape | points | Engine.compute | engine's SQL, raw | hand-written SQL | pandas "
            "| engine / hand | pandas / engine |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in self.shapes:
            cells = []
            for impl in IMPLEMENTATIONS:
                low, high = r.spread_ms(impl)
                cells.append(f"{_ms(r.median_ms(impl))} ({_ms(low)}–{_ms(high)})")
            lines.append(
                f"| ({r.shape.key}) `{r.shape.expression}`{' by ' + r.shape.by if r.shape.by else ''} "
                f"| {r.points} | {' | '.join(cells)} "
                f"| {r.engine_over_hand:.2f} {_verdict(r.engine_over_hand <= ENGINE_OVER_HAND_GOAL)} "
                f"(best {r.best_ratio('engine', 'hand'):.2f}) "
                f"| {r.pandas_over_engine:.1f} {_verdict(r.pandas_over_engine >= PANDAS_OVER_ENGINE_GOAL)} "
                f"(best {r.best_ratio('pandas', 'engine'):.1f}) |"
            )
        lines += [
            "",
            "- *Engine.compute*: the locked, read-only engine the app uses (`Engine.open_database`: 2 threads, "
            "2 GB memory limit), from formula to `Series`: sqlglot check and compile "
            + ", ".join(f"({r.shape.key}) {r.compile_ms:.1f} ms" for r in self.shapes)
            + ", then the query and the `Point`s.",
            "- *engine's SQL, raw*: the SQL the engine generated, run on the unlocked connection "
            "(separates the cost of the generated SQL from the engine's Python side).",
            "- *hand-written SQL*: the KPI as one would write it by hand, on an unlocked read-only connection to a "
            "byte copy of the same database file, rows fetched into Python.",
            "- *pandas*: on a DataFrame already in memory (`read_csv(engine='pyarrow')` + `to_datetime`, "
            f"{self.dataframe_s:.1f} s and {self.dataframe_mib:,.0f} MiB, not timed), month key via "
            "`dt.to_period('M')`, `groupby` + `sum` / `nunique` / `mean`.",
            "- All three return the same numbers: every repetition is checked key by key, within a relative "
            f"{REL_TOLERANCE:g}, or the run fails.",
            "- Implementations are interleaved per KPI and their order rotates every repetition; one untimed "
            "warm-up round precedes the timed ones.",
            "",
            "## CSV ingestion",
            "",
            f"`sources.ingest_file` into a DuckDB database file, in a fresh child process, then `CHECKPOINT` and "
            f"close as `DataStore` does after an upload; {len(self.ingests)} run(s), median times, highest peak.",
            "",
            "| CSV | ingest_file | + CHECKPOINT, close | child process wall | peak RSS | of which Python + imports "
            "| database file |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            f"| {self.csv_mib:,.0f} MiB | {ingest_only:.2f} s | {checkpoint:.2f} s | {ingest_wall:.2f} s "
            f"| {self.ingest_peak_mib:,.0f} MiB {_verdict(self.ingest_peak_mib < INGEST_RSS_GOAL_MIB)} "
            f"| {first.rss_after_import_mib:,.0f} MiB | {first.db_mib:,.0f} MiB |",
            "",
            "Peak RSS is the child's own `getrusage(RUSAGE_SELF).ru_maxrss` "
            f"(`RUSAGE_CHILDREN` in the parent agrees: {max(r.children_rss_mib for r in self.ingests):,.0f} MiB). "
            "Types found: " + ", ".join(f"{k} {v}" for k, v in first.columns.items()) + ".",
            "",
            "## App rerun with a cached result",
            "",
            f"`streamlit.testing.v1.AppTest`, median of {self.rerun_count} reruns after the first; the goal is judged "
            "on the real Preview page when it could be timed, else on the stand-in.",
            "",
            "- *app.py → pages/preview.py*: the app itself, on a workspace (`KPI_WIZARD_OPEN`) whose `orders` source "
            "is the benchmark CSV; the first visit loads it into the app's store (the `DataStore` path) and computes "
            "the gross margin, then the breakdown is set to region; later reruns redraw the page (formula check, "
            "headline, Altair chart with bands, table, download, SQL panel) with the engine's cached series.",
            "- *benchmarks/preview_rerun_app.py*: a stand-in page on the benchmark database: engine via "
            "`st.cache_resource`, the series via `st.cache_data`, an Altair line chart (margin by month × region, "
            "120 points), a metric and the table of points.",
            "",
            "| Page | First run (load + compute) | Later runs, median | min–max | Result |",
            "|---|---:|---:|---:|---|",
            *[self._rerun_row(r) for r in self.pages],
            "",
            "## Machine and data",
            "",
            f"- CPU: {self.machine['cpu']}, {self.machine['cores']} cores; RAM {self.machine['ram']}; "
            f"{self.machine['os']}",
            "- " + ", ".join(f"{k} {v}" for k, v in self.versions.items()),
            f"- Load average (1/5/15 min) before: {'/'.join(f'{x:.2f}' for x in self.load_before)}, after: "
            f"{'/'.join(f'{x:.2f}' for x in self.load_after)}; other processes used {self.others_cores:.2f} cores "
            "on average during the KPI timings (`/proc/stat` busy time minus this process's CPU time); "
            "per timed round: "
            + ", ".join(f"{x:.2f}" for x in self.round_load)
            + ". "
            + (
                f"Each timed round waited for other processes to go quiet (< 0.25 cores; {self.waited_s:.0f} s "
                f"waited in all, at most {self.wait_quiet_s:.0f} s). "
                if self.wait_quiet_s
                else ""
            )
            + "On a shared machine single figures are noisy: hence medians, interleaving, min–max and the *best* "
            "ratios.",
            f"- Data: {self.rows:,} rows generated by DuckDB `range()` + `hash()` in {self.generate_s:.1f} s "
            "(deterministic for a DuckDB version): order_id, order_date (731 days from 2024-01-01), customer_id "
            "(500,000 possible), region (5), channel (4), amount (5.01–505.00), cost (35–75 % of amount), "
            "status (5 % returned, 2 % cancelled).",
            "",
            "## Reproduce",
            "",
            "```bash",
            "make install",
            ".venv/bin/python benchmarks/bench_engine.py               # 10M rows, --repeat 3; prints this report",
            ".venv/bin/python benchmarks/bench_engine.py --quick       # 1M rows",
            ".venv/bin/python benchmarks/bench_engine.py --write-doc   # and rewrites docs/benchmarks.md",
            ".venv/bin/python benchmarks/bench_engine.py --repeat 7 --wait-quiet 150 --write-doc   # shared machine",
            ".venv/bin/python benchmarks/bench_engine.py --profile     # plus EXPLAIN ANALYZE and cProfile",
            "```",
            "",
            f"This file was written by: `{self.command}`. See [benchmarks/README.md](../benchmarks/README.md).",
            "",
            "<details><summary>The SQL that was timed</summary>",
            "",
        ]
        for r in self.shapes:
            lines += [
                f"({r.shape.key}) engine:",
                "",
                "```sql",
                r.engine_sql,
                "```",
                "",
                f"({r.shape.key}) hand-written:",
                "",
                "```sql",
                r.shape.hand_sql,
                "```",
                "",
            ]
        lines += ["</details>", ""]
        if notes:
            lines += ["## Notes", "", NOTES_START, notes.strip("\n"), NOTES_END, ""]
        return "\n".join(lines)


def kept_audit_section(path: Path) -> str:
    """The sections other scripts write (bench_audit.py, bench_files.py, bench_app_storage.py), kept across rewrites."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    kept = ""
    for name in ("audit", "files", "storage"):
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        if start in text and end in text:
            kept += "\n" + start + text.split(start, 1)[1].split(end, 1)[0] + end + "\n"
    return kept


def kept_notes(path: Path) -> str | None:
    """The hand-written notes section of an existing doc (kept across rewrites)."""
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    if NOTES_START in text and NOTES_END in text:
        return text.split(NOTES_START, 1)[1].split(NOTES_END, 1)[0]
    return None


# ---------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, help=f"rows of the orders table (default {DEFAULT_ROWS:,})")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS:,} rows")
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions per measurement (median)")
    parser.add_argument("--ingest-repeat", type=int, default=3, help="ingestion runs (median time, highest peak)")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="on a shared machine: wait up to this long in all for other processes to go quiet before timed rounds",
    )
    parser.add_argument("--reruns", type=int, default=RERUNS, help="timed app reruns (median)")
    parser.add_argument("--write-doc", action="store_true", help="rewrite docs/benchmarks.md")
    parser.add_argument("--json", type=Path, help="also write the raw figures to this JSON file")
    parser.add_argument("--profile", action="store_true", help="print EXPLAIN ANALYZE and a cProfile per KPI")
    parser.add_argument("--workdir", type=Path, help="keep the CSV and databases here (default: a temp folder)")
    parser.add_argument("--ingest-child", nargs=2, metavar=("CSV", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ingest_child:
        _ingest_child(*args.ingest_child)
        return 0
    rows = args.rows or (QUICK_ROWS if args.quick else DEFAULT_ROWS)
    if min(args.repeat, args.ingest_repeat, args.reruns) < 1 or rows < 1000:
        parser.error("--repeat, --ingest-repeat and --reruns must be at least 1, --rows at least 1000")
    given = list(argv if argv is not None else sys.argv[1:])
    for local in ("--json", "--workdir"):  # paths on this machine: not part of how to reproduce
        while local in given and given.index(local) + 1 < len(given):
            del given[given.index(local) : given.index(local) + 2]
    command = " ".join(
        ["benchmarks/bench_engine.py", *[g for g in given if not g.startswith(("--json=", "--workdir="))]]
    )

    started = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load_before = os.getloadavg()
    holder = None if args.workdir else tempfile.TemporaryDirectory(prefix="kpiw-bench-")
    workdir = args.workdir or Path(holder.name)  # type: ignore[union-attr]
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        csv_path, db_path, hand_db_path = workdir / "orders.csv", workdir / "bench.duckdb", workdir / "hand.duckdb"

        def say(text: str) -> None:
            print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

        say(f"generating {rows:,} rows into {csv_path}")
        generate_s = generate_csv(csv_path, rows)
        csv_mib = csv_path.stat().st_size / 1024**2
        say(f"  {csv_mib:,.0f} MiB in {generate_s:.1f} s; ingesting ×{args.ingest_repeat} (child processes)")
        ingests = []
        quiet = Quiet(args.wait_quiet)
        for _ in range(args.ingest_repeat):
            quiet.wait()
            ingests.append(ingest(csv_path, db_path))
            say(f"  ingest_file {ingests[-1].ingest_s:.2f} s, peak RSS {ingests[-1].peak_rss_mib:,.0f} MiB")
        if ingests[-1].rows != rows:
            raise SystemExit(f"ingested {ingests[-1].rows} rows, expected {rows}")
        shutil.copyfile(db_path, hand_db_path)

        say("loading the pandas DataFrame (not timed)")
        df, dataframe_s = load_dataframe(csv_path)
        dataframe_mib = df.memory_usage(deep=True).sum() / 1024**2
        say(f"timing {len(SHAPES)} KPI shapes × {len(IMPLEMENTATIONS)} implementations × {args.repeat} (+1 warm-up)")
        shapes, round_load = time_compute(db_path, hand_db_path, df, args.repeat, quiet)
        others_cores = statistics.mean(round_load)
        del df
        gc.collect()
        for r in shapes:
            say(
                f"  ({r.shape.key}) engine {r.median_ms('engine'):.0f} ms, hand {r.median_ms('hand'):.0f} ms, "
                f"pandas {r.median_ms('pandas'):.0f} ms"
            )
        say(f"timing app reruns (AppTest, 1 + {args.reruns}): the Preview page, then the stand-in")
        reruns = [
            time_rerun_preview_page(workdir, csv_path, args.reruns),
            time_rerun_standin(db_path, args.reruns),
        ]
        for r in reruns:
            say(f"  {r.script}: " + (f"{r.median_ms:.0f} ms" if r.reruns_ms else f"not timed ({r.error})"))
        profile = profile_engine(db_path, hand_db_path) if args.profile else ""

        report = Report(
            rows=rows,
            repeat=args.repeat,
            started=started,
            machine=machine(),
            versions=versions(),
            revision=git_revision(),
            load_before=load_before,
            load_after=os.getloadavg(),
            others_cores=others_cores,
            round_load=round_load,
            waited_s=quiet.waited_s,
            wait_quiet_s=args.wait_quiet,
            csv_mib=csv_mib,
            generate_s=generate_s,
            dataframe_s=dataframe_s,
            dataframe_mib=dataframe_mib,
            ingests=ingests,
            shapes=shapes,
            pages=reruns,
            command=command,
        )
    finally:
        if holder is not None:
            holder.cleanup()

    notes = kept_notes(DOC)
    text = report.markdown(notes) + kept_audit_section(DOC)
    print(text)
    if profile:
        print("\n# Profiles\n" + profile)
    if args.write_doc:
        DOC.write_text(text, encoding="utf-8")
        print(f"wrote {DOC}", file=sys.stderr)
    if args.json:
        raw = {
            "rows": rows,
            "started": started,
            "machine": report.machine,
            "versions": report.versions,
            "load": [load_before, report.load_after],
            "others_cores_per_round": round_load,
            "waited_for_quiet_s": quiet.waited_s,
            "ingest": [vars(r) for r in ingests],
            "compute": {
                r.shape.kpi_id: {"times_s": r.times, "compile_ms": r.compile_ms, "sql": r.engine_sql} for r in shapes
            },
            "rerun_ms": {r.script: {"first": r.first_ms, "reruns": r.reruns_ms, "error": r.error} for r in reruns},
            "goals": [{"goal": g, "measured": m, "target": t, "ok": ok} for g, m, t, ok in report.goals()],
        }
        args.json.write_text(json.dumps(raw, indent=2, default=str), encoding="utf-8")
    return 0 if all(ok for *_, ok in report.goals()) else 1


if __name__ == "__main__":
    sys.exit(main())

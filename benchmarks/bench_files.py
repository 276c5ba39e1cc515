#!/usr/bin/env python
"""Files of any size: ``kpi-wizard compute`` over files read in place, as whole processes, beside baselines.

One run generates the data (deterministic for a DuckDB version and ``--seed``; in a temporary folder,
deleted after) and measures, side by side, each implementation as its own process from interpreter
start to exit: wall time (best of ``--repeat``) and peak RSS (``os.wait4``'s ``ru_maxrss`` of that child).

1. a 5M-row CSV, four monthly KPIs: ``kpi-wizard compute`` vs a polars lazy ``scan_csv`` script vs a
   hand-written DuckDB script (one GROUP BY with the four aggregates over ``read_csv``);
2. a 50M-row Parquet file, the same KPIs: ``kpi-wizard compute`` vs one plain DuckDB query over the file;
3. a Parquet file at least twice the engine's memory limit (``KPI_WIZARD_MEMORY_LIMIT=512MB``):
   ``kpi-wizard compute`` alone, its peak RSS against the limit.

    .venv/bin/python benchmarks/bench_files.py                 # the three cases, 3 repetitions
    .venv/bin/python benchmarks/bench_files.py --quick         # 10x smaller data, to try the script
    .venv/bin/python benchmarks/bench_files.py --write-doc     # and rewrite its section of docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import DOC, ORDERS_SELECT, OtherLoad, Quiet, git_revision, machine

KPI_WIZARD = Path(sys.executable).with_name("kpi-wizard")
FILES_START = "<!-- files:start -->"
FILES_END = "<!-- files:end -->"
SEED = 13

CSV_ROWS = 5_000_000
PARQUET_ROWS = 50_000_000
BIG_MEMORY_LIMIT_MIB = 512

# Goals, from issue 13.
CSV_OVER_POLARS = 1.3
CSV_OVER_DUCKDB = 1.0
PARQUET_TIME_OVER_DUCKDB = 1.05
PARQUET_RSS_OVER_DUCKDB = 1.2
BIG_RSS_OVER_LIMIT = 1.5
REL_TOLERANCE = 1e-9
SHARED_CORES = 0.1  # others' average use above which a run is called shared

KPIS = {
    "revenue": "sum(amount)",
    "margin": "(sum(amount) - sum(cost)) / sum(amount)",
    "customers": "count(DISTINCT customer_id)",
    "return_rate": "count(*) FILTER (WHERE status = 'returned') / count(*)",
}

WORKSPACE = """\
name: Files benchmark
units: [{{id: sales, name: Sales, owner: Head of Sales}}]
goals: [{{id: grow, unit: sales, statement: Grow profitable repeat revenue, due: 2026-12-31}}]
sources: [{{name: orders, path: {path}, system: ERP}}]
kpis:
{kpis}"""
KPI_ENTRY = """\
  - id: {id}
    name: {id}
    goal: grow
    owner: Head of Sales
    source: orders
    expression: "{expression}"
    time_column: order_date
    cadence: monthly
"""

# The baselines print what compute prints, as {kpi: {period: value}}.
POLARS_SCRIPT = """
import json, sys
import polars as pl
amount, cost = pl.col("amount"), pl.col("cost")
result = (
    pl.scan_csv(sys.argv[1], try_parse_dates=True)
    .group_by(pl.col("order_date").dt.truncate("1mo").alias("period"))
    .agg(
        revenue=amount.sum(),
        margin=(amount.sum() - cost.sum()) / amount.sum(),
        customers=pl.col("customer_id").n_unique(),
        return_rate=(pl.col("status") == "returned").sum() / pl.len(),
    )
    .sort("period")
    .collect()
)
kpis = ("revenue", "margin", "customers", "return_rate")
out = {k: {str(p): float(v) for p, v in zip(result["period"], result[k])} for k in kpis}
print(json.dumps(out))
"""
DUCKDB_SCRIPT = """
import json, sys
import duckdb
duckdb.execute("SET enable_progress_bar = false")  # it would print into the JSON on stdout
rows = duckdb.sql(f'''
    SELECT date_trunc('month', order_date) AS period, sum(amount) AS revenue,
           (sum(amount) - sum(cost)) / sum(amount) AS margin,
           count(DISTINCT customer_id) AS customers,
           count(*) FILTER (WHERE status = 'returned') / count(*) AS return_rate
    FROM {sys.argv[1]}(?) GROUP BY period ORDER BY period
''', params=[sys.argv[2]]).fetchall()
kpis = ("revenue", "margin", "customers", "return_rate")
out = {k: {str(r[0])[:10]: float(r[i + 1]) for r in rows} for i, k in enumerate(kpis)}
print(json.dumps(out))
"""


# ---------------------------------------------------------------------------- data


def generate(path: Path, rows: int, seed: int, fmt: str) -> float:
    """Write the orders data as CSV or Parquet; return the seconds it took (reported, not a benchmark)."""
    import duckdb

    options = "(HEADER, DELIMITER ',')" if fmt == "csv" else "(FORMAT parquet, COMPRESSION snappy)"
    select = ORDERS_SELECT.format(first=seed * 10**12, rows=int(rows))
    start = time.perf_counter()
    with duckdb.connect() as con:
        con.execute("SET threads = 2")
        con.execute("SET enable_progress_bar = false")
        con.execute(f"COPY ({select}) TO '{str(path).replace(chr(39), chr(39) * 2)}' {options}")
    return time.perf_counter() - start


def write_workspace(folder: Path, data: Path) -> Path:
    entries = "".join(KPI_ENTRY.format(id=kpi_id, expression=expr) for kpi_id, expr in KPIS.items())
    path = folder / f"{data.name}.workspace.yaml"
    path.write_text(WORKSPACE.format(path=data.name, kpis=entries), encoding="utf-8")
    return path


def compile_bytecode() -> None:
    """Compile kpi_model's bytecode, as `make install` and a wheel install do (and did for the baselines'
    libraries): where PYTHONDONTWRITEBYTECODE is set, an uncompiled package costs every run ~60 ms."""
    import kpi_model

    package = Path(kpi_model.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)


# ---------------------------------------------------------------------------- processes


@dataclass
class Run:
    wall_s: float
    cpu_s: float  # user + system time of the child: what load on the machine changes least
    peak_rss_mib: float
    other_cores: float  # cores other processes kept busy meanwhile
    values: dict[str, dict[str, float]]


@dataclass
class Implementation:
    label: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)

    @property
    def best_s(self) -> float:
        return min(r.wall_s for r in self.runs)

    @property
    def median_s(self) -> float:
        return statistics.median(r.wall_s for r in self.runs)

    @property
    def best_cpu_s(self) -> float:
        return min(r.cpu_s for r in self.runs)

    @property
    def peak_rss_mib(self) -> float:
        return max(r.peak_rss_mib for r in self.runs)


def run_child(impl: Implementation, workdir: Path) -> Run:
    """One whole process: wall time from spawn to exit, its peak RSS from ``wait4``, its printed values."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        load = OtherLoad()
        start = time.perf_counter()
        child = subprocess.Popen(impl.argv, stdout=out, stderr=err, cwd=workdir, env={**os.environ, **impl.env})
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        others = load.cores()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if child.returncode != 0:
        raise SystemExit(f"{impl.label} failed (exit {child.returncode}):\n{stderr[-3000:]}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, others, parse_values(stdout))


def parse_values(stdout: str) -> dict[str, dict[str, float]]:
    data = json.loads(stdout)
    if isinstance(data, dict):
        return data
    return {item["id"]: {p["period"]: p["value"] for p in item["series"]} for item in data}  # compute's JSON


def check_same(case: str, implementations: list[Implementation]) -> None:
    """Every run of every implementation gives the same numbers, or the run stops."""
    expected = implementations[0].runs[0].values
    for impl in implementations:
        for run in impl.runs:
            for kpi_id, series in expected.items():
                got = run.values.get(kpi_id, {})
                if set(got) != set(series) or any(
                    not math.isclose(got[p], v, rel_tol=REL_TOLERANCE) for p, v in series.items()
                ):
                    raise SystemExit(f"{case}: {impl.label} computes {kpi_id} differently:\n{got}\nvs\n{series}")


def measure(case: str, implementations: list[Implementation], repeat: int, workdir: Path, quiet: Quiet) -> None:
    """One untimed warm-up each (file cache), then ``repeat`` rounds with the order rotating."""
    for impl in implementations:
        run_child(impl, workdir)
    for round_no in range(repeat):
        quiet.wait()
        shift = round_no % len(implementations)
        for impl in implementations[shift:] + implementations[:shift]:
            impl.runs.append(run_child(impl, workdir))
            last = impl.runs[-1]
            print(
                f"  {impl.label}: {last.wall_s:.2f} s, {last.cpu_s:.2f} s CPU, {last.peak_rss_mib:.0f} MiB",
                file=sys.stderr,
            )
    check_same(case, implementations)


# ---------------------------------------------------------------------------- report


@dataclass
class Case:
    title: str
    data_mib: float
    implementations: list[Implementation]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]

    def other_cores(self) -> float:
        runs = [r for impl in self.implementations for r in impl.runs]
        return statistics.mean(r.other_cores for r in runs) if runs else 0.0

    def load_text(self) -> str:
        before = "/".join(f"{x:.2f}" for x in self.load_before)
        after = "/".join(f"{x:.2f}" for x in self.load_after)
        return f"load {before} → {after}; others kept {self.other_cores():.2f} cores busy"


def _load_note(busiest: float) -> str:
    if busiest <= SHARED_CORES:
        return f"- The machine was quiet: others kept at most {busiest:.2f} cores busy on average in any case."
    return (
        f"- **The machine was shared with other work during this run** (up to {busiest:.2f} cores busy, the load "
        "figures above): the ratios are of runs interleaved round by round, but rerun quietly "
        "(`--wait-quiet 300`) before relying on them."
    )


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "**FAIL**"


def _figures(impl: Implementation) -> str:
    return f"{impl.best_s:.2f} s, {impl.peak_rss_mib:,.0f} MiB"


def report(cases: list[Case], *, repeat: int, limit_mib: int, command: str, big_mib: float) -> tuple[str, int]:
    """The Markdown section for docs/benchmarks.md and the number of goals missed."""
    csv_case, parquet_case, big_case = cases
    compute, polars, duck = csv_case.implementations
    pq_compute, pq_duck = parquet_case.implementations
    (big,) = big_case.implementations
    over_polars, over_duck = compute.best_s / polars.best_s, compute.best_s / duck.best_s
    pq_time, pq_rss = pq_compute.best_s / pq_duck.best_s, pq_compute.peak_rss_mib / pq_duck.peak_rss_mib
    big_rss = big.peak_rss_mib / limit_mib
    verdicts = [
        over_polars <= CSV_OVER_POLARS,
        over_duck <= CSV_OVER_DUCKDB,
        pq_time <= PARQUET_TIME_OVER_DUCKDB,
        pq_rss <= PARQUET_RSS_OVER_DUCKDB,
        big_rss < BIG_RSS_OVER_LIMIT,
    ]
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    info = machine()
    lines = [
        FILES_START,
        "## Files of any size (whole processes)",
        "",
        f"*Generated by `benchmarks/bench_files.py`; measured {now} on {info['cpu']}, {info['cores']} cores, "
        f"{info['ram']} (revision {git_revision()}). Each figure: best wall time of {repeat} runs of the whole "
        "process (interpreter start to exit) and the highest peak RSS (`wait4`); ratios are against baselines "
        f"measured in the same run, rotated round by round. {sum(verdicts)} of {len(verdicts)} goals met.*",
        "",
        "| Case | `kpi-wizard compute` | Baseline, same run | Ratio | Goal | Result | Load during the case |",
        "|---|---:|---|---:|---|---|---|",
        f"| {csv_case.title} | {_figures(compute)} | polars lazy `scan_csv`: {_figures(polars)}; "
        f"hand-written DuckDB script: {_figures(duck)} | {over_polars:.2f}× polars; {over_duck:.2f}× DuckDB "
        f"(medians: {compute.median_s / polars.median_s:.2f}×; {compute.median_s / duck.median_s:.2f}×) | "
        f"≤ {CSV_OVER_POLARS}× polars; ≤ {CSV_OVER_DUCKDB}× DuckDB | {_verdict(verdicts[0])}; "
        f"{_verdict(verdicts[1])} | {csv_case.load_text()} |",
        f"| {parquet_case.title} | {_figures(pq_compute)} | one DuckDB query over the file: {_figures(pq_duck)} | "
        f"{pq_time:.2f}× time (medians: {pq_compute.median_s / pq_duck.median_s:.2f}×); {pq_rss:.2f}× RSS | "
        f"≤ {PARQUET_TIME_OVER_DUCKDB}× time; "
        f"≤ {PARQUET_RSS_OVER_DUCKDB}× RSS | {_verdict(verdicts[2])}; {_verdict(verdicts[3])} | "
        f"{parquet_case.load_text()} |",
        f"| {big_case.title} | {_figures(big)} | the engine's memory limit: {limit_mib} MiB | "
        f"{big_rss:.2f}× the limit | < {BIG_RSS_OVER_LIMIT}× the limit | {_verdict(verdicts[4])} | "
        f"{big_case.load_text()} |",
        "",
        f"- Four monthly KPIs on each file: {', '.join(f'{k} `{v}`' for k, v in KPIS.items())}. Every run of "
        f"every implementation gives the same numbers (within a relative {REL_TOLERANCE:g}), or the run stops.",
        "- `kpi-wizard compute WORKSPACE --format json`: the installed command, reading the file in place "
        "(a view over `read_csv`/`read_parquet`; the four KPIs in one query). Engine settings: 2 threads, "
        f"memory limit 2GB (case 3: `KPI_WIZARD_MEMORY_LIMIT={limit_mib}MB`, a {big_mib:,.0f} MiB file). "
        "Its bytecode is compiled before the runs, as `make install` and a wheel install compile it and as the "
        "baselines' libraries were (where `PYTHONDONTWRITEBYTECODE` is set, as here, an uncompiled package "
        "costs every run about 60 ms). The files are sniffed in a thread while the compiler's modules load.",
        "- Why compute can beat one plain query over the same file: periods by date arithmetic instead of "
        "`date_trunc`, and `count(DISTINCT customer_id)` as per-month bitmaps (exact) over a value range read "
        "from the Parquet file's row-group statistics, or, for a CSV, guessed from its first 20,480 rows and "
        "widened (a value outside it falls back to the plain count). The hash table of distinct (month, "
        "customer) pairs is what takes the plain query's time and memory.",
        "- Baselines: `python -c` scripts that import their library, run the query and print the four series "
        "as JSON (the polars script: `scan_csv(try_parse_dates=True)`, `group_by(dt.truncate('1mo'))`, "
        "`n_unique`; the DuckDB scripts: one `GROUP BY date_trunc('month', …)` with the four aggregates over "
        "`read_csv`/`read_parquet`, DuckDB's default settings).",
        f"- Python {platform.python_version()}; {', '.join(_versions())}. Command: `{command}`.",
        "- CPU seconds (user + system, the figure load changes least), best run: "
        + "; ".join(
            f"{case.title.split(' (')[0]}: " + ", ".join(f"{i.label} {i.best_cpu_s:.2f}" for i in case.implementations)
            for case in cases
        )
        + ".",
        _load_note(max(case.other_cores() for case in cases)),
        "",
        "<details><summary>Every run</summary>",
        "",
        "| Case | Implementation | wall, s (each run) | median | CPU s, user + system (each run) | "
        "peak RSS, MiB (each run) | others' cores |",
        "|---|---|---|---:|---|---|---|",
    ]
    for case in cases:
        for impl in case.implementations:
            walls = ", ".join(f"{r.wall_s:.2f}" for r in impl.runs)
            rss = ", ".join(f"{r.peak_rss_mib:.0f}" for r in impl.runs)
            others = ", ".join(f"{r.other_cores:.2f}" for r in impl.runs)
            cpu = ", ".join(f"{r.cpu_s:.2f}" for r in impl.runs)
            lines.append(f"| {case.title} | {impl.label} | {walls} | {impl.median_s:.2f} | {cpu} | {rss} | {others} |")
    lines += ["", "</details>", FILES_END, ""]
    return "\n".join(lines), verdicts.count(False)


def _versions() -> list[str]:
    import duckdb

    found = [f"duckdb {duckdb.__version__}"]
    try:
        import polars

        found.append(f"polars {polars.__version__}")
    except ImportError:
        pass
    return found


def write_doc(section: str) -> None:
    """Replace (or add) this benchmark's section of docs/benchmarks.md; the rest is bench_engine.py's."""
    text = DOC.read_text(encoding="utf-8")
    if FILES_START in text and FILES_END in text:
        before, rest = text.split(FILES_START, 1)
        text = before + section.rstrip("\n") + rest.split(FILES_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOC.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv-rows", type=int, default=CSV_ROWS)
    parser.add_argument("--parquet-rows", type=int, default=PARQUET_ROWS)
    parser.add_argument("--memory-limit-mib", type=int, default=BIG_MEMORY_LIMIT_MIB, help="case 3's engine limit")
    parser.add_argument("--quick", action="store_true", help="10x fewer rows and a 64 MiB limit, to try the script")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each implementation (best reported)")
    parser.add_argument("--seed", type=int, default=SEED, help="which rows are generated (deterministic per seed)")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS", help="wait for quiet rounds")
    parser.add_argument("--workdir", type=Path, help="keep the data here instead of a temporary folder")
    parser.add_argument("--write-doc", action="store_true", help="rewrite this section of docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.csv_rows, args.parquet_rows, args.memory_limit_mib = args.csv_rows // 10, args.parquet_rows // 10, 64
    if not KPI_WIZARD.is_file():
        raise SystemExit(f"{KPI_WIZARD} not found: install the package first (make install)")
    command = "benchmarks/bench_files.py " + " ".join(argv if argv is not None else sys.argv[1:])
    holder = None if args.workdir else tempfile.TemporaryDirectory(prefix="kpiw-bench-files-")
    workdir = args.workdir or Path(holder.name)  # type: ignore[union-attr]
    workdir.mkdir(parents=True, exist_ok=True)
    quiet = Quiet(args.wait_quiet)
    compile_bytecode()
    try:
        csv_path, parquet_path, big_path = workdir / "orders.csv", workdir / "orders.parquet", workdir / "big.parquet"
        print(f"generating {args.csv_rows:,} CSV rows …", file=sys.stderr)
        generate(csv_path, args.csv_rows, args.seed, "csv")
        print(f"generating {args.parquet_rows:,} Parquet rows …", file=sys.stderr)
        generate(parquet_path, args.parquet_rows, args.seed, "parquet")
        # Case 3: rows enough for a file of twice the limit, from the bytes per row of case 2's file.
        bytes_per_row = parquet_path.stat().st_size / args.parquet_rows
        big_rows = int(2.1 * args.memory_limit_mib * 2**20 / bytes_per_row)
        print(f"generating {big_rows:,} Parquet rows (2x the {args.memory_limit_mib} MiB limit) …", file=sys.stderr)
        generate(big_path, big_rows, args.seed + 1, "parquet")
        big_mib = big_path.stat().st_size / 2**20
        if big_mib < 2 * args.memory_limit_mib:
            raise SystemExit(f"{big_path.name} is {big_mib:.0f} MiB, under twice the limit")

        def compute(data: Path, **env: str) -> Implementation:
            return Implementation(
                "kpi-wizard compute",
                [str(KPI_WIZARD), "compute", str(write_workspace(workdir, data)), "--format", "json"],
                env,
            )

        def duckdb_script(reader: str, data: Path, label: str) -> Implementation:
            return Implementation(label, [sys.executable, "-c", DUCKDB_SCRIPT, reader, str(data)])

        cases: list[Case] = []
        plans = [
            (
                f"{args.csv_rows / 1e6:g}M-row CSV ({csv_path.stat().st_size / 2**20:,.0f} MiB), 4 monthly KPIs",
                csv_path,
                [
                    compute(csv_path),
                    Implementation("polars lazy scan_csv", [sys.executable, "-c", POLARS_SCRIPT, str(csv_path)]),
                    duckdb_script("read_csv", csv_path, "hand-written DuckDB script"),
                ],
            ),
            (
                f"{args.parquet_rows / 1e6:g}M-row Parquet ({parquet_path.stat().st_size / 2**20:,.0f} MiB), same KPIs",
                parquet_path,
                [compute(parquet_path), duckdb_script("read_parquet", parquet_path, "one DuckDB query")],
            ),
            (
                f"{big_rows / 1e6:.0f}M-row Parquet ({big_mib:,.0f} MiB) under a {args.memory_limit_mib} MiB limit",
                big_path,
                [compute(big_path, KPI_WIZARD_MEMORY_LIMIT=f"{args.memory_limit_mib}MB")],
            ),
        ]
        for title, data, implementations in plans:
            print(f"{title}", file=sys.stderr)
            before = os.getloadavg()
            measure(title, implementations, args.repeat, workdir, quiet)
            cases.append(Case(title, data.stat().st_size / 2**20, implementations, before, os.getloadavg()))
    finally:
        if holder is not None:
            holder.cleanup()
        elif args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    section, missed = report(
        cases, repeat=args.repeat, limit_mib=args.memory_limit_mib, command=command.strip(), big_mib=big_mib
    )
    print(section)
    if args.write_doc:
        write_doc(section)
        print(f"wrote {DOC}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

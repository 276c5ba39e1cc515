#!/usr/bin/env python
"""Where the app keeps an upload: a table in the workspace's DuckDB file, or a view over the file itself.

The CLI scans CSV and Parquet in place (``bench_files.py``): it computes once and ends. The app computes
the same data again and again (every page, every changed KPI), so it converts an upload once into a table
of ``data.duckdb``. This measures that choice on one dataset, in one process, interleaved round by round:

1. the app's path: ``DataStore.upload`` of the CSV (a job in a child process), then the pool's read-only
   engine computes the four KPIs of ``bench_files.py`` from the loaded table;
2. the same engine settings on a view over the same rows written as Parquet (scanning an upload in place);
3. the same on a view over the CSV itself.

Every ``Engine.compute_many`` runs after ``Engine.forget()``, so each one queries the data; every result
must equal the loaded table's (relative 1e-09) or the run stops.

    .venv/bin/python benchmarks/bench_app_storage.py               # 5M rows, 7 repetitions
    .venv/bin/python benchmarks/bench_app_storage.py --write-doc   # and rewrite its section of docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import DOC, git_revision, machine
from bench_files import CSV_ROWS, SEED, generate, write_workspace

from kpi_model import workspace_file
from kpi_model.datastore import DataStore
from kpi_model.engine import Engine, EnginePool, lock
from kpi_model.models import Workspace

START = "<!-- storage:start -->"
END = "<!-- storage:end -->"
REL_TOLERANCE = 1e-9


def values(engine: Engine, workspace: Workspace) -> dict[str, dict[str, float | None]]:
    """Compute every KPI from scratch; the values by KPI and period."""
    engine.forget()
    results = engine.compute_many(workspace)
    failed = {kpi: str(result) for kpi, result in results.items() if isinstance(result, Exception)}
    if failed:
        raise SystemExit(f"a KPI failed: {failed}")
    return {
        kpi: {str(point.period): point.value for point in series.points}  # type: ignore[union-attr]
        for kpi, series in results.items()
    }


def same(expected: dict[str, dict[str, float | None]], got: dict[str, dict[str, float | None]]) -> bool:
    return expected.keys() == got.keys() and all(
        expected[kpi].keys() == got[kpi].keys()
        and all(
            (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, rel_tol=REL_TOLERANCE))
            for a, b in ((expected[kpi][p], got[kpi][p]) for p in expected[kpi])
        )
        for kpi in expected
    )


def view_engine(folder: Path, reader: str, data: Path) -> Engine:
    """A read-only engine, locked like the app's, on a database whose ``orders`` is a view over ``data``."""
    database = folder / f"{data.suffix[1:]}-view.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute(f"CREATE OR REPLACE VIEW orders AS SELECT * FROM {reader}('{data}')")
    connection = duckdb.connect(str(database), read_only=True)
    lock(connection, allowed_paths=[str(data)])
    return Engine(connection, locked=True, data_version=database.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=CSV_ROWS)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--write-doc", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="kpiw-bench-storage-") as tmp:
        folder = Path(tmp)
        csv = folder / "orders.csv"
        print(f"generating {args.rows:,} CSV rows …", flush=True)
        generate(csv, args.rows, SEED, "csv")
        workspace = workspace_file.load(write_workspace(folder, csv))
        parquet = folder / "orders.parquet"
        with duckdb.connect() as con:
            con.execute(f"COPY (SELECT * FROM read_csv('{csv}')) TO '{parquet}' (FORMAT parquet)")

        store = DataStore(folder / "data", EnginePool())
        started = time.perf_counter()
        with open(csv, "rb") as stream:
            store.upload(csv.name, stream, table="orders")
        upload_s = time.perf_counter() - started
        engines: dict[str, Callable[[], Engine]] = {
            "loaded table (the app)": store.engine,
            "view over the Parquet": lambda: parquet_engine,
            "view over the CSV": lambda: csv_engine,
        }
        parquet_engine = view_engine(folder, "read_parquet", parquet)
        csv_engine = view_engine(folder, "read_csv", csv)
        expected = values(store.engine(), workspace)
        times: dict[str, list[float]] = {label: [] for label in engines}
        labels = list(engines)
        for round_ in range(args.repeat):
            for label in labels[round_ % len(labels) :] + labels[: round_ % len(labels)]:
                engine = engines[label]()
                started = time.perf_counter()
                got = values(engine, workspace)
                times[label].append(time.perf_counter() - started)
                if not same(expected, got):
                    raise SystemExit(f"{label} computed other values than the loaded table")
            print(f"round {round_ + 1}: " + ", ".join(f"{k} {v[-1] * 1000:,.0f} ms" for k, v in times.items()))
        sizes = {
            "data.duckdb": store.db_path.stat().st_size,
            "the Parquet file": parquet.stat().st_size,
            "the CSV": csv.stat().st_size,
        }
        parquet_engine.close()
        csv_engine.close()

    base = statistics.median(times[labels[0]])
    rows = [
        f"| {label} | {statistics.median(t) * 1000:,.0f} | {min(t) * 1000:,.0f}–{max(t) * 1000:,.0f} | "
        f"{statistics.median(t) / base:.1f}× |"
        for label, t in times.items()
    ]
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    info = machine()
    section = "\n".join(
        [
            START,
            "## Where the app keeps an upload",
            "",
            f"*Generated by `benchmarks/bench_app_storage.py`; measured {now} on {info['cpu']}, {info['cores']} cores "
            f"(revision {git_revision()}). {args.rows:,} rows, the four KPIs of the section above, "
            f"`Engine.compute_many` after `Engine.forget()`, median of {args.repeat} interleaved rounds.*",
            "",
            "| The engine reads `orders` from | four KPIs, ms (median) | min–max | vs the loaded table |",
            "|---|---:|---:|---:|",
            *rows,
            "",
            f"- Loading the CSV through `DataStore.upload` (a job in a child process, then profiling) took "
            f"{upload_s:.1f} s, once. Sizes: " + ", ".join(f"{k} {v / 2**20:,.0f} MiB" for k, v in sizes.items()) + ".",
            "- So the app converts an upload once into a table of the workspace's `data.duckdb` (DuckDB's own "
            "columnar storage, read from disk as queries need it, within the memory limit, spilling what does not "
            "fit: `tests/test_datastore.py` computes a table over the limit), while the CLI, which computes once, "
            "scans CSV and Parquet in place.",
            "",
            END,
        ]
    )
    print(section)
    if args.write_doc:
        text = DOC.read_text(encoding="utf-8")
        if START in text and END in text:
            before, rest = text.split(START, 1)
            text = before + section + rest.split(END, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        DOC.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: auditing a large KPI set without data (goal: 1,000 KPIs in under 1 s).

    .venv/bin/python benchmarks/bench_audit.py [--kpis 1000] [--repeat 5] [--write-doc]

Builds a deterministic workspace (20 units, 5 goals each, KPIs spread over them, a realistic
mix of complete and flawed KPIs), runs every rule of the registry, and reports the median.
``--write-doc`` puts the result into docs/benchmarks.md between the audit markers (the engine
benchmark keeps that section when it rewrites the file).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kpi_model.checks import audit  # noqa: E402 - after the path set-up above
from kpi_model.library import load_templates  # noqa: E402
from kpi_model.models import Baseline, Goal, Kpi, Source, Target, Unit, Workspace  # noqa: E402

DOC = REPO / "docs" / "benchmarks.md"
START, END = "<!-- audit:start -->", "<!-- audit:end -->"
GOAL_SECONDS = 1.0


def build(kpi_count: int, seed: int = 7) -> Workspace:
    """A workspace of ``kpi_count`` KPIs from the template library, about a third with flaws."""
    rng = random.Random(seed)
    templates = load_templates()
    units = [Unit(id=f"unit-{u}", name=f"Unit {u}", owner=f"Head {u}") for u in range(20)]
    goals = [
        Goal(id=f"goal-{u}-{g}", unit=f"unit-{u}", statement=f"Goal {g} of unit {u}")
        for u in range(20)
        for g in range(5)
    ]
    sources = [Source(name=f"table_{s}", system="ERP") for s in range(30)]
    kpis = []
    for index in range(kpi_count):
        template = templates[index % len(templates)]
        roles = {role: role for role in template.roles}
        kpi = template.to_kpi(
            f"{template.id}_{index}",
            goal=goals[index % len(goals)].id,
            roles=roles,
            source=sources[index % len(sources)].name,
            owner=f"Owner {index % 50}",
        )
        flawed = rng.random() < 0.35
        kpi = kpi.model_copy(
            update={
                "owner": None if flawed and rng.random() < 0.3 else kpi.owner,
                "target": None if flawed else Target(value=1.0, due=dt.date(2027, 12, 31)),
                "baseline": Baseline(value=0.8, period="2026-10"),
                "action": None if flawed else "Owner reviews causes and acts when below warning",
                "review_date": dt.date(2026, 10, 1),
            }
        )
        kpis.append(Kpi.model_validate(kpi.model_dump()))
    return Workspace(name=f"{kpi_count} KPIs", units=units, goals=goals, sources=sources, kpis=kpis)


def measure(kpi_count: int, repeat: int) -> tuple[list[float], int]:
    """Wall times of ``repeat`` audits and the number of findings."""
    workspace = build(kpi_count)
    audit(workspace, today=dt.date(2026, 11, 23))  # warm-up: imports, template and catalogue loading
    times = []
    findings = 0
    for _ in range(repeat):
        started = time.perf_counter()
        report = audit(workspace, today=dt.date(2026, 11, 23))
        times.append(time.perf_counter() - started)
        findings = len(report.findings)
    return times, findings


def section(kpi_count: int, times: list[float], findings: int) -> str:
    """The Markdown section for docs/benchmarks.md."""
    median = statistics.median(times)
    verdict = "PASS" if median < GOAL_SECONDS else "**FAIL**"
    return "\n".join(
        [
            START,
            "## Audit without data",
            "",
            f"`benchmarks/bench_audit.py`: {kpi_count:,} KPIs (20 units, 100 goals, a third with flaws), every rule "
            f"of the registry, median of {len(times)} runs after a warm-up, on {platform.machine()} with "
            f"Python {platform.python_version()}.",
            "",
            "| Goal | Measured | Target | Result |",
            "|---|---:|---:|---|",
            f"| audit of {kpi_count:,} KPIs | {median * 1000:,.0f} ms (min {min(times) * 1000:,.0f}, max "
            f"{max(times) * 1000:,.0f}); {findings:,} findings | < {GOAL_SECONDS:g} s | {verdict} |",
            "",
            END,
        ]
    )


def main() -> int:
    """Run, print, optionally write the doc; exit 1 when the goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kpis", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write-doc", action="store_true")
    args = parser.parse_args()
    times, findings = measure(args.kpis, args.repeat)
    text = section(args.kpis, times, findings)
    print(text)
    if args.write_doc:
        doc = DOC.read_text(encoding="utf-8")
        if START in doc and END in doc:
            doc = doc.split(START, 1)[0] + text + doc.split(END, 1)[1]
        else:
            doc = doc.rstrip("\n") + "\n\n" + text + "\n"
        DOC.write_text(doc, encoding="utf-8")
    return 0 if statistics.median(times) < GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())

"""Check the register corpus answer keys against their registers.

For every *.key.yaml: valid YAML with the agreed fields, known slugs, every KPI name found
in its register at the stated 1-based row, unit/goal equal to the sheet's fill-down, and
some internal consistency (goal sizes vs goal-kpi-count, unit sizes vs unit-kpi-count,
threshold order and target direction of clean KPIs).  Prints a table per register and per
slug.  Exit code 1 on any problem.

Run:  .venv/bin/python tests/register_corpus/check_keys.py
"""
from __future__ import annotations

import csv
import re
import datetime as dt
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml
from openpyxl import load_workbook

HERE = Path(__file__).resolve().parent
SLUGS = {  # docs/quality_rules.md, without the "needs data" rules
    "missing-owner", "missing-source", "invalid-formula", "orphan-kpi", "goal-kpi-count",
    "unit-kpi-count", "missing-cadence", "qualitative-without-scale", "stale-review",
    "missing-target", "target-not-time-bound", "target-direction", "threshold-order",
    "not-actionable", "unpaired-leading-lagging", "vanity-metric", "financial-only",
    "cross-unit-conflict", "duplicate-kpi",
}
GOAL_SLUGS = {"goal-kpi-count", "financial-only", "unpaired-leading-lagging"}
UNIT_SLUGS = {"unit-kpi-count"}
KPI_FIELDS = {"name", "row", "unit", "goal", "numbers", "target_due", "flaws"}
NUMBER_KEYS = {"target", "baseline", "red", "amber", "target_low", "target_high"}
NO_VALUE = {"", "-", "–", "n/a", "tbd"}
# where the register keeps name, unit and goal (header text as in the file)
LAYOUT = {
    "northwind_finance.xlsx": ("KPI", "Department", "Objective"),
    "stadtwerke_kennzahlen.csv": ("Kennzahl", "Bereich", "Ziel"),
    "bsc_scorecard.xlsx": ("Measure", "Department", "Objective"),
    "acme_kpi_list.csv": ("KPI", "Department", "Objective"),
}

# columns holding the numbers (header text; BSC uses the lower header row)
NUMBER_COLS = {
    "northwind_finance.xlsx": {"baseline": "Baseline FY2026", "target": "Target FY2027", "amber": "Amber if", "red": "Red if"},
    "stadtwerke_kennzahlen.csv": {"baseline": "Ausgangswert 2026", "target": "Zielwert", "amber": "Gelb bei", "red": "Rot bei"},
    "bsc_scorecard.xlsx": {"baseline": "Baseline 2026", "target": "Value", "amber": "Amber", "red": "Red"},
    "acme_kpi_list.csv": {"baseline": "Baseline", "target": "Target", "amber": "Warning at", "red": "Critical at"},
}

problems: list[str] = []


def parse_number(raw, german: bool):
    """A deliberately simple reading of a register cell, only to cross-check the keys."""
    if isinstance(raw, (int, float)):
        return float(raw)
    t = str(raw).strip()
    if not t:
        return None
    t = t.split("/")[0]
    pct = "%" in t
    t = re.sub(r"[^0-9.,\-]", "", t)
    if german:
        t = t.replace(".", "").replace(",", ".")
    else:
        t = t.replace(",", "")
    try:
        v = float(t)
    except ValueError:
        return None
    return v / 100 if pct else v


def bad(msg: str) -> None:
    problems.append(msg)


def _cell_text(v) -> str:
    if v is None:
        return ""
    return str(v).strip()


RAW: dict[str, dict[int, list]] = {}


def read_grid(key: dict) -> dict[int, list[str]]:
    """1-based row -> list of cell texts (merged cells: value only in the anchor)."""
    path = HERE / key["file"]
    if path.suffix == ".xlsx":
        wb = load_workbook(path)
        ws = wb[key["sheet"]]
        RAW[key["file"]] = {r: [c.value for c in row] for r, row in enumerate(ws.iter_rows(), start=1)}
        return {r: [_cell_text(c.value) for c in row]
                for r, row in enumerate(ws.iter_rows(), start=1)}
    with path.open(encoding=key.get("encoding", "utf-8"), newline="") as fh:
        rows = list(csv.reader(fh, delimiter=key.get("delimiter", ",")))
    return {r: [c.strip() for c in row] for r, row in enumerate(rows, start=1)}


def fill_down(grid, header_row, name_col, unit_col, goal_col, skip=()):
    """Unit/goal per data row as a reader fills them down: a block continues while the
    unit cell is empty; a new unit starts a new block whose goal is only what it states.
    (Where the unit is written on every row, e.g. the BSC, a unit cell equal to the one
    above does not start a new block.)"""
    out = {}
    unit = goal = None
    for r in sorted(grid):
        if r <= header_row:
            continue
        cells = grid[r] + [""] * 40
        if not cells[name_col] or r in skip:
            continue
        u, g = cells[unit_col], cells[goal_col]
        if u == unit:
            u = ""
        if u:
            unit, goal = u, None
        if g:
            goal = g
        elif u:
            goal = None
        out[r] = (unit, None if (goal or "").lower() in NO_VALUE else goal)
    return out


def direction(n: dict) -> str | None:
    """up/down from where the red and amber lines sit against the target; 'mixed' when
    they sit on different sides (that alone is a threshold-order flaw)."""
    t, red, amber = n.get("target"), n.get("red"), n.get("amber")
    if t is None or red is None or t == red:
        return None
    if amber is None:
        return "up" if red < t else "down"
    if red < t and amber <= t:
        return "up"
    if red > t and amber >= t:
        return "down"
    return "mixed"


def check_key(path: Path):
    key = yaml.safe_load(path.read_text(encoding="utf-8"))
    for f in ("file", "style", "kpis", "goal_flaws", "unit_flaws", "ambiguous"):
        if f not in key:
            bad(f"{path.name}: missing top-level field {f!r}")
    if key["file"].endswith(".xlsx") and "sheet" not in key:
        bad(f"{path.name}: xlsx key without sheet")
    grid = read_grid(key)
    header_row = key.get("header_row", 1)
    name_h, unit_h, goal_h = LAYOUT[key["file"]]
    header = [c for c in grid[header_row]]
    if key["file"] == "bsc_scorecard.xlsx":  # two-row header: labels sit in row 3 (merged)
        header = [a or b for a, b in zip(grid[3], grid[4])]
    cols = {h: i for i, h in enumerate(header)}
    nc, uc, gc = cols[name_h], cols[unit_h], cols[goal_h]
    skip = {x["row"] for x in key.get("not_in_register", [])}
    filled = fill_down(grid, header_row, nc, uc, gc, skip)
    if set(filled) != {k["row"] for k in key["kpis"]}:
        bad(f"{path.name}: rows with a KPI name {sorted(set(filled) - {k['row'] for k in key['kpis']})} "
            f"not in key / key rows without a name {sorted({k['row'] for k in key['kpis']} - set(filled))}")
    for k in key["kpis"]:
        where = f"{path.name} row {k.get('row')} {k.get('name')!r}"
        missing = KPI_FIELDS - set(k)
        if missing:
            bad(f"{where}: missing {sorted(missing)}")
            continue
        if k["flaws"] and not k.get("why"):
            bad(f"{where}: flawed KPI without why")
        for s in k["flaws"]:
            if s not in SLUGS or s in GOAL_SLUGS | UNIT_SLUGS:
                bad(f"{where}: slug {s!r} is not a KPI-level slug")
        if not set(k["numbers"]) <= NUMBER_KEYS:
            bad(f"{where}: unknown number keys {set(k['numbers']) - NUMBER_KEYS}")
        if k["target_due"] is not None and not isinstance(k["target_due"], dt.date):
            bad(f"{where}: target_due not a date")
        cells = grid.get(k["row"], [])
        if k["name"] not in cells:
            bad(f"{where}: name not found in that row: {cells[:4]}")
        elif cells.index(k["name"]) != nc:
            bad(f"{where}: name found but not in column {name_h!r}")
        if k["row"] in filled and filled[k["row"]] != (k["unit"], k["goal"]):
            bad(f"{where}: key unit/goal {(k['unit'], k['goal'])} != sheet fill-down {filled[k['row']]}")
        # the key's numbers against a simple reading of the cells
        german = key["file"].startswith("stadtwerke")
        hdr = [a or b for a, b in zip(grid[3], grid[4])] if key["file"] == "bsc_scorecard.xlsx" else header
        if key["file"] == "bsc_scorecard.xlsx":
            hdr = [b or a for a, b in zip(grid[3], grid[4])]
        raw_row = RAW.get(key["file"], grid).get(k["row"], [])
        for nk, col in NUMBER_COLS[key["file"]].items():
            if col not in hdr:
                bad(f"{path.name}: number column {col!r} not in header")
                continue
            cell = raw_row[hdr.index(col)] if hdr.index(col) < len(raw_row) else None
            got = parse_number(cell, german)
            want = k["numbers"].get(nk)
            if (got is None) != (want is None) or (got is not None and abs(got - want) > 1e-9 * max(1, abs(want))):
                bad(f"{where}: {nk} cell {cell!r} reads {got}, key says {want}")
        # consistency of the numbers with the flaws
        n, d = k["numbers"], direction(k["numbers"])
        if d and {"amber", "target", "red"} <= set(n):
            ok = d != "mixed" and ((n["red"] < n["amber"] <= n["target"]) if d == "up"
                                   else (n["red"] > n["amber"] >= n["target"]))
            if ok == ("threshold-order" in k["flaws"]):
                bad(f"{where}: threshold order {'ok' if ok else 'wrong'} but key says {k['flaws']}")
        if d in ("up", "down") and {"baseline", "target"} <= set(n):
            worse = (n["target"] <= n["baseline"]) if d == "up" else (n["target"] >= n["baseline"])
            if worse != ("target-direction" in k["flaws"]):
                bad(f"{where}: target vs baseline {'worse/equal' if worse else 'fine'} but key says {k['flaws']}")
        if "target" not in n and "target_low" not in n and "missing-target" not in k["flaws"] \
                and "qualitative-without-scale" not in k["flaws"]:
            bad(f"{where}: no target number but no missing-target")
        if k["target_due"] is None and "target" in n and "target-not-time-bound" not in k["flaws"]:
            bad(f"{where}: target without due but no target-not-time-bound")
        if k["target_due"] and k["target_due"] < dt.date(2026, 11, 23) and "target-not-time-bound" not in k["flaws"]:
            bad(f"{where}: due date already past but no target-not-time-bound")
        if k["goal"] is None and "orphan-kpi" not in k["flaws"]:
            bad(f"{where}: no goal but no orphan-kpi")
    # goal / unit level consistency
    per_goal = Counter(k["goal"] for k in key["kpis"] if k["goal"])
    per_unit = Counter(k["unit"] for k in key["kpis"] if k["unit"])
    gflag = {(g["slug"], g["goal"]) for g in key["goal_flaws"]}
    for g, c in per_goal.items():
        if (not 3 <= c <= 5) != (("goal-kpi-count", g) in gflag):
            bad(f"{path.name}: goal {g!r} has {c} KPIs; goal-kpi-count flag disagrees")
    uflag = {(u["slug"], u["unit"]) for u in key["unit_flaws"]}
    for u, c in per_unit.items():
        if (c > 12) != (("unit-kpi-count", u) in uflag):
            bad(f"{path.name}: unit {u!r} has {c} KPIs; unit-kpi-count flag disagrees")
    for g in key["goal_flaws"]:
        if g["slug"] not in GOAL_SLUGS or g["goal"] not in per_goal:
            bad(f"{path.name}: bad goal flaw {g}")
    for u in key["unit_flaws"]:
        if u["slug"] not in UNIT_SLUGS or u["unit"] not in per_unit:
            bad(f"{path.name}: bad unit flaw {u}")
    return key


def main() -> int:
    # heldout_* keys have their own checker (heldout_check.py), which knows their layouts.
    keys = [check_key(p) for p in sorted(HERE.glob("*.key.yaml")) if not p.name.startswith("heldout_")]
    slug_total: Counter = Counter()
    slug_files: dict[str, set] = defaultdict(set)
    print(f"{'register':30} {'KPIs':>5} {'clean':>6} {'flawed':>7} {'KPI flaws':>10} {'goal/unit flaws':>16}")
    tot = Counter()
    for key in keys:
        kp = key["kpis"]
        clean = sum(1 for k in kp if not k["flaws"])
        nfl = sum(len(k["flaws"]) for k in kp)
        gu = len(key["goal_flaws"]) + len(key["unit_flaws"])
        print(f"{key['file']:30} {len(kp):5} {clean:6} {len(kp) - clean:7} {nfl:10} {gu:16}")
        tot.update(kpis=len(kp), clean=clean, flawed=len(kp) - clean, nfl=nfl, gu=gu)
        for k in kp:
            for s in k["flaws"]:
                slug_total[s] += 1
                slug_files[s].add(key["file"])
        for f in key["goal_flaws"] + key["unit_flaws"]:
            slug_total[f["slug"]] += 1
            slug_files[f["slug"]].add(key["file"])
    print(f"{'TOTAL':30} {tot['kpis']:5} {tot['clean']:6} {tot['flawed']:7} {tot['nfl']:10} {tot['gu']:16}")
    print()
    print(f"{'slug':28} {'findings':>8}  registers")
    for s in sorted(SLUGS):
        print(f"{s:28} {slug_total[s]:8}  {', '.join(sorted(f.split('.')[0] for f in slug_files[s])) or '-'}")
    if tot["kpis"] < 100 or tot["clean"] < 40:
        bad("corpus too small: need >= 100 KPIs and >= 40 clean")
    for key in keys:
        if sum(1 for k in key["kpis"] if not k["flaws"]) < 10:
            bad(f"{key['file']}: fewer than 10 clean KPIs")
    print()
    if problems:
        print(f"{len(problems)} PROBLEM(S):")
        for p in problems:
            print("  -", p)
        return 1
    print("all keys consistent with their registers")
    return 0


if __name__ == "__main__":
    sys.exit(main())

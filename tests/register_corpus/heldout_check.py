"""Check the HELD-OUT answer keys (heldout_*.key.yaml) against their registers.

Reuses check_keys.py's readers (read_grid, fill_down, parse_number, direction) and adds
what these two registers need: the Klinikum's German text numbers, the council's combined
RAG column ("R <85% / A 85-95% / G ≥95%": red = R line, amber = G line), '£1.2m', and the
council's Polarity column (a stated direction overrides the one the thresholds suggest).
Checks: every key name at its row in the name column, unit/goal equal to the fill-down,
numbers equal to the cells, threshold order / target direction / missing target / due
dates consistent with the flaws, goal and unit counts consistent with the goal/unit flaws,
the review dates behind stale-review, >= 10 clean KPIs.  Exit 1 on any problem.

Run:  .venv/bin/python tests/register_corpus/heldout_check.py
"""
from __future__ import annotations

import datetime as dt
import re
import sys
from collections import Counter
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_keys as ck  # noqa: E402

HERE = Path(__file__).resolve().parent
TODAY = dt.date(2026, 11, 23)
STALE_BEFORE = TODAY - dt.timedelta(days=92)

LAYOUT = {  # name, unit, goal, baseline, target, amber, red, polarity, review, type
    "heldout_klinikum.xlsx": dict(name="Kennzahl", unit="Organisationseinheit", goal="Strategisches Ziel",
                                  baseline="Ist 2026", target="Soll 2027", amber="Grenzwert gelb",
                                  red="Grenzwert rot", review="Letzte Überprüfung", type="Indikatorart",
                                  german=True),
    "heldout_city_council.csv": dict(name="Indicator", unit="Service area", goal="Priority",
                                     baseline="2025/26 actual", target="Target", rag="RAG thresholds",
                                     polarity="Polarity", german=False),
}
problems: list[str] = []


def bad(msg: str) -> None:
    problems.append(msg)


def num(raw, german: bool):
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    t = "" if raw is None else str(raw).strip()
    mult = 1_000_000 if re.search(r"\d\s*m\b", t) else 1
    v = ck.parse_number(t.replace("£", ""), german)
    return None if v is None else v * mult


def rag(text: str):
    """'R <85% / A 85-95% / G ≥95%' -> (red 0.85, amber 0.95)."""
    parts = {p.strip()[:1]: p.strip()[1:].strip() for p in (text or "").split(" / ")}
    if not {"R", "G"} <= set(parts):
        return None, None
    return num(parts["R"], False), num(parts["G"], False)


def as_date(v):
    if isinstance(v, dt.datetime):
        return v.date()
    m = re.fullmatch(r"(\d\d)\.(\d\d)\.(\d{4})", str(v or "").strip())
    return dt.date(int(m[3]), int(m[2]), int(m[1])) if m else None


def check(path: Path) -> dict:
    key = yaml.safe_load(path.read_text(encoding="utf-8"))
    lay = LAYOUT[key["file"]]
    grid = ck.read_grid(key)
    raw = ck.RAW.get(key["file"], grid)
    hr = key["header_row"]
    cols = {h: i for i, h in enumerate(grid[hr])}
    for f in ("file", "style", "kpis", "goal_flaws", "unit_flaws", "ambiguous"):
        if f not in key:
            bad(f"{path.name}: missing {f}")
    skip = {x["row"] for x in key.get("not_in_register", [])}
    filled = ck.fill_down(grid, hr, cols[lay["name"]], cols[lay["unit"]], cols[lay["goal"]], skip)
    rows = {k["row"] for k in key["kpis"]}
    if set(filled) != rows:
        bad(f"{path.name}: named rows {sorted(set(filled) - rows)} not in key; key rows "
            f"{sorted(rows - set(filled))} without a name")
    for k in key["kpis"]:
        where = f"{path.name} row {k['row']} {k['name']!r}"
        if set(ck.KPI_FIELDS) - set(k):
            bad(f"{where}: missing {set(ck.KPI_FIELDS) - set(k)}")
            continue
        if k["flaws"] and not k.get("why"):
            bad(f"{where}: flaws without why")
        for s in k["flaws"]:
            if s not in ck.SLUGS or s in ck.GOAL_SLUGS | ck.UNIT_SLUGS:
                bad(f"{where}: {s!r} is not a KPI-level slug")
        cells, rawrow = grid.get(k["row"], []), raw.get(k["row"], [])
        if len(cells) <= cols[lay["name"]] or cells[cols[lay["name"]]] != k["name"]:
            bad(f"{where}: name not in column {lay['name']!r}: {cells[:4]}")
            continue
        if filled.get(k["row"]) != (k["unit"], k["goal"]):
            bad(f"{where}: unit/goal {(k['unit'], k['goal'])} != fill-down {filled.get(k['row'])}")
        def cell(h, rawrow=rawrow):
            return rawrow[cols[h]] if cols[h] < len(rawrow) else None
        got = {"baseline": num(cell(lay["baseline"]), lay["german"]),
               "target": num(cell(lay["target"]), lay["german"])}
        if "rag" in lay:
            got["red"], got["amber"] = rag(cell(lay["rag"]))
        else:
            got["red"] = num(cell(lay["red"]), True)
            got["amber"] = num(cell(lay["amber"]), True)
        n = k["numbers"]
        for nk, g in got.items():
            w = n.get(nk)
            if (g is None) != (w is None) or (g is not None and abs(g - w) > 1e-9 * max(1, abs(w))):
                bad(f"{where}: {nk} reads {g}, key says {w}")
        d = ck.direction(n)
        pol = str(cell(lay["polarity"]) or "").lower() if "polarity" in lay else ""
        if "bigger" in pol:
            d = "up"
        elif "smaller" in pol:
            d = "down"
        if d and {"amber", "target", "red"} <= set(n):
            ok = d != "mixed" and ((n["red"] < n["amber"] <= n["target"]) if d == "up"
                                   else (n["red"] > n["amber"] >= n["target"]))
            if ok == ("threshold-order" in k["flaws"]):
                bad(f"{where}: thresholds {'ok' if ok else 'wrong'} ({d}) but flaws {k['flaws']}")
        if d in ("up", "down") and {"baseline", "target"} <= set(n):
            worse = n["target"] <= n["baseline"] if d == "up" else n["target"] >= n["baseline"]
            if worse != ("target-direction" in k["flaws"]):
                bad(f"{where}: target {'worse/equal' if worse else 'better'} ({d}) but flaws {k['flaws']}")
        if "target" not in n and "missing-target" not in k["flaws"] \
                and "qualitative-without-scale" not in k["flaws"]:
            bad(f"{where}: no target but no missing-target")
        due = k["target_due"]
        if due is None and "target" in n and "target-not-time-bound" not in k["flaws"]:
            bad(f"{where}: target without due but no target-not-time-bound")
        if due and due < TODAY and "target-not-time-bound" not in k["flaws"]:
            bad(f"{where}: past due but no target-not-time-bound")
        if due and due >= TODAY and "target-not-time-bound" in k["flaws"]:
            bad(f"{where}: future due but target-not-time-bound")
        if "review" in lay:
            rv = as_date(cell(lay["review"]))
            stale = rv is None or rv < STALE_BEFORE
            if stale != ("stale-review" in k["flaws"]):
                bad(f"{where}: review {cell(lay['review'])!r} stale={stale} but flaws {k['flaws']}")
        if (k["goal"] is None) != ("orphan-kpi" in k["flaws"]):
            bad(f"{where}: goal {k['goal']!r} vs orphan-kpi disagree")
    per_goal = Counter(k["goal"] for k in key["kpis"] if k["goal"])
    per_unit = Counter(k["unit"] for k in key["kpis"])
    gflag = {(g["slug"], g["goal"]) for g in key["goal_flaws"]}
    for g, c in per_goal.items():
        if (not 3 <= c <= 5) != (("goal-kpi-count", g) in gflag):
            bad(f"{path.name}: goal {g!r} has {c} KPIs; goal-kpi-count disagrees")
    uflag = {(u["slug"], u["unit"]) for u in key["unit_flaws"]}
    for u, c in per_unit.items():
        if (c > 12) != (("unit-kpi-count", u) in uflag):
            bad(f"{path.name}: unit {u!r} has {c} KPIs; unit-kpi-count disagrees")
    if "type" in lay:  # unpaired-leading-lagging: every goal needs both Früh and Spät
        kinds: dict[str, set] = {}
        for k in key["kpis"]:
            if k["goal"]:
                kinds.setdefault(k["goal"], set()).add(grid[k["row"]][cols[lay["type"]]])
        for g, ks in kinds.items():
            if (len(ks) < 2) != (("unpaired-leading-lagging", g) in gflag):
                bad(f"{path.name}: goal {g!r} kinds {ks}; unpaired-leading-lagging disagrees")
    elif any(g["slug"] == "unpaired-leading-lagging" for g in key["goal_flaws"]):
        bad(f"{path.name}: unpaired-leading-lagging without a type column")
    for g in key["goal_flaws"]:
        if g["slug"] not in ck.GOAL_SLUGS or g["goal"] not in per_goal:
            bad(f"{path.name}: bad goal flaw {g}")
    for u in key["unit_flaws"]:
        if u["slug"] not in ck.UNIT_SLUGS or u["unit"] not in per_unit:
            bad(f"{path.name}: bad unit flaw {u}")
    dup = [k for k in key["kpis"] if "duplicate-kpi" in k["flaws"]]
    conf = [k for k in key["kpis"] if "cross-unit-conflict" in k["flaws"]]
    if len(dup) % 2 or len(conf) % 2:
        bad(f"{path.name}: duplicate/conflict flaws not in pairs")
    if len({k["unit"] for k in conf}) < 2 and conf:
        bad(f"{path.name}: cross-unit-conflict within one unit")
    if sum(1 for k in key["kpis"] if not k["flaws"]) < 10:
        bad(f"{path.name}: fewer than 10 clean KPIs")
    return key


def main() -> int:
    keys = [check(p) for p in sorted(HERE.glob("heldout_*.key.yaml"))]
    total: Counter = Counter()
    for key in keys:
        kp = key["kpis"]
        c = Counter(s for k in kp for s in k["flaws"])
        c.update(f["slug"] for f in key["goal_flaws"] + key["unit_flaws"])
        total.update(c)
        print(f"{key['file']}: {len(kp)} KPIs, {sum(1 for k in kp if not k['flaws'])} clean, "
              f"{sum(1 for k in kp if k['flaws'])} flawed, {sum(len(k['flaws']) for k in kp)} KPI "
              f"findings, {len(key['goal_flaws']) + len(key['unit_flaws'])} goal/unit findings")
        print("   " + ", ".join(f"{s} {n}" for s, n in sorted(c.items())))
    print("not planted anywhere:", ", ".join(sorted(ck.SLUGS - set(total))) or "-")
    if problems:
        print(f"{len(problems)} PROBLEM(S):")
        for p in problems:
            print("  -", p)
        return 1
    print("held-out keys consistent with their registers")
    return 0


if __name__ == "__main__":
    sys.exit(main())

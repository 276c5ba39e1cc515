"""The strategy map: units → goals → KPIs, with leading → lagging arrows and driver-tree edges.

Laid out here (no Graphviz to install): each unit is a band, each goal a row group inside it, and a
KPI sits in the column of its depth in the map's graph (inputs and leading KPIs left of what they
move), so most arrows run left to right. The layout is plain data (:class:`MapLayout`), drawn as
SVG by :func:`map_svg`; the app makes each KPI box a link.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape

from kpi_model.errors import KpiWizardError
from kpi_model.models import Kind, Kpi, Workspace
from kpi_model.report.svg import FONT, STATUS_FILL, STATUS_STROKE
from kpi_model.status import Status

GOAL_WIDTH = 230
NODE_WIDTH = 200
NODE_HEIGHT = 46
COLUMN_GAP = 64
ROW_GAP = 12
UNIT_HEADER = 28
GOAL_GAP = 10
MAX_DEPTH = 3  # deeper chains share the last column: the picture must fit a landscape page


@dataclass(frozen=True)
class MapEdge:
    """An arrow between two KPIs: ``leads`` (a leading KPI to its lagging partner) or ``drives`` (an input)."""

    source: str
    target: str
    kind: str


@dataclass(frozen=True)
class MapNode:
    """A box on the map, with its top-left corner."""

    kind: str  # "unit" | "goal" | "kpi"
    id: str
    label: str
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class MapLayout:
    """Where every unit band, goal and KPI box goes, and the arrows between KPIs."""

    nodes: list[MapNode]
    edges: list[MapEdge]
    width: float
    height: float

    def node(self, kind: str, node_id: str) -> MapNode | None:
        """The box of one unit, goal or KPI."""
        return next((n for n in self.nodes if n.kind == kind and n.id == node_id), None)


def map_edges(workspace: Workspace, kpis: list[Kpi]) -> list[MapEdge]:
    """Leading → lagging pairs (by kind, either side may name the pair) and each derived KPI's inputs."""
    from kpi_model.formula import Compiler
    from kpi_model.formula.check import check_derived

    shown = {k.id: k for k in kpis}
    edges: dict[tuple[str, str], MapEdge] = {}
    for kpi in kpis:
        partner = shown.get(kpi.pairs_with or "")
        if partner is None or partner.id == kpi.id:
            continue
        if kpi.kind == Kind.LEADING and partner.kind != Kind.LEADING:
            edges.setdefault((kpi.id, partner.id), MapEdge(kpi.id, partner.id, "leads"))
        elif partner.kind == Kind.LEADING and kpi.kind != Kind.LEADING:
            edges.setdefault((partner.id, kpi.id), MapEdge(partner.id, kpi.id, "leads"))
    compiler = Compiler(workspace)
    all_ids = {k.id for k in workspace.kpis}
    for kpi in kpis:
        if kpi.expression and compiler.is_derived(kpi):
            try:
                inputs = check_derived(kpi.expression, all_ids - {kpi.id}).columns
            except KpiWizardError:  # a broken formula draws no edges; the audit reports it
                continue
            for name in sorted(inputs):
                if name in shown:
                    edges[(name, kpi.id)] = MapEdge(name, kpi.id, "drives")
    return list(edges.values())


def _depths(kpis: list[Kpi], edges: list[MapEdge]) -> dict[str, int]:
    """Longest path from a KPI nothing points at, capped at :data:`MAX_DEPTH` (a cycle cannot loop forever)."""
    depth = dict.fromkeys((k.id for k in kpis), 0)
    for _ in range(len(kpis)):
        changed = False
        for edge in edges:
            wanted = min(depth[edge.source] + 1, MAX_DEPTH)
            if depth[edge.target] < wanted:
                depth[edge.target] = wanted
                changed = True
        if not changed:
            break
    return depth


def layout_map(workspace: Workspace, kpis: list[Kpi]) -> MapLayout:
    """Place units, goals and KPIs; KPIs without a unit or goal go in a last band of their own."""
    edges = map_edges(workspace, kpis)
    depth = _depths(kpis, edges)
    columns = max(depth.values(), default=0) + 1
    width = GOAL_WIDTH + columns * (NODE_WIDTH + COLUMN_GAP)
    nodes: list[MapNode] = []
    y = 0.0
    goal_of = {g.id: g for g in workspace.goals}

    def unit_of(kpi: Kpi) -> str | None:
        unit = workspace.unit_of_kpi(kpi)
        return unit.id if unit else None

    bands = [(u.id, u.name) for u in workspace.units] + [(None, "No unit")]
    for unit_id, unit_name in bands:
        mine = [k for k in kpis if unit_of(k) == unit_id]
        if not mine:
            continue
        band_top = y
        y += UNIT_HEADER
        groups: list[tuple[str | None, str]] = [(g.id, g.statement) for g in workspace.goals if g.unit == unit_id]
        groups.append((None, "No goal"))
        for goal_id, statement in groups:
            members = [k for k in mine if (k.goal == goal_id if goal_id else k.goal not in goal_of)]
            if not members:
                continue
            per_column: dict[int, int] = {}
            for kpi in members:
                row = per_column.get(depth[kpi.id], 0)
                per_column[depth[kpi.id]] = row + 1
                nodes.append(
                    MapNode(
                        "kpi",
                        kpi.id,
                        kpi.name,
                        GOAL_WIDTH + depth[kpi.id] * (NODE_WIDTH + COLUMN_GAP) + COLUMN_GAP / 2,
                        y + row * (NODE_HEIGHT + ROW_GAP),
                        NODE_WIDTH,
                        NODE_HEIGHT,
                    )
                )
            rows = max(per_column.values())
            group_height = rows * (NODE_HEIGHT + ROW_GAP) - ROW_GAP
            nodes.append(MapNode("goal", goal_id or "", statement, 8, y, GOAL_WIDTH - 24, group_height))
            y += group_height + GOAL_GAP + ROW_GAP
        nodes.append(MapNode("unit", unit_id or "", unit_name, 0, band_top, width, y - band_top - GOAL_GAP / 2))
        y += GOAL_GAP
    return MapLayout(nodes, edges, width, max(y, NODE_HEIGHT))


def _wrapped(text: str, width: int, lines: int) -> list[str]:
    words, out, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    out.append(line)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: width - 1].rstrip() + "…"
    return [o[:width] for o in out]


def map_svg(
    layout: MapLayout,
    statuses: Mapping[str, Status],
    values: Mapping[str, str],
    *,
    link: Callable[[str], str] | None = None,
) -> str:
    """The map as SVG: status-coloured KPI boxes (each a link when ``link`` gives a URL) and arrows."""
    w, h = layout.width, layout.height
    parts = [
        # No width/height: the page sizes the map (CSS), the viewBox keeps its proportions.
        f'<svg xmlns="http://www.w3.org/2000/svg" class="strategy-map" viewBox="-4 -4 {w + 8:.0f} {h + 8:.0f}" '
        'role="img" aria-label="Strategy map">',
        '<defs><marker id="arrow-leads" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1f5f7a"/></marker>'
        '<marker id="arrow-drives" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#78909c"/></marker></defs>',
    ]
    for node in (n for n in layout.nodes if n.kind == "unit"):
        parts.append(
            f'<rect x="{node.x}" y="{node.y}" width="{node.width}" height="{node.height}" rx="6" fill="#f7f9fa" '
            f'stroke="#cfd8dc"/><text x="{node.x + 10}" y="{node.y + 19}" style="{FONT};font-size:14px;'
            f'font-weight:bold" fill="#263238">{escape(node.label)}</text>'
        )
    for node in (n for n in layout.nodes if n.kind == "goal"):
        lines = _wrapped(node.label, 30, max(1, int(node.height // 15)))
        text = "".join(
            f'<tspan x="{node.x + 8}" dy="{14 if i else 0}">{escape(line)}</tspan>' for i, line in enumerate(lines)
        )
        parts.append(
            f'<rect x="{node.x}" y="{node.y}" width="{node.width}" height="{node.height}" rx="4" fill="white" '
            f'stroke="#90a4ae" stroke-dasharray="3 2"/><text x="{node.x + 8}" y="{node.y + 16}" '
            f'style="{FONT};font-size:12px" fill="#37474f">{text}</text>'
        )
    boxes = {n.id: n for n in layout.nodes if n.kind == "kpi"}
    for edge in layout.edges:
        start, end = boxes[edge.source], boxes[edge.target]
        x1, y1 = start.x + start.width, start.y + start.height / 2
        x2, y2 = end.x, end.y + end.height / 2
        if x2 > x1 + NODE_WIDTH + COLUMN_GAP:
            # Skipping a column: run in the gaps (down the column gap, along the row gap above the
            # target, down the target's column gap), never across a box in between.
            gap1, gap2 = x1 + COLUMN_GAP / 2, x2 - COLUMN_GAP / 2
            lane = end.y - ROW_GAP / 2
            path = f"M{x1:.0f},{y1:.0f} H{gap1:.0f} V{lane:.0f} H{gap2:.0f} V{y2:.0f} H{x2:.0f}"
        elif x2 <= x1:  # same column or backwards: loop out to the right of both boxes
            x1, x2 = start.x + start.width, end.x + end.width
            bend = max(x1, x2) + 36
            path = f"M{x1:.0f},{y1:.0f} C{bend:.0f},{y1:.0f} {bend:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
        else:
            middle = (x1 + x2) / 2
            path = f"M{x1:.0f},{y1:.0f} C{middle:.0f},{y1:.0f} {middle:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
        style = (
            'stroke="#1f5f7a" stroke-width="1.6"' if edge.kind == "leads" else 'stroke="#78909c" stroke-dasharray="4 3"'
        )
        parts.append(
            f'<path d="{path}" fill="none" {style} marker-end="url(#arrow-{edge.kind})" '
            f'data-from="{escape(edge.source)}" data-to="{escape(edge.target)}" data-kind="{edge.kind}"/>'
        )
    for node in boxes.values():
        level = statuses.get(node.id, Status.UNKNOWN)
        lines = _wrapped(node.label, 28, 2)
        name = "".join(
            f'<tspan x="{node.x + 8}" dy="{13 if i else 0}">{escape(line)}</tspan>' for i, line in enumerate(lines)
        )
        box = (
            f'<g class="kpi" data-kpi="{escape(node.id)}" data-status="{level.value}"><title>{escape(node.label)}'
            f'</title><rect x="{node.x}" y="{node.y}" width="{node.width}" height="{node.height}" rx="5" '
            f'fill="{STATUS_FILL[level]}" stroke="{STATUS_STROKE[level]}" stroke-width="1.4"/>'
            f'<text x="{node.x + 8}" y="{node.y + 15}" style="{FONT};font-size:11.5px" fill="#212121">{name}</text>'
            f'<text x="{node.x + node.width - 8}" y="{node.y + node.height - 6}" text-anchor="end" '
            f'style="{FONT};font-size:10.5px;font-weight:bold" fill="{STATUS_STROKE[level]}">'
            f"{escape(values.get(node.id, ''))}</text></g>"
        )
        parts.append(
            f'<a href="{escape(link(node.id))}" target="_top" style="text-decoration:none">{box}</a>' if link else box
        )
    legend_y = h - 2
    parts.append(
        f'<text x="{w - 4:.0f}" y="{legend_y:.0f}" text-anchor="end" style="{FONT};font-size:10px" fill="#546e7a">'
        "solid arrow: leading → lagging · dashed: input of a derived KPI</text>"
    )
    parts.append("</svg>")
    return "".join(parts)

"""Small inline SVG pictures for the report: a KPI's trend with its target line and threshold bands.

Drawn here rather than by a chart library so that the HTML and the PDF hold the very same picture,
need no browser or network to render, and carry their numbers (``data-period``/``data-value``) for
tests to read back.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from kpi_model.models import Direction
from kpi_model.periods import is_complete, period_label
from kpi_model.status import Status, bands, kpi_value

if TYPE_CHECKING:
    import datetime as dt

    from kpi_model.engine import Series
    from kpi_model.models import Kpi

STATUS_FILL = {Status.GREEN: "#e3f1e4", Status.AMBER: "#fdf0d5", Status.RED: "#f9dcdc", Status.UNKNOWN: "#eef1f3"}
STATUS_STROKE = {Status.GREEN: "#2e7d32", Status.AMBER: "#b26a00", Status.RED: "#c62828", Status.UNKNOWN: "#78909c"}
LINE = "#1f5f7a"
FONT = "font-family:'DejaVu Sans',Arial,sans-serif"


def _value_range(values: list[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if low == high:
        pad = abs(low) * 0.1 or 1.0
        return low - pad, high + pad
    pad = (high - low) * 0.08
    return low - pad, high + pad


def trend_svg(kpi: Kpi, series: Series, as_of: dt.date, *, width: int = 420, height: int = 130) -> str:
    """The KPI's periods as a line: complete ones solid, partial ones hollow and labelled, target dashed.

    Background bands are the red/amber/green zones of the KPI's thresholds (or its target).
    """
    points = [p for p in series.points if p.dimension is None and p.value is not None]
    if not points:
        return ""
    grain = series.request.grain
    target = kpi.target.value if kpi.target and kpi.target.value is not None else None
    references = [target, *([kpi.thresholds.warning, kpi.thresholds.critical] if kpi.thresholds else [])]
    if kpi.direction == Direction.RANGE and kpi.target and kpi.target.low is not None and kpi.target.high is not None:
        references += [kpi.target.low, kpi.target.high]
    complete = [is_complete(p.period, grain, as_of, series.coverage) for p in points]
    # The scale follows the complete periods: half a month's dip must not flatten two years of trend.
    values = [float(p.value) for p, done in zip(points, complete, strict=True) if done and p.value is not None]
    values = values or [float(p.value) for p in points if p.value is not None]
    low, high = _value_range(values + [float(v) for v in references if v is not None])
    target_label = f"target {kpi_value(kpi, target)}" if target is not None else ""
    # Room on the right for the target's label at about 6 px a character (10 px DejaVu Sans).
    left, right, top, bottom = 58, max(34, 6 * len(target_label) + 10), 10, 22
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(index: int) -> float:
        return left + (plot_w * index / (len(points) - 1) if len(points) > 1 else plot_w / 2)

    def y(value: float) -> float:  # clipped: a partial period outside the scale sits on its edge
        return top + plot_h * (high - min(max(value, low), high)) / (high - low)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(kpi.name)}: trend">'
    ]
    for band_low, band_high, level in bands(kpi, low, high):
        parts.append(
            f'<rect x="{left}" y="{y(band_high):.1f}" width="{plot_w}" height="{y(band_low) - y(band_high):.1f}" '
            f'fill="{STATUS_FILL[level]}"/>'
        )
    parts.append(
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#b0bec5" '
        'stroke-width="0.6"/>'
    )
    label_style = f'style="{FONT};font-size:10px" fill="#455a64"'
    for value in (max(values), min(values)):  # the highest and lowest values reached, not the padded edges
        parts.append(
            f'<text x="{left - 4}" y="{y(value) + 3:.1f}" text-anchor="end" {label_style}>'
            f"{escape(kpi_value(kpi, value))}</text>"
        )
    shown_periods = {0, len(points) - 1} if len(points) > 1 else {0}
    for index in sorted(shown_periods):
        anchor = "start" if index == 0 and len(points) > 1 else "end" if index else "middle"
        parts.append(
            f'<text x="{x(index):.1f}" y="{height - 6}" text-anchor="{anchor}" {label_style}>'
            f"{period_label(points[index].period, grain)}</text>"
        )
    if target is not None and low <= target <= high:
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(target):.1f}" y2="{y(target):.1f}" stroke="#c62828" '
            'stroke-width="1.2" stroke-dasharray="5 3"/>'
            f'<text x="{left + plot_w + 4}" y="{y(target) + 3:.1f}" style="{FONT};font-size:10px" fill="#c62828">'
            f"{escape(target_label)}</text>"
        )
    solid = [f"{x(i):.1f},{y(float(p.value or 0)):.1f}" for i, p in enumerate(points) if complete[i]]
    if len(solid) > 1:
        parts.append(f'<polyline points="{" ".join(solid)}" fill="none" stroke="{LINE}" stroke-width="1.8"/>')
    for index, point in enumerate(points):
        value = float(point.value or 0)
        fill = LINE if complete[index] else "white"
        state = "complete" if complete[index] else "partial"
        parts.append(
            f'<circle cx="{x(index):.1f}" cy="{y(value):.1f}" r="2.6" fill="{fill}" stroke="{LINE}" '
            f'data-period="{point.period.isoformat()}" data-value="{value!r}" data-state="{state}">'
            f"<title>{period_label(point.period, grain)}: {escape(kpi_value(kpi, value))} ({state})</title></circle>"
        )
        if not complete[index] and index == len(points) - 1:
            # The label carries the value: the point may sit on the scale's edge, not at its height.
            above = y(value) > top + 12
            parts.append(
                f'<text x="{x(index) - 4:.1f}" y="{y(value) + (-6 if above else 12):.1f}" text-anchor="end" '
                f'style="{FONT};font-size:9px;font-style:italic" fill="#546e7a">'
                f"partial: {escape(kpi_value(kpi, value))}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)

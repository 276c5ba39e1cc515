"""The scorecard report a workshop takes home: cover, strategy map, a page per unit, KPI sheets, audit summary.

:func:`build_report` gathers what it says from a workspace and its data; :func:`render_html` and
:func:`render_pdf` lay the same content out from one template.
"""

from kpi_model.report.content import SECTIONS, ReportContent, ReportError, build_report
from kpi_model.report.render import PAPER, ReportRenderError, render_html, render_pdf

__all__ = [
    "PAPER",
    "SECTIONS",
    "ReportContent",
    "ReportError",
    "ReportRenderError",
    "build_report",
    "render_html",
    "render_pdf",
]

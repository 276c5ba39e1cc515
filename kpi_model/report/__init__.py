"""The scorecard report a workshop takes home: cover, strategy map, a page per unit, KPI sheets, audit summary.

:func:`build_report` gathers what it says from a workspace and its data; :func:`render_html` and
:func:`render_pdf` lay the same content out from one template.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kpi_model.report.choices import PAPER, SECTIONS
    from kpi_model.report.content import ReportContent, ReportError, build_report
    from kpi_model.report.render import ReportRenderError, render_html, render_pdf

# Loaded when first used: no command but `report` should pay for the report's modules at start-up.
_WHERE = {
    "SECTIONS": "choices",
    "ReportContent": "content",
    "ReportError": "content",
    "build_report": "content",
    "PAPER": "choices",
    "ReportRenderError": "render",
    "render_html": "render",
    "render_pdf": "render",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"kpi_model.report.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'kpi_model.report' has no attribute {name!r}")


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

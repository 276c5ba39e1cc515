"""The report laid out: one HTML template for both the self-contained HTML file and the PDF.

The PDF is the same HTML printed by WeasyPrint (no browser). Nothing is fetched while rendering:
pictures are inline SVG, fonts are the system's, and a URL fetcher that refuses everything stands
between a hostile KPI name (``<img src="file:///etc/passwd">`` is escaped anyway) and the disk.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from typing import Any

from kpi_model.errors import KpiWizardError
from kpi_model.report.choices import PAPER
from kpi_model.report.content import ReportContent
from kpi_model.report.strategy_map import layout_map, map_svg
from kpi_model.report.svg import trend_svg

MAP_BOXES_PER_PAGE = 40  # more KPI boxes than this get a map per unit


class ReportRenderError(KpiWizardError):
    """The PDF could not be made on this machine (a system library missing)."""


def _template() -> Any:
    import jinja2

    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return environment.from_string(files("kpi_model.report").joinpath("report.html").read_text(encoding="utf-8"))


def render_html(report: ReportContent, *, paper: str = "a4", kpi_link: Callable[[str], str] | None = None) -> str:
    """The report as one HTML file: every picture inline, no remote resource, printable on ``paper``.

    ``kpi_link`` gives the map's KPI boxes their targets (default: the KPI's definition sheet, when
    the report has them).
    """
    if paper not in PAPER:
        raise KpiWizardError(f"unknown paper size '{paper}': use {' or '.join(PAPER)}")
    shown = [tile.kpi for tile in report.tiles] or [sheet.kpi for sheet in report.definitions]
    if kpi_link is None and "definitions" in report.sections:

        def kpi_link(kpi_id: str) -> str:
            return f"#kpi-{kpi_id}"

    statuses = {tile.kpi.id: tile.status for tile in report.tiles}
    values = {tile.kpi.id: tile.latest_value for tile in report.tiles if tile.latest_label}
    maps: list[tuple[str, str]] = []
    if len(shown) <= MAP_BOXES_PER_PAGE:
        maps = [("", map_svg(layout_map(report.workspace, shown), statuses, values, link=kpi_link))] if shown else []
    else:  # one map for the whole of a large set would shrink to an unreadable strip: one per unit
        for page in report.units:
            kpis = [tile.kpi for tile in page.tiles]
            maps.append((page.title, map_svg(layout_map(report.workspace, kpis), statuses, values, link=kpi_link)))
    charts = {
        tile.kpi.id: trend_svg(tile.kpi, tile.series, report.as_of) for tile in report.tiles if tile.series is not None
    }
    footer = css_string(f"{report.title} · as of {report.as_of.isoformat()}")
    return str(_template().render(report=report, maps=maps, charts=charts, page_size=PAPER[paper], footer=footer))


def css_string(text: str) -> str:
    """``text`` for inside a double-quoted CSS string: every character but letters, digits, spaces and
    a few safe signs as a CSS escape, so a title can neither end the string nor the style element."""
    return "".join(ch if ch.isalnum() or ch in " ·-_.,:()" else f"\\{ord(ch):x} " for ch in text)


def _refuse(url: str, *args: object, **kwargs: object) -> dict[str, Any]:
    raise ValueError(f"the report fetches nothing ({url[:80]})")


def render_pdf(report: ReportContent, *, paper: str = "a4") -> bytes:
    """The report as PDF, printed from :func:`render_html` by WeasyPrint."""
    html = render_html(report, paper=paper)
    try:
        import weasyprint
    except (ImportError, OSError) as error:  # OSError: WeasyPrint's Pango library is not on the machine
        raise ReportRenderError(
            f"PDF output needs WeasyPrint and its Pango library ({error}): run `make install` (it installs "
            "Debian's libpango when missing), or choose the HTML format"
        ) from error
    document = weasyprint.HTML(string=html, url_fetcher=_refuse)
    return bytes(document.write_pdf())

"""Take the README's screenshots: the app on the sample workspace in headless Chromium.

Run from the repo root: ``make screenshots`` (writes docs/img/*.png).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent

OUT = REPO / "docs" / "img"


@contextlib.contextmanager
def sample_app_page(*, width: int, height: int) -> Iterator[Any]:
    """A browser page on the Start page of a fresh app that opened the sample workspace (closed after)."""
    sys.path.insert(0, str(REPO))  # the browser helpers live with the tests
    from tests.browser import browser_page, running_app

    with (
        tempfile.TemporaryDirectory() as home,
        running_app(Path(home) / "store", open_workspace=REPO / "sample_data" / "workspace.yaml") as url,
        browser_page(width=width, height=height) as page,
    ):
        page.goto(url)
        page.get_by_role("heading", name="KPI Wizard").wait_for()
        yield page


def main() -> None:
    """Visit each page and save a PNG of it."""
    OUT.mkdir(parents=True, exist_ok=True)
    with sample_app_page(width=1400, height=1300) as page:
        from tests.browser import wait_idle  # importable once sample_app_page has put the repo on the path

        wait_idle(page)
        page.screenshot(path=str(OUT / "start.png"))

        page.get_by_role("link", name="Goals", exact=True).first.click()
        page.get_by_role("heading", name="Units and strategic goals").wait_for()
        page.get_by_text("Add a goal").wait_for()
        wait_idle(page)
        page.screenshot(path=str(OUT / "goals.png"))

        page.get_by_role("link", name="KPIs", exact=True).first.click()
        page.get_by_role("heading", name="KPIs per goal").wait_for()
        page.get_by_label("Search templates", exact=True).fill("churn")
        page.get_by_label("Search templates", exact=True).press("Enter")
        wait_idle(page)
        page.screenshot(path=str(OUT / "kpis.png"))
        kpi_card = page.locator("[data-testid='stExpander']").filter(has_text="% complete").first
        kpi_card.locator("summary").click()
        page.get_by_role("button", name="Save KPI").first.wait_for()
        wait_idle(page)
        kpi_card.screenshot(path=str(OUT / "kpi-form.png"))

        page.get_by_role("link", name="Data", exact=True).first.click()
        page.get_by_role("heading", name="Data").wait_for()
        page.get_by_text("Loaded tables (").wait_for(timeout=120_000)
        page.locator("[data-testid='stExpander'] summary").first.click()
        wait_idle(page)
        page.wait_for_timeout(800)
        page.screenshot(path=str(OUT / "data.png"))

        # The grid of KPIs, after the data is loaded (its suggestions read baselines from it).
        page.get_by_role("link", name="KPIs", exact=True).first.click()
        page.get_by_role("heading", name="KPIs per goal").wait_for()
        page.locator("[data-testid='stSelectbox']").filter(has_text="Goal").first.click()
        page.get_by_role(
            "option", name="Customer Service — Lift CSAT to 4.3 and cut defect-related returns by a third in 2027"
        ).click()
        wait_idle(page)
        page.locator("[data-testid='stButtonGroup'] button").filter(has_text="All in a grid").click()
        page.get_by_text("Suggestions for empty cells").wait_for()
        wait_idle(page)
        grid = page.locator(".st-key-kpi_grid_section")
        grid.scroll_into_view_if_needed()
        page.wait_for_timeout(1000)  # the grid draws on a canvas after the run ends
        grid.screenshot(path=str(OUT / "kpi-grid.png"))

        page.get_by_role("link", name="Preview", exact=True).first.click()
        page.get_by_role("heading", name="Preview").wait_for()
        wait_idle(page)
        page.locator("[data-testid='stVegaLiteChart']").first.wait_for()
        page.wait_for_timeout(1000)
        page.screenshot(path=str(OUT / "preview.png"))

        page.get_by_role("link", name="Dashboard", exact=True).first.click()
        page.get_by_role("heading", name="Dashboard").wait_for()
        wait_idle(page)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(OUT / "dashboard.png"))
        page.get_by_role("radio", name="Strategy map").click()
        page.locator("svg.strategy-map").first.wait_for()
        wait_idle(page)
        page.wait_for_timeout(800)
        page.screenshot(path=str(OUT / "strategy-map.png"))

        page.get_by_role("link", name="What-if", exact=True).first.click()
        page.get_by_role("heading", name="What-if").wait_for()
        page.get_by_text("Needed per month").wait_for()
        wait_idle(page)
        page.locator("[data-testid='stVegaLiteChart']").first.wait_for()
        page.wait_for_timeout(1000)
        page.screenshot(path=str(OUT / "whatif.png"))
        page.get_by_role("radio", name="Driver tree").click()
        page.locator("[data-testid='stGraphVizChart'] svg").first.wait_for()
        wait_idle(page)
        page.wait_for_timeout(800)
        page.screenshot(path=str(OUT / "driver-tree.png"))
        page.get_by_role("radio", name="Leading vs lagging").click()
        page.locator("[data-testid='stVegaLiteChart']").first.wait_for()
        wait_idle(page)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(OUT / "leadlag.png"))

        page.get_by_role("link", name="Audit", exact=True).first.click()
        page.get_by_role("heading", name="Audit").wait_for()
        page.get_by_text("Design score", exact=True).wait_for()
        wait_idle(page)
        page.wait_for_timeout(800)
        page.screenshot(path=str(OUT / "audit.png"))

        page.get_by_role("link", name="Review", exact=True).first.click()
        page.get_by_role("heading", name="Review").wait_for()
        wait_idle(page)
        page.wait_for_timeout(1000)  # data grids draw on a canvas after the run ends
        page.screenshot(path=str(OUT / "review.png"))

        presentation(page)  # last, as it closes the sidebar
    report_pages()
    print(f"wrote {', '.join(sorted(p.name for p in OUT.glob('*.png')))} to {OUT}")


def presentation(page) -> None:
    """The Dashboard in presentation mode, as a 1024×768 projector shows it (presentation.png)."""
    from tests.browser import wait_idle

    page.set_viewport_size({"width": 1024, "height": 768})
    address = urlsplit(page.url)
    query = "&".join(part for part in (address.query, "present=1") if part)
    page.goto(urlunsplit(address._replace(path="/dashboard", query=query)))
    page.locator("[class*='st-key-kpi_tile_']").first.wait_for(timeout=180_000)  # the data loads on first use
    wait_idle(page)
    page.locator("[data-testid='stToast']").first.wait_for(state="detached", timeout=15_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(OUT / "presentation.png"))


def presentation_only() -> None:
    """Only presentation.png, on a fresh app: ``python docs/screenshots.py presentation``."""
    with sample_app_page(width=1024, height=768) as page:
        presentation(page)
    print(f"wrote presentation.png to {OUT}")


# Pages of the sample's PDF report shown in the README, by what is on them.
REPORT_PAGES = {"report-cover": 1, "report-map": 2, "report-unit": 3}


def report_pages() -> None:
    """The sample's PDF report, printed by the CLI, with some pages as PNG (pdftoppm, Debian's poppler-utils)."""
    with tempfile.TemporaryDirectory() as folder:
        pdf = Path(folder) / "report.pdf"
        kpi_wizard = Path(sys.executable).parent / "kpi-wizard"
        subprocess.run(
            [str(kpi_wizard), "report", str(REPO / "sample_data" / "workspace.yaml"), "-o", str(pdf)], check=True
        )
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        pages = text.split("\f")
        lines = [[line.strip() for line in page.splitlines()] for page in pages]
        sheet = next(i for i, page in enumerate(lines, start=1) if "KPI definition sheet" in page)
        audit = next(
            i for i, page in enumerate(pages, start=1) if page.lstrip().startswith("Audit summary for the board")
        )
        for name, number in {**REPORT_PAGES, "report-sheet": sheet, "report-audit": audit}.items():
            stem = Path(folder) / name
            subprocess.run(
                [
                    "pdftoppm",
                    "-png",
                    "-r",
                    "70",
                    "-singlefile",
                    "-f",
                    str(number),
                    "-l",
                    str(number),
                    str(pdf),
                    str(stem),
                ],
                check=True,
            )
            (OUT / f"{name}.png").write_bytes(stem.with_suffix(".png").read_bytes())


if __name__ == "__main__":
    presentation_only() if sys.argv[1:] == ["presentation"] else main()

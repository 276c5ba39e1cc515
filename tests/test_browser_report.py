"""A real browser: the strategy map's boxes open their KPI, and the report downloads as a PDF."""

from __future__ import annotations

import os
from pathlib import Path

from .browser import browser_page, require_chromium, running_app, wait_idle
from .conftest import SAMPLE_WORKSPACE


def test_map_box_opens_the_kpi_and_the_report_downloads(tmp_path):
    require_chromium()
    shots = Path(os.environ.get("KPI_WIZARD_SHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    with running_app(tmp_path / "store", open_workspace=SAMPLE_WORKSPACE) as url, browser_page(height=1300) as page:
        page.goto(f"{url}/dashboard")
        page.get_by_role("heading", name="Dashboard").wait_for()
        wait_idle(page)
        page.get_by_role("button", name="Make report").click()
        page.get_by_role("button", name="Download report (PDF)").wait_for(timeout=120_000)
        with page.expect_download() as download:
            page.get_by_role("button", name="Download report (PDF)").click()
        saved = tmp_path / "report.pdf"
        download.value.save_as(saved)
        assert download.value.suggested_filename == "northwind-outfitters-2027-scorecard_report.pdf"
        assert saved.read_bytes().startswith(b"%PDF") and saved.stat().st_size > 50_000

        page.get_by_role("radio", name="Strategy map").click()
        box = page.locator("svg.strategy-map [data-kpi='csat']")
        box.wait_for(timeout=60_000)
        assert page.locator("svg.strategy-map [data-kpi]").count() == 20
        wait_idle(page)
        page.screenshot(path=str(shots / "strategy-map.png"), full_page=True)
        box.click()
        page.get_by_role("heading", name="KPIs per goal").wait_for(timeout=60_000)
        wait_idle(page)
        page.get_by_text("Customer satisfaction (CSAT) —").first.wait_for()
        assert page.get_by_text("What and who").count() >= 1, "the linked KPI's card is open"

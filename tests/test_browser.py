"""A real browser against `streamlit run`: create, edit, download, reload."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from .browser import browser_page, require_chromium, running_app, wait_idle


def test_workshop_in_a_real_browser(tmp_path):
    require_chromium()
    artifacts = Path(os.environ.get("KPI_WIZARD_SHOTS") or tmp_path / "shots")
    artifacts.mkdir(parents=True, exist_ok=True)
    with running_app(tmp_path / "store") as url, browser_page() as page:
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(url)
        page.get_by_role("heading", name="KPI Wizard").wait_for()
        page.get_by_label("Name", exact=True).fill("Browser Co 2027")
        page.get_by_role("button", name="Create workspace").click()
        page.get_by_role("heading", name="Units and strategic goals").wait_for()

        page.get_by_label("Unit name", exact=True).fill("Customer Service")
        page.get_by_label("Head of unit", exact=True).fill("Head of Service")
        page.get_by_role("button", name="Add unit").click()
        page.get_by_text("Added unit 'Customer Service'").wait_for()

        page.get_by_label("Strategic goal", exact=True).first.fill("Resolve issues on first contact")
        page.get_by_role("button", name="Add goal").click()
        page.get_by_text("Added the goal").wait_for()

        page.get_by_role("link", name="KPIs", exact=True).first.click()
        page.get_by_role("heading", name="KPIs per goal").wait_for()
        page.get_by_label("Search templates", exact=True).fill("first contact")
        page.get_by_label("Search templates", exact=True).press("Enter")
        wait_idle(page)
        add = page.get_by_role("button", name="Add “")
        add.click()
        page.get_by_text("Fill in its owner").wait_for()
        page.get_by_label("Owner (a person or role)", exact=True).fill("Service Lead")
        page.get_by_role("button", name="Save KPI").click()
        page.get_by_text("Saved '").wait_for()
        page.screenshot(path=str(artifacts / "kpis.png"), full_page=True)

        page.get_by_role("link", name="Review", exact=True).first.click()
        page.get_by_role("heading", name="Review").wait_for()
        wait_idle(page)
        page.screenshot(path=str(artifacts / "review.png"), full_page=True)
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download YAML").click()
        downloaded = tmp_path / "download.yaml"
        download_info.value.save_as(downloaded)
        data = yaml.safe_load(downloaded.read_text(encoding="utf-8"))
        assert data["name"] == "Browser Co 2027"
        assert [u["id"] for u in data["units"]] == ["customer-service"]
        (kpi,) = data["kpis"]
        assert kpi["owner"] == "Service Lead"
        assert kpi["goal"] == data["goals"][0]["id"]

        # A reload starts a new session: the ?ws= id in the URL brings the same work back.
        assert "ws=" in page.url
        page.reload()
        page.get_by_role("heading", name="Review").wait_for()
        page.get_by_text("Browser Co 2027").first.wait_for()
        page.get_by_role("heading", name="Resolve issues on first contact").wait_for()

        # The data stays on this machine: the page fetches nothing from anywhere else (no fonts, no favicon).
        served_here = (url.rstrip("/"), "data:", "blob:")
        assert requested and [u for u in requested if not u.startswith(served_here)] == []

"""A real browser on the What-if and Audit pages of the sample: try a target, save it, audit the set."""

from __future__ import annotations

import os
import time
from pathlib import Path

from kpi_model.store import WorkspaceStore

from .browser import browser_page, require_chromium, running_app, wait_idle
from .conftest import SAMPLE_WORKSPACE


def test_whatif_saves_a_target_and_audit_shows_findings(tmp_path):
    require_chromium()
    shots = Path(os.environ.get("KPI_WIZARD_SHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    home = tmp_path / "store"
    with running_app(home, open_workspace=SAMPLE_WORKSPACE) as url, browser_page(height=1300) as page:
        page.goto(f"{url}/whatif")
        page.get_by_role("heading", name="What-if").wait_for()
        page.get_by_text("Needed per month").wait_for(timeout=120_000)
        wait_idle(page)
        page.locator("[data-testid='stVegaLiteChart']").first.wait_for()
        page.get_by_text("Past periods that met it").wait_for()
        page.screenshot(path=str(shots / "whatif.png"))

        needed = page.get_by_test_id("stMetricValue").nth(1)
        before = needed.inner_text()
        target = page.get_by_label("Target", exact=True)
        target.fill("11000")
        target.press("Enter")
        deadline = time.monotonic() + 30
        while needed.inner_text() == before and time.monotonic() < deadline:  # the page recomputed
            page.wait_for_timeout(200)
        assert needed.inner_text() != before, "a new target changes the growth it needs"
        wait_idle(page)
        page.get_by_role("button", name="Save this target to the KPI").click()
        deadline = time.monotonic() + 30
        while not WorkspaceStore(home).list_workspaces() and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        (stored,) = WorkspaceStore(home).list_workspaces()
        assert WorkspaceStore(home).load(stored.id).kpi("sessions").target.value == 11000
        page.get_by_text("Saved the target of").wait_for()

        page.get_by_role("radio", name="Driver tree").click()
        page.locator("[data-testid='stGraphVizChart'] svg").first.wait_for()
        wait_idle(page)
        page.screenshot(path=str(shots / "driver-tree.png"))

        page.get_by_role("link", name="Audit", exact=True).click()
        page.get_by_role("heading", name="Audit").wait_for()
        page.get_by_text("Design score", exact=True).wait_for(timeout=120_000)
        wait_idle(page)
        page.get_by_text("goal-kpi-count").first.wait_for()  # in the first unit, shown open
        page.screenshot(path=str(shots / "audit.png"))

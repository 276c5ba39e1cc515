"""The grid of KPIs in a real browser: a block pasted from a spreadsheet is read as typed and saved once."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpi_model.store import WorkspaceStore

from .browser import browser_page, require_chromium, running_app, wait_idle
from .conftest import SAMPLE_WORKSPACE


def test_a_pasted_block_of_owners_and_numbers_is_saved_as_one_version(tmp_path):
    require_chromium()
    home = tmp_path / "store"
    with running_app(home, open_workspace=SAMPLE_WORKSPACE) as url, browser_page(width=1400, height=1000) as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
        page.goto(url)
        page.get_by_role("heading", name="KPI Wizard").wait_for()
        page.get_by_role("link", name="KPIs", exact=True).first.click()
        page.get_by_role("heading", name="KPIs per goal").wait_for()
        page.locator("[data-testid=stButtonGroup] button").filter(has_text="All in a grid").click()
        page.get_by_role("button", name="Save the grid").wait_for()
        wait_idle(page)
        grid = page.locator(".st-key-kpi_grid_section [data-testid='stDataFrame']")
        grid.scroll_into_view_if_needed()
        page.wait_for_timeout(800)
        box = grid.bounding_box()
        assert box is not None
        # The grid draws on a canvas: click the first row's Owner cell (the column after the pinned KPI names).
        page.mouse.click(box["x"] + 250, box["y"] + 52)

        def paste(text: str) -> None:
            page.evaluate("text => navigator.clipboard.writeText(text)", text)
            page.keyboard.press("Control+v")
            page.wait_for_timeout(500)

        paste("Anna Berg\nBen Chow")  # two rows of one column, as a spreadsheet copies them
        for _ in range(4):  # Owner → Unit of measure → Review cadence → Better when → Baseline value
            page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowDown")
        paste("3,9 %\n1,2k")  # the percent KPI's baseline as a European sheet writes it, then 1,200
        page.get_by_role("button", name="Save the grid").click()
        page.get_by_text("3 KPIs changed", exact=False).wait_for()
        wait_idle(page)

    store = WorkspaceStore(home)
    (item,) = store.list_workspaces()
    assert len(store.versions(item.id)) == 1, "one paste, one save, one version"
    saved = store.load(item.id)
    sessions, conversion, order_value = saved.kpis_of("grow-web-revenue")[:3]
    assert (sessions.owner, conversion.owner) == ("Anna Berg", "Ben Chow")
    assert conversion.baseline.value == pytest.approx(0.039) and order_value.baseline.value == 1200


def test_the_readme_shows_the_grid():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "docs/img/kpi-grid.png" in readme


def test_add_unit_clears_its_form_in_the_browser_and_a_second_one_is_refused(tmp_path):
    """The browser keeps a field's text unless the app sends a new value: an add must clear it for real."""
    require_chromium()
    home = tmp_path / "store"
    with running_app(home) as url, browser_page() as page:
        page.goto(url)
        page.get_by_role("heading", name="KPI Wizard").wait_for()
        page.get_by_label("Name", exact=True).fill("Browser Co")
        page.get_by_role("button", name="Create workspace").click()
        page.get_by_role("heading", name="Units and strategic goals").wait_for()
        add_name = page.get_by_label("Unit name", exact=True).first  # the second is the edit form's
        add_name.fill("Operations")
        page.get_by_role("button", name="Add unit").click()
        page.get_by_text("Added unit 'Operations'").wait_for()
        wait_idle(page)
        page.get_by_text("Add a goal").wait_for()  # the page shows Goals …
        chosen = page.locator("[data-testid=stButtonGroup] [role=radio][aria-checked=true]")
        assert chosen.inner_text() == "Goals", "… and the control says so"
        page.locator("[data-testid=stButtonGroup] button").filter(has_text="Units").click()
        wait_idle(page)
        assert add_name.input_value() == "", "the add form starts empty after an add"
        add_name.fill("Operations")
        page.get_by_role("button", name="Add unit").click()
        page.get_by_text("exists already").wait_for()
        assert add_name.input_value() == "Operations", "a refused add keeps what was typed"
    store = WorkspaceStore(home)
    (item,) = store.list_workspaces()
    assert [u.id for u in store.load(item.id).units] == ["operations"], "no operations-2"

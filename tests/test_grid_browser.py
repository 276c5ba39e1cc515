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
        # The grid draws on a canvas: click the first row's first cell (its check), then walk to Owner.
        page.mouse.click(box["x"] + 30, box["y"] + 52)
        for _ in range(2):  # Check → KPI → Owner
            page.keyboard.press("ArrowRight")

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


def test_a_new_kpis_time_column_is_picked_from_its_sources_dates_and_a_bad_grid_cell_is_marked(tmp_path):
    """The card offers the chosen source's date columns before the first save, keeping what was typed in
    the form; in the grid a bad cell's row shows its problem, nothing is saved until it is fixed."""
    require_chromium()
    from playwright.sync_api import Error as PlaywrightError

    home = tmp_path / "store"
    shots = tmp_path / "shots"
    shots.mkdir()

    def in_view(locator) -> None:
        """Scroll to ``locator``; Streamlit may replace the element while a run ends."""
        for _ in range(20):
            try:
                locator.scroll_into_view_if_needed(timeout=2_000)
                return
            except PlaywrightError:
                locator.page.wait_for_timeout(300)
        locator.scroll_into_view_if_needed()

    with running_app(home, open_workspace=SAMPLE_WORKSPACE) as url, browser_page(width=1400, height=1000) as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
        page.goto(url)
        page.get_by_role("heading", name="KPI Wizard").wait_for()
        page.get_by_role("link", name="Data", exact=True).first.click()
        page.get_by_role("heading", name="Loaded tables (7)").wait_for(timeout=60_000)
        wait_idle(page)
        page.get_by_role("link", name="KPIs", exact=True).first.click()
        page.get_by_role("heading", name="KPIs per goal").wait_for()
        page.get_by_role("tab", name="Custom KPI").click()
        page.locator(".st-key-custom_kpi_name input").fill("Late deliveries")
        page.get_by_role("button", name="Add KPI").click()
        page.get_by_text("Added 'Late deliveries'").wait_for()
        wait_idle(page)

        owner = page.locator(".st-key-kpi_late_deliveries_owner input")
        owner.fill("Head of Logistics")  # typed in the form before the source is picked
        page.locator(".st-key-kpi_late_deliveries_source").get_by_role("combobox").click()
        page.get_by_role("listbox").get_by_role("option", name="orders", exact=True).click()
        wait_idle(page)
        in_view(page.locator(".st-key-kpi_late_deliveries_source"))
        page.screenshot(path=str(shots / "card-top.png"))
        wait_idle(page)
        for _ in range(3):  # a run that ends as the list opens closes it again
            page.locator(".st-key-kpi_late_deliveries_time_column").get_by_role("combobox").click()
            if page.get_by_role("listbox").count():
                break
            page.wait_for_timeout(500)
        page.get_by_role("listbox").get_by_role("option", name="order_date (date)").wait_for()
        options = page.get_by_role("listbox").get_by_role("option").all_inner_texts()
        page.screenshot(path=str(shots / "card-time-column-open.png"))
        assert options == [
            "—",
            "order_date (date)",
            "returned_date (date)",
            "delivered_date (date)",
            "promised_date (date)",
        ]
        page.get_by_role("listbox").get_by_role("option", name="delivered_date (date)").click()
        assert owner.input_value() == "Head of Logistics", "picking the source keeps what was typed in the form"
        page.locator(".st-key-kpi_late_deliveries_expression textarea").fill("count(*)")
        card = page.get_by_test_id("stForm").filter(has=page.locator(".st-key-kpi_late_deliveries_name"))
        card.get_by_role("button", name="Save KPI").click()
        page.get_by_text("Saved 'Late deliveries'").wait_for()
        wait_idle(page)
        store = WorkspaceStore(home)
        (item,) = store.list_workspaces()
        before = len(store.versions(item.id))

        page.locator("[data-testid=stButtonGroup] button").filter(has_text="All in a grid").click()
        page.get_by_role("button", name="Save the grid").wait_for()
        wait_idle(page)
        grid = page.locator(".st-key-kpi_grid_section [data-testid='stDataFrame']")

        def first_row_target(name_x: int) -> None:
            """The grid draws on a canvas: click the first row's KPI name ``name_x`` pixels in, walk to Target value."""
            wait_idle(page)
            in_view(grid)  # the editor of the run before may still be on the page, or be replaced
            box, previous = grid.bounding_box(), None
            while box != previous:  # Streamlit may still be moving things above it
                page.wait_for_timeout(400)
                previous, box = box, grid.bounding_box()
            assert box is not None
            name_cell = grid.locator("#glide-cell-1-0[aria-selected=true]")  # the grid's own accessible table
            for _ in range(3):  # a click just after a run may only give the grid focus
                page.mouse.click(box["x"] + name_x, box["y"] + 52)
                page.wait_for_timeout(300)
                if name_cell.count():
                    break
            assert name_cell.count(), "the first row's KPI name is selected"
            for _ in range(7):  # KPI → Owner, …, Baseline period → Target value
                page.keyboard.press("ArrowRight")

        def paste(text: str) -> None:
            page.evaluate("text => navigator.clipboard.writeText(text)", text)
            page.keyboard.press("Control+v")
            page.wait_for_timeout(500)

        first_row_target(120)  # Check is narrow while every row reads
        paste("lots")
        page.get_by_text("1 cell cannot be used yet", exact=False).wait_for()
        wait_idle(page)
        page.wait_for_timeout(800)
        page.locator(".st-key-kpi_grid_section").screenshot(path=str(shots / "grid-bad-cell.png"))
        page.get_by_role("button", name="Save the grid").click()
        page.get_by_text("Nothing was saved", exact=False).wait_for()
        wait_idle(page)
        assert len(store.versions(item.id)) == before, "nothing saved"

        first_row_target(250)  # … and wider while a row has a problem
        paste("12k")
        page.get_by_text("1 cell cannot be used yet", exact=False).wait_for(state="detached")
        wait_idle(page)
        page.get_by_role("button", name="Save the grid").click()
        page.get_by_text("1 KPI changed", exact=False).wait_for()
        wait_idle(page)

    assert len(store.versions(item.id)) == before + 1
    saved = store.load(item.id)
    assert saved.kpi("late_deliveries").time_column == "delivered_date"
    assert saved.kpi("late_deliveries").owner == "Head of Logistics"
    assert saved.kpis_of("grow-web-revenue")[0].target.value == 12_000

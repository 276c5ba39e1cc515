"""The data pages in a real browser against `streamlit run` on the bundled sample: Data, Preview, Dashboard."""

from __future__ import annotations

import time

from kpi_model import workspace_file
from kpi_model.store import WorkspaceStore

from .browser import browser_page, eventually, require_chromium, running_app, wait_idle
from .conftest import SAMPLE_WORKSPACE

SAMPLE = workspace_file.load(SAMPLE_WORKSPACE)
CSV = "day,region,amount\n31/01/2025,North,10.5\n28/02/2025,South,20\n15/03/2025,North,7.25\n"


def test_data_preview_dashboard_in_a_real_browser(tmp_path):
    require_chromium()
    shots = tmp_path / "shots"
    shots.mkdir()
    upload_file = tmp_path / "shop_sales.csv"
    upload_file.write_text(CSV, encoding="utf-8")
    home = tmp_path / "store"
    with running_app(home, open_workspace=SAMPLE_WORKSPACE) as url, browser_page() as page:
        console_errors: list[str] = []
        page.on("pageerror", lambda error: console_errors.append(str(error)))

        # Data: the sample's seven tables are loaded into DuckDB on first use.
        page.goto(url)
        page.get_by_role("heading", name="KPI Wizard").wait_for()
        page.get_by_text("Open: Northwind Outfitters 2027 scorecard").wait_for()
        page.get_by_role("link", name="Data", exact=True).first.click()
        page.get_by_role("heading", name="Data", exact=True).wait_for()
        page.get_by_text("orders — 18,616 rows, 15 columns").wait_for(timeout=60_000)
        page.get_by_role("heading", name="Loaded tables (7)").wait_for()
        page.get_by_text("web_sessions — 214,233 rows, 7 columns").wait_for()
        wait_idle(page)
        page.screenshot(path=str(shots / "1-data.png"), full_page=True)

        # Upload a CSV as a new source.
        page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(upload_file))
        page.get_by_text("shop_sales.csv").first.wait_for()
        wait_idle(page)
        page.get_by_role("button", name="Load file").click()
        page.get_by_text("Loaded 3 rows from shop_sales.csv as 'shop_sales'.").wait_for()
        page.get_by_role("heading", name="Loaded tables (8)").wait_for()
        page.get_by_text("shop_sales — 3 rows, 3 columns").wait_for()
        wait_idle(page)
        page.screenshot(path=str(shots / "2-uploaded.png"), full_page=True)
        assert "ws=" in page.url, "the first change saved the sample as the user's own workspace"
        (item,) = WorkspaceStore(home).list_workspaces()
        saved = WorkspaceStore(home).load(item.id)
        assert saved.source("shop_sales") is not None and saved.source("shop_sales").path == "files/shop_sales.csv"
        assert (home / item.id / "files" / "shop_sales.csv").read_text(encoding="utf-8") == CSV

        # Preview: the first KPI with a formula is charted, with its latest value.
        page.get_by_role("link", name="Preview", exact=True).first.click()
        page.get_by_role("heading", name="Preview", exact=True).wait_for()
        chart = page.locator("[data-testid='stVegaLiteChart']")
        chart.first.wait_for()
        chart.locator("canvas, svg").first.wait_for()
        page.get_by_text("Latest (2026-10)").wait_for()
        metric_values = page.locator("[data-testid='stMetricValue']").all_inner_texts()
        assert metric_values[0] == "10,359", metric_values
        box = chart.first.bounding_box()
        assert box is not None and box["width"] > 400 and box["height"] > 200, box
        wait_idle(page)
        page.screenshot(path=str(shots / "3-preview.png"), full_page=True)
        chart.first.screenshot(path=str(shots / "3-preview-chart.png"))

        # A broken formula: the problem is shown inline and the chart goes away.
        formula = page.get_by_label("Formula", exact=True)
        formula.fill("count(*) +")
        formula.press("Control+Enter")
        page.get_by_text("the formula does not parse").wait_for()
        wait_idle(page)
        assert chart.count() == 0, "no chart for a formula that does not check"
        assert page.get_by_role("button", name="Save formula to the KPI").count() == 0
        page.screenshot(path=str(shots / "4-preview-error.png"), full_page=True)

        # A valid edit can be saved into the workspace.
        mobile_formula = "count(*) FILTER (WHERE device = 'mobile')"
        formula.fill(mobile_formula)
        formula.press("Control+Enter")
        page.get_by_role("button", name="Save formula to the KPI").click()
        page.get_by_text("Saved the formula of 'Web shop sessions'.").wait_for()
        chart.first.wait_for()
        wait_idle(page)
        first_value = page.locator("[data-testid='stMetricValue']").first
        deadline = time.monotonic() + 30
        while first_value.inner_text() in ("10,359", "") and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        mobile = first_value.inner_text()
        assert mobile not in ("10,359", ""), mobile
        assert WorkspaceStore(home).load(item.id).kpi("sessions").expression == mobile_formula

        # Dashboard: one tile per KPI of the first unit; the one without a formula says so.
        page.get_by_role("link", name="Dashboard", exact=True).first.click()
        page.get_by_role("heading", name="Dashboard", exact=True).wait_for()
        page.get_by_text("Not computed").first.wait_for()
        wait_idle(page)
        sales_goals = {g.id for g in SAMPLE.goals if g.unit == "sales"}
        computable = [k.name for k in SAMPLE.kpis if k.goal in sales_goals and k.expression]

        def labels() -> list[str]:
            return [label.strip() for label in page.locator("[data-testid='stMetricLabel']").all_inner_texts()]

        assert eventually(page, labels, computable) == computable
        assert page.get_by_text("Checkout abandonment rate").count() >= 1
        sparklines = page.locator("[data-testid='stMetric'] svg, [data-testid='stMetric'] canvas")
        assert eventually(page, lambda: sparklines.count() >= len(computable), True), "a trend line on every tile"
        page.screenshot(path=str(shots / "5-dashboard.png"), full_page=True)

        page.get_by_role("radio", name="Customer Service").click()
        page.get_by_text("Customer satisfaction (CSAT)").first.wait_for()
        wait_idle(page)
        service_goals = {g.id for g in SAMPLE.goals if g.unit == "service"}
        service = [k.name for k in SAMPLE.kpis if k.goal in service_goals]
        assert eventually(page, labels, service) == service
        page.screenshot(path=str(shots / "6-dashboard-service.png"), full_page=True)
        assert console_errors == [], console_errors


def test_bookmarked_data_page_after_a_restart_reopens_the_workspace(tmp_path):
    require_chromium()
    home = tmp_path / "store"
    store = WorkspaceStore(home)
    ws_id = store.new_id()
    store.save(ws_id, SAMPLE)
    with running_app(home) as url, browser_page() as page:
        page.goto(f"{url}/data?ws={ws_id}")  # the first request this server sees
        page.get_by_role("heading", name="Data", exact=True).wait_for()
        wait_idle(page)
        page.screenshot(path=str(tmp_path / "deep-link.png"), full_page=True)
        assert page.get_by_text("No workspace is open yet").count() == 0
        page.get_by_text(SAMPLE.name).first.wait_for()

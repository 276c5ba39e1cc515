"""A real browser through the register audit (issue 11): import a merged-cell workbook whose first sheet is a
change log, pick the KPIs sheet, import, read the verdicts, fix two findings through Edit, and see the
before and after on the Audit page.

Screenshots go to $KPI_WIZARD_SHOTS (e.g. /tmp/kpiw-shots) or the test's temporary folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from kpi_model.store import WorkspaceStore

from .browser import browser_page, require_chromium, running_app, wait_idle
from .conftest import REPO

REGISTER = REPO / "tests" / "register_corpus" / "northwind_finance.xlsx"


def pick(page, key: str, option: str) -> None:
    """Choose ``option`` in the selectbox with this widget key."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    wait_idle(page)
    page.locator(f".st-key-{key}").get_by_role("combobox").click()
    choice = page.get_by_role("option", name=option, exact=True)
    try:
        choice.wait_for(timeout=5_000)
    except PlaywrightTimeout:  # a rerun redrew the box as it opened: open it again
        page.locator(f".st-key-{key}").get_by_role("combobox").click()
    choice.click()
    wait_idle(page)


def click_to(page, button, heading: str) -> None:
    """Click a button that switches page; once more if a rerun swallowed the first click."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    wait_idle(page)
    button.click()
    try:
        page.get_by_role("heading", name=heading).wait_for(timeout=10_000)
    except PlaywrightTimeout:
        button.click()
        page.get_by_role("heading", name=heading).wait_for()


def save_card(page, kpi_id: str, name: str) -> None:
    form = page.get_by_test_id("stForm").filter(has=page.locator(f".st-key-kpi_{kpi_id}_name"))
    form.get_by_role("button", name="Save KPI").click()
    page.get_by_text(f"Saved '{name}'.").wait_for()
    wait_idle(page)


def grid_cells(frame) -> set[str]:
    """The cells of a dataframe: drawn on a canvas, they are in the page (as an accessible table) once it has focus."""
    frame.get_by_test_id("data-grid-canvas").focus()
    table = frame.locator("table[role='grid']")
    table.wait_for(state="attached")
    return {text.strip() for text in table.locator("th, td").all_text_contents()}


def shoot(page, path: Path, height: int = 1100) -> None:
    """A screenshot of the page ``height`` pixels tall (Streamlit scrolls inside its main area, not the page)."""
    page.set_viewport_size({"width": 1400, "height": height})
    wait_idle(page)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1400, "height": 1100})


def design_score(page) -> float:
    text = page.get_by_text(re.compile(r"^Design score [\d.]+/100")).inner_text()
    match = re.match(r"Design score ([\d.]+)/100", text)
    assert match, text
    return float(match.group(1))


def test_import_a_register_fix_two_findings_and_see_them_fixed(tmp_path):
    require_chromium()
    shots = Path(os.environ.get("KPI_WIZARD_SHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    home = tmp_path / "store"
    with running_app(home) as url, browser_page(height=1100) as page:
        try:
            walk_through(page, url, home, shots)
        except Exception:
            page.screenshot(path=str(shots / "register-failed.png"))
            raise


def walk_through(page, url: str, home: Path, shots: Path) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.get_by_role("heading", name="Import a KPI register").wait_for()
    page.locator(".st-key-start_import_upload input[type='file']").set_input_files(str(REGISTER))

    # The sheet picker: the change log comes first in the workbook; the KPIs sheet is the register.
    page.locator(".st-key-start_import_sheet").wait_for()
    wait_idle(page)
    pick(page, "start_import_sheet", "Change log")
    pick(page, "start_import_sheet", "KPIs")
    page.get_by_text(re.compile(r"Preview: all 28 KPIs as they will be imported")).wait_for()
    wait_idle(page)
    cells = grid_cells(page.get_by_test_id("stDataFrame").first)
    assert {"Name", "Unit", "EBIT margin", "Gross margin", "Finance"} <= cells, cells
    shoot(page, shots / "register-1-preview.png", 1800)

    page.get_by_role("button", name="Import and audit").click()
    page.get_by_role("heading", name="Audit", exact=True).wait_for()
    page.get_by_role("heading", name="Verdict per KPI").wait_for(timeout=60_000)
    page.get_by_test_id("stMetricValue").filter(has_text="/100").first.wait_for()
    page.get_by_text("Quote win rate", exact=True).first.wait_for()
    wait_idle(page)
    before = design_score(page)
    page.get_by_text("data checks not run — load data on the Data page").first.wait_for()
    page.get_by_text("No earlier version to compare with yet").wait_for()
    shoot(page, shots / "register-2-audit.png", 4000)
    (stored,) = WorkspaceStore(home).list_workspaces()

    # Fix 1, from the verdict table: the KPI whose owner cell said "TBD" gets an owner.
    click_to(
        page,
        page.locator(".st-key-audit_verdict_edit_quote_win_rate").get_by_role("button", name="Edit"),
        "KPIs per goal",
    )
    page.get_by_text("From the audit").wait_for()
    page.get_by_role("link", name="Back to the audit").wait_for()
    page.get_by_label("Definition").first.wait_for()
    wait_idle(page)
    page.screenshot(path=str(shots / "register-3-edit-owner.png"))
    page.locator(".st-key-kpi_quote_win_rate_owner input").fill("Head of Sales")
    save_card(page, "quote_win_rate", "Quote win rate")

    # Fix 2, from the findings list: the KPI without a cadence gets one.
    page.get_by_role("link", name="Back to the audit").click()
    page.get_by_role("heading", name="Before and after").wait_for(timeout=60_000)
    wait_idle(page)
    rules = page.locator(".st-key-audit_only input")
    rules.click()
    rules.fill("missing-cadence")
    rules.press("Enter")
    page.keyboard.press("Escape")
    wait_idle(page)
    row = (
        page.get_by_test_id("stHorizontalBlock")
        .filter(has=page.locator("[class*='st-key-audit_edit_']"))
        .filter(has_text="missing-cadence")
        .filter(has_text="On-time delivery")
    )
    click_to(
        page, row.locator("[class*='st-key-audit_edit_']").get_by_role("button", name="Edit").first, "KPIs per goal"
    )
    page.get_by_text("From the audit").wait_for()
    wait_idle(page)
    pick(page, "kpi_on_time_delivery_cadence", "monthly")
    save_card(page, "on_time_delivery", "On-time delivery")

    # Back on Audit: the score rose, and the before/after against the import names both fixes.
    page.get_by_role("link", name="Back to the audit").click()
    page.get_by_role("heading", name="Before and after").wait_for(timeout=60_000)
    page.get_by_text("Design score, then → now").wait_for()
    wait_idle(page)
    after = design_score(page)
    assert after > before
    then_now = page.get_by_test_id("stMetric").filter(has_text="Design score, then → now")
    assert f"{before:.2f} → {after:.2f}" in then_now.inner_text()
    compared = page.locator(".st-key-audit_compare_with").get_by_role("combobox").input_value()
    assert "Imported from northwind_finance.xlsx" in compared
    fixed = page.get_by_test_id("stExpander").filter(has_text="Fixed — 2 findings")
    fixed_text = fixed.inner_text()
    assert "Quote win rate — Has no owner" in fixed_text and "missing-owner" in fixed_text
    assert "On-time delivery — Has no cadence" in fixed_text and "missing-cadence" in fixed_text
    shoot(page, shots / "register-4-audit-after.png", 5000)
    saved = WorkspaceStore(home).load(stored.id)
    assert saved.kpi("quote_win_rate").owner == "Head of Sales"
    assert saved.kpi("on_time_delivery").cadence.value == "monthly"
    assert errors == []

"""Presentation mode on a 1024×768 projector: the sidebar closed, tile names whole, type larger, a row of tiles
on the first screen."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .browser import browser_page, eventually, require_chromium, running_app, wait_idle
from .conftest import SAMPLE_WORKSPACE

# Longer than a third of 1024 px in the tile's type: st.metric alone would end it in "…".
LONG_NAME = "Web shop sessions from paid, organic and referral channels together"
TILE = '[class*="st-key-kpi_tile_"]'
# Every element of a tile's name that is cut: more text than room, and the rest hidden.
CUT_NAMES = f"""() => [...document.querySelectorAll(
    '{TILE} [data-testid="stMetricLabel"], {TILE} [data-testid="stMetricLabel"] *')]
  .filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth)
  .map(e => e.textContent)"""


def _sample_with_a_long_name(folder: Path) -> Path:
    shutil.copytree(SAMPLE_WORKSPACE.parent / "data", folder / "data")
    text = SAMPLE_WORKSPACE.read_text(encoding="utf-8")
    assert "    name: Web shop sessions\n" in text
    workspace = folder / "workspace.yaml"
    workspace.write_text(text.replace("    name: Web shop sessions\n", f"    name: {LONG_NAME}\n"), encoding="utf-8")
    return workspace


def _metric(page, part: str, text: str | None = None):
    tiles = page.locator(TILE)
    if text is not None:
        tiles = tiles.filter(has_text=text)
    return tiles.first.locator(f'[data-testid="{part}"]').first


def test_presentation_mode_fits_a_1024_by_768_projector(tmp_path):
    require_chromium()
    artifacts = Path(os.environ.get("KPI_WIZARD_SHOTS") or tmp_path / "shots")
    artifacts.mkdir(parents=True, exist_ok=True)
    workspace = _sample_with_a_long_name(tmp_path / "sample")
    with running_app(tmp_path / "store", open_workspace=workspace) as url, browser_page(1024, 768) as page:
        page.goto(f"{url}/dashboard")
        page.locator(TILE).first.wait_for(timeout=180_000)  # the sample's data loads on first use
        wait_idle(page)
        name = _metric(page, "stMetricLabel", LONG_NAME)
        normal_type = name.evaluate("e => parseFloat(getComputedStyle(e.querySelector('p') || e).fontSize)")
        sidebar = page.locator('[data-testid="stSidebar"]')
        assert sidebar.get_attribute("data-collapsed") == "false"
        # Closed and opened by hand first: the browser then keeps that choice over the page's setting.
        sidebar.hover()
        sidebar.locator('[data-testid="stSidebarCollapseButton"] button').click()
        assert eventually(page, lambda: sidebar.get_attribute("data-collapsed"), "true") == "true"
        page.locator('[data-testid="stExpandSidebarButton"]').click()
        assert eventually(page, lambda: sidebar.get_attribute("data-collapsed"), "false") == "false"
        page.wait_for_timeout(800)  # the sidebar slides in

        page.get_by_role("switch", name="Presentation mode").check(force=True)
        wait_idle(page)
        assert eventually(page, lambda: sidebar.get_attribute("data-collapsed"), "true") == "true"
        assert "present=1" in page.url, "the address keeps the mode for a reload or a link"
        page.wait_for_timeout(800)  # the sidebar slides away
        main = page.locator('[data-testid="stMain"]').bounding_box()
        assert main is not None and main["x"] < 10 and main["width"] > 1000, main

        assert page.locator(TILE).count() >= 3
        assert page.evaluate(CUT_NAMES) == []
        name = _metric(page, "stMetricLabel", LONG_NAME)
        assert LONG_NAME in name.inner_text().replace("\n", " ")
        larger = name.evaluate("e => parseFloat(getComputedStyle(e.querySelector('p') || e).fontSize)")
        assert larger >= normal_type * 1.2, (normal_type, larger)
        line = name.evaluate("e => parseFloat(getComputedStyle(e.querySelector('p') || e).lineHeight)")
        assert name.bounding_box()["height"] > 1.5 * line, "the long name wraps onto a second line"
        value = _metric(page, "stMetricValue", LONG_NAME).evaluate(
            "e => parseFloat(getComputedStyle(e.querySelector('p') || e).fontSize)"
        )
        assert value >= 2 * larger, "the value is the largest type on the tile"
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 1024, "nothing sticks out sideways"
        page.locator('[data-testid="stToast"]').first.wait_for(state="detached", timeout=15_000)
        page.screenshot(path=str(artifacts / "presentation.png"))

        # Compact above the tiles: no page description, and a unit of three tiles fits on the screen whole.
        assert not page.get_by_text("One page per unit: each KPI's last complete period").is_visible()
        page.get_by_role("radio", name="Operations & Procurement").click()
        page.locator(TILE).filter(has_text="On-time delivery").wait_for()
        wait_idle(page)
        boxes = [tile.bounding_box() for tile in page.locator(TILE).all()]
        assert len(boxes) == 3, "the sample's Operations unit has three KPIs"
        assert boxes[0]["y"] < 300, boxes[0]
        assert max(box["y"] + box["height"] for box in boxes) <= 768, boxes
        page.screenshot(path=str(artifacts / "presentation-three-tiles.png"))

        # A link with ?present=1 opens a new visit straight in the mode.
        page.goto(page.url)
        page.locator(TILE).first.wait_for(timeout=60_000)
        wait_idle(page)
        assert page.locator('[data-testid="stSidebar"]').get_attribute("data-collapsed") == "true"
        assert page.evaluate(CUT_NAMES) == []

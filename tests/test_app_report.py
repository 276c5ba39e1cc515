"""Dashboard tiles that say why, the strategy map page, and the report download (AppTest, in-process)."""

from __future__ import annotations

import re
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from kpi_model import workspace_file

from .conftest import REPO, SAMPLE_WORKSPACE


@pytest.fixture
def sample_app(tmp_path, monkeypatch):
    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.setenv("KPI_WIZARD_OPEN", str(SAMPLE_WORKSPACE))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return at


def _captions(at: AppTest) -> list[str]:
    return [c.value.replace("\\", "") for c in at.caption]


def test_dashboard_tiles_show_target_due_thresholds_and_the_reason(sample_app):
    at = sample_app
    at.switch_page("pages/dashboard.py").run()
    assert not at.exception, at.exception
    captions = _captions(at)
    assert "Amber: below warning 52,000 · target 64,000 by 2027-10-31 · warning 52,000, critical 46,000" in captions
    assert any(c.startswith("Green: at or above warning 10,000 · target 12,500 by 2027-10-31") for c in captions)
    # Not computed (no formula yet), yet what was agreed is on the tile.
    assert "Baseline 71.0% (2026-10) · target 65.0% by 2027-12-31 · warning 72.0%, critical 75.0%" in captions


def test_strategy_map_shows_every_kpi_coloured_and_linked(sample_app):
    at = sample_app
    at.switch_page("pages/dashboard.py").run()
    at.segmented_control(key="dashboard_unit").set_value("__strategy_map__").run()
    assert not at.exception, at.exception
    html = "".join(m.value for m in at.markdown if "strategy-map" in m.value)
    sample = workspace_file.load(SAMPLE_WORKSPACE)
    boxes = dict(re.findall(r'data-kpi="([^"]+)" data-status="([a-z]+)"', html))
    assert set(boxes) == {k.id for k in sample.kpis}
    assert boxes["web_revenue"] == "amber" and boxes["sessions"] == "green"
    assert boxes["cart_abandonment_rate"] == "unknown", "no formula: not judged"
    links = re.findall(r'<a href="([^"]+)"', html)
    assert "kpis?kpi=csat" in links, links[:3]


def test_a_map_link_opens_the_kpi_on_its_goal(sample_app):
    at = sample_app
    at.switch_page("pages/kpis.py")
    at.query_params["kpi"] = "csat"
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="kpi_goal_choice").value == "happier-customers"
    assert at.session_state["kpis_open_card"] == "csat"
    assert "kpi" not in at.query_params, "the link is used once; a rerun does not jump back"


def test_dashboard_makes_the_pdf_report_and_offers_it(sample_app):
    at = sample_app
    at.switch_page("pages/dashboard.py").run()
    assert not at.get("download_button") or all("report" not in b.proto.label for b in at.get("download_button")), (
        "nothing to download before it is made"
    )
    next(b for b in at.button if b.label == "Make report").click().run()
    assert not at.exception, at.exception
    prepared = at.session_state["dashboard_report_prepared"]
    assert prepared["extension"] == "pdf" and prepared["body"].startswith(b"%PDF")
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download report (PDF)" in labels


def test_review_makes_the_html_report_and_an_edit_retires_it(sample_app):
    at = sample_app
    at.switch_page("pages/review.py").run()
    at.segmented_control(key="review_report_format").set_value("HTML").run()
    next(b for b in at.button if b.label == "Make report").click().run()
    assert not at.exception, at.exception
    body = at.session_state["review_report_prepared"]["body"].decode("utf-8")
    sample = workspace_file.load(SAMPLE_WORKSPACE)
    assert body.startswith("<!DOCTYPE html>") and all(k.name.replace("&", "&amp;") in body for k in sample.kpis)
    assert "Download report (HTML)" in [b.proto.label for b in at.get("download_button")]
    at.segmented_control(key="review_report_format").set_value("PDF").run()
    assert "Download report (PDF)" not in [b.proto.label for b in at.get("download_button")], "not made yet"


def test_the_report_compares_with_the_version_saved_before_the_open_one(tmp_path, monkeypatch):
    from kpi_model.store import WorkspaceStore

    home = tmp_path / "store"
    monkeypatch.setenv("KPI_WIZARD_HOME", str(home))
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    sample = workspace_file.load(SAMPLE_WORKSPACE)
    store = WorkspaceStore(home)
    workspace_id = store.new_id()
    store.save(workspace_id, sample.model_copy(update={"kpis": [k for k in sample.kpis if k.id != "nps"]}))
    store.save(workspace_id, sample)  # the open version: NPS added
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.query_params["ws"] = workspace_id
    at.run()
    at.switch_page("pages/review.py").run()
    at.segmented_control(key="review_report_format").set_value("HTML").run()
    next(b for b in at.button if b.label == "Make report").click().run()
    assert not at.exception, at.exception
    body = at.session_state["review_report_prepared"]["body"].decode("utf-8")
    assert "KPIs added: nps" in body, "compared with the version before, not with itself"


def test_a_unit_kpi_without_a_goal_has_a_tile_on_its_units_page(tmp_path, monkeypatch):
    sample = workspace_file.load(SAMPLE_WORKSPACE)
    loose = sample.kpis[0].model_copy(update={"id": "draft_kpi", "name": "Draft KPI", "goal": None, "unit": "sales"})
    path = tmp_path / "ws.yaml"
    workspace_file.save(sample.model_copy(update={"kpis": [*sample.kpis, loose]}), path)
    shutil.copytree(SAMPLE_WORKSPACE.parent / "data", tmp_path / "data")
    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.setenv("KPI_WIZARD_OPEN", str(path))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("pages/dashboard.py").run()
    assert not at.exception, at.exception
    assert "KPIs of this unit without a goal" in [s.value for s in at.subheader]
    assert "Draft KPI" in [m.label for m in at.metric]

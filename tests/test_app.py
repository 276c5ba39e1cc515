"""The app driven in-process with Streamlit's AppTest: each page, as a workshop would use it."""

from __future__ import annotations

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from kpi_model import workspace_file
from kpi_model.store import WorkspaceStore

from .conftest import REPO, SAMPLE_WORKSPACE

APP = str(REPO / "app.py")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private workspace store, and no startup workspace unless a test asks for one."""
    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    return tmp_path / "store"


def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def click(at: AppTest, label: str) -> AppTest:
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button '{label}' among {[b.label for b in at.button]}"
    matches[0].click().run()
    assert not at.exception, at.exception
    return at


def stored(home) -> tuple[str, object]:
    store = WorkspaceStore(home)
    (item,) = store.list_workspaces()
    return item.id, store.load(item.id)


def test_start_page_without_workspace_offers_the_three_ways_in(home):
    at = new_app()
    assert at.title[0].value == "KPI Wizard"
    labels = [b.label for b in at.button]
    assert "Create workspace" in labels and "Open sample workspace" in labels
    assert at.file_uploader(key="upload_workspace") is not None


def test_other_pages_point_to_start_when_nothing_is_open(home):
    at = new_app()
    for page in ("pages/goals.py", "pages/kpis.py", "pages/review.py"):
        at.switch_page(page).run()
        assert not at.exception
        assert any("No workspace is open" in i.value for i in at.info), page


def test_workshop_flow_create_unit_goal_kpi_edit_save_reload(home):
    at = new_app()
    at.text_input(key="new_workspace_name").input("Acme 2027")
    click(at, "Create workspace")
    assert at.title[0].value == "Units and strategic goals"

    at.text_input(key="add_unit_name").input("Sales & Marketing")
    at.text_input(key="add_unit_owner").input("Head of Sales")
    click(at, "Add unit")
    ws_id, saved = stored(home)
    assert [(u.id, u.name, u.owner) for u in saved.units] == [("sales-marketing", "Sales & Marketing", "Head of Sales")]

    at.text_area(key="add_goal_statement").input("Grow repeat revenue")
    click(at, "Add goal")
    _, saved = stored(home)
    assert [(g.id, g.unit) for g in saved.goals] == [("grow-repeat-revenue", "sales-marketing")]

    at.switch_page("pages/kpis.py").run()
    assert any("add 3 more" in w.value for w in at.warning), "the counter nudges towards 3–5 KPIs"
    at.text_input(key="template_search").input("repeat purchase").run()
    assert at.selectbox(key="template_choice").value == "repeat_purchase_rate"
    click(at, next(b.label for b in at.button if b.label.startswith("Add “")))
    _, saved = stored(home)
    (kpi,) = saved.kpis
    assert kpi.template == "repeat_purchase_rate" and kpi.goal == "grow-repeat-revenue"
    assert kpi.kind is not None and kpi.direction is not None
    assert kpi.expression and "{" not in kpi.expression, "the formula is rendered with the column names"
    assert kpi.time_column == "date"

    prefix = f"kpi_{kpi.id}"
    at.text_input(key=f"{prefix}_owner").input("Head of Sales")
    at.text_input(key=f"{prefix}_target_value").input("0,3")
    at.text_area(key=f"{prefix}_action").input("Win-back campaign below warning")
    click(at, "Save KPI")
    _, saved = stored(home)
    assert saved.kpis[0].owner == "Head of Sales"
    assert saved.kpis[0].target.value == 0.3
    assert saved.kpis[0].action == "Win-back campaign below warning"

    at.switch_page("pages/review.py").run()
    assert not at.exception
    yaml_text = workspace_file.dumps(saved)
    assert yaml.safe_load(yaml_text)["kpis"][0]["owner"] == "Head of Sales"

    # A reload is a new session that finds the workspace through ?ws= in the URL.
    reloaded = AppTest.from_file(APP, default_timeout=60)
    reloaded.query_params["ws"] = ws_id
    reloaded.run()
    assert not reloaded.exception
    assert any("Acme 2027" in s.value for s in reloaded.success)
    reloaded.switch_page("pages/review.py").run()
    assert reloaded.metric[0].value == "1"


def test_invalid_kpi_edit_is_refused_and_nothing_lost(home):
    at = new_app()
    at.text_input(key="new_workspace_name").input("Acme")
    click(at, "Create workspace")
    at.text_input(key="add_unit_name").input("Ops")
    click(at, "Add unit")
    at.text_area(key="add_goal_statement").input("Deliver on time")
    click(at, "Add goal")
    at.switch_page("pages/kpis.py").run()
    at.text_input(key="custom_kpi_name").input("On-time delivery")
    click(at, "Add KPI")
    at.text_input(key="kpi_on_time_delivery_id").input("Bad Id!")
    at.text_input(key="kpi_on_time_delivery_baseline_period").input("Dec 2026")
    click(at, "Save KPI")
    errors = " ".join(e.value for e in at.error)
    assert "give the baseline's value too" in errors, "a period without a value is caught before saving"
    at.text_input(key="kpi_on_time_delivery_baseline_value").input("1,234")
    click(at, "Save KPI")
    assert "ambiguous" in " ".join(e.value for e in at.error), "1,234 could be 1234 or 1.234: asked, not guessed"
    at.text_input(key="kpi_on_time_delivery_baseline_value").input("0,92")
    at.text_area(key="kpi_on_time_delivery_expression").input("sum(reopened / count(")
    click(at, "Save KPI")
    errors = " ".join(e.value for e in at.error)
    assert "**Id**" in errors and "is not a valid id" in errors, "problems name the form field"
    assert "**Baseline period**" in errors and "is not a period" in errors
    at.text_input(key="kpi_on_time_delivery_id").input("on_time_delivery")
    at.text_input(key="kpi_on_time_delivery_baseline_period").input("2026-q4")
    click(at, "Save KPI")
    assert "does not parse" in " ".join(e.value for e in at.error), "a broken formula is not saved"
    _, saved = stored(home)
    assert [k.id for k in saved.kpis] == ["on_time_delivery"], "the stored workspace is unchanged"


def test_open_sample_and_review_marks_completeness(home):
    at = new_app()
    click(at, "Open sample workspace")
    assert WorkspaceStore(home).list_workspaces() == [], "opening alone must not copy the sample"
    at.switch_page("pages/review.py").run()
    assert not at.exception
    sample = workspace_file.load(SAMPLE_WORKSPACE)
    assert at.metric[0].value == str(len(sample.kpis))
    assert len(at.dataframe) >= len(sample.goals)
    assert any("without a goal" in h.value for h in at.header) == any(not k.goal for k in sample.kpis)
    rows = {name: row for frame in at.dataframe for name, row in frame.value.set_index("KPI").iterrows()}
    assert rows["Checkout abandonment rate"]["Missing"] == "source, formula, time column"
    assert rows["Web shop sessions"]["Missing"] == "—"
    assert rows["Share of defect tickets"]["Missing"] == "owner", "a missing owner is missing, column or not"
    at.toggle(key="review_every_field").set_value(True).run()
    rows = {name: row for frame in at.dataframe for name, row in frame.value.set_index("KPI").iterrows()}
    assert (rows["Checkout abandonment rate"]["source"], rows["Checkout abandonment rate"]["kind"]) == ("✗", "✓")


def test_startup_workspace_from_environment(home, monkeypatch):
    monkeypatch.setenv("KPI_WIZARD_OPEN", str(SAMPLE_WORKSPACE))
    at = new_app()
    sample = workspace_file.load(SAMPLE_WORKSPACE)
    assert any(sample.name.split()[0] in s.value for s in at.success)


def test_upload_of_broken_workspace_shows_problems_and_keeps_the_open_one(home):
    at = new_app()
    at.text_input(key="new_workspace_name").input("Keep me")
    click(at, "Create workspace")
    at.switch_page("pages/start.py").run()
    at.file_uploader(key="upload_workspace").upload(
        "broken.yaml", b"name: X\nkpis:\n  - {id: a, name: A, goal: nowhere}\n", "application/yaml"
    ).run()
    click(at, "Open uploaded file")
    assert any("unknown goal" in e.value for e in at.error)
    assert any("Keep me" in s.value for s in at.success)
    assert [w.name for w in WorkspaceStore(home).list_workspaces()] == ["Keep me"]


def test_version_history_restores_an_earlier_state(home):
    at = new_app()
    at.text_input(key="new_workspace_name").input("History")
    click(at, "Create workspace")
    at.text_input(key="add_unit_name").input("Sales")
    click(at, "Add unit")
    at.switch_page("pages/start.py").run()
    ws_id, _ = stored(home)
    oldest = WorkspaceStore(home).versions(ws_id)[-1].id
    at.selectbox(key="restore_version").set_value(oldest).run()
    click(at, "Restore this version")
    _, restored = stored(home)
    assert restored.units == [], "the first version had no units"
    assert len(WorkspaceStore(home).versions(ws_id)) == 3


def test_a_new_tab_on_the_sample_server_offers_the_latest_saved_work(home, monkeypatch):
    at = new_app()
    at.text_input(key="new_workspace_name").input("Acme 2027")
    click(at, "Create workspace")
    ws_id, _ = stored(home)

    monkeypatch.setenv("KPI_WIZARD_OPEN", str(SAMPLE_WORKSPACE))  # as `make run` starts the server
    tab = new_app()
    (offer,) = [i.value for i in tab.info if "Continue where you left off?" in i.value]
    assert "**Acme 2027**, 0 KPIs" in offer
    click(tab, "Open it")
    assert any("Open: **Acme 2027**" in s.value for s in tab.success)
    assert not [i for i in tab.info if "Continue where you left off?" in i.value], "no offer once saved work is open"
    assert tab.query_params.get("ws") in (ws_id, [ws_id])


def test_a_saved_workspace_other_than_the_open_one_can_be_deleted(home):
    at = new_app()
    for name in ("Old draft", "Current plan"):
        at.text_input(key="new_workspace_name").input(name)
        click(at, "Create workspace")
        at.switch_page("pages/start.py").run()
    store = WorkspaceStore(home)
    ids = {item.name: item.id for item in store.list_workspaces()}
    data_folder = home / ids["Old draft"]
    assert data_folder.is_dir()
    assert f"delete_saved_{ids['Current plan']}" not in [b.key for b in at.button], "not the open one"
    next(b for b in at.button if b.key == f"delete_saved_{ids['Old draft']}").click().run()
    assert not at.exception, at.exception
    assert [item.name for item in store.list_workspaces()] == ["Current plan"]
    assert not data_folder.exists(), "its history and data go with it"
    assert any("Deleted 'Old draft'" in s.value for s in at.success)


@pytest.mark.parametrize("goal", ["south-growth", "north-growth"])
def test_saving_a_kpi_keeps_its_goal_when_two_units_share_a_goal_statement(goal, home, tmp_path, monkeypatch):
    """Issue 11: goals shown alike made a save (of a threshold only) move the KPI to the other unit's goal."""
    path = tmp_path / "twins.yaml"
    path.write_text(
        "name: Twins\n"
        "units:\n  - {id: north, name: North}\n  - {id: south, name: South}\n"
        "goals:\n"
        "  - {id: north-growth, unit: north, statement: Grow revenue}\n"
        "  - {id: south-growth, unit: south, statement: Grow revenue}\n"
        "kpis:\n  - {id: south_sales, name: South sales, goal: " + goal + ", direction: up}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("KPI_WIZARD_OPEN", str(path))
    at = new_app()
    at.switch_page("pages/kpis.py").run()
    at.selectbox(key="kpi_goal_choice").set_value(goal).run()
    assert not at.exception, at.exception
    picker = at.selectbox(key="kpi_south_sales_goal")
    assert picker.value == goal
    assert "South — Grow revenue" in picker.options and "North — Grow revenue" in picker.options
    picker.set_value(goal)  # as a browser does: the form sends every field's shown value back
    at.text_input(key="kpi_south_sales_warning").input("5")
    click(at, "Save KPI")
    assert not at.error, [e.value for e in at.error]
    _, saved = stored(home)
    (kpi,) = saved.kpis
    assert (kpi.goal, kpi.thresholds.warning if kpi.thresholds else None) == (goal, 5)
    banners = " ".join(m.value for m in [*at.success, *at.info, *at.warning, *at.toast])
    assert "Moved" not in banners


def test_saving_a_kpi_keeps_its_unit(home, tmp_path, monkeypatch):
    path = tmp_path / "units.yaml"
    path.write_text(
        "name: Units\n"
        "units:\n  - {id: north, name: North}\n  - {id: south, name: South}\n"
        "goals:\n  - {id: north-growth, unit: north, statement: Grow revenue}\n"
        "kpis:\n  - {id: south_sales, name: South sales, unit: south, direction: up}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("KPI_WIZARD_OPEN", str(path))
    at = new_app()
    at.switch_page("pages/kpis.py").run()
    at.selectbox(key="kpi_goal_choice").set_value("__no_goal__").run()
    at.text_input(key="kpi_south_sales_warning").input("5")
    click(at, "Save KPI")
    assert not at.error, [e.value for e in at.error]
    _, saved = stored(home)
    assert [(k.goal, k.unit, k.thresholds.warning if k.thresholds else None) for k in saved.kpis] == [
        (None, "south", 5)
    ]
    at.selectbox(key="kpi_south_sales_goal").set_value("north-growth")
    click(at, "Save KPI")
    assert not at.error, [e.value for e in at.error]
    _, saved = stored(home)
    assert [(k.goal, k.unit) for k in saved.kpis] == [("north-growth", None)], "the goal decides the unit"

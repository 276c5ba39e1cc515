"""The KPIs page's grid and the Goals page's add forms, driven in-process with AppTest."""

from __future__ import annotations

import datetime as dt

import pytest

from kpi_model import workspace_file
from kpi_model.grid import grid_rows
from kpi_model.store import WorkspaceStore

from .conftest import SAMPLE_WORKSPACE
from .test_app import click, new_app, stored


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private workspace store, and no startup workspace."""
    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    return tmp_path / "store"


def open_grid(at, goal: str = "grow-web-revenue"):
    click(at, "Open sample workspace")
    return open_grid_of_open_workspace(at, goal)


def open_grid_of_open_workspace(at, goal: str = "grow-web-revenue"):
    at.switch_page("pages/kpis.py").run()
    at.selectbox(key="kpi_goal_choice").set_value(goal).run()
    at.segmented_control(key="kpis_view").set_value("All in a grid").run()
    assert not at.exception, at.exception
    (editor,) = at.data_editor
    return editor


def edit_cells(at, editor, edits: dict[int, dict[str, object]]):
    """Seed the editor's edit state (AppTest cannot type into cells) and rerun."""
    at.session_state[editor.key] = {"edited_rows": edits, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception, at.exception


def versions(home) -> int:
    store = WorkspaceStore(home)
    (item,) = store.list_workspaces()
    return len(store.versions(item.id))


def test_the_grid_shows_every_kpi_of_the_goal_with_numbers_as_typed(home):
    at = new_app()
    editor = open_grid(at)
    sample = workspace_file.load(SAMPLE_WORKSPACE)
    table = editor.value.set_index("kpi")
    assert list(table.index) == [k.id for k in sample.kpis_of("grow-web-revenue")]
    percent = [value for value in table["target"].dropna() if str(value).endswith("%")]
    assert percent, "a percent KPI's target reads as 95%, as it is typed"


def test_two_cells_edited_and_saved_are_one_new_version(home):
    at = new_app()
    editor = open_grid(at)
    names = list(editor.value["name"])
    edit_cells(at, editor, {0: {"owner": "Head of Web"}, 1: {"review_date": "2027-01-15"}})
    click(at, "Save the grid")
    assert versions(home) == 1, "the first save of the opened sample is its one version"
    _, saved = stored(home)
    first, second = (next(k for k in saved.kpis if k.name == name) for name in names[:2])
    assert first.owner == "Head of Web" and second.review_date == dt.date(2027, 1, 15)
    assert any("2 KPIs changed" in s.value for s in at.success), [s.value for s in at.success]

    (editor,) = at.data_editor
    edit_cells(at, editor, {0: {"action": "Review the funnel weekly"}, 2: {"owner": "Head of Checkout"}})
    click(at, "Save the grid")
    assert versions(home) == 2, "one save of two cells is one version"


def test_an_invalid_cell_blocks_the_save_and_names_kpi_column_and_fix(home):
    at = new_app()
    editor = open_grid(at)
    first = editor.value["name"][0]
    edit_cells(at, editor, {0: {"owner": "Someone new", "target": "lots"}})
    click(at, "Save the grid")
    errors = " ".join(e.value for e in at.error)
    assert "Nothing was saved: 1 cell cannot be used" in errors
    assert f"**{first}**" in errors and "Target value" in errors and "'lots'" in errors and "**Fix:**" in errors
    assert WorkspaceStore(home).list_workspaces() == [], "nothing saved, not even the valid owner"
    assert at.data_editor[0].key == editor.key, "the grid keeps what was typed"


def test_accept_all_suggestions_fills_empty_cells_then_one_save(home):
    at = new_app()
    open_grid(at, "happier-customers")
    accept_all = at.button(key="kpi_grid_accept_all_goal_happier-customers")
    assert accept_all.label == "Accept the suggestion", "one suggestion: no 'all 1'"
    accept_all.click().run()
    assert not at.exception, at.exception
    assert any("not saved yet" in c.value for c in at.caption)
    click(at, "Save the grid")
    _, saved = stored(home)
    assert all(k.owner for k in saved.kpis_of("happier-customers")), "every owner filled from the goal or unit"


def test_the_unit_scope_lists_the_kpis_of_every_goal_of_the_unit(home):
    at = new_app()
    open_grid(at)
    at.radio(key="kpis_grid_scope").set_value("unit").run()
    (editor,) = at.data_editor
    assert {"Grow web shop revenue by 25% in 2027", "Win 30% more B2B deals in 2027 than in 2026"} <= set(
        editor.value["goal"]
    )


def test_adding_a_unit_or_goal_twice_is_refused_and_the_form_clears(home):
    at = new_app()
    at.text_input(key="new_workspace_name").input("Acme")
    click(at, "Create workspace")
    at.text_input(key="add_unit_name").input("Operations")
    click(at, "Add unit")
    assert at.segmented_control(key="goals_view").value == "Goals", "the control shows what the page shows"
    assert at.text_area(key="add_goal_statement").value == ""
    at.segmented_control(key="goals_view").set_value("Units").run()
    assert at.text_input(key="add_unit_name").value == "", "the add form starts empty after an add"
    at.text_input(key="add_unit_name").input("operations ")
    click(at, "Add unit")
    assert "unit named 'Operations' exists already" in " ".join(e.value for e in at.error)
    _, saved = stored(home)
    assert [u.id for u in saved.units] == ["operations"], "no operations-2"

    at.segmented_control(key="goals_view").set_value("Goals").run()
    at.text_area(key="add_goal_statement").input("Deliver on time")
    click(at, "Add goal")
    assert at.text_area(key="add_goal_statement").value == ""
    at.text_area(key="add_goal_statement").input("Deliver on time")
    click(at, "Add goal")
    assert "has this goal already" in " ".join(e.value for e in at.error)
    _, saved = stored(home)
    assert [g.id for g in saved.goals] == ["deliver-on-time"]


def test_baseline_and_thresholds_are_suggested_from_the_loaded_data(home):
    at = new_app()
    click(at, "Open sample workspace")
    at.switch_page("pages/data.py").run()  # loads the sample's files, as a workshop would first
    assert not at.exception, at.exception
    editor = open_grid_of_open_workspace(at)
    row = list(editor.value["kpi"]).index("conversion_rate")
    edit_cells(at, editor, {row: {"baseline": None, "baseline_period": None, "warning": None, "critical": None}})
    click(at, "Save the grid")
    text = " ".join(m.value for m in at.markdown)
    assert "2026\\-10" in text and "latest complete month" in text, "the baseline names its period"
    click(at, "Accept")  # the first KPI with suggestions: the one just cleared
    click(at, "Save the grid")
    _, saved = stored(home)
    kpi = saved.kpi("conversion_rate")
    assert (kpi.baseline.value, kpi.baseline.period) == (pytest.approx(0.03794, abs=1e-5), "2026-10")
    assert kpi.thresholds.warning is not None and kpi.thresholds.critical is not None
    assert kpi.thresholds.critical < kpi.thresholds.warning < kpi.target.value, "lines below the target, red lowest"


def test_a_target_typed_in_the_grid_gets_thresholds_suggested_before_saving(home):
    at = new_app()
    click(at, "Open sample workspace")
    at.switch_page("pages/data.py").run()
    editor = open_grid_of_open_workspace(at)
    row = list(editor.value["kpi"]).index("conversion_rate")
    edit_cells(at, editor, {row: {"warning": "", "critical": ""}})
    text = " ".join(m.value for m in at.markdown)
    assert "Warning at" in text and "what\\-if" in text, "suggested from the grid as edited, unsaved"


def test_the_card_shows_partners_by_name(home):
    at = new_app()
    click(at, "Open sample workspace")
    at.switch_page("pages/kpis.py").run()
    picker = at.selectbox(key="kpi_sessions_pairs_with")
    assert picker.value == "web_revenue" and "Web order revenue" in picker.options


def test_a_view_asked_for_from_another_page_is_shown_and_chosen(home):
    at = new_app()
    click(at, "Open sample workspace")
    at.switch_page("pages/goals.py").run()
    assert at.segmented_control(key="goals_view").value == "Goals"
    at.session_state["goals_view_shown"] = "Units"  # as Audit → Edit on a unit's finding sets it
    at.run()
    assert at.segmented_control(key="goals_view").value == "Units"
    assert at.text_input(key="add_unit_name") is not None, "the page shows Units too"
    at.segmented_control(key="goals_view").set_value("Goals").run()
    assert at.segmented_control(key="goals_view").value == "Goals", "the person's click wins afterwards"


def test_renaming_a_template_kpi_on_its_card_gives_it_an_id_from_the_new_name(home):
    at = new_app()
    at.text_input(key="new_workspace_name").input("Acme")
    click(at, "Create workspace")
    at.text_input(key="add_unit_name").input("Sales")
    click(at, "Add unit")
    at.text_area(key="add_goal_statement").input("Grow repeat revenue")
    click(at, "Add goal")
    at.switch_page("pages/kpis.py").run()
    at.text_input(key="template_search").input("repeat purchase").run()
    click(at, next(b.label for b in at.button if b.label.startswith("Add “")))
    at.text_input(key="kpi_repeat_purchase_rate_name").input("Web repeat rate")
    click(at, "Save KPI")
    _, saved = stored(home)
    assert [(k.id, k.name) for k in saved.kpis] == [("web_repeat_rate", "Web repeat rate")]
    assert any("Its id is now web\\_repeat\\_rate" in s.value for s in at.success), [s.value for s in at.success]


def test_the_grid_and_its_messages_render_hostile_names_inert(tmp_path, monkeypatch):
    """Names full of Markdown, links and HTML: plain text in the grid's cells, escaped in every message."""
    from streamlit.testing.v1 import AppTest

    from .test_inert_output import APP, WS_ID, Scan, build_store

    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    build_store(tmp_path / "store")
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["ws"] = WS_ID
    at.run()
    scan = Scan()
    at.switch_page("pages/kpis.py").run()
    at.segmented_control(key="kpis_view").set_value("All in a grid").run()
    scan.page(at, "Grid")
    (editor,) = at.data_editor
    edit_cells(at, editor, {0: {"target": "<b>lots</b>", "owner": ""}})
    click(at, "Save the grid")
    assert at.error, "the wrong cell is named"
    scan.page(at, "Grid (refused save)")
    at.radio(key="kpis_grid_scope").set_value("unit").run()
    scan.page(at, "Grid (unit)")
    assert not scan.problems, "\n".join(scan.problems)
    assert "xsskpi" in set().union(*scan.seen.values()), "a hostile KPI name reached Markdown, so escaping was tested"


def test_a_custom_kpi_added_clears_its_form_and_the_same_name_again_is_refused(home):
    at = new_app()
    at.text_input(key="new_workspace_name").input("Acme")
    click(at, "Create workspace")
    at.text_input(key="add_unit_name").input("Sales")
    click(at, "Add unit")
    at.text_area(key="add_goal_statement").input("Grow repeat revenue")
    click(at, "Add goal")
    at.switch_page("pages/kpis.py").run()
    at.text_input(key="custom_kpi_name").input("Orders per customer")
    click(at, "Add KPI")
    assert at.text_input(key="custom_kpi_name").value == ""
    at.text_input(key="custom_kpi_name").input("orders per  customer")
    click(at, "Add KPI")
    assert "has a KPI named 'Orders per customer' already" in " ".join(e.value for e in at.error)
    _, saved = stored(home)
    assert [k.id for k in saved.kpis] == ["orders_per_customer"], "no orders_per_customer_2"


def test_a_bad_cell_is_marked_in_its_row_as_it_is_typed_and_nothing_is_saved_until_it_is_fixed(home):
    at = new_app()
    editor = open_grid(at)
    assert list(editor.value.columns[:2]) == ["problem", "kpi"], "the check comes first"
    assert set(editor.value["problem"]) == {"✓"}, "every row can be saved"
    conversion = editor.value["name"][1]
    edit_cells(at, editor, {1: {"target": "lots"}, 2: {"owner": "Head of Checkout"}})
    (editor,) = at.data_editor
    problems = list(editor.value["problem"])
    assert problems[0] == problems[2] == "✓", "only the bad row is marked"
    assert problems[1].startswith("⚠ Target value: 'lots'") and "Fix: write it like" in problems[1]
    listed = " ".join(e.value for e in at.error)
    assert "1 cell cannot be used yet" in listed and f"**{conversion}**" in listed, "listed under the grid too"
    captions = " ".join(c.value for c in at.caption)
    assert "the suggestions follow the saved KPIs" in captions, "why the suggestions ignore what was typed"
    click(at, "Save the grid")
    assert "Nothing was saved: 1 cell cannot be used" in " ".join(e.value for e in at.error)
    assert WorkspaceStore(home).list_workspaces() == [], "nothing saved, not even the good owner"
    assert at.data_editor[0].key == editor.key, "the grid keeps what was typed"
    assert at.session_state[editor.key]["edited_rows"][2] == {"owner": "Head of Checkout"}

    # The card, given the same text, says the same.
    at.segmented_control(key="kpis_view").set_value("One card per KPI").run()
    kpi_id = editor.value["kpi"][1]
    at.text_input(key=f"kpi_{kpi_id}_target_value").input("lots")
    next(b for b in at.button if b.key == f"FormSubmitter:kpi_{kpi_id}-Save KPI").click().run()
    message = problems[1].removeprefix("⚠ Target value: ").split(". Fix: ")[0]
    assert message in " ".join(e.value for e in at.error).replace("\\", "")


def test_a_bad_cell_fixed_clears_its_mark_and_the_grid_saves(home):
    at = new_app()
    editor = open_grid(at)
    edit_cells(at, editor, {1: {"target": "lots"}, 2: {"owner": "Head of Checkout"}})
    (editor,) = at.data_editor
    assert editor.value["problem"][1]
    edit_cells(at, editor, {1: {"target": "4%"}, 2: {"owner": "Head of Checkout"}})
    (editor,) = at.data_editor
    assert set(editor.value["problem"]) == {"✓"}
    assert not at.error
    click(at, "Save the grid")
    assert versions(home) == 1
    _, saved = stored(home)
    kpis = {k.id: k for k in saved.kpis}
    assert kpis[editor.value["kpi"][1]].target.value == pytest.approx(0.04)
    assert kpis[editor.value["kpi"][2]].owner == "Head of Checkout"


def test_pasted_ambiguous_date_and_unit_word_are_marked_in_the_check_column(home):
    at = new_app()
    editor = open_grid(at)
    edit_cells(at, editor, {0: {"review_date": "03/04/2026", "unit_of_measure": "hours"}})
    (editor,) = at.data_editor
    check = editor.value["problem"][0]
    assert check.startswith("⚠") and "3 April 2026 (day first) or 4 March 2026 (month first)" in check
    assert "write 2026-04-03" in check and "did you mean 'duration'" in check
    errors = " ".join(e.value for e in at.error)
    assert "2 cells cannot be used yet" in errors and "pick one of: count, currency" in check
    edit_cells(at, at.data_editor[0], {0: {"review_date": "13/04/2026", "unit_of_measure": "duration"}})
    click(at, "Save the grid")
    _, saved = stored(home)
    first = next(k for k in saved.kpis if k.name == editor.value["name"][0])
    assert first.review_date == dt.date(2026, 4, 13) and first.unit_of_measure == "duration"


def test_empty_cells_of_a_kpi_without_a_template_show_empty_not_none():
    from kpi_model.models import Kpi
    from ui.kpi_grid import _frame

    sample = workspace_file.load(SAMPLE_WORKSPACE)
    custom = Kpi(id="b2b_custom", name="B2B custom", goal="grow-b2b-sales", expression="count(*)")
    workspace = sample.model_copy(update={"kpis": [*sample.kpis, custom]})
    frame = _frame(grid_rows(workspace, workspace.kpis_of("grow-b2b-sales")), {})
    row = frame.set_index("kpi").loc["b2b_custom"]
    assert row.notna().all(), row[row.isna()]
    assert row["unit_of_measure"] == row["cadence"] == row["pairs_with"] == row["target_due"] == ""

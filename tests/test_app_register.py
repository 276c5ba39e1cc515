"""Auditing an inherited KPI register in the app (issue 11): import from Start, sheets, preview, dbt projects,
notes that survive a reload, Edit from any finding, the KPI's unit, and percent values as typed.
"""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from kpi_model.store import WorkspaceStore

from .conftest import REPO, SAMPLE_WORKSPACE

APP = str(REPO / "app.py")

DBT_MODELS = b"""
semantic_models:
  - name: orders
    model: ref('fct_orders')
    defaults: {agg_time_dimension: ordered_at}
    entities:
      - {name: order, type: primary, expr: order_id}
    dimensions:
      - {name: ordered_at, type: time, type_params: {time_granularity: day}}
    measures:
      - {name: order_total, agg: sum, expr: amount}
      - {name: order_count, agg: sum, expr: 1}
"""
DBT_METRICS = b"""
metrics:
  - {name: revenue, label: Revenue, type: simple, type_params: {measure: order_total}}
  - {name: orders, label: Orders, type: simple, type_params: {measure: order_count}}
  - name: aov
    label: Average order value
    type: ratio
    type_params: {numerator: revenue, denominator: orders}
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    return tmp_path / "store"


def start(monkeypatch=None, *, sample: bool = False, ws: str | None = None) -> AppTest:
    if sample:
        monkeypatch.setenv("KPI_WIZARD_OPEN", str(SAMPLE_WORKSPACE))
    at = AppTest.from_file(APP, default_timeout=120)
    if ws:
        at.query_params["ws"] = ws  # a browser reload: a new session resuming the workspace in the URL
    at.run()
    assert not at.exception, at.exception
    return at


def only_stored(home):
    (item,) = WorkspaceStore(home).list_workspaces()
    return item.id, WorkspaceStore(home).load(item.id)


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [e.label for e in at.expander] + [w.value for w in at.warning]
    return " ".join(parts).replace("\\", "")


def register_xlsx() -> bytes:
    book = openpyxl.Workbook()
    cover = book.active
    cover.title = "Cover"
    cover.append(["KPI register 2027, finance and service"])
    kpis = book.create_sheet("KPIs")
    kpis.append(["KPI", "Department", "Objective", "Owner", "Target", "Unit of measure"])
    kpis.append(["On-time delivery", "Operations", "Deliver reliably", "COO", "≥ 95 %", "%"])
    kpis.append(["First-contact resolution", "Service", "Happy customers", "Head of Service", "12,5 %", "%"])
    kpis.append(["Net revenue", "Finance", "Grow profitably", "", "1200000", "EUR"])
    archive = book.create_sheet("Archive 2025")
    archive.append(["Metric", "Responsible"])
    archive.append(["Old churn", "Head of CS"])
    archive.append(["Old NPS", "CMO"])
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


def test_import_from_start_with_sheet_picker_and_preview_then_audit(home):
    at = start()
    at.file_uploader(key="start_import_upload").upload("register.xlsx", register_xlsx()).run()
    assert not at.exception, at.exception
    sheet = at.selectbox(key="start_import_sheet")
    assert sheet.options == ["Cover", "KPIs", "Archive 2025"]
    assert sheet.value == "KPIs", "preselected: the sheet the importer picks (the cover has no KPI column)"
    assert at.selectbox(key="start_import_map_name").value == "KPI"
    (preview,) = [d.value for d in at.dataframe]
    assert list(preview["Name"]) == ["On-time delivery", "First-contact resolution", "Net revenue"]
    assert list(preview["Target"][:2]) == ["95%", "12.5%"], "percent as typed, shown as it will be stored"
    assert list(preview["Unit"]) == ["Operations", "Service", "Finance"]
    assert preview["Target"][2] == "1,200,000" and "Baseline" not in preview, "only the columns the sheet fills"
    assert "as they will be imported" in texts(at)

    sheet.set_value("Archive 2025").run()
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value["Name"]) == ["Old churn", "Old NPS"]
    at.button(key="start_import_import").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Audit", "an import from Start lands on the audit of the imported set"
    _, workspace = only_stored(home)
    assert [k.name for k in workspace.kpis] == ["Old churn", "Old NPS"]
    assert any(s.value.replace("\\", "").startswith("Imported 2 KPIs from register.xlsx") for s in at.success)


def test_import_notes_survive_a_reload_until_dismissed(home):
    at = start()
    at.switch_page("pages/audit.py").run()
    at.file_uploader(key="audit_upload").upload("register.xlsx", register_xlsx()).run()
    at.button(key="audit_import").click().run()
    assert not at.exception, at.exception
    ws_id, workspace = only_stored(home)
    assert workspace.kpi("on_time_delivery").target.value == pytest.approx(0.95)
    assert workspace.kpi("first_contact_resolution").target.value == pytest.approx(0.125)
    notes = WorkspaceStore(home).import_notes(ws_id)
    assert notes is not None and notes.source == "register.xlsx" and notes.notes

    reloaded = start(ws=ws_id)
    reloaded.switch_page("pages/audit.py").run()
    assert not reloaded.exception, reloaded.exception
    labels = [e.label.replace("\\", "") for e in reloaded.expander]
    assert any(label.startswith("Import notes for register.xlsx") for label in labels), labels
    reloaded.button(key="audit_dismiss_notes").click().run()
    assert not reloaded.exception, reloaded.exception
    assert not [e for e in reloaded.expander if "Import notes" in e.label]
    assert WorkspaceStore(home).import_notes(ws_id) is None

    again = start(ws=ws_id)
    again.switch_page("pages/audit.py").run()
    assert not [e for e in again.expander if "Import notes" in e.label], "dismissed notes stay dismissed"


def test_dbt_several_files_at_once(home):
    at = start()
    at.switch_page("pages/audit.py").run()
    uploader = at.file_uploader(key="audit_upload")
    assert uploader.accept_multiple_files
    uploader.set_value([("models.yml", DBT_MODELS, "text/yaml"), ("metrics.yml", DBT_METRICS, "text/yaml")])
    at.run()
    assert "2 files" in " ".join(c.value for c in at.caption)
    at.button(key="audit_import").click().run()
    assert not at.exception, at.exception
    _, workspace = only_stored(home)
    assert {k.id for k in workspace.kpis} == {"revenue", "orders", "aov"}
    assert [s.name for s in workspace.sources] == ["fct_orders"]


def test_dbt_zipped_project_with_hostile_member_names(home, tmp_path):
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("shop/models/orders.yml", DBT_MODELS)
        archive.writestr("shop/models/metrics.yml", DBT_METRICS)
        archive.writestr("../../escape.yml", DBT_METRICS)
        archive.writestr("/abs/evil.yml", b"metrics: []\n")
        archive.writestr("shop/dbt_packages/other/metrics.yml", b"metrics: [{name: foreign, type: simple}]\n")
        archive.writestr("shop/README.md", b"# not YAML, not unpacked")
    at = start()
    at.switch_page("pages/audit.py").run()
    at.file_uploader(key="audit_upload").upload("shop.zip", stream.getvalue(), "application/zip").run()
    at.button(key="audit_import").click().run()
    assert not at.exception, at.exception
    _, workspace = only_stored(home)
    assert {k.id for k in workspace.kpis} >= {"revenue", "orders", "aov"}
    assert workspace.kpi("foreign") is None, "installed packages are not the project's metrics"
    assert not (tmp_path / "escape.yml").exists() and not list(tmp_path.parent.glob("escape.yml"))


def test_a_broken_zip_and_a_mixed_upload_are_explained(home):
    at = start()
    at.switch_page("pages/audit.py").run()
    at.file_uploader(key="audit_upload").upload("shop.zip", b"PK\x03\x04 not really", "application/zip").run()
    at.button(key="audit_import").click().run()
    assert any("shop.zip could not be imported" in e.value.replace("\\", "") for e in at.error)
    at.file_uploader(key="audit_upload").set_value(
        [("kpis.csv", b"Metric\nA\n", "text/csv"), ("metrics.yml", DBT_METRICS, "application/yaml")]
    ).run()
    assert any("not both together" in e.value for e in at.error)
    assert WorkspaceStore(home).list_workspaces() == []


def test_edit_on_a_kpi_without_a_goal_opens_its_card_alone(home):
    at = start()
    at.switch_page("pages/audit.py").run()
    at.file_uploader(key="audit_upload").set_value(
        [("models.yml", DBT_MODELS, "application/yaml"), ("metrics.yml", DBT_METRICS, "application/yaml")]
    ).run()
    at.button(key="audit_import").click().run()
    at.multiselect(key="audit_only").set_value(["orphan-kpi"]).run()
    edits = [b for b in at.button if b.key and b.key.startswith("audit_edit_")]
    assert len(edits) == 3
    edits[1].click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "KPIs per goal", "a workspace without goals still shows its KPIs"
    assert at.subheader[0].value == "The KPI the audit pointed to"
    (card,) = at.expander
    assert card.proto.expanded and "Orders" in card.label, "only that KPI's card, open"
    assert any("`orphan-kpi`" in w.value for w in at.warning)
    at.toggle(key="kpis_show_other_orphans").set_value(True)
    at.switch_page("pages/kpis.py").run()  # AppTest reruns the page it last switched to, not the app's
    assert len(at.expander) == 3


def test_edit_on_a_unit_finding_opens_the_unit_on_goals(home, monkeypatch):
    at = start(monkeypatch, sample=True)
    at.switch_page("pages/audit.py").run()
    at.multiselect(key="audit_only").set_value(["unit-kpi-count"]).run()
    edits = [b for b in at.button if b.key and b.key.startswith("audit_edit_")]
    assert edits, "unit findings offer Edit"
    edits[0].click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Units and strategic goals"
    assert at.selectbox[0].label == "Unit to edit" and at.session_state["edit_unit_chosen"] == at.selectbox[0].value
    (callout,) = [w.value for w in at.warning if "From the audit" in w.value]
    assert "`unit-kpi-count`" in callout
    assert any("Back to the audit" in link.proto.label for link in at.get("page_link"))


def test_unit_picker_and_percent_values_on_the_kpi_card(home, monkeypatch):
    at = start(monkeypatch, sample=True)
    at.switch_page("pages/kpis.py").run()
    workspace = at.session_state["kw_workspace"]
    kpi = next(k for k in workspace.kpis if k.goal)
    goal = workspace.goal(kpi.goal)
    at.session_state["kpi_goal_choice"] = goal.id
    at.session_state["kpis_open_card"] = kpi.id
    at.switch_page("pages/kpis.py").run()
    locked = at.selectbox(key=f"kpi_{kpi.id}_unit_of_goal")
    assert locked.disabled and locked.value == goal.unit, "with a goal the unit follows it, read-only"

    key = f"kpi_{kpi.id}"
    at.selectbox(key=f"{key}_uom").set_value("percent")
    at.text_input(key=f"{key}_target_value").input("≥ 95 %")
    at.text_input(key=f"{key}_warning").input("12,5 %")
    at.text_input(key=f"{key}_critical").input("abc")
    next(b for b in at.button if b.key == f"FormSubmitter:{key}-Save KPI").click().run()
    (error,) = [e.value.replace("\\", "") for e in at.error]
    assert "**Critical at** — 'abc' is not a number; write it like 0.95, 95% or 1250" in error
    at.text_input(key=f"{key}_critical").input("10%")
    # Leave the goal: the KPI keeps its unit, and the picker becomes a choice.
    at.selectbox(key=f"{key}_goal").set_value("—")
    next(b for b in at.button if b.key == f"FormSubmitter:{key}-Save KPI").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    _, saved = only_stored(home)
    kept = saved.kpi(kpi.id)
    assert (kept.target.value, kept.thresholds.warning, kept.thresholds.critical) == pytest.approx((0.95, 0.125, 0.1))
    assert kept.goal is None and kept.unit == goal.unit

    def shown(at: AppTest) -> list[str]:
        return [at.text_input(key=f"{key}_{k}").value for k in ("target_value", "warning", "critical")]

    at.session_state["kpi_goal_choice"] = "__no_goal__"
    at.session_state["kpis_open_card"] = kpi.id
    at.switch_page("pages/kpis.py").run()
    picker = at.selectbox(key=f"{key}_unit")
    assert not picker.disabled and picker.value == goal.unit
    assert shown(at) == ["95%", "12.5%", "10%"], "a percent KPI's values as percent, not 0.95"
    at.text_input(key=f"{key}_warning").input("11")  # typed over "12.5%": meant as 11%, not 1100%
    next(b for b in at.button if b.key == f"FormSubmitter:{key}-Save KPI").click().run()
    assert any("type 11%" in e.value for e in at.error), [e.value for e in at.error]
    at.text_input(key=f"{key}_warning").input("0.11")  # a fraction is read as before and shown as percent
    other = next(u.id for u in saved.units if u.id != goal.unit)
    at.selectbox(key=f"{key}_unit").set_value(other)
    next(b for b in at.button if b.key == f"FormSubmitter:{key}-Save KPI").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert only_stored(home)[1].kpi(kpi.id).unit == other
    assert only_stored(home)[1].kpi(kpi.id).thresholds.warning == pytest.approx(0.11)
    at.session_state["kpis_open_card"] = kpi.id
    at.switch_page("pages/kpis.py").run()
    assert shown(at) == ["95%", "11%", "10%"], "after the save the same as after a reload"
    reloaded = start(ws=only_stored(home)[0])
    reloaded.session_state["kpi_goal_choice"] = "__no_goal__"
    reloaded.session_state["kpis_open_card"] = kpi.id
    reloaded.switch_page("pages/kpis.py").run()
    assert shown(reloaded) == ["95%", "11%", "10%"]


def test_zip_members_are_unpacked_only_inside_the_folder_and_only_yaml(tmp_path):
    from kpi_model.importers.isolated import unpack_dbt_zip as _unpack

    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name in ("../../escape.yml", "/abs/evil.yaml", "a/./b/../c.yml", "x/.hidden/m.yml", "notes.txt", "..yml"):
            zipped.writestr(name, b"metrics: []\n")
    into = tmp_path / "project"
    assert _unpack(archive, into, "shop.zip") == 5
    written = sorted(str(p.relative_to(into)) for p in into.rglob("*") if p.is_file())
    assert written == ["..yml", "a/b/c.yml", "abs/evil.yaml", "escape.yml", "x/.hidden/m.yml"]
    assert all(p.resolve().is_relative_to(into.resolve()) for p in into.rglob("*"))
    assert not (tmp_path / "escape.yml").exists()


OLIST_DBT = REPO.parent / "shared" / "external" / "olist-funnel" / "dbt"


@pytest.mark.skipif(not OLIST_DBT.is_dir(), reason="shared/external/olist-funnel is not present")
def test_the_olist_dbt_project_as_two_files_and_as_a_zip_gives_the_same_kpis(home):
    files = [(p.name, p.read_bytes(), "application/yaml") for p in sorted(OLIST_DBT.glob("*.yaml"))]
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, _ in files:
            archive.writestr(f"olist/models/{name}", data)
    found = []
    for upload in (files, [("olist.zip", stream.getvalue(), "application/zip")]):
        at = start()
        at.switch_page("pages/audit.py").run()
        at.file_uploader(key="audit_upload").set_value(upload).run()
        at.button(key="audit_import").click().run()
        assert not at.exception, at.exception
        assert "`orphan-kpi`" in texts(at), "dbt metrics have no goals yet"
        newest = WorkspaceStore(home).list_workspaces()[0]
        found.append(sorted(k.id for k in WorkspaceStore(home).load(newest.id).kpis))
    assert found[0] == found[1] and len(found[0]) == 7


def test_another_file_starts_from_fresh_guesses_not_the_last_file_s_choices(home):
    at = start()
    at.switch_page("pages/audit.py").run()
    at.file_uploader(key="audit_upload").upload("a.csv", b"Metric,Responsible\nA,B\n").run()
    at.selectbox(key="audit_map_owner").set_value("—").run()
    at.file_uploader(key="audit_upload").set_value(("b.csv", b"KPI name,Owner,Target\nX,Y,5%\n", "text/csv")).run()
    assert not at.exception, at.exception
    mapped = {f: at.selectbox(key=f"audit_map_{f}").value for f in ("name", "owner", "target")}
    assert mapped == {"name": "KPI name", "owner": "Owner", "target": "Target"}


def test_numbers_that_read_two_ways_are_asked_then_read_as_answered(home):
    # '1.850' alone in a comma-delimited file: a thousand-separator or a decimal point, nothing says which.
    sheet = b"KPI,Owner,Target\nAverage basket,CRM lead,1.850\nVisits per store,Ops lead,40\n"
    at = start()
    at.file_uploader(key="start_import_upload").upload("register.csv", sheet, "text/csv").run()
    assert not at.exception, at.exception
    questions, preview = (d.value for d in at.dataframe)  # asked above the preview
    assert list(questions["as written"]) == ["1.850"] and list(questions["row"]) == [2]
    assert (questions["with a decimal comma"][0], questions["with a decimal point"][0]) == ("1,850", "1.85")
    assert "Target" not in preview or preview["Target"][0] == "", "left out until answered, never guessed"
    choice = at.radio(key="start_import_map_decimal")
    choice.set_value(choice.options[1]).run()
    assert not at.exception, at.exception
    assert at.dataframe[1].value["Target"][0] == "1,850"
    at.button(key="start_import_import").click().run()
    _, workspace = only_stored(home)
    target = workspace.kpis[0].target
    assert target is not None and target.value == 1850


NEW_USER_CSV = (
    "KPI,Department,Objective,Owner,Target,Unit,Comments\n"
    "Revenue,Finance,Grow profitably,CFO,52,EUR,unaudited\n"
    "Cost per invoice processed,Finance,,AP Lead,3.5,EUR,\n"
    "Budget accuracy,Finance,Grow profitably,Head of FP&A,95%,%,\n"
    "On-time delivery,Operations,,COO,≥ 98%,%,\n"
    "Scrap rate,Operations,,Plant Manager,< 2%,%,\n"
    "OEE,Operations,,Plant Manager,85%,%,\n"
    "Training cost per employee,Operations,,HR Director,2000,EUR,\n"
    "Employee turnover,Operations,,HR Director,< 7%,%,\n"
    "Employee engagement,Operations,,HR Director,4,score,\n"
    "Gross margin,Finance,Grow profitably,Sales Controller,33%,%,\n"
).encode()


def test_new_user_register_mapping_labels_full_preview_and_notes_before_import(home):
    at = start()
    assert not at.toggle, "nothing to toggle before a workspace is open"
    at.file_uploader(key="start_import_upload").upload("register.csv", NEW_USER_CSV, "text/csv").run()
    assert not at.exception, at.exception
    labels = {s.label for s in at.selectbox}
    assert {"KPI name", "Department / unit", "Goal / objective", "Leading or lagging", "Formula (SQL)"} <= labels
    assert {"Red line", "Amber line", "Combined thresholds (Red/Amber/Green)", "Last review date"} <= labels
    assert not labels & {"name", "kind", "formula", "time column", "thresholds"}, "no raw field names"
    assert all(s.help for s in at.selectbox if s.key and s.key.startswith("start_import_map_"))
    (preview,) = [d.value for d in at.dataframe]
    assert len(preview) == 10, "every KPI, not the first eight"
    assert "all 10 KPIs as they will be imported" in texts(at)
    (notes,) = [e for e in at.expander if e.label.startswith("Import notes")]
    shown = " ".join(m.value for m in notes.markdown).replace("\\", "")
    assert "Comments" in shown and "--mapping" not in shown, "the notes before the import, without CLI flags"
    at.file_uploader(key="start_import_upload").set_value(
        [("register.csv", NEW_USER_CSV, "text/csv"), ("other.csv", NEW_USER_CSV, "text/csv")]
    ).run()
    (error,) = [e.value for e in at.error]
    assert "Remove the file you do not want" in error

    at.file_uploader(key="start_import_upload").upload("register.csv", NEW_USER_CSV, "text/csv").run()
    at.button(key="start_import_import").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Audit"
    toggle = at.toggle(key="audit_use_data")
    assert toggle.disabled and not toggle.value, "no data loaded: nothing to use"
    assert any("No data is loaded" in c.value for c in at.caption)
    notes_after = " ".join(m.value for e in at.expander if "Import notes" in e.label for m in e.markdown)
    assert "Comments" in notes_after and "--mapping" not in notes_after
    at.switch_page("pages/start.py").run()
    assert any("1 goal, 10 KPIs" in s.value for s in at.success), [s.value for s in at.success]


def test_edit_from_a_verdict_lists_every_open_finding_and_keeps_the_open_ones_after_a_save(home):
    at = start()
    at.file_uploader(key="start_import_upload").upload("register.csv", NEW_USER_CSV, "text/csv").run()
    at.button(key="start_import_import").click().run()
    kpi_id = "training_cost_per_employee"
    at.button(key=f"audit_verdict_edit_{kpi_id}").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "KPIs per goal"
    (callout,) = [w.value for w in at.warning if "From the audit" in w.value]
    assert "`orphan-kpi`" in callout and "`not-actionable`" in callout, callout
    assert "no direction" in callout, "every open finding, not only the one clicked"

    key = f"kpi_{kpi_id}"
    at.selectbox(key=f"{key}_direction").set_value("down")
    at.text_area(key=f"{key}_action").input("HR Director reviews the training budget when above amber")
    next(b for b in at.button if b.key == f"FormSubmitter:{key}-Save KPI").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (fixed,) = [s.value for s in at.success if "Just fixed" in s.value]
    assert "`not-actionable`" in fixed and "Has no direction" in fixed and "Has no action" in fixed, fixed
    (still,) = [w.value for w in at.warning if "From the audit" in w.value]
    assert "`orphan-kpi`" in still and "`not-actionable`" not in still, "the open finding stays on the card"


def test_a_finding_about_the_whole_set_has_an_edit_that_leads_to_the_fix(home):
    at = start()
    at.file_uploader(key="start_import_upload").upload("register.csv", NEW_USER_CSV, "text/csv").run()
    at.button(key="start_import_import").click().run()
    at.multiselect(key="audit_only").set_value(["missing-owner"]).run()
    (edit,) = [b for b in at.button if b.key and b.key.startswith("audit_edit_")]
    edit.click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Units and strategic goals"
    assert at.session_state["edit_unit_chosen"] == "finance", "the first unit without a head"
    (callout,) = [w.value for w in at.warning if "From the audit" in w.value]
    assert "None of the 2 units names its head" in callout


def test_the_header_row_is_shown_as_found_and_can_be_changed(home):
    csv = b"KPI register 2027, draft\n\nKPI,Owner,Target\nRevenue,CFO,52\nChurn,Head of CS,5%\nNPS,CMO,40\n"
    at = start()
    at.file_uploader(key="start_import_upload").upload("register.csv", csv, "text/csv").run()
    assert not at.exception, at.exception
    header = at.number_input(key="start_import_map_header_row")
    assert header.value == 3, "the row naming the columns, below the title"
    assert list(at.dataframe[0].value["Name"]) == ["Revenue", "Churn", "NPS"]
    header.set_value(4).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="start_import_map_row4_name").options[1:] == ["Revenue", "CFO", "52"]
    at.selectbox(key="start_import_map_row4_name").set_value("—").run()
    (error,) = [e.value.replace("\\", "") for e in at.error]
    assert "pick the column of KPI names under *KPI name*" in error and "--mapping" not in error, error
    at.number_input(key="start_import_map_header_row").set_value(3).run()
    assert list(at.dataframe[0].value["Name"]) == ["Revenue", "Churn", "NPS"]

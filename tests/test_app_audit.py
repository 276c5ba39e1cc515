"""The Audit page: findings of the open set, imports of spreadsheets and dbt YAML, edits and re-audits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kpi_model.store import WorkspaceStore

from .conftest import REPO, SAMPLE_WORKSPACE

OLIST_DBT = REPO.parent / "shared" / "external" / "olist-funnel" / "dbt"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    return tmp_path / "store"


def audit_page(open_sample: bool, monkeypatch) -> AppTest:
    if open_sample:
        monkeypatch.setenv("KPI_WIZARD_OPEN", str(SAMPLE_WORKSPACE))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/audit.py").run()
    assert not at.exception, at.exception
    return at


def texts(at) -> str:
    return " ".join(m.value for m in at.markdown).replace("\\", "")


def test_sample_audit_shows_score_and_the_documented_flaws(home, monkeypatch):
    at = audit_page(True, monkeypatch)
    metrics = {m.label: m.value for m in at.metric}
    assert re.fullmatch(r"\d+\.\d/100", metrics["Design score"]), "one name, one decimal"
    assert int(metrics["Errors"]) > 0
    shown = texts(at)
    for slug in (
        "missing-owner",
        "goal-kpi-count",
        "financial-only",
        "cross-unit-conflict",
        "vanity-metric",
        "missing-source",
        "target-not-time-bound",
        "unpaired-leading-lagging",
    ):
        assert f"`{slug}`" in shown, slug
    assert "Fix:" in shown


def test_filters_and_exports(home, monkeypatch):
    at = audit_page(True, monkeypatch)
    at.multiselect(key="audit_only").set_value(["vanity-metric"]).run()
    shown = texts(at)
    assert "`vanity-metric`" in shown and "`missing-owner`" not in shown
    labels = {b.proto.label for b in at.get("download_button")}
    assert {"Findings as CSV", "Findings as JSON", "Report as Markdown"} <= labels


def test_edit_jump_and_re_audit_score_change(home, monkeypatch):
    at = audit_page(True, monkeypatch)
    before = float(at.metric[0].value.split("/")[0])
    at.multiselect(key="audit_only").set_value(["missing-owner"]).run()
    edit = [b for b in at.button if b.key and b.key.startswith("audit_edit_")]
    assert edit, "KPI findings offer a jump to edit"
    edit[0].click().run()
    assert at.title[0].value == "KPIs per goal", "Edit opens the KPI on the KPIs page"
    assert any(e.proto.expanded for e in at.expander), "with its card open"
    assert at.subheader[0].value == "The KPI the audit pointed to", "its card comes first, above the fold"
    (callout,) = [w.value for w in at.warning if "From the audit" in w.value]
    assert "**Fix:**" in callout and "`" in callout, "the card says which finding brought the user here"
    assert any("Back to the audit" in link.proto.label for link in at.get("page_link"))
    # Fix the owner-less KPI on the KPIs page, then come back.
    at.session_state["kpi_goal_choice"] = "happier-customers"
    at.session_state["kpis_open_card"] = "defect_ticket_share"
    at.switch_page("pages/kpis.py").run()
    at.text_input(key="kpi_defect_ticket_share_owner").input("Quality Lead")
    next(b for b in at.button if b.key == "FormSubmitter:kpi_defect_ticket_share-Save KPI").click().run()
    (fixed,) = [s.value for s in at.success if "Just fixed" in s.value]
    assert "`missing-owner`" in fixed, "the card says what the save fixed"
    still = [w.value for w in at.warning if "From the audit" in w.value]
    assert all("`missing-owner`" not in w for w in still), "and lists only what is still open"
    at.switch_page("pages/audit.py").run()
    after_metric = at.metric[0]
    after = float(after_metric.value.split("/")[0])
    assert after > before, "fixing a finding raises the score"
    assert not after_metric.delta, "the change is shown once, under Before and after"


def test_import_a_spreadsheet_with_a_corrected_mapping(home, monkeypatch):
    at = audit_page(False, monkeypatch)
    csv = (
        b"Metric,Responsible,Dept,Objective,Target,Frequency,Calculation\n"
        b"Net revenue,CFO,Finance,Grow profitably,1200000,Monthly,sum(amount)\n"
        b"Page views,,Marketing,Grow reach,,Weekly,count(*)\n"
        b"Churn rate,Head of CS,Customer Success,Keep customers,5%,Monthly,Churned / Customers\n"
    )
    at.file_uploader(key="audit_upload").upload("kpis.csv", csv, "text/csv").run()
    assert at.selectbox(key="audit_map_name").value == "Metric"
    assert at.selectbox(key="audit_map_owner").value == "Responsible"
    at.selectbox(key="audit_map_unit").set_value("Dept").run()
    at.button(key="audit_import").click().run()
    assert not at.exception
    (stored,) = WorkspaceStore(home).list_workspaces()
    workspace = WorkspaceStore(home).load(stored.id)
    assert [k.name for k in workspace.kpis] == ["Net revenue", "Page views", "Churn rate"]
    assert {u.name for u in workspace.units} == {"Finance", "Marketing", "Customer Success"}
    assert workspace.kpi("churn_rate").target.value == pytest.approx(0.05)
    assert "`missing-owner`" in texts(at), "the imported set is audited at once"


def test_broken_upload_is_explained(home, monkeypatch):
    at = audit_page(False, monkeypatch)
    at.file_uploader(key="audit_upload").upload("kpis.csv", b"just,one,row\n", "text/csv").run()
    at.button(key="audit_import").click().run()
    assert at.error and WorkspaceStore(home).list_workspaces() == []


@pytest.mark.skipif(not OLIST_DBT.is_dir(), reason="shared/external/olist-funnel is not present")
def test_import_dbt_yaml_from_the_olist_project(home, monkeypatch):
    at = audit_page(False, monkeypatch)
    data = Path(OLIST_DBT / "olist_marketing_qualified_leads.yaml").read_bytes()
    at.file_uploader(key="audit_upload").upload("olist_mqls.yaml", data, "application/yaml").run()
    at.button(key="audit_import").click().run()
    assert not at.exception
    (stored,) = WorkspaceStore(home).list_workspaces()
    assert WorkspaceStore(home).load(stored.id).kpi("mqls") is not None
    assert "`orphan-kpi`" in texts(at), "dbt metrics have no goals yet"


def test_an_empty_workspace_says_there_is_nothing_to_audit_and_hidden_notes_are_announced(home, monkeypatch):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    at.text_input(key="new_workspace_name").input("Empty Co")
    next(b for b in at.button if b.label == "Create workspace").click().run()
    at.switch_page("pages/audit.py").run()
    assert not at.exception, at.exception
    assert any("no KPIs yet, so there is nothing to audit" in i.value for i in at.info)
    assert not at.metric, "no score for a set that does not exist"

    sample = audit_page(True, monkeypatch)
    sample.multiselect(key="audit_severity").set_value(["error"]).run()
    sample.multiselect(key="audit_only").set_value(["vanity-metric"]).run()
    (hint,) = [i.value for i in sample.info if "hidden" in i.value]
    assert hint.startswith("Nothing at the chosen severity; ") and "at 'warning' hidden" in hint
    assert "at 'info'" not in hint, "counts only the rules asked for"


def test_a_goal_finding_jumps_to_the_goal_s_kpis_with_the_finding_on_top(home, monkeypatch):
    at = audit_page(True, monkeypatch)
    at.multiselect(key="audit_only").set_value(["financial-only"]).run()
    (edit,) = [b for b in at.button if b.key and b.key.startswith("audit_edit_")]
    edit.click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "KPIs per goal"
    assert at.selectbox(key="kpi_goal_choice").value == "profitable-growth"
    (callout,) = [w.value.replace("\\", "") for w in at.warning if "From the audit" in w.value]
    assert "`financial-only`" in callout and "Paired leading/lagging KPI (pairs_with)" in callout

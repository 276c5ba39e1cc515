"""A manager audits an inherited register in the app (issue 11): import it from Start, read the verdict per KPI,
fix two findings through Edit, and see on the Audit page what the fixes did against the imported version.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from streamlit.testing.v1 import AppTest

from kpi_model.checks import audit
from kpi_model.store import WorkspaceStore

from .conftest import REPO, SAMPLE_WORKSPACE

APP = str(REPO / "app.py")
REGISTER = REPO / "tests" / "register_corpus" / "northwind_finance.xlsx"
OWNERLESS, NO_CADENCE = "quote_win_rate", "on_time_delivery"  # owner cell "TBD"; no cadence cell


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    return tmp_path / "store"


def plain(text: str) -> str:
    return text.replace("\\", "")


def design_score(at: AppTest) -> float:
    (caption,) = [c.value for c in at.caption if c.value.startswith("Design score ")]
    match = re.match(r"Design score ([\d.]+)/100", caption)
    assert match, caption
    return float(match.group(1))


def expander(at: AppTest, title: str):
    (found,) = [e for e in at.expander if plain(e.label).startswith(title)]
    return found


def finding_edit(at: AppTest, slug: str, kpi_name: str):
    """The Edit button beside the finding ``slug`` about the KPI named ``kpi_name`` (text and button share a row)."""
    columns = list(at.columns)
    for text_col, action_col in itertools.pairwise(columns):
        shown = " ".join(plain(m.value) for m in text_col.markdown)
        if f"`{slug}`" in shown and f"KPI **{kpi_name}**" in shown and len(action_col.button):
            return action_col.button[0]
    raise AssertionError(f"no Edit beside {slug} about {kpi_name}")


def save_card(at: AppTest, kpi_id: str) -> None:
    next(b for b in at.button if b.key == f"FormSubmitter:kpi_{kpi_id}-Save KPI").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]


def test_import_audit_fix_two_findings_and_see_the_before_and_after(home):
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.file_uploader(key="start_import_upload").upload("northwind_finance.xlsx", REGISTER.read_bytes()).run()
    assert not at.exception, at.exception

    # The sheet picker: the first sheet is a change log; the KPIs sheet is the register.
    sheet = at.selectbox(key="start_import_sheet")
    assert sheet.options == ["Change log", "KPIs"]
    sheet.set_value("KPIs").run()
    assert not at.exception, at.exception
    (preview,) = [d.value for d in at.dataframe if "Name" in d.value]
    assert {"EBIT margin", "Gross margin"} <= set(preview["Name"])
    assert "Finance" in set(preview["Unit"]), "the merged Department cells are read as the unit"
    at.button(key="start_import_import").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Audit"
    (stored,) = WorkspaceStore(home).list_workspaces()
    imported = WorkspaceStore(home).load(stored.id)
    expected = audit(imported)
    findings = {(f.slug, f.object.id) for f in expected.findings if f.object.kind == "kpi"}
    assert ("missing-owner", OWNERLESS) in findings and ("missing-cadence", NO_CADENCE) in findings

    # Scores, the verdict per KPI and its counts, in words a board reads.
    before = design_score(at)
    assert before == pytest.approx(expected.design, abs=0.01)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Data score"] == "not run"
    assert any("data checks not run — load data on the Data page" in c.value for c in at.caption)
    for verdict, count in expected.verdict_counts().items():
        assert metrics[verdict.capitalize()] == str(count), verdict
    shown = plain(" ".join(m.value for m in at.markdown))
    assert "**Quote win rate**" in shown and ":orange-badge[fix]" in shown
    assert "Has no owner: nobody answers for it when it moves" in shown, "the reason in plain words"
    assert at.button(key=f"audit_verdict_edit_{OWNERLESS}"), "an Edit per KPI with findings"
    assert any(c.value.startswith("No earlier version to compare with yet") for c in at.caption)
    at.button_group(key="audit_verdict_filter").set_value(["fix"]).run()
    rows = [b.key for b in at.button if b.key and b.key.startswith("audit_verdict_edit_")]
    assert len(rows) == expected.verdict_counts()["fix"], "only the KPIs to fix, each with its Edit"
    at.button_group(key="audit_verdict_filter").set_value([]).run()

    # Fix 1, from the verdict table: the KPI whose owner cell said TBD gets an owner.
    at.button(key=f"audit_verdict_edit_{OWNERLESS}").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "KPIs per goal"
    (callout,) = [plain(w.value) for w in at.warning if "From the audit" in w.value]
    assert "`missing-owner`" in callout
    at.text_input(key=f"kpi_{OWNERLESS}_owner").input("Head of Sales")
    save_card(at, OWNERLESS)

    # Fix 2, from the findings list: the KPI without a cadence gets one.
    at.switch_page("pages/audit.py").run()
    assert not at.exception, at.exception
    at.multiselect(key="audit_only").set_value(["missing-cadence"]).run()
    finding_edit(at, "missing-cadence", "On-time delivery").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "KPIs per goal" and at.session_state["kpis_open_card"] == NO_CADENCE
    at.switch_page("pages/kpis.py")  # AppTest reruns the page it last switched to, not the one the app did
    at.selectbox(key=f"kpi_{NO_CADENCE}_cadence").set_value("monthly")
    save_card(at, NO_CADENCE)

    # Back on Audit: the score rose, and the before/after against the import lists both fixes.
    at.switch_page("pages/audit.py").run()
    assert not at.exception, at.exception
    after = design_score(at)
    assert after > before
    compared = at.selectbox(key="audit_compare_with")
    assert "Imported from northwind_finance.xlsx" in compared.format_func(compared.value)
    (then_now,) = [m.value for m in at.metric if m.label == "Design score, then → now"]
    assert then_now == f"{before:.2f} → {after:.2f}"
    assert {m.label: m.value for m in at.metric}["Fixed"] == "2"
    fixed = plain(" ".join(m.value for m in expander(at, "Fixed").markdown))
    assert "**Quote win rate** — Has no owner" in fixed and "[missing-owner]" in fixed
    assert "**On-time delivery** — Has no cadence" in fixed and "[missing-cadence]" in fixed
    remaining = plain(" ".join(m.value for m in expander(at, "Remaining").markdown))
    still = [line for line in remaining.splitlines() if "**Quote win rate**" in line or "**On-time delivery**" in line]
    assert still and not [line for line in still if "missing-owner" in line or "missing-cadence" in line]
    (changes,) = [d.value for d in at.dataframe if "Then" in d.value]
    row = changes[changes["KPI"] == "On-time delivery"].iloc[0]
    assert (row["Then"], row["Now"]) == ("fix", "keep"), "its only finding was the cadence"
    saved = WorkspaceStore(home).load(stored.id)
    assert saved.kpi(OWNERLESS).owner == "Head of Sales" and saved.kpi(NO_CADENCE).cadence.value == "monthly"

    # Against the version saved by the first fix, only the second one shows as fixed.
    (middle,) = [v.id for v in WorkspaceStore(home).versions(stored.id) if v.note == "Saved 'Quote win rate'."]
    compared.set_value(middle).run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Fixed"] == "1"
    fixed = plain(" ".join(m.value for m in expander(at, "Fixed").markdown))
    assert "**On-time delivery**" in fixed and "Quote win rate" not in fixed


def test_before_and_after_with_data_compares_the_data_score_too(home, monkeypatch):
    """Without an import, the previous saved version is the default; with data loaded both audits use it."""
    monkeypatch.setenv("KPI_WIZARD_OPEN", str(SAMPLE_WORKSPACE))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/audit.py").run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Data score"].endswith("/100"), "the sample's data is loaded"
    assert any(c.value.startswith("No earlier version to compare with yet") for c in at.caption)

    def edit(kpi_id: str, change) -> None:
        workspace = at.session_state["kw_workspace"]
        at.session_state["kpi_goal_choice"] = workspace.kpi(kpi_id).goal
        at.session_state["kpis_open_card"] = kpi_id
        at.switch_page("pages/kpis.py").run()
        change()
        save_card(at, kpi_id)

    edit("defect_ticket_share", lambda: at.text_input(key="kpi_defect_ticket_share_owner").input("Quality Lead"))
    edit(
        "asset_utilisation",
        lambda: at.date_input(key="kpi_asset_utilisation_target_due").set_value(dt.date(2027, 12, 31)),
    )
    at.switch_page("pages/audit.py").run()
    assert not at.exception, at.exception
    compared = at.selectbox(key="audit_compare_with")
    assert "Saved 'Warehouse machine utilisation'" not in compared.format_func(compared.value)
    assert "Saved 'Share of defect tickets'" in compared.format_func(compared.value), "the version before the last"
    fixed = plain(" ".join(m.value for m in expander(at, "Fixed").markdown))
    assert "**Warehouse machine utilisation**" in fixed and "[target-not-time-bound]" in fixed
    assert "missing-owner" not in fixed, "fixed before the version compared with"
    assert any(
        re.match(r"Data score [\d.]+ → [\d.]+ \([+-][\d.]+\), on the data loaded now", c.value) for c in at.caption
    )

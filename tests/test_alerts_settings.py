"""The Alerts page's channel editor: the workspace's `alerts:` and `app_url` as text, validated as the file is."""

from __future__ import annotations

import pytest

from kpi_model import workspace_file
from kpi_model.alerts.settings import settings_text, with_settings
from kpi_model.errors import WorkspaceError
from kpi_model.store import WorkspaceStore

from .conftest import SAMPLE_WORKSPACE
from .test_app_alerts import alerts_page, sample_with_alerts

NEW_CHANNELS = """alerts:
  - {channel: webhook, url_env: KPI_WIZARD_SLACK_URL, on: [red, amber]}
  - {channel: email, to: [ops@example.com], smtp: {host: mail.example.com, from: kpi@example.com}}
app_url: https://kpi.example.com/?ws=ws-0123456789ab
"""


def problems(text: str) -> dict[str, str]:
    """Each problem of ``text`` as the sample's alert settings, by its path."""
    with pytest.raises(WorkspaceError) as refused:
        with_settings(workspace_file.load(SAMPLE_WORKSPACE), text)
    return {p.path: p.message for p in refused.value.problems}


def test_the_text_holds_the_workspace_s_settings_and_saving_it_unchanged_changes_nothing():
    sample = workspace_file.load(SAMPLE_WORKSPACE)
    text = settings_text(sample)
    assert text.startswith("alerts:") and "http://localhost:8765/kpi-alerts" in text
    assert with_settings(sample, text) == sample


def test_new_channels_and_app_url_replace_the_old_and_leave_the_rest_alone():
    sample = workspace_file.load(SAMPLE_WORKSPACE)
    changed = with_settings(sample, NEW_CHANNELS)
    assert [c.channel for c in changed.alerts] == ["webhook", "email"]
    assert changed.alerts[0].url_env == "KPI_WIZARD_SLACK_URL"
    assert changed.app_url == "https://kpi.example.com/?ws=ws-0123456789ab"
    assert changed.kpis == sample.kpis and changed.goals == sample.goals
    assert with_settings(changed, "alerts: []\n").alerts == [] and with_settings(changed, "").app_url is None


def test_a_secret_written_in_the_text_is_refused_with_the_variable_to_use():
    found = problems("alerts:\n  - {channel: email, smtp: {host: m.example.com, from: a@example.com, password: x}}\n")
    assert "password_env" in found["alerts[0].smtp.password"]
    found = problems("alerts:\n  - {channel: webhook, url: 'https://me:token@hooks.example.com/x'}\n")
    assert "environment variable" in found["alerts[0].url"]


def test_each_problem_is_named_by_its_place():
    found = problems("alerts:\n  - {channel: pager}\n  - {channel: webhook}\napp_url: kpi.example.com\n")
    assert set(found) == {"alerts[0].channel", "alerts[1]", "app_url"}, found
    assert "exactly one of url or url_env" in found["alerts[1]"]


@pytest.mark.parametrize("text", ["name: Renamed\n", "kpis: []\nalerts: []\n"])
def test_only_the_alert_settings_can_be_changed_here(text):
    found = problems(text)
    assert all("only alerts and app_url" in message for message in found.values()) and found


def test_text_that_is_not_keys_is_refused_with_how_to_start():
    assert "start with 'alerts:'" in problems("- channel: webhook\n")["(text)"]
    assert "not valid YAML" in next(iter(problems("alerts: [\n").values()))


def test_the_page_saves_edited_channels_as_a_new_version(tmp_path, monkeypatch):
    at = alerts_page(monkeypatch, tmp_path / "store", sample_with_alerts(tmp_path / "ws", []))
    assert "Edit channels" in at.info[0].value, "the advice names the page's own editor"
    at.text_area(key="alerts_settings").input(NEW_CHANNELS)
    at.button(key="alerts_save_settings").click().run()
    assert not at.exception, at.exception
    assert any("Alert settings saved" in s.value for s in at.success)
    store = WorkspaceStore(tmp_path / "store")
    (workspace_id,) = store.ids()
    saved = store.load(workspace_id)
    assert [c.channel for c in saved.alerts] == ["webhook", "email"]
    assert len(saved.kpis) == 20, "the same workspace, with its KPIs"
    assert "webhook from $KPI_WIZARD_SLACK_URL" in at.markdown[0].value.replace("\\", "")
    assert at.text_area(key="alerts_settings").value == settings_text(saved), "the text shows what was saved"


def test_bad_settings_are_not_saved_and_the_text_stays(tmp_path, monkeypatch):
    at = alerts_page(monkeypatch, tmp_path / "store", sample_with_alerts(tmp_path / "ws", []))
    bad = "alerts:\n  - {channel: webhook, url: 'https://me:pw@hooks.example.com/x'}\n  - {channel: email}\n"
    at.text_area(key="alerts_settings").input(bad)
    at.button(key="alerts_save_settings").click().run()
    assert not at.exception, at.exception
    shown = at.error[0].value.replace("\\", "")
    assert "alerts[0].url" in shown and "alerts[1]" in shown and "smtp" in shown
    assert at.text_area(key="alerts_settings").value == bad
    assert WorkspaceStore(tmp_path / "store").ids() == [], "nothing was saved"


def test_the_text_is_there_again_after_a_visit_to_another_page(tmp_path, monkeypatch):
    at = alerts_page(monkeypatch, tmp_path / "store", SAMPLE_WORKSPACE)
    at.switch_page("pages/goals.py").run()
    at.switch_page("pages/alerts.py").run()
    assert not at.exception, at.exception
    assert at.text_area(key="alerts_settings").value == settings_text(workspace_file.load(SAMPLE_WORKSPACE))

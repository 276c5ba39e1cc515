"""The alert state follows the workspace: to its new file after `cycle -o`, into the store on its first save.

Lost state means every KPI off track is alerted again: people learn to ignore the alerts.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from kpi_model.alerts import state_path_for
from kpi_model.cli import main

from .alert_receivers import webhook_receiver
from .conftest import REPO
from .test_alerts_check import TODAY, alerted, write_workspace
from .test_app_alerts import alerts_page, sample_with_alerts, table


def test_cycle_to_a_new_file_carries_the_alert_state_over(tmp_path, capsys):
    with webhook_receiver() as hook:
        path = write_workspace(tmp_path / "ws", 9, alerts=[{"channel": "webhook", "url": hook.url, "on": ["amber"]}])
        assert main(["check", str(path), "--as-of", TODAY, "--fail-on", "never"]) == 0
        first = len(hook.posts)
        new = path.with_name("workspace-2027.yaml")
        assert main(["cycle", str(path), "-o", str(new), "--as-of", TODAY]) == 0
        out = capsys.readouterr().out
        assert f"alert state carried over to {state_path_for(new)}" in out
        assert main(["check", str(new), "--as-of", TODAY, "--fail-on", "never"]) == 0
    assert first == 3 and len(alerted(hook)) == 3, "the new file's check knows what was already sent"
    assert "alerts: 0 sent" in capsys.readouterr().out


def test_cycle_leaves_an_existing_state_of_the_new_file_alone(tmp_path, capsys):
    path = write_workspace(tmp_path / "ws", 9, alerts=[])
    new = path.with_name("workspace-2027.yaml")
    state_path_for(path).write_text('{"version": 1, "statuses": {"a": {"status": "red"}}}')
    state_path_for(new).write_text('{"version": 1, "statuses": {}}')
    assert main(["cycle", str(path), "-o", str(new), "--as-of", TODAY]) == 0
    assert state_path_for(new).read_text() == '{"version": 1, "statuses": {}}'
    assert "left as it was" in capsys.readouterr().out


def test_the_first_save_in_the_app_keeps_what_an_unsaved_workspace_sent(tmp_path, monkeypatch):
    with webhook_receiver() as hook:
        monkeypatch.setenv("KPI_WIZARD_ALERT_HOSTS", f"127.0.0.1:{hook.port}")  # not a standard port: listed
        workspace = sample_with_alerts(tmp_path / "ws", [{"channel": "webhook", "url": hook.url, "on": ["amber"]}])
        at = alerts_page(monkeypatch, tmp_path / "store", workspace)
        at.button(key="alerts_check_now").click().run()
        assert len(hook.posts) == 3, "sent while the workspace was not saved yet"
        at.button(key="alerts_start_cycle").click().run()  # the first save
        assert not at.exception, at.exception
        at.button(key="alerts_check_now").click().run()
        assert not at.exception, at.exception
    assert len(hook.posts) == 3, "the saved workspace remembers the alerts sent before its first save"
    assert any("0 alerts sent" in s.value for s in at.success)
    assert list(table(at, "Outcome")["Outcome"]) == ["sent"] * 3, "the log came along"


def test_a_first_save_after_a_reload_on_another_page_keeps_what_was_sent(tmp_path, monkeypatch):
    with webhook_receiver() as hook:
        monkeypatch.setenv("KPI_WIZARD_ALERT_HOSTS", f"127.0.0.1:{hook.port}")
        workspace = sample_with_alerts(tmp_path / "ws", [{"channel": "webhook", "url": hook.url, "on": ["amber"]}])
        at = alerts_page(monkeypatch, tmp_path / "store", workspace)
        at.button(key="alerts_check_now").click().run()
        assert len(hook.posts) == 3
        # A reload: a new session on the same opened workspace, saved first on the Goals page.
        reloaded = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
        reloaded.run()
        reloaded.switch_page("pages/goals.py").run()
        reloaded.segmented_control(key="goals_view").set_value("Units").run()
        reloaded.text_input(key="add_unit_name").input("Logistics")
        next(b for b in reloaded.button if b.label == "Add unit").click().run()
        assert not reloaded.exception, reloaded.exception
        assert reloaded.query_params.get("ws"), "the workspace was saved"
        reloaded.switch_page("pages/alerts.py").run()
        reloaded.button(key="alerts_check_now").click().run()
        assert not reloaded.exception, reloaded.exception
    assert len(hook.posts) == 3, "the saved workspace remembers what the unsaved one sent"
    assert any("0 alerts sent" in s.value for s in reloaded.success)

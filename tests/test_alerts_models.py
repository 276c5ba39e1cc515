"""The alert keys of the workspace file: validated, round-tripped, secrets kept out."""

from __future__ import annotations

import json

import pytest

from kpi_model import workspace_file
from kpi_model.alerts.channels import DeliveryError, DeliveryPolicy, channel_label, send_webhook
from kpi_model.alerts.messages import kpi_link, trial_message
from kpi_model.alerts.state import AlertState, LogEntry, load_state, save_state, state_path_for
from kpi_model.errors import WorkspaceError

EMAIL = {"channel": "email", "to": ["ops@example.com"], "smtp": {"host": "localhost", "from": "kpi@example.com"}}


def load(alerts, **extra) -> object:
    return workspace_file.loads(json.dumps({"name": "x", "alerts": alerts, **extra}), "json")


def test_channels_round_trip_with_from_as_written(tmp_path):
    hook = {"channel": "webhook", "url_env": "SLACK_URL", "on": ["red", "amber", "recovered"]}
    ws = load([EMAIL, hook], app_url="https://kpi.example.com")
    path = tmp_path / "w.yaml"
    workspace_file.save(ws, path)
    text = path.read_text()
    assert "from: kpi@example.com" in text and "sender" not in text
    assert workspace_file.load(path) == ws


@pytest.mark.parametrize(
    ("channel", "words"),
    [
        ({"channel": "email", "to": ["ops@example.com"]}, "an email channel needs smtp"),
        ({"channel": "webhook"}, "exactly one of url or url_env"),
        ({"channel": "webhook", "url": "https://h.example.com/x", "url_env": "X"}, "exactly one of url or url_env"),
        ({"channel": "webhook", "url": "https://user:pw@h.example.com/x"}, "environment variable"),
        ({"channel": "webhook", "url": "ftp://h.example.com/x"}, "not a web address"),
        ({**EMAIL, "to": ["ops@example.com\r\nBcc: e@x.com"]}, "to"),
        ({**EMAIL, "on": []}, "on"),
        ({**EMAIL, "on": ["purple"]}, "on"),
        ({"channel": "pager", "to": []}, "channel"),
        ({**EMAIL, "smtp": {"host": "localhost", "from": "kpi@example.com", "password": "x"}}, "password"),
    ],
)
def test_bad_channels_are_refused_with_the_fix(channel, words):
    with pytest.raises(WorkspaceError) as raised:
        load([channel])
    assert words in str(raised.value)


def test_owner_email_is_validated():
    with pytest.raises(WorkspaceError):
        workspace_file.loads(
            json.dumps({"name": "x", "kpis": [{"id": "a", "name": "A", "owner_email": "nope"}]}), "json"
        )


def test_channel_label_never_holds_the_address_path():
    ws = load([{"channel": "webhook", "url": "https://hooks.example.com/services/T0KEN"}])
    assert channel_label(ws.alerts[0]) == "webhook hooks.example.com"  # type: ignore[attr-defined]


def test_server_policy_allows_only_listed_hosts_and_prefixed_variables(monkeypatch):
    monkeypatch.setenv("KPI_WIZARD_ALERT_HOSTS", "hooks.example.com")
    monkeypatch.setenv("HOME_SECRET", "x")
    policy = DeliveryPolicy.for_server()
    ws = load([{"channel": "webhook", "url": "http://169.254.169.254/latest"}])
    with pytest.raises(DeliveryError, match="KPI_WIZARD_ALERT_HOSTS"):
        send_webhook(ws.alerts[0], trial_message("x", "y"), policy)  # type: ignore[attr-defined]
    with pytest.raises(DeliveryError, match="only environment variables named KPI_WIZARD_"):
        policy.secret("HOME_SECRET", "webhook address")


def test_kpi_link_keeps_the_workspace_query():
    assert kpi_link("https://k.example.com/app/?ws=ws-1", "csat") == "https://k.example.com/app/kpis?ws=ws-1&kpi=csat"
    assert kpi_link(None, "csat") is None


def test_state_round_trips_and_a_wrong_file_is_reported(tmp_path):
    path = state_path_for(tmp_path / "workspace.yaml")
    assert path.name == ".kpi-wizard-alerts.workspace.json"
    state = AlertState(statuses={"a": {"status": "red"}}, last_check="2026-12-05T10:00:00Z")
    state.record(LogEntry("2026-12-05T10:00:00Z", "webhook h", "alert", ["a"], "s", "sent"))
    save_state(path, state)
    loaded, problem = load_state(path)
    assert problem is None and loaded.statuses == state.statuses and loaded.log == state.log
    path.write_text(json.dumps({"version": 1, "pending": [{"nope": 1}]}))
    empty, problem = load_state(path)
    assert empty.statuses == {} and problem is not None and str(path) in problem


def test_a_message_is_given_up_after_the_last_attempt_and_says_so(tmp_path, monkeypatch):
    from kpi_model.alerts import run_check
    from kpi_model.alerts.evaluation import KpiReading
    from kpi_model.alerts.run import MAX_ATTEMPTS
    from kpi_model.status import Status

    monkeypatch.delenv("KPI_WIZARD_NEVER_SET", raising=False)
    ws = load([{"channel": "webhook", "url_env": "KPI_WIZARD_NEVER_SET", "on": ["amber"]}])
    reading = KpiReading("a", "A", "month", Status.AMBER, "2026-10", 1.0, "1.00", "amber: below warning 2.00")
    path = tmp_path / "state.json"
    runs = [run_check(ws, [reading], path) for _ in range(MAX_ATTEMPTS + 1)]  # type: ignore[arg-type]
    assert [len(r.failed) for r in runs] == [1] * (MAX_ATTEMPTS + 1)
    assert not any(o.given_up for r in runs[:-1] for o in r.outcomes) and runs[-1].outcomes[0].given_up
    kept, _ = load_state(path)
    assert kept.pending == [] and kept.log[-1].outcome == "given up"


def test_one_check_at_a_time_per_state_file(tmp_path):
    from kpi_model.alerts.state import state_lock
    from kpi_model.errors import KpiWizardError

    path = tmp_path / "state" / "alerts.json"
    with state_lock(path), pytest.raises(KpiWizardError, match="another check holds"):
        with state_lock(path, wait_s=0.3):
            pass
    with state_lock(path, wait_s=0.3):
        pass  # released when the first check ended

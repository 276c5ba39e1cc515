"""Hostile alert state files and workspaces: a wrong shape is reported and set aside, never a crash or a flood."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kpi_model.alerts import DeliveryError, DeliveryPolicy, run, state_path_for
from kpi_model.alerts.channels import send_email, send_webhook
from kpi_model.alerts.messages import trial_message
from kpi_model.alerts.state import load_state
from kpi_model.cli import main

from .alert_receivers import smtp_receiver, webhook_receiver
from .test_alerts_check import TODAY, owner_emails, write_workspace
from .test_alerts_retry import email_on_port
from .test_alerts_team import MESSAGE, channel
from .test_app_alerts import alerts_page, sample_with_alerts

GOOD_PENDING = {
    "channel": "0123456789ab",
    "label": "webhook 127.0.0.1",
    "kind": "alert",
    "kpis": ["web_revenue"],
    "subject": "KPI Wizard: kept",
    "text": "kept\n",
    "payload": {"text": "kept"},
    "recipients": [],
    "first_failed": "2026-12-01T07:30:00Z",
    "attempts": 1,
    "index": 0,
    "medium": "webhook",
}
GOOD_LOG = {"at": "2026-12-01T07:30:00Z", "channel": "c", "kind": "alert", "kpis": [], "subject": "s", "outcome": "ok"}
SHAPES = {
    "a status that is a list": {"statuses": {"web_revenue": {"status": ["amber"]}}},
    "a subject that is a number": {"pending": [{**GOOD_PENDING, "subject": 7}]},
    "attempts as text": {"pending": [{**GOOD_PENDING, "attempts": "3"}]},
    "a place that is not a number": {"pending": [{**GOOD_PENDING, "index": "0"}]},
    "recipients as one string": {"pending": [{**GOOD_PENDING, "recipients": "ops@example.com"}]},
    "a recipient with a second command": {
        "pending": [{**GOOD_PENDING, "recipients": ["ops@example.com>\r\nRCPT TO:<x@evil.example"]}]
    },
    "a log time that is a number": {"log": [{**GOOD_LOG, "at": 1733300000}]},
    "a log that is an object": {"log": {"at": "x"}},
    "a list, not an object": [],
}


def write_state(path: Path, shape: dict | list) -> None:
    document = {"version": 1, **shape} if isinstance(shape, dict) else shape
    state_path_for(path).write_text(json.dumps(document))


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_a_state_file_of_the_wrong_shape_is_reported_set_aside_and_the_check_goes_on(tmp_path, capsys, shape):
    with webhook_receiver() as hook:
        path = write_workspace(tmp_path / "ws", 9, alerts=[{"channel": "webhook", "url": hook.url, "on": ["amber"]}])
        write_state(path, shape)
        assert main(["check", str(path), "--as-of", TODAY, "--fail-on", "never"]) == 0
    err = capsys.readouterr().err
    assert "could not be read (not a KPI Wizard alert state" in err and "moved to" in err, err
    assert len(hook.posts) == 3, "treated as empty: each KPI off track alerted once, nothing from the planted file"
    assert all(p["kpi_wizard"]["kind"] == "amber" for p in hook.posts)
    kept, problem = load_state(state_path_for(path))
    assert problem is None and kept.pending == []


def test_the_alerts_page_reads_a_state_file_of_the_wrong_shape_without_breaking(tmp_path, monkeypatch):
    workspace = sample_with_alerts(tmp_path / "ws", [{"channel": "webhook", "url": "http://127.0.0.1:9/x"}])
    at = alerts_page(monkeypatch, tmp_path / "store", workspace)
    at.button(key="alerts_check_now").click().run()  # writes the state file in the store
    (state,) = (tmp_path / "store").glob("_opened/*/.kpi-wizard-alerts.workspace.json")
    state.write_text(json.dumps({"version": 1, **SHAPES["a log time that is a number"]}))
    at.switch_page("pages/alerts.py").run()
    assert not at.exception, at.exception
    assert any("could not be read" in w.value for w in at.warning)


def test_at_most_max_pending_kept_messages_are_tried_in_one_run(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(run, "MAX_PENDING", 2)
    with webhook_receiver() as hook:
        path = write_workspace(tmp_path / "ws", 9, alerts=[{"channel": "webhook", "url": hook.url, "on": ["amber"]}])
        # As if every KPI had been checked: no new alert, only the five kept messages.
        statuses = {k: {"status": "amber"} for k in ("web_revenue", "deals_won", "win_rate")}
        pending = [{**GOOD_PENDING, "subject": f"kept {i}", "payload": {"text": f"kept {i}"}} for i in range(5)]
        write_state(path, {"statuses": statuses, "pending": pending, "last_check": "2026-12-01T07:30:00Z"})
        assert main(["check", str(path), "--as-of", TODAY, "--fail-on", "never"]) == 0
    assert [p["text"] for p in hook.posts] == ["kept 3", "kept 4"], "the newest are tried, the oldest given up"
    assert "3 kept messages were given up: more than 2 messages were waiting" in capsys.readouterr().err
    kept, _ = load_state(state_path_for(path))
    assert [e.subject for e in kept.log if e.outcome == "given up"] == ["kept 0", "kept 1", "kept 2"]


def test_owner_mails_of_a_failed_flood_are_retried_to_the_owner_alone(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(run, "FLOOD_LIMIT", 1)
    with smtp_receiver() as gone:
        dead = gone.port
    path = write_workspace(tmp_path / "ws", 9, alerts=email_on_port(dead))
    main(["check", str(path), "--as-of", TODAY, "--fail-on", "never"])
    assert [p.owner_only for p in load_state(state_path_for(path))[0].pending] == [False, True]
    with smtp_receiver(dead) as back:
        main(["check", str(path), "--as-of", TODAY, "--fail-on", "never"])
    assert [m.recipients for m in back.mails] == [["ops@example.com"], ["ecommerce.head@example.com"]]


@pytest.mark.parametrize("host", ["a..b", ".example.com", "x" * 64 + ".example.com"])
def test_a_webhook_host_name_the_resolver_refuses_is_a_delivery_error_not_a_crash(host):
    webhook = channel(channel="webhook", url=f"http://{host}/x")
    with pytest.raises(DeliveryError, match=r"the host name is not usable.*fix url"):
        send_webhook(webhook, trial_message("x", "y"), DeliveryPolicy())


@pytest.mark.parametrize("host", ["a..b", "x" * 64 + ".example.com"])  # a leading dot is refused on reading
def test_a_mail_host_name_the_resolver_refuses_is_a_delivery_error_not_a_crash(host):
    mail = channel(channel="email", to=["ops@example.com"], smtp={"host": host, "from": "kpi@example.com"})
    with pytest.raises(DeliveryError, match=r"the host name is not usable.*fix smtp: host"):
        send_email(mail, trial_message("x", "y"), DeliveryPolicy())


def test_a_webhook_address_with_letters_beyond_ascii_is_sent_percent_encoded():
    with webhook_receiver() as hook:
        send_webhook(channel(channel="webhook", url=f"{hook.url}/kpi-ä?team=zürich"), MESSAGE, DeliveryPolicy())
    assert hook.paths == ["/hook/kpi-%C3%A4?team=z%C3%BCrich"]


def test_a_handed_on_workspace_cannot_send_the_machines_secrets_as_a_password(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-K7MDENG")
    with smtp_receiver() as theirs:
        smtp = {"host": "127.0.0.1", "port": theirs.port, "from": "kpi@example.com", "username": "x"}
        alerts = [{"channel": "email", "to": ["ops@example.com"], "on": ["amber"], "smtp": smtp}]
        alerts[0]["smtp"]["password_env"] = "AWS_SECRET_ACCESS_KEY"
        path = write_workspace(tmp_path / "ws", 9, alerts=alerts)
        main(["check", str(path), "--as-of", TODAY, "--fail-on", "never"])
    out, err = capsys.readouterr()
    assert theirs.mails == [], "nothing logged in with it"
    assert "not AWS_SECRET_ACCESS_KEY: set the SMTP password as KPI_WIZARD_AWS_SECRET_ACCESS_KEY" in err
    assert "wJalr" not in out + err + state_path_for(path).read_text()


def test_owners_own_mails_are_capped_per_channel_and_the_rest_reported(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(run, "FLOOD_LIMIT", 1)
    monkeypatch.setattr(run, "MAX_OWNER_MESSAGES", 2)
    owners = {"web_revenue": "a@example.com", "deals_won": "b@example.com", "win_rate": "c@example.com"}

    with smtp_receiver() as smtp:
        path = write_workspace(tmp_path / "ws", 9, alerts=email_on_port(smtp.port), edit=owner_emails(owners))
        main(["check", str(path), "--as-of", TODAY, "--fail-on", "never"])
    assert len(smtp.mails) == 3, "the combined message and two owners' own"
    assert "1 more owners get no message of their own in this run (at most 2 per channel)" in capsys.readouterr().err


@pytest.mark.parametrize(("host", "refused"), [("mail.example.com", True), ("10.0.0.5", True), ("localhost", False)])
def test_a_password_never_crosses_the_network_unencrypted(monkeypatch, host, refused):
    monkeypatch.setenv("KPI_WIZARD_SMTP_PASSWORD", "pw-7781")
    smtp = {"host": host, "port": 9, "from": "kpi@example.com", "username": "kpi"}
    mail = channel(channel="email", to=["ops@example.com"], smtp={**smtp, "password_env": "KPI_WIZARD_SMTP_PASSWORD"})
    with pytest.raises(DeliveryError) as failed:
        send_email(mail, trial_message("x", "y"), DeliveryPolicy())
    assert ("never sent unencrypted" in str(failed.value)) == refused, "on this machine it tries (and finds no server)"
    if refused:
        assert "set starttls: true" in str(failed.value)

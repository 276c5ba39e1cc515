"""A team server sends only through the channels its operator allows; the command line keeps its freedom."""

from __future__ import annotations

import json

import pytest

from kpi_model import workspace_file
from kpi_model.alerts import DeliveryError, DeliveryPolicy
from kpi_model.alerts.channels import Message, send_email, send_webhook
from kpi_model.alerts.messages import trial_message

from .alert_receivers import smtp_receiver, webhook_receiver
from .conftest import SAMPLE_WORKSPACE
from .test_app_alerts import alerts_page, sample_with_alerts

MESSAGE = trial_message("Sample", "a channel")
OPERATOR_VARIABLES = (
    "KPI_WIZARD_ALERT_HOSTS",
    "KPI_WIZARD_ALERT_SECRETS",
    "KPI_WIZARD_ALERT_DOMAINS",
    "KPI_WIZARD_ALERT_FROM",
)


@pytest.fixture
def team(monkeypatch):
    """A team server whose operator has set nothing yet; the test sets what it needs."""
    monkeypatch.setenv("KPI_WIZARD_ACCESS", "team")
    for name in OPERATOR_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def channel(**settings):
    data = workspace_file.to_data(workspace_file.load(SAMPLE_WORKSPACE))
    data["alerts"] = [settings]
    return workspace_file.loads(json.dumps(data), "json").alerts[0]


def test_the_app_knows_a_team_server_from_its_access_mode(team):
    assert DeliveryPolicy.for_server().team
    team.setenv("KPI_WIZARD_ACCESS", "local")
    assert not DeliveryPolicy.for_server().team


def test_a_team_server_sends_only_to_listed_host_port_pairs(team):
    with webhook_receiver() as hook:
        hook_channel = channel(channel="webhook", url=hook.url)
        team.setenv("KPI_WIZARD_ALERT_HOSTS", "127.0.0.1")  # a bare host would open every port
        with pytest.raises(DeliveryError, match=r"host:port pairs.*KPI_WIZARD_ALERT_HOSTS"):
            send_webhook(hook_channel, MESSAGE, DeliveryPolicy.for_server())
        team.setenv("KPI_WIZARD_ALERT_HOSTS", f"127.0.0.1:{hook.port + 1}")
        with pytest.raises(DeliveryError, match="KPI_WIZARD_ALERT_HOSTS"):
            send_webhook(hook_channel, MESSAGE, DeliveryPolicy.for_server())
        team.setenv("KPI_WIZARD_ALERT_HOSTS", f"127.0.0.1:{hook.port}")
        send_webhook(hook_channel, MESSAGE, DeliveryPolicy.for_server())
    assert len(hook.posts) == 1


def test_a_team_workspace_reads_only_listed_variables_and_cannot_tell_which_exist(team):
    team.setenv("KPI_WIZARD_ALERT_HOSTS", "hooks.slack.com:443")
    team.setenv("KPI_WIZARD_SLACK_URL", "kpi:SMTPSECRET-pw")
    team.delenv("KPI_WIZARD_NOT_THERE", raising=False)
    refusals = []
    for name in ("KPI_WIZARD_SLACK_URL", "KPI_WIZARD_NOT_THERE"):
        with pytest.raises(DeliveryError) as refused:
            send_webhook(channel(channel="webhook", url_env=name), MESSAGE, DeliveryPolicy.for_server())
        refusals.append(str(refused.value).replace(name, "NAME"))
    assert refusals[0] == refusals[1], "an existing and a missing variable are refused alike"
    assert "KPI_WIZARD_ALERT_SECRETS" in refusals[0] and "SMTPSECRET" not in refusals[0]


def test_a_team_server_mails_only_listed_domains_from_the_operator_s_address(team):
    team.setenv("KPI_WIZARD_SMTP_PASSWORD", "pw-operator")
    with smtp_receiver() as smtp:
        mail = channel(
            channel="email",
            to=["ops@example.com"],
            smtp={
                "host": "127.0.0.1",
                "port": smtp.port,
                "from": "ceo@bank.example",
                "username": "kpi",
                "password_env": "KPI_WIZARD_SMTP_PASSWORD",
            },
        )
        team.setenv("KPI_WIZARD_ALERT_HOSTS", f"127.0.0.1:{smtp.port}")
        with pytest.raises(DeliveryError, match="KPI_WIZARD_ALERT_DOMAINS"):
            send_email(mail, MESSAGE, DeliveryPolicy.for_server())
        team.setenv("KPI_WIZARD_ALERT_DOMAINS", "example.com")
        with pytest.raises(DeliveryError, match="KPI_WIZARD_ALERT_FROM"):
            send_email(mail, MESSAGE, DeliveryPolicy.for_server())
        team.setenv("KPI_WIZARD_ALERT_FROM", "kpi@example.com")
        with pytest.raises(DeliveryError, match="KPI_WIZARD_ALERT_SECRETS"):
            send_email(mail, MESSAGE, DeliveryPolicy.for_server())
        team.setenv("KPI_WIZARD_ALERT_SECRETS", "KPI_WIZARD_SMTP_PASSWORD")
        with pytest.raises(DeliveryError, match=r"victim@elsewhere\.example.*KPI_WIZARD_ALERT_DOMAINS"):
            to_owner = Message(MESSAGE.subject, MESSAGE.text, MESSAGE.payload, ("victim@elsewhere.example",))
            send_email(mail, to_owner, DeliveryPolicy.for_server())
        assert smtp.mails == [], "nothing went out before every check passed"
        send_email(mail, MESSAGE, DeliveryPolicy.for_server())
    (sent,) = smtp.mails
    assert sent.sender == "kpi@example.com" and sent.message["From"] == "kpi@example.com", "a forged From is replaced"
    assert sent.recipients == ["ops@example.com"]


def test_the_command_line_keeps_its_freedom(team):
    with webhook_receiver() as hook:
        send_webhook(channel(channel="webhook", url=hook.url), MESSAGE, DeliveryPolicy())
    assert len(hook.posts) == 1


def test_a_session_sends_one_test_alert_per_interval(tmp_path, monkeypatch):
    with webhook_receiver() as hook:
        monkeypatch.setenv("KPI_WIZARD_ALERT_HOSTS", f"127.0.0.1:{hook.port}")
        workspace = sample_with_alerts(tmp_path / "ws", [{"channel": "webhook", "url": hook.url}])
        at = alerts_page(monkeypatch, tmp_path / "store", workspace)
        at.button(key="alerts_test_0").click().run()
        at.button(key="alerts_test_0").click().run()
        assert not at.exception, at.exception
        assert any("try again in" in w.value for w in at.warning)
    assert len(hook.posts) == 1


def test_on_a_team_server_the_page_refuses_the_operator_s_secret(tmp_path, team):
    team.setenv("KPI_WIZARD_SLACK_URL", "https://hooks.slack.com:99999/services/T0/B0/SLACKTOKEN")
    team.setenv("KPI_WIZARD_ALERT_HOSTS", "hooks.slack.com:443")
    workspace = sample_with_alerts(tmp_path / "ws", [{"channel": "webhook", "url_env": "KPI_WIZARD_SLACK_URL"}])
    at = alerts_page(team, tmp_path / "store", workspace)
    notice = at.info[0].value.replace("\\", "")
    assert "KPI_WIZARD_ALERT_SECRETS" in notice and "KPI_WIZARD_ALERT_FROM" in notice, "what the operator must set"
    assert "KPI_WIZARD_ALERT_HOSTS" not in notice
    at.button(key="alerts_test_0").click().run()
    assert not at.exception, at.exception
    refusal = at.error[0].value.replace("\\", "")  # shown as escaped Markdown
    assert "KPI_WIZARD_ALERT_SECRETS" in refusal and "SLACKTOKEN" not in refusal


def test_a_team_server_sends_no_link_to_a_host_the_visitor_chose(tmp_path, team):
    with webhook_receiver() as hook:
        team.setenv("KPI_WIZARD_ALERT_HOSTS", f"127.0.0.1:{hook.port}")
        workspace = sample_with_alerts(tmp_path / "ws", [{"channel": "webhook", "url": hook.url, "on": ["amber"]}])
        data = workspace_file.to_data(workspace_file.load(workspace))
        data["app_url"] = "https://kpi-wizard-login.example/?ws=ws-0123456789ab"
        workspace_file.save(workspace_file.loads(json.dumps(data), "json"), workspace)
        at = alerts_page(team, tmp_path / "store", workspace)
        at.button(key="alerts_check_now").click().run()
        assert not at.exception, at.exception
    assert len(hook.posts) == 3
    assert all(a["link"] is None for p in hook.posts for a in p["kpi_wizard"]["alerts"])
    assert not any("kpi-wizard-login" in p["text"] for p in hook.posts), "no phishing link in the operator's name"
    assert any("carry no link" in c.value for c in at.caption)

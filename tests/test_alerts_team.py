"""A team server sends only through the channels its operator allows; the command line keeps its freedom."""

from __future__ import annotations

import json

import pytest

from kpi_model import workspace_file
from kpi_model.alerts import DeliveryError, DeliveryPolicy
from kpi_model.alerts.channels import Message, send_email, send_webhook
from kpi_model.alerts.messages import trial_message
from kpi_model.store import WorkspaceStore

from .alert_receivers import smtp_receiver, webhook_receiver
from .conftest import SAMPLE_WORKSPACE
from .test_app_alerts import alerts_page, sample_with_alerts, table

MESSAGE = trial_message("Sample", "a channel")
OPERATOR_VARIABLES = (
    "KPI_WIZARD_ALERT_HOSTS",
    "KPI_WIZARD_ALERT_SECRETS",
    "KPI_WIZARD_ALERT_DOMAINS",
    "KPI_WIZARD_ALERT_FROM",
    "KPI_WIZARD_PUBLIC_URL",
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
    at = saved(alerts_page(team, tmp_path / "store", workspace))
    notice = at.info[0].value.replace("\\", "")
    assert "KPI_WIZARD_ALERT_SECRETS" in notice and "KPI_WIZARD_ALERT_FROM" in notice, "what the operator must set"
    assert "KPI_WIZARD_ALERT_HOSTS" not in notice
    at.button(key="alerts_test_0").click().run()
    assert not at.exception, at.exception
    refusal = at.error[0].value.replace("\\", "")  # shown as escaped Markdown
    assert "KPI_WIZARD_ALERT_SECRETS" in refusal and "SLACKTOKEN" not in refusal


def saved(at):
    """The page after its "Save this workspace" button: a team server's alerts need a saved workspace."""
    at.button(key="alerts_save_first").click().run()
    assert not at.exception, at.exception
    assert at.query_params.get("ws"), "the workspace was saved"
    return at


def checked_with_app_url(tmp_path, team, app_url: str) -> tuple[list[dict], list[str]]:
    """The posts and the page's captions of one "Check now" on a team server, with this ``app_url``."""
    with webhook_receiver() as hook:
        team.setenv("KPI_WIZARD_ALERT_HOSTS", f"127.0.0.1:{hook.port}")
        workspace = sample_with_alerts(tmp_path / "ws", [{"channel": "webhook", "url": hook.url, "on": ["amber"]}])
        data = workspace_file.to_data(workspace_file.load(workspace))
        data["app_url"] = app_url
        workspace_file.save(workspace_file.loads(json.dumps(data), "json"), workspace)
        at = saved(alerts_page(team, tmp_path / "store", workspace))
        at.button(key="alerts_check_now").click().run()
        assert not at.exception, at.exception
    assert len(hook.posts) == 3
    return hook.posts, [c.value for c in at.caption]


def test_a_team_server_without_its_public_address_sends_no_link(tmp_path, team):
    posts, captions = checked_with_app_url(tmp_path, team, "https://kpi-wizard-login.example/?ws=ws-0123456789ab")
    assert all(a["link"] is None for p in posts for a in p["kpi_wizard"]["alerts"])
    assert not any("kpi-wizard-login" in p["text"] for p in posts), "no phishing link in the operator's name"
    assert any("carry no link" in c and "KPI_WIZARD_PUBLIC_URL" in c for c in captions)


def test_a_team_server_links_only_to_the_address_its_operator_set(tmp_path, team):
    team.setenv("KPI_WIZARD_PUBLIC_URL", "https://kpi.example.com/")
    posts, _ = checked_with_app_url(tmp_path, team, "https://kpi.example.com/?ws=ws-0123456789ab")
    links = {a["link"] for p in posts for a in p["kpi_wizard"]["alerts"]}
    assert links and all(link.startswith("https://kpi.example.com/kpis?") for link in links)


@pytest.mark.parametrize(
    "app_url",
    [
        "https://evil.example/?ws=ws-0123456789ab",  # the host a visitor's browser (or Host header) names
        "http://kpi.example.com/?ws=ws-0123456789ab",  # same host, not the operator's scheme
        "https://kpi.example.com:8443/?ws=ws-0123456789ab",  # same host, another port
    ],
)
def test_a_team_server_sends_no_link_off_its_public_address(app_url):
    policy = DeliveryPolicy(team=True, public_url="https://kpi.example.com")
    assert policy.link_base(app_url) is None
    assert policy.link_base("https://KPI.example.com:443/app?ws=ws-0123456789ab") is not None


def test_the_public_address_comes_from_the_operator_and_a_bad_one_is_named(team):
    team.setenv("KPI_WIZARD_PUBLIC_URL", "kpi.example.com")
    policy = DeliveryPolicy.for_server()
    assert policy.public_url is None and "KPI_WIZARD_PUBLIC_URL" in (policy.public_url_problem or "")
    assert policy.link_base("https://kpi.example.com/") is None
    team.setenv("KPI_WIZARD_ACCESS", "local")
    local = DeliveryPolicy.for_server()
    assert local.link_base("https://anywhere.example/?ws=x") == "https://anywhere.example/?ws=x", "local trusts"


@pytest.mark.parametrize("button", ["alerts_check_now", "alerts_test_0", "alerts_start_cycle"])
def test_a_team_server_refuses_alerts_on_an_unsaved_workspace(tmp_path, team, button):
    with webhook_receiver() as hook:
        team.setenv("KPI_WIZARD_ALERT_HOSTS", f"127.0.0.1:{hook.port}")
        workspace = sample_with_alerts(tmp_path / "ws", [{"channel": "webhook", "url": hook.url, "on": ["amber"]}])
        at = alerts_page(team, tmp_path / "store", workspace)
        assert any("Save the workspace first" in w.value for w in at.warning), "said before any click"
        at.button(key=button).click().run()
        assert not at.exception, at.exception
    assert any(e.value.startswith("Save the workspace first") for e in at.error)
    assert hook.posts == [] and WorkspaceStore(tmp_path / "store").ids() == []
    assert not list((tmp_path / "store").glob("**/.kpi-wizard-alerts.*")), "no alert state shared by visitors"


def test_a_first_save_on_a_team_server_takes_no_other_visitor_s_alert_state(tmp_path, team):
    with webhook_receiver() as hook:
        team.setenv("KPI_WIZARD_ALERT_HOSTS", f"127.0.0.1:{hook.port}")
        team.setenv("KPI_WIZARD_ACCESS", "local")  # an earlier local run left the opened sample's state behind
        workspace = sample_with_alerts(tmp_path / "ws", [{"channel": "webhook", "url": hook.url, "on": ["amber"]}])
        earlier = alerts_page(team, tmp_path / "store", workspace)
        earlier.button(key="alerts_check_now").click().run()
        assert len(hook.posts) == 3 and list((tmp_path / "store" / "_opened").glob("*/.kpi-wizard-alerts.*"))
        team.setenv("KPI_WIZARD_ACCESS", "team")
        visitor = saved(alerts_page(team, tmp_path / "store", workspace))
        visitor.button(key="alerts_check_now").click().run()
        assert not visitor.exception, visitor.exception
    assert len(hook.posts) == 6, "the visitor's own workspace alerts on what is off track"
    assert list(table(visitor, "Outcome")["Outcome"]) == ["sent"] * 3, "only the visitor's own log"

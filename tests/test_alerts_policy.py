"""Which hosts the app may send alerts to: a host listed without a port allows only its channel's standard ports.

Local mode used to let a bare entry open every port of the host, so a workspace could aim a webhook
at a database or an admin page on an allowed machine; a team server uses host:port pairs only.
"""

from __future__ import annotations

import pytest

from kpi_model.alerts import DeliveryError, DeliveryPolicy
from kpi_model.alerts.channels import STANDARD_PORTS, send_webhook

from .alert_receivers import webhook_receiver
from .test_alerts_team import MESSAGE, channel, team  # noqa: F401  # team: the fixture
from .test_app_alerts import alerts_page, sample_with_alerts

LOCAL = DeliveryPolicy(allowed_hosts=frozenset({"hooks.example.com", "mail.example.com", "db.example.com:5432"}))


@pytest.mark.parametrize(
    ("host", "port", "medium"),
    [
        ("hooks.example.com", 443, "webhook"),
        ("HOOKS.example.com", 80, "webhook"),
        ("mail.example.com", 25, "email"),
        ("mail.example.com", 587, "email"),
        ("db.example.com", 5432, "webhook"),  # listed with its port
    ],
)
def test_local_mode_allows_a_bare_host_on_its_standard_ports_and_a_pair_on_its_port(host, port, medium):
    LOCAL.check_host(host, port, medium=medium)


@pytest.mark.parametrize(
    ("host", "port", "medium"),
    [
        ("hooks.example.com", 6379, "webhook"),
        ("hooks.example.com", 25, "webhook"),  # a mail port is not a webhook's
        ("mail.example.com", 443, "email"),
        ("mail.example.com", 2525, "email"),
        ("db.example.com", 443, "webhook"),  # a pair allows its port only
        ("other.example.com", 443, "webhook"),
    ],
)
def test_local_mode_refuses_other_ports_with_the_fix(host, port, medium):
    with pytest.raises(DeliveryError) as refused:
        LOCAL.check_host(host, port, medium=medium)
    message = str(refused.value)
    ports = " and ".join(map(str, STANDARD_PORTS[medium]))
    assert f"{host}:{port} is not one" in message and f"on ports {ports} only" in message
    assert "KPI_WIZARD_ALERT_HOSTS as host:port" in message


def test_a_bare_loopback_entry_no_longer_reaches_a_service_on_another_port(monkeypatch):
    monkeypatch.delenv("KPI_WIZARD_ACCESS", raising=False)
    with webhook_receiver() as hook:
        hook_channel = channel(channel="webhook", url=hook.url)
        monkeypatch.setenv("KPI_WIZARD_ALERT_HOSTS", "127.0.0.1")
        with pytest.raises(DeliveryError, match=rf"127\.0\.0\.1:{hook.port} is not one"):
            send_webhook(hook_channel, MESSAGE, DeliveryPolicy.for_server())
        monkeypatch.setenv("KPI_WIZARD_ALERT_HOSTS", f"127.0.0.1:{hook.port}")
        send_webhook(hook_channel, MESSAGE, DeliveryPolicy.for_server())
    assert len(hook.posts) == 1, "refused before any connection; sent once listed with its port"


def test_an_address_from_a_variable_is_refused_without_naming_its_host_or_port(monkeypatch):
    monkeypatch.delenv("KPI_WIZARD_ACCESS", raising=False)
    monkeypatch.setenv("KPI_WIZARD_ALERT_HOSTS", "hooks.example.com")
    monkeypatch.setenv("KPI_WIZARD_HOOK", "https://hooks.example.com:8443/T0KEN")
    with pytest.raises(DeliveryError) as refused:
        send_webhook(channel(channel="webhook", url_env="KPI_WIZARD_HOOK"), MESSAGE, DeliveryPolicy.for_server())
    message = str(refused.value)
    assert "the host in $KPI_WIZARD_HOOK is not one" in message and "8443" not in message and "T0KEN" not in message


def test_a_team_server_names_the_entries_it_ignores_for_want_of_a_port(tmp_path, team):  # noqa: F811
    team.setenv("KPI_WIZARD_ALERT_HOSTS", "hooks.slack.com, mail.example.com:587")
    policy = DeliveryPolicy.for_server()
    assert policy.allowed_hosts == {"mail.example.com:587"} and policy.ignored_hosts == {"hooks.slack.com"}
    workspace = sample_with_alerts(tmp_path / "ws", [{"channel": "webhook", "url": "https://hooks.slack.com/x"}])
    at = alerts_page(team, tmp_path / "store", workspace)
    notes = [w.value.replace("\\", "") for w in at.warning]
    assert any("without a port" in n and "hooks.slack.com" in n and "host:port" in n for n in notes), notes


def test_the_command_line_reads_only_variables_meant_for_kpi_wizard(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-secret")
    with pytest.raises(DeliveryError) as refused:
        DeliveryPolicy().secret("AWS_SECRET_ACCESS_KEY", "SMTP password")
    message = str(refused.value)
    assert "named KPI_WIZARD_…, not AWS_SECRET_ACCESS_KEY" in message and "wJalr" not in message
    monkeypatch.setenv("KPI_WIZARD_SMTP_PASSWORD", "pw")
    assert DeliveryPolicy().secret("KPI_WIZARD_SMTP_PASSWORD", "SMTP password") == "pw"

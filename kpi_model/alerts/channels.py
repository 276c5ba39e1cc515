"""Delivering a message: e-mail over SMTP and Slack/Teams-compatible webhooks.

Secrets come from environment variables named in the workspace (``password_env``, ``url_env``)
and never appear in a message, a log line or the state file: channels are named by host only.
Every network call has a timeout, and a webhook never follows a redirect (it could lead the
message, and the token in the address, to another host).
"""

from __future__ import annotations

import hashlib
import json
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from kpi_model.errors import KpiWizardError
from kpi_model.models import AlertChannel, web_address_problem

TIMEOUT_S = 5.0
HOSTS_VARIABLE = "KPI_WIZARD_ALERT_HOSTS"
SERVER_ENV_PREFIX = "KPI_WIZARD_"


class DeliveryError(KpiWizardError):
    """A message could not be delivered (the reason names the host, never a secret)."""


@dataclass(frozen=True)
class DeliveryPolicy:
    """Where messages may go and which environment variables a workspace may read.

    The command line trusts its user (any host, any variable). A server does not trust the
    workspaces its visitors write: it sends only to the hosts its operator lists in
    ``KPI_WIZARD_ALERT_HOSTS`` and reads only variables named ``KPI_WIZARD_…``.
    """

    allowed_hosts: frozenset[str] | None = None
    env_prefix: str = ""

    @classmethod
    def for_server(cls) -> DeliveryPolicy:
        """The app's policy, from ``KPI_WIZARD_ALERT_HOSTS`` (comma-separated; none set: no sending)."""
        hosts = os.environ.get(HOSTS_VARIABLE, "")
        return cls(frozenset(h.strip().lower() for h in hosts.split(",") if h.strip()), SERVER_ENV_PREFIX)

    def check_host(self, host: str, *, shown: str | None = None) -> None:
        """Raise :class:`DeliveryError` unless messages may go to ``host`` (named ``shown`` in the message)."""
        if self.allowed_hosts is not None and host.lower() not in self.allowed_hosts:
            raise DeliveryError(
                f"this server sends alerts only to the hosts its operator allows, and {shown or host} is not one: "
                f"ask the operator to add it to {HOSTS_VARIABLE}"
            )

    def secret(self, name: str, what: str) -> str:
        """The value of environment variable ``name``; raises a message naming the variable, not its value."""
        if not name.startswith(self.env_prefix):
            raise DeliveryError(
                f"this server reads only environment variables named {self.env_prefix}…, not {name}: "
                f"ask the operator to set the {what} as {self.env_prefix}{name}"
            )
        value = os.environ.get(name)
        if not value:
            raise DeliveryError(f"the environment variable {name} ({what}) is not set: set it where the check runs")
        return value


def channel_label(channel: AlertChannel) -> str:
    """How people and logs name a channel: ``e-mail via localhost:25``, ``webhook hooks.example.com``."""
    if channel.channel == "email":
        assert channel.smtp is not None
        return f"e-mail via {channel.smtp.host}:{channel.smtp.port}"
    if channel.url:
        return f"webhook {urlsplit(channel.url).hostname}"
    return f"webhook from ${channel.url_env}"


def channel_key(channel: AlertChannel) -> str:
    """A stable key for a channel (a hash of its settings), to match retries to it; holds no secret."""
    settings = channel.model_dump(mode="json", exclude={"on"})
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Message:
    """What is sent: a subject and text for e-mail, a JSON payload for webhooks, extra recipients."""

    subject: str
    text: str
    payload: dict[str, Any]
    recipients: tuple[str, ...] = ()


def deliver(channel: AlertChannel, message: Message, policy: DeliveryPolicy) -> None:
    """Send ``message`` on ``channel``; raises :class:`DeliveryError` saying what failed."""
    if channel.channel == "email":
        send_email(channel, message, policy)
    else:
        send_webhook(channel, message, policy)


def _header_text(text: str) -> str:
    # A header is one line: no character may start another one (names are already one line; this is
    # the second wall).
    return "".join(c if c.isprintable() else " " for c in text)[:200]


def send_email(channel: AlertChannel, message: Message, policy: DeliveryPolicy) -> None:
    """One e-mail to the channel's ``to`` and the message's recipients (owners)."""
    smtp = channel.smtp
    assert smtp is not None
    recipients = list(dict.fromkeys([*channel.to, *message.recipients]))
    if not recipients:
        raise DeliveryError(f"{channel_label(channel)}: no recipient (give the channel a to: list)")
    policy.check_host(smtp.host)
    password = policy.secret(smtp.password_env, "SMTP password") if smtp.password_env else None
    mail = EmailMessage()
    mail["Subject"] = _header_text(message.subject)
    mail["From"] = smtp.sender
    mail["To"] = ", ".join(recipients)
    mail.set_content(message.text)
    where = channel_label(channel)
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT_S) as client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                client.login(smtp.username, password or "")
            client.send_message(mail, from_addr=smtp.sender, to_addrs=recipients)
    except smtplib.SMTPAuthenticationError as error:
        raise DeliveryError(f"{where}: the server refused the login ({error.smtp_code})") from None
    except smtplib.SMTPException as error:
        raise DeliveryError(f"{where}: the server refused the message ({_smtp_reason(error)})") from None
    except (OSError, ssl.SSLError) as error:
        raise DeliveryError(f"{where}: could not reach the mail server ({_os_reason(error)})") from None


def _smtp_reason(error: smtplib.SMTPException) -> str:
    code = getattr(error, "smtp_code", None)
    return f"{type(error).__name__}{f' {code}' if code else ''}"


def _os_reason(error: object) -> str:
    return getattr(error, "strerror", None) or type(error).__name__


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is then an HTTPError: the message never goes to another host


def webhook_url(channel: AlertChannel, policy: DeliveryPolicy) -> str:
    """The channel's webhook address, read from its environment variable when it names one."""
    if channel.url:
        return channel.url  # checked when the workspace was read
    url = policy.secret(channel.url_env or "", "webhook address")
    if web_address_problem(url):
        # The value may be any secret (a password named by mistake): no part of it goes into the message.
        raise DeliveryError(
            f"${channel.url_env} does not hold a usable web address: set it to https://host/path "
            "(no user name or password, no spaces) where the check runs"
        )
    return url


def send_webhook(channel: AlertChannel, message: Message, policy: DeliveryPolicy) -> None:
    """POST the message's JSON payload; any answer but 2xx is a failure."""
    url = webhook_url(channel, policy)
    host = urlsplit(url).hostname or ""
    # Named by its variable when the address comes from one: its host is part of the secret's value.
    where = channel_label(channel)
    policy.check_host(host, shown=f"the host in ${channel.url_env}" if channel.url_env else host)
    body = json.dumps(message.payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=TIMEOUT_S) as response:
            response.read(64 * 1024)
    except urllib.error.HTTPError as error:
        raise DeliveryError(f"{where}: the server answered HTTP {error.code}") from None
    except urllib.error.URLError as error:
        raise DeliveryError(f"{where}: could not reach it ({_os_reason(error.reason)})") from None
    except (OSError, ValueError) as error:
        raise DeliveryError(f"{where}: could not reach it ({_os_reason(error)})") from None

"""Delivering a message: e-mail over SMTP and Slack/Teams-compatible webhooks.

Secrets come from environment variables named in the workspace (``password_env``, ``url_env``)
and no part of their values appears in a message, a log line or the state file: a channel is named
by its host, or by the variable its address comes from.
Every network read has a timeout and every delivery a deadline (a server that drips a byte at a
time would outlast any read timeout), and a webhook never follows a redirect (it could lead the
message, and the token in the address, to another host).
"""

from __future__ import annotations

import email.utils
import hashlib
import http.client
import ipaddress
import json
import os
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote, urlsplit

from kpi_model.errors import KpiWizardError
from kpi_model.models import AlertChannel, web_address_problem

TIMEOUT_S = 5.0  # for one connect or read
DEADLINE_S = 15.0  # for one whole delivery
HOSTS_VARIABLE = "KPI_WIZARD_ALERT_HOSTS"
SECRETS_VARIABLE = "KPI_WIZARD_ALERT_SECRETS"
DOMAINS_VARIABLE = "KPI_WIZARD_ALERT_DOMAINS"
FROM_VARIABLE = "KPI_WIZARD_ALERT_FROM"
# The address the operator publishes the team server at: the only one alerts from it may link to.
PUBLIC_URL_VARIABLE = "KPI_WIZARD_PUBLIC_URL"
# The only variables a workspace may name, on the command line too: a workspace handed on by someone
# else must not make a check read AWS_SECRET_ACCESS_KEY and send it as an SMTP password to their host.
ENV_PREFIX = "KPI_WIZARD_"
# The ports a host listed without one allows in local mode: those its kind of channel uses by
# default. Any other port (6379, 22, an admin page on 8080) must be listed as host:port.
STANDARD_PORTS = {"webhook": (80, 443), "email": (25, 587)}


class DeliveryError(KpiWizardError):
    """A message could not be delivered (the reason names the host, never a secret).

    ``unreachable``: the server could not be reached or did not answer in time, so the channel's
    other messages in this run are not tried (each would wait as long).
    """

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class _Watchdog:
    """Ends a delivery at its deadline by shutting its socket down; ``expired`` says it did."""

    def __init__(self, current_socket: Callable[[], socket.socket | None]) -> None:
        self.expired = False
        self._socket = current_socket
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        """Start counting down to :data:`DEADLINE_S`."""
        self._thread.start()

    def stop(self) -> None:
        """The delivery ended: stop watching."""
        self._done.set()

    def _watch(self) -> None:
        if self._done.wait(DEADLINE_S):
            return
        self.expired = True
        # Again until the delivery gives up: a socket made just now (STARTTLS wraps a new one) is cut too.
        while not self._done.is_set():
            if (sock := self._socket()) is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed
            self._done.wait(0.1)


@contextmanager
def _deadline(current_socket: Callable[[], socket.socket | None]) -> Iterator[_Watchdog]:
    watchdog = _Watchdog(current_socket)
    watchdog.start()
    try:
        yield watchdog
    finally:
        watchdog.stop()


def _late(where: str) -> DeliveryError:
    return DeliveryError(f"{where}: the server did not finish within {DEADLINE_S:g} s", unreachable=True)


def _origin(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of a web address (the default port when it names none)."""
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)


def _listed(variable: str, *, lower: bool = True) -> frozenset[str]:
    """The comma-separated entries of environment variable ``variable``, trimmed (and lower-cased)."""
    entries = (e.strip() for e in os.environ.get(variable, "").split(","))
    return frozenset(e.lower() if lower else e for e in entries if e)


@dataclass(frozen=True)
class DeliveryPolicy:
    """Where messages may go and which environment variables a workspace may read.

    The command line trusts its user: any host, any variable named ``KPI_WIZARD_…``. A server does
    not trust the workspaces its visitors write (see :meth:`for_server`).
    """

    allowed_hosts: frozenset[str] | None = None  # "host" (its standard ports) or "host:port" entries
    team: bool = False  # a team server: host:port pairs, listed variables, listed domains, the operator's From
    allowed_secrets: frozenset[str] | None = None
    allowed_domains: frozenset[str] | None = None
    sender: str | None = None
    ignored_hosts: frozenset[str] = frozenset()  # entries a team server does not use (no port)
    public_url: str | None = None  # a team server's address as its operator set it: links go only there
    public_url_problem: str | None = None  # why the operator's public address is not used

    @classmethod
    def for_server(cls, *, team: bool | None = None) -> DeliveryPolicy:
        """The app's policy, from the operator's environment.

        Local mode: hosts from ``KPI_WIZARD_ALERT_HOSTS`` (``host:port``, or a bare host for its
        :data:`STANDARD_PORTS`), variables named ``KPI_WIZARD_…``. Team mode
        (``KPI_WIZARD_ACCESS=team``), where any visitor writes workspaces: only ``host:port`` pairs,
        only the variables listed in ``KPI_WIZARD_ALERT_SECRETS``, recipients only in
        ``KPI_WIZARD_ALERT_DOMAINS`` and From always ``KPI_WIZARD_ALERT_FROM``.
        """
        if team is None:
            from kpi_model.access import mode_from_environment

            team = mode_from_environment() == "team"
        hosts = _listed(HOSTS_VARIABLE)
        if not team:
            return cls(hosts)
        public = os.environ.get(PUBLIC_URL_VARIABLE, "").strip() or None
        problem = web_address_problem(public) if public else None
        return cls(
            frozenset(h for h in hosts if _port_of(h) is not None),
            team=True,
            allowed_secrets=_listed(SECRETS_VARIABLE, lower=False),  # variable names are case-sensitive
            allowed_domains=frozenset(d.lstrip("@") for d in _listed(DOMAINS_VARIABLE)),
            sender=os.environ.get(FROM_VARIABLE, "").strip() or None,
            ignored_hosts=frozenset(h for h in hosts if _port_of(h) is None),
            public_url=None if problem else public,
            public_url_problem=f"{PUBLIC_URL_VARIABLE}: {problem}" if problem else None,
        )

    def link_base(self, app_url: str | None) -> str | None:
        """The address alerts may link to: ``app_url``, or None when a team server must not link there.

        On a team server a visitor writes ``app_url``: a link elsewhere would put a phishing link,
        labelled "Open in KPI Wizard", in mail sent in the operator's name. So it must be on the
        address the operator set (:data:`PUBLIC_URL_VARIABLE`), never one derived from a request,
        whose Host header the visitor chooses. The command line and a local server trust it.
        """
        if not self.team or not app_url:
            return app_url
        if self.public_url is None or web_address_problem(app_url):
            return None
        return app_url if _origin(app_url) == _origin(self.public_url) else None

    def check_host(self, host: str, port: int, *, medium: str, shown: str | None = None) -> None:
        """Raise :class:`DeliveryError` unless a ``medium`` channel may reach ``host:port`` (named ``shown``)."""
        if self.allowed_hosts is None:
            return
        pair = f"{host.lower()}:{port}"
        if pair in self.allowed_hosts:
            return
        standard = STANDARD_PORTS[medium]
        if not self.team and host.lower() in self.allowed_hosts and port in standard:
            return
        where = shown or pair
        if self.team:
            raise DeliveryError(
                f"this team server sends alerts only to the host:port pairs its operator lists, and {where} is not "
                f"one: ask the operator to add it to {HOSTS_VARIABLE} (e.g. hooks.slack.com:443)"
            )
        ports = " and ".join(str(p) for p in standard)
        raise DeliveryError(
            f"this server sends alerts only to the hosts its operator allows (a host listed without a port: "
            f"on ports {ports} only), and {where} is not one: ask the operator to add it to {HOSTS_VARIABLE} "
            "as host:port"
        )

    def secret(self, name: str, what: str) -> str:
        """The value of environment variable ``name``; raises a message naming the variable, not its value.

        On a team server a variable the operator did not list is refused before it is read, so the
        message is the same whether it exists or not.
        """
        if self.team and name not in (self.allowed_secrets or frozenset()):
            raise DeliveryError(
                f"this team server lets workspaces use only the environment variables its operator lists, and "
                f"{name} is not one: ask the operator to add it to {SECRETS_VARIABLE}"
            )
        if not name.startswith(ENV_PREFIX):
            raise DeliveryError(
                f"alerts read only environment variables named {ENV_PREFIX}…, not {name}: "
                f"set the {what} as {ENV_PREFIX}{name} and name that"
            )
        value = os.environ.get(name)
        if not value:
            raise DeliveryError(f"the environment variable {name} ({what}) is not set: set it where the check runs")
        return value

    def mail_sender(self, wanted: str) -> str:
        """The From address: the workspace's, or on a team server always the operator's."""
        if not self.team:
            return wanted
        if not self.sender:
            raise DeliveryError(
                f"this team server sends e-mail only from its operator's address: ask the operator to set "
                f"{FROM_VARIABLE}"
            )
        return self.sender

    def check_recipients(self, recipients: list[str]) -> None:
        """On a team server, raise :class:`DeliveryError` unless every recipient is in a listed domain."""
        if not self.team:
            return
        domains = self.allowed_domains or frozenset()
        outside = [r for r in recipients if r.rsplit("@", 1)[-1].lower() not in domains]
        if outside:
            raise DeliveryError(
                f"this team server sends e-mail only to the domains its operator lists, and {outside[0]} is not in "
                f"one: ask the operator to add its domain to {DOMAINS_VARIABLE}, or remove the address"
            )


_ASCII_PRINTABLE = "".join(chr(code) for code in range(33, 127))
_BAD_HOST_NAME = "the host name is not usable (a part between dots is empty or longer than 63 characters)"


def _usable_host(host: str) -> bool:
    """Whether the resolver takes ``host`` at all; it refuses an empty or over-long label before any lookup."""
    try:
        host.encode("idna")
    except UnicodeError:
        return False
    return True


def on_this_machine(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost`` or a loopback address)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _port_of(entry: str) -> int | None:
    host, _, port = entry.rpartition(":")
    return int(port) if host and port.isdigit() and 0 < int(port) < 65536 else None


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
    """What is sent: a subject and text for e-mail, a JSON payload for webhooks, extra recipients.

    ``owner_only``: an e-mail to its ``recipients`` (a KPI's owner) alone, not to the channel's ``to``.
    """

    subject: str
    text: str
    payload: dict[str, Any]
    recipients: tuple[str, ...] = ()
    owner_only: bool = False


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
    recipients = list(dict.fromkeys([*([] if message.owner_only else channel.to), *message.recipients]))
    if not recipients:
        raise DeliveryError(f"{channel_label(channel)}: no recipient (give the channel a to: list)")
    policy.check_host(smtp.host, smtp.port, medium="email")
    policy.check_recipients(recipients)
    sender = policy.mail_sender(smtp.sender)
    password = policy.secret(smtp.password_env, "SMTP password") if smtp.password_env else None
    if not _usable_host(smtp.host):
        raise DeliveryError(f"{channel_label(channel)}: {_BAD_HOST_NAME}: fix smtp: host")
    if smtp.username and not smtp.starttls and not on_this_machine(smtp.host):
        # Without TLS the login crosses the network readable by anyone on the way.
        raise DeliveryError(
            f"{channel_label(channel)}: a password is never sent unencrypted to another machine: "
            "set starttls: true (or use a mail server on this machine)"
        )
    mail = EmailMessage()
    mail["Subject"] = _header_text(message.subject)
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    # Without them, servers add their own or mark the mail as spam; threading and dedup need the id.
    mail["Date"] = email.utils.formatdate(usegmt=True)
    mail["Message-ID"] = email.utils.make_msgid(domain=sender.rsplit("@", 1)[-1])
    mail.set_content(message.text)
    where = channel_label(channel)
    client = smtplib.SMTP(timeout=TIMEOUT_S)
    with _deadline(lambda: client.sock) as watchdog:
        try:
            client.connect(smtp.host, smtp.port)
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                client.login(smtp.username, password or "")
            client.send_message(mail, from_addr=sender, to_addrs=recipients)
            client.quit()
        except smtplib.SMTPAuthenticationError as error:
            raise DeliveryError(f"{where}: the server refused the login ({error.smtp_code})") from None
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as error:
            if watchdog.expired:
                raise _late(where) from None
            if isinstance(error, smtplib.SMTPException):  # smtplib's word for a read that timed out or ended
                raise DeliveryError(
                    f"{where}: the mail server did not answer (it closed the connection or timed out)",
                    unreachable=True,
                ) from None
            raise DeliveryError(
                f"{where}: could not reach the mail server ({_os_reason(error)})", unreachable=True
            ) from None
        except smtplib.SMTPException as error:
            raise DeliveryError(f"{where}: the server refused the message ({_smtp_reason(error)})") from None
        finally:
            client.close()
    if watchdog.expired:
        raise _late(where)


def _smtp_reason(error: smtplib.SMTPException) -> str:
    code = getattr(error, "smtp_code", None)
    return f"{type(error).__name__}{f' {code}' if code else ''}"


def _os_reason(error: object) -> str:
    return getattr(error, "strerror", None) or type(error).__name__


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
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    # Named by its variable when the address comes from one: its host is part of the secret's value.
    where = channel_label(channel)
    policy.check_host(
        host, port, medium="webhook", shown=f"the host in ${channel.url_env}" if channel.url_env else f"{host}:{port}"
    )
    if not _usable_host(host):
        raise DeliveryError(f"{where}: {_BAD_HOST_NAME}: fix {f'${channel.url_env}' if channel.url_env else 'url'}")
    body = json.dumps(message.payload, ensure_ascii=False).encode("utf-8")
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    target = quote(target, safe=_ASCII_PRINTABLE)  # a request line is ASCII: ä is sent as %C3%A4, as browsers do
    # http.client, not urllib: it follows no redirect (a 3xx is a failure, the token stays on this host)
    # and it holds the socket the deadline must be able to cut.
    connection: http.client.HTTPConnection = (
        http.client.HTTPSConnection(host, port, timeout=TIMEOUT_S, context=ssl.create_default_context())
        if parts.scheme == "https"
        else http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    )
    with _deadline(lambda: connection.sock) as watchdog:
        try:
            connection.request("POST", target, body, {"Content-Type": "application/json; charset=utf-8"})
            response = connection.getresponse()
            response.read(64 * 1024)
        except (OSError, http.client.HTTPException) as error:
            if watchdog.expired:
                raise _late(where) from None
            raise DeliveryError(f"{where}: could not reach it ({_os_reason(error)})", unreachable=True) from None
        finally:
            connection.close()
    if watchdog.expired:  # a cut answer can read as a complete one (the end of the headers)
        raise _late(where)
    if not 200 <= response.status < 300:
        raise DeliveryError(f"{where}: the server answered HTTP {response.status}")

"""In-process receivers for alert tests: a minimal SMTP server and a webhook, both on 127.0.0.1."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Mail:
    """One message the SMTP receiver accepted."""

    sender: str
    recipients: list[str]
    message: EmailMessage
    login: tuple[str, str] | None = None


@dataclass
class SmtpReceiver:
    """What the SMTP receiver saw: the mails, and the logins (user, password) it was given."""

    port: int = 0
    mails: list[Mail] = field(default_factory=list)


class _SmtpHandler(socketserver.StreamRequestHandler):
    server: _SmtpServer

    def _say(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self._say("220 localhost test SMTP")
        sender, login = "", None
        recipients: list[str] = []
        while line := self.rfile.readline(65536):
            command = line.decode("utf-8", "replace").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self._say("250-localhost")
                self._say("250-8BITMIME")
                self._say("250 AUTH PLAIN")
            elif verb == "HELO":
                self._say("250 localhost")
            elif verb == "AUTH":
                _, user, password = base64.b64decode(command.split()[-1]).decode().split("\x00")
                login = (user, password)
                self._say("235 2.7.0 Authentication successful")
            elif verb == "MAIL":
                sender, recipients = command.split(":", 1)[1].strip().split()[0].strip("<>"), []
                self._say("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                self._say("250 OK")
            elif verb == "DATA":
                self._say("354 End data with <CR><LF>.<CR><LF>")
                data = b""
                while (chunk := self.rfile.readline(65536)) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                message = email.message_from_bytes(data, policy=email.policy.default)
                self.server.receiver.mails.append(Mail(sender, recipients, message, login))  # type: ignore[arg-type]
                self._say("250 OK queued")
            elif verb == "QUIT":
                self._say("221 Bye")
                return
            else:
                self._say("250 OK")


class _SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    receiver: SmtpReceiver


@contextmanager
def smtp_receiver(port: int = 0) -> Iterator[SmtpReceiver]:
    """A running SMTP receiver on ``port`` of the loopback address (default: a free one)."""
    server = _SmtpServer(("127.0.0.1", port), _SmtpHandler)
    server.receiver = SmtpReceiver(port=server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class WebhookReceiver:
    """What the webhook saw (the JSON bodies and paths), and the status it answers with next."""

    port: int = 0
    posts: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    status: int = 200
    location: str | None = None  # sent as Location: with a 3xx status

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


class _WebhookHandler(BaseHTTPRequestHandler):
    server: _WebhookServer

    def do_POST(self) -> None:  # the name http.server calls
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        receiver = self.server.receiver
        if receiver.status == 200:
            receiver.posts.append(json.loads(body))
            receiver.paths.append(self.path)
        self.send_response(receiver.status)
        if receiver.location:
            self.send_header("Location", receiver.location)
        self.end_headers()
        self.wfile.write(b"ok" if receiver.status == 200 else b"error")

    def log_message(self, *args: Any) -> None:
        pass  # keep test output quiet


class _WebhookServer(ThreadingHTTPServer):
    daemon_threads = True
    receiver: WebhookReceiver


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A running webhook receiver on a free loopback port (answers 200 unless told otherwise)."""
    server = _WebhookServer(("127.0.0.1", 0), _WebhookHandler)
    server.receiver = WebhookReceiver(port=server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.receiver
    finally:
        server.shutdown()
        server.server_close()


class _DripHandler(socketserver.StreamRequestHandler):
    server: _DripServer

    def handle(self) -> None:
        if self.server.greeting is None:  # hung: accepts the connection and says nothing
            self.server.stop.wait()
            return
        if self.server.reads_request:  # an HTTP server: reads the request, then drips its headers
            while self.rfile.readline(65536) not in (b"\r\n", b""):
                pass
            self.rfile.read(self.server.body_length(self))
        try:
            self.wfile.write(self.server.greeting)
            while not self.server.stop.wait(0.1):
                self.wfile.write(self.server.drip)
                self.wfile.flush()
        except OSError:
            pass  # the client gave up: what the test wants


class _DripServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    greeting: bytes | None
    drip: bytes
    reads_request: bool
    stop: threading.Event

    def body_length(self, handler: _DripHandler) -> int:
        return 0  # the request's body is left unread: the answer drips all the same


@dataclass
class SlowServer:
    """A server that keeps a client busy: ``port``, and ``connections`` it accepted."""

    port: int = 0


@contextmanager
def slow_server(kind: str) -> Iterator[SlowServer]:
    """A loopback server that never finishes: ``smtp`` drips greeting lines, ``http`` drips headers, ``hung`` is silent.

    Each writes a few bytes every 0.1 s, so no single read ever times out: only a deadline on the whole
    delivery ends it.
    """
    server = _DripServer(("127.0.0.1", 0), _DripHandler)
    server.greeting, server.drip, server.reads_request = {
        "smtp": (b"220-still here\r\n", b"220-still here\r\n", False),
        "http": (b"HTTP/1.1 200 OK\r\n", b"X-Drip: 1\r\n", True),
        "hung": (None, b"", False),
    }[kind]
    server.stop = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SlowServer(port=server.server_address[1])
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()

"""A message that failed is delivered once its channel is fixed, not lost with the old settings."""

from __future__ import annotations

import socket

from kpi_model.cli import main

from .alert_receivers import smtp_receiver
from .test_alerts_check import OFF_TRACK, TODAY, write_workspace


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def email_on_port(port: int) -> list[dict]:
    smtp = {"host": "127.0.0.1", "port": port, "from": "kpi@example.com"}
    return [{"channel": "email", "to": ["ops@example.com"], "on": ["amber"], "smtp": smtp}]


def test_alerts_that_failed_on_a_wrong_port_are_sent_when_the_port_is_fixed(tmp_path, capsys):
    folder = tmp_path / "ws"
    path = write_workspace(folder, 9, alerts=email_on_port(free_port()))
    main(["check", str(path), "--as-of", TODAY])
    assert capsys.readouterr().out.count("alerts: 0 sent, 3 failed") == 1
    with smtp_receiver() as smtp:
        write_workspace(folder, 9, alerts=email_on_port(smtp.port))  # the operator fixes the port
        main(["check", str(path), "--as-of", TODAY])
        out, err = capsys.readouterr()
        main(["check", str(path), "--as-of", TODAY])
    subjects = [m.message["Subject"] for m in smtp.mails]
    assert len(subjects) == 3, f"each alert once, after the fix: {subjects}\n{out}\n{err}"
    names = {"web_revenue": "Web order revenue", "deals_won": "B2B deals won", "win_rate": "B2B win rate"}
    assert {k for k in OFF_TRACK if any(names[k] in s for s in subjects)} == OFF_TRACK
    retried = [line for line in out.splitlines() if line.startswith("  sent (retry): ")]
    assert len(retried) == 3 and "  sent: " not in out, f"a kept message delivered later says it was a retry:\n{out}"
    assert {k for k in OFF_TRACK if any(f"{k} ({names[k]})" in line for line in retried)} == OFF_TRACK
    assert "dropped" not in err

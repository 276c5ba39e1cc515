"""A check ends in bounded time: a slow server is cut at the delivery's deadline, a dead channel is tried once a run."""

from __future__ import annotations

import json
import time

import pytest

from kpi_model.alerts import channels, state_path_for
from kpi_model.cli import main

from .alert_receivers import slow_server
from .test_alerts_check import TODAY, write_workspace
from .test_alerts_retry import email_on_port, free_port


@pytest.fixture(autouse=True)
def short_limits(monkeypatch):
    monkeypatch.setattr(channels, "TIMEOUT_S", 0.5)
    monkeypatch.setattr(channels, "DEADLINE_S", 1.5)


def test_servers_that_drip_bytes_are_cut_at_the_deadline_and_the_rest_waits(tmp_path, capsys):
    with slow_server("smtp") as mail, slow_server("http") as hook:
        alerts = [
            *email_on_port(mail.port),
            {"channel": "webhook", "url": f"http://127.0.0.1:{hook.port}/hook", "on": ["amber"]},
        ]
        path = write_workspace(tmp_path / "ws", 9, alerts=alerts)
        started = time.monotonic()
        main(["check", str(path), "--as-of", TODAY, "--fail-on", "never", "--dry-run"])
        computing = time.monotonic() - started  # what the check takes without sending
        started = time.monotonic()
        main(["check", str(path), "--as-of", TODAY, "--fail-on", "never"])
        sending = time.monotonic() - started - computing
    err = capsys.readouterr().err
    # 3 alerts on 2 channels: one delivery cut at 1.5 s per channel, the other two not tried.
    assert sending < 4, f"sending took {sending:.1f} s"
    assert err.count("did not finish within 1.5 s") == 2, err
    assert err.count("not tried: ") == 4, err
    kept = json.loads(state_path_for(path).read_text())["pending"]
    assert len(kept) == 6, "every message is kept for the next run"
    assert sorted(p["attempts"] for p in kept) == [0, 0, 0, 0, 1, 1], "only the tried ones count as attempts"


def test_a_mail_server_that_never_greets_is_reported_as_not_answering(tmp_path, capsys):
    with slow_server("hung") as mail:
        path = write_workspace(tmp_path / "ws", 9, alerts=email_on_port(mail.port))
        main(["check", str(path), "--as-of", TODAY, "--fail-on", "never"])
    err = capsys.readouterr().err
    assert "did not answer" in err and "refused the message" not in err, err


def test_a_dead_channel_costs_one_attempt_per_run(tmp_path, capsys):
    path = write_workspace(tmp_path / "ws", 9, alerts=email_on_port(free_port()))
    main(["check", str(path), "--as-of", TODAY, "--fail-on", "never"])
    err = capsys.readouterr().err
    assert err.count("could not reach the mail server") == 1 and err.count("not tried: ") == 2, err

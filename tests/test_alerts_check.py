"""`kpi-wizard check` on the sample workspace against a local SMTP server and a local webhook.

The engine is the truth for values: the expected value and period of each alert are computed here
with the engine and the status module, not typed in.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kpi_model import workspace_file
from kpi_model.alerts import state_path_for
from kpi_model.cli import main
from kpi_model.engine import Engine
from kpi_model.formula import SeriesRequest
from kpi_model.periods import cadence_grain, period_label
from kpi_model.status import kpi_value, latest_of, status

from .alert_receivers import SmtpReceiver, WebhookReceiver, smtp_receiver, webhook_receiver
from .conftest import SAMPLE_WORKSPACE

TODAY = "2026-12-05"  # the sample's data ends 2026-10-31: October is the latest complete month
PASSWORD, TOKEN = "s3cret-Pa55-7781", "T0KEN-b1c2d3e4f5"
PASSWORD_ENV, URL_ENV = "KPI_WIZARD_TEST_SMTP_PASSWORD", "KPI_WIZARD_TEST_WEBHOOK_URL"
OFF_TRACK = {"web_revenue", "deals_won", "win_rate"}  # amber on the sample's data, none red


@pytest.fixture
def receivers() -> Iterator[tuple[SmtpReceiver, WebhookReceiver]]:
    with smtp_receiver() as smtp, webhook_receiver() as hook:
        yield smtp, hook


def owner_emails(owners: dict[str, str]):
    """An ``edit`` for :func:`write_workspace` giving these KPIs (by id) an ``owner_email``."""

    def own(data: dict[str, Any]) -> None:
        for kpi in data["kpis"]:
            kpi["owner_email"] = owners.get(kpi["id"])

    return own


def write_workspace(folder: Path, smtp_port: int, *, edit=None, **extra: Any) -> Path:
    """The sample with alert channels (e-mail on red and amber, webhook also on recoveries) in ``folder``."""
    data = workspace_file.to_data(workspace_file.load(SAMPLE_WORKSPACE))
    data["alerts"] = [
        {
            "channel": "email",
            "to": ["ops@example.com"],
            "on": ["red", "amber"],
            "smtp": {
                "host": "127.0.0.1",
                "port": smtp_port,
                "from": "kpi@example.com",
                "username": "kpi",
                "password_env": PASSWORD_ENV,
            },
        },
        {"channel": "webhook", "url_env": URL_ENV, "on": ["red", "amber", "recovered"]},
    ]
    data["app_url"] = "https://kpi.example.com/?ws=ws-0123456789ab"
    for kpi in data["kpis"]:
        if kpi["id"] == "web_revenue":
            kpi["owner_email"] = "ecommerce.head@example.com"
    data |= extra
    if edit:
        edit(data)
    folder.mkdir(parents=True, exist_ok=True)
    data_link = folder / "data"
    if not data_link.exists():
        data_link.symlink_to(SAMPLE_WORKSPACE.parent / "data")
    path = folder / "workspace.yaml"
    workspace_file.save(workspace_file.loads(json.dumps(data), "json"), path)
    return path


def thresholds(kpi_id: str, warning: float, critical: float):
    def edit(data: dict[str, Any]) -> None:
        next(k for k in data["kpis"] if k["id"] == kpi_id)["thresholds"] = {"warning": warning, "critical": critical}

    return edit


@pytest.fixture
def secrets_set(monkeypatch, receivers):
    _, hook = receivers
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.setenv(URL_ENV, f"{hook.url}/{TOKEN}")


def check(capsys, path: Path, *args: str) -> tuple[int, str, str]:
    code = main(["check", str(path), "--as-of", TODAY, *args])
    out, err = capsys.readouterr()
    return code, out, err


def expected_latest(path: Path, kpi_id: str) -> tuple[str, str, str]:
    """The value text, period label and status of a KPI's latest complete period, by the engine."""
    workspace = workspace_file.load(path)
    kpi = workspace.kpi(kpi_id)
    assert kpi is not None
    grain = cadence_grain(kpi.cadence.value if kpi.cadence else None)
    with Engine.for_workspace(workspace, path.parent) as engine:
        series = engine.compute(workspace, kpi_id, SeriesRequest(grain=grain))  # type: ignore[arg-type]
    point = latest_of(series, dt.date.fromisoformat(TODAY))
    assert point is not None
    return kpi_value(kpi, point.value), period_label(point.period, grain), status(kpi, point.value).value


def alerted(hook: WebhookReceiver) -> list[str]:
    return [a["kpi"] for post in hook.posts for a in post["kpi_wizard"]["alerts"]]


def test_off_track_kpis_alert_once_with_value_period_threshold_trend_owner_action_and_link(
    tmp_path, capsys, receivers, secrets_set
):
    smtp, hook = receivers
    path = write_workspace(tmp_path / "ws", smtp.port)
    code, out, err = check(capsys, path, "--fail-on", "amber")
    assert code == 1 and err == "", "amber KPIs and --fail-on amber"
    assert sorted(alerted(hook)) == sorted(OFF_TRACK), "one webhook message per KPI that entered amber"
    assert len(smtp.mails) == 3
    assert "alerts: 6 sent, 0 failed" in out

    value, period, level = expected_latest(path, "web_revenue")
    assert level == "amber"
    mail = next(m for m in smtp.mails if "Web order revenue" in m.message["Subject"])
    body = mail.message.get_content()
    assert mail.message["Subject"] == f"KPI Wizard: Web order revenue entered amber ({value} in {period})"
    for words in (
        f"{value} in {period}",
        "Why: amber: below warning 52,000.",
        "Thresholds: warning 52,000, critical 46,000. Target: 64,000 by 2027-10-31.",
        "Trend: up",
        "on 2026-09",
        "Owner: Head of E-commerce.",
        "Agreed action: ",
        "Open in KPI Wizard: https://kpi.example.com/kpis?ws=ws-0123456789ab&kpi=web_revenue",
    ):
        assert words in body, (words, body)
    kpi = workspace_file.load(path).kpi("web_revenue")
    assert kpi is not None and kpi.action and kpi.action in body
    assert mail.recipients == ["ops@example.com", "ecommerce.head@example.com"], "the owner gets their own KPI's alert"
    assert all(m.recipients == ["ops@example.com"] for m in smtp.mails if m is not mail)
    assert mail.login == ("kpi", PASSWORD), "the password from the environment is used for the login"

    record = next(a for p in hook.posts for a in p["kpi_wizard"]["alerts"] if a["kpi"] == "web_revenue")
    assert (record["value_text"], record["period"], record["status"]) == (value, period, "amber")
    assert record["owner"] == "Head of E-commerce" and record["action"] == kpi.action
    assert all(p["text"].startswith("KPI Wizard: ") for p in hook.posts), "Slack/Teams read the text field"
    assert hook.paths == [f"/hook/{TOKEN}"] * 3

    # Nothing changed: nothing is news.
    code, out, _ = check(capsys, path)
    assert code == 0 and len(hook.posts) == 3 and len(smtp.mails) == 3
    assert "alerts: 0 sent, 0 failed" in out and "amber   same" in out


def test_a_recovery_is_sent_where_asked_and_a_worse_status_is_news(tmp_path, capsys, receivers, secrets_set):
    smtp, hook = receivers
    folder = tmp_path / "ws"
    path = write_workspace(folder, smtp.port)
    check(capsys, path)
    hook.posts.clear()
    smtp.mails.clear()
    # Lower lines for web revenue (now green) and higher ones for deals won (now red).
    path = write_workspace(
        folder,
        smtp.port,
        edit=lambda d: (thresholds("web_revenue", 50_000, 45_000)(d), thresholds("deals_won", 40, 30)(d)),
    )
    code, out, _ = check(capsys, path)
    assert code == 1, "a red KPI, --fail-on red by default"
    changes = {a["kpi"]: a["change"] for p in hook.posts for a in p["kpi_wizard"]["alerts"]}
    assert changes == {"web_revenue": "recovered to green", "deals_won": "worsened to red"}
    subjects = [m.message["Subject"] for m in smtp.mails]
    assert len(subjects) == 1 and "B2B deals won worsened to red" in subjects[0], "e-mail is not on recoveries"
    assert "amber → green" in out and "amber → red" in out


def test_failed_delivery_is_reported_kept_and_retried_on_the_next_run(tmp_path, capsys, receivers, secrets_set):
    _, hook = receivers
    with smtp_receiver() as gone:
        dead_port = gone.port  # a port nobody listens on any more
    path = write_workspace(tmp_path / "ws", dead_port)
    hook.status = 500
    code, out, err = check(capsys, path, "--fail-on", "never")
    assert code == 0, "a delivery failure changes the exit code only when asked"
    # A server that cannot be reached is tried once a run; one that answers 500 is reachable: each is tried.
    assert err.count("could not reach the mail server") == 1 and err.count("not tried: e-mail via") == 2
    assert err.count("the server answered HTTP 500") == 3
    assert "kept, it is tried again on the next run" in err
    assert "alerts: 0 sent, 6 failed" in out
    state = json.loads(state_path_for(path).read_text())
    assert len(state["pending"]) == 6

    code, _, err = check(capsys, path, "--fail-on", "never", "--fail-on-delivery")
    assert code == 2, "--fail-on-delivery: exit 2 while messages are not delivered"

    hook.status = 200
    with smtp_receiver(dead_port) as back:  # the mail server is back on its port
        code, out, err = check(capsys, path, "--fail-on", "never", "--fail-on-delivery")
    assert code == 0 and err == ""
    assert sorted(alerted(hook)) == sorted(OFF_TRACK), "the webhook messages arrive on the retry"
    assert len(back.mails) == 3, "and the e-mails"
    state = json.loads(state_path_for(path).read_text())
    assert state["pending"] == []
    assert [e["outcome"] for e in state["log"]].count("retried") == 6

    code, out, err = check(capsys, path)
    assert len(hook.posts) == 3 and "alerts: 0 sent, 0 failed" in out, "delivered once, not again"


def test_secrets_never_appear_in_output_state_or_log(tmp_path, capsys, receivers, secrets_set):
    smtp, hook = receivers
    path = write_workspace(tmp_path / "ws", smtp.port)
    hook.status = 500  # failures are where an address is most tempting to print
    outputs = [check(capsys, path, "--format", fmt) for fmt in ("text", "json")]
    hook.status = 200
    outputs.append(check(capsys, path))
    outputs.append(check(capsys, path, "--digest", "--dry-run"))
    state_text = state_path_for(path).read_text()
    for text in [state_text, *(o[1] + o[2] for o in outputs)]:
        assert PASSWORD not in text and TOKEN not in text
    assert hook.posts, "the webhook was reached with the address from the environment"


def test_missing_secret_names_the_variable_and_fix(tmp_path, capsys, receivers, monkeypatch):
    smtp, _ = receivers
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    path = write_workspace(tmp_path / "ws", smtp.port)
    _, _, err = check(capsys, path)
    assert f"the environment variable {URL_ENV} (webhook address) is not set" in err


def test_partial_periods_never_alert(tmp_path, capsys, receivers, secrets_set):
    smtp, hook = receivers
    # Sessions through 15 October only: October is partial by the data's coverage. Half a month of
    # sessions is far below these lines; September (8,985) is above them.
    source = SAMPLE_WORKSPACE.parent / "data" / "web_sessions.csv"
    lines = source.read_text().splitlines()
    date_at = lines[0].split(",").index("session_date")
    cut = tmp_path / "web_sessions.csv"
    cut.write_text("\n".join([lines[0], *(x for x in lines[1:] if x.split(",")[date_at] <= "2026-10-15")]) + "\n")
    path = write_workspace(tmp_path / "ws", smtp.port, edit=thresholds("sessions", 7_000, 6_000))
    code, out, _ = check(capsys, path, "--data", f"web_sessions={cut}", "--format", "json")
    assert code == 0, "no red KPI"
    rows = {r["kpi_id"]: r for r in json.loads(out)["kpis"]}
    assert rows["sessions"]["period"] == "2026-09" and rows["sessions"]["status"] == "green"
    assert "sessions" not in alerted(hook) and "conversion_rate" not in alerted(hook)
    # And by the calendar: on 20 October, October is not over.
    hook.posts.clear()
    other = write_workspace(tmp_path / "ws2", smtp.port)
    main(["check", str(other), "--as-of", "2026-10-20", "--format", "json"])
    rows = {r["kpi_id"]: r for r in json.loads(capsys.readouterr().out)["kpis"]}
    assert rows["web_revenue"]["period"] == "2026-09"
    assert all(a["period"] != "2026-10" for p in hook.posts for a in p["kpi_wizard"]["alerts"])


def test_digest_sends_one_summary_per_channel(tmp_path, capsys, receivers, secrets_set):
    smtp, hook = receivers
    path = write_workspace(tmp_path / "ws", smtp.port)
    code, out, _ = check(capsys, path, "--digest")
    assert code == 0 and "alerts: 3 sent" in out, "a digest per channel, and the owner's own alert"
    assert len(hook.posts) == 1 and len(smtp.mails) == 2
    assert hook.posts[0]["kpi_wizard"]["kind"] == "digest"
    assert {a["kpi"] for a in hook.posts[0]["kpi_wizard"]["alerts"]} >= OFF_TRACK | {"revenue"}
    digest, own = smtp.mails
    body = digest.message.get_content()
    assert "3 amber" in digest.message["Subject"] and "AMBER Web order revenue" in body
    assert digest.recipients == ["ops@example.com"], "the digest of every KPI goes to the channel's list"
    assert own.recipients == ["ecommerce.head@example.com"] and "Web order revenue" in own.message["Subject"]


def test_dry_run_sends_and_remembers_nothing(tmp_path, capsys, receivers, secrets_set):
    smtp, hook = receivers
    path = write_workspace(tmp_path / "ws", smtp.port)
    code, out, _ = check(capsys, path, "--dry-run")
    assert code == 0 and "alerts: 6 would send, 0 failed" in out
    assert not hook.posts and not smtp.mails and not state_path_for(path).exists()
    names = {kpi.id: kpi.name for kpi in workspace_file.load(path).kpis}
    planned = [line for line in out.splitlines() if line.startswith("  would send: ")]
    assert len(planned) == 6, out
    # Each line names its KPI by id and name (the message's subject is not how the workspace names it).
    named = {k for k in OFF_TRACK for line in planned if line.endswith(f": {k} ({names[k]})")}
    assert named == OFF_TRACK, out


def test_a_corrupt_state_file_is_reported_and_treated_as_empty(tmp_path, capsys, receivers, secrets_set):
    smtp, hook = receivers
    path = write_workspace(tmp_path / "ws", smtp.port)
    state_path_for(path).write_text("{not json")
    code, _, err = check(capsys, path)
    assert code == 0 and "could not be read" in err and "moved to .kpi-wizard-alerts.workspace.json.unreadable-" in err
    (aside,) = state_path_for(path).parent.glob("*.unreadable-*")
    assert aside.read_text() == "{not json", "kept as it was, for a look"
    assert sorted(alerted(hook)) == sorted(OFF_TRACK)
    assert json.loads(state_path_for(path).read_text())["version"] == 1


def test_hostile_kpi_name_cannot_add_headers_or_break_json(tmp_path, capsys, receivers, secrets_set):
    smtp, hook = receivers
    name = 'Web revenue\r\nBcc: evil@example.com\r\n\r\n<!channel> "}'

    def rename(data: dict[str, Any]) -> None:
        next(k for k in data["kpis"] if k["id"] == "web_revenue")["name"] = name

    path = write_workspace(tmp_path / "ws", smtp.port, edit=rename)
    check(capsys, path)
    mail = next(m for m in smtp.mails if "web_revenue" in m.message.get_content())
    assert mail.message["Bcc"] is None and "evil@example.com" not in mail.recipients
    assert "\n" not in mail.message["Subject"]
    post = next(p for p in hook.posts if p["kpi_wizard"]["alerts"][0]["kpi"] == "web_revenue")
    assert "<!channel>" not in post["text"] and "&lt;!channel&gt;" in post["text"], "no @channel ping in Slack"
    assert post["kpi_wizard"]["alerts"][0]["name"].endswith('<!channel> "}'), "the data keeps the name as written"


def test_unusable_input_exits_2(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nkpis: [{id: Bad Id}]\n")
    assert main(["check", str(broken)]) == 2
    path = write_workspace(tmp_path / "ws", 25)
    assert main(["check", str(path), "--data", "orders=/nonexistent/orders.csv"]) == 2
    assert "error:" in capsys.readouterr().err


def test_check_lists_kpis_due_for_review(tmp_path, capsys, receivers, secrets_set):
    smtp, _ = receivers
    path = write_workspace(tmp_path / "ws", smtp.port)
    _, out, _ = check(capsys, path)
    assert "due for review (1): csat (due since 2026-04-30)" in out
    _, out, _ = check(capsys, path, "--format", "json")
    assert json.loads(out)["due_for_review"] == [{"kpi": "csat", "next_review": "2026-04-30"}]


def test_a_message_for_a_removed_channel_is_reported_not_dropped_silently(tmp_path, capsys, receivers, secrets_set):
    smtp, hook = receivers
    path = write_workspace(tmp_path / "ws", smtp.port)
    hook.status = 500
    check(capsys, path)
    path = write_workspace(tmp_path / "ws", smtp.port, edit=lambda d: d.update(alerts=d["alerts"][:1]))
    _, _, err = check(capsys, path)
    assert err.count("was dropped: that channel is no longer in the workspace") == 3
    log = json.loads(state_path_for(path).read_text())["log"]
    assert [e["outcome"] for e in log].count("given up") == 3


def test_a_state_file_that_cannot_be_written_stops_before_sending(tmp_path, capsys, receivers, secrets_set):
    smtp, hook = receivers
    path = write_workspace(tmp_path / "ws", smtp.port)
    (tmp_path / "a-file").write_text("")
    code = main(["check", str(path), "--as-of", TODAY, "--state", str(tmp_path / "a-file" / "state.json")])
    assert code == 2 and "cannot write the alert state file" in capsys.readouterr().err
    assert not hook.posts and not smtp.mails, "sent but not remembered would repeat on every run"


def test_check_as_the_shell_runs_it(tmp_path, receivers, secrets_set):
    from .conftest import cli

    smtp, hook = receivers
    path = write_workspace(tmp_path / "ws", smtp.port)
    done = cli("check", str(path), "--as-of", TODAY, "--fail-on", "amber")
    assert done.returncode == 1, done.stderr
    assert "web_revenue" in done.stdout and "alerts: 6 sent, 0 failed" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr and TOKEN not in done.stdout + done.stderr
    assert len(hook.posts) == 3

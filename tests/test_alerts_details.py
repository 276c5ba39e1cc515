"""Details a reviewer found: mail headers, the digest's labels, the words for a bad e-mail address."""

from __future__ import annotations

import pytest

from kpi_model import workspace_file
from kpi_model.alerts import DeliveryError, DeliveryPolicy, run
from kpi_model.alerts.channels import send_webhook
from kpi_model.alerts.messages import trial_message
from kpi_model.cli import main
from kpi_model.errors import WorkspaceError

from .alert_receivers import smtp_receiver, webhook_receiver
from .test_alerts_check import OFF_TRACK, TODAY, owner_emails, write_workspace
from .test_alerts_retry import email_on_port
from .test_alerts_team import channel


def test_an_alert_mail_has_a_date_and_a_message_id(tmp_path):
    with smtp_receiver() as smtp:
        path = write_workspace(tmp_path / "ws", 9, alerts=email_on_port(smtp.port))
        main(["check", str(path), "--as-of", TODAY, "--fail-on", "never"])
    ids = [m.message["Message-ID"] for m in smtp.mails]
    assert len(ids) == 3 and len(set(ids)) == 3 and all(i.endswith("@example.com>") for i in ids)
    assert all(m.message["Date"] and m.message["Date"].datetime is not None for m in smtp.mails)


def test_a_digest_labels_only_the_kpis_that_changed(tmp_path):
    with webhook_receiver() as hook:
        hook_channel = [{"channel": "webhook", "url": hook.url, "on": ["amber", "red", "recovered"]}]
        path = write_workspace(tmp_path / "ws", 9, alerts=hook_channel)
        main(["check", str(path), "--as-of", TODAY, "--fail-on", "never"])
        main(["check", str(path), "--as-of", TODAY, "--fail-on", "never", "--digest"])
    records = {a["kpi"]: a for a in hook.posts[-1]["kpi_wizard"]["alerts"]}
    assert records["revenue"]["status"] == "green"
    assert records["revenue"]["change"] is None, "a green KPI that stayed green did not recover"
    assert all(records[k]["change"] is None and records[k]["previous_status"] is None for k in OFF_TRACK)


@pytest.mark.parametrize("key", ["owner_email", "to", "from"])
def test_a_bad_e_mail_address_is_named_as_one(key):
    smtp = {"host": "mail.example.com", "from": "not-an-address" if key == "from" else "kpi@example.com"}
    channel = {"channel": "email", "to": ["nobody" if key == "to" else "ops@example.com"], "smtp": smtp}
    kpi = {"id": "a", "name": "A", **({"owner_email": "ann at example.com"} if key == "owner_email" else {})}
    text = f"format_version: 1\nname: t\nkpis: [{kpi}]\nalerts: [{channel}]\n"
    with pytest.raises(WorkspaceError) as refused:
        workspace_file.loads(text)
    message = str(refused.value)
    assert "is not an e-mail address: write it as name@example.com" in message and "ids are" not in message


def test_many_changes_on_a_channel_go_as_one_combined_message(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "FLOOD_LIMIT", 2)  # the sample has 3 KPIs entering amber
    with smtp_receiver() as smtp, webhook_receiver() as hook:
        alerts = [*email_on_port(smtp.port), {"channel": "webhook", "url": hook.url, "on": ["amber"]}]
        path = write_workspace(tmp_path / "ws", 9, alerts=alerts)
        main(["check", str(path), "--as-of", TODAY, "--fail-on", "never"])
    (post,) = hook.posts
    assert post["kpi_wizard"]["kind"] == "combined"
    assert {a["kpi"] for a in post["kpi_wizard"]["alerts"]} == OFF_TRACK
    mail, owners = smtp.mails
    assert "3 KPIs changed" in mail.message["Subject"] and "(3 amber)" in mail.message["Subject"]
    body = mail.message.get_content()
    assert all(f"({kpi}) entered amber" in body for kpi in OFF_TRACK), "each change as its own alert says it"
    assert mail.recipients == ["ops@example.com"], "the combined message goes to the channel's list only"
    assert owners.recipients == ["ecommerce.head@example.com"] and owners.message["To"] == owners.recipients[0]
    assert "Web order revenue entered amber" in owners.message["Subject"]
    assert "(deals_won)" not in owners.message.get_content(), "an owner reads about their own KPI only"


def test_in_a_flood_each_owner_gets_one_message_about_their_own_kpis(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "FLOOD_LIMIT", 1)
    owners = {"web_revenue": "web@example.com", "deals_won": "b2b@example.com", "win_rate": "b2b@example.com"}

    with smtp_receiver() as smtp:
        path = write_workspace(tmp_path / "ws", 9, alerts=email_on_port(smtp.port), edit=owner_emails(owners))
        main(["check", str(path), "--as-of", TODAY, "--fail-on", "never"])
    by_recipients = {tuple(m.recipients): m.message for m in smtp.mails}
    assert set(by_recipients) == {("ops@example.com",), ("web@example.com",), ("b2b@example.com",)}
    b2b = by_recipients[("b2b@example.com",)]
    assert "2 KPIs changed" in b2b["Subject"]
    text = b2b.get_content()
    assert "(deals_won) entered amber" in text and "(win_rate) entered amber" in text and "web_revenue" not in text


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_webhook_never_follows_a_redirect(status):
    with webhook_receiver() as hook, webhook_receiver() as elsewhere:
        hook.status, hook.location = status, f"{elsewhere.url}/stolen"
        with pytest.raises(DeliveryError, match=f"answered HTTP {status}"):
            send_webhook(channel(channel="webhook", url=hook.url), trial_message("x", "y"), DeliveryPolicy())
    assert elsewhere.posts == [], "the message (and a token in the address) stays on the named host"


def test_an_action_written_as_a_sentence_and_a_missing_target_read_well(tmp_path):
    def edit(data):
        kpi = next(k for k in data["kpis"] if k["id"] == "web_revenue")
        kpi.update(action="Call the e-commerce team.  ", owner="Head of E-commerce.", target=None)

    with webhook_receiver() as hook:
        alerts = [{"channel": "webhook", "url": hook.url, "on": ["amber"]}]
        path = write_workspace(tmp_path / "ws", 9, alerts=alerts, edit=edit)
        main(["check", str(path), "--as-of", TODAY, "--fail-on", "never"])
    text = next(p["text"] for p in hook.posts if p["kpi_wizard"]["alerts"][0]["kpi"] == "web_revenue")
    assert "Agreed action: Call the e-commerce team.\n" in text and "Owner: Head of E-commerce.\n" in text
    assert "Target: none set." in text and ".." not in text

"""A real browser: "Send a test alert" on the Alerts page reaches a local webhook."""

from __future__ import annotations

import time

from .alert_receivers import webhook_receiver
from .browser import browser_page, require_chromium, running_app, wait_idle
from .test_app_alerts import sample_with_alerts


def test_send_a_test_alert_from_the_browser(tmp_path, monkeypatch):
    require_chromium()
    with webhook_receiver() as hook:
        monkeypatch.setenv("KPI_WIZARD_ALERT_HOSTS", f"127.0.0.1:{hook.port}")
        monkeypatch.setenv("KPI_WIZARD_TEST_HOOK", f"{hook.url}/T0KEN-browser")
        workspace = sample_with_alerts(
            tmp_path / "ws", [{"channel": "webhook", "url_env": "KPI_WIZARD_TEST_HOOK", "on": ["red", "amber"]}]
        )
        with running_app(tmp_path / "store", open_workspace=workspace) as url, browser_page() as page:
            page.goto(f"{url}/alerts")
            page.get_by_role("heading", name="Alerts", exact=True).wait_for()
            wait_idle(page)
            page.get_by_role("button", name="Send a test alert").click()
            page.get_by_text("Test alert sent via webhook from $KPI_WIZARD_TEST_HOOK").wait_for(timeout=30_000)
            deadline = time.monotonic() + 10
            while not hook.posts and time.monotonic() < deadline:
                time.sleep(0.1)
            assert [p["kpi_wizard"]["kind"] for p in hook.posts] == ["test"]
            assert hook.paths == ["/hook/T0KEN-browser"]
            assert "Northwind Outfitters 2027 scorecard" in hook.posts[0]["text"]
            page.get_by_role("heading", name="Sent alerts").wait_for()
            assert "T0KEN-browser" not in page.content(), "the address from the environment is never shown"


def test_add_a_channel_on_the_alerts_page_and_send_a_test_alert(tmp_path, monkeypatch):
    require_chromium()
    with webhook_receiver() as hook:
        monkeypatch.setenv("KPI_WIZARD_ALERT_HOSTS", f"127.0.0.1:{hook.port}")
        workspace = sample_with_alerts(tmp_path / "ws", [])
        with running_app(tmp_path / "store", open_workspace=workspace) as url, browser_page() as page:
            page.goto(f"{url}/alerts")
            page.get_by_text("No alert channels yet").wait_for()
            wait_idle(page)
            editor = page.get_by_label("Alert settings (YAML)")
            editor.fill("alerts:\n  - {channel: webhook, url: 'https://me:pw@hooks.example.com/x'}\n")
            page.get_by_role("button", name="Save channels").click()
            page.get_by_text("alerts[0].url").wait_for(timeout=30_000)
            assert "me:pw@hooks.example.com" in editor.input_value(), "the text stays to be fixed"
            editor.fill(f"alerts:\n  - {{channel: webhook, url: '{hook.url}', on: [red]}}\n")
            page.get_by_role("button", name="Save channels").click()
            page.get_by_text("Alert settings saved as a new version.").wait_for(timeout=30_000)
            wait_idle(page)
            page.get_by_role("button", name="Send a test alert").click()
            page.get_by_text("Test alert sent via webhook 127.0.0.1").wait_for(timeout=30_000)
    assert [p["kpi_wizard"]["kind"] for p in hook.posts] == ["test"]

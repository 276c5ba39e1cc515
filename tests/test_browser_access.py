"""Two people on one team server, in two browser contexts: neither reaches the other's work without its link."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from kpi_model.store import WorkspaceStore

from .browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, running_app, wait_idle


def test_a_second_browser_never_sees_opens_or_deletes_the_first_ones_workspace(tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    home = tmp_path / "store"
    with running_app(home, access="team") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            alice = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            alice.set_default_timeout(30_000)
            alice.goto(url)
            alice.get_by_label("Name", exact=True).fill("Alice confidential plan")
            alice.get_by_role("button", name="Create workspace").click()
            alice.get_by_role("heading", name="Units and strategic goals").wait_for()
            wait_idle(alice)
            query = parse_qs(urlparse(alice.url).query)
            workspace_id, key = query["ws"][0], query["key"][0]
            assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", key), "an unguessable secret in the link"

            bob = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            bob.set_default_timeout(30_000)
            bob.goto(url)
            bob.get_by_role("heading", name="KPI Wizard").wait_for()
            wait_idle(bob)
            body = bob.locator("body").inner_text()
            assert "Alice confidential plan" not in body
            assert "Continue where you left off" not in body and "Your saved workspaces" not in body

            for attempt in (f"{url}/?ws={workspace_id}", f"{url}/?ws={workspace_id}&key={key[:-2]}xx"):
                bob.goto(attempt)
                bob.get_by_text("does not open a workspace here").wait_for()
                wait_idle(bob)
                body = bob.locator("body").inner_text()
                assert "Alice confidential plan" not in body
                assert "Delete" not in body
                assert "ws=" not in bob.url, "the refused id is not kept in the address"

            assert WorkspaceStore(home).load(workspace_id).name == "Alice confidential plan"
            assert len(WorkspaceStore(home).versions(workspace_id)) == 1, "nothing recreated or changed"

            # The owner's link still works, in a new context of her own (e.g. a reload after a restart).
            again = browser.new_context().new_page()
            again.goto(f"{url}/?ws={workspace_id}&key={key}")
            again.get_by_text("Open: Alice confidential plan").wait_for(timeout=30_000)
        finally:
            browser.close()

"""Run the real app with `streamlit run` and drive it in Debian's headless Chromium via Playwright."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without these, Chromium keeps calling home on a closed network and start-up stalls.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def require_chromium() -> None:
    """Skip with a reason when Chromium is absent, unless `make test` demands the browser tests."""
    if Path(CHROMIUM).exists():
        return
    message = "Debian's chromium is not installed (make test installs it: apt-get install -y chromium)"
    if os.environ.get("KPI_WIZARD_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_app(
    home: Path, *, open_workspace: Path | None = None, timeout: float = 60, access: str = "local"
) -> Iterator[str]:
    """`kpi-wizard serve` (as `make run` starts it) on a free loopback port; yields the base URL."""
    port = free_port()
    env = {**os.environ, "KPI_WIZARD_HOME": str(home)}
    env.pop("KPI_WIZARD_OPEN", None)
    command = [
        sys.executable,
        "-m",
        "kpi_model.cli",
        "serve",
        "--headless",
        "--port",
        str(port),
        "--address",
        "127.0.0.1",
        "--home",
        str(home),
        "--access",
        access,
    ]
    if open_workspace:
        command.append(str(open_workspace))
    log = home.parent / f"streamlit-{port}.log"
    with open(log, "w") as log_file:
        server = subprocess.Popen(command, cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start:\n{log.read_text()}")
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


@contextlib.contextmanager
def browser_page(width: int = 1400, height: int = 1000) -> Iterator[object]:
    """A Playwright page in headless Debian Chromium (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
            page = context.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


def wait_idle(page) -> None:
    """Wait until Streamlit has finished the current run (the status widget disappears)."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000)


def eventually(page, read, expected, *, timeout: float = 30.0):
    """Poll ``read()`` until it equals ``expected`` (Streamlit draws a page in several passes)."""
    deadline = time.monotonic() + timeout
    value = read()
    while value != expected and time.monotonic() < deadline:
        page.wait_for_timeout(200)
        value = read()
    return value

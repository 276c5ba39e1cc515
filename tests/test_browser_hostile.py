"""Hostile uploads, views and documents against a real `kpi-wizard serve`: the server answers throughout.

While a browser sends what crashed or hung the server before (a 3,000-column CSV, an XLSX zip bomb,
a view that never ends, a view naming a file outside the workspace, a deeply nested workspace JSON,
an alias-bomb dbt YAML), a second thread asks `/_stcore/health` four times a second: every answer
must come within 1 s. Afterwards the server process is alive, the good upload is intact and a
canary planted beside the store is untouched.
"""

from __future__ import annotations

import threading
import time
import urllib.request

from .browser import browser_page, require_chromium, running_app, wait_idle
from .hostile_files import billion_laughs_yaml, deep_json, wide_csv, xlsx_bomb
from .hostile_support import Canary


class HealthWatch:
    """Polls the server's health endpoint in the background and keeps every slow or failed answer."""

    def __init__(self, url: str) -> None:
        self.url = f"{url}/_stcore/health"
        self.failures: list[str] = []
        self.answers = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=1.0) as response:
                    ok = response.status == 200
            except OSError as error:
                ok, reason = False, repr(error)
            else:
                reason = "status"
            took = time.monotonic() - started
            self.answers += 1
            if not ok or took > 1.0:
                self.failures.append(f"{reason} after {took:.2f} s")
            self._stop.wait(0.25)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _new_workspace_on_the_data_page(page, url: str, name: str) -> None:
    page.goto(url)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Create workspace").click()
    page.get_by_role("heading", name="Units and strategic goals").wait_for()
    page.get_by_role("link", name="Data", exact=True).first.click()
    page.get_by_role("heading", name="Data", exact=True).wait_for()
    wait_idle(page)


def _upload(page, path, button: str, uploader: str = "[data-testid='stFileUploader']") -> None:
    page.locator(f"{uploader} input[type='file']").first.set_input_files(str(path))
    page.get_by_text(path.name).first.wait_for()
    wait_idle(page)
    page.get_by_role("button", name=button).click()


def _create_view(page, name: str, sql: str) -> None:
    page.locator(".st-key-view_name input").fill(name)
    page.locator(".st-key-view_sql textarea").fill(sql)
    page.get_by_role("button", name="Create view source").click()


def test_hostile_inputs_never_take_the_server_down(tmp_path):
    require_chromium()
    canary = Canary(tmp_path / "outside")
    files = tmp_path / "uploads"
    files.mkdir()
    wide = wide_csv(files / "wide.csv", 3_000)
    bomb = xlsx_bomb(files / "bomb.xlsx", unpacked_mb=150)
    good = files / "sales.csv"
    good.write_text("day,amount\n2025-01-31,10\n2025-02-28,20\n2025-03-31,30\n")
    deep = files / "deep.json"
    deep.write_text(deep_json(100_000))
    laughs = files / "metrics.yml"
    laughs.write_text(billion_laughs_yaml())

    with running_app(tmp_path / "store") as url, HealthWatch(url) as health, browser_page() as page:
        _new_workspace_on_the_data_page(page, url, "Hostile inputs")

        _upload(page, good, "Load file")
        page.get_by_text("Loaded 3 rows from sales.csv as 'sales'.").wait_for(timeout=60_000)
        for hostile in (wide, bomb):
            _upload(page, hostile, "Load file")
            page.get_by_text(f"{hostile.name} was not loaded; your data is unchanged.").wait_for(timeout=90_000)
            wait_idle(page)

        endless = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) AS n FROM r"
        for name, sql in (
            ("endless", endless),
            ("peek", f'SELECT * FROM "{canary.secret_file}"'),
            ("other", f"SELECT * FROM '{canary.other_workspace / 'data.duckdb'}'"),
        ):
            _create_view(page, name, sql)
            page.get_by_text("The view was not created.").wait_for(timeout=90_000)
            wait_idle(page)
            assert canary.token not in page.locator("body").inner_text()

        page.reload()
        page.get_by_role("heading", name="Loaded tables (1)").wait_for(timeout=60_000)
        page.get_by_text("sales — 3 rows, 2 columns").wait_for()

        page.get_by_role("link", name="Start", exact=True).first.click()
        page.get_by_role("heading", name="KPI Wizard").wait_for()
        wait_idle(page)
        _upload(page, deep, "Open uploaded file", uploader=".st-key-upload_workspace")
        page.get_by_text("deep.json could not be opened").wait_for(timeout=60_000)

        page.get_by_role("link", name="Audit", exact=True).first.click()
        page.get_by_role("heading", name="Audit").first.wait_for()
        wait_idle(page)
        page.get_by_text("Audit an existing KPI set").click()
        _upload(page, laughs, "Import and audit")
        page.get_by_text("metrics.yml could not be imported").wait_for(timeout=60_000)
        wait_idle(page)
        body = page.locator("body").inner_text()

    assert health.answers > 10
    assert health.failures == [], f"the server did not answer within 1 s: {health.failures}"
    canary.assert_untouched(body)


def test_a_reader_that_crashes_natively_ends_its_upload_not_the_server(tmp_path, monkeypatch):
    # The job loading the file dies with SIGSEGV after staging it (a stand-in for a crash in DuckDB,
    # openpyxl or pyarrow on a crafted file): the visitor gets a message, the server keeps answering.
    require_chromium()
    monkeypatch.setenv("KPIW_FAULT", "ingest:staged:SIGSEGV")
    upload = tmp_path / "sales.csv"
    upload.write_text("day,amount\n2025-01-31,10\n")
    with running_app(tmp_path / "store") as url, HealthWatch(url) as health, browser_page() as page:
        _new_workspace_on_the_data_page(page, url, "Crash test")
        for _attempt in range(2):  # and again: the next job starts as if nothing happened
            _upload(page, upload, "Load file")
            page.get_by_text("sales.csv was not loaded; your data is unchanged.").wait_for(timeout=60_000)
            wait_idle(page)
            body = page.locator("body").inner_text()
            assert "SIGSEGV" in body and "Traceback" not in body, body[-1500:]
        page.get_by_role("heading", name="Loaded tables (0)").wait_for()
    assert health.answers > 4 and health.failures == [], health.failures
    leftovers = [p.name for p in (tmp_path / "store").rglob("*") if p.name.startswith((".upload-", "_kpiw"))]
    assert leftovers == []

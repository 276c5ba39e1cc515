"""Hostile XML inside .xlsx data workbooks: a DTD anywhere is refused before openpyxl parses it, and a
damaged sheet is a SourceError naming the file and the fix, never a traceback."""

from __future__ import annotations

import zipfile
from pathlib import Path

import duckdb
import pytest
import yaml

from kpi_model.importers import ImportFailed, import_spreadsheet
from kpi_model.sources import SourceError, ingest_file, list_tables

from .conftest import cli
from .hostile_files import _XLSX_PARTS

SHEET = "xl/worksheets/sheet1.xml"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
# Ten entities, each ten of the one before: &i; is 10**9 characters.
BILLION_LAUGHS = (
    '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {n} "{f"&{p};" * 10}">' for p, n in zip("abcdefghi", "bcdefghij", strict=True))
    + "]>"
)
SMALL_ENTITY = f'<!DOCTYPE worksheet [<!ENTITY c "{"x" * 1000}">]>'


def _sheet(name_cell: str, prologue: str = "", *, amount_cell: str = '<c r="B2"><v>5</v></c>') -> str:
    """A sheet of a header (name, amount) and one row; the dimension makes openpyxl parse it only as rows are read."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prologue}<worksheet xmlns="{_MAIN}"><dimension ref="A1:B2"/>'
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>amount</t></is></c></row>'
        f'<row r="2"><c r="A2" t="inlineStr"><is><t>{name_cell}</t></is></c>{amount_cell}</row>'
        "</sheetData></worksheet>"
    )


def _workbook(path: Path, sheet: str | bytes, dtd_in: str | None = None) -> Path:
    """A minimal .xlsx with ``sheet`` as its one sheet; with ``dtd_in``, that other part declares an entity."""
    parts: dict[str, str | bytes] = {**_XLSX_PARTS, SHEET: sheet}
    if dtd_in is not None:
        parts[dtd_in] = _XLSX_PARTS[dtd_in].replace("?>", '?><!DOCTYPE x [<!ENTITY c "c">]>', 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def _load(path: Path) -> str:
    """Load ``path`` as a data source; the SourceError's message (and that no table was made)."""
    with duckdb.connect() as con:
        with pytest.raises(SourceError) as caught:
            ingest_file(con, path, "orders")
        assert list_tables(con) == []
    message = str(caught.value)
    assert path.name in message and "Traceback" not in message and str(path.parent) not in message
    return message


def test_the_builder_makes_a_workbook_that_loads(tmp_path):
    with duckdb.connect() as con:
        ingest_file(con, _workbook(tmp_path / "good.xlsx", _sheet("Widget")), "orders")
        assert con.execute("SELECT name, amount FROM orders").fetchall() == [("Widget", 5)]


@pytest.mark.parametrize(
    "sheet",
    [
        pytest.param(_sheet("&j;", BILLION_LAUGHS), id="billion-laughs"),
        # Before: expanded, loading a 1,000-character name with no word said.
        pytest.param(_sheet("&c;", SMALL_ENTITY), id="one-small-entity"),
        pytest.param(_sheet("Widget", '<!DOCTYPE worksheet SYSTEM "file:///etc/passwd">'), id="external-dtd"),
        pytest.param(_sheet("Widget", "<!DOCTYPE worksheet>"), id="empty-dtd"),
        # The DTD past the first chunk read: a long comment first.
        pytest.param(_sheet("&c;", f"<!--{'-x' * 80_000}-->" + SMALL_ENTITY), id="after-a-long-comment"),
        pytest.param(_sheet("&c;", SMALL_ENTITY).replace("UTF-8", "UTF-16").encode("utf-16"), id="utf-16"),
    ],
)
def test_a_dtd_in_the_sheet_is_refused_with_the_fix(tmp_path, sheet):
    message = _load(_workbook(tmp_path / "orders.xlsx", sheet))
    assert "orders.xlsx declares XML entities (a DTD)" in message
    assert "save it again as 'Excel Workbook (.xlsx)'" in message and "CSV" in message


@pytest.mark.parametrize("part", ["xl/workbook.xml", "[Content_Types].xml", "xl/_rels/workbook.xml.rels"])
def test_a_dtd_in_any_other_part_is_refused(tmp_path, part):
    assert "declares XML entities (a DTD)" in _load(_workbook(tmp_path / "orders.xlsx", _sheet("Widget"), part))


@pytest.mark.parametrize(
    ("name_cell", "amount_cell", "reason"),
    [
        ("&e;", '<c r="B2"><v>5</v></c>', "undefined entity"),  # no DTD declares it
        ("Widget", '<c r="B2"><v>5</v>', "mismatched tag"),
        ("Widget", '<c r="B2"><v>abc</v></c>', "ValueError"),  # 'abc' in a number cell
        ("Widget", '<c r="B2" t="s"><v>7</v></c>', "IndexError"),  # a shared string the workbook does not have
    ],
)
def test_a_damaged_sheet_is_a_source_error_naming_the_fix(tmp_path, name_cell, amount_cell, reason):
    sheet = _sheet(name_cell, amount_cell=amount_cell)
    message = _load(_workbook(tmp_path / "orders.xlsx", sheet))
    assert message.startswith("orders.xlsx: the workbook's sheet XML is damaged (")
    assert reason in message and "save it again as 'Excel Workbook (.xlsx)'" in message


@pytest.mark.parametrize(("name_cell", "prologue"), [("&j;", BILLION_LAUGHS), ("&e;", "")])
def test_compute_reports_a_hostile_workbook_in_one_line(tmp_path, name_cell, prologue):
    _workbook(tmp_path / "orders.xlsx", _sheet(name_cell, prologue))
    workspace = {
        "name": "Shop",
        "sources": [{"name": "orders", "path": "orders.xlsx"}],
        "kpis": [{"id": "total", "name": "Total", "source": "orders", "expression": "sum(amount)"}],
    }
    (tmp_path / "workspace.yaml").write_text(yaml.safe_dump(workspace), encoding="utf-8")
    result = cli("compute", str(tmp_path / "workspace.yaml"))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Source 'orders': orders.xlsx"), result.stderr
    assert "save it again" in lines[0]


def test_a_kpi_register_with_one_small_entity_is_refused_not_expanded(tmp_path):
    sheet = _sheet("&c;", SMALL_ENTITY).replace("<t>name</t>", "<t>KPI</t>").replace("<t>amount</t>", "<t>Target</t>")
    with pytest.raises(ImportFailed) as caught:
        import_spreadsheet(_workbook(tmp_path / "kpis.xlsx", sheet))
    message = str(caught.value)
    assert "kpis.xlsx declares XML entities" in message and "save it again" in message


def test_a_kpi_register_cell_naming_a_missing_shared_string_is_refused_in_one_message(tmp_path):
    sheet = _sheet("Widget", amount_cell='<c r="B2" t="s"><v>7</v></c>')
    sheet = sheet.replace("<t>name</t>", "<t>KPI</t>").replace("<t>amount</t>", "<t>Target</t>")
    with pytest.raises(ImportFailed) as caught:
        import_spreadsheet(_workbook(tmp_path / "kpis.xlsx", sheet))
    assert "kpis.xlsx is not a readable XLSX workbook" in str(caught.value)

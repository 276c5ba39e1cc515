"""Hostile KPI registers and dbt projects: each is refused quickly with a fix, or imported without hidden harm."""

from __future__ import annotations

import io
import math
import os
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from kpi_model.importers import (
    ImportFailed,
    import_dbt,
    import_file,
    import_spreadsheet,
    isolated,
    load_mapping,
    read_table,
)
from kpi_model.importers.isolated import (
    import_uploaded_dbt,
    import_uploaded_file,
    import_uploaded_sheet,
    read_uploaded_sheet,
)
from kpi_model.importers.tables import MAX_COLUMNS
from kpi_model.importers.values import read_amount
from kpi_model.models import MAX_KPIS
from kpi_model.workspace_file import atomic_write_text, dumps


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- 1. headers: linear de-duplication, a column cap --------------------------------------------


def test_many_repeated_headers_are_refused_fast_naming_the_count(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.csv", "KPI," + ",".join(["x"] * 4_000) + "\nRevenue," + "1," * 3_999 + "1\n")
    started = time.perf_counter()
    with pytest.raises(ImportFailed, match=r"4,001 columns, more than the 200") as caught:
        import_spreadsheet(path)
    assert time.perf_counter() - started < 2
    assert "keep the columns" in str(caught.value)


def test_repeated_headers_within_the_cap_are_numbered(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.csv", "KPI," + ",".join(["x"] * 150) + "\nRevenue," + ",".join(["a"] * 150) + "\n")
    headers, _ = read_table(path)
    assert headers[:4] == ["KPI", "x", "x (2)", "x (3)"] and headers[-1] == "x (150)"
    assert len(set(headers)) == len(headers)


def test_headers_that_collide_with_numbered_copies_stay_apart(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.csv", "KPI,Target,Target (2),Target\nRevenue,1,2,3\n")
    headers, _ = read_table(path)
    assert headers == ["KPI", "Target", "Target (2)", "Target (3)"]


def test_one_line_of_delimiters_is_read_fast(tmp_path: Path) -> None:
    path = write(tmp_path, "line.csv", ",;\t|" * 4_000 + "\n")
    started = time.perf_counter()
    with pytest.raises(ImportFailed):
        import_spreadsheet(path)
    assert time.perf_counter() - started < 2


def test_a_table_wider_than_the_cap_is_refused_but_trailing_blank_cells_are_not_columns(tmp_path: Path) -> None:
    wide = write(tmp_path, "wide.csv", "KPI," + ",".join(f"c{i}" for i in range(MAX_COLUMNS)) + "\nA\n")
    with pytest.raises(ImportFailed, match=rf"{MAX_COLUMNS + 1} columns"):
        read_table(wide)
    padded = write(tmp_path, "padded.csv", "KPI,Owner" + "," * 500 + "\nRevenue,Ann" + "," * 500 + "\n")
    headers, rows = read_table(padded)
    assert headers[:2] == ["KPI", "Owner"] and rows[0][:2] == ["Revenue", "Ann"]


# --- 2. more KPIs than a workspace holds ----------------------------------------------------------


def test_more_kpi_rows_than_a_workspace_holds_are_refused_up_front(tmp_path: Path) -> None:
    count = MAX_KPIS + 1
    path = write(tmp_path, "big.csv", "KPI,Target\n" + "".join(f"KPI {i},{i}\n" for i in range(count)))
    started = time.perf_counter()
    with pytest.raises(ImportFailed) as caught:
        import_spreadsheet(path)
    assert time.perf_counter() - started < 3
    message = str(caught.value)
    assert f"{count:,}" in message and f"{MAX_KPIS:,}" in message and "split the register" in message
    assert "please report" not in message


def test_far_more_rows_are_refused_in_the_read_step(tmp_path: Path) -> None:
    path = write(tmp_path, "big.csv", "KPI,Target\n" + "".join(f"KPI {i},{i}\n" for i in range(5_000)))
    with pytest.raises(ImportFailed, match="split the register"):
        read_table(path)


def test_a_register_just_past_the_cap_is_refused_when_the_sheet_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "big.csv", "KPI,Target\n" + "".join(f"KPI {i},{i}\n" for i in range(MAX_KPIS + 5)))
    with pytest.raises(ImportFailed, match=r"2,005 rows with a KPI name, more than the 2,000 .*split the register"):
        read_uploaded_sheet(path, None, "big.csv")


def test_a_full_register_imports_in_linear_time(tmp_path: Path) -> None:
    path = write(tmp_path, "full.csv", "KPI,Target\n" + "".join(f"Same name,{i}\n" for i in range(MAX_KPIS)))
    started = time.perf_counter()
    result = import_spreadsheet(path)
    assert time.perf_counter() - started < 20
    assert len(result.workspace.kpis) == MAX_KPIS
    assert len({k.id for k in result.workspace.kpis}) == MAX_KPIS


def test_dbt_with_more_metrics_than_a_workspace_holds_is_refused(tmp_path: Path) -> None:
    metrics = "".join(
        f"  - name: m{i}\n    type: simple\n    type_params: {{measure: revenue}}\n" for i in range(MAX_KPIS + 1)
    )
    path = write(tmp_path, "metrics.yml", "metrics:\n" + metrics)
    with pytest.raises(ImportFailed) as caught:
        import_dbt(path)
    assert "split" in str(caught.value) and "please report" not in str(caught.value)


# --- 3. numbers that are not finite ----------------------------------------------------------------


@pytest.mark.parametrize("text", ["NaN", "nan", "inf", "-inf", "∞", "-∞", "Infinity", "9" * 400, "9" * 5_000])
def test_a_non_finite_number_is_kept_in_the_description_with_a_note(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "n.csv", f"KPI,Target,Baseline\nRevenue,{text},{text}\n")
    result = import_spreadsheet(path)
    kpi = result.workspace.kpis[0]
    assert kpi.target is None and kpi.baseline is None
    assert "not a finite number" in " ".join(result.notes)
    assert "Target as written" in (kpi.description or "")
    saved = dumps(result.workspace).lower()
    assert ".inf" not in saved and ".nan" not in saved


@pytest.mark.parametrize(("text", "value"), [("1.2e3", 1200.0), ("1e308", 1e308), ("€1e308", 1e308), ("2E-2", 0.02)])
def test_scientific_notation_is_read(text: str, value: float) -> None:
    assert read_amount(text, "target").value == value


@pytest.mark.parametrize("text", ["1e309", "1e-400", "-1e999"])
def test_scientific_notation_out_of_range_is_refused_saying_so(text: str) -> None:
    with pytest.raises(ValueError, match="scientific notation"):
        read_amount(text, "target")


def test_hexadecimal_is_refused_saying_so() -> None:
    with pytest.raises(ValueError, match="hexadecimal"):
        read_amount("0x1F", "target")


@pytest.mark.parametrize("text", ["1e300k", "1e300 m", "9" * 300 + "k"])
def test_a_multiplier_never_makes_a_number_infinite(text: str) -> None:
    try:
        amount = read_amount(text, "target", money=True)
    except ValueError as error:
        assert "finite" in str(error) or "scientific" in str(error) or "more than one" in str(error)
    else:
        assert amount.value is None or math.isfinite(amount.value)


# --- 6. a field past the CSV limit, XML entities ----------------------------------------------------


def test_a_field_past_the_csv_limit_names_the_row_the_limit_and_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "long.csv", "KPI,Description\nRevenue,short\nMargin," + "x" * 200_000 + "\n")
    with pytest.raises(ImportFailed) as caught:
        import_spreadsheet(path)
    message = str(caught.value)
    assert "row 3" in message and "128 KB" in message and "shorten the text in row 3" in message
    assert "Error:" not in message


def test_xml_entities_in_a_workbook_are_refused_with_the_fix(tmp_path: Path) -> None:
    good = tmp_path / "good.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["KPI", "Target"])
    book.active.append(["Revenue", 5])
    book.save(good)
    bomb = tmp_path / "bomb.xlsx"
    entities = (
        '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        + "".join(
            f'<!ENTITY {n} "&{p};&{p};&{p};&{p};&{p};&{p};&{p};&{p};&{p};&{p};">'
            for p, n in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + "]>"
    )
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = ('<?xml version="1.0"?>' + entities + data.decode().replace("Revenue", "&i;")).encode()
            target.writestr(item, data)
    with pytest.raises(ImportFailed) as caught:
        import_spreadsheet(bomb)
    message = str(caught.value)
    assert "XML entities" in message and "save it again" in message and ".xlsx" in message


# --- 7. control characters ---------------------------------------------------------------------------


def test_control_and_bidi_characters_are_removed_with_one_note(tmp_path: Path) -> None:
    text = (
        "KPI,Owner,Unit,Goal\n"
        "Reve\x1bnue\u202e,Ann\x07,Sales\u200b,Grow\u2066\n"
        "Margin,Bob,Sales,Grow\n"
        "Chur\u202dn,Cy\u2069,Sales,Grow\n"
    )
    result = import_spreadsheet(write(tmp_path, "ctl.csv", text))
    names = [k.name for k in result.workspace.kpis]
    assert names == ["Revenue", "Margin", "Churn"]
    assert result.workspace.kpis[0].owner == "Ann" and result.workspace.units[0].name == "Sales"
    assert result.workspace.goals[0].statement == "Grow"
    cleaned = [n for n in result.notes if "removed" in n and "characters" in n]
    assert len(cleaned) == 1 and "rows 2, 4" in cleaned[0]


def test_control_characters_are_removed_from_dbt_labels(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "m.yml",
        "semantic_models:\n  - name: orders\n    model: ref('orders')\n    measures:\n"
        "      - name: revenue\n        agg: sum\n        expr: amount\n"
        'metrics:\n  - name: revenue\n    label: "Reve\\e\\u202enue\\a"\n    type: simple\n'
        "    type_params: {measure: revenue}\n",
    )
    result = import_dbt(path)
    assert result.workspace.kpis[0].name == "Revenue"
    assert any("removed" in n for n in result.notes)


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_import_file_reads_a_workspace_name_from_shown_as(tmp_path: Path) -> None:
    path = write(tmp_path, "upload.csv", "KPI,Target\nRevenue,5\n")
    result = import_file(path, shown_as="Q3 register.csv")
    assert result.workspace.name == "Q3 register"
    assert "upload" not in (result.workspace.description or "")


# --- 4. and 5. the visitor's file name, never the server's --------------------------------------------

_GOOD_DBT = (
    "semantic_models:\n  - name: orders\n    model: ref('orders')\n    measures:\n"
    "      - name: revenue\n        agg: sum\n        expr: amount\n"
    "metrics:\n  - name: revenue\n    label: Revenue\n    type: simple\n    type_params: {measure: bogus}\n"
)


def _upload_folder(tmp_path: Path, stem: str, zips: dict[str, bytes]) -> Path:
    folder = tmp_path / stem
    folder.mkdir()
    for name, data in zips.items():
        (folder / name).write_bytes(data)
    return folder


def test_a_zip_refused_in_a_folder_named_like_a_letter_keeps_its_message_whole(tmp_path: Path) -> None:
    folder = _upload_folder(tmp_path, "e", {"e.zip": _zip({f"f{i}.txt": b"" for i in range(5_001)})})
    with pytest.raises(ImportFailed) as caught:
        import_uploaded_dbt(folder, [("e.zip", "Sales e.zip")], "Sales e.zip")
    assert str(caught.value).startswith("Sales e.zip holds 5,001 files, more than 5,000. ")
    assert "more than 5,000" in str(caught.value) and "filSales" not in str(caught.value)


def test_an_uploaded_dbt_file_is_named_as_the_visitor_named_it(tmp_path: Path) -> None:
    path = write(tmp_path, "upload.yml", _GOOD_DBT)
    result = import_uploaded_file(path, "sales metrics.yml")
    assert result.workspace.name == "dbt metrics from sales metrics.yml"
    assert "sales metrics.yml" in (result.workspace.description or "")
    assert any("(sales metrics.yml line" in n for n in result.notes)
    assert not any("upload.yml" in n for n in result.notes)


def test_an_uploaded_sheet_is_described_by_the_visitors_name(tmp_path: Path) -> None:
    path = write(tmp_path, "upload.csv", "KPI,Target\nRevenue,5\n")
    result = import_uploaded_sheet(path, {}, None, "Q3 register", "Q3 register.csv")
    assert result.workspace.description == "Imported from Q3 register.csv."
    read = read_uploaded_sheet(path, None, "Q3 register.csv")
    assert read.headers == ["KPI", "Target"]


def test_an_uploaded_sheets_error_names_the_visitors_file(tmp_path: Path) -> None:
    path = write(tmp_path, "upload.csv", "Colour,Size\nred,L\n")
    with pytest.raises(ImportFailed) as caught:
        import_uploaded_sheet(path, {}, None, "mine", "mine.csv")
    assert "found in mine.csv" in str(caught.value) and "upload" not in str(caught.value)


def test_the_temporary_name_is_replaced_only_as_a_whole_word() -> None:
    text = "upload.csv: row 2; myupload.csv and upload.csvx stay; (upload.csv)"
    assert isolated._token_redacted(text, "upload.csv", "Mine.csv") == (
        "Mine.csv: row 2; myupload.csv and upload.csvx stay; (Mine.csv)"
    )


# --- 8. files that are not regular files; the target of a save ------------------------------------------


@pytest.mark.timeout(20)
@pytest.mark.parametrize("name", ["zero.csv", "zero.yaml", "zero.xlsx"])
def test_a_device_is_refused_before_it_is_read(tmp_path: Path, name: str) -> None:
    link = tmp_path / name
    link.symlink_to("/dev/zero")
    with pytest.raises(ImportFailed, match="is not a regular file"):
        import_file(link)


@pytest.mark.timeout(20)
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(ImportFailed, match="is not a regular file"):
        import_file(fifo)
    with pytest.raises(ImportFailed, match="not a regular file"):
        import_spreadsheet(fifo)
    with pytest.raises(ImportFailed, match="not a regular file"):
        load_mapping(fifo)


@pytest.mark.timeout(20)
def test_a_mapping_file_on_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "map.yaml"
    link.symlink_to("/dev/zero")
    with pytest.raises(ImportFailed, match="not a regular file"):
        load_mapping(link)


def test_a_save_that_cannot_be_made_names_the_target_not_the_temporary_file(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder", encoding="utf-8")
    with pytest.raises(OSError) as caught:
        atomic_write_text(blocked / "nope.yaml", "x: 1\n")
    assert str(blocked / "nope.yaml") in str(caught.value) and ".tmp" not in str(caught.value)
    with pytest.raises(OSError) as caught:
        atomic_write_text("/proc/self/nope.yaml", "x: 1\n")
    assert "/proc/self/nope.yaml" in str(caught.value) and ".tmp" not in str(caught.value)


# --- 9. what a zip held that was not unpacked ---------------------------------------------------------------


def test_what_a_zip_held_that_was_not_unpacked_is_noted(tmp_path: Path) -> None:
    deep = "/".join(["d"] * 14) + "/x.yml"
    archive = _zip({"models/m.yml": _GOOD_DBT.encode(), deep: _GOOD_DBT.encode(), "inner.zip": _zip({"a.yml": b"x"})})
    folder = _upload_folder(tmp_path, "project", {"p.zip": archive})
    result = import_uploaded_dbt(folder, [("p.zip", "p.zip")], "p.zip")
    notes = " ".join(result.notes)
    assert "'inner.zip', a zip inside the zip" in notes
    assert "15 levels, more than the 12" in notes


def test_a_zip_whose_files_were_all_passed_over_says_why(tmp_path: Path) -> None:
    deep = "/".join(["d"] * 14) + "/x.yml"
    folder = _upload_folder(tmp_path, "project", {"p.zip": _zip({deep: _GOOD_DBT.encode()})})
    with pytest.raises(ImportFailed) as caught:
        import_uploaded_dbt(folder, [("p.zip", "p.zip")], "p.zip")
    assert "no dbt semantic_models or metrics" in str(caught.value) and "15 levels" in str(caught.value)


def test_yaml_nested_too_deep_is_named_when_nothing_else_is_left(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "deep.yml").write_text("a: " + "[" * 100 + "]" * 100 + "\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as caught:
        import_dbt(folder)
    assert "deep.yml" in str(caught.value) and "nested deeper" in str(caught.value)


def test_the_last_guard_refuses_a_non_finite_value_before_a_workspace_is_built() -> None:
    from kpi_model.importers.common import finish

    data = {"name": "x", "kpis": [{"id": "a", "name": "A", "target": {"value": math.inf}}]}
    with pytest.raises(ImportFailed, match=r"kpis\[0\]\.target\.value that is not a finite number"):
        finish(data, "t.csv")

"""Real KPI registers: numbers by the file's locale (asked, never guessed), percent as typed,
two-row headers, combined thresholds, definitions in words, a target year in the header or title."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from kpi_model.importers import guess_mapping, import_spreadsheet, read_table
from kpi_model.importers.common import NumberQuestion
from kpi_model.importers.number_format import AmbiguousNumber, cell_evidence, parse_decimal, proves
from kpi_model.importers.values import read_amount, read_date, split_rag
from kpi_model.validation import parse_workspace


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream, delimiter=delimiter).writerows(rows)
    return path


def kpis(result) -> dict[str, dict]:
    parse_workspace(result.workspace.model_dump(mode="json"))  # every import validates
    return {k.name: k.model_dump(mode="json", exclude_none=True) for k in result.workspace.kpis}


# --- one cell: what it proves --------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "separator"),
    [
        ("12,5", ","),
        ("0,98", ","),
        ("1.850,00", ","),
        ("1.234.567", ","),
        ("1,850.00", "."),
        ("0.98", "."),
        ("3.5", "."),
        ("1,234,567", "."),
        ("0,985", ","),
        ("1,850", None),
        ("1.850", None),
        ("12500", None),
    ],
)
def test_a_number_proves_its_separator_only_when_it_can(token, separator):
    assert proves(token) == separator


def test_currency_placement_is_a_hint_and_dates_prove_nothing():
    assert cell_evidence("1.850 €") == (None, ",")
    assert cell_evidence("€ 1,850") == (None, ".")
    assert cell_evidence("$1,850") == (None, ".")
    assert cell_evidence("31.12.2027") == (None, None)
    assert cell_evidence("0.98 / 12,5") == (None, None)  # contradicts itself: proves nothing


def test_an_ambiguous_number_is_read_only_with_a_separator():
    with pytest.raises(AmbiguousNumber, match="ambiguous"):
        parse_decimal("1.850", None)
    assert parse_decimal("1.850", ",") == 1850
    assert parse_decimal("1.850", ".") == 1.85
    assert parse_decimal("12,5", ".") == 12.5  # the cell itself decides
    with pytest.raises(AmbiguousNumber):
        read_amount("1.850 €")  # today's code read 1.85
    assert read_amount("1.850 €", decimal=",").value == 1850


# --- percent as typed ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("95%", 0.95), ("95 %", 0.95), ("≥ 95 %", 0.95), ("95,5 %", 0.955), ("12,5%", 0.125), ("95 Prozent", 0.95)],
)
def test_percent_as_typed(text, value):
    assert read_amount(text).value == pytest.approx(value)


def test_percent_ranges_and_words_before_a_number():
    amount = read_amount("90–95 %")
    assert (amount.low, amount.high) == (0.9, 0.95)
    assert read_amount("below 90%").value == 0.9


# --- numbers in a register, decided by the whole column and file -----------------------------


def test_german_semicolon_csv_reads_thousands_points(tmp_path):
    rows = [
        ["Kennzahl", "Verantwortlich", "Ausgangswert", "Zielwert", "Termin"],
        ["Umsatz je Kunde", "CFO", "1.850 €", "12.500", "31.12.2027"],
        ["Quote", "COO", "0,91", "0,98", "30.06.2027"],
    ]
    result = import_spreadsheet(write_csv(tmp_path / "de.csv", rows, delimiter=";"))
    found = kpis(result)
    assert found["Umsatz je Kunde"]["baseline"]["value"] == 1850
    assert found["Umsatz je Kunde"]["target"] == {"value": 12500, "due": "2027-12-31"}
    assert found["Quote"]["target"]["value"] == 0.98
    assert result.questions == []
    assert any("Column 'Zielwert' was read with a decimal comma" in n and "'0,98' in row 3" in n for n in result.notes)


def test_english_column_evidence_reads_thousands_commas(tmp_path):
    rows = [
        ["KPI", "Owner", "Baseline", "Target"],
        ["Revenue per customer", "CFO", "1,850.00", "3,150"],
        ["Headcount", "HR", "58,000", "60,000"],
        ["Conversion", "CMO", "0.98", "3.5"],
    ]
    result = import_spreadsheet(write_csv(tmp_path / "en.csv", rows))
    found = kpis(result)
    assert found["Revenue per customer"]["target"]["value"] == 3150  # today: no value, "write 1.850"
    assert found["Headcount"]["target"]["value"] == 60000
    assert found["Headcount"]["baseline"]["value"] == 58000
    assert result.questions == []


def test_an_undecided_number_becomes_a_question_and_the_answer_reads_it(tmp_path):
    rows = [["KPI", "Owner", "Target"], ["Revenue per customer", "CFO", "1.850"], ["Orders", "CRO", "1200"]]
    path = write_csv(tmp_path / "plain.csv", rows)
    result = import_spreadsheet(path)
    assert "target" not in kpis(result)["Revenue per customer"]
    assert result.questions == [
        NumberQuestion(2, "Target", "target", "Revenue per customer", "1.850", {",": 1850.0, ".": 1.85})
    ]
    note = next(n for n in result.notes if "'1.850'" in n)
    assert note.startswith("Row 2 ('Revenue per customer'): target '1.850' in column 'Target' could be 1850")
    assert "1.85 (decimal point)" in note and "write 1850 or 1.85 in the file" in note
    assert "Target as written: 1.850" in kpis(result)["Revenue per customer"]["description"]
    again = import_spreadsheet(path, decimal_separator=",")
    assert kpis(again)["Revenue per customer"]["target"]["value"] == 1850 and again.questions == []
    assert any("you gave it for this file" in n for n in again.notes)


def test_conflicting_evidence_in_a_column_asks(tmp_path):
    rows = [["KPI", "Target"], ["A", "0.98"], ["B", "12,5"], ["C", "1.850"]]
    result = import_spreadsheet(write_csv(tmp_path / "mixed.csv", rows))
    found = kpis(result)
    assert (found["A"]["target"]["value"], found["B"]["target"]["value"]) == (0.98, 12.5)
    assert [q.kpi for q in result.questions] == ["C"]


def test_currency_placement_decides_when_nothing_else_does(tmp_path):
    german = [["KPI", "Target"], ["Revenue", "1.850 €"]]
    assert kpis(import_spreadsheet(write_csv(tmp_path / "de.csv", german)))["Revenue"]["target"]["value"] == 1850
    english = [["KPI", "Target"], ["Revenue", "€ 1,850"]]
    assert kpis(import_spreadsheet(write_csv(tmp_path / "en.csv", english)))["Revenue"]["target"]["value"] == 1850
    english = [["KPI", "Target"], ["Revenue", "$1.850"]]  # the sign before: a decimal point
    assert kpis(import_spreadsheet(write_csv(tmp_path / "us.csv", english)))["Revenue"]["target"]["value"] == 1.85


def test_file_evidence_from_another_column_decides(tmp_path):
    rows = [["KPI", "Baseline", "Target"], ["Revenue", "12,5", "1.850"]]
    result = import_spreadsheet(write_csv(tmp_path / "file.csv", rows))
    assert kpis(result)["Revenue"]["target"]["value"] == 1850 and result.questions == []


def test_workbook_numbers_are_read_as_stored(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["KPI", "Baseline", "Target", "Red if"])
    sheet.append(["Revenue", 1850.5, 12500, "12,5"])  # a text cell with a decimal comma does not touch stored numbers
    sheet.append(["Availability", 0.91, 0.95, 0.9])
    sheet["C3"].number_format = "0%"
    sheet["B3"].number_format = "0%"
    path = tmp_path / "register.xlsx"
    workbook.save(path)
    result = import_spreadsheet(path)
    found = kpis(result)
    assert found["Revenue"]["baseline"]["value"] == 1850.5 and found["Revenue"]["target"]["value"] == 12500
    assert found["Availability"]["target"]["value"] == 0.95 and found["Availability"]["baseline"]["value"] == 0.91
    assert found["Availability"]["unit_of_measure"] == "percent" and "unit_of_measure" not in found["Revenue"]
    formatted = "baseline 0.91 is formatted as a percentage in the workbook, so unit_of_measure was set to percent."
    assert f"Row 3 ('Availability'): {formatted}" in result.notes
    assert result.questions == []


# --- two-row headers ------------------------------------------------------------------------

TWO_ROW_TOP = ["KPI", "Owner", "Target", "", "Thresholds", ""]
TWO_ROW_SUB = ["", "", "Value", "By", "Red", "Amber"]
TWO_ROW_BODY = [
    ["Availability", "COO", "99%", "2027-12-31", "< 97%", "< 98%"],
    ["Churn", "CCO", "≤ 2%", "Q2 2027", "> 4%", "> 3%"],
]


def check_two_row(result) -> None:
    found = kpis(result)
    assert list(found) == ["Availability", "Churn"]  # the sub-header row is no KPI
    assert found["Availability"]["thresholds"] == {"critical": 0.97, "warning": 0.98}
    assert found["Availability"]["target"] == {"value": 0.99, "due": "2027-12-31"}
    assert found["Churn"]["target"] == {"value": 0.02, "due": "2027-06-30"}
    assert not any("Column " in n and "matched no field" in n for n in result.notes)


def test_two_row_header_in_csv(tmp_path):
    path = write_csv(tmp_path / "two.csv", [TWO_ROW_TOP, TWO_ROW_SUB, *TWO_ROW_BODY])
    headers, rows = read_table(path)
    assert headers == ["KPI", "Owner", "Target Value", "Target By", "Thresholds Red", "Thresholds Amber"]
    assert rows[0][0] == "Availability"
    check_two_row(import_spreadsheet(path))


@pytest.mark.parametrize("group_row_on_top", [True, False])
def test_two_row_header_with_merged_cells_in_xlsx(tmp_path, group_row_on_top):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Register FY2026"])
    sheet.append([])
    if group_row_on_top:  # KPI and Owner merged over both rows
        sheet.append(TWO_ROW_TOP)
        sheet.append(TWO_ROW_SUB)
        sheet.merge_cells("A3:A4")
        sheet.merge_cells("B3:B4")
    else:  # the field names in the lower row, only the groups above
        sheet.append(["", "", "Target", "", "Thresholds", ""])
        sheet.append(["KPI", "Owner", "Value", "By", "Red", "Amber"])
    sheet.merge_cells("C3:D3")
    sheet.merge_cells("E3:F3")
    for values in TWO_ROW_BODY:
        sheet.append(values)
    path = tmp_path / "two.xlsx"
    workbook.save(path)
    headers, _ = read_table(path)
    assert headers[2:] == ["Target Value", "Target By", "Thresholds Red", "Thresholds Amber"]
    check_two_row(import_spreadsheet(path))


# --- a combined thresholds column -------------------------------------------------------------


def test_split_rag():
    assert split_rag("Red < 90% / Amber < 95%") == {"critical": "< 90%", "warning": "< 95%"}
    assert split_rag("R: <90 %, A: 90-95 %, G: ≥95 %") == {"critical": "<90 %", "warning": "90-95 %", "target": "≥95 %"}
    assert split_rag("rot < 0,9; gelb < 0,95") == {"critical": "< 0,9", "warning": "< 0,95"}
    assert split_rag("< 90%") == {}  # no colour: nothing to split (the import keeps it and says so)


def test_combined_thresholds_column(tmp_path):
    rows = [
        ["KPI", "Thresholds"],
        ["Availability", "Red < 90% / Amber < 95%"],
        ["Quality", "R: <90 %, A: 90-95 %, G: ≥95 %"],
        ["Quote", "rot < 0,9; gelb < 0,95"],
    ]
    result = import_spreadsheet(write_csv(tmp_path / "rag.csv", rows))
    found = kpis(result)
    for name in ("Availability", "Quality", "Quote"):
        assert found[name]["thresholds"] == {"critical": 0.9, "warning": 0.95}, name
    # Green is the target only when the sheet has no target column, and that is said.
    assert found["Quality"]["target"] == {"value": 0.95} and found["Quality"]["direction"] == "up"
    assert any("green level '≥95 %' was read as the target" in n for n in result.notes)
    with_target = [["KPI", "Target", "Thresholds"], ["Quality", "97%", "R: <90 %, A: 90-95 %, G: ≥95 %"]]
    found = kpis(import_spreadsheet(write_csv(tmp_path / "rag2.csv", with_target)))
    assert found["Quality"]["target"] == {"value": 0.97}


# --- definitions in words ---------------------------------------------------------------------


def test_definitions_in_words_go_to_the_description(tmp_path):
    rows = [
        ["KPI", "Description", "Formula"],
        ["EBIT margin", "", "EBIT / Net sales"],
        ["DSO", "Days of sales outstanding", "Open receivables / revenue × 365"],
        ["Störungsquote", "", "Anzahl Störungen je 1.000 Kunden"],
        ["Revenue", "", "sum(amount)"],
        ["Share", "", "sum(won_amount) where x"],
    ]
    found = kpis(import_spreadsheet(write_csv(tmp_path / "def.csv", rows)))
    assert found["EBIT margin"]["description"] == "EBIT / Net sales" and "expression" not in found["EBIT margin"]
    assert found["DSO"]["description"] == "Days of sales outstanding\nFormula: Open receivables / revenue × 365"
    assert found["Störungsquote"]["description"] == "Anzahl Störungen je 1.000 Kunden"
    assert found["Revenue"]["expression"] == "sum(amount)" and "description" not in found["Revenue"]
    assert found["Share"]["description"] == "Formula as written: sum(won_amount) where x"  # SQL gone wrong


# --- a target's year in the header or title -----------------------------------------------------


@pytest.mark.parametrize("header", ["Target 2027", "Target FY2027", "Ziel 2027", "Target (FY27)"])
def test_the_year_in_a_target_header_is_the_due_date(tmp_path, header):
    rows = [["KPI", "Owner", header], ["Revenue", "CFO", "12%"], ["Orders", "CRO", "500"]]
    result = import_spreadsheet(write_csv(tmp_path / "year.csv", rows))
    found = kpis(result)
    assert found["Revenue"]["target"] == {"value": 0.12, "due": "2027-12-31"}
    assert found["Orders"]["target"] == {"value": 500, "due": "2027-12-31"}
    assert any("(rows 2, 3) were set due 2027-12-31" in n and header in n for n in result.notes)


def test_the_year_in_a_title_and_a_due_column_wins(tmp_path):
    rows = [["KPI register FY2027"], [], ["KPI", "Target", "Due"], ["Revenue", "5", ""], ["Orders", "7", "Q2 2027"]]
    found = kpis(import_spreadsheet(write_csv(tmp_path / "title.csv", rows)))
    assert found["Revenue"]["target"]["due"] == "2027-12-31"
    assert found["Orders"]["target"]["due"] == "2027-06-30"
    dated = [["Stand 01.03.2026"], ["KPI", "Target"], ["Revenue", "5"]]
    assert "due" not in kpis(import_spreadsheet(write_csv(tmp_path / "dated.csv", dated)))["Revenue"]["target"]


# --- German and English headers, dates ---------------------------------------------------------


def test_german_register_headers_map():
    headers = [
        "Bereich", "Ziel", "Kennzahl", "Definition", "Verantwortlich", "Ausgangswert", "Zielwert", "Termin",
        "Turnus", "Datenquelle", "Rot ab", "Gelb ab",
    ]  # fmt: skip
    assert guess_mapping(headers) == {
        "name": "Kennzahl",
        "description": "Definition",
        "owner": "Verantwortlich",
        "unit": "Bereich",
        "goal": "Ziel",
        "source": "Datenquelle",
        "cadence": "Turnus",
        "baseline": "Ausgangswert",
        "target": "Zielwert",
        "due": "Termin",
        "warning": "Gelb ab",
        "critical": "Rot ab",
    }
    other = guess_mapping(["Kennzahl", "Frist", "Rhythmus", "Quelle", "Rot wenn"])
    assert (other["due"], other["cadence"], other["source"], other["critical"]) == (
        "Frist",
        "Rhythmus",
        "Quelle",
        "Rot wenn",
    )


def test_english_register_headers_map():
    headers = [
        "Department", "Objective", "Perspective", "KPI", "Type (Leading/Lagging)", "Owner", "Baseline", "Target",
        "By", "Frequency", "Source system", "Red if", "Amber if",
    ]  # fmt: skip
    mapping = guess_mapping(headers)
    assert mapping == {
        "name": "KPI",
        "owner": "Owner",
        "unit": "Department",
        "goal": "Objective",
        "category": "Perspective",
        "kind": "Type (Leading/Lagging)",
        "source": "Source system",
        "cadence": "Frequency",
        "baseline": "Baseline",
        "target": "Target",
        "due": "By",
        "warning": "Amber if",
        "critical": "Red if",
    }
    assert guess_mapping(["KPI", "Category", "Type"]) == {"name": "KPI", "category": "Category", "kind": "Type"}


def test_due_dates_as_written():
    assert read_date("31.12.2027")[0] == dt.date(2027, 12, 31)
    assert read_date("Q4 2027")[0] == dt.date(2027, 12, 31)
    assert read_date("by Dec 2027")[0] == dt.date(2027, 12, 31)
    assert read_date("31/12/2027")[0] == dt.date(2027, 12, 31)
    with pytest.raises(ValueError, match="could be 3 April or March 4"):
        read_date("03/04/2027")


# --- the register sheet among others, and lines below the list -----------------------------------


def test_change_log_first_and_total_and_notes_below_the_list(tmp_path):
    workbook = openpyxl.Workbook()
    log = workbook.active
    log.title = "Change log"
    log.append(["Date", "Change", "By"])
    log.append([dt.date(2026, 3, 1), "Added churn", "Anna"])
    sheet = workbook.create_sheet("KPI register")
    sheet.append(["KPI", "Owner", "Target"])
    sheet.append(["Revenue", "CFO", 1000])
    sheet.append(["Orders", "CRO", 50])
    sheet.append(["Total", None, 1050])
    sheet.append([])
    sheet.append(["Notes: targets agreed in the board meeting of March 2026."])
    sheet.append(["* preliminary"])
    path = tmp_path / "register.xlsx"
    workbook.save(path)
    result = import_spreadsheet(path)
    assert list(kpis(result)) == ["Revenue", "Orders"]
    assert "Read sheet 'KPI register', the first one with a column of KPI names." in result.notes
    assert "Row 4 ('Total') is a total line, not a KPI; it was skipped." in result.notes
    other = [["Area", "KPI", "Target"], ["Sales", "Revenue", "5"], ["Total:", "", "5"]]
    assert (
        "Row 3 ('Total:') is a total line, not a KPI; it was skipped."
        in import_spreadsheet(write_csv(tmp_path / "total.csv", other)).notes
    )
    assert any(n.startswith("Row 6 ('Notes: targets") and "note below the list" in n for n in result.notes)


def test_a_first_kpi_row_of_short_words_is_not_a_sub_header(tmp_path):
    path = write_csv(tmp_path / "short.csv", [["KPI", ""], ["Revenue", "note"], ["Orders", "x"]])
    assert read_table(path)[0] == ["KPI", "Column B"]
    assert [k.name for k in import_spreadsheet(path).workspace.kpis] == ["Revenue", "Orders"]


def test_a_sub_header_under_a_blank_cell_outside_the_groups_names_its_column(tmp_path):
    rows = [["KPI", "", "Thresholds", ""], ["", "Comment", "Red", "Amber"], ["Uptime", "ok", "< 97%", "< 98%"]]
    headers, rows_read = read_table(write_csv(tmp_path / "loose.csv", rows))
    assert headers == ["KPI", "Comment", "Thresholds Red", "Thresholds Amber"]
    assert rows_read == [["Uptime", "ok", "< 97%", "< 98%"]]


def test_many_decided_numbers_are_one_note_per_column(tmp_path):
    rows = [["KPI", "Target"], ["Quote", "0,5"]] + [[f"K{i}", f"{i}.500"] for i in range(1, 9)]
    result = import_spreadsheet(write_csv(tmp_path / "many.csv", rows))
    notes = [n for n in result.notes if n.startswith("Column 'Target' was read with a decimal comma")]
    assert len(notes) == 1 and notes[0].endswith("and 3 more.") and "'1.500' (row 3) as 1500" in notes[0]


def test_a_change_log_with_a_kpi_column_before_the_register(tmp_path):
    workbook = openpyxl.Workbook()
    log = workbook.active
    log.title = "Changes"
    log.append(["Date", "KPI", "Change"])
    log.append(["2026-03-01", "Churn", "target lowered"])
    sheet = workbook.create_sheet("Register")
    sheet.append(["KPI", "Owner", "Target", "Frequency"])
    sheet.append(["Churn", "CCO", "2%", "Monthly"])
    path = tmp_path / "register.xlsx"
    workbook.save(path)
    result = import_spreadsheet(path)
    assert [k.owner for k in result.workspace.kpis] == ["CCO"]
    assert result.notes[0].startswith("Read sheet 'Register': of the sheets with a column of KPI names")
    assert read_table(path)[0] == ["KPI", "Owner", "Target", "Frequency"]


def test_a_long_kpi_name_after_a_blank_row_is_still_a_kpi(tmp_path):
    rows = [["KPI", "Owner"], ["Revenue", "CFO"], [], ["Share of customers who recommend us to a friend"]]
    names = [k.name for k in import_spreadsheet(write_csv(tmp_path / "long.csv", rows)).workspace.kpis]
    assert names == ["Revenue", "Share of customers who recommend us to a friend"]


def test_a_question_from_contradicting_evidence_says_so(tmp_path):
    rows = [["KPI", "Target"], ["A", "0.98"], ["B", "12,5"], ["C", "1.850"]]
    result = import_spreadsheet(write_csv(tmp_path / "mixed.csv", rows))
    note = next(n for n in result.notes if n.startswith("Row 4"))
    assert "and the column has '12,5' in row 3 (a decimal comma) and '0.98' in row 2 (a decimal point);" in note


def test_joined_headers_map_without_their_rows_too():
    """The app guesses a mapping from read_table's headers alone: joined headers must map as the import maps them."""
    headers = ["KPI", "Target Value", "Target By", "Thresholds Red", "Thresholds Amber", "Thresholds Green"]
    mapping = guess_mapping(headers)
    assert (mapping["target"], mapping["due"]) == ("Target Value", "Target By")
    assert (mapping["critical"], mapping["warning"]) == ("Thresholds Red", "Thresholds Amber")
    german = guess_mapping(["Kennzahl", "Ziel Wert", "Ziel Termin", "Schwellenwerte Rot", "Schwellenwerte Gelb"])
    assert german == {
        "name": "Kennzahl",
        "target": "Ziel Wert",
        "due": "Ziel Termin",
        "warning": "Schwellenwerte Gelb",
        "critical": "Schwellenwerte Rot",
    }


def test_a_kpi_with_a_department_but_no_goal_keeps_its_unit(tmp_path):
    rows = [["Department", "Objective", "KPI"], ["Marketing", "Grow reach", "Leads"], ["Finance", "", "DSO"]]
    result = import_spreadsheet(write_csv(tmp_path / "unit.csv", rows))
    dso = next(k for k in result.workspace.kpis if k.name == "DSO")
    assert (dso.goal, dso.unit) == (None, "finance")
    assert result.workspace.unit_of_kpi(dso).name == "Finance"


@pytest.mark.parametrize("header", ["Schwellen gelb/rot", "Ampel (Gelb / Rot)", "Amber / Red"])
def test_a_thresholds_header_naming_the_colours_orders_bare_values(tmp_path, header):
    rows = [["Kennzahl", header], ["Unfallquote", "4,5 / 6,0"], ["Besprechungen", "44 / 40"]]
    result = import_spreadsheet(write_csv(tmp_path / "order.csv", rows, delimiter=";"))
    found = kpis(result)
    assert found["Unfallquote"]["thresholds"] == {"warning": 4.5, "critical": 6.0}
    assert found["Besprechungen"]["thresholds"] == {"warning": 44, "critical": 40}
    assert sum("in the order the header" in n for n in result.notes) == 1


TOTALS = [("Total", True), ("Summe:", True), ("Total: 27 KPIs", True), ("Gesamt (28)", True)]
NOT_TOTALS = [("Total revenue", False), ("Sum of orders", False)]


@pytest.mark.parametrize(("text", "total"), TOTALS + NOT_TOTALS)
def test_total_lines(text, total):
    from kpi_model.importers.layout import is_total

    assert is_total(text) is total


def test_a_german_csv_with_two_columns_and_decimal_commas_splits_at_semicolons(tmp_path):
    path = write_csv(tmp_path / "two.csv", [["Kennzahl", "Zielwert"], ["Quote", "4,5"], ["Rate", "0,9"]], ";")
    assert read_table(path) == (["Kennzahl", "Zielwert"], [["Quote", "4,5"], ["Rate", "0,9"]])


@pytest.mark.parametrize("token", ["1..2", "1,5,3", "1,85.5", "12.34.5"])
def test_malformed_numbers_are_not_numbers_rather_than_a_guess(token):
    assert proves(token) is None
    for decimal in (None, ",", "."):
        with pytest.raises(ValueError, match="not a number"):
            parse_decimal(token, decimal)

"""Registers a new user made up (issue 11): each case is a small equivalent of their file, written inline.

Their files: a German semicolon CSV in cp1252 ("Krankenquote" in % without a % sign, "T€", "Tage"),
an offsite CSV with a note line above the header and a note row inside the list, and a workbook
with "€ m", "TBD" cells and a combined thresholds cell.
"""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from kpi_model.importers import ImportFailed, import_spreadsheet, read_table
from kpi_model.importers.common import clip
from kpi_model.importers.headers import read_sheet
from kpi_model.importers.number_format import Evidence, proof_reason
from kpi_model.importers.units import money_scale, read_unit_of_measure


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


def kpis(result) -> dict[str, dict]:
    data = result.workspace.model_dump(mode="json", exclude_none=True)
    return {k["name"]: k for k in data["kpis"]}


GERMAN = [
    ["Bereich", "Kennzahl", "Einheit", "Ist 2026", "Ziel 2027", "Rot", "Gelb", "Rhythmus"],
    ["Vertrieb", "Auftragseingang", "€", "4.250.000", "4.600.000", "3.900.000", "4.200.000", "monatlich"],
    ["Vertrieb", "Umsatz je Vertriebsmitarbeiter", "T€", "1.850", "2.000", "1.500", "1.700", "quartalsweise"],
    ["Vertrieb", "Angebotsquote", "%", "23,5 %", ">= 25 %", "< 18 %", "< 22 %", "monatlich"],
    ["Finanzen", "Durchlaufzeit Kreditorenrechnung", "Tage", "6,5", "4", "> 8", "> 6", "monatlich"],
    ["Personal", "Krankenquote", "%", "5,2", "4,5", "> 7", "> 6", "monatlich"],
    ["Personal", "Fluktuation", "%", "0,08", "0,06", "> 0,1", "> 0,09", "monatlich"],
    ["Kunden", "Kundenzufriedenheit (NPS)", "Punkte", "32", "40", "< 20", "< 30", "monatlich"],
]


@pytest.fixture
def german(tmp_path) -> Path:
    return write_csv(tmp_path / "controlling.csv", GERMAN, delimiter=";", encoding="cp1252")


# 1. Percent written without a % sign --------------------------------------------------------------


def test_percent_points_without_a_sign_are_divided_by_100_and_said(german):
    result = import_spreadsheet(german)
    sick = kpis(result)["Krankenquote"]
    assert sick["unit_of_measure"] == "percent"
    assert sick["baseline"] == {"value": 0.052}
    assert sick["target"]["value"] == 0.045
    assert sick["thresholds"] == {"critical": 0.07, "warning": 0.06}
    points = [n for n in result.notes if "percent points" in n]
    assert points == [
        "On row 6 ('Krankenquote') the unit is percent but the numbers have no % sign and some are above 1, so "
        "they were read as percent points and divided by 100 (row 6: '5,2' → 0.052, '4,5' → 0.045, '> 6' → 0.06, "
        "'> 7' → 0.07). Write them with a % sign (5.2 %) or as fractions (0.052) to say otherwise."
    ]


def test_percent_fractions_without_a_sign_stay_and_are_said(german):
    result = import_spreadsheet(german)
    turnover = kpis(result)["Fluktuation"]
    assert turnover["baseline"] == {"value": 0.08} and turnover["thresholds"] == {"critical": 0.1, "warning": 0.09}
    assert any(
        n.startswith("On row 7 ('Fluktuation') the unit is percent") and "fractions already" in n for n in result.notes
    )
    # A % sign decides on its own: the row is not in either note.
    assert kpis(result)["Angebotsquote"]["baseline"] == {"value": 0.235}
    assert not any("'Angebotsquote'" in n and "percent points" in n for n in result.notes)


def test_percent_in_a_header_makes_plain_numbers_percent_points(tmp_path):
    path = write_csv(tmp_path / "rates.csv", [["KPI", "Actual (%)", "Target (%)"], ["Sick leave rate", "5.2", "4.5"]])
    result = import_spreadsheet(path)
    sick = kpis(result)["Sick leave rate"]
    assert (sick["unit_of_measure"], sick["baseline"]["value"], sick["target"]["value"]) == ("percent", 0.052, 0.045)
    assert any("percent points" in n and "row 2 ('Sick leave rate')" in n for n in result.notes)


def test_a_unit_column_wins_over_a_percent_header(tmp_path):
    rows = [["KPI", "Unit", "Actual (%)"], ["Days to close", "days", "6.5"]]
    close = kpis(import_spreadsheet(write_csv(tmp_path / "odd.csv", rows)))["Days to close"]
    assert (close["unit_of_measure"], close["baseline"]["value"]) == ("duration", 6.5)


def test_percent_points_with_a_unit_column_in_english(tmp_path):
    rows = [["KPI", "Owner", "Unit", "Actual", "Target"], ["Sick leave rate", "HR", "%", "5.2", "4.5"]]
    sick = kpis(import_spreadsheet(write_csv(tmp_path / "probe.csv", rows)))["Sick leave rate"]
    assert (sick["baseline"]["value"], sick["target"]["value"]) == (0.052, 0.045)


# 2. The header row ---------------------------------------------------------------------------------

OFFSITE = [
    ["DRAFT - from the Q3 offsite whiteboard", " ask Jen before sending anywhere", "", "", "", ""],
    ["Metric title", "", "Why we track it", "Accountable", "Better when", "Heartbeat"],
    ["Active customers", "", "Customers with an order in the last 90 days", "Jen", "higher", "every month"],
    ["Avg handle time", "", "Minutes per support ticket", "Support lead", "lower", "weekly"],
    ["Avg handle time", "", "", "", "", ""],
    ["NOTE: rows below are ideas not agreed yet", "", "", "", "", ""],
    ["Employee NPS", "", "eNPS from pulse survey", "People", "higher", "quarterly"],
]


@pytest.fixture
def offsite(tmp_path) -> Path:
    return write_csv(tmp_path / "offsite.csv", OFFSITE)


def test_a_note_line_with_commas_above_the_header_is_not_the_header(offsite):
    result = import_spreadsheet(offsite)
    names = [k.name for k in result.workspace.kpis]
    assert "Metric title" not in names and names[0] == "Active customers"
    assert read_sheet(offsite).header_row == 2
    assert read_sheet(offsite).headers[0] == "Metric title"


def test_a_prose_line_is_a_title_even_when_no_row_names_a_field(tmp_path):
    rows = [
        ["DRAFT - from the offsite", " ask Jen before sending anywhere", ""],
        ["Thing", "Who", "Size"],
        ["a", "b", "c"],
    ]
    assert read_sheet(write_csv(tmp_path / "prose.csv", rows)).header_row == 2


@pytest.mark.parametrize("header", ["Metric title", "Metric", "KPI title", "Measure name"])
def test_headers_that_name_the_kpi(tmp_path, header):
    path = write_csv(tmp_path / "names.csv", [[header, "Owner"], ["Churn", "CMO"]])
    assert [k.name for k in import_spreadsheet(path).workspace.kpis] == ["Churn"]


def test_a_row_mapping_several_fields_is_the_header_even_without_a_name_column(tmp_path):
    rows = [["Draft list, do not share", "v2"], ["Colour", "Owner", "Target", "Frequency"], ["Churn", "CMO", "5", "M"]]
    with pytest.raises(ImportFailed) as raised:
        import_spreadsheet(write_csv(tmp_path / "x.csv", rows))
    message = str(raised.value)
    assert "its columns (header row 2): 'Colour', 'Owner', 'Target', 'Frequency'" in message
    assert "in the app: the 'KPI name' field of the mapping" in message and "--mapping map.yaml" in message


def test_the_header_row_can_be_chosen(tmp_path):
    rows = [["Register", "2027"], ["Thing", "Who"], ["Churn", "CMO"], ["NPS", "CX"]]
    path = write_csv(tmp_path / "chosen.csv", rows)
    read = read_sheet(path, header_row=2)
    assert (read.header_row, read.headers, read.rows) == (2, ["Thing", "Who"], [["Churn", "CMO"], ["NPS", "CX"]])
    assert read_table(path, header_row=2)[0] == ["Thing", "Who"]
    result = import_spreadsheet(path, header_row=2, mapping={"name": "Thing", "owner": "Who"})
    assert [(k.name, k.owner) for k in result.workspace.kpis] == [("Churn", "CMO"), ("NPS", "CX")]
    with pytest.raises(ImportFailed, match="has no row 9"):
        read_sheet(path, header_row=9)


def test_the_header_row_of_a_workbook_sheet_can_be_chosen(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "KPIs"
    for row in (["KPI register"], ["KPI", "Owner"], ["Prepared by", "Finance"], ["Name", "Owner"], ["Churn", "CMO"]):
        sheet.append(row)
    path = tmp_path / "chosen.xlsx"
    workbook.save(path)
    assert read_sheet(path).header_row == 2
    read = read_sheet(path, header_row=4)
    assert (read.sheet, read.header_row, read.rows) == ("KPIs", 4, [["Churn", "CMO"]])
    assert [k.name for k in import_spreadsheet(path, header_row=4).workspace.kpis] == ["Churn"]


# 3. Note rows inside the list, repeated names --------------------------------------------------


def test_a_note_row_inside_the_list_is_skipped_with_a_note(offsite):
    result = import_spreadsheet(offsite)
    names = [k.name for k in result.workspace.kpis]
    assert not any(n.startswith("NOTE") for n in names) and "Employee NPS" in names
    assert (
        "Row 6 ('NOTE: rows below are ideas not agreed…') is a note, not a KPI (a line starting 'Note:', "
        "'Hinweis:', 'TODO:' … or ending in ':', with no other cell filled); it was skipped." in result.notes
    )


@pytest.mark.parametrize(
    "text", ["Hinweis: noch offen", "TODO: ask finance", "Ideas we did not agree yet:", "NB: draft"]
)
def test_note_labels_are_skipped_but_a_kpi_with_values_is_not(tmp_path, text):
    rows = [["KPI", "Owner"], ["Churn", "CMO"], [text, ""], ["Note: signed", "CFO"]]
    names = [k.name for k in import_spreadsheet(write_csv(tmp_path / "n.csv", rows)).workspace.kpis]
    assert names == ["Churn", "Note: signed"]


def test_a_repeated_name_on_an_otherwise_blank_row_is_imported_and_said(offsite):
    result = import_spreadsheet(offsite)
    assert [k.id for k in result.workspace.kpis].count("avg_handle_time_2") == 1
    assert (
        "Row 5 ('Avg handle time'): row 4 has a KPI of the same name; this one was imported separately as "
        "'avg_handle_time_2'. Its other cells are blank, so it may be a leftover copy; the audit reports "
        "duplicate KPIs." in result.notes
    )


# 4. Unit spellings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unit", "scale"),
    [
        ("€ m", "currency", "millions"),
        ("Mio €", "currency", "millions"),
        ("T€", "currency", "thousands"),
        ("Tsd. €", "currency", "thousands"),
        ("k€", "currency", "thousands"),
        ("TEUR", "currency", "thousands"),
        ("€", "currency", None),
        ("Tage", "duration", None),
        ("Stunden", "duration", None),
        ("Minuten", "duration", None),
        ("Wochen", "duration", None),
        ("Monate", "duration", None),
        ("h", "duration", None),
        ("min", "duration", None),
        ("Punkte", "score", None),
    ],
)
def test_unit_spellings(text, unit, scale):
    assert read_unit_of_measure(text).value == unit
    assert money_scale(text) == scale


def test_money_in_thousands_is_kept_as_written_and_said(german):
    result = import_spreadsheet(german)
    per_head = kpis(result)["Umsatz je Vertriebsmitarbeiter"]
    assert per_head["unit_of_measure"] == "currency" and per_head["baseline"] == {"value": 1850.0}
    assert "Unit of measure as written: T€ (values in thousands)" in per_head["description"]
    assert (
        "Unit of measure 'T€' (row 3) is money counted in thousands: unit_of_measure was set to currency and the "
        "values were kept as written (in thousands, not converted); the unit as written is kept in the "
        "description." in result.notes
    )
    assert kpis(result)["Durchlaufzeit Kreditorenrechnung"]["unit_of_measure"] == "duration"
    assert not any("is not one of count" in n for n in result.notes)


# 5. Notes: noise and wording -------------------------------------------------------------------


def test_kpis_of_a_unit_without_goals_are_one_note_per_unit(german):
    notes = import_spreadsheet(german).notes
    assert "Unit 'Vertrieb' (rows 2, 3, 4): no goal is given, so these KPIs belong to the unit and to no goal." in notes
    assert "Unit 'Finanzen' (row 5): no goal is given, so the KPI belongs to the unit and to no goal." in notes
    assert not any("but no goal" in n for n in notes)


def make_register(path: Path) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Department", "KPI", "Unit", "Actual FY2026", "Target FY2027", "Threshold"])
    sheet.append(["Finance", "Revenue", "€ m", 48.2, 52, "Red < 47"])
    sheet.append(["Finance", "EBITDA margin", "%", "11.2%", "≥ 12%", "Red < 10% / Amber < 11%"])
    sheet.append(["Operations", "OEE", "%", "TBD", "85 %", "-"])
    sheet.append(["Operations", "Customer churn", "%", "6 %", "n/a", ""])
    sheet.append([])
    sheet.append(["Note: FY2026 actuals are unaudited (as of Oct YTD)."])
    workbook.save(path)
    return path


def test_parts_of_a_combined_thresholds_cell_are_named_by_colour(tmp_path):
    notes = import_spreadsheet(make_register(tmp_path / "acme.xlsx")).notes
    assert (
        "Row 3 ('EBITDA margin'): baseline '11.2%', target '≥ 12%', thresholds red (critical) '< 10%', thresholds "
        "amber (warning) '< 11%' read as fractions (a % sign means percent: 30% → 0.3)." in notes
    )


def test_money_in_millions_from_a_workbook(tmp_path):
    result = import_spreadsheet(make_register(tmp_path / "acme.xlsx"))
    revenue = kpis(result)["Revenue"]
    assert revenue["unit_of_measure"] == "currency" and revenue["baseline"] == {"value": 48.2}
    assert any(n.startswith("Unit of measure '€ m' (row 2) is money counted in millions") for n in result.notes)


def test_placeholders_in_cells_are_said_once_per_sheet(tmp_path):
    notes = import_spreadsheet(make_register(tmp_path / "acme.xlsx")).notes
    placeholder = [n for n in notes if "placeholder" in n]
    assert placeholder == [
        "Cells holding a placeholder rather than a value were left empty: row 4 baseline 'TBD', "
        "row 4 thresholds '-', row 5 target 'n/a'."
    ]


def test_notes_never_cut_a_word(tmp_path):
    notes = import_spreadsheet(make_register(tmp_path / "acme.xlsx")).notes
    assert any(n.startswith("Row 7 ('Note: FY2026 actuals are unaudited (as…') is a note, not a KPI") for n in notes)
    assert clip("Note: FY2026 actuals are unaudited (as of Oct YTD).") == "Note: FY2026 actuals are unaudited (as…"
    assert clip("short enough") == "short enough"
    assert clip("x" * 60) == "x" * 60  # one long word is kept whole, not cut


def test_the_separator_note_names_what_its_evidence_shows(german):
    notes = import_spreadsheet(german).notes
    assert any(
        n.startswith("Column 'Ist 2026' was read with a decimal comma (the column has '4.250.000' in row 2: "
                     "thousands grouped with dots, so the decimal mark is a comma)")
        for n in notes
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "separator", "reason"),
    [
        ("12,5", ",", "a decimal comma"),
        ("0,985", ",", "a decimal comma"),
        ("4.250.000", ",", "thousands grouped with dots, so the decimal mark is a comma"),
        ("1.234,50 €", ",", "a decimal comma after thousands grouped with dots"),
        ("3.5", ".", "a decimal point"),
        ("1,250,000", ".", "thousands grouped with commas, so the decimal mark is a point"),
        ("1,850.00", ".", "a decimal point after thousands grouped with commas"),
    ],
)
def test_proof_reasons(text, separator, reason):
    assert proof_reason(text, separator) == reason
    evidence = Evidence()
    evidence.add(text, "row 2")
    assert evidence.decided() == (separator, f"'{text}' in row 2: {reason}", False)


def test_a_prose_line_with_field_words_is_not_the_header(tmp_path):
    rows = [
        ["DRAFT - KPI name, owner and target still to be agreed with Jen", "see notes"],
        ["KPI", "Owner", "Target"],
        ["Churn", "CMO", "5%"],
    ]
    path = write_csv(tmp_path / "draft.csv", rows)
    assert read_sheet(path).header_row == 2
    assert [k.name for k in import_spreadsheet(path).workspace.kpis] == ["Churn"]


def test_import_file_passes_the_header_row_on(tmp_path):
    from kpi_model.importers import import_file

    path = write_csv(tmp_path / "chosen.csv", [["KPI list", "draft"], ["Name", "Owner"], ["Churn", "CMO"]])
    assert [k.name for k in import_file(path, header_row=2).workspace.kpis] == ["Churn"]
    write_csv(path, [["Name", "Owner"], ["Churn", "CMO"], [], ["NPS", "CX"]])
    with pytest.raises(ImportFailed, match=r"row 3 of chosen\.csv is blank"):
        import_file(path, header_row=3)

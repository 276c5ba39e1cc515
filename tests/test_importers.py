"""Importers: a spreadsheet or dbt metrics become a valid workspace, and what does not map is a note."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pytest

from kpi_model.engine import Engine
from kpi_model.errors import WorkspaceError
from kpi_model.importers import (
    FIELDS,
    ImportFailed,
    guess_mapping,
    import_dbt,
    import_file,
    import_spreadsheet,
    load_mapping,
    read_table,
)
from kpi_model.importers.values import read_amount, read_cadence, read_date, read_direction
from kpi_model.validation import parse_workspace
from kpi_model.workspace_file import save

from .conftest import SAMPLE_WORKSPACE

OLIST = Path(__file__).resolve().parents[2] / "shared" / "external" / "olist-funnel"


def dump(result) -> dict[str, Any]:
    """The workspace as plain data, without the default ``measure`` of every KPI."""
    data = result.workspace.model_dump(mode="json", exclude_none=True)
    for kpi in data["kpis"]:
        if kpi.get("measure") == "quantitative":
            del kpi["measure"]
    # An import must always give a workspace that passes the same validation as a loaded file.
    parse_workspace(result.workspace.model_dump(mode="json"))
    return data


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream, delimiter=delimiter).writerows(rows)
    return path


# --- guessing columns ---------------------------------------------------------------------


def test_guess_mapping_on_a_consultancy_template():
    headers = [
        "#",
        "Metric",
        "Definition",
        "Formula / Calculation",
        "Responsible",
        "Accountable",
        "Team",
        "Objective",
        "Freq.",
        "Target (%)",
        "Actual 2025",
        "Deadline",
        "Status",
        "Review date",
        "Notes",
    ]
    assert guess_mapping(headers) == {
        "name": "Metric",
        "description": "Definition",  # prose, not a formula
        "owner": "Accountable",  # RACI: the accountable one owns the KPI
        "unit": "Team",
        "goal": "Objective",
        "formula": "Formula / Calculation",
        "cadence": "Freq.",
        "baseline": "Actual 2025",
        "target": "Target (%)",
        "due": "Deadline",
        "review_date": "Review date",
    }


def test_guess_mapping_with_messy_spelling_covers_every_field():
    headers = [
        "  kpi name ",
        "KPI_ID",
        "What it measures",
        "KPI_OWNER",
        "business-unit",
        "GOAL",
        "BSC perspective",
        "Lead/Lag",
        "How is it calculated?",
        "Source System",
        "Filter",
        "Date column",
        "UoM",
        "Polarity",
        "Reporting Frequency",
        "Baseline",
        "Goal value",
        "Target date",
        "Warning threshold",
        "Critical threshold",
        "RAG thresholds",
        "Corrective action",
        "Last reviewed",
    ]
    mapping = guess_mapping(headers)
    assert set(mapping) == set(FIELDS)
    assert mapping["name"] == "  kpi name "
    assert mapping["goal"] == "GOAL" and mapping["target"] == "Goal value" and mapping["due"] == "Target date"
    assert mapping["formula"] == "How is it calculated?" and mapping["kind"] == "Lead/Lag"


def test_guess_mapping_in_german_french_and_spanish():
    german = ["KPI-ID", "Kennzahl", "Beschreibung", "Verantwortlich", "Abteilung", "Strategisches Ziel", "Einheit"]
    german += ["Zielwert", "Istwert", "Frist", "Häufigkeit", "Maßnahme"]
    assert guess_mapping(german) == {
        "name": "Kennzahl",
        "id": "KPI-ID",
        "description": "Beschreibung",
        "owner": "Verantwortlich",
        "unit": "Abteilung",
        "goal": "Strategisches Ziel",
        "unit_of_measure": "Einheit",
        "cadence": "Häufigkeit",
        "baseline": "Istwert",
        "target": "Zielwert",
        "due": "Frist",
        "action": "Maßnahme",
    }
    assert guess_mapping(["Indicateur", "Responsable", "Objectif stratégique", "Fréquence", "Valeur cible"]) == {
        "name": "Indicateur",
        "owner": "Responsable",
        "goal": "Objectif stratégique",
        "cadence": "Fréquence",
        "target": "Valeur cible",
    }
    assert guess_mapping(["Indicador", "Objetivo", "Frecuencia", "Meta", "Fecha límite", "Departamento"]) == {
        "name": "Indicador",
        "unit": "Departamento",
        "goal": "Objetivo",
        "cadence": "Frecuencia",
        "target": "Meta",
        "due": "Fecha límite",
    }


def test_guess_mapping_does_not_read_words_inside_unrelated_headers():
    mapping = guess_mapping(["KPI", "Current owner", "Data", "Review date", "Target 2027", "Comments", "Status"])
    # "Current owner" is an owner, not a baseline; "Review date" is not a cadence; "Data" is no source.
    assert mapping == {"name": "KPI", "owner": "Current owner", "target": "Target 2027", "review_date": "Review date"}
    assert guess_mapping(["Name", "Type", "Current", "Red", "Amber"]) == {
        "name": "Name",
        "kind": "Type",
        "baseline": "Current",
        "warning": "Amber",
        "critical": "Red",
    }
    assert guess_mapping(["Comments", "Status"]) == {}


# --- reading values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30%", {"value": 0.3, "percent": True}),
        ("≥ 95%", {"value": 0.95, "percent": True, "better": "up"}),
        ("< 2 days", {"value": 2.0, "better": "down", "dropped": "days"}),
        ("8-10%", {"low": 0.08, "high": 0.1, "percent": True}),
        ("between 2 and 3", {"low": 2.0, "high": 3.0}),
        ("€1.2k", {"value": 1200.0, "currency": True}),
        ("1,5 Mio. EUR", {"value": 1_500_000.0, "currency": True}),
        ("1 250", {"value": 1250.0}),
        ("-5%", {"value": -0.05, "percent": True}),
    ],
)
def test_read_amount(text, expected):
    amount = read_amount(text)
    found = {key: getattr(amount, key) for key in ("value", "low", "high", "percent", "currency", "dropped")}
    found["better"] = amount.better.value if amount.better else None
    defaults = {"value": None, "low": None, "high": None, "percent": False, "currency": False, "dropped": None}
    assert found == defaults | {"better": None} | expected


def test_read_amount_refuses_what_it_cannot_read_safely():
    with pytest.raises(ValueError, match="ambiguous"):
        read_amount("1,200")
    with pytest.raises(ValueError, match="not a number"):
        read_amount("2027-06-30")
    assert read_amount("1.5m").dropped == "m"  # minutes? months? only money makes it millions
    assert read_amount("1.5m", money=True).value == 1_500_000


@pytest.mark.parametrize(
    ("typed", "quoted"),
    [
        ("<script>alert(1)</script>", "'<script>alert(1)</script>' is not a number"),  # not 'script>…'
        ("≥ ten", "'≥ ten' is not a number"),
        ("€ 0x1F", "'€ 0x1F' is a hexadecimal number"),
        ("at most 1.0m 2", "'at most 1.0m 2' holds more than one number"),
    ],
)
def test_read_amount_quotes_what_was_typed_with_its_comparison_sign(typed, quoted):
    with pytest.raises(ValueError) as caught:
        read_amount(typed, "Target")
    assert f"Target {quoted}" in str(caught.value)


def test_read_words_and_dates():
    assert read_cadence("Monthly").value == "monthly"
    assert read_cadence("Q").value == "quarterly"
    assert read_cadence("Monthly (in the MBR)").value == "monthly"
    with pytest.raises(ValueError, match="bi-weekly"):
        read_cadence("bi-weekly")
    assert read_direction("Higher is better").value == "up"
    assert read_direction("↓").value == "down"
    assert read_direction("reduce").value == "down"
    assert read_direction("between").value == "range"
    assert read_date("30.06.2027") == (dt.date(2027, 6, 30), None)
    assert read_date("30/06/2027") == (dt.date(2027, 6, 30), None)
    assert read_date("June 30, 2027") == (dt.date(2027, 6, 30), None)
    assert read_date("2027-Q2")[0] == dt.date(2027, 6, 30)
    assert read_date("Jun 2027")[0] == dt.date(2027, 6, 30)
    with pytest.raises(ValueError, match="could be 3 April or March 4"):
        read_date("03/04/2027")


# --- spreadsheets -------------------------------------------------------------------------

HEADERS = [
    "KPI ID",
    "KPI",
    "Definition",
    "KPI Owner",
    "Department",
    "Strategic goal",
    "Perspective",
    "Leading/Lagging",
    "Calculation",
    "Data source",
    "Filter",
    "Date column",
    "Unit of measure",
    "Better if",
    "Reporting frequency",
    "Current",
    "Target",
    "Target date",
    "Amber",
    "Red",
    "Action if off track",
    "Comments",
]


def row(**cells: str) -> list[str]:
    keys = {h: h.lower().replace(" ", "_").replace("/", "_") for h in HEADERS}
    return [cells.pop(keys[h], "") for h in HEADERS] + ([] if not cells else [f"unused {cells}"])


SHEET = [
    ["KPI register 2027"],  # a title block above the header row
    [],
    HEADERS,
    row(
        kpi_id="R01",
        kpi="Revenue",
        definition="Net revenue of completed orders",
        kpi_owner="CFO",
        department="Finance",
        strategic_goal="Grow revenue",
        perspective="Financial",
        leading_lagging="Lagging",
        calculation="sum(amount)",
        data_source="SAP ERP",
        filter="status = 'completed'",
        date_column="order_date",
        unit_of_measure="EUR",
        better_if="Higher is better",
        reporting_frequency="Monthly",
        current="1,200,000",
        target="€1.5m",
        target_date="2027-12-31",
        amber="1.4m",
        red="1.3m",
        action_if_off_track="Review pricing",
        comments="agreed in Q3",
    ),
    row(
        kpi="Orders",
        kpi_owner="Head of Sales",
        department="Sales",
        strategic_goal="Grow revenue",
        perspective="Customer",
        leading_lagging="Leading",
        calculation="count(*)",
        data_source="SAP ERP",
        date_column="order_date",
        unit_of_measure="#",
        better_if="up",
        reporting_frequency="M",
        current="1000",
        target="1200",
        target_date="Q4 2027",
        amber="1100",
        red="1000",
    ),
    [""] * len(HEADERS),  # a blank row
    row(
        kpi="Average order value",
        kpi_owner="Head of Sales",
        department="Sales",
        strategic_goal="Grow revenue",
        perspective="Financial",
        leading_lagging="Lagging",
        calculation="Revenue / Orders",  # not SQL, and 'Revenue' names two KPIs below
        unit_of_measure="EUR",
        better_if="↑",
        reporting_frequency="monthly",
    ),
    row(
        kpi="Repeat rate",
        kpi_owner="CMO",
        department="Marketing",
        strategic_goal="Keep customers",
        perspective="Customer",
        leading_lagging="Leading",
        calculation="Repeat customers / all customers",
        data_source="CRM",
        unit_of_measure="%",
        better_if="Higher is better",
        reporting_frequency="Quarterly",
        current="25%",
        target="30%",
        target_date="30.06.2027",
        amber="27%",
        red="24%",
        action_if_off_track="Win-back campaign",
    ),
    row(
        kpi="On-time delivery",
        kpi_owner="COO",
        strategic_goal="Deliver on time",
        perspective="Process",
        leading_lagging="Lagging",
        calculation="COUNT(*) FILTER (WHERE delivered_date <= promised_date) / COUNT(*)",
        data_source="WMS",
        filter="channel IN ('web', 'b2b')",
        date_column="order_date",
        better_if="Higher",
        reporting_frequency="Weekly",
        current="91%",
        target="≥ 95%",
        target_date="2027",
        amber="93%",
        red="90%",
    ),
    row(
        kpi="Revenue",  # the same name again
        kpi_owner="CFO",
        department="Finance",
        strategic_goal="Grow revenue",
        perspective="Finance",
        leading_lagging="Lag",
        calculation="sum(amount)",
        data_source="sap erp",
        filter="status = ",
        unit_of_measure="EUR",
        better_if="up",
        reporting_frequency="bi-weekly",
        target="TBD",
        target_date="03/04/2027",
    ),
    row(
        kpi="Employee turnover",
        kpi_owner="HR lead",
        department="People",
        perspective="Learning & Growth",
        leading_lagging="lagging",
        data_source="HRIS",
        unit_of_measure="%",
        better_if="lower is better",
        reporting_frequency="yearly",
        current="12%",
        target="8-10%",
    ),
    row(
        kpi="Customers",
        kpi_owner="Head of Sales",
        department="Sales",
        strategic_goal="Grow revenue",
        perspective="Customer",
        leading_lagging="lagging",
        calculation="count(DISTINCT customer_id)",
        data_source="SAP ERP",
        date_column="order_date",
        unit_of_measure="count",
        better_if="up",
        reporting_frequency="monthly",
    ),
    row(
        kpi="Orders per customer",
        department="Sales",
        strategic_goal="Grow revenue",
        perspective="Sustainability",
        calculation="Orders / Customers",  # arithmetic over two KPIs of the sheet
    ),
    row(comments="left over from 2025"),
]

EXPECTED_KPIS = [
    {
        "id": "r01",
        "name": "Revenue",
        "goal": "grow-revenue",
        "description": "Net revenue of completed orders",
        "owner": "CFO",
        "category": "financial",
        "kind": "lagging",
        "source": "sap_erp",
        "expression": "sum(amount)",
        "filter": "status = 'completed'",
        "time_column": "order_date",
        "unit_of_measure": "currency",
        "direction": "up",
        "cadence": "monthly",
        "baseline": {"value": 1_200_000.0},
        "target": {"value": 1_500_000.0, "due": "2027-12-31"},
        "thresholds": {"warning": 1_400_000.0, "critical": 1_300_000.0},
        "action": "Review pricing",
    },
    {
        "id": "orders",
        "name": "Orders",
        "goal": "grow-revenue-2",
        "owner": "Head of Sales",
        "category": "customer",
        "kind": "leading",
        "source": "sap_erp",
        "expression": "count(*)",
        "time_column": "order_date",
        "unit_of_measure": "count",
        "direction": "up",
        "cadence": "monthly",
        "baseline": {"value": 1000.0},
        "target": {"value": 1200.0, "due": "2027-12-31"},
        "thresholds": {"warning": 1100.0, "critical": 1000.0},
    },
    {
        "id": "average_order_value",
        "name": "Average order value",
        "goal": "grow-revenue-2",
        "description": "Revenue / Orders",  # a definition in words: the description
        "owner": "Head of Sales",
        "category": "financial",
        "kind": "lagging",
        "unit_of_measure": "currency",
        "direction": "up",
        "cadence": "monthly",
    },
    {
        "id": "repeat_rate",
        "name": "Repeat rate",
        "goal": "keep-customers",
        "description": "Repeat customers / all customers",
        "owner": "CMO",
        "category": "customer",
        "kind": "leading",
        "source": "crm",
        "unit_of_measure": "percent",
        "direction": "up",
        "cadence": "quarterly",
        "baseline": {"value": 0.25},
        "target": {"value": 0.3, "due": "2027-06-30"},
        "thresholds": {"warning": 0.27, "critical": 0.24},
        "action": "Win-back campaign",
    },
    {
        "id": "on_time_delivery",
        "name": "On-time delivery",
        "goal": "deliver-on-time",
        "owner": "COO",
        "category": "process",
        "kind": "lagging",
        "source": "wms",
        "expression": "COUNT(*) FILTER (WHERE delivered_date <= promised_date) / COUNT(*)",
        "filter": "channel IN ('web', 'b2b')",
        "time_column": "order_date",
        "unit_of_measure": "percent",
        "direction": "up",
        "cadence": "weekly",
        "baseline": {"value": 0.91},
        "target": {"value": 0.95, "due": "2027-12-31"},
        "thresholds": {"warning": 0.93, "critical": 0.9},
    },
    {
        "id": "revenue",
        "name": "Revenue",
        "goal": "grow-revenue",
        "description": "Cadence as written: bi-weekly\nFilter as written: status =\nDue as written: 03/04/2027",
        "owner": "CFO",
        "category": "financial",
        "kind": "lagging",
        "source": "sap_erp",
        "expression": "sum(amount)",
        "unit_of_measure": "currency",
        "direction": "up",
    },
    {
        "id": "employee_turnover",
        "name": "Employee turnover",
        "unit": "people",  # no goal: the department the sheet states is kept on the KPI
        "owner": "HR lead",
        "category": "people",
        "kind": "lagging",
        "source": "hris",
        "unit_of_measure": "percent",
        "direction": "down",
        "cadence": "yearly",
        "baseline": {"value": 0.12},
        "target": {"low": 0.08, "high": 0.1, "due": "2027-12-31"},  # the title "KPI register 2027"
    },
    {
        "id": "customers",
        "name": "Customers",
        "goal": "grow-revenue-2",
        "owner": "Head of Sales",
        "category": "customer",
        "kind": "lagging",
        "source": "sap_erp",
        "expression": "count(DISTINCT customer_id)",
        "time_column": "order_date",
        "unit_of_measure": "count",
        "direction": "up",
        "cadence": "monthly",
    },
    {
        "id": "orders_per_customer",
        "name": "Orders per customer",
        "goal": "grow-revenue-2",
        "description": "Category as written: Sustainability",
        "expression": "orders / customers",
    },
]
PERCENT = "read as fractions (a % sign means percent: 30% → 0.3)"
EXPECTED_NOTES = [
    "Column 'Comments' matched no field and was not imported (if they hold a field, choose it in the mapping: "
    "in the app, or with --mapping on the command line).",
    "Row 4 ('Revenue'): the id 'R01' is not a valid KPI id, so 'r01' was used.",
    "Row 5 ('Orders'): due date: the quarter 'Q4 2027' read as its last day (2027-12-31).",
    "Row 7 ('Average order value'): the formula 'Revenue / Orders' is a definition in words, not a formula over "
    "columns, so it was kept as the KPI's description and the KPI has no expression yet.",
    "Row 8 ('Repeat rate'): the formula 'Repeat customers / all customers' is a definition in words, not a formula "
    "over columns, so it was kept as the KPI's description and the KPI has no expression yet.",
    f"Row 8 ('Repeat rate'): baseline '25%', target '30%', warning '27%', critical '24%' {PERCENT}.",
    "Row 9 ('On-time delivery'): due date: the year 2027 read as its last day (2027-12-31).",
    f"Row 9 ('On-time delivery'): baseline '91%', target '≥ 95%', warning '93%', critical '90%' {PERCENT} "
    "and unit_of_measure set to percent.",
    "Goal 'Deliver on time' (row 9) has no unit; it was put under the unit 'Unassigned'.",
    "Row 10 ('Revenue'): row 4 has a KPI of the same name; this one was imported separately as 'revenue'.",
    "Row 10 ('Revenue'): cadence 'bi-weekly' is not one of daily, weekly, monthly, quarterly, yearly; it was kept "
    "in the description and cadence left empty.",
    "Row 10 ('Revenue'): the filter is not a SQL condition (the filter does not parse: it ends too early or misses "
    "an operand); it was kept in the description and filter left empty.",
    "Row 10 ('Revenue'): due date '03/04/2027' could be 3 April or March 4; write it as YYYY-MM-DD; it was kept in "
    "the description and due left empty.",
    "Cells holding a placeholder rather than a value were left empty: row 10 target 'TBD'.",
    "Unit 'People' (row 11): no goal is given, so the KPI belongs to the unit and to no goal.",
    f"Row 11 ('Employee turnover'): baseline '12%', target '8-10%' {PERCENT}.",
    "Targets without a due date (row 11) were set due 2027-12-31, the end of the year the title "
    "'KPI register 2027' names; give a due date to change it.",
    "Row 13 ('Orders per customer'): category 'Sustainability' is not one of financial, customer, process, "
    "marketing, people; it was kept in the description and category left empty.",
    "Row 13 ('Orders per customer'): the formula 'Orders / Customers' names other KPIs of the sheet; imported as "
    "'orders / customers'.",
    "Row 14 has no KPI name (it holds 'left over from 2025'); it was skipped.",
]


def test_csv_import_maps_every_field_and_notes_the_rest(tmp_path):
    result = import_spreadsheet(write_csv(tmp_path / "kpis.csv", SHEET))
    data = dump(result)
    assert data["name"] == "kpis"
    assert data["units"] == [
        {"id": "finance", "name": "Finance"},
        {"id": "sales", "name": "Sales"},
        {"id": "marketing", "name": "Marketing"},
        {"id": "unassigned", "name": "Unassigned"},
        {"id": "people", "name": "People"},
    ]
    # A goal belongs to one unit: the same words in two units are two goals.
    assert data["goals"] == [
        {"id": "grow-revenue", "unit": "finance", "statement": "Grow revenue"},
        {"id": "grow-revenue-2", "unit": "sales", "statement": "Grow revenue"},
        {"id": "keep-customers", "unit": "marketing", "statement": "Keep customers"},
        {"id": "deliver-on-time", "unit": "unassigned", "statement": "Deliver on time"},
    ]
    assert data["sources"] == [
        {"name": "sap_erp", "system": "SAP ERP"},
        {"name": "crm", "system": "CRM"},
        {"name": "wms", "system": "WMS"},
        {"name": "hris", "system": "HRIS"},
    ]
    assert data["kpis"] == EXPECTED_KPIS
    assert result.notes == EXPECTED_NOTES


def test_semicolon_csv_with_decimal_commas(tmp_path):
    rows = [["Kennzahl", "Verantwortlich", "Zielwert", "Häufigkeit"], ["Umsatzrendite", "CFO", "7,5%", "monatlich"]]
    result = import_file(write_csv(tmp_path / "de.csv", rows, delimiter=";"))
    kpi = result.workspace.kpis[0]
    assert (kpi.name, kpi.owner, kpi.target.value, kpi.cadence.value) == ("Umsatzrendite", "CFO", 0.075, "monthly")


def test_read_table_finds_the_header_below_a_title_and_drops_blank_rows(tmp_path):
    headers, rows = read_table(write_csv(tmp_path / "kpis.csv", SHEET))
    assert headers == HEADERS
    assert [r[1] for r in rows] == [
        "Revenue",
        "Orders",
        "Average order value",
        "Repeat rate",
        "On-time delivery",
        "Revenue",
        "Employee turnover",
        "Customers",
        "Orders per customer",
        "",
    ]
    both = write_csv(tmp_path / "dup.csv", [["KPI", "Target", "Target", ""], ["A", "1", "2", "x"]])
    assert read_table(both) == (["KPI", "Target", "Target (2)", "Column D"], [["A", "1", "2", "x"]])


def make_workbook(path: Path) -> Path:
    workbook = openpyxl.Workbook()
    cover = workbook.active
    cover.title = "About"
    cover["A1"] = "Scorecard 2027 — owned by the strategy office"
    sheet = workbook.create_sheet("KPIs")
    sheet.append(["Indicator", "Owner", "Unit", "Goal", "Frequency", "Direction", "Baseline", "Due", "Department"])
    sheet.append(["Gross margin", "CFO", "%", 0.42, "Quarterly", "Higher is better", 0.38, dt.date(2027, 12, 31)])
    sheet.append([])
    sheet.append(["NPS", "Head of CX", "score", 45, "Q", "↑", 31, dt.datetime(2027, 6, 30), "Service"])
    sheet.append(["Ticket backlog", None, "#", 120.0, "weekly", "lower is better", 180, "2027-03", "Service"])
    sheet.append(["NPS", "CX analyst", "score", "40", "monthly", "up", None, None])
    sheet["G2"].number_format = "0%"  # a percent-formatted cell holds the fraction already
    workbook.save(path)
    return path


def test_xlsx_import_picks_the_kpi_sheet_and_reads_typed_cells(tmp_path):
    result = import_spreadsheet(make_workbook(tmp_path / "scorecard.xlsx"), name="Scorecard 2027")
    data = dump(result)
    assert data["name"] == "Scorecard 2027"
    # "Unit" held units of measure, so the organisational unit came from "Department".
    assert data["units"] == [{"id": "service", "name": "Service"}] and data["goals"] == []
    assert data["kpis"] == [
        {
            "id": "gross_margin",
            "name": "Gross margin",
            "owner": "CFO",
            "unit_of_measure": "percent",
            "direction": "up",
            "cadence": "quarterly",
            "baseline": {"value": 0.38},
            "target": {"value": 0.42, "due": "2027-12-31"},
        },
        {
            "id": "nps",
            "name": "NPS",
            "unit": "service",
            "owner": "Head of CX",
            "unit_of_measure": "score",
            "direction": "up",
            "cadence": "quarterly",
            "baseline": {"value": 31.0},
            "target": {"value": 45.0, "due": "2027-06-30"},
        },
        {
            "id": "ticket_backlog",
            "name": "Ticket backlog",
            "unit": "service",
            "unit_of_measure": "count",
            "direction": "down",
            "cadence": "weekly",
            "baseline": {"value": 180.0},
            "target": {"value": 120.0, "due": "2027-03-31"},
        },
        {
            "id": "nps_2",
            "name": "NPS",
            "owner": "CX analyst",
            "unit_of_measure": "score",
            "direction": "up",
            "cadence": "monthly",
            "target": {"value": 40.0},
        },
    ]
    assert result.notes == [
        "Read sheet 'KPIs', the first one with a column of KPI names.",
        "Column 'Unit' holds units of measure (%, EUR, days …), so it was read as unit_of_measure rather than unit.",
        "Column 'Goal' holds numbers, so it was read as target rather than goal.",
        "On row 2 ('Gross margin') the unit is percent and the numbers have no % sign and none is above 1, so "
        "they were read as fractions already (0.42 is 42 %) (row 2: '0.42' → 0.42).",
        "Unit 'Service' (rows 4, 5): no goal is given, so these KPIs belong to the unit and to no goal.",
        "Row 5 ('Ticket backlog'): due date: the month '2027-03' read as its last day (2027-03-31).",
        "Row 6 ('NPS'): row 4 has a KPI of the same name; this one was imported separately as 'nps_2'.",
    ]


def test_read_table_and_guess_mapping_see_what_the_import_sees(tmp_path):
    headers, rows = read_table(make_workbook(tmp_path / "scorecard.xlsx"))
    assert headers[:4] == ["Indicator", "Owner", "Unit", "Goal"]  # the KPI sheet, not the cover sheet
    assert rows[0][:4] == ["Gross margin", "CFO", "%", "0.42"]
    assert guess_mapping(headers)["unit"] == "Unit"
    # With the cells, the guesses are checked as the import checks them.
    assert guess_mapping(headers, rows) == {
        "name": "Indicator",
        "owner": "Owner",
        "unit": "Department",
        "unit_of_measure": "Unit",
        "direction": "Direction",
        "cadence": "Frequency",
        "baseline": "Baseline",
        "target": "Goal",
        "due": "Due",
    }


def test_mapping_overrides_guesses_and_can_leave_a_column_out(tmp_path):
    path = make_workbook(tmp_path / "scorecard.xlsx")
    result = import_spreadsheet(path, mapping={"baseline": "", "owner": "owner", "unit": "Unit"}, sheet="KPIs")
    first = result.workspace.kpis[0]
    assert (first.target.value, first.baseline, first.owner) == (0.42, None, "CFO")
    assert [u.name for u in result.workspace.units] == ["%", "score", "#"]  # as the mapping says, odd as it is
    assert (
        "Columns 'Baseline', 'Department' matched no field and were not imported (if they hold a field, choose "
        "it in the mapping: in the app, or with --mapping on the command line)." in result.notes
    )
    both = write_csv(tmp_path / "both.csv", [["KPI", "Goal", "Target"], ["Churn", "0.05", "0.04"]])
    churn = import_spreadsheet(both)
    assert churn.workspace.goals == [] and churn.workspace.kpis[0].target.value == 0.04
    assert churn.notes == ["Column 'Goal' holds numbers, so it was not read as goal."]
    unnamed = write_csv(tmp_path / "odd.csv", [["Indicator title", "Person"], ["Churn", "CMO"]])
    with pytest.raises(ImportFailed, match="no column of KPI names"):
        import_spreadsheet(unnamed)
    mapped = import_file(unnamed, mapping={"name": "Indicator title", "owner": "Person"})
    assert [(k.id, k.name, k.owner) for k in mapped.workspace.kpis] == [("churn", "Churn", "CMO")]
    assert mapped.notes == []


def test_bad_mappings_say_which_column_or_field_is_wrong(tmp_path):
    path = write_csv(tmp_path / "kpis.csv", [["KPI", "Owner", "Target"], ["Churn", "CMO", "5%"]])
    with pytest.raises(ImportFailed) as error:
        import_spreadsheet(path, mapping={"owner": "Ownr"})
    assert str(error.value) == (
        "the mapping puts 'owner' in column 'Ownr', but kpis.csv has no such column — did you mean 'Owner'? "
        "Its columns: 'KPI', 'Owner', 'Target'"
    )
    with pytest.raises(ImportFailed, match="unknown field 'ower' — did you mean 'owner'"):
        import_spreadsheet(path, mapping={"ower": "Owner"})


def test_load_mapping_reads_yaml_and_json(tmp_path):
    (tmp_path / "map.yaml").write_text("name: Indicator title\nowner: Person\ngoal:\n", encoding="utf-8")
    assert load_mapping(tmp_path / "map.yaml") == {"name": "Indicator title", "owner": "Person", "goal": ""}
    (tmp_path / "map.json").write_text(json.dumps({"name": "KPI", "target": "Goal value"}), encoding="utf-8")
    assert load_mapping(tmp_path / "map.json") == {"name": "KPI", "target": "Goal value"}
    (tmp_path / "flipped.yaml").write_text("Indicator title: name\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="write 'name: Indicator title' instead"):
        load_mapping(tmp_path / "flipped.yaml")
    (tmp_path / "list.yaml").write_text("- name\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="holds no mapping"):
        load_mapping(tmp_path / "list.yaml")
    with pytest.raises(ImportFailed, match="no such mapping file"):
        load_mapping(tmp_path / "missing.yaml")


def failure(path: Path, **options: Any) -> str:
    """The message :func:`import_file` fails with."""
    with pytest.raises(ImportFailed) as error:
        import_file(path, **options)
    return str(error.value)


def test_failures_name_the_problem_and_the_fix(tmp_path):
    assert failure(tmp_path / "missing.csv") == f"no such file or folder: {tmp_path / 'missing.csv'}"
    with pytest.raises(ImportFailed, match="no such file: "):
        import_spreadsheet(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("\n\n", encoding="utf-8")
    assert failure(tmp_path / "empty.csv") == "empty.csv is empty: put the KPIs one per row below a header row"
    no_name = write_csv(tmp_path / "noname.csv", [["Colour", "Size"], ["red", "L"]])
    assert failure(no_name) == (
        "no column of KPI names found in noname.csv; its columns (header row 1): 'Colour', 'Size'. Choose the "
        "column that holds the KPI names (in the app: the 'KPI name' field of the mapping, or on the command line: "
        '--mapping map.yaml with name: "Colour").'
    )
    assert failure(no_name, sheet="KPIs") == "noname.csv is a CSV file and has no sheets; leave out the sheet"
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    assert failure(tmp_path / "old.xls") == (
        "old.xls: the old Excel format (.xls) cannot be read; save it as .xlsx or CSV and import that"
    )
    (tmp_path / "deck.pdf").write_bytes(b"%PDF")
    assert failure(tmp_path / "deck.pdf").startswith("cannot import 'deck.pdf': give a spreadsheet (.csv, .tsv, .xlsx)")
    (tmp_path / "broken.xlsx").write_text("not a zip", encoding="utf-8")
    assert failure(tmp_path / "broken.xlsx").startswith("broken.xlsx is not a readable .xlsx workbook")
    workbook = make_workbook(tmp_path / "book.xlsx")
    assert failure(workbook, sheet="Sheet9") == "book.xlsx has no sheet 'Sheet9'; its sheets: 'About', 'KPIs'"
    assert failure(workbook, sheet="About").startswith("no column of KPI names found in book.xlsx, sheet 'About'")
    openpyxl.Workbook().save(tmp_path / "blank.xlsx")
    assert failure(tmp_path / "blank.xlsx") == "blank.xlsx is empty: put the KPIs one per row below a header row"
    (tmp_path / "other.yaml").write_text("version: 2\nmodels:\n  - name: orders\n", encoding="utf-8")
    assert failure(tmp_path / "other.yaml") == (
        f"no dbt semantic_models or metrics found in {tmp_path / 'other.yaml'}; "
        "the import reads dbt semantic-layer YAML (semantic_models: and metrics:)"
    )
    (tmp_path / "bad.yml").write_text("metrics:\n  - name: x\n    filter: {{ Dimension('a') }}\n", encoding="utf-8")
    assert failure(tmp_path / "bad.yml").startswith("bad.yml is not valid YAML at line 3")


def test_import_file_loads_a_workspace_as_it_is(tmp_path, small_workspace):
    result = import_file(SAMPLE_WORKSPACE)
    assert result.notes == [] and len(result.workspace.kpis) > 5
    save(small_workspace, tmp_path / "ws.json")
    assert import_file(tmp_path / "ws.json").workspace == small_workspace
    (tmp_path / "broken.yaml").write_text("name: x\nkpis:\n  - {id: A, name: a}\n", encoding="utf-8")
    with pytest.raises(WorkspaceError, match=r"kpis\[0\]\.id"):
        import_file(tmp_path / "broken.yaml")


# --- dbt ----------------------------------------------------------------------------------

DBT_YAML = """
semantic_models:
  - name: orders
    description: One row per order
    model: ref('fct_orders')
    defaults:
      agg_time_dimension: ordered_at
    entities:
      - {name: order, type: primary, expr: order_id}
      - {name: customer, type: foreign, expr: customer_id}
    dimensions:
      - name: ordered_at
        type: time
        type_params: {time_granularity: day}
      - name: shipped_at
        expr: cast(shipped_ts as date)
        type: time
        type_params: {time_granularity: day}
      - {name: channel, type: categorical}
    measures:
      - {name: order_total, agg: sum, expr: amount}
      - {name: order_count, agg: sum, expr: 1}
      - {name: large_orders, agg: sum_boolean, expr: is_large_order}
      - {name: ordering_customers, agg: count_distinct, expr: customer_id}
      - {name: avg_order, agg: average, expr: amount}
      - {name: p90_order, agg: percentile, expr: amount, agg_params: {percentile: 0.9, use_discrete_percentile: true}}
      - {name: shipped_orders, agg: count, expr: order_id, agg_time_dimension: shipped_at}
      - name: open_balance
        agg: sum
        expr: balance
        non_additive_dimension: {name: ordered_at, window_choice: max}
  - name: customers
    model: ref('dim_customers')
    defaults: {agg_time_dimension: first_order_at}
    entities:
      - {name: customer, type: primary, expr: customer_id}
    dimensions:
      - {name: first_order_at, type: time, type_params: {time_granularity: day}}
      - {name: region, type: categorical}
    measures:
      - {name: customer_count, agg: count_distinct, expr: customer_id, create_metric: true}
metrics:
  - name: revenue
    label: Revenue
    description: Sum of order amounts
    type: simple
    type_params: {measure: order_total}
    config: {meta: {owner: CFO}}
  - name: orders
    type: simple
    type_params: {measure: {name: order_count, fill_nulls_with: 0}}
  - name: paid_search_orders
    type: simple
    type_params: {measure: order_count}
    filter: "{{ Dimension('order__channel') }} = 'paid_search'"
  - {name: big_orders, type: simple, type_params: {measure: large_orders}}
  - {name: buyers, type: simple, type_params: {measure: ordering_customers}}
  - {name: average_order, type: simple, type_params: {measure: avg_order}}
  - {name: p90_order_value, type: simple, type_params: {measure: p90_order}}
  - {name: shipped, type: simple, type_params: {measure: shipped_orders}}
  - {name: balance, type: simple, type_params: {measure: open_balance}}
  - name: aov
    label: Average order value
    type: ratio
    type_params: {numerator: revenue, denominator: orders}
  - name: paid_share
    type: ratio
    type_params:
      numerator: {name: orders, filter: "{{ Dimension('order__channel') }} = 'paid_search'"}
      denominator: orders
    filter: "{{ TimeDimension('metric_time', 'month') }} >= '2024-01-01'"
  - name: revenue_per_customer
    type: ratio
    type_params: {numerator: revenue, denominator: customer_count}
  - name: paid_revenue_per_customer
    type: ratio
    type_params:
      numerator: {name: revenue, filter: "{{ Dimension('order__channel') }} = 'paid_search'"}
      denominator: customer_count
  - name: net_per_order
    type: derived
    type_params:
      expr: (rev - 0.1 * rev) / orders
      metrics:
        - {name: revenue, alias: rev}
        - orders
  - name: revenue_growth
    type: derived
    type_params:
      expr: (revenue - revenue_last_week) / revenue_last_week
      metrics:
        - revenue
        - {name: revenue, alias: revenue_last_week, offset_window: 7 days}
  - name: revenue_mtd
    type: cumulative
    type_params:
      measure: order_total
      cumulative_type_params: {grain_to_date: month}
  - name: visit_to_buy
    type: conversion
    type_params:
      conversion_type_params:
        {base_measure: order_count, conversion_measure: ordering_customers, entity: customer, window: 7 days}
  - {name: Revenue-EUR, type: simple, type_params: {measure: order_total}}
  - name: regional_revenue
    type: simple
    type_params: {measure: order_total}
    filter: "{{ Dimension('customer__region') }} = 'EU'"
"""


def simple(kpi_id: str, expression: str, **extra: str) -> dict[str, str]:
    return {"id": kpi_id, "name": kpi_id, "source": "fct_orders", "expression": expression} | {
        "time_column": "ordered_at",
        **extra,
    }


def test_dbt_metrics_of_every_type(tmp_path):
    (tmp_path / "semantic.yml").write_text(DBT_YAML, encoding="utf-8")
    result = import_dbt(tmp_path / "semantic.yml")
    data = dump(result)
    assert data["units"] == [] and data["goals"] == []
    assert data["sources"] == [
        {"name": "fct_orders", "system": "dbt", "description": "One row per order"},
        {"name": "dim_customers", "system": "dbt"},
    ]
    paid = "channel = 'paid_search'"
    assert data["kpis"] == [
        {
            "id": "customer_count",
            "name": "customer_count",
            "source": "dim_customers",
            "expression": "count(DISTINCT customer_id)",
            "time_column": "first_order_at",
        },
        simple("revenue", "sum(amount)", name="Revenue", description="Sum of order amounts", owner="CFO"),
        simple("orders", "sum(1)"),
        simple("paid_search_orders", "sum(1)", filter=paid),
        simple("big_orders", "sum(CAST(is_large_order AS INTEGER))"),
        simple("buyers", "count(DISTINCT customer_id)"),
        simple("average_order", "avg(amount)"),
        simple("p90_order_value", "quantile_disc(amount, 0.9)"),
        simple("shipped", "count(order_id)", time_column="shipped_ts"),
        simple("balance", "sum(balance)", description="dbt: the measure open_balance is non-additive over ordered_at."),
        simple("aov", "sum(amount) / sum(1)", name="Average order value"),
        simple(
            "paid_share",
            f"sum(1) FILTER (WHERE {paid}) / sum(1)",
            filter="date_trunc('month', ordered_at) >= '2024-01-01'",
        ),
        {"id": "revenue_per_customer", "name": "revenue_per_customer", "expression": "revenue / customer_count"},
        simple(
            "paid_revenue_per_customer_numerator",
            "sum(amount)",
            name="paid_revenue_per_customer — numerator",
            description="revenue as used in the numerator of paid_revenue_per_customer (created by the dbt import).",
            filter=paid,
        ),
        {
            "id": "paid_revenue_per_customer",
            "name": "paid_revenue_per_customer",
            "expression": "paid_revenue_per_customer_numerator / customer_count",
        },
        {"id": "net_per_order", "name": "net_per_order", "expression": "(revenue - 0.1 * revenue) / orders"},
        {
            "id": "revenue_growth",
            "name": "revenue_growth",
            "description": "dbt derived metric: expr: (revenue - revenue_last_week) / revenue_last_week, "
            "metrics: [revenue; revenue (alias: revenue_last_week, offset_window: 7 days)]",
        },
        simple(
            "revenue_mtd", "sum(amount)", description="dbt cumulative metric: the month-to-date total of the measure."
        ),
        {
            "id": "visit_to_buy",
            "name": "visit_to_buy",
            "description": "dbt conversion metric: base_measure: order_count, conversion_measure: ordering_customers, "
            "entity: customer, window: 7 days",
        },
        simple("revenue_eur", "sum(amount)", name="Revenue-EUR"),
        {
            "id": "regional_revenue",
            "name": "regional_revenue",
            "description": "dbt simple metric: measure: order_total; "
            "filter: {{ Dimension('customer__region') }} = 'EU'",
        },
    ]
    assert result.notes == [
        "Metric 'orders' (semantic.yml line 49): fill_nulls_with/join_to_timespine are not represented: a period "
        "without rows has no value rather than 0.",
        "Metric 'shipped' (semantic.yml line 60): the time dimension 'shipped_at' is the expression "
        "'cast(shipped_ts as date)'; its column 'shipped_ts' is used.",
        "Metric 'balance' (semantic.yml line 61): measure 'open_balance' is non-additive over 'ordered_at' (a "
        "balance-like value taken at one point in time); imported as a plain sum, which adds it up over the period "
        "— check the figures.",
        "Metric 'revenue_per_customer' (semantic.yml line 72): numerator and denominator come from different "
        "semantic models (orders, customers); imported as the derived KPI revenue / customer_count.",
        "Metric 'paid_revenue_per_customer' (semantic.yml line 75): numerator and denominator come from different "
        "semantic models (orders, customers); imported as the derived KPI paid_revenue_per_customer_numerator / "
        "customer_count (the helper KPI paid_revenue_per_customer_numerator holds the filtered side).",
        "Metric 'revenue_growth' (semantic.yml line 87): the input 'revenue' is offset by 7 days, which is not "
        "supported; imported without an expression.",
        "Metric 'revenue_mtd' (semantic.yml line 94): cumulative metric: the month-to-date total is not "
        "represented; imported as the plain measure per period.",
        "Metric 'visit_to_buy' (semantic.yml line 99): conversion metrics (the share of base-measure entities that "
        "reach the conversion measure within a window) cannot be one aggregate over one table; imported with the "
        "definition in its description and no expression.",
        "Metric 'Revenue-EUR' (semantic.yml line 104): the name is not a valid KPI id, so the KPI's id is "
        "'revenue_eur'.",
        "Metric 'regional_revenue' (semantic.yml line 105): 'customer__region' is a dimension of the model behind "
        "entity 'customer', not of semantic model 'orders' (dbt joins it in); imported without an expression.",
    ]


def test_dbt_folder_is_read_recursively_and_skips_installed_packages(tmp_path):
    (tmp_path / "models" / "marts").mkdir(parents=True)
    (tmp_path / "dbt_packages" / "pkg").mkdir(parents=True)
    head, tail = DBT_YAML.split("metrics:\n", 1)
    (tmp_path / "models" / "marts" / "semantic.yml").write_text(head, encoding="utf-8")
    (tmp_path / "models" / "metrics.yaml").write_text("metrics:\n" + tail, encoding="utf-8")
    (tmp_path / "dbt_project.yml").write_text("name: shop\nversion: '1.0'\n", encoding="utf-8")
    (tmp_path / "dbt_packages" / "pkg" / "m.yml").write_text("metrics:\n  - {name: alien}\n", encoding="utf-8")
    (tmp_path / "models" / "broken.yml").write_text("models:\n  - name: x\n   bad: indent\n", encoding="utf-8")
    result = import_file(tmp_path)
    ids = [k.id for k in result.workspace.kpis]
    assert "alien" not in ids and ids[:2] == ["customer_count", "revenue"] and len(ids) == 21
    assert result.workspace.kpi("aov").expression == "sum(amount) / sum(1)"
    # One broken file in a project is skipped with a note; the metrics elsewhere still import.
    assert result.notes[0].startswith("models/broken.yml is not valid YAML at line 3: ")
    assert result.notes[0].endswith("; the file was skipped.")
    assert result.notes[1].startswith("Metric 'orders' (models/metrics.yaml line 8):")


# --- the real Olist dbt project -----------------------------------------------------------

needs_olist = pytest.mark.skipif(
    not (OLIST / "dbt").is_dir(), reason=f"real public data absent: {OLIST} (see ../shared/external/README)"
)


@needs_olist
def test_olist_dbt_metrics_import_and_compute_on_the_real_data():
    result = import_file(OLIST / "dbt")
    workspace = result.workspace
    assert [s.name for s in workspace.sources] == ["olist_closed_deals", "olist_marketing_qualified_leads"]
    assert [k.id for k in workspace.kpis] == [
        "sellers",  # from the measure's create_metric: true
        "mql_to_seller_conversion_rate_base",
        "mql_to_seller_conversion_rate_7_day_window",
        "mql_to_seller_conversion_rate_7_day_window_with_filter",
        "mql_to_seller_conversion_rate_1_week_window",
        "conversion_rate_wow",
        "mqls",
    ]
    assert workspace.kpi("mqls").expression == "count(DISTINCT mql_id)"
    assert workspace.kpi("mqls").time_column == "first_contact_date"
    assert workspace.kpi("sellers").time_column == "won_date"
    assert workspace.kpi("conversion_rate_wow").expression == "mql_to_seller_conversion_rate_base"
    assert sum("conversion metrics" in note for note in result.notes) == 4
    assert any("fill_nulls_with" in note and "'mqls'" in note for note in result.notes)
    assert all(k.goal is None for k in workspace.kpis)

    connection = duckdb.connect()
    for table, file in (
        ("olist_closed_deals", "olist_closed_deals_dataset.csv"),
        ("olist_marketing_qualified_leads", "olist_marketing_qualified_leads_dataset.csv"),
    ):
        connection.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv('{OLIST / file}')")
    computable = [k.id for k in workspace.kpis if k.source and k.expression]
    assert computable == ["sellers", "mqls"]
    with Engine(connection, timeout_s=20) as engine:
        for kpi_id in computable:
            points = engine.compute(workspace, kpi_id).points
            assert len(points) >= 10, kpi_id
            assert all(p.value is not None and p.value > 0 for p in points), kpi_id
        total_mqls = sum(p.value for p in engine.compute(workspace, "mqls").points)
    assert total_mqls == 8000  # every lead counted once, in the month of its first contact


def test_capital_m_and_b_are_millions_and_billions_whatever_the_unit():
    from kpi_model.importers.values import read_amount

    assert read_amount("1.2M").value == 1_200_000
    assert read_amount("2B").value == 2_000_000_000
    assert read_amount("1.5m").value == 1.5, "lower-case m may be minutes or months outside money"
    assert read_amount("1.5m", money=True).value == 1_500_000


def test_a_zip_bomb_register_is_refused_before_openpyxl_unpacks_it(tmp_path):
    from kpi_model.importers import ImportFailed, read_table

    from .hostile_files import xlsx_bomb

    bomb = xlsx_bomb(tmp_path / "register.xlsx", unpacked_mb=60)
    with pytest.raises(ImportFailed, match=r"packed \d+ : 1 .*that is how zip bombs look.*export the sheet"):
        read_table(bomb)


# --- registers as people write them: groups written once per block, RAG columns ----------------

REGISTER_HEADERS = ["Department", "Objective", "Perspective", "KPI", "Owner", "Target", "Red if", "Amber if"]
# Department, Objective and Perspective are written on the first row of each block only.
REGISTER_ROWS = [
    ["Sales", "Grow recurring revenue", "Financial", "Net new ARR", "CRO", "€ 500k", "< 400k", "< 450k"],
    ["", "", "", "Win rate", "Head of Sales", "30%", "< 20%", "< 25%"],
    ["", "", "", "Average deal size", "", "€ 20k", "< 15k", "< 18k"],
    ["", "Keep customers", "Customer", "Gross revenue retention", "Head of CS", "95%", "< 90%", "< 93%"],
    ["Operations", "Deliver on time", "Internal process", "On-time delivery", "COO", "98%", "< 90%", "< 95%"],
    ["", "", "", "Order cycle time", "Logistics lead", "≤ 3 days", "> 5", "> 4"],
    ["", "", "", "Scrap rate", "Plant manager", "≤ 2%", "> 4%", "> 3%"],
]
REGISTER_PLACES = {
    "net_new_arr": ("sales", "grow-recurring-revenue", "financial"),
    "win_rate": ("sales", "grow-recurring-revenue", "financial"),
    "average_deal_size": ("sales", "grow-recurring-revenue", "financial"),
    "gross_revenue_retention": ("sales", "keep-customers", "customer"),
    "on_time_delivery": ("operations", "deliver-on-time", "process"),
    "order_cycle_time": ("operations", "deliver-on-time", "process"),
    "scrap_rate": ("operations", "deliver-on-time", "process"),
}
# The header is sheet row 3 (a title and a blank row above it), so the KPIs are rows 4 to 10.
REGISTER_FILL_NOTES = [
    "Column 'Department' was blank on 5 rows (5, 6, 7, 9, 10): each was read as the value above it "
    "(filled down), as a register writes a group once per block.",
    "Column 'Objective' was blank on 4 rows (5, 6, 9, 10): each was read as the value above it "
    "(filled down), as a register writes a group once per block.",
    "Column 'Perspective' was blank on 4 rows (5, 6, 9, 10): each was read as the value above it "
    "(filled down), as a register writes a group once per block.",
]


def check_register(result) -> None:
    workspace = result.workspace
    goals = {g.id: g for g in workspace.goals}
    places = {k.id: (goals[k.goal].unit, k.goal, k.category.value if k.category else None) for k in workspace.kpis}
    assert places == REGISTER_PLACES
    assert {u.id: u.name for u in workspace.units} == {"sales": "Sales", "operations": "Operations"}
    kpis = {k.id: k for k in workspace.kpis}
    assert (kpis["win_rate"].thresholds.critical, kpis["win_rate"].thresholds.warning) == (0.2, 0.25)
    assert (kpis["on_time_delivery"].thresholds.critical, kpis["on_time_delivery"].thresholds.warning) == (0.9, 0.95)
    assert (kpis["order_cycle_time"].thresholds.critical, kpis["order_cycle_time"].thresholds.warning) == (5, 4)
    assert kpis["net_new_arr"].thresholds.critical == 400_000
    # Per-KPI fields are never filled down: a blank owner stays blank.
    assert kpis["average_deal_size"].owner is None and kpis["win_rate"].owner == "Head of Sales"
    for note in REGISTER_FILL_NOTES:
        assert note in result.notes
    assert not any("no goal" in n or "no unit" in n for n in result.notes)
    from kpi_model.checks import audit

    orphans = [f.object.id for f in audit(workspace).findings if f.slug == "orphan-kpi"]
    assert orphans == []


@pytest.mark.parametrize("merged", [False, True], ids=["blank-cells", "merged-cells"])
def test_xlsx_register_with_groups_written_once_per_block(tmp_path, merged):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Register"
    sheet.append(["KPI register 2027 — Sales and Operations"])
    sheet.append([])
    sheet.append(REGISTER_HEADERS)
    for values in REGISTER_ROWS:
        sheet.append([v or None for v in values])
    if merged:  # the group cells of each block merged, as Excel users do; openpyxl empties all but the first
        for span in ("A4:A7", "B4:B6", "C4:C6", "A8:A10", "B8:B10", "C8:C10"):
            sheet.merge_cells(span)
    path = tmp_path / "register.xlsx"
    workbook.save(path)
    result = import_spreadsheet(path)
    dump(result)  # the import validates
    check_register(result)


def test_csv_register_with_blank_group_cells(tmp_path):
    rows = [["KPI register 2027"], [], REGISTER_HEADERS, *REGISTER_ROWS]
    result = import_spreadsheet(write_csv(tmp_path / "register.csv", rows))
    check_register(result)


def test_a_new_unit_does_not_inherit_the_goal_of_the_unit_above(tmp_path):
    rows = [
        ["Department", "Objective", "KPI", "Owner"],
        ["Sales", "Grow revenue", "Revenue", "CRO"],
        ["", "", "Win rate", "CRO"],
        ["Finance", "", "Days sales outstanding", "CFO"],
        ["", "", "Cash conversion", "CFO"],
    ]
    data = dump(import_spreadsheet(write_csv(tmp_path / "kpis.csv", rows)))
    assert [(k["id"], k.get("goal")) for k in data["kpis"]] == [
        ("revenue", "grow-revenue"),
        ("win_rate", "grow-revenue"),
        ("days_sales_outstanding", None),
        ("cash_conversion", None),
    ]
    # The same when the department is written on every row and only the objective once per block.
    rows = [
        ["Department", "Objective", "KPI"],
        ["Sales", "Grow revenue", "Revenue"],
        ["Sales", "", "Win rate"],
        ["Sales", "", "Orders"],
        ["Finance", "", "Days sales outstanding"],
    ]
    data = dump(import_spreadsheet(write_csv(tmp_path / "every-row.csv", rows)))
    assert [k.get("goal") for k in data["kpis"]] == ["grow-revenue", "grow-revenue", "grow-revenue", None]


def test_rag_columns_are_thresholds():
    mapping = guess_mapping(["KPI", "Target", "Red if", "Amber if", "Green if"])
    assert (mapping["critical"], mapping["warning"], mapping["target"]) == ("Red if", "Amber if", "Target")
    # Without a target column, the green line is where the KPI is on target.
    mapping = guess_mapping(["KPI", "Red if", "Amber if", "Green if"])
    assert (mapping["critical"], mapping["warning"], mapping["target"]) == ("Red if", "Amber if", "Green if")
    mapping = guess_mapping(["KPI", "Red threshold", "Warning", "Yellow if"])
    assert (mapping["critical"], mapping["warning"]) == ("Red threshold", "Warning")
    mapping = guess_mapping(["KPI", "Critical", "Amber"])
    assert (mapping["critical"], mapping["warning"]) == ("Critical", "Amber")


def test_a_group_column_written_on_every_row_is_not_filled_down(tmp_path):
    rows = [
        ["Department", "Objective", "KPI"],
        ["Sales", "Grow revenue", "Revenue"],
        ["Sales", "Grow revenue", "Win rate"],
        ["Sales", "Grow revenue", "Orders"],
        ["", "", "Newsletter opens"],  # a KPI nobody placed: left unplaced, not put in the block above
    ]
    result = import_spreadsheet(write_csv(tmp_path / "kpis.csv", rows))
    assert [(k.id, k.goal) for k in result.workspace.kpis][-1] == ("newsletter_opens", None)
    assert not any("filled down" in n for n in result.notes)

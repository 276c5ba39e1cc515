"""Write the four hand-typed KPI registers of the register corpus.

Every row below is the register as a person typed it (inconsistent spacing, placeholders,
text numbers next to real numbers).  Nothing here is derived from the answer keys
(*.key.yaml); the keys were written first and by hand.

Run:  .venv/bin/python tests/register_corpus/build_registers.py
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

HERE = Path(__file__).resolve().parent
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")


def _fixed_props(wb: Workbook) -> None:
    # deterministic output (openpyxl otherwise stamps "now")
    stamp = dt.datetime(2026, 11, 14, 9, 30)
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.creator = "Controlling"
    wb.properties.lastModifiedBy = "Controlling"


def _save(wb: Workbook, out: Path) -> None:
    """Save with fixed zip timestamps so a rebuild gives the same bytes."""
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=(2026, 11, 14, 9, 30, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(item.filename)
            if item.filename == "docProps/core.xml":  # openpyxl stamps "modified" with now
                data = re.sub(rb"<dcterms:modified([^>]*)>[^<]*<", rb"<dcterms:modified\1>2026-11-14T09:30:00Z<", data)
            dst.writestr(info, data)


# ---------------------------------------------------------------------------
# 1. northwind_finance.xlsx
# ---------------------------------------------------------------------------
P = "PCT"  # marker: the cell is a real number formatted as percent

NW_HEADER = ["Department", "Objective", "KPI", "Definition / formula", "Owner",
             "Baseline FY2026", "Target FY2027", "Target date", "Amber if", "Red if",
             "Frequency", "Data source", "Action if red"]

# (dept, objective, kpi, definition, owner, baseline, target, date, amber, red, freq, source, action)
NW_ROWS = [
    ("Finance", "Improve profitability", "EBIT margin", "EBIT / Net sales", "CFO",
     (P, 0.071, "0.0%"), (P, 0.08, "0%"), None, "< 7.5%", "< 6.5%", "monthly", "SAP FI/CO",
     "Cost review with plant managers"),
    (None, None, "Gross margin", "(Net sales - COGS) / Net sales", "Head of Controlling",
     (P, 0.31, "0%"), (P, 0.33, "0%"), "", "< 32%", "< 30%", "Monthly", "SAP CO-PA",
     "Price / mix analysis, escalate to CFO"),
    (None, None, "Net sales growth", "Net sales / prior-year net sales - 1", "CFO",
     "4.2%", "6%", None, "< 5%", "< 3%", "quarterly", "SAP FI", "Re-forecast, sales push on key accounts"),
    (None, None, "Average order value", "Net sales / number of customer orders", "Head of Sales Controlling",
     "€ 1,720", "€ 1,850", None, "< € 1,700", "< € 1,900", "monthly", "SAP SD",
     "Review minimum order quantities"),
    ("Finance", "Improve cash conversion", "Days sales outstanding (DSO)",
     "Open receivables / revenue × 365", "M. Keller (Credit Management)",
     "52 days", "45 days", "31.12.2027", "> 48 days", "> 55 days", "monthly", "SAP FI-AR",
     "Dunning run, credit stop for > 90 days"),
    (None, None, "Receivables overdue > 90 days", "Receivables overdue more than 90 days / total open receivables",
     "M. Keller (Credit Management)", (P, 0.061, "0.0%"), (P, 0.03, "0%"), "30.06.2027", "> 4%", "> 6%",
     "monthly", "SAP FI-AR", "Collection call list to sales reps"),
    (None, None, "Inventory days", "Inventory / COGS × 365", "Head of Controlling",
     62, 68, None, "> 70 days", "> 75 days", "monthly", "SAP MM / SAP CO", "Slow-mover review"),
    (None, None, "Invoice dispute rate", "Disputed invoices / invoices issued", "Head of Accounting",
     "3.4%", "2%", "", "> 2.5%", "> 4%", "monthly", "SAP FSCM Dispute Mgmt", "Root-cause top 5 dispute reasons"),
    ("Sales", "Grow share of wallet with key accounts", "Key-account revenue growth",
     "Revenue with top-40 accounts / prior year - 1", "Head of Key Account Management",
     "3.5%", "7%", None, "< 5%", "< 2%", "quarterly", "SAP SD + Salesforce", "Account plan review"),
    (None, None, "Quote win rate", "Won quotes / quotes issued", "TBD",
     (P, 0.27, "0%"), (P, 0.32, "0%"), None, "< 30%", "< 25%", "monthly", "Salesforce", "Lost-quote analysis"),
    (None, None, "Share of volume sold on promotion", "Units sold with promotional discount / units sold",
     "Head of Sales", "18%", "30%", None, "< 25%", "< 20%", "monthly", "SAP SD", "Launch next promotion wave"),
    (None, None, "DSO (customer payments)", "Open receivables / revenue × 365", "Head of Sales",
     "52", "45", None, "> 48", "> 55", "Monthly", "SAP FI-AR", "Sales reps chase overdue customers"),
    (None, None, "Customer meetings held", "Number of customer visits and calls logged", "Head of Sales",
     410, 500, None, "< 450", "< 400", "monthly", "Salesforce", "Remind reps to log visits"),
    ("Production", "Deliver on time at lower scrap", "Scrap rate (%)", "Scrapped units / units produced",
     "Head of Production", (P, 0.028, "0.0%"), (P, 0.02, "0.0%"), None, "> 2.3%", "> 3%", "weekly", "MES (Plant 1+2)",
     "8D on top scrap causes"),
    (None, None, "OEE", "Availability × performance × quality", "Plant Manager",
     "68%", "75%", None, "< 72%", "< 65%", "weekly", "MES", "Loss-tree review on shift meeting"),
    (None, None, "On-time delivery", "Order lines delivered on/before confirmed date / order lines delivered",
     "Production Planning Lead", "91%", "≥ 95%", None, "< 93%", "< 90%", "", "SAP SD",
     "Re-plan bottleneck capacity"),
    (None, None, "Unplanned downtime rate", "Unplanned stop time / planned production time",
     "Maintenance Manager", "6%", "4%", None, "> 5%", "> 7%", "weekly", "n/a", "Preventive maintenance plan"),
    ("Procurement", "Reduce material cost", "Purchase price reduction vs. prior year",
     "(Prior-year price - current price) × volume / prior-year spend", "Head of Procurement",
     "1.5%", "3%", None, "< 2%", "< 1%", "quarterly", "SAP MM", "Re-tender top 20 parts"),
    (None, None, "Supplier on-time delivery", "Deliveries received on confirmed date / deliveries received",
     "Head of Procurement", (P, 0.87, "0%"), (P, 0.95, "0%"), None, "< 92%", "< 88%", "monthly", "SAP MM",
     "Supplier escalation meeting"),
    (None, None, "Spend under framework contract", "Spend under framework contracts / total spend",
     "Strategic Buyer, J. Brandt", "55%", "70%", "30.06.2026", "< 65%", "< 60%", "quarterly", "SAP Ariba",
     "Convert spot buys to contracts"),
    ("Quality", "Zero defects at the customer", "Customer complaint rate",
     "Complaints / delivered parts × 1,000,000 (ppm)", "Quality Manager",
     "420 ppm", "250 ppm", None, "> 300 ppm", "> 400 ppm", "monthly", "CAQ (Babtec)", "8D, containment at customer"),
    (None, None, "Incoming material defect rate", "Rejected incoming parts / received parts × 1,000,000",
     "Quality Manager", "900 ppm", "500 ppm", None, "> 650 ppm", "> 800 ppm", "monthly", "CAQ (Babtec)",
     "Supplier development, 100% incoming check"),
    (None, None, "Scrap %", "Scrap quantity / production quantity", "Quality Manager",
     "2.8 %", "2 %", None, "> 2.5 %", "> 3 %", "monthly", "MES", "Quality circle"),
    (None, None, "Open 8D reports > 30 days", "Number of 8D complaint reports open longer than 30 days",
     "Quality Manager", 9, 0, None, "> 2", "> 5", "weekly", "CAQ (Babtec)", "Escalate to plant manager"),
    ("HR", "Keep skilled staff", "Voluntary turnover rate",
     "Voluntary leavers / average headcount (rolling 12 months)", "Head of HR",
     "9.4%", "7%", None, "> 8%", "> 10%", "quarterly", "Workday", "Stay interviews in hot-spot teams"),
    (None, None, "Training hours per employee", "Training hours / average headcount", "CFO",
     "14 h", "24 h", None, "< 20 h", "< 16 h", "quarterly", "Workday Learning", "Training plan review"),
    ("Marketing", "-", "LinkedIn followers", "Followers of the Northwind company page", "Marketing Manager",
     "8,400", "12,000", None, "< 10,000", "< 9,000", "monthly", "LinkedIn Analytics", "Post more often"),
    (None, None, "Website page views", "Page views on northwind.de", "Marketing Manager",
     "48,000", "60,000", None, "< 55,000", "< 50,000", "monthly", "Google Analytics", "More blog articles"),
]

# blocks merged with real merged cells (first row index in NW_ROWS, length)
NW_MERGED_BLOCKS = [(0, 4), (8, 5), (13, 4), (20, 4), (26, 2)]


def build_northwind() -> Path:
    wb = Workbook()
    log = wb.active
    log.title = "Change log"
    log.append(["Date", "Who", "Change"])
    for c in log[1]:
        c.font = BOLD
    log.append([dt.date(2026, 9, 2), "S. Roth", "First draft FY2027 register from budget workshop"])
    log.append([dt.date(2026, 10, 7), "M. Keller", "DSO target changed 47 -> 45 days"])
    log.append([dt.date(2026, 11, 14), "S. Roth", "Added Marketing KPIs on request of MD; Quality block reworked"])
    log["A2"].number_format = log["A3"].number_format = log["A4"].number_format = "DD.MM.YYYY"
    log.column_dimensions["C"].width = 70

    ws = wb.create_sheet("KPIs")
    ws["A1"] = "Northwind GmbH — KPI register FY2027"
    ws["A1"].font = TITLE
    ws["A2"] = ("Owner: Controlling, last updated 14.11.2026 — targets are FY2027 targets "
                "(due 31.12.2027) unless a target date is given")
    ws.append([])  # row 3 blank
    ws.append(NW_HEADER)  # row 4
    for c in ws[4]:
        c.font = BOLD
        c.fill = HEAD_FILL
        c.alignment = Alignment(wrap_text=True, vertical="top")
    first = 5
    for i, row in enumerate(NW_ROWS):
        r = first + i
        for j, val in enumerate(row):
            cell = ws.cell(row=r, column=j + 1)
            if isinstance(val, tuple) and val[0] == P:
                cell.value = val[1]
                cell.number_format = val[2]
            elif val is None or val == "":
                continue
            else:
                cell.value = val
    for start, length in NW_MERGED_BLOCKS:
        r0, r1 = first + start, first + start + length - 1
        ws.merge_cells(start_row=r0, end_row=r1, start_column=1, end_column=1)
        ws.merge_cells(start_row=r0, end_row=r1, start_column=2, end_column=2)
        ws.cell(row=r0, column=1).alignment = Alignment(vertical="top")
        ws.cell(row=r0, column=2).alignment = Alignment(vertical="top", wrap_text=True)
    last = first + len(NW_ROWS) - 1
    ws.cell(row=last + 2, column=1,
            value="* Targets agreed in budget meeting 22.10.2026. PPV = purchase price variance. ppm = parts per million.")
    for col, w in zip("ABCDEFGHIJKLM", (13, 26, 34, 48, 28, 14, 14, 12, 12, 12, 11, 22, 36)):
        ws.column_dimensions[col].width = w
    ws.freeze_panes = "D5"
    _fixed_props(wb)
    out = HERE / "northwind_finance.xlsx"
    _save(wb, out)
    return out


# ---------------------------------------------------------------------------
# 2. stadtwerke_kennzahlen.csv  (UTF-8 with BOM, ';', CRLF)
# ---------------------------------------------------------------------------
SW_LINES = [
    ["Stadtwerke Talbach GmbH – Kennzahlenregister 2027 (Stand 10.11.2026)"],
    ["Bereich", "Ziel", "Kennzahl", "Definition", "Verantwortlich", "Ausgangswert 2026", "Zielwert",
     "Frist", "Gelb bei", "Rot bei", "Turnus", "Datenquelle", "Maßnahme bei Rot"],
    ["Netz", "Versorgungssicherheit erhöhen", "SAIDI Strom",
     "Ausfallminuten je Letztverbraucher und Jahr (Strom, ungeplant)", "Leitung Netzbetrieb",
     "14,2 min", "12 min", "31.12.2027", "> 13 min", "> 15 min", "monatlich",
     "Netzleitsystem / Störungsdatenbank", "Ursachenanalyse, Kabelerneuerung priorisieren"],
    ["", "", "Wasserverluste (%)", "Nicht abgerechnete Wassermenge / eingespeiste Wassermenge",
     "Leitung Wassernetz", "9,8 %", "8,0 %", "31.12.2027", "> 8,5 %", "> 10 %", "quartalsweise",
     "SAP IS-U / Zählerdaten", "Lecksuche in Zonen mit höchstem Nachtverbrauch"],
    ["", "", "Störungsbehebung innerhalb 4 h", "Anteil der Störungen, die binnen 4 Stunden behoben sind",
     "Leitung Netzbetrieb", "87 %", "92 %", "31.12.2027", "< 90 %", "< 85 %", "monatlich",
     "Störungsdatenbank", "Bereitschaftsplan anpassen"],
    ["", "", "Wasserverlustrate", "Wasserverluste in % der Netzeinspeisung", "Leitung Wassernetz",
     "9,8%", "8%", "31.12.2027", ">8,5%", ">10%", "quartalsweise", "SAP IS-U", "Lecksuche"],
    ["", "", "Anzahl Netzbesprechungen", "Anzahl durchgeführter Abstimmungstermine Netzplanung",
     "Leitung Netzbetrieb", "36", "48", "31.12.2027", "< 44", "< 40", "monatlich", "Outlook-Kalender", "–"],
    [""] * 13,
    ["", "Netz wirtschaftlich betreiben", "Instandhaltungskosten je km Leitung",
     "Instandhaltungsaufwand / Leitungslänge in km", "Leitung Asset Management",
     "1.850 €", "1.700 €", "31.12.2027", "> 1.780 €", "> 1.900 €", "quartalsweise", "SAP PM / SAP CO",
     "Instandhaltungsstrategie überprüfen"],
    ["", "", "Anteil geplanter Instandhaltung", "Geplante IH-Aufträge / alle IH-Aufträge",
     "Leitung Asset Management", "62 %", "75 %", "31.12.2027", "< 70 %", "< 60 %", "monatlich", "SAP PM",
     "Wartungspläne nachziehen"],
    ["", "", "Zählerablesequote", "Abgelesene Zähler / abzulesende Zähler", "Leitung Messstellenbetrieb",
     "96,5 %", "99 %", "31.12.2027", "< 98 %", "< 96 %", "monatlich", "", "Nachablesung beauftragen"],
    ["", "", "Bearbeitungszeit Hausanschlussanträge", "Kalendertage von vollständigem Antrag bis Angebot",
     "Leitung Netzanschluss", "14 Tage", "10 Tage", "30.06.2027", "> 8 Tage", "> 12 Tage", "monatlich",
     "SAP IS-U / Workflow", "Rückstau abarbeiten, Springer einsetzen"],
    [""] * 13,
    ["", "Arbeitssicherheit verbessern", "Unfallquote (LTIFR)",
     "Unfälle mit mind. 1 Ausfalltag je 1 Mio. Arbeitsstunden", "Sicherheitsingenieur Netz, K. Wolf",
     "6,1", "4,0", "31.12.2027", "> 4,5", "> 6,0", "monatlich", "Quentic (Unfallmeldungen)",
     "Unfallanalyse mit Teamleitung"],
    ["", "", "Offene Sicherheitsmängel", "Anzahl offener Mängel aus Begehungen, älter als 14 Tage",
     "Leitung Netzbetrieb", "23", "0", "30.06.2027", "> 5", "> 10", "wöchentlich", "Quentic",
     "Mängel priorisieren, Fremdfirma beauftragen"],
    ["", "", "Unterweisungsquote", "Mitarbeitende mit gültiger Sicherheitsunterweisung / Mitarbeitende Netz",
     "Leitung Netzbetrieb", "91 %", "100 %", "31.12.2027", "< 98 %", "< 95 %", "monatlich",
     "SAP HCM / Schulungsdatenbank", "Nachschulung ansetzen"],
    ["", "", "Sicherheitsbegehungen gemäß Plan", "Durchgeführte / geplante Begehungen", "-",
     "78 %", "95 %", "31.12.2027", "< 90 %", "< 80 %", "quartalsweise", "Quentic", "Begehungsplan neu terminieren"],
    [""] * 13,
    ["Vertrieb", "Kunden halten und gewinnen", "Kündigungsquote Privatkunden",
     "Kündigungen / Privatkunden (rollierend 12 Monate)", "Leitung Vertrieb", "11,4 %", "9,5 %",
     "31.12.2027", "> 10,5 %", "> 12 %", "monatlich", "SAP IS-U", "Rückgewinnungsangebot, Kündigergründe auswerten"],
    ["", "", "Abschlussquote Online-Tarifrechner", "Vertragsabschlüsse / Tarifrechner-Aufrufe mit Ergebnis",
     "Leitung Vertrieb", "3,1 %", "4,0 %", "31.12.2027", "< 3,5 %", "< 3,0 %", "monatlich",
     "Matomo + CRM", "Strecke A/B-testen"],
    ["", "", "Ökostromanteil Privatkunden", "Kunden mit Ökostromtarif / Privatkunden Strom",
     "Produktmanagerin S. Yilmaz", "34 %", "45 %", "laufend", "< 40 %", "< 35 %", "quartalsweise",
     "SAP IS-U", "Tarifwechsel-Aktion"],
    ["", "", "Follower Social Media", "Summe Follower Instagram, Facebook, LinkedIn", "Leitung Vertrieb",
     "5.200", "8.000", "31.12.2027", "< 7.000", "< 6.000", "monatlich", "Meta Business Suite",
     "Mehr Beiträge posten"],
    [""] * 13,
    ["Kundenservice", "Service spürbar verbessern", "Erreichbarkeit Hotline",
     "Anrufe angenommen innerhalb 20 s / eingehende Anrufe", "Leitung Kundenservice",
     "71 %", "80 %", "31.12.2027", "< 78 %", "< 70 %", "wöchentlich", "Telefonanlage (Genesys)",
     "Personaleinsatzplanung anpassen"],
    ["", "", "Beschwerdequote", "Beschwerden je 1.000 Kunden", "Leitung Kundenservice",
     "4,8", "3,5", "31.12.2027", "> 4,0", "> 5,0", "monatlich", "CRM (SAP C4C)", "Top-Beschwerdegründe abstellen"],
    ["", "", "Kundenzufriedenheit", "Bewertung aus der jährlichen Kundenbefragung", "Leitung Kundenservice",
     "gut", "sehr gut", "31.12.2027", "befriedigend", "ausreichend", "jährlich", "Kundenbefragung (Institut)",
     "Maßnahmenworkshop"],
    ["", "", "Bearbeitungszeit Rechnungsreklamationen", "Ø Kalendertage von Eingang bis Abschluss",
     "Teamleitung Abrechnung", "12 Tage", "7 Tage", "31.12.2027", "> 9 Tage", "> 14 Tage", "",
     "SAP IS-U", "Rückstände abbauen"],
    [""] * 13,
    ["Finanzen", "Ergebnis nachhaltig sichern", "EBITDA-Marge", "EBITDA / Umsatzerlöse", "Kaufmännische Leitung",
     "11,2 %", "12,5 %", "31.12.2027", "< 12,0 %", "< 10,5 %", "quartalsweise", "SAP FI/CO",
     "Kostensenkungsprogramm"],
    ["", "", "Forderungsreichweite (Tage)", "Forderungen aus Lieferungen und Leistungen / Umsatz × 365",
     "Leitung Forderungsmanagement", "38", "32", "31.12.2027", "> 35", "> 40", "monatlich", "SAP FI-CA",
     "Mahnlauf, Ratenzahlungen prüfen"],
    ["", "", "Eigenkapitalquote", "Eigenkapital / Bilanzsumme", "Kaufmännische Leitung",
     "28,4 %", "offen", "", "< 27 %", "< 25 %", "jährlich", "SAP FI (Jahresabschluss)", "Gespräch mit Gesellschafter"],
    [""] * 13,
    ["Personal", "Fachkräfte gewinnen und halten", "Fluktuationsquote", "Eigenkündigungen / Ø Mitarbeitende",
     "Leitung Personal", "6,8 %", "5,5 %", "31.12.2027", "> 6,0 %", "> 7,5 %", "quartalsweise", "SAP HCM",
     "Bindungsgespräche"],
    ["", "", "Besetzungsdauer offene Stellen", "Kalendertage von Ausschreibung bis Vertragsunterschrift",
     "Leitung Personal", "95 Tage", "110 Tage", "31.12.2027", "> 120 Tage", "> 140 Tage", "monatlich",
     "SAP SuccessFactors Recruiting", "Personaldienstleister einbinden"],
    ["", "", "Ausbildungsquote", "Auszubildende / Mitarbeitende", "Ausbildungsleiter T. Berger",
     "5,2 %", "6,5 %", "31.12.2027", "< 6,0 %", "< 5,0 %", "jährlich", "SAP HCM", "Ausbildungsmesse, Praktika"],
    [""] * 13,
    ["Kommunikation", "", "Pressemitteilungen veröffentlicht", "Anzahl veröffentlichter Pressemitteilungen",
     "Pressesprecherin", "41", "50", "31.12.2027", "< 45", "< 40", "quartalsweise", "Pressearchiv", ""],
]


def build_stadtwerke() -> Path:
    out = HERE / "stadtwerke_kennzahlen.csv"
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, delimiter=";", lineterminator="\r\n")
        for line in SW_LINES:
            w.writerow(line)
    return out


# ---------------------------------------------------------------------------
# 3. bsc_scorecard.xlsx  (two-row header)
# ---------------------------------------------------------------------------
D = dt.date
# (persp, objective, measure, definition, owner, dept, type, polarity, baseline, target, by,
#  red, amber, frequency, source, initiative, last review)
BSC_ROWS = [
    ("Financial", "Grow recurring revenue", "ARR growth", "ARR at period end / ARR same period last year - 1",
     "CRO", "Sales", "Lagging", "↑ Higher", (P, 0.18, "0%"), (P, 0.25, "0%"), "Q4 2027", "<15%", "<20%",
     "Monthly", "Salesforce + ChartMogul", "Pipeline review with CRO", D(2026, 11, 2)),
    (None, None, "Pipeline coverage", "Open qualified pipeline / next-quarter new-ARR quota", "VP Sales", "Sales",
     "Leading", "↑ Higher", "2.6x", "3.0x", "Q4 2027", "<2.0x", "<2.5x", "Weekly", "Salesforce",
     "SDR outbound sprint", D(2026, 11, 2)),
    (None, None, "Win rate (new business)", "Closed-won / closed opportunities (new logos)", "VP Sales", "Sales",
     "Leading", "↑ Higher", (P, 0.21, "0%"), (P, 0.25, "0%"), "Q4 2027", (P, 0.17, "0%"), (P, 0.20, "0%"),
     "Monthly", "Salesforce", "Deal reviews, competitive battlecards", D(2026, 10, 19)),
    (None, "Protect gross margin", "Gross margin", "(Revenue - cost of revenue) / revenue", "CFO", "Finance",
     "Lagging", "↑ Higher", "72%", "76%", "Dec 2027", "< 70%", "< 74%", "Monthly", "NetSuite",
     "Hosting cost task force", D(2026, 10, 28)),
    (None, None, "Gross margin per customer", "(Revenue - cost of revenue) / active paying customers, per month",
     "FP&A Lead", "Finance", "Lagging", "↑ Higher", "£ 1,240", "£ 1,400", "Dec 2027", "< £ 1,150", "< £ 1,300",
     "Monthly", "NetSuite + Stripe", "Review low-margin plans with Product", D(2026, 10, 28)),
    (None, None, "Cloud cost per active user", "AWS bill / monthly active users", "FinOps Lead", "Finance",
     "Lagging", "↓ Lower", "£ 0.92", "£ 0.80", "ongoing", "> £ 0.95", "> £ 0.85", "Monthly", "AWS Cost Explorer",
     "Right-size clusters", D(2026, 10, 28)),
    (None, None, "Reserved-instance coverage", "Compute hours on reserved instances or savings plans / total compute hours",
     "FinOps Lead", "Finance", "Leading", "↑ Higher", (P, 0.55, "0%"), (P, 0.75, "0%"), D(2027, 6, 30),
     "<50%", "<65%", "Monthly", "AWS Cost Explorer", "Buy 1-year savings plans", D(2026, 10, 28)),
    ("Customer", "Keep customers successful", "Logo churn rate",
     "Customers lost in the last 12 months / customers at start", "VP Customer Success", "Customer Success",
     "Lagging", "↓ Lower", (P, 0.085, "0.0%"), (P, 0.06, "0%"), "Q4 2027", ">9%", ">7%", "Monthly",
     "Salesforce + ChartMogul", "Save desk for at-risk renewals", D(2026, 11, 9)),
    (None, None, "Share of accounts with health score ≥ 70", "Accounts with health score ≥ 70 / active accounts",
     "VP Customer Success", "Customer Success", "Leading", "↑ Higher", "64%", "75%", "Q4 2027", "<60%", "<70%",
     "Weekly", "Gainsight", "CSM playbook for red accounts", D(2026, 11, 9)),
    (None, None, "Onboarding completed within 30 days", "New customers live within 30 days / new customers",
     "Onboarding Manager", "Customer Success", "Leading", "↑ Higher", "58%", "80%", "Q3 2027", "<60%", "<70%",
     "Monthly", "Gainsight", "Onboarding templates, kickoff within 5 days", D(2026, 11, 9)),
    (None, None, "Net Promoter Score", "% promoters - % detractors on the 0-10 question; scale -100 to +100",
     "VP Customer Success", "Customer Success", "Lagging", "↑ Higher", 31, 40, "Q4 2027", "<25", "<35",
     "Quarterly", "Delighted survey", "Close the loop with detractors", D(2026, 11, 9)),
    (None, None, "Customer satisfaction (rating)", "Overall rating from quarterly account reviews",
     "VP Customer Success", "Customer Success", "Lagging", "↑ Higher", "good", "very good", "Q4 2027", "poor", "fair",
     "Quarterly", "Account review notes", "Executive sponsor call", D(2026, 11, 9)),
    (None, "Build brand awareness", "Mobile app downloads (total)",
     "Cumulative installs from App Store and Google Play since launch", "Head of Marketing", "Marketing",
     "Leading", "↑ Higher", "48,000", "80,000", "Q4 2027", "<60,000", "<70,000", "Monthly",
     "App Store Connect / Play Console", "App store ads", D(2026, 10, 5)),
    (None, None, "MQL-to-SQL conversion", "Sales-accepted leads / marketing-qualified leads", "Head of Marketing",
     "Marketing", "Leading", "↑ Higher", (P, 0.24, "0%"), (P, 0.30, "0%"), "Q4 2027", "<20%", "<26%", "Monthly",
     "HubSpot", "Lead scoring recalibration", D(2026, 3, 14)),
    (None, None, "Free-trial sign-up rate", "Trial sign-ups / pricing-page visitors", "Growth Marketing Manager",
     "Marketing", "Leading", "↑ Higher", "3.1%", "4%", "Q4 2027", "<2.5%", "<3.5%", "Weekly", "TBD",
     "Pricing page experiments", D(2026, 10, 5)),
    (None, "Resolve issues fast", "First response time", "Median hours from ticket creation to first agent reply",
     "Head of Support", "Support", "Leading", "↓ Lower", "3.1 h", "2 h", "Q2 2027", "> 4 h", "> 1.5 h", "Weekly",
     "Zendesk", "Rebalance queues, add follow-the-sun shift", D(2026, 11, 16)),
    (None, None, "Tickets resolved within SLA", "Tickets solved within SLA / tickets solved", "Head of Support",
     "Support", "Lagging", "↑ Higher", "88%", "95%", "Q2 2027", "<85%", "<92%", "Weekly", "Zendesk",
     "Escalation review", D(2026, 11, 16)),
    (None, None, "Ticket CSAT", "Average post-ticket rating on a 1-5 scale", "Head of Support", "Support",
     "Lagging", "↑ Higher", "4.3 / 5", "4.6 / 5", "Q4 2027", "< 4.0", "< 4.4", "Monthly", "Zendesk survey",
     "Coach agents on low-rated tickets", D(2026, 11, 16)),
    ("Internal process", "Ship reliable software", "Change failure rate",
     "Deployments causing an incident or rollback / deployments", "VP Engineering", "Engineering", "Lagging",
     "↓ Lower", "14%", "10%", "Q4 2027", ">18%", ">12%", "Monthly", "GitLab + PagerDuty",
     "Post-incident reviews, test coverage", D(2026, 10, 30)),
    (None, None, "Lead time for changes", "Median days from merge request opened to running in production",
     "VP Engineering", "Engineering", "Leading", "↓ Lower", "4.5 days", "2 days", "Q4 2027", "> 5 days", "> 3 days",
     "Weekly", "GitLab", "Smaller merge requests, CI speed-up", D(2026, 10, 30)),
    (None, None, "Platform uptime", "Minutes available / minutes in month (excl. announced maintenance)",
     "SRE Lead", "Engineering", "Lagging", "↑ Higher", (P, 0.9982, "0.00%"), (P, 0.9995, "0.00%"), "Dec 2027",
     (P, 0.998, "0.00%"), (P, 0.999, "0.00%"), "Monthly", "Datadog", "Reliability sprint", D(2026, 10, 30)),
    (None, None, "Open P1 incidents older than 24 h", "Count of priority-1 incidents open > 24 h at week end",
     "SRE Lead", "Engineering", "Leading", "↓ Lower", 3, 0, "Q2 2027", ">2", ">0", "Weekly", "PagerDuty / Jira",
     "Swarm, escalate to VP Engineering", D(2026, 10, 30)),
    (None, None, "Mean time to restore", "Mean hours from incident start to service restored", None,
     "Engineering", "Lagging", "↓ Lower", "5.2 h", "2 h", "Q4 2027", "> 6 h", "> 3 h", "Monthly", "PagerDuty",
     "Runbooks, on-call training", D(2026, 10, 30)),
    (None, "Automate onboarding", "Onboarding cost per customer", "Onboarding team cost / customers onboarded",
     "Head of Operations", "Operations", "Lagging", "↓ Lower", "£ 2,300", "£ 1,600", "Q4 2027", ">£ 2,400",
     ">£ 1,900", "Quarterly", "NetSuite + Gainsight", "Automate data import step", D(2026, 9, 21)),
    (None, None, "Time to first value", "Days from contract signature to first report used by the customer",
     "Head of Operations", "Operations", "Lagging", "↓ Lower", "14 days", "16 days", "Q4 2027", "> 21", "> 18",
     "Monthly", "Gainsight", "Template library", D(2026, 9, 21)),
    (None, None, "Onboarding tickets per new customer", "Support tickets in first 60 days / customers onboarded",
     "Head of Sales", "Operations", "Lagging", "↓ Lower", 7.5, 4, "Q4 2027", ">8", ">6", "Monthly", "Zendesk",
     "FAQ and in-app guides", D(2026, 9, 21)),
    ("Learning & growth", "Build a skilled, engaged team", "Regretted attrition",
     "Regretted leavers / average headcount, rolling 12 months", "CPO", "People", "Lagging", "↓ Lower",
     "8%", "6%", "Q4 2027", ">9%", ">7%", "Quarterly", "Workday", "Stay interviews", D(2026, 10, 12)),
    (None, None, "Employee engagement score", "Engagement index 0-100 from the annual Culture Amp survey", "CPO",
     "People", "Leading", "↑ Higher", 71, 76, "Q4 2027", "<65", "<72", "Weekly", "Culture Amp (annual survey)",
     "Team action plans", D(2026, 10, 12)),
    (None, None, "Time to hire", "Median days from job opening to offer accepted", "Head of Talent Acquisition",
     "People", "Leading", "↓ Lower", "52 days", "40 days", "Q3 2027", "> 60", "> 48", "Monthly", "Greenhouse",
     "Sourcing agency for hard roles", D(2026, 5, 2)),
    (None, None, "Training hours per engineer", "Learning hours logged per engineer per quarter", "Head of L&D",
     "People", "Leading", "↑ Higher", 9, 16, "Q4 2027", "<8", "<12", "Quarterly", "Workday Learning",
     "Learning days in sprint plan", D(2026, 10, 12)),
    (None, None, "Internal promotion rate", "Roles filled internally / roles filled", "CPO", "People", "Lagging",
     "↑ Higher", "22%", "30%", "Q4 2027", "<18%", "<25%", "Quarterly", "Workday", "Internal job board first",
     D(2026, 10, 12)),
    (None, None, "All-hands meetings held", "Number of company all-hands meetings held", "CPO", "People",
     "Leading", "↑ Higher", 10, 12, "Dec 2027", "<8", "<10", "Quarterly", "Google Calendar", "Schedule more all-hands",
     D(2026, 10, 12)),
]
# (first index, length, column) of merged fill-once cells; other blocks use blank cells
BSC_MERGES = [(0, 7, 1), (7, 11, 1), (26, 6, 1),          # Perspective
              (0, 3, 2), (7, 5, 2), (15, 3, 2), (23, 3, 2)]  # Objective


def build_bsc() -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Scorecard 2027"
    ws["A1"] = "Helix Cloud Ltd — Balanced Scorecard 2027"
    ws["A1"].font = TITLE
    ws["A2"] = "Prepared by the Strategy Office · reviewed quarterly by the ExCo · currency GBP"
    top = ["Perspective", "Objective", "Measure", "Definition", "Owner", "Department", "Type", "Polarity",
           "Baseline 2026", "Target", None, "Thresholds", None, "Frequency", "Source", "Initiative / action if red",
           "Last review"]
    sub = [None] * 9 + ["Value", "By", "Red", "Amber"] + [None] * 4
    for j, v in enumerate(top, start=1):
        if v is not None:
            ws.cell(row=3, column=j, value=v)
    for j, v in enumerate(sub, start=1):
        if v is not None:
            ws.cell(row=4, column=j, value=v)
    for j in range(1, 18):
        if j in (10, 11, 12, 13):
            continue
        ws.merge_cells(start_row=3, end_row=4, start_column=j, end_column=j)
    ws.merge_cells("J3:K3")
    ws.merge_cells("L3:M3")
    for row in ws.iter_rows(min_row=3, max_row=4):
        for c in row:
            c.font = BOLD
            c.fill = HEAD_FILL
            c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    first = 5
    for i, row in enumerate(BSC_ROWS):
        r = first + i
        for j, val in enumerate(row):
            if val is None or val == "":
                continue
            cell = ws.cell(row=r, column=j + 1)
            if isinstance(val, tuple) and val[0] == P:
                cell.value = val[1]
                cell.number_format = val[2]
            else:
                cell.value = val
                if isinstance(val, dt.date):
                    cell.number_format = "DD.MM.YYYY"
    for start, length, col in BSC_MERGES:
        ws.merge_cells(start_row=first + start, end_row=first + start + length - 1, start_column=col, end_column=col)
        ws.cell(row=first + start, column=col).alignment = Alignment(vertical="top", wrap_text=True)
    for col, w in zip("ABCDEFGHIJKLMNOPQ", (16, 26, 36, 50, 24, 17, 9, 10, 12, 10, 10, 10, 10, 11, 28, 36, 12)):
        ws.column_dimensions[col].width = w
    ws.freeze_panes = "D5"
    notes = wb.create_sheet("Notes")
    notes["A1"] = "Polarity: ↑ higher is better, ↓ lower is better. Thresholds: value beyond the line = that colour."
    _fixed_props(wb)
    out = HERE / "bsc_scorecard.xlsx"
    _save(wb, out)
    return out


# ---------------------------------------------------------------------------
# 4. acme_kpi_list.csv  (comma, UTF-8 no BOM)
# ---------------------------------------------------------------------------
ACME_LINES = [
    ["KPI", "Department", "Objective", "Owner", "Type", "Category", "Description", "Baseline", "Target", "Due",
     "Warning at", "Critical at", "Frequency", "Data source", "Action when off-track", "Last reviewed"],
    ["Conversion rate", "E-commerce", "Grow online conversion", "Head of E-commerce", "Lagging", "Marketing",
     "Orders / sessions", "2.4%", "≥ 2.8%", "Q4 2027", "< 2.6%", "< 2.2%", "Weekly", "GA4 + Shopify",
     "A/B test backlog review", "16/11/2026"],
    ["Add-to-cart rate", "E-commerce", "Grow online conversion", "Head of E-commerce", "Leading", "Marketing",
     "Sessions with an add-to-cart / sessions", "8.1%", "≥ 9.5%", "Q4 2027", "< 9%", "< 7.5%", "Weekly", "GA4",
     "Product page tests", "16/11/2026"],
    ["Checkout abandonment rate", "E-commerce", "Grow online conversion", "Head of E-commerce", "Leading",
     "Customer", "Checkouts started but not completed / checkouts started", "68%", "≤ 60%", "Q4 2027", "> 64%",
     "> 70%", "Weekly", "", "Fix top checkout errors", "16/11/2026"],
    ["Page load time (p75)", "E-commerce", "Grow online conversion", "Lead Frontend Engineer", "Leading", "Process",
     "75th percentile largest contentful paint, seconds", "3.4 s", "< 2.5 s", "30/06/2027", "> 2.8 s", "> 3.5 s",
     "Weekly", "SpeedCurve", "Performance sprint", "16/11/2026"],
    ["Total page views", "E-commerce", "Grow online conversion", "Head of E-commerce", "Leading", "Marketing",
     "Sum of page views on acme.com", "4,200,000", "5,000,000", "Q4 2027", "< 4,600,000", "< 4,300,000",
     "Monthly", "GA4", "Push more content", "16/11/2026"],
    ["Repeat purchase rate", "E-commerce", "Grow repeat revenue", "CRM Manager", "Lagging", "Customer",
     "Customers with 2+ orders in 12 months / customers with an order in 12 months", "27%", "≥ 32%", "by Dec 2027",
     "< 30%", "< 26%", "Monthly", "Shopify + Klaviyo", "Win-back flow", "28/10/2026"],
    ["Average order value", "E-commerce", "Grow repeat revenue", "CRM Manager", "Lagging", "Financial",
     "Net revenue / orders", "$84.50", "$92.00", "by Dec 2027", "< $88.00", "< $82.00", "Monthly", "Shopify",
     "Bundles and free-shipping threshold test", "28/10/2026"],
    ["Email click-through rate", "E-commerce", "Grow repeat revenue", "CRM Manager", "Leading", "Marketing",
     "Unique clicks / delivered emails", "2.1%", "3%", "by Dec 2027", "< 2.6%", "< 2.0%", "Weekly", "Klaviyo",
     "Segment and subject-line tests", "28/10/2026"],
    ["Repeat-purchase rate", "E-commerce", "Grow repeat revenue", "CRM Manager", "Lagging", "Customer",
     "Share of customers who ordered again within 12 months", "27%", "32%", "by Dec 2027", "< 30%", "< 26%",
     "Monthly", "Shopify", "Loyalty offer", "28/10/2026"],
    ["App conversion rate", "E-commerce", "Grow the app channel", "Head of Mobile", "Lagging", "Marketing",
     "App orders / app sessions", "3.2%", "4.0%", "31/12/2027", "< 3.6%", "< 3.0%", "Weekly", "Firebase + Shopify",
     "In-app checkout fixes", "19/10/2026"],
    ["App downloads (total)", "E-commerce", "Grow the app channel", "Head of Mobile", "Leading", "Marketing",
     "Cumulative installs since launch", "310,000", "450,000", "31/12/2027", "< 400,000", "< 350,000", "Monthly",
     "App Store Connect", "More app install ads", "19/10/2026"],
    ["Crash-free sessions", "E-commerce", "Grow the app channel", "n/a", "Leading", "Process",
     "Sessions without a crash / sessions", "98.9%", "≥ 99.5%", "31/12/2027", "< 99.3%", "< 99.0%", "Weekly",
     "Firebase Crashlytics", "Hotfix top crashes", "19/10/2026"],
    ["App share of online revenue", "E-commerce", "Grow the app channel", "Head of Mobile", "Lagging", "Financial",
     "App revenue / online revenue", "18%", "25%", "", "< 22%", "< 19%", "Monthly", "Shopify",
     "App-only offers", "19/10/2026"],
    ["On-time in-full (OTIF)", "Supply Chain", "Deliver faster at lower cost", "Head of Supply Chain", "Lagging",
     "Customer", "Orders delivered complete on the promised date / orders delivered", "91.5%", "≥ 96%", "Q4 2027",
     "< 94%", "< 90%", "Weekly", "WMS (Manhattan) + carrier feeds", "Carrier review, pick-face re-slotting",
     "18/11/2026"],
    ["Order cycle time", "Supply Chain", "Deliver faster at lower cost", "DC Operations Manager", "Leading",
     "Process", "Days from order placed to dispatch", "2.6 days", "≤ 2 days", "Q4 2027", "> 2.2 days", "> 3 days",
     "Daily", "WMS (Manhattan)", "Extra wave, overtime", "18/11/2026"],
    ["Cost per order shipped", "Supply Chain", "Deliver faster at lower cost", "Head of Supply Chain", "Lagging",
     "Financial", "Fulfilment + carrier cost / orders shipped", "$7.90", "$7.20", "Q4 2027", "> $7.50", "> $8.10",
     "Monthly", "NetSuite + WMS", "Carrier mix renegotiation", "-"],
    ["Inventory accuracy", "Supply Chain", "Deliver faster at lower cost", "DC Operations Manager", "Leading",
     "Process", "SKU-locations with matching count / SKU-locations counted", "97.2%", "98%", "H1 2027", "< 99%",
     "< 97%", "Monthly", "WMS cycle counts", "Recount and root-cause", "18/11/2026"],
    ["First contact resolution", "Customer Service", "Make service effortless", "Head of Customer Service",
     "Lagging", "Customer", "Contacts resolved without follow-up within 7 days / contacts", "71%", "78%", "Q4 2027",
     "< 75%", "< 70%", "Weekly", "Zendesk", "Knowledge-base gaps, agent coaching", "13/11/2026"],
    ["Average handle time", "Customer Service", "Make service effortless", "Head of Customer Service", "Leading",
     "Process", "Mean minutes per contact (talk + wrap-up)", "9.5 min", "≤ 8 min", "Q4 2027", "> 8.5 min",
     "> 10 min", "Weekly", "Zendesk Talk", "Macro and script review", "13/11/2026"],
    ["Customer satisfaction (CSAT)", "Customer Service", "Make service effortless", "Head of Customer Service",
     "Lagging", "Customer", "Mean post-contact survey rating, scale 1-5", "4.2 / 5", "> 4.5 / 5", "Q4 2027",
     "< 4.4", "< 4.1", "Monthly", "Zendesk survey", "Call back detractors", "13/11/2026"],
    ["Return rate due to defects", "Customer Service", "Make service effortless", "Head of Customer Service",
     "Lagging", "Customer", "Returns coded 'defective' / units sold", "2.9%", "< 2%", "Q4 2027", "> 2.4%", "> 3%",
     "Monthly", "Loop returns + NetSuite", "Feed defect codes back to Buying", "13/11/2026"],
    ["Cost price reduction vs LY", "Buying", "Improve buying terms", "Head of Buying", "Lagging", "Financial",
     "(LY cost price - current cost price) / LY cost price, like-for-like SKUs", "1.8%", "3.5%", "Q4 2027", "< 3%",
     "< 2%", "Quarterly", "NetSuite purchasing", "Re-quote top 50 SKUs", "15/09/2026"],
    ["Supplier fill rate", "Buying", "Improve buying terms", "Head of Buying", "Lagging", "Process",
     "Units received / units ordered", "93%", "97%", "Q4 2027", "< 95%", "< 92%", "Monthly", "NetSuite",
     "Supplier scorecard meeting", "15/09/2026"],
    ["Markdown rate", "Buying", "Improve buying terms", "Merchandise Planning Manager", "Lagging", "Financial",
     "Markdown value / full-price sales value", "14%", "11%", "Q4 2027", "> 12.5%", "> 15%", "Monthly",
     "NetSuite + merch planning tool", "Tighter open-to-buy", "14/03/2026"],
    ["Sales per sq ft", "Stores", "Run productive stores", "Head of Retail Operations", "Lagging", "Financial",
     "Store net sales / selling square feet, annualised", "$412", "$450", "Q4 2027", "< $430", "< $400", "Monthly",
     "POS (Lightspeed)", "Space re-plan in bottom-10 stores", "20/10/2026"],
    ["On-shelf availability", "Stores", "Run productive stores", "Head of Retail Operations", "Leading", "Customer",
     "Top-500 SKUs found on shelf / SKU checks", "94%", "TBD", "", "< 95%", "< 92%", "Weekly", "Store audit app",
     "Replenishment walk", "20/10/2026"],
    ["Shrinkage rate", "Stores", "Run productive stores", "Loss Prevention Manager", "Lagging", "Financial",
     "Inventory loss at count / net sales", "1.9%", "1.5%", "Q4 2027", "> 1.7%", "> 2.0%", "", "POS + stock counts",
     "Tagging and CCTV in top-loss stores", "20/10/2026"],
    [],
    ["Total: 27 KPIs", "", "", "", "", "", "Baseline = FY2026 actual, USD", "", "", "", "", "", "", "", "", ""],
]


def build_acme() -> Path:
    out = HERE / "acme_kpi_list.csv"
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        for line in ACME_LINES:
            w.writerow(line)
    return out


if __name__ == "__main__":
    for build in (build_northwind, build_stadtwerke, build_bsc, build_acme):
        print("wrote", build().relative_to(HERE.parent.parent))

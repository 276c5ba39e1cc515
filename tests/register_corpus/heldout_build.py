"""Write the two HELD-OUT registers of the register corpus.

heldout_klinikum.xlsx      German hospital workbook (cover sheet, merged blocks)
heldout_city_council.csv   UK local-authority performance indicator list

Every row below is typed by hand as a register owner would have written it; nothing is
derived from the answer keys (heldout_*.key.yaml were written first).  Output is
deterministic (fixed workbook properties and zip timestamps).

Run:  .venv/bin/python tests/register_corpus/heldout_build.py
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
HEAD_FILL = PatternFill("solid", fgColor="E2EFDA")


def _save(wb: Workbook, out: Path) -> None:
    stamp = dt.datetime(2026, 11, 16, 8, 0)
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.creator = "Controlling"
    wb.properties.lastModifiedBy = "Controlling"
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=(2026, 11, 16, 8, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = re.sub(rb"<dcterms:modified([^>]*)>[^<]*<",
                              rb"<dcterms:modified\1>2026-11-16T08:00:00Z<", data)
            dst.writestr(info, data)


# ---------------------------------------------------------------------------
# 1. heldout_klinikum.xlsx
# ---------------------------------------------------------------------------
P = "PCT"   # (P, value, format): a real number cell formatted as percent
D = dt.date  # a real date cell

KL_HEADER = ["Organisationseinheit", "Strategisches Ziel", "Kennzahl", "Berechnung",
             "Kennzahlverantwortliche/r", "Indikatorart", "Ist 2026", "Soll 2027", "bis",
             "Grenzwert gelb", "Grenzwert rot", "Messfrequenz", "Datenquelle",
             "Maßnahme bei Rot", "Letzte Überprüfung"]

# blocks: (Organisationseinheit, Strategisches Ziel, rows)
# row: (Kennzahl, Berechnung, Verantwortlich, Art, Ist, Soll, bis, gelb, rot, Frequenz,
#       Quelle, Maßnahme, Überprüfung)
KL_BLOCKS = [
    ("Pflegedirektion", "Patientensicherheit in der Pflege erhöhen", [
        ("Sturzrate je 1.000 Pflegetage", "Anzahl Stürze / Pflegetage × 1.000",
         "Pflegedirektorin S. Brandt", "Spät", 3.2, 2.5, D(2027, 12, 31), "> 2,8", "> 3,5",
         "monatlich", "ePA Pflegedokumentation", "Sturzprophylaxe-Audit auf der Station",
         D(2026, 10, 14)),
        ("Dekubitusrate (Grad ≥ 2, im Haus erworben)",
         "Fälle mit neu aufgetretenem Dekubitus Grad ≥ 2 / vollstationäre Fälle",
         "Pflegedirektorin S. Brandt", "Spät", (P, 0.009, "0.0%"), (P, 0.006, "0.0%"),
         D(2027, 12, 31), "> 0,7 %", "> 1,0 %", "monatlich", "QS-Dokumentation (QS-Bogen DEK)",
         "Wundexpertin auf Station, Lagerungsplan prüfen", D(2026, 10, 14)),
        ("Sturzrisiko-Assessment innerhalb 24 h",
         "Patienten mit dokumentiertem Assessment ≤ 24 h nach Aufnahme / aufgenommene Patienten",
         "Pflegedirektorin S. Brandt", "Früh", (P, 0.78, "0%"), (P, 0.95, "0%"), "31.12.2027",
         "< 90 %", "< 80 %", "wöchentlich", "ePA Pflegedokumentation",
         "Nachschulung der Stationsleitungen", D(2026, 11, 2)),
        ("Sturzquote (pro 1000 Pflegetage)", "Stürze × 1000 / Pflegetage", "Stationsleitungen",
         "Spät", "3,2", "2,5", D(2027, 12, 31), "> 2,8", "> 3,5", "monatlich",
         "ePA Pflegedokumentation", "Fallbesprechung nach jedem Sturz", D(2026, 9, 18)),
        ("Händedesinfektionsmittelverbrauch (ml je Patiententag)",
         "Verbrauch Händedesinfektionsmittel in ml / Patiententage", "Hygienefachkraft T. Yilmaz",
         "Früh", "28 ml", "35 ml", D(2027, 12, 31), "< 32 ml", "< 25 ml", "quartalsweise",
         "Apothekenabgabedaten (HAND-KISS)", "Spenderaudit und Compliance-Beobachtung",
         D(2026, 10, 1)),
    ]),
    ("Ärztlicher Dienst", "Behandlungsqualität nachweisbar verbessern", [
        ("Wiederaufnahmerate innerhalb 30 Tagen",
         "Wiederaufnahmen ≤ 30 Tage nach Entlassung / Entlassungen",
         "Ärztlicher Direktor Prof. Dr. M. Hahn", "Spät", (P, 0.081, "0.0%"), (P, 0.07, "0.0%"),
         D(2027, 12, 31), "> 7,5 %", "> 8,5 %", "monatlich", "KIS (ORBIS), §21-Datensatz",
         "Fallanalyse Entlassmanagement mit Chefärzten", D(2026, 10, 20)),
        ("Postoperative Wundinfektionsrate",
         "Wundinfektionen nach OP (KISS-Definition) / operierte Fälle",
         "Chefarzt Allgemeinchirurgie Dr. P. Lenz", "Spät", "2,4 %", "1,8 %", "30.06.2027",
         "> 2,0 %", "> 2,6 %", "quartalsweise", "OP-KISS", "Hygienebegehung OP, Bündel-Check",
         D(2026, 10, 20)),
        ("Herzinfarkt-Sterblichkeit (SMR, risikoadjustiert)",
         "beobachtete / erwartete Todesfälle (G-IQI)", "Chefarzt Kardiologie Dr. A. Wiese",
         "Spät", 0.92, 0.85, D(2027, 12, 31), "> 0,90", "> 1,00", "quartalsweise", "–",
         "Peer Review nach IQM-Verfahren", D(2026, 9, 30)),
        ("Patientenzufriedenheit", "Befragung bei Entlassung",
         "Oberarzt Qualität Dr. E. Franke", "Spät", "gut", "sehr gut", D(2027, 12, 31),
         "befriedigend", "ausreichend", "quartalsweise", "Patientenbefragung (Papierbogen)",
         "Ergebnisse in Stationsbesprechungen", D(2026, 11, 10)),
        ("Leitliniengerechte Antibiotikatherapie (Anteil)",
         "leitliniengerechte Verordnungen / geprüfte Verordnungen (Stichprobe)",
         "Oberärztin ABS-Team Dr. K. Ulrich", "Früh", (P, 0.71, "0%"), (P, 0.85, "0%"),
         D(2027, 12, 31), "< 80 %", "< 70 %", "monatlich", "ABS-Stichprobe (Apotheke)",
         "ABS-Visite auf auffälligen Stationen", D(2026, 11, 10)),
    ]),
    ("Zentrale Notaufnahme", "Wartezeiten in der Notaufnahme verkürzen", [
        ("Zeit bis zum ersten Arztkontakt (Median)",
         "Median Minuten von Ersteinschätzung bis Arztkontakt", "Chefarzt ZNA Dr. J. Sommer",
         "Früh", "42 min", "30 min", D(2027, 12, 31), "> 35 min", "> 45 min", "täglich",
         "ZNA-Dokumentation (ERPath)", "Hintergrunddienst alarmieren, Zusatzschicht",
         D(2026, 11, 16)),
        ("Anteil Patienten, die die ZNA ohne Behandlung verlassen",
         "Patienten „left without being seen“ / ZNA-Patienten", "Chefarzt ZNA Dr. J. Sommer",
         "Spät", (P, 0.045, "0.0%"), (P, 0.03, "0.0%"), D(2027, 12, 31), "> 2,5 %", "> 5,0 %",
         "wöchentlich", "ZNA-Dokumentation (ERPath)", "Wartebereich-Runde durch Triage-Pflege",
         D(2026, 11, 16)),
        ("Ersteinschätzung innerhalb 10 Minuten",
         "Patienten mit MTS-Triage ≤ 10 min nach Ankunft / ZNA-Patienten",
         "Pflegerische Leitung ZNA F. Kaya", "Früh", (P, 0.88, "0%"), (P, 0.85, "0%"),
         D(2027, 12, 31), "< 80 %", "< 75 %", "täglich", "ZNA-Dokumentation (ERPath)",
         "Triage-Pflegekraft zusätzlich besetzen", D(2026, 11, 16)),
        ("Door-to-CT-Zeit bei Schlaganfallverdacht", "Minuten von Ankunft bis CT (Median)",
         "Chefarzt Neurologie Dr. H. Graf", "Früh", "24 min", "offen", None, "> 25 min",
         "> 30 min", "monatlich", "ZNA-Dokumentation / RIS", "Stroke-Alarm-Prozess überprüfen",
         D(2026, 10, 28)),
    ]),
    ("Patientenmanagement", "Belegung und Verweildauer steuern", [
        ("Durchschnittliche Verweildauer", "Belegungstage / Fälle",
         "Leitung Patientenmanagement K. Vogt", "Spät", "6,4 Tage", "5,8 Tage", D(2027, 12, 31),
         "> 6,0 Tage", "> 6,5 Tage", "monatlich", "KIS (ORBIS) / DRG-Grouper",
         "Entlassplanung ab Aufnahmetag", D(2026, 10, 5)),
        ("Bettenauslastung", "belegte Betten / aufgestellte Betten",
         "Leitung Patientenmanagement K. Vogt", "Spät", (P, 0.81, "0%"), (P, 0.85, "0%"),
         D(2027, 12, 31), "< 82 %", "< 78 %", None, "KIS (ORBIS)",
         "Bettenkonferenz mit den Chefärzten", D(2026, 10, 5)),
        ("Entlassungen bis 11 Uhr (Anteil)", "Entlassungen vor 11:00 Uhr / Entlassungen",
         "Leitung Patientenmanagement K. Vogt", "Früh", "22 %", "40 %", "31.12.2027", "< 35 %",
         "< 25 %", "wöchentlich", "KIS (ORBIS)", "Entlass-Lounge, Arztbriefe am Vortag",
         "25.08.2026"),
    ]),
    ("Kaufmännische Direktion", "Wirtschaftliche Stabilität sichern", [
        ("Personalkostenquote", "Personalaufwand / Umsatzerlöse",
         "Kaufmännischer Direktor Dr. T. Berger", "Spät", (P, 0.68, "0%"), (P, 0.65, "0%"),
         D(2027, 12, 31), "> 66 %", "> 69 %", "monatlich", "SAP FI/CO",
         "Stellenplan-Review im Direktorium", D(2026, 10, 22)),
        ("Erlöse je Fall", "DRG-Erlöse / vollstationäre Fälle",
         "Kaufmännischer Direktor Dr. T. Berger", "Spät", "4.850 €", "5.100 €", D(2027, 12, 31),
         "< 5.000 €", "< 4.800 €", "monatlich", "SAP IS-H",
         "Kodierqualität prüfen, MD-Prüfungen nachhalten", "15.03.2026"),
        ("Sachkosten je Fall", "Materialaufwand / Fälle", "N.N.", "Spät", "1.320 €", "1.250 €",
         D(2027, 12, 31), "> 1.280 €", "> 1.350 €", "monatlich", "SAP CO",
         "Sachkostenbudget je Fachabteilung", D(2026, 10, 22)),
        ("Forderungslaufzeit Krankenkassen", "offene Forderungen ggü. Kassen / Erlöse × 365",
         "Leitung Patientenabrechnung C. Neumann", "Spät", "38 Tage", "30 Tage", "30.06.2027",
         "> 33 Tage", "> 40 Tage", "monatlich", "SAP IS-H / FI",
         "Klärungsfälle wöchentlich abarbeiten", D(2026, 11, 3)),
    ]),
    ("Einkauf", "Sachkosten im Einkauf senken", [
        ("Preisreduktion Medizinbedarf ggü. Vorjahr",
         "(Vorjahrespreis - aktueller Preis) / Vorjahrespreis, Warenkorb Top-200",
         "Leiter Einkauf R. Seidel", "Spät", "2,1 %", "4,0 %", D(2027, 12, 31), "< 3,5 %",
         "< 2,0 %", "quartalsweise", "SAP MM", "Ausschreibung über die Einkaufsgemeinschaft",
         D(2026, 9, 25)),
        ("Lieferfähigkeit Hauptlieferanten",
         "vollständig und termingerecht gelieferte Bestellpositionen / Bestellpositionen",
         "Leiter Einkauf R. Seidel", "Früh", (P, 0.94, "0%"), (P, 0.97, "0%"), D(2027, 12, 31),
         "< 95 %", "< 92 %", "monatlich", "SAP MM", "Lieferantengespräch, Zweitlieferant",
         D(2026, 9, 25)),
    ]),
    ("Qualitäts- und Risikomanagement", "Medizinprodukte und Abläufe sicher machen", [
        ("Mängelquote gelieferter Medizinprodukte",
         "reklamierte Lieferpositionen / gelieferte Positionen Medizinbedarf",
         "Leitung QM B. Roth", "Spät", "0,8 %", "0,5 %", D(2027, 12, 31), "> 0,6 %", "> 1,0 %",
         "monatlich", "Reklamationsdatenbank (QM)",
         "Lieferantenbewertung, Sperrung bei Wiederholung", D(2026, 10, 30)),
        ("Offene CIRS-Meldungen älter als 30 Tage",
         "Anzahl unbearbeiteter CIRS-Meldungen mit Eingang > 30 Tage",
         "Risikomanagerin D. Hartmann", "Früh", 14, 0, D(2027, 12, 31), "> 5", "> 10",
         "wöchentlich", "CIRS-Portal", "Risikoboard weist jede Meldung einem Bearbeiter zu",
         D(2026, 11, 12)),
        ("Fristgerecht durchgeführte sicherheitstechnische Kontrollen",
         "STK/MTK fristgerecht / fällige STK/MTK", "Leiter Medizintechnik O. Krüger", "Früh",
         (P, 0.91, "0%"), (P, 0.99, "0%"), D(2027, 12, 31), "< 97 %", "< 93 %", "monatlich",
         "Medizintechnik-Wartungssoftware", None, D(2026, 10, 30)),
    ]),
    ("Personalabteilung", "Pflegefachkräfte gewinnen und halten", [
        ("Fluktuationsquote Pflege", "Austritte Pflegefachkräfte / durchschnittlicher Bestand",
         "Leiter Einkauf R. Seidel", "Spät", "11,5 %", "9,0 %", D(2027, 12, 31), "> 10,0 %",
         "> 12,0 %", "quartalsweise", "SAP HCM", "Bleibegespräche nach 6 und 18 Monaten",
         D(2026, 10, 8)),
        ("Frühfluktuation Pflege (Austritte im ersten Jahr)",
         "Austritte innerhalb 12 Monaten nach Eintritt / Eintritte", "Personalleiterin J. Wolf",
         "Spät", (P, 0.19, "0%"), (P, 0.12, "0%"), D(2027, 12, 31), "> 15 %", "> 20 %",
         "quartalsweise", "SAP HCM", "Mentorenprogramm und Einarbeitungskonzept",
         D(2026, 10, 8)),
        ("Besetzungsquote Pflegestellen", "besetzte VK / VK laut Stellenplan",
         "Personalleiterin J. Wolf", "Spät", (P, 0.92, "0%"), (P, 0.97, "0%"), D(2027, 12, 31),
         "< 95 %", "< 90 %", "monatlich", "SAP HCM / Dienstplan (Vivendi)",
         "Springerpool aufstocken", "–"),
        ("Dauer bis zur Stellenbesetzung",
         "Tage von Ausschreibung bis Vertragsunterschrift (Median)", "Personalleiterin J. Wolf",
         "Früh", "74 Tage", "60 Tage", D(2026, 9, 30), "> 65 Tage", "> 80 Tage", "monatlich",
         "Bewerbermanagement (rexx)", "Freigabeprozess verkürzen", D(2026, 10, 8)),
        ("Besuchte Jobmessen und Recruiting-Events",
         "Anzahl Veranstaltungen mit Klinikum-Stand", "Personalleiterin J. Wolf", "Früh", 9, 15,
         D(2027, 12, 31), "< 12", "< 10", "quartalsweise", "Personalmarketing-Liste (Excel)",
         "Weitere Messen buchen", D(2026, 10, 8)),
    ]),
    ("Unternehmenskommunikation", "–", [
        ("Besucher Gesundheitsforum (kumuliert seit 2019)",
         "Summe aller Teilnehmenden der Vortragsreihe", "Pressesprecherin L. Kranz", "Früh",
         "1.850", "2.500", D(2027, 12, 31), "< 2.200", "< 2.000", "quartalsweise",
         "Anmeldelisten", "Mehr Vorträge anbieten", D(2026, 9, 2)),
        ("Bewertung im Klinikportal (1–5 Sterne)",
         "Durchschnitt der Sternebewertungen der letzten 12 Monate", "Pressesprecherin L. Kranz",
         "Spät", "3,9", "4,3", D(2027, 12, 31), "< 4,1", "< 3,8", "quartalsweise",
         "Klinikbewertungen.de", "Antwort auf jede Bewertung binnen 48 h", D(2026, 9, 2)),
    ]),
]


def build_klinikum(out: Path) -> None:
    wb = Workbook()
    cover = wb.active
    cover.title = "Deckblatt"
    cover["B2"] = "Klinikum Sankt Lukas gGmbH"
    cover["B2"].font = TITLE
    cover["B4"] = "Kennzahlenregister – Zielvereinbarungen 2027"
    cover["B4"].font = BOLD
    for r, text in enumerate([
        "Herausgeber: Stabsstelle Controlling / Qualitätsmanagement",
        "Stand: 16.11.2026 (Entwurf zur Direktoriumssitzung am 01.12.2026)",
        "Blatt „Kennzahlen“: ein Block je Organisationseinheit und strategischem Ziel.",
        "Ampel: Grenzwert gelb / rot gemäß Zielvereinbarung, Ist-Werte aus dem Berichtswesen 2026.",
        "Ansprechpartnerin: M. Schäfer, Durchwahl 4711",
    ], start=6):
        cover.cell(row=r, column=2, value=text)
    cover.column_dimensions["B"].width = 90

    ws = wb.create_sheet("Kennzahlen")
    ws["A1"] = "Klinikum Sankt Lukas – Kennzahlenregister 2027"
    ws["A1"].font = TITLE
    ws["A2"] = "Stand 16.11.2026 · Controlling · Ist = Jahreswert 2026 (Hochrechnung), Soll = Zielwert lt. Zielvereinbarung"
    ws["A2"].font = Font(italic=True)
    for c, h in enumerate(KL_HEADER, start=1):
        cell = ws.cell(row=4, column=c, value=h)
        cell.font = BOLD
        cell.fill = HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    r = 5
    for unit, goal, rows in KL_BLOCKS:
        first = r
        ws.cell(row=r, column=1, value=unit)
        ws.cell(row=r, column=2, value=goal)
        for row in rows:
            name, calc, owner, art, ist, soll, bis, gelb, rot, freq, src, act, rev = row
            values = [name, calc, owner, art, ist, soll, bis, gelb, rot, freq, src, act, rev]
            for c, v in enumerate(values, start=3):
                cell = ws.cell(row=r, column=c)
                if isinstance(v, tuple) and v[0] == P:
                    cell.value = v[1]
                    cell.number_format = v[2]
                elif isinstance(v, dt.date):
                    cell.value = dt.datetime(v.year, v.month, v.day)
                    cell.number_format = "DD.MM.YYYY"
                elif v is not None:
                    cell.value = v
            r += 1
        if r - first > 1:
            ws.merge_cells(start_row=first, start_column=1, end_row=r - 1, end_column=1)
            ws.merge_cells(start_row=first, start_column=2, end_row=r - 1, end_column=2)
        for c in (1, 2):
            ws.cell(row=first, column=c).alignment = Alignment(vertical="top", wrap_text=True)
    ws.cell(row=r + 1, column=1,
            value="* Grenzwerte gemäß Zielvereinbarung 2027; Ist-Werte 2026 teils hochgerechnet (Stand Oktober).")
    for col, w in zip("ABCDEFGHIJKLMNO", (24, 30, 42, 48, 32, 11, 10, 10, 12, 13, 13, 14, 30, 40, 14)):
        ws.column_dimensions[col].width = w
    ws.freeze_panes = "D5"
    _save(wb, out)


# ---------------------------------------------------------------------------
# 2. heldout_city_council.csv
# ---------------------------------------------------------------------------
CC_TITLE = ["Eastmere Borough Council - Corporate Performance Indicators (refreshed November 2026)"]
CC_HEADER = ["Service area", "Priority", "Indicator", "How measured", "Lead officer", "Polarity",
             "2025/26 actual", "Target", "Target date", "Reporting frequency", "System",
             "RAG thresholds", "Improvement action"]
PE, ASC, CS, RES, CD = ("Place & Environment", "Adult Social Care", "Children's Services",
                        "Resources", "Customer & Digital")
W, H, PL = ("Cleaner streets and less waste", "Keep the borough's roads safe and moving",
            "Faster, better planning decisions")
BIG, SMALL = "Bigger is better", "Smaller is better"
CC_ROWS = [
    (PE, W, "Household waste sent for reuse, recycling and composting",
     "Tonnage reused, recycled or composted / total household waste tonnage (NI 192)",
     "Head of Waste Services", BIG, "41.2%", "45%", "31 Mar 2027", "Monthly", "WasteDataFlow",
     "R <40% / A 40-45% / G ≥45%", "Food waste collections extended to flats"),
    (PE, W, "Residual household waste per household",
     "kg of residual (black bin) waste / number of households", "Head of Waste Services", SMALL,
     "498 kg", "470 kg", "2026/27", "Quarterly", "WasteDataFlow", "R >500kg / A 470-500kg / G ≤470kg",
     "Targeted recycling engagement on low-performing rounds"),
    (PE, W, "Missed bin collections per 100,000 collections",
     "Verified missed collections / scheduled collections x 100,000", "Waste Operations Manager",
     SMALL, "62", "50", "March 2027", "Weekly", "Bartec Collective", "R >70 / A 50-70 / G ≤50",
     "Crew briefings and in-cab checks on repeat-miss streets"),
    (PE, W, "Fly-tipping incidents cleared within 2 working days",
     "Incidents cleared within 2 working days / incidents reported", "Street Scene Manager", "",
     "86%", "95%", "31 Mar 2027", "Monthly", "Confirm", "R <85% / A 85-95% / G ≥95%",
     "Weekend rapid-response crew"),
    (PE, W, "Community litter-pick events held",
     "Number of volunteer litter-pick events supported by the council", "Street Scene Manager",
     BIG, "48", "60", "31 Mar 2027", "Quarterly", "Volunteer events log", "R <45 / A 45-60 / G ≥60",
     "Promote events on council social media"),
    (PE, H, "Principal roads where maintenance should be considered",
     "% of A-road length in red condition (SCANNER survey, NI 168)", "Highways Asset Manager",
     SMALL, "4%", "3%", "31 Mar 2027", "Annually", "UKPMS", "R >5% / A 3-5% / G ≤3%",
     "Resurfacing programme prioritised on red-condition lengths"),
    (PE, H, "Potholes repaired within 28 days",
     "Category 2 potholes repaired within 28 days / Category 2 potholes reported",
     "Highways Asset Manager", BIG, "79%", "90%", "March 2027", "Monthly", "Confirm",
     "R <80% / A 80-90% / G ≥90%", "Second patching gang April-September"),
    (PE, H, "Pot-hole repairs completed within 28 days (%)",
     "Category 2 potholes repaired within 28 days / Category 2 potholes reported",
     "Highways Contract Manager", "", "79%", "92%", "31 Mar 2027", "Monthly", "Confirm",
     "R <80% / A 80-92% / G ≥92%", "Performance notice to the term contractor"),
    (PE, H, "Street lighting faults fixed within 5 working days",
     "Faults fixed within 5 working days / faults reported", "TBC", BIG, "88%", "95%",
     "31 Mar 2027", "Monthly", "Mayrise", "R <85% / A 85-95% / G ≥95%",
     "Night scouting of main routes"),
    (PE, PL, "Major planning applications decided within 13 weeks or agreed extension",
     "Majors decided in time / majors decided (PS1/PS2 return)", "Head of Planning", "", "78%",
     "90%", "31 Mar 2027", "Quarterly", "Uniform", "R <60% / A 60-90% / G ≥90%",
     "Planning performance agreements on all majors"),
    (PE, PL, "Minor planning applications decided within 8 weeks or agreed extension",
     "Minors decided in time / minors decided (PS1/PS2 return)", "Head of Planning", BIG, "86%",
     "85%", "31 Mar 2027", "Quarterly", "Uniform", "R <70% / A 70-85% / G ≥85%",
     "Delegated decisions signed off within 2 days"),
    (PE, PL, "Householder applications validated within 5 working days",
     "Applications validated within 5 working days / applications received",
     "Planning Support Manager", "", "64%", "80%", "", "Weekly", "Uniform",
     "R <60% / A 60-75% / G ≥75%", "Validation checklist published online"),
    (PE, PL, "Planning enforcement cases closed within 12 weeks",
     "Cases closed within 12 weeks of opening / cases closed", "Head of Planning", "", "58%",
     "70%", "31 Mar 2027", "Quarterly", "Uniform", "R <50% / A 50-65% / G ≥65%", "-"),
    (ASC, "Help people live independently at home",
     "Older people at home 91 days after discharge into reablement",
     "People 65+ at home 91 days after discharge into reablement / people discharged into reablement (ASCOF 2B)",
     "Director of Adult Social Care", BIG, "81%", "85%", "31 Mar 2027", "Quarterly", "Mosaic",
     "R <78% / A 78-85% / G ≥85%", "Therapy-led reablement reviews at day 10"),
    (ASC, "Help people live independently at home",
     "Permanent admissions to care homes, aged 65+, per 100,000 population",
     "Permanent admissions 65+ / population 65+ x 100,000 (ASCOF 2A)",
     "Head of Adult Social Work", SMALL, "612", "560", "2026/27", "Monthly", "Mosaic",
     "R >650 / A 560-650 / G ≤560", "Panel review of every permanent admission"),
    (ASC, "Help people live independently at home",
     "Care Act assessments completed within 28 days",
     "Assessments completed within 28 days of referral / assessments completed",
     "Head of Adult Social Work", "", "71%", "85%", "March 2027", "As required", "Mosaic",
     "R <70% / A 70-85% / G ≥85%", "Duty team triage of the waiting list"),
    (ASC, "Help people live independently at home", "Adults receiving direct payments",
     "% of people receiving long-term community support who receive a direct payment (ASCOF 1C)",
     "Head of Adult Social Work", BIG, "24%", "28%", "31 Mar 2027", "Quarterly", "Mosaic",
     "R <22% / A 22-26% / G ≥26%", "Offer a direct payment at every review"),
    (ASC, "Help people live independently at home",
     "Commissioned care homes rated Good or Outstanding by CQC",
     "Care homes under contract rated Good or Outstanding / care homes under contract",
     "Head of Commissioning (Adults)", BIG, "76%", "85%", "31 Mar 2027", "Quarterly",
     "CQC data / contracts register", "R <75% / A 75-85% / G ≥85%",
     "Quality assurance visits to homes rated Requires Improvement"),
    (CS, "Keep children safe and help families early",
     "Child protection plans reviewed within timescale",
     "Review conferences held in timescale / review conferences due", "Head of Safeguarding", "",
     "94%", "100%", "31 Mar 2027", "Monthly", "Liquidlogic LCS", "R <90% / A 90-98% / G ≥98%",
     "Independent reviewing officer diary check"),
    (CS, "Keep children safe and help families early",
     "Re-referrals to children's social care within 12 months",
     "Referrals within 12 months of a previous referral / referrals",
     "Head of Children's Front Door", SMALL, "23%", "20%", "31 Mar 2027", "Monthly", "",
     "R >25% / A 20-25% / G ≤20%", "Audit of closed cases at the MASH"),
    (CS, "Keep children safe and help families early",
     "Children in care with three or more placement moves in the year", "",
     "Head of Children in Care", SMALL, "11%", "9%", "March 2027", "Quarterly", "Liquidlogic LCS",
     "R >12% / A 9-12% / G ≤9%", "Placement stability meeting after a second move"),
    (CS, "Keep children safe and help families early",
     "Care leavers aged 19-21 in education, employment or training",
     "Care leavers 19-21 in EET / care leavers 19-21", "Head of Leaving Care", BIG, "52%",
     "Baseline year", "n/a", "Quarterly", "Liquidlogic LCS", "-",
     "Personal adviser EET plan for every care leaver"),
    (RES, "Balance the budget and collect what is due", "Council tax collected in year",
     "Council tax received in year / net collectable debit", "Head of Revenues & Benefits", BIG,
     "95.8%", "96.5%", "31 Mar 2027", "Monthly", "Northgate Revenues",
     "R <95% / A 95-96.5% / G ≥96.5%", "Earlier reminders and attachment of earnings"),
    (RES, "Balance the budget and collect what is due", "Business rates (NNDR) collected in year",
     "NNDR received in year / net collectable debit", "Head of Revenues & Benefits", "",
     "98.1%", "98.5%", "31 Mar 2027", "Monthly", "Northgate Revenues",
     "R <97.5% / A 97.5-98.5% / G ≥98.5%", "Enforcement agent referral after final notice"),
    (RES, "Balance the budget and collect what is due", "Forecast revenue outturn variance",
     "(Forecast outturn - net revenue budget) / net revenue budget",
     "Director of Finance (S151 Officer)", SMALL, "2.4%", "0.5%", "31 Mar 2027", "Monthly",
     "Unit4 ERP", "R >1.5% / A 0.5-1.5% / G ≤0.5%", "Spending controls panel"),
    (RES, "Balance the budget and collect what is due", "Third-party contract savings",
     "Annual saving on re-procured contracts vs previous contract price", "Head of Procurement",
     BIG, "£1.2m", "£1.8m", "31 Mar 2027", "Quarterly", "Unit4 ERP / contracts register",
     "R <£1.0m / A £1.0m-1.8m / G ≥£1.8m", "Re-tender the homecare and residential care frameworks"),
    (RES, "Pay benefits promptly", "Average days to process new Housing Benefit claims",
     "Calendar days from claim received to decision (DWP SHBE)", "Benefits Manager", SMALL,
     "24 days", "20 days", "31 Mar 2027", "Monthly", "Northgate Benefits",
     "R <18 / A 18-20 / G ≥20", "Overtime on the backlog; online document upload"),
    (CD, "Resolve customer contact first time", "Calls answered within 60 seconds",
     "Calls answered within 60 seconds / calls offered", "Customer Services Manager", BIG, "68%",
     "80%", "31 Mar 2027", "Daily", "Genesys Cloud", "R <65% / A 65-80% / G ≥80%",
     "Move back-office staff to the phones at peak hours"),
    (CD, "Resolve customer contact first time", "Enquiries resolved at first point of contact",
     "Enquiries closed at first contact / enquiries received", "Customer Services Manager", "",
     "72%", "80%", "31 Mar 2026", "Monthly", "Genesys Cloud / CRM", "R <70% / A 70-80% / G ≥80%",
     "Knowledge base for the top 20 enquiry types"),
    (CD, "Resolve customer contact first time", "Residents registered for My Account (cumulative)",
     "Total accounts created since launch in 2019", "Digital Services Lead", BIG, "41,300",
     "50,000", "31 Mar 2027", "Monthly", "Granicus", "R <44,000 / A 44,000-50,000 / G ≥50,000",
     "Sign-up drive in libraries and on council tax bills"),
    (CD, "Resolve customer contact first time",
     "Stage 1 complaints responded to within 10 working days",
     "Responses within 10 working days / stage 1 complaints closed", "Customer Services Manager",
     "", "77%", "90%", "March 2027", "Monthly", "iCasework", "R <75% / A 75-90% / G ≥90%",
     "Weekly chase list to heads of service"),
    ("Communications", "n/a", "Positive or neutral local media coverage",
     "Council stories in local media rated positive or neutral / council stories",
     "Head of Communications", BIG, "81%", "85%", "31 Mar 2027", "Monthly",
     "Media monitoring (Vuelio)", "R <75% / A 75-85% / G ≥85%",
     "Proactive briefings to local editors"),
]
CC_FOOTER = ["Source: Performance & Intelligence Team. Statutory indicators are reported to "
             "government; targets agreed by Cabinet, October 2026."]


def build_city_council(out: Path) -> None:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CC_TITLE)
    w.writerow(CC_HEADER)
    for row in CC_ROWS:
        assert len(row) == len(CC_HEADER), row
        w.writerow(row)
    w.writerow([])
    w.writerow(CC_FOOTER)
    out.write_bytes(buf.getvalue().encode("utf-8"))


if __name__ == "__main__":
    build_klinikum(HERE / "heldout_klinikum.xlsx")
    build_city_council(HERE / "heldout_city_council.csv")
    print("wrote heldout_klinikum.xlsx, heldout_city_council.csv")

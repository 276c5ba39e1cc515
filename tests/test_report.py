"""The scorecard report: what each section says (checked against the engine), the PDF and the HTML file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
import subprocess

import pytest

from kpi_model import workspace_file
from kpi_model.engine import Engine
from kpi_model.errors import UnknownKpiError
from kpi_model.formula import SeriesRequest
from kpi_model.models import Workspace
from kpi_model.periods import cadence_grain, is_complete, period_label
from kpi_model.report import ReportError, build_report, render_html, render_pdf
from kpi_model.report.strategy_map import layout_map, map_edges
from kpi_model.status import kpi_value, status

from .conftest import REPO, SAMPLE_WORKSPACE, cli

TODAY = dt.date(2026, 12, 5)
OLIST = REPO.parent / "shared" / "external" / "olist-funnel"


@pytest.fixture(scope="module")
def sample() -> Workspace:
    return workspace_file.load(SAMPLE_WORKSPACE)


@pytest.fixture(scope="module")
def content(sample):
    with Engine.for_workspace(sample, SAMPLE_WORKSPACE.parent) as engine:
        return build_report(sample, engine, as_of=TODAY)


@pytest.fixture(scope="module")
def pdf_text(content, tmp_path_factory) -> list[str]:
    """The PDF's text, page by page (pdftotext; `make test` installs poppler-utils)."""
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: `make test` installs Debian's poppler-utils (see .ci/install-engines)")
    path = tmp_path_factory.mktemp("report") / "report.pdf"
    path.write_bytes(render_pdf(content))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]


# ----------------------------------------------------------------------------- content


def test_every_tile_shows_the_engines_latest_complete_period_and_judges_it(sample, content):
    with Engine.for_workspace(sample, SAMPLE_WORKSPACE.parent) as engine:
        checked = 0
        for tile in content.tiles:
            if not tile.kpi.expression:
                assert tile.series is None and tile.status_label == "not computed"
                continue
            grain = cadence_grain(tile.kpi.cadence)
            series = engine.compute(sample, tile.kpi.id, SeriesRequest(grain=grain))
            complete = [
                p
                for p in series.points
                if p.value is not None and p.dimension is None and is_complete(p.period, grain, TODAY, series.coverage)
            ]
            latest = complete[-1]
            assert tile.latest_label == period_label(latest.period, grain), tile.kpi.id
            assert tile.latest_value == kpi_value(tile.kpi, latest.value), tile.kpi.id
            assert tile.status == status(tile.kpi, latest.value), tile.kpi.id
            checked += 1
    assert checked >= 18


def test_a_tile_says_why_it_has_its_colour_and_what_it_left_out(content):
    tiles = {t.kpi.id: t for t in content.tiles}
    revenue = tiles["web_revenue"]
    assert revenue.status_label == "warning"
    assert revenue.reason == "amber: below warning 52,000", revenue.reason
    assert revenue.target == "64,000" and revenue.due == "2027-10-31" and "critical 46,000" in revenue.thresholds
    nps = tiles["nps"]  # quarterly: 2026-Q4 is still running on 5 December
    assert nps.latest_label == "2026-Q3" and "2026-Q4 so far" in (nps.left_out or "")


def test_unit_pages_follow_units_then_goals(sample, content):
    assert [page.title for page in content.units] == [u.name for u in sample.units]
    sales = content.units[0]
    assert [block.goal.id for block in sales.goals if block.goal] == [g.id for g in sample.goals if g.unit == "sales"]
    assert sum(len(page.tiles) for page in content.units) == len(sample.kpis)


def test_definition_sheets_carry_the_agreed_fields_and_open_findings(content):
    sheets = {s.kpi.id: s for s in content.definitions}
    fields = dict(sheets["conversion_rate"].fields)
    assert fields["Owner"] == "Head of E-commerce"
    assert fields["Target"] == "4.5% by 2027-12-31"
    assert fields["Leading/lagging partner"] == "Web order revenue"
    assert "FROM" in (sheets["conversion_rate"].sql or "")
    assert any("vanity" in message.lower() for _, message, _ in sheets["page_views"].findings)


def test_audit_section_gives_every_kpi_a_verdict_and_compares_with_the_previous_version(sample):
    previous = sample.model_copy(update={"kpis": [k for k in sample.kpis if k.id != "nps"]})
    content = build_report(sample, None, as_of=TODAY, sections=["audit"], previous=previous)
    assert {v.kpi_id for v in content.verdicts} == {k.id for k in sample.kpis}
    assert content.changes is not None and content.changes.kpis_added == ["nps"]
    html = render_html(content)
    assert "KPIs added: nps" in html and 'id="map"' not in html and 'class="page unit"' not in html
    fixed_owner = build_report(
        sample,
        None,
        as_of=TODAY,
        sections=["audit"],
        previous=sample.model_copy(
            update={"kpis": [k.model_copy(update={"owner": None}) if k.id == "csat" else k for k in sample.kpis]}
        ),
    )
    listed = render_html(fixed_owner)
    assert "<strong>Fixed:</strong>" in listed and "Customer satisfaction (CSAT)" in listed.split("<strong>Fixed:")[1]


def test_as_of_moves_the_judged_period(sample):
    with Engine.for_workspace(sample, SAMPLE_WORKSPACE.parent) as engine:
        early = build_report(sample, engine, as_of=dt.date(2026, 10, 15), kpis=["revenue"])
    (tile,) = early.tiles
    assert tile.latest_label == "2026-09", "October is not over on 15 October"
    assert "2026-10 so far" in (tile.left_out or "") and "(data as of 2026-10-15)" in (tile.left_out or "")
    assert any("the audit's verdicts judge the design only" in note for note in early.notes)


def test_unknown_choices_name_what_exists(sample):
    with pytest.raises(ReportError, match=r"unknown unit 'nope'.*operations, sales, service"):
        build_report(sample, None, units=["nope"])
    with pytest.raises(ReportError, match="unknown section 'mapp'"):
        build_report(sample, None, sections=["mapp"])
    with pytest.raises(UnknownKpiError, match="unknown KPI 'revenu'; did you mean 'revenue'"):
        build_report(sample, None, kpis=["revenu"])


@pytest.mark.skipif(not (OLIST / "olist_closed_deals_dataset.csv").is_file(), reason="Olist data absent")
def test_on_olist_the_partial_last_month_is_shown_not_judged(tmp_path):
    from .test_coverage import DEALS_CSV, OLIST_KPIS

    document = {
        "name": "Olist",
        "units": [{"id": "sales", "name": "Sales"}],
        "goals": [{"id": "grow", "unit": "sales", "statement": "Grow the seller base"}],
        "sources": [{"name": "deals", "path": str(DEALS_CSV)}],
        "kpis": [OLIST_KPIS[0]],  # deals won, warning 40, critical 10
    }
    workspace = Workspace.model_validate(document)
    with Engine.for_workspace(workspace, tmp_path) as engine:
        content = build_report(workspace, engine, as_of=TODAY)
    (tile,) = content.tiles
    assert (tile.latest_label, tile.latest_value, tile.status_label) == ("2018-10", "21", "warning")
    assert "2018-11 so far: 6, partial (data as of 2018-11-14)" in (tile.left_out or "")
    assert [(c.name, c.first, c.as_of) for c in content.coverage] == [
        ("deals", dt.date(2017, 12, 5), dt.date(2018, 11, 14))
    ]
    svg = render_html(content)
    assert 'data-period="2018-11-01" data-value="6.0" data-state="partial"' in svg
    assert 'data-period="2018-10-01" data-value="21.0" data-state="complete"' in svg


# ----------------------------------------------------------------------------- strategy map


def test_the_map_draws_pairs_and_driver_edges_without_overlapping_boxes(sample):
    edges = {(e.source, e.target, e.kind) for e in map_edges(sample, sample.kpis)}
    assert ("mqls", "deals_won", "leads") in edges
    assert {("sessions", "web_revenue", "drives"), ("conversion_rate", "web_revenue", "drives")} <= edges
    assert not any(target == "mqls" for _, target, kind in edges if kind == "leads"), "arrows run leading → lagging"
    layout = layout_map(sample, sample.kpis)
    boxes = [n for n in layout.nodes if n.kind == "kpi"]
    assert len(boxes) == len(sample.kpis)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = a.x + a.width <= b.x or b.x + b.width <= a.x or a.y + a.height <= b.y or b.y + b.height <= a.y
            assert apart, (a.id, b.id)
    by_id = {n.id: n for n in boxes}
    assert by_id["sessions"].x < by_id["web_revenue"].x, "an input stands left of what it drives"


# ----------------------------------------------------------------------------- HTML and PDF


def test_html_is_one_self_contained_file(content):
    html = render_html(content)
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert set(re.findall(r"url\(([^)]*)\)", html)) <= {"#arrow-leads", "#arrow-drives"}, "only the map's arrowheads"
    targets = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert targets and all(t.startswith("#") for t in targets), [t for t in targets if not t.startswith("#")]
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html


def test_every_unit_section_has_a_chart(content):
    html = render_html(content)
    sections = re.split(r'<section class="page unit"', html)[1:]
    assert len(sections) == len(content.units)
    for section in sections:
        assert '<svg xmlns="http://www.w3.org/2000/svg" class="trend"' in section.split("</section>")[0]


def test_hostile_names_are_escaped_and_nothing_is_fetched(sample, tmp_path):
    canary = tmp_path / "canary.txt"
    canary.write_text("CANARY-7f3a", encoding="utf-8")
    nasty = f'<img src="file://{canary}"><script>alert(1)</script>'
    kpis = [k.model_copy(update={"name": nasty if k.id == "revenue" else k.name}) for k in sample.kpis]
    workspace = sample.model_copy(update={"kpis": kpis, "name": f"{nasty} & co"})
    content = build_report(workspace, None, as_of=TODAY)
    html = render_html(content)
    assert "<script>" not in html and "<img" not in html and "&lt;script&gt;" in html
    pdf = render_pdf(content)
    assert pdf.startswith(b"%PDF") and b"CANARY-7f3a" not in pdf


def test_pdf_has_cover_map_a_page_per_unit_and_a_sheet_per_kpi(sample, content, pdf_text):
    pages = pdf_text
    assert "Scorecard report" in pages[0] and sample.name in pages[0]
    assert "Strategy map" in pages[1]
    text = "\n".join(pages)
    flat = " ".join(text.split())
    for unit in sample.units:
        assert any(page.lstrip().startswith(unit.name) for page in pages), unit.name
    for kpi in sample.kpis:
        assert kpi.name in flat, kpi.name
    sheets = [page for page in pages if "KPI definition sheet" in [line.strip() for line in page.splitlines()]]
    assert len(sheets) == len(sample.kpis), "one page per definition sheet"
    assert "Audit summary for the board" in pages[-1] or "Audit summary for the board" in pages[-2]
    # A unit page carries its charts: their first and last period labels are on it.
    for unit in sample.units:
        first = next(page for page in pages if page.lstrip().startswith(unit.name))
        assert "2024-11" in first and "target" in first, unit.name


def test_cli_report_writes_pdf_and_html_and_refuses_to_overwrite(tmp_path):
    pdf = tmp_path / "report.pdf"
    result = cli("report", str(SAMPLE_WORKSPACE), "-o", str(pdf), "--unit", "service", "--sections", "cover,units")
    assert result.returncode == 0, result.stderr
    assert pdf.read_bytes().startswith(b"%PDF") and "1 unit page(s)" in result.stdout
    again = cli("report", str(SAMPLE_WORKSPACE), "-o", str(pdf))
    assert again.returncode == 2 and "add --force" in again.stderr
    html = tmp_path / "report.html"
    result = cli("report", str(SAMPLE_WORKSPACE), "-o", str(html), "--format", "html", "--kpi", "csat")
    assert result.returncode == 0, result.stderr
    text = html.read_text(encoding="utf-8")
    assert "Customer satisfaction (CSAT)" in text and "Web shop sessions" not in text
    bad = cli("report", str(SAMPLE_WORKSPACE), "-o", str(tmp_path / "x.pdf"), "--unit", "nope")
    assert bad.returncode == 2 and "unknown unit 'nope'" in bad.stderr
    assert not (tmp_path / "x.pdf").exists(), "nothing written for a refused report"


def test_the_cover_counts_statuses_and_kpis_not_computed_apart(content):
    counts = content.status_counts
    assert counts["not computed"] == 1, "the checkout abandonment rate has no formula yet"
    assert counts["no thresholds"] == 0
    assert sum(counts.values()) == len(content.tiles)
    assert counts["warning"] == sum(1 for t in content.tiles if t.status_label == "warning") == 3


def _path_points(d: str) -> list[tuple[float, float]]:
    """Points along an SVG path of M/H/V/C commands, the curves sampled."""
    points: list[tuple[float, float]] = []
    x = y = 0.0
    for command, args in re.findall(r"([MHVC])([^MHVC]*)", d):
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", args)]
        if command == "M":
            x, y = numbers
            points.append((x, y))
        elif command in "HV":
            target = numbers[0]
            for step in range(1, 21):
                t = step / 20
                points.append((x + (target - x) * t, y) if command == "H" else (x, y + (target - y) * t))
            x, y = (target, y) if command == "H" else (x, target)
        else:
            (c1x, c1y, c2x, c2y, ex, ey) = numbers
            for step in range(1, 41):
                t = step / 40
                u = 1 - t
                bx = u**3 * x + 3 * u * u * t * c1x + 3 * u * t * t * c2x + t**3 * ex
                by = u**3 * y + 3 * u * u * t * c1y + 3 * u * t * t * c2y + t**3 * ey
                points.append((bx, by))
            x, y = ex, ey
    return points


def test_no_arrow_of_the_map_runs_through_a_box_it_does_not_join(sample):
    from kpi_model.report.strategy_map import map_svg

    per_session = {
        "id": "rev_per_session",
        "name": "Revenue per session",
        "source": None,
        "expression": "web_revenue / sessions",  # sessions is two columns to the left: the arrow skips one
        "kind": None,
        "pairs_with": None,
    }
    workspace = sample.model_copy(update={"kpis": [*sample.kpis, sample.kpis[0].model_copy(update=per_session)]})
    layout = layout_map(workspace, workspace.kpis)
    boxes = {n.id: n for n in layout.nodes if n.kind == "kpi"}
    svg = map_svg(layout, {}, {})
    paths = re.findall(r'<path d="([^"]+)"[^>]*data-from="([^"]+)" data-to="([^"]+)"', svg)
    assert any(target == "rev_per_session" and source == "sessions" for _, source, target in paths)
    for d, source, target in paths:
        for px, py in _path_points(d):
            for box in boxes.values():
                if box.id in (source, target):
                    continue
                inside = box.x + 1 < px < box.x + box.width - 1 and box.y + 1 < py < box.y + box.height - 1
                assert not inside, f"{source} → {target} crosses {box.id} at ({px:.0f}, {py:.0f})"


def test_the_page_footer_prints_the_title_as_written(sample, tmp_path):
    content = build_report(sample.model_copy(update={"name": 'R&D "scorecard" </style>'}), None, as_of=TODAY)
    html = render_html(content)
    assert r'content: "R\26 D \22 scorecard\22  \3c \2f style\3e  · as of 2026-12-05"' in html
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(render_pdf(content))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert 'R&D "scorecard" </style> · as of 2026-12-05' in text and "&amp;" not in text


def test_a_kpi_with_no_complete_period_is_not_judged_not_without_thresholds(sample):
    with Engine.for_workspace(sample, SAMPLE_WORKSPACE.parent) as engine:
        early = build_report(sample, engine, as_of=dt.date(2024, 11, 20), kpis=["revenue"])
    (tile,) = early.tiles
    assert tile.kpi.thresholds is not None and tile.status_label == "not judged"
    assert early.status_counts["not judged"] == 1 and early.status_counts["no thresholds"] == 0


def test_the_chart_scale_follows_complete_periods_and_labels_a_partial_one_outside_it():
    from kpi_model.engine import Point, Series
    from kpi_model.models import Kpi
    from kpi_model.periods import Coverage
    from kpi_model.report.svg import trend_svg

    kpi = Kpi(id="o", name="Orders", unit_of_measure="count")
    points = [Point(period=dt.date(2026, m, 1), value=1100.0 + m, rows=1) for m in range(1, 11)]
    points.append(Point(period=dt.date(2026, 11, 1), value=153.0, rows=1))  # a few days of November
    series = Series(kpi_id="o", request=SeriesRequest(grain="month"), points=points)
    series = dataclasses.replace(series, coverage=Coverage(dt.date(2026, 1, 1), dt.date(2026, 11, 4)))
    svg = trend_svg(kpi, series, TODAY)
    labels = re.findall(r'text-anchor="end"[^>]*>([^<]+)</text>', svg)
    assert "1,110" in labels and "1,101" in labels and "153" not in labels, labels
    assert "partial: 153" in svg


def test_cli_report_with_a_missing_data_file_shows_the_rest(tmp_path):
    folder = tmp_path / "ws"
    shutil.copytree(SAMPLE_WORKSPACE.parent, folder)
    (folder / "data" / "survey_responses.csv").unlink()
    out = tmp_path / "r.html"
    result = cli("report", str(folder / "workspace.yaml"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "source 'survey_responses': its file is missing" in result.stderr
    html = out.read_text(encoding="utf-8")
    assert "Net Promoter Score" in html and "10,359" in html, "the other KPIs keep their values"
    assert out.read_bytes().startswith(b"<!DOCTYPE html>"), "the format follows the .html suffix"
    assert f"({out.stat().st_size:,} bytes)" in result.stdout


def test_cli_report_refuses_a_bad_output_before_any_work(tmp_path):
    mismatch = cli("report", str(SAMPLE_WORKSPACE), "-o", str(tmp_path / "r.html"), "--format", "pdf")
    assert mismatch.returncode == 2 and "ends in .html but --format is pdf" in mismatch.stderr
    folder = cli("report", str(SAMPLE_WORKSPACE), "-o", str(tmp_path), "--force")
    assert folder.returncode == 2 and "is a folder" in folder.stderr
    nowhere = cli("report", str(SAMPLE_WORKSPACE), "-o", str(tmp_path / "no" / "r.pdf"))
    assert nowhere.returncode == 2 and "does not exist" in nowhere.stderr


def test_a_workspace_without_kpis_gets_a_report_error_that_says_so():
    with pytest.raises(ReportError, match="the workspace has no KPIs yet"):
        build_report(Workspace(name="empty"), None)


def test_a_large_set_gets_one_map_per_unit(sample):
    many = [
        k.model_copy(update={"id": f"{k.id}_{n}", "name": f"{k.name} {n}", "pairs_with": None})
        for n in range(3)
        for k in sample.kpis
    ]
    content = build_report(sample.model_copy(update={"kpis": many}), None, as_of=TODAY, sections=["map"])
    html = render_html(content)
    assert html.count('class="strategy-map"') == len(sample.units), "one map per unit past 40 boxes"
    assert "One map per unit" in html
    small = render_html(build_report(sample, None, as_of=TODAY, sections=["map"]))
    assert small.count('class="strategy-map"') == 1


def test_the_apps_report_is_made_in_a_job_that_a_deadline_stops(sample, tmp_path):
    from kpi_model.isolation import JobTimeout
    from kpi_model.report.job import make_report

    html = make_report(sample, None, fmt="html").decode("utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Web shop sessions" in html
    with pytest.raises(JobTimeout, match=r"Making the PDF report took longer than 0.5 s.*kpi-wizard report --unit"):
        make_report(sample, None, fmt="pdf", timeout_s=0.5)

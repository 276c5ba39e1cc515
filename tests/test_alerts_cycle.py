"""Review dates, KPIs due for review, and `kpi-wizard cycle` (new baselines from complete periods)."""

from __future__ import annotations

import datetime as dt

import pytest

from kpi_model import workspace_file
from kpi_model.alerts import due_for_review, review_dates, start_cycle
from kpi_model.alerts.evaluation import KpiReading
from kpi_model.cli import main
from kpi_model.engine import Engine
from kpi_model.formula import SeriesRequest
from kpi_model.models import Kpi, Workspace
from kpi_model.periods import add_periods
from kpi_model.status import Status, latest_of

from .conftest import SAMPLE_WORKSPACE

TODAY = dt.date(2026, 12, 5)


@pytest.mark.parametrize(
    ("day", "grain", "expected"),
    [
        (dt.date(2026, 1, 31), "month", dt.date(2026, 2, 28)),
        (dt.date(2028, 1, 31), "month", dt.date(2028, 2, 29)),
        (dt.date(2026, 11, 16), "quarter", dt.date(2027, 2, 16)),
        (dt.date(2026, 12, 31), "day", dt.date(2027, 1, 1)),
        (dt.date(2026, 12, 30), "week", dt.date(2027, 1, 6)),
        (dt.date(2024, 2, 29), "year", dt.date(2025, 2, 28)),
    ],
)
def test_add_periods_keeps_the_day_and_clamps_it_to_the_month(day, grain, expected):
    assert add_periods(day, 1, grain) == expected
    if day.day <= 28:  # a day every month has: going back undoes going forward
        assert add_periods(expected, -1, grain) == day


def test_due_for_review_is_review_date_plus_cadence():
    sample = workspace_file.load(SAMPLE_WORKSPACE)
    due = due_for_review(sample, TODAY)
    assert [d.kpi_id for d in due] == ["csat"], "csat was last reviewed 2026-03-31; the others 2026-11-16"
    dates = {d.kpi_id: d for d in review_dates(sample, TODAY)}
    assert dates["sessions"].next == dt.date(2026, 12, 16) and not dates["sessions"].due
    assert dates["nps"].next == dt.date(2027, 2, 16), "quarterly"
    assert dates["csat"].text == "due since 2026-04-30"
    assert {d.kpi_id for d in due_for_review(sample, dt.date(2026, 12, 16))} == {
        k.id for k in sample.kpis if k.cadence and k.cadence.value == "monthly"
    }
    bare = Workspace(name="x", kpis=[Kpi(id="a", name="A")])
    assert review_dates(bare, TODAY)[0].text.startswith("no review_date set")


def test_start_cycle_takes_complete_values_only_and_keeps_the_rest():
    ws = Workspace(name="x", kpis=[Kpi(id="a", name="A"), Kpi(id="b", name="B"), Kpi(id="c", name="C")])
    readings = [
        KpiReading("a", "A", "month", Status.GREEN, "2026-10", 12.5, "12.50"),
        KpiReading("b", "B", "month", None, note="no complete month yet: partial periods are not judged"),
    ]
    cycle = start_cycle(ws, readings, TODAY)
    a = cycle.workspace.kpi("a")
    assert a is not None and a.baseline is not None
    assert (a.baseline.value, a.baseline.period, a.review_date) == (12.5, "2026-10", TODAY)
    assert cycle.workspace.kpi("b") == ws.kpi("b") and "partial" in cycle.skipped["b"]
    assert "c" in cycle.skipped
    assert ws.kpi("a").baseline is None, "the workspace given is not changed"  # type: ignore[union-attr]


def test_cycle_command_writes_new_baselines_from_the_engine(tmp_path, capsys):
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "data").symlink_to(SAMPLE_WORKSPACE.parent / "data")
    source = folder / "workspace.yaml"
    source.write_text(SAMPLE_WORKSPACE.read_text())
    output = tmp_path / "ws" / "next.yaml"
    code = main(["cycle", str(source), "-o", str(output), "--as-of", TODAY.isoformat()])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "were due for review: csat" in out and "set new targets" in out
    assert source.read_text() == SAMPLE_WORKSPACE.read_text(), "the old baselines stay where they were"
    new, old = workspace_file.load(output), workspace_file.load(source)
    with Engine.for_workspace(old, folder) as engine:
        series = engine.compute(old, "web_revenue", SeriesRequest(grain="month"))
    latest = latest_of(series, TODAY)
    kpi = new.kpi("web_revenue")
    assert latest is not None and kpi is not None and kpi.baseline is not None
    assert kpi.baseline.value == pytest.approx(latest.value) and kpi.baseline.period == "2026-10"
    assert kpi.review_date == TODAY
    assert new.kpi("nps").baseline.period == "2026-Q3"  # type: ignore[union-attr]
    assert new.kpi("cart_abandonment_rate") == old.kpi("cart_abandonment_rate"), "no formula: kept as it was"
    assert "cart_abandonment_rate: kept" in out
    assert due_for_review(new, TODAY) == []
    assert main(["cycle", str(source), "-o", str(output)]) == 2, "an existing file is not replaced without --force"

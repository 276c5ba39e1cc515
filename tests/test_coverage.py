"""Coverage-aware periods: a period counts only when the data covers it from its first to its last day.

One rule (:func:`kpi_model.periods.is_complete`) decides, for the Dashboard, the Preview, the CLI and
every what-if; these tests pin the rule, the engine's coverage, and the pages and CLI on the real
Olist data (deals 2017-12-05 … 2018-11-14, leads 2017-06-14 … 2018-05-31).
"""

from __future__ import annotations

import datetime as dt
import io
import json

import duckdb
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from kpi_model.engine import Engine, EnginePool, Point
from kpi_model.formula import SeriesRequest
from kpi_model.models import Workspace
from kpi_model.periods import (
    Coverage,
    complete_points,
    complete_values,
    is_complete,
    partial_points,
    period_end,
)
from kpi_model.status import latest_of, latest_point, unjudged_note

from .conftest import REPO, cli

OLIST = REPO.parent / "shared" / "external" / "olist-funnel"
DEALS_CSV = OLIST / "olist_closed_deals_dataset.csv"
LEADS_CSV = OLIST / "olist_marketing_qualified_leads_dataset.csv"
needs_olist = pytest.mark.skipif(
    not DEALS_CSV.is_file(), reason=f"real public data absent: {OLIST} (see ../shared/external/README)"
)
TODAY = dt.date(2026, 12, 5)
D = dt.date


# ----------------------------------------------------------------------------- the rule


def test_period_end_is_the_last_day():
    assert period_end(D(2026, 2, 1), "month") == D(2026, 2, 28)
    assert period_end(D(2026, 10, 1), "quarter") == D(2026, 12, 31)
    assert period_end(D(2026, 11, 30), "week") == D(2026, 12, 6)
    assert period_end(D(2026, 11, 30), "day") == D(2026, 11, 30)


def test_data_that_ends_mid_month_leaves_that_month_partial():
    coverage = Coverage(D(2018, 1, 1), D(2018, 11, 14))
    assert is_complete(D(2018, 10, 1), "month", TODAY, coverage)
    assert not is_complete(D(2018, 11, 1), "month", TODAY, coverage), "6 deals up to the 14th are not November"
    assert is_complete(D(2018, 11, 1), "month", TODAY), "the calendar alone would call it complete"
    assert not is_complete(D(2018, 10, 1), "quarter", TODAY, coverage)
    assert is_complete(D(2018, 11, 14), "day", TODAY, coverage), "the last day with data counts, to the day"


def test_data_that_starts_mid_month_leaves_the_first_month_partial():
    coverage = Coverage(D(2017, 6, 14), D(2018, 5, 31))
    assert not is_complete(D(2017, 6, 1), "month", TODAY, coverage)
    assert is_complete(D(2017, 7, 1), "month", TODAY, coverage)


def test_daily_data_ending_on_the_last_day_of_the_month_completes_it():
    coverage = Coverage(D(2017, 6, 1), D(2018, 5, 31))
    assert is_complete(D(2018, 5, 1), "month", TODAY, coverage)
    assert not is_complete(D(2018, 4, 1), "quarter", TODAY, coverage), "Q2 runs to June 30"
    assert not is_complete(D(2018, 6, 1), "month", TODAY, coverage), "no data in June at all"


def test_the_calendar_still_decides_a_running_or_future_period():
    coverage = Coverage(D(2026, 1, 1), D(2027, 3, 27))  # a mistyped date in 2027
    assert is_complete(D(2026, 11, 1), "month", TODAY, coverage)
    assert not is_complete(D(2026, 12, 1), "month", TODAY, coverage), "December is still running"
    assert not is_complete(D(2027, 3, 1), "month", TODAY, coverage)


def test_working_day_data_need_not_reach_a_weekend_at_either_edge():
    # 2026-10-31 is a Saturday; 2026-11-01 a Sunday.
    weekdays = Coverage(D(2026, 11, 2), D(2026, 10, 30) + dt.timedelta(days=63), working_days=True)
    assert is_complete(D(2026, 11, 1), "month", TODAY, weekdays), "data from Monday 2 November covers November"
    purchases = Coverage(D(2024, 11, 1), D(2026, 10, 30), working_days=True)
    assert is_complete(D(2026, 10, 1), "month", TODAY, purchases), "POs to Friday 30 October cover October"
    assert not is_complete(D(2026, 10, 1), "month", TODAY, Coverage(D(2024, 11, 1), D(2026, 10, 30))), (
        "data with weekend rows must reach the last day"
    )
    assert not is_complete(D(2026, 10, 31), "day", TODAY, purchases), "a weekend day itself is not covered"


def test_coverage_overlap_and_range():
    deals = Coverage(D(2017, 12, 5), D(2018, 11, 14))
    leads = Coverage(D(2017, 6, 14), D(2018, 5, 31))
    assert deals.overlap(leads) == Coverage(D(2017, 12, 5), D(2018, 5, 31))
    assert deals.overlap(Coverage(D(2019, 1, 1), D(2019, 2, 1))) is None
    assert deals.within(D(2018, 1, 15), D(2018, 6, 30)) == Coverage(D(2018, 1, 15), D(2018, 6, 30))
    assert deals.within(D(2019, 1, 1), None) is None
    assert deals.as_of_text() == "data as of 2018-11-14"
    assert deals.as_dict() == {"first": "2017-12-05", "last": "2018-11-14", "working_days": False}


def test_complete_points_on_plain_points_and_on_values():
    points = [Point(D(2018, m, 1), float(m), m) for m in range(9, 12)]
    coverage = Coverage(D(2018, 1, 1), D(2018, 11, 14))
    assert [p.period.month for p in complete_points(points, "month", coverage=coverage, today=TODAY)] == [9, 10]
    assert [p.period.month for p in partial_points(points, "month", coverage=coverage, today=TODAY)] == [11]
    assert complete_values(points, "month", coverage=coverage, today=TODAY) == {
        D(2018, 9, 1): 9.0,
        D(2018, 10, 1): 10.0,
    }
    assert latest_point(points, "month", TODAY, coverage=coverage).period == D(2018, 10, 1)


# ----------------------------------------------------------------------------- the engine


def _workspace(**extra) -> Workspace:
    return Workspace.model_validate(
        {
            "name": "coverage",
            "kpis": [
                {"id": "sales", "name": "Sales", "source": "sales", "expression": "sum(amount)", "time_column": "day"},
                {"id": "visits", "name": "Visits", "source": "visits", "expression": "count(*)", "time_column": "at"},
                {"id": "per_visit", "name": "Sales per visit", "expression": "sales / visits"},
            ],
            **extra,
        }
    )


@pytest.fixture
def engine():
    connection = duckdb.connect()
    # Daily sales 2026-01-01 … 2026-05-31 (ends on a month's last day), visits 2026-01-10 … 2026-04-17 09:30.
    connection.execute(
        "CREATE TABLE sales AS SELECT d::DATE AS day, 10 AS amount "
        "FROM range(DATE '2026-01-01', DATE '2026-06-01', INTERVAL 1 DAY) t(d)"
    )
    connection.execute(
        "CREATE TABLE visits AS SELECT d + INTERVAL 9 HOUR + INTERVAL 30 MINUTE AS at "
        "FROM range(TIMESTAMP '2026-01-10', TIMESTAMP '2026-04-18', INTERVAL 1 DAY) t(d)"
    )
    with Engine(connection) as engine:
        yield engine


def test_series_carries_its_coverage_and_a_complete_flag_per_period(engine):
    workspace = _workspace()
    sales = engine.compute(workspace, "sales")
    assert sales.coverage == Coverage(D(2026, 1, 1), D(2026, 5, 31))
    assert [r["complete"] for r in sales.as_records(TODAY)] == [True] * 5, "daily data to 31 May completes May"
    visits = engine.compute(workspace, "visits")
    assert visits.coverage == Coverage(D(2026, 1, 10), D(2026, 4, 17)), "timestamps count to the day"
    flags = {r["period"]: r["complete"] for r in visits.as_records(TODAY)}
    assert flags == {"2026-01-01": False, "2026-02-01": True, "2026-03-01": True, "2026-04-01": False}
    assert latest_of(visits, TODAY).period == D(2026, 3, 1)


def test_a_derived_kpi_is_complete_where_all_its_inputs_are(engine):
    derived = engine.compute(_workspace(), "per_visit")
    assert derived.coverage == Coverage(D(2026, 1, 10), D(2026, 4, 17))
    assert [p.period.month for p in complete_points(derived, today=TODAY)] == [2, 3]


def test_a_requested_date_range_narrows_the_coverage(engine):
    series = engine.compute(_workspace(), "sales", SeriesRequest(start=D(2026, 2, 1), end=D(2026, 4, 15)))
    assert series.coverage == Coverage(D(2026, 2, 1), D(2026, 4, 15))
    assert {r["period"]: r["complete"] for r in series.as_records(TODAY)} == {
        "2026-02-01": True,
        "2026-03-01": True,
        "2026-04-01": False,
    }


def test_working_day_sources_are_recognised(engine):
    engine._connection.execute(  # a locked session still creates tables in memory
        "CREATE TABLE pos AS SELECT d::DATE AS day, 1 AS amount FROM range(DATE '2026-09-01', DATE '2026-10-31', "
        "INTERVAL 1 DAY) t(d) WHERE isodow(d) <= 5"
    )
    engine.forget()
    workspace = Workspace.model_validate(
        {
            "name": "w",
            "kpis": [{"id": "po", "name": "POs", "source": "pos", "expression": "count(*)", "time_column": "day"}],
        }
    )
    series = engine.compute(workspace, "po")
    assert series.coverage == Coverage(D(2026, 9, 1), D(2026, 10, 30), working_days=True)
    assert all(r["complete"] for r in series.as_records(TODAY)), "Saturday 31 October needs no purchase order"


# ----------------------------------------------------------------------------- Olist, end to end


def _olist_engine() -> Engine:
    connection = duckdb.connect()
    connection.execute(f"CREATE TABLE deals AS SELECT * FROM read_csv('{DEALS_CSV}')")
    connection.execute(f"CREATE TABLE leads AS SELECT * FROM read_csv('{LEADS_CSV}')")
    return Engine(connection)


OLIST_KPIS = [
    {
        "id": "deals",
        "name": "Deals won",
        "goal": "grow",
        "owner": "Head of Sales",
        "source": "deals",
        "expression": "count(*)",
        "time_column": "won_date",
        "unit_of_measure": "count",
        "direction": "up",
        "cadence": "monthly",
        "target": {"value": 100},
        "thresholds": {"warning": 40, "critical": 10},
    },
    {
        "id": "mqls",
        "name": "Marketing-qualified leads",
        "goal": "grow",
        "owner": "Head of Marketing",
        "source": "leads",
        "expression": "count(DISTINCT mql_id)",
        "time_column": "first_contact_date",
        "unit_of_measure": "count",
        "direction": "up",
        "cadence": "monthly",
    },
]


@needs_olist
def test_olist_first_and_last_months_are_partial_and_never_judged():
    workspace = Workspace.model_validate({"name": "Olist", "kpis": OLIST_KPIS})
    with _olist_engine() as engine:
        deals = engine.compute(workspace, "deals")
        leads = engine.compute(workspace, "mqls")
    assert deals.coverage == Coverage(D(2017, 12, 5), D(2018, 11, 14))
    assert [p.period for p in partial_points(deals, today=TODAY)] == [D(2017, 12, 1), D(2018, 11, 1)]
    assert [p.period for p in partial_points(leads, today=TODAY)] == [D(2017, 6, 1)], "May 2018 ends on the 31st"
    judged = latest_of(deals, TODAY)
    assert (judged.period, judged.value) == (D(2018, 10, 1), 21.0), "not November's 6 deals"
    assert unjudged_note(deals, judged, TODAY, unit="count") == (
        "Status of 2018-10, the latest complete month; 2018-11 so far: 6, partial (data as of 2018-11-14), not judged."
    )
    assert D(2018, 11, 1) not in complete_values(deals, today=TODAY)
    assert D(2017, 12, 1) not in complete_values(deals, today=TODAY)


def _olist_workspace_file(tmp_path) -> str:
    document = {
        "name": "Olist funnel",
        "units": [{"id": "sales", "name": "Sales", "owner": "Head of Sales"}],
        "goals": [{"id": "grow", "unit": "sales", "statement": "Grow the seller base"}],
        "sources": [{"name": "deals", "path": str(DEALS_CSV)}, {"name": "leads", "path": str(LEADS_CSV)}],
        "kpis": OLIST_KPIS,
    }
    path = tmp_path / "olist.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return str(path)


@needs_olist
def test_cli_compute_on_olist_marks_partial_months_and_says_data_as_of(tmp_path):
    workspace = _olist_workspace_file(tmp_path)
    result = cli("compute", workspace, "--format", "json")
    assert result.returncode == 0, result.stderr
    out = {item["id"]: item for item in json.loads(result.stdout)}
    deals = {p["period"]: p for p in out["deals"]["series"]}
    assert out["deals"]["data_as_of"] == "2018-11-14"
    assert out["deals"]["coverage"]["first"] == "2017-12-05"
    assert deals["2018-11-01"]["complete"] is False and deals["2018-11-01"]["value"] == 6
    assert deals["2017-12-01"]["complete"] is False
    assert all(p["complete"] for period, p in deals.items() if period not in ("2017-12-01", "2018-11-01"))
    leads = {p["period"]: p["complete"] for p in out["mqls"]["series"]}
    assert leads["2017-06-01"] is False and leads["2018-05-01"] is True
    assert "data as of 2018-11-14 (deals)" in result.stderr and "data as of 2018-05-31 (mqls)" in result.stderr

    text = cli("compute", workspace, "--kpi", "deals")
    assert text.returncode == 0, text.stderr
    assert "deals,2018-11-01,6.0,6,false" in text.stdout.splitlines()
    assert "deals,2018-10-01,21.0,21,true" in text.stdout.splitlines()
    assert "data as of 2018-11-14" in text.stderr and "deals 2017-12, 2018-11" in text.stderr


# ----------------------------------------------------------------------------- the pages, on Olist

WS_ID = "ws-olist-0001"


@pytest.fixture
def olist_app(tmp_path, monkeypatch):
    return _olist_app(tmp_path, monkeypatch, OLIST_KPIS)


# MQLs paired as the leading KPI of deals, for the lead/lag page.
PAIRED_OLIST_KPIS = [
    {**OLIST_KPIS[0], "kind": "lagging", "pairs_with": "mqls"},
    {**OLIST_KPIS[1], "kind": "leading", "pairs_with": "deals"},
]


def _olist_app(tmp_path, monkeypatch, kpis):
    from kpi_model.datastore import DataStore
    from kpi_model.store import WorkspaceStore

    root = tmp_path / "store"
    monkeypatch.setenv("KPI_WIZARD_HOME", str(root))
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    workspace = Workspace.model_validate(
        {
            "name": "Olist funnel",
            "units": [{"id": "sales", "name": "Sales", "owner": "Head of Sales"}],
            "goals": [{"id": "grow", "unit": "sales", "statement": "Grow the seller base"}],
            "sources": [{"name": "deals"}, {"name": "leads"}],
            "kpis": kpis,
        }
    )
    WorkspaceStore(root).save(WS_ID, workspace)
    pool = EnginePool()
    data = DataStore(root / WS_ID, pool)
    data.upload("deals.csv", io.BytesIO(DEALS_CSV.read_bytes()), table="deals")
    data.upload("leads.csv", io.BytesIO(LEADS_CSV.read_bytes()), table="leads")
    pool.release(data.db_path)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params["ws"] = WS_ID
    at.run()
    assert not at.exception, at.exception
    return at


def _captions(at: AppTest) -> list[str]:
    return [c.value.replace("\\", "") for c in at.caption]


@needs_olist
def test_dashboard_on_olist_judges_october_and_names_november_partial(olist_app):
    at = olist_app
    at.switch_page("pages/dashboard.py").run()
    assert not at.exception, at.exception
    shown = {m.label.replace("\\", ""): m.value for m in at.metric}
    assert shown["Deals won"] == "21", "2018-10, not November's 6 deals"
    assert shown["Marketing-qualified leads"] == "1,303", "May 2018: the leads run to its last day"
    badges = [m.value.replace("\\", "") for m in at.markdown if "-badge[" in m.value]
    assert badges[0].startswith(":orange-badge[warning] · 2018-10 · "), badges
    captions = _captions(at)
    assert any("Data as of 2018-05-31 to 2018-11-14" in c for c in captions), captions
    assert any(
        "Status of 2018-10, the latest complete month; 2018-11 so far: 6, partial (data as of 2018-11-14)" in c
        for c in captions
    ), captions
    assert any(c == "Data as of 2018-05-31." for c in captions), "the leads tile, with nothing left out"


@needs_olist
def test_preview_on_olist_stripes_partial_months_and_judges_the_last_complete_one(olist_app):
    at = olist_app
    at.switch_page("pages/preview.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="preview_kpi").value == "deals"
    labels = {m.label: m.value for m in at.metric}
    assert labels["Latest (2018-10)"] == "21"
    captions = _captions(at)
    assert any("Data as of 2018-11-14 (from 2017-12-05)" in c for c in captions), captions
    assert any("2018-11 so far: 6, partial" in c for c in captions), captions
    assert any("2 partial period(s)" in c for c in captions), captions
    frame = at.dataframe[0].value
    assert dict(zip(frame["period"], frame["complete"], strict=True))["2018-11"] == False  # noqa: E712
    assert frame["complete"].sum() == len(frame) - 2
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    texts = [layer for layer in spec["layer"] if (layer.get("mark") or {}).get("type") == "text"]
    assert any(layer["encoding"]["text"]["field"] == "label" for layer in texts), "the partial spans are labelled"
    spans = [layer for layer in spec["layer"] if layer["encoding"].get("x2", {}).get("field") == "to"]
    assert spans, "striped spans over the partial months"


@needs_olist
def test_whatif_on_olist_takes_the_last_complete_month_as_baseline_and_says_data_as_of(olist_app):
    at = olist_app
    at.switch_page("pages/whatif.py").run()
    assert not at.exception, at.exception
    at.selectbox(key="whatif_kpi").set_value("deals").run()
    at.text_input(key="whatif_target_deals").input("60").run()
    assert not at.exception, at.exception
    labels = {m.label: m.value for m in at.metric}
    assert "Baseline 2018-10" in labels, "October 2018, not November's 6 deals of a partial month"
    assert labels["Baseline 2018-10"] == "21"
    assert any("Data as of 2018-11-14" in c for c in _captions(at)), _captions(at)


@needs_olist
def test_leadlag_on_olist_pairs_complete_months_only(tmp_path, monkeypatch):
    at = _olist_app(tmp_path, monkeypatch, PAIRED_OLIST_KPIS)
    at.switch_page("pages/whatif.py").run()
    at.segmented_control(key="whatif_tool").set_value("Leading vs lagging").run()
    assert not at.exception, at.exception
    assert (at.selectbox(key="leadlag_lead").value, at.selectbox(key="leadlag_lag_mqls").value) == ("mqls", "deals")
    at.number_input(key="leadlag_max_month").set_value(3).run()
    at.toggle(key="leadlag_differenced").set_value(False).run()
    table = next(d.value for d in at.dataframe if "Lag" in d.value.columns)
    pairs = dict(zip(table["Lag"], table["Pairs"], strict=True))
    # Complete months: MQLs 2017-07 … 2018-05 (June 2017 starts on the 14th), deals 2018-01 … 2018-10
    # (December 2017 starts on the 5th, November 2018 ends on the 14th). Counting a partial month
    # would add a pair at lag 0 (December 2017) and at lag 3 (MQLs of September 2017).
    assert pairs[0] == 5 and pairs[3] == 8, pairs
    assert pairs[-1] == 4, "MQLs 2018-02 … 2018-05 after deals one month earlier"
    message = " ".join(m.value for m in [*at.warning, *at.info, *at.success]).replace("\\", "")
    assert "No evidence of a lead from Marketing-qualified leads to Deals won" in message, message


# ----------------------------------------------------------------------------- the calendar's edges


def test_a_row_dated_9999_12_31_is_a_partial_period_not_a_crash():
    from kpi_model.status import latest_point

    points = [Point(period=D(2026, m, 1), value=10.0, rows=5) for m in range(1, 11)]
    points.append(Point(period=D(9999, 12, 1), value=1.0, rows=1))
    assert period_end(D(9999, 12, 1), "month") == dt.date.max
    assert not is_complete(D(9999, 12, 1), "month", TODAY)
    assert latest_point(points, "month", TODAY).period == D(2026, 10, 1)


def test_periods_past_the_calendar_and_year_zero_get_messages():
    from kpi_model.errors import KpiWizardError
    from kpi_model.periods import parse_baseline_period, shift_period

    with pytest.raises(KpiWizardError, match="outside the calendar"):
        shift_period(D(2026, 1, 1), 10**8, "month")
    with pytest.raises(KpiWizardError, match="years run from 0001 to 9999"):
        parse_baseline_period("0000-01", "month")
    with pytest.raises(ValueError, match="years run from 0001 to 9999"):
        Workspace.model_validate(
            {"name": "w", "kpis": [{"id": "k", "name": "K", "baseline": {"value": 1, "period": "0000-01"}}]}
        )


def test_cli_refuses_a_lag_or_window_past_its_range():
    result = cli(
        "leadlag",
        str(REPO / "sample_data" / "workspace.yaml"),
        "--leading",
        "mqls",
        "--lagging",
        "deals_won",
        "--max-lag",
        "99999",
    )
    assert result.returncode == 2 and "99999 is out of range: give 0 to 60" in result.stderr

"""Driver trees on one base period, goal-seek and named scenarios, against hand calculations."""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import pytest

from kpi_model.engine import Engine, Point
from kpi_model.errors import KpiWizardError, WhatIfError, WorkspaceError
from kpi_model.models import DriverChange, Kpi, Scenario, Source, Target, Workspace
from kpi_model.periods import shift_period
from kpi_model.whatif.driver_base import base_values
from kpi_model.whatif.driver_text import driver_domain
from kpi_model.whatif.drivers import apply_changes
from kpi_model.whatif.goal_seek import goal_seek
from kpi_model.whatif.scenarios import (
    base_from_engine,
    compare_scenarios,
    driver_report,
    parse_change,
    run_scenario,
)
from kpi_model.workspace_file import dumps, loads

D = dt.date
OLIST = Path(__file__).resolve().parents[2] / "shared" / "external" / "olist-funnel"
needs_olist = pytest.mark.skipif(
    not OLIST.is_dir(), reason=f"real public data absent: {OLIST} (see ../shared/external/README.md)"
)


START = D(2026, 1, 1)


def points(values, start=START, grain="month"):
    """One point per consecutive period from ``start`` (None: no point that period)."""
    return [Point(shift_period(start, i, grain), v, 1) for i, v in enumerate(values) if v is not None]


def olist_workspace() -> Workspace:
    """MQLs and closed deals from the real Olist files, and two derived KPIs over them."""
    return Workspace(
        name="Olist funnel",
        sources=[
            Source(name="leads", path=str(OLIST / "olist_marketing_qualified_leads_dataset.csv")),
            Source(name="deals_won", path=str(OLIST / "olist_closed_deals_dataset.csv")),
        ],
        kpis=[
            Kpi(id="mqls", name="MQLs", source="leads", expression="count(*)", time_column="first_contact_date",
                unit_of_measure="count", cadence="monthly"),
            Kpi(id="deals", name="Closed deals", source="deals_won", expression="count(*)", time_column="won_date",
                unit_of_measure="count", cadence="monthly"),
            # A lead is worth 10, a won deal 500: a sum, so each elasticity is the driver's share of the total.
            Kpi(id="pipeline_value", name="Pipeline value", expression="10 * mqls + 500 * deals",
                unit_of_measure="currency", cadence="monthly", target=Target(value=80_000)),
            Kpi(id="win_rate", name="Win rate", expression="deals / mqls", unit_of_measure="percent",
                cadence="monthly", target=Target(value=0.12)),
        ],
    )  # fmt: skip


@pytest.fixture(scope="module")
def olist():
    workspace = olist_workspace()
    with Engine.for_workspace(workspace, OLIST) as engine:
        yield workspace, engine


def _hand_counts() -> tuple[dict[str, int], dict[str, int]]:
    """Leads and deals per month straight from the CSV files, without the tree code or the engine."""
    import duckdb

    connection = duckdb.connect()
    leads = dict(
        connection.execute(
            "SELECT strftime(CAST(first_contact_date AS DATE), '%Y-%m'), count(*) FROM read_csv(?) GROUP BY 1",
            [str(OLIST / "olist_marketing_qualified_leads_dataset.csv")],
        ).fetchall()
    )
    deals = dict(
        connection.execute(
            "SELECT strftime(CAST(won_date AS TIMESTAMP), '%Y-%m'), count(*) FROM read_csv(?) GROUP BY 1",
            [str(OLIST / "olist_closed_deals_dataset.csv")],
        ).fetchall()
    )
    return leads, deals


@needs_olist
def test_olist_tree_is_on_one_period_and_matches_a_hand_computation(olist):
    workspace, engine = olist
    leads, deals = _hand_counts()
    # By hand: the latest month in both files (every month in them is long past, so complete).
    month = max(set(leads) & set(deals))
    assert month == "2018-05"
    assert max(deals) == "2018-11", "deals run on past the leads: the trap the tree fell into"
    value = 10 * leads[month] + 500 * deals[month]
    assert value == 74_030
    share_of_deals = 500 * deals[month] / value

    base = base_from_engine(workspace, engine, "pipeline_value")
    assert base.label == "2018-05" and base.caption == "values of 2018-05" and not base.chosen
    assert base.values == {"mqls": leads[month], "deals": deals[month]}
    assert any("2018-05" in note and "2018-11" in note for note in base.notes), "says why this period"
    report = driver_report(workspace, "pipeline_value", base, seek=["mqls"])
    assert report.values["pipeline_value"] == (value, value)
    elasticities = {s.driver: s.elasticity for s in report.sensitivities}
    assert elasticities["deals"] == pytest.approx(share_of_deals)  # 0.82
    assert elasticities["mqls"] == pytest.approx(1 - share_of_deals)  # 0.18
    assert [s.driver for s in report.sensitivities] == ["deals", "mqls"]
    # Goal-seek by hand: 10·m + 500·122 = 80,000 → m = 1,900.
    (seek,) = report.goal_seeks
    assert seek.status == "reached" and seek.value == pytest.approx((80_000 - 500 * deals[month]) / 10)
    text = report.to_text(workspace)
    assert "values of 2018-05" in text and "74,030" in text

    chosen = base_from_engine(workspace, engine, "pipeline_value", period="2018-03")
    assert chosen.chosen and chosen.values == {"mqls": leads["2018-03"], "deals": deals["2018-03"]}
    averaged = base_from_engine(workspace, engine, "pipeline_value", average_of=3)
    assert averaged.label == "2018-03 to 2018-05"
    assert averaged.values["deals"] == pytest.approx(sum(deals[m] for m in ("2018-03", "2018-04", "2018-05")) / 3)
    with pytest.raises(WhatIfError, match=r"no value in 2018-09 for 'MQLs': 'MQLs' has 2017-06 to 2018-05"):
        base_from_engine(workspace, engine, "pipeline_value", period="2018-09")
    assert base.data_as_of == {"mqls": D(2018, 5, 31), "deals": D(2018, 11, 14)}


@needs_olist
def test_olist_deals_alone_skip_the_partial_last_month(olist):
    """Deals end on 2018-11-14: November is partial (coverage), so a tree on deals alone is on October."""
    workspace, engine = olist
    _, deals = _hand_counts()
    workspace = workspace.model_copy(deep=True)
    workspace.kpis.append(Kpi(id="deal_value", name="Deal value", expression="500 * deals", cadence="monthly"))
    base = base_from_engine(workspace, engine, "deal_value")
    assert base.label == "2018-10" and base.values == {"deals": deals["2018-10"]}
    chosen = base_from_engine(workspace, engine, "deal_value", period="2018-11")
    assert chosen.values == {"deals": deals["2018-11"]} == {"deals": 6}
    assert "2018-11 is not complete for 'Closed deals'" in chosen.notes[0]
    # The partial state travels with the numbers: in the caption, the facts and the advice.
    assert chosen.partial == ("deals",) and chosen.caption == "values of 2018-11 (partial: data to 2018-11-14)"
    assert chosen.latest_complete_label == "2018-10"
    assert "choose 2018-10, the latest complete month" in (chosen.partial_warning() or "")
    assert base.partial == () and base.partial_warning() is None


@needs_olist
def test_olist_win_rate_goal_seek_on_the_same_period(olist):
    workspace, engine = olist
    leads, deals = _hand_counts()
    base = base_from_engine(workspace, engine, "win_rate")
    assert base.label == "2018-05"
    report = driver_report(workspace, "win_rate", base, seek=["deals", "mqls"])
    assert report.values["win_rate"][0] == pytest.approx(deals["2018-05"] / leads["2018-05"])
    by_driver = {g.driver: g for g in report.goal_seeks}
    assert by_driver["deals"].value == pytest.approx(0.12 * leads["2018-05"])  # d / 1303 = 0.12
    assert by_driver["mqls"].value == pytest.approx(deals["2018-05"] / 0.12)  # 122 / m = 0.12


# ------------------------------------------------------------------------------ base period


def test_default_base_is_the_latest_complete_period_all_drivers_share():
    series = {
        "a": points([1, 2, 3, 4, 5, 6]),  # 2026-01 … 2026-06
        "b": points([10, 20, 30, 40]),  # 2026-01 … 2026-04
    }
    base = base_values(series, today=D(2026, 12, 1))
    assert base.label == "2026-04" and base.values == {"a": 4, "b": 40}
    assert "2026-04" in base.notes[0]
    # 2026-06 is not complete on 15 June: the latest complete shared period is still 2026-04 for b,
    # and alone, 'a' would be on 2026-05.
    assert base_values({"a": series["a"]}, today=D(2026, 6, 15)).label == "2026-05"


def test_chosen_period_average_and_missing_values():
    series = {"a": points([1, 2, 3, None, 5]), "b": points([10, 20, 30, 40, 50])}
    today = D(2026, 12, 1)
    assert base_values(series, period="2026-02", today=today).values == {"a": 2, "b": 20}
    with pytest.raises(WhatIfError, match=r"no value in 2026-04 for 'a'"):
        base_values(series, period="2026-04", today=today)
    # A count is 0 in a month without rows inside its span.
    assert base_values(series, period="2026-04", today=today, zero_when_empty={"a"}).values["a"] == 0
    averaged = base_values(series, period="2026-03", average_of=3, today=today)
    assert averaged.values == {"a": 2, "b": 20} and averaged.caption == "averages of 2026-01 to 2026-03 (3 months)"
    with pytest.raises(WhatIfError, match="cannot be averaged"):
        base_values(series, average_of=3, today=today)  # the default base is 2026-05; 'a' lacks 2026-04
    with pytest.raises(WhatIfError, match="no complete month in common"):
        base_values({"a": points([1, 2]), "b": points([1, 2], start=D(2027, 1, 1))}, today=D(2028, 1, 1))
    with pytest.raises(WhatIfError, match="driver 'b' has no values"):
        base_values({"a": points([1]), "b": []}, today=today)
    partial = base_values(series, period="2026-05", today=D(2026, 5, 20))
    assert partial.chosen and "not complete" in partial.notes[0]


def test_a_week_is_no_base_month_and_a_long_period_is_quoted_short():
    series = {"a": points(range(1, 13)), "b": points(range(1, 13))}
    today = D(2027, 1, 1)
    # 2026-W40 runs from Monday 28 September to Sunday 4 October: which month would it be?
    with pytest.raises(WhatIfError, match=r"'2026-W40' names a week .*straddles 2026-09 and 2026-10.*write 2026-09 or"):
        base_values(series, period="2026-W40", today=today)
    with pytest.raises(WhatIfError, match=r"'2026-W07' names a week .* by month: write 2026-02$"):
        base_values(series, period="2026-W07", today=today)
    with pytest.raises(WhatIfError, match="names a year"):
        base_values(series, period="2026", today=today)  # refused as before
    with pytest.raises(WhatIfError) as caught:
        base_values(series, period="2026-" + "9" * 5000, today=today)
    assert "'2026-999" in str(caught.value) and len(str(caught.value)) < 300, "the input is quoted, cut short"
    assert "is not a period: write 2026 (year)" in str(caught.value)


def test_completeness_can_come_from_the_data():
    series = {"a": points([1, 2, 3]), "b": points([4, 5, 6])}
    # 'b' ends mid-March (coverage-aware completeness): March is partial for it.
    base = base_values(series, today=D(2027, 1, 1), complete=lambda kpi, start: not (kpi == "b" and start.month == 3))
    assert base.label == "2026-02"


# ------------------------------------------------------------------------------ goal-seek


def _workspace(*, units: dict[str, str] | None = None, **formulas: str) -> Workspace:
    """Leaves a, b, c (from a source, units as given) and the derived KPIs given, targets none."""
    units = units or {}
    leaves = [
        Kpi(id=n, name=n.upper(), source="t", expression="sum(x)", time_column="d", unit_of_measure=units.get(n))
        for n in "abc"
    ]
    derived = [Kpi(id=kpi_id, name=kpi_id, expression=text) for kpi_id, text in formulas.items()]
    return Workspace(name="w", sources=[Source(name="t")], kpis=[*leaves, *derived])


BASE = {"a": 4.0, "b": 5.0, "c": 2.0}


@pytest.mark.parametrize(
    ("formula", "driver", "target", "expected"),
    [
        ("a * b * c", "b", 100.0, 12.5),  # 4·b·2 = 100
        ("a + b + c", "c", 100.0, 91.0),
        ("a * b - c", "a", 0.0, 0.4),  # 5a = 2
        ("a / b", "b", 0.32, 12.5),  # the driver in the denominator
        ("a / b", "a", 3.3, 16.5),
        ("a / (a + b)", "a", 0.75, 15.0),  # in both: a = 0.75(a + 5)
        ("(a + b) * c", "a", 30.0, 10.0),
        ("a * a", "a", 49.0, 7.0),  # not linear-fractional: the bracket search
        ("a * a - 10 * a", "a", 11.0, 11.0),  # roots −1 and 11: the one a count can be
    ],
)
def test_goal_seek_returns_the_exact_value(formula, driver, target, expected):
    ws = _workspace(units={"a": "count"}, top=formula)
    result = goal_seek(ws, "top", BASE, driver, target)
    assert result.status == "reached", result.message
    assert result.value == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert result.kpi_at_value == pytest.approx(target, rel=1e-9, abs=1e-9)
    assert result.base_value == BASE[driver]


def test_goal_seek_uses_the_kpis_target_and_a_derived_driver():
    ws = _workspace(mid="a + b", top="mid * c")
    ws.kpis[-1].target = Target(value=30)
    result = goal_seek(ws, "top", BASE, "mid")  # 9·2 = 18 → mid = 15
    assert result.value == pytest.approx(15) and result.target == 30
    assert "reaches its target" in result.message
    scenario = goal_seek(ws, "top", BASE, "a", changes=[DriverChange(kpi="c", value=3)])  # (a + 5)·3 = 30
    assert scenario.value == pytest.approx(5)


def test_goal_seek_says_when_no_value_can_do_it():
    ws = _workspace(units={"a": "percent", "b": "count"}, top="a * b * c", flat="b + 0 * a", floor="greatest(b, 10)")
    outside = goal_seek(ws, "top", {"a": 0.5, "b": 5, "c": 2}, "a", 26)  # a·10 = 26 → a = 2.6 > 100 %
    assert outside.status == "outside-domain" and outside.value == pytest.approx(2.6)
    assert "outside what it can be (0.0% to 100.0%)" in outside.message
    assert driver_domain(ws.kpi("a")) == (0.0, 1.0)
    flat = goal_seek(ws, "flat", BASE, "a", 100)
    assert flat.status == "no-effect" and flat.value is None and "does not move" in flat.message
    floor = goal_seek(ws, "floor", BASE, "b", 5)  # greatest(b, 10) never goes under 10
    assert floor.status == "unreachable" and floor.kpi_at_value == 10
    assert goal_seek(ws, "top", BASE, "a").status == "no-target"
    assert goal_seek(ws, "top", {**BASE, "a": None}, "a", 3).status == "no-value"
    with pytest.raises(WhatIfError, match="not in the driver tree"):
        goal_seek(ws, "flat", BASE, "c", 3)
    for result in (outside, flat, floor):
        assert set(result.as_dict()) >= {"status", "value", "message", "domain"}


# ------------------------------------------------------------------------------ changes and scenarios


def test_typed_changes_beyond_fifty_percent():
    ws = _workspace(top="a * b * c")
    changes = [DriverChange(kpi="a", relative=2.0), DriverChange(kpi="b", add=-4), DriverChange(kpi="c", value=10)]
    moved = apply_changes(ws, "top", BASE, changes)
    assert moved["a"] == (4, 12) and moved["b"] == (5, 1) and moved["c"] == (2, 10)
    assert moved["top"] == (40, 120)
    with pytest.raises(WhatIfError, match="the KPI at the top"):
        apply_changes(ws, "top", BASE, [DriverChange(kpi="top", relative=0.1)])


def _funnel_units() -> Workspace:
    """Drivers in the units --set must tell apart: counts, a percent, a ratio and one without a unit."""
    kpis = [
        Kpi(id=kpi_id, name=name, source="t", expression="count(*)", time_column="d", unit_of_measure=unit)
        for kpi_id, name, unit in [("mqls", "MQLs", "count"), ("deals", "Deals", "count"),
                                   ("win_rate", "Win rate", "percent"), ("cover", "Cover", "ratio"),
                                   ("x", "X", None), ("aov", "Order value", "currency")]
    ]  # fmt: skip
    return Workspace(name="w", sources=[Source(name="t")], kpis=kpis)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mqls=+10%", DriverChange(kpi="mqls", relative=0.1)),
        ("mqls=-250%", DriverChange(kpi="mqls", relative=-2.5)),
        ("mqls=\u221215%", DriverChange(kpi="mqls", relative=-0.15)),  # the minus sign the app writes
        ("mqls=\uff0b\uff11\uff15\uff05", DriverChange(kpi="mqls", relative=0.15)),  # full-width ＋１５％
        ("deals=+20", DriverChange(kpi="deals", add=20)),
        ("deals = -2.5", DriverChange(kpi="deals", add=-2.5)),
        ("deals=150", DriverChange(kpi="deals", value=150)),
        ("deals=\uff11\uff15\uff10", DriverChange(kpi="deals", value=150)),  # full-width １５０
        ("win_rate=12%", DriverChange(kpi="win_rate", value=0.12)),
        ("win_rate=\uff11\uff12%", DriverChange(kpi="win_rate", value=0.12)),
        ("cover=80%", DriverChange(kpi="cover", value=0.8)),  # a ratio is often written as a percent
        ("x=1e3", DriverChange(kpi="x", value=1000)),
    ],
)
def test_parse_change(text, expected):
    assert parse_change(text, _funnel_units()) == expected


@pytest.mark.parametrize("text", ["mqls", "mqls=", "mqls=ten", "Mqls=1", "mqls=+10%%", "mqls=15%%", "mqls=nan"])
def test_parse_change_refuses_what_it_cannot_read(text):
    with pytest.raises(WhatIfError, match="DRIVER=VALUE"):
        parse_change(text, _funnel_units())


@pytest.mark.parametrize(
    ("text", "words"),
    [
        # Someone meaning +15 % must not get 0.15 sessions: a bare percent on a count is refused with both forms.
        ("mqls=15%", "'MQLs' is a count, not a percent, so 15% could be a change or a value: write mqls=+15% "
                     "(or -15%) to move it by 15 %, or mqls=15 to set it to 15"),
        ("mqls=\uff11\uff15%", "write mqls=+15% (or -15%) to move it by 15 %"),
        ("mqls=\uff11\uff15\uff05", "write mqls=+15% (or -15%) to move it by 15 %"),
        ("aov=5%", "'Order value' is a currency, not a percent"),
        ("x=15%", "'X' has no unit of measure, so 15% could be a change or a value: write x=+15% (or -15%) to "
                  "move it by 15 %, or x=0.15 to set it to 15 %"),
    ],
)  # fmt: skip
def test_parse_change_refuses_a_bare_percent_on_a_kpi_that_is_no_percent(text, words):
    with pytest.raises(WhatIfError) as caught:
        parse_change(text, _funnel_units())
    assert words in str(caught.value)


def test_scenario_round_trips_through_the_workspace_yaml():
    ws = _workspace(top="a * b * c")
    ws.scenarios = [
        Scenario(id="more-a", name="More A", kpi="top", period="2026-05",
                 changes=[DriverChange(kpi="a", relative=0.75), DriverChange(kpi="c", value=3)]),
        Scenario(id="cut-b", name="Cut B", kpi="top", description="b down by 2",
                 changes=[DriverChange(kpi="b", add=-2)]),
    ]  # fmt: skip
    text = dumps(ws)
    assert "scenarios:" in text and "relative: 0.75" in text and "period: 2026-05" in text
    again = loads(text)
    assert again == ws and again.scenarios[0].changes[1].value == 3
    assert "scenarios" not in dumps(_workspace(top="a * b")), "a workspace without scenarios is written as before"
    results = compare_scenarios(again, "top", again.scenarios, BASE)
    assert [r.after for r in results] == [pytest.approx(7 * 5 * 3), pytest.approx(4 * 3 * 2)]
    assert results[0].change == pytest.approx(105 / 40 - 1)
    assert results[1].as_dict()["changes"] == [{"kpi": "b", "add": -2.0}]
    assert run_scenario(again, again.scenarios[1], BASE).before == 40


def test_a_stale_scenario_is_compared_apart_and_the_cli_names_it_and_the_fix(tmp_path):
    from .conftest import cli

    ws = _workspace(top="a * b")
    ws.scenarios = [
        Scenario(id="more-a", name="More A", kpi="top", changes=[DriverChange(kpi="a", relative=0.5)]),
        # Saved when the formula was a * b * c: 'c' has left the tree since.
        Scenario(id="old-c", name="Old C", kpi="top", changes=[DriverChange(kpi="c", add=5)]),
    ]
    good, stale = compare_scenarios(ws, "top", ws.scenarios, BASE)
    assert good.stale is None and good.after == pytest.approx(6 * 5)
    assert stale.stale == "it changes 'c', which is not in the driver tree of 'top' (its KPIs are: top, a, b)"
    assert stale.values == {} and stale.after is None, "a stale scenario has no numbers to show"
    assert stale.as_dict()["stale"] == stale.stale and good.as_dict()["stale"] is None
    file = tmp_path / "ws.yaml"
    file.write_text(dumps(ws), encoding="utf-8")
    assert cli("validate", str(file)).returncode == 0, "the file is valid; the tree is what changed"
    done = cli("drivers", str(file), "--kpi", "top", "--scenario", "old-c")
    assert done.returncode == 2
    assert "scenario 'old-c' (Old C) is stale: it changes 'c', which is not in the driver tree of 'top'" in done.stderr
    assert "or delete the scenario" in done.stderr


def test_scenario_validation_names_the_fix():
    ws = _workspace(top="a * b")
    data = {
        **ws.model_dump(mode="json", exclude_none=True),
        "scenarios": [
            {"id": "s", "name": "S", "kpi": "tpo", "changes": [{"kpi": "a", "relative": 0.1, "value": 2}]},
            {"id": "s", "name": "T", "kpi": "top", "changes": [{"kpi": "a", "add": 1}, {"kpi": "a", "value": 1},
                                                              {"kpi": "zz", "add": 1}, {"kpi": "top", "add": 1}]},
            {"id": "u", "name": "U", "kpi": "top", "period": "May"},
        ],
    }  # fmt: skip
    from kpi_model.validation import parse_workspace

    with pytest.raises(WorkspaceError) as caught:
        parse_workspace(data)
    text = str(caught.value)
    assert "scenarios[0].changes[0]: give exactly one of relative" in text
    assert "scenarios[2].period: 'May' is not a period" in text
    data["scenarios"][0]["changes"] = [{"kpi": "a", "relative": 0.1}]
    data["scenarios"].pop()
    with pytest.raises(WorkspaceError) as caught:
        parse_workspace(data)
    problems = {p.path: p.message for p in caught.value.problems}
    assert "did you mean 'top'" in problems["scenarios[0].kpi"]
    assert "duplicate scenario id 's'" in problems["scenarios[1].id"]
    assert "changed twice" in problems["scenarios[1].changes[1].kpi"]
    assert "unknown KPI 'zz'" in problems["scenarios[1].changes[2].kpi"]
    assert "the KPI the scenario is about" in problems["scenarios[1].changes[3].kpi"]


def test_report_json_has_no_nan_or_infinity():
    import json

    ws = _workspace(units={"a": "count"}, top="a / b")
    base = base_values({"a": points([4.0]), "b": points([0.0])}, today=D(2027, 1, 1))
    report = driver_report(ws, "top", base, seek=["a"], target=1.0)
    payload = report.as_dict()
    json.dumps(payload, allow_nan=False)
    assert payload["values"]["top"] == {"before": None, "after": None}
    assert payload["goal_seek"][0]["status"] == "no-effect"
    assert payload["goal_seek"][0]["domain"] == [0.0, None]
    assert not math.isnan(payload["sensitivity"][0]["base_value"])


# ------------------------------------------------------------------------------ CLI


@needs_olist
def test_cli_drivers_json_and_text(tmp_path):
    import json

    from .conftest import cli

    workspace = olist_workspace()
    workspace.scenarios = [Scenario(id="more-leads", name="More leads", kpi="pipeline_value",
                                    changes=[DriverChange(kpi="mqls", relative=0.5)])]  # fmt: skip
    file = tmp_path / "olist.yaml"
    file.write_text(dumps(workspace), encoding="utf-8")
    leads, deals = _hand_counts()
    done = cli("drivers", str(file), "--kpi", "pipeline_value", "--seek", "mqls", "--set", "deals=+100%",
               "--format", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["base"]["label"] == "2018-05" and report["base"]["values"] == {"mqls": 1303, "deals": 122}
    assert report["values"]["pipeline_value"] == {"before": 74_030, "after": 74_030 + 500 * deals["2018-05"]}
    assert report["changes"] == [{"kpi": "deals", "relative": 1.0}]
    assert [(s["driver"], round(s["elasticity"], 2)) for s in report["sensitivity"]] == [
        ("deals", 0.82),
        ("mqls", 0.18),
    ]
    (seek,) = report["goal_seek"]  # with deals doubled, 10·m + 500·244 = 80,000 needs m < 0
    assert seek["status"] == "outside-domain" and seek["value"] == pytest.approx((80_000 - 500 * 244) / 10)
    assert [child["id"] for child in report["tree"]["children"]] == ["mqls", "deals"]

    done = cli("drivers", str(file), "--kpi", "pipeline_value", "--scenario", "more-leads", "--seek", "deals",
               "--period", "2018-04")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "driver tree on values of 2018-04 (chosen)" in done.stdout
    before = 10 * leads["2018-04"] + 500 * deals["2018-04"]
    assert (
        f"{before:,}" in done.stdout and f"{10 * leads['2018-04'] * 1.5 + 500 * deals['2018-04']:,.0f}" in done.stdout
    )
    assert "changes: MQLs +50%" in done.stdout and "goal-seek deals: reached" in done.stdout

    done = cli("drivers", str(file), "--kpi", "pipeline_value", "--scenario", "more")
    assert done.returncode == 2 and "did you mean 'more-leads'" in done.stderr
    done = cli("drivers", str(file), "--kpi", "pipeline_valeu")
    assert done.returncode == 2 and "unknown KPI 'pipeline_valeu'; did you mean 'pipeline_value'?" in done.stderr
    done = cli("drivers", str(file), "--kpi", "mqls")
    assert done.returncode == 2 and "'mqls' is computed from its own source" in done.stderr
    assert "derived KPIs: pipeline_value, win_rate" in done.stderr
    done = cli("drivers", str(file), "--kpi", "pipeline_value", "--set", "leads=+5%")
    assert done.returncode == 2 and "'leads' is not in the driver tree of 'pipeline_value'" in done.stderr
    done = cli("drivers", str(file), "--kpi", "pipeline_value", "--set", "mqls=\uff11\uff15%")  # full-width 15%
    assert done.returncode == 2 and "write mqls=+15% (or -15%) to move it by 15 %, or mqls=15" in done.stderr


def test_scenario_edits_are_checked_and_follow_kpi_renames():
    from kpi_model.editing import scenarios_after_kpi_change
    from kpi_model.whatif.scenarios import with_scenario, without_scenario

    ws = _workspace(top="a * b * c")
    first = Scenario(id="s", name="S", kpi="top", changes=[DriverChange(kpi="a", relative=0.1)])
    ws = with_scenario(ws, first)
    assert ws.scenarios == [first]
    with pytest.raises(KpiWizardError, match="a scenario with id 's' exists already"):
        with_scenario(ws, first)
    with pytest.raises(WorkspaceError, match="unknown KPI 'zz'"):
        with_scenario(ws, Scenario(id="t", name="T", kpi="top", changes=[DriverChange(kpi="zz", add=1)]))
    renamed = with_scenario(ws, first.model_copy(update={"name": "S2"}), old_id="s")
    assert [s.name for s in renamed.scenarios] == ["S2"]
    assert without_scenario(ws, "s").scenarios == []
    two = [first, Scenario(id="u", name="U", kpi="top", changes=[DriverChange(kpi="b", add=1)])]
    moved = scenarios_after_kpi_change(two, "a", "alpha")
    assert moved[0].changes[0].kpi == "alpha" and moved[1] == two[1]
    gone = scenarios_after_kpi_change(two, "a", None)
    assert gone[0].changes == [] and gone[1] == two[1]
    assert scenarios_after_kpi_change(two, "top", None) == []
    assert [s.kpi for s in scenarios_after_kpi_change(two, "top", "total")] == ["total", "total"]


# ------------------------------------------------------------------------------ review of issue 12: a new user's tree


def _orders_workspace() -> Workspace:
    """The reviewer's tree: revenue_calc = order_count * aov, an amount (AOV) and a count (orders)."""
    return Workspace(
        name="Contoso",
        sources=[Source(name="sales")],
        kpis=[
            Kpi(id="order_count", name="Orders", source="sales", expression="count(*)", time_column="d",
                unit_of_measure="count", cadence="monthly"),
            Kpi(id="aov", name="Average order value", source="sales", expression="sum(amount) / count(*)",
                time_column="d", unit_of_measure="currency", cadence="monthly"),
            Kpi(id="net_cash", name="Net cash flow", source="sales", expression="sum(amount)", time_column="d",
                unit_of_measure="currency", cadence="monthly"),
            Kpi(id="revenue_calc", name="Revenue (orders x AOV)", expression="order_count * aov",
                unit_of_measure="currency", cadence="monthly", target=Target(value=180_000)),
        ],
    )  # fmt: skip


def _orders_to_mid_november():
    """Orders and AOV from 2026-06 to 2026-11-15: November is partial, by the data's coverage."""
    from kpi_model.engine import Series
    from kpi_model.formula import SeriesRequest
    from kpi_model.periods import Coverage

    coverage = Coverage(D(2026, 6, 1), D(2026, 11, 15))
    request = SeriesRequest(grain="month")
    orders = points([2000, 2010, 2050, 2040, 2080, 1086], start=D(2026, 6, 1))
    aov = points([80.0, 80.0, 80.0, 80.0, 80.0, 80.05], start=D(2026, 6, 1))
    return {
        "order_count": Series("order_count", request, orders, coverage=coverage),
        "aov": Series("aov", request, aov, coverage=coverage),
    }


def test_a_partial_base_period_says_so_in_the_caption_the_goal_seek_and_refuses_a_scenario():
    from kpi_model.whatif.scenarios import base_from_series, new_scenario

    ws, series = _orders_workspace(), _orders_to_mid_november()
    base = base_from_series(ws, series, grain="month", period="2026-11", today=D(2026, 12, 5))
    assert base.partial == ("order_count", "aov") and base.caption == "values of 2026-11 (partial: data to 2026-11-15)"
    assert base.as_dict()["partial_text"] == "partial: data to 2026-11-15"
    assert base.as_dict()["latest_complete"] == "2026-10"
    report = driver_report(ws, "revenue_calc", base, seek=["order_count"])
    (seek,) = report.goal_seeks
    assert seek.status == "reached" and seek.partial_base is not None
    assert "The base period 2026-11 is partial (data to 2026-11-15)" in seek.message
    assert "choose 2026-10" in seek.message and seek.as_dict()["partial_base"] == seek.partial_base
    assert report.warnings and report.as_dict()["warnings"][0].startswith("The base period 2026-11 is partial")
    changes = [DriverChange(kpi="order_count", relative=0.1)]
    with pytest.raises(WhatIfError, match=r"not saved: the base period 2026-11 is partial .*choose 2026-10"):
        new_scenario(ws, "More orders", "revenue_calc", base, changes)
    # On the latest complete month nothing is partial, and the scenario is kept.
    complete = base_from_series(ws, series, grain="month", today=D(2026, 12, 5))
    assert complete.label == "2026-10" and not complete.partial and complete.caption == "values of 2026-10"
    assert driver_report(ws, "revenue_calc", complete, seek=["order_count"]).goal_seeks[0].partial_base is None
    scenario = new_scenario(ws, "More orders", "revenue_calc", complete, changes)
    assert scenario.id == "more-orders" and scenario.period is None


def test_moved_and_sought_drivers_are_checked_against_their_domain():
    from kpi_model.whatif.driver_text import domain_warnings

    ws = _orders_workspace()
    base = {"order_count": 2080.0, "aov": 80.0}
    # One rule with the target preview: an amount such as an AOV never below zero, a net figure may be.
    assert driver_domain(ws.kpi("aov")) == (0.0, math.inf)
    assert driver_domain(ws.kpi("net_cash")) == (-math.inf, math.inf)
    assert driver_domain(ws.kpi("order_count")) == (0.0, math.inf)
    cheaper = [DriverChange(kpi="aov", relative=-1.5)]
    (warning,) = domain_warnings(ws, cheaper, apply_changes(ws, "revenue_calc", base, cheaper))
    assert "'Average order value' moved to \u221240.00 is outside what it can be (0 or more" in warning
    fewer = [DriverChange(kpi="order_count", add=-5000)]
    (warning,) = domain_warnings(ws, fewer, apply_changes(ws, "revenue_calc", base, fewer))
    assert "'Orders' moved to \u22122,920" in warning and "a count: never below zero" in warning
    fine = [DriverChange(kpi="aov", relative=-0.5)]
    assert domain_warnings(ws, fine, apply_changes(ws, "revenue_calc", base, fine)) == []
    seek = goal_seek(ws, "revenue_calc", base, "aov", -100)
    assert seek.status == "outside-domain" and seek.value == pytest.approx(-100 / 2080)
    assert "outside what it can be (0 or more)" in seek.message


def test_cli_drivers_warns_on_stderr_and_in_json_when_a_driver_leaves_its_domain():
    import json

    from .conftest import SAMPLE_WORKSPACE, cli

    done = cli("drivers", str(SAMPLE_WORKSPACE), "--kpi", "web_revenue", "--set", "sessions=-200%",
               "--format", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    (warning,) = json.loads(done.stdout)["warnings"]
    assert warning.startswith("'Web shop sessions' moved to \u2212") and "a count: never below zero" in warning
    assert f"warning: {warning}" in done.stderr
    done = cli("drivers", str(SAMPLE_WORKSPACE), "--kpi", "web_revenue", "--set", "sessions=+10%")
    assert done.returncode == 0 and "warning" not in done.stderr


def test_driver_wording_uses_names_capitals_units_and_one_minus_sign():
    from kpi_model.whatif.driver_text import change_text, describe_change, value_text
    from kpi_model.whatif.scenarios import base_from_series, changes_text

    ws, series = _orders_workspace(), _orders_to_mid_november()
    changes = [DriverChange(kpi="order_count", relative=0.1), DriverChange(kpi="aov", add=5)]
    assert changes_text(ws, changes) == "Orders +10%, Average order value +5.00"
    assert describe_change(DriverChange(kpi="aov", add=-2.5), ws.kpi("aov")) == "Average order value \u22122.50"
    assert describe_change(DriverChange(kpi="aov", value=90), ws.kpi("aov")) == "Average order value = 90.00"
    assert value_text(ws.kpi("order_count"), -1172) == "\u22121,172" and change_text(-0.0074, 2) == "\u22120.74%"
    base = base_from_series(ws, series, grain="month", today=D(2026, 12, 5))
    (note,) = base.notes
    assert note.startswith("Every driver is taken from 2026-10") and "'Orders' has 2026-06 to 2026-11" in note
    averaged = base_from_series(ws, series, grain="month", average_of=3, today=D(2026, 12, 5))
    assert averaged.caption == "averages of 2026-08 to 2026-10 (3 months)"
    assert averaged.notes[0].startswith("Every driver is averaged over the 3 months ending at 2026-10")
    assert all(n[:1].isupper() for n in averaged.notes), averaged.notes
    report = driver_report(ws, "revenue_calc", base, changes=[DriverChange(kpi="aov", relative=-0.5)])
    text = report.to_text(ws)
    assert "changes: Average order value \u221250%" in text and "\u221250.0%" in text
    assert not re.search(r"(?<![\w-])-\d", text), "no hyphen-minus before a number in the table"


@pytest.mark.parametrize("deleted", ["a", "top"])
def test_a_scenario_whose_kpi_was_deleted_is_stale_not_a_crash(deleted):
    ws = _workspace(top="a * b")
    ws.scenarios = [Scenario(id="old", name="Old", kpi="top", changes=[DriverChange(kpi="a", relative=0.1)])]
    ws.kpis = [k for k in ws.kpis if k.id != deleted]  # deleted from the file; the scenario still names it
    (result,) = compare_scenarios(ws, "top", ws.scenarios, BASE)
    assert result.stale and deleted in result.stale and result.after is None

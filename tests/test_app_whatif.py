"""The What-if page and the whatif/leadlag commands, on the sample company."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from kpi_model.store import WorkspaceStore

from .conftest import REPO, SAMPLE_WORKSPACE, cli


@pytest.fixture
def sample_app(tmp_path, monkeypatch):
    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.setenv("KPI_WIZARD_OPEN", str(SAMPLE_WORKSPACE))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/whatif.py").run()
    assert not at.exception
    return at, tmp_path / "store"


def messages(at) -> str:
    return " ".join(m.value for m in [*at.success, *at.warning, *at.error, *at.info])


def test_target_preview_and_saving_the_target(sample_app):
    at, store = sample_app
    at.selectbox(key="whatif_kpi").set_value("revenue").run()
    at.text_input(key="whatif_target_revenue").input("196663").run()
    figures = {m.label: m.value for m in at.metric}
    assert figures["Baseline 2026-10"] == "163,886"
    assert figures["Past periods that met it"].endswith("%")
    assert any(v in messages(at) for v in ("within-trend", "stretch", "beyond-history"))
    assert at.get("vega_lite_chart"), "history, projection band and target on one chart"
    captions = " ".join(c.value for c in at.caption)
    assert "1 time in 10" in captions, "the thresholds explained in one sentence"
    assert "Data as of 2026-10-31" in captions, "how recent the data is, as on every page"
    at.checkbox(key="whatif_use_thresholds_revenue").check().run()
    at.button(key="whatif_save_revenue").click().run()
    assert "Saved the target of 'Net revenue'" in messages(at).replace("\\", "")
    (saved,) = WorkspaceStore(store).list_workspaces()
    kpi = WorkspaceStore(store).load(saved.id).kpi("revenue")
    assert kpi.target.value == 196663 and kpi.baseline.period == "2026-10"
    # Suggested from the recent spread around the fit, below the target: warning between target and critical.
    assert kpi.thresholds.critical < kpi.thresholds.warning < kpi.target.value


def test_bad_target_and_baseline_are_explained(sample_app):
    at, _ = sample_app
    at.text_input(key="whatif_target_sessions").input("lots").run()
    assert "not a number" in messages(at)
    at.text_input(key="whatif_target_sessions").input("12000").run()
    at.text_input(key="whatif_baseline_sessions").input("1999-01").run()
    assert at.error, "a baseline period outside the history is refused with a message"


def test_driver_tree_moves_the_kpis_above_a_driver(sample_app):
    at, _ = sample_app
    at.segmented_control(key="whatif_tool").set_value("Driver tree").run()
    assert at.get("graphviz_chart")
    at.number_input(key="driver_pct_web_revenue_sessions").set_value(10).run()
    assert not at.exception
    frames = [df.value for df in at.dataframe]
    table = next(f for f in frames if "Change" in f.columns).set_index("KPI")
    assert "Values of 2026-10" in table.columns, "every value is from one period, and the table says which"
    assert "Every value below is from **2026-10** (the latest complete month all drivers have)" in messages(at)
    assert table.loc["Web order revenue", "Change"] == "+10.0%"
    assert table.loc["Web conversion rate", "Change"] == "+0.0%"
    sensitivity = next(f for f in frames if "Elasticity" in f.columns)
    hints = next(f for f in frames if "Decompose into" in f.columns).set_index("KPI")
    assert hints.loc["Gross margin", "Decompose into"] == "(revenue - cost_of_goods_sold) / revenue"
    assert set(sensitivity["Elasticity"]) == {"1.00"}, "a pure product: +1% in any driver is +1% on top"


def lags_shown(at) -> list[int]:
    table = next(d.value for d in at.dataframe if "Lag" in d.value.columns)
    assert list(table.columns) == ["Lag", "r", "Pairs", "p at this lag", "Status"]
    return [int(lag) for lag in table["Lag"]]


def test_lead_lag_defaults_to_a_real_pair_and_finds_the_lag(sample_app):
    at, _ = sample_app
    at.segmented_control(key="whatif_tool").set_value("Leading vs lagging").run()
    assert at.selectbox(key="leadlag_lead").value == "mqls"
    assert "2 months later" in messages(at)
    assert lags_shown(at) == [-3, -2, -1, 0, 1, 2, 3], "the lags the chart draws, both directions"
    at.number_input(key="leadlag_max_month").set_value(1).run()
    assert lags_shown(at) == [-1, 0, 1], "the longest lag is the user's"
    assert "2 months later" not in messages(at)
    at.toggle(key="leadlag_differenced").set_value(True).run()
    assert "on period-to-period changes" in messages(at).replace("\\", "")


def test_cli_whatif_json_fields():
    result = cli(
        "whatif",
        str(SAMPLE_WORKSPACE),
        "--kpi",
        "revenue",
        "--target",
        "196663",
        "--by",
        "2027-12-31",
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["baseline"]["period"] == "2026-10-01" and data["periods_remaining"] == 14
    assert data["required_change_per_period"]["linear"] == pytest.approx((196663 - data["baseline"]["value"]) / 14)
    assert data["verdict"] in {"within-trend", "stretch", "beyond-history"}
    assert len(data["projection"]) == 14 and {"period", "low", "mid", "high"} == set(data["projection"][0])
    assert 0 <= data["historical_attainment"] <= 1
    assert data["method_name"] in {"trend", "seasonal"} and data["verdict_text"]
    assert all(p["low"] >= 0 for p in data["projection"]), "revenue is never projected below zero"
    thresholds = data["suggested_thresholds"]
    assert thresholds["critical"] < thresholds["warning"] < 196663 and thresholds["explanation"]


def test_cli_whatif_reads_percent_targets_as_typed():
    def run(target: str) -> dict:
        args = ("whatif", str(SAMPLE_WORKSPACE), "--kpi", "conversion_rate", "--target", target, "--by", "2027-12-31")
        result = cli(*args, "--format", "json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    assert run("4.5%")["target"] == pytest.approx(0.045)
    bare = run("4.5")
    assert bare["target"] == pytest.approx(0.045) and "read as 4.5%" in bare["notes"][0]
    assert run("0.045")["target"] == pytest.approx(0.045)
    text = cli("whatif", str(SAMPLE_WORKSPACE), "--kpi", "conversion_rate", "--target", "4.5%", "--by", "2027-12-31")
    assert " pp per month (linear)" in text.stdout and "verdict: " in text.stdout and "data as of " in text.stdout
    assert all(0 <= p["low"] and p["high"] <= 1 for p in bare["projection"]), "a rate stays within 0..100 %"


def test_cli_leadlag_json_and_errors():
    result = cli("leadlag", str(SAMPLE_WORKSPACE), "--leading", "mqls", "--lagging", "deals_won", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["best_lag"] == 2 and data["correlation"] > 0.8 and data["periods"] >= 20
    assert [row["lag"] for row in data["by_lag"]] == [0, 1, 2, 3]
    bad = cli("leadlag", str(SAMPLE_WORKSPACE), "--leading", "mql", "--lagging", "deals_won")
    assert bad.returncode == 2 and "did you mean 'mqls'" in bad.stderr


def test_a_target_that_makes_no_sense_is_stopped_before_saving(sample_app):
    at, _ = sample_app
    at.text_input(key="whatif_target_sessions").input("-500").run()
    assert "cannot be below zero" in messages(at)
    assert "whatif_save_sessions" not in [b.key for b in at.button], "nothing to save"
    at.text_input(key="whatif_target_sessions").input("9000").run()
    assert "already meets it" in messages(at), "a target below today's value for an up KPI asks for nothing"
    assert "whatif_save_sessions" in [b.key for b in at.button], "possible, so it may still be saved"


def test_a_percent_target_is_read_as_typed(sample_app):
    at, _ = sample_app
    at.selectbox(key="whatif_kpi").set_value("conversion_rate").run()
    assert at.text_input(key="whatif_target_conversion_rate").value == "4.5%", "shown as a percent, not 0.045"
    figures = {m.label: m.value for m in at.metric}
    assert figures["Needed per month"].endswith(" pp"), "a rate's change in percentage points"
    at.text_input(key="whatif_target_conversion_rate").input("4.5").run()
    assert any("Read 4.5 as 4.5%" in c.value for c in at.caption)
    assert {m.label: m.value for m in at.metric}["Needed per month"] == figures["Needed per month"]


def test_target_concerns():
    from kpi_model.models import Kpi
    from kpi_model.whatif import target_concerns

    rate = Kpi(id="r", name="R", unit_of_measure="percent", direction="up")
    assert [level for level, _ in target_concerns(rate, 0.2, 30)] == ["warning"]
    assert "0.3 for 30%" in target_concerns(rate, 0.2, 30)[0][1]
    assert target_concerns(rate, 0.2, 0.25) == []
    down = Kpi(id="d", name="D", unit_of_measure="duration", direction="down")
    assert [level for level, _ in target_concerns(down, 4.0, 5.0)] == ["warning"]
    assert [level for level, _ in target_concerns(down, 4.0, -1.0)] == ["error"]
    # A net cash flow can be negative: no "cannot be below zero", nothing that hides Save.
    cash = Kpi(id="net_cash_flow", name="Net cash flow", unit_of_measure="currency", direction="up")
    assert target_concerns(cash, -20_000.0, -5_000.0) == []
    margin = Kpi(id="ebit_margin", name="EBIT margin", unit_of_measure="percent", direction="up")
    assert target_concerns(margin, -0.04, -0.01) == []
    revenue = Kpi(id="revenue", name="Revenue", unit_of_measure="currency", direction="up")
    assert [level for level, _ in target_concerns(revenue, -10.0, -5.0)] == ["warning"], "odd, but not blocked"


def test_driver_tree_typed_changes_goal_seek_and_scenarios(sample_app):
    at, store = sample_app
    at.segmented_control(key="whatif_tool").set_value("Driver tree").run()
    at.number_input(key="driver_pct_web_revenue_sessions").set_value(300).run()  # beyond any slider's ±50 %
    table = next(d.value for d in at.dataframe if "Change" in d.value.columns).set_index("KPI")
    assert table.loc["Web shop sessions", "Change"] == "+300.0%"
    assert table.loc["Web order revenue", "Change"] == "+300.0%"
    # Goal-seek on the base: the other drivers at their values, sessions = 64,000 / (conversion · order value).
    at.number_input(key="driver_pct_web_revenue_sessions").set_value(0).run()
    assert "Web order revenue' reaches its target 64,000 when 'Web shop sessions' is" in messages(at).replace("\\", "")
    at.selectbox(key="driver_seek_web_revenue").set_value("conversion_rate").run()
    at.number_input(key="driver_seek_target_web_revenue").set_value(1e9).run()
    assert "outside what it can be (0.0% to 100.0%)" in messages(at).replace("\\", ""), "a rate over 100 % is no answer"
    # Typed values, saved as a scenario and compared side by side.
    at.segmented_control(key="driver_mode_web_revenue_conversion_rate").set_value("to a value").run()
    value_key = next(n.key for n in at.number_input if n.key.startswith("driver_value_web_revenue_conversion_rate"))
    at.number_input(key=value_key).set_value(5.0).run()  # percent typed as a percent: 5 %
    at.text_input(key="driver_scenario_name_web_revenue").input("Better checkout").run()
    at.button(key="driver_scenario_save_web_revenue").click().run()
    assert not at.exception
    (saved,) = WorkspaceStore(store).list_workspaces()
    (scenario,) = WorkspaceStore(store).load(saved.id).scenarios
    assert scenario.id == "better-checkout" and scenario.kpi == "web_revenue"
    assert [(c.kpi, c.value) for c in scenario.changes] == [("conversion_rate", pytest.approx(0.05))]
    compared = next(d.value for d in at.dataframe if "Better checkout" in d.value.columns).set_index("KPI")
    assert compared.loc["Web conversion rate", "Better checkout"] == "5.0%"
    assert any(column.startswith("Base (2026-10") for column in compared.columns)
    at.selectbox(key="driver_doomed_web_revenue").set_value("better-checkout")
    at.button(key="driver_scenario_delete_web_revenue").click().run()
    assert WorkspaceStore(store).load(saved.id).scenarios == []


def test_driver_tree_base_period_can_be_chosen_or_averaged(sample_app):
    at, _ = sample_app
    at.segmented_control(key="whatif_tool").set_value("Driver tree").run()
    at.text_input(key="driver_period_web_revenue").input("2026-08").run()
    table = next(d.value for d in at.dataframe if "Change" in d.value.columns)
    assert "Values of 2026-08" in table.columns
    assert "Every value below is from **2026-08** (chosen)" in messages(at)
    at.number_input(key="driver_average_web_revenue").set_value(3).run()
    table = next(d.value for d in at.dataframe if "Change" in d.value.columns)
    assert "Averages of 2026-06 to 2026-08 (3 months)" in table.columns
    at.text_input(key="driver_period_web_revenue").input("1999-01").run()
    assert "No value in 1999-01 for 'Web shop sessions'" in messages(at).replace("\\", "")
    assert not at.exception


@pytest.fixture
def olist_drivers_app(tmp_path, monkeypatch):
    """The app on a workspace of the real Olist leads and deals, with the pipeline-value tree."""
    import io

    from kpi_model.datastore import DataStore
    from kpi_model.engine import EnginePool

    from .test_drivers import OLIST, olist_workspace

    if not OLIST.is_dir():
        pytest.skip(f"real public data absent: {OLIST} (see ../shared/external/README.md)")
    root = tmp_path / "store"
    monkeypatch.setenv("KPI_WIZARD_HOME", str(root))
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    workspace = olist_workspace()
    for source in workspace.sources:
        source.path = None  # the data is uploaded below, as a visitor would
    WorkspaceStore(root).save("ws-olist-drivers", workspace)
    pool = EnginePool()
    data = DataStore(root / "ws-olist-drivers", pool)
    data.upload(
        "leads.csv", io.BytesIO((OLIST / "olist_marketing_qualified_leads_dataset.csv").read_bytes()), table="leads"
    )
    data.upload("deals.csv", io.BytesIO((OLIST / "olist_closed_deals_dataset.csv").read_bytes()), table="deals_won")
    pool.release(data.db_path)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params["ws"] = "ws-olist-drivers"
    at.run()
    at.switch_page("pages/whatif.py").run()
    at.segmented_control(key="whatif_tool").set_value("Driver tree").run()
    assert not at.exception, at.exception
    return at


def test_driver_tree_on_olist_shows_one_period_and_the_hand_computed_values(olist_drivers_app):
    from .test_drivers import _hand_counts

    at = olist_drivers_app
    leads, deals = _hand_counts()
    value = 10 * leads["2018-05"] + 500 * deals["2018-05"]  # 74,030: both drivers from May 2018
    assert "Every value below is from **2018-05**" in messages(at)
    table = next(d.value for d in at.dataframe if "Change" in d.value.columns).set_index("KPI")
    assert list(table.columns) == ["Values of 2018-05", "After", "Change"]
    assert table.loc["Pipeline value", "Values of 2018-05"] == f"{value:,}"
    assert table.loc["Closed deals", "Values of 2018-05"] == f"{deals['2018-05']:,}"
    sensitivity = next(d.value for d in at.dataframe if "Elasticity" in d.value.columns)
    assert list(sensitivity["Driver"]) == ["Closed deals", "MQLs"]
    assert list(sensitivity["Elasticity"]) == [
        f"{500 * deals['2018-05'] / value:.2f}",
        f"{10 * leads['2018-05'] / value:.2f}",
    ]
    assert any("2018-11-14" in c.value.replace("\\", "") for c in at.caption), "data as of, per driver"


def test_a_target_below_the_baseline_counts_no_past_falls_as_chances(sample_app):
    at, _ = sample_app
    at.selectbox(key="whatif_kpi").set_value("revenue").run()
    at.text_input(key="whatif_target_revenue").input("100000").run()  # baseline 163,886: no growth asked
    figures = {m.label: m.value for m in at.metric}
    changes = next(value for label, value in figures.items() if label.endswith("changes that large"))
    assert changes == "—", figures


def test_cli_whatif_refuses_a_percent_target_for_a_count_kpi():
    result = cli("whatif", str(SAMPLE_WORKSPACE), "--kpi", "sessions", "--target", "15%", "--by", "2027-06-30")
    assert result.returncode == 2
    assert "'15%' is a percent but KPI 'sessions' is measured as a count" in result.stderr


def test_leadlag_of_a_kpi_and_one_computed_from_it_says_it_is_arithmetic():
    result = cli("leadlag", str(SAMPLE_WORKSPACE), "--leading", "sessions", "--lagging", "web_revenue")
    assert result.returncode == 0, result.stderr
    assert "Web order revenue is computed from Web shop sessions" in result.stdout.splitlines()[0]
    plain = cli("leadlag", str(SAMPLE_WORKSPACE), "--leading", "mqls", "--lagging", "deals_won")
    assert "computed from" not in plain.stdout

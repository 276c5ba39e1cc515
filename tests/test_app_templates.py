"""Adding a KPI from a template: column pick-lists from the chosen source, conditions built, not typed.

Runs the KPIs page with AppTest on a private store holding one workspace whose 'deals' and
'sessions' sources have loaded data (and a 'planned' source without data, for the fallback).
"""

from __future__ import annotations

import io

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from kpi_model.datastore import DataStore
from kpi_model.engine import EnginePool
from kpi_model.models import Goal, Source, Unit, Workspace
from kpi_model.store import WorkspaceStore

from .conftest import REPO

APP = str(REPO / "app.py")
WS_ID = "ws-templates-0001"
DEALS_CSV = (
    b"deal_id,created,won_date,status,amount\n"
    b"D1,2025-01-02,2025-01-20,paid,100\n"
    b"D2,2025-01-05,,open,250\n"
    b"D3,2025-01-09,2025-01-30,paid,80\n"
    b"D4,2025-01-10,,lost,40\n"
)
SESSIONS_CSV = (
    b"session_id,day,furthest_step,added\n"
    b"s1,2025-01-02,order,true\n"
    b"s2,2025-01-02,cart,true\n"
    b"s3,2025-01-03,checkout,true\n"
    b"s4,2025-01-03,home,false\n"
)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A store with the workspace saved and its two sources loaded."""
    root = tmp_path / "store"
    monkeypatch.setenv("KPI_WIZARD_HOME", str(root))
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    workspace = Workspace(
        name="Shop",
        units=[Unit(id="sales", name="Sales", owner="Head of Sales")],
        goals=[Goal(id="grow", unit="sales", statement="Grow web revenue")],
        sources=[
            Source(name="deals", path="files/deals.csv"),
            Source(name="sessions", path="files/sessions.csv"),
            Source(name="planned"),
        ],
    )
    WorkspaceStore(root).save(WS_ID, workspace)
    pool = EnginePool()
    data = DataStore(root / WS_ID, pool)
    data.upload("deals.csv", io.BytesIO(DEALS_CSV), table="deals")
    data.upload("sessions.csv", io.BytesIO(SESSIONS_CSV), table="sessions")
    pool.release(data.db_path)
    return root


def kpis_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["ws"] = WS_ID
    at.run()
    assert not at.exception, at.exception
    at.switch_page("pages/kpis.py").run()
    assert not at.exception, at.exception
    return at


def errors(at: AppTest) -> str:
    """Every error shown, Markdown escapes removed."""
    return " ".join(e.value.replace("\\", "") for e in at.error)


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def choose(at: AppTest, query: str, template_id: str, source: str) -> AppTest:
    at.text_input(key="template_search").input(query)
    run(at)
    at.selectbox(key="template_choice").set_value(template_id)
    run(at)
    at.selectbox(key="template_source").set_value(source)
    return run(at)


def add(at: AppTest, home):
    """Click Add and return the one KPI saved."""
    (button,) = [b for b in at.button if b.key == "add_template"]
    assert not button.disabled, [e.value for e in at.error]
    button.click()
    run(at)
    (kpi,) = WorkspaceStore(home).load(WS_ID).kpis
    return kpi


def test_roles_are_picked_from_the_source_columns_with_types_and_the_time_column_from_dates(home):
    at = choose(kpis_page(), "win rate", "win_rate", "deals")
    # AppTest lists the options as shown: each column with its type.
    time_box = at.selectbox(key="template_role_win_rate_deals_date")
    assert time_box.options == ["—", "created (date)", "won_date (date)"], "only date and timestamp columns"
    id_box = at.selectbox(key="template_role_win_rate_deals_opportunity_id")
    columns = ["deal_id (text)", "created (date)", "won_date (date)", "status (text)", "amount (number)"]
    assert id_box.options == ["—", *columns]
    assert at.selectbox(key="template_role_win_rate_deals_won_column").options == ["—", *columns]
    operators = at.selectbox(key="template_role_win_rate_deals_won_operator_").options
    assert operators == ["is true", "=", "≠", "is set", "is not set", ">", "<"]


def test_won_as_a_condition_and_only_rows_not_lost(home):
    at = choose(kpis_page(), "win rate", "win_rate", "deals")
    at.selectbox(key="template_role_win_rate_deals_date").set_value("created")
    at.selectbox(key="template_role_win_rate_deals_opportunity_id").set_value("deal_id")
    at.selectbox(key="template_role_win_rate_deals_won_column").set_value("won_date")
    run(at)
    operator = at.selectbox(key="template_role_win_rate_deals_won_operator_won_date")
    assert operator.value == "is set", "a date column is tested for being set by default"
    at.selectbox(key="template_only_column").set_value("status")
    run(at)
    at.selectbox(key="template_only_operator_status").set_value("≠")
    at.text_input(key="template_only_value").input("lost")
    run(at)
    kpi = add(at, home)
    assert kpi.source == "deals" and kpi.time_column == "created"
    assert kpi.expression == (
        "count(DISTINCT deal_id) FILTER (WHERE (won_date IS NOT NULL)) / nullif(count(DISTINCT deal_id), 0)"
    )
    assert kpi.filter == "(created IS NOT NULL) AND (status <> 'lost')", "joined to the template's own filter"
    # The saved formula computes: 2 of the 3 deals not lost were won.
    con = duckdb.connect()
    con.execute("CREATE TABLE deals AS SELECT * FROM read_csv(?)", [str(home / WS_ID / "files" / "deals.csv")])
    assert con.execute(f"SELECT {kpi.expression} FROM deals WHERE {kpi.filter}").fetchone() == (pytest.approx(2 / 3),)


def test_funnel_steps_from_a_text_column(home):
    at = choose(kpis_page(), "checkout", "checkout_conversion_rate", "sessions")
    at.selectbox(key="template_role_checkout_conversion_rate_sessions_date").set_value("day")
    at.selectbox(key="template_role_checkout_conversion_rate_sessions_session_id").set_value("session_id")
    for role, value in (("started_checkout", "checkout"), ("ordered", "order")):
        at.selectbox(key=f"template_role_checkout_conversion_rate_sessions_{role}_column").set_value("furthest_step")
        run(at)
        at.selectbox(key=f"template_role_checkout_conversion_rate_sessions_{role}_operator_furthest_step").set_value(
            "="
        )
        at.text_input(key=f"template_role_checkout_conversion_rate_sessions_{role}_value").input(value)
        run(at)
    kpi = add(at, home)
    assert "(furthest_step = 'checkout')" in kpi.expression and "(furthest_step = 'order')" in kpi.expression


def test_a_true_false_column_is_used_as_it_is(home):
    at = choose(kpis_page(), "add to cart", "add_to_cart_rate", "sessions")
    assert at.selectbox(key="template_role_add_to_cart_rate_sessions_date").value == "day", "its only date column"
    at.selectbox(key="template_role_add_to_cart_rate_sessions_session_id").set_value("session_id")
    at.selectbox(key="template_role_add_to_cart_rate_sessions_added_to_cart_column").set_value("added")
    run(at)
    assert at.selectbox(key="template_role_add_to_cart_rate_sessions_added_to_cart_operator_added").value == "is true"
    kpi = add(at, home)
    assert kpi.expression.startswith("count(DISTINCT session_id) FILTER (WHERE added)")


def test_a_bad_value_is_named_and_add_waits(home):
    at = choose(kpis_page(), "win rate", "win_rate", "deals")
    at.selectbox(key="template_only_column").set_value("amount")
    run(at)
    at.selectbox(key="template_only_operator_amount").set_value(">")
    at.text_input(key="template_only_value").input("1,000")
    run(at)
    assert "'1,000' is not a number" in errors(at)
    (button,) = [b for b in at.button if b.key == "add_template"]
    assert button.disabled
    # "is true" on a text column would be taken as a column name: refused with the fix.
    at.selectbox(key="template_role_win_rate_deals_won_column").set_value("status")
    run(at)
    at.selectbox(key="template_role_win_rate_deals_won_operator_status").set_value("is true")
    run(at)
    assert "'status' holds text, not true/false" in errors(at)


def test_a_missing_column_is_named_at_add(home):
    at = choose(kpis_page(), "win rate", "win_rate", "deals")
    (button,) = [b for b in at.button if b.key == "add_template"]
    button.click()
    run(at)
    assert "needs a column for roles 'opportunity_id'" in errors(at)
    assert WorkspaceStore(home).load(WS_ID).kpis == []


def test_a_source_without_data_falls_back_to_typed_columns_with_a_hint(home):
    at = choose(kpis_page(), "win rate", "win_rate", "planned")
    assert any("Load this source's data on the Data page" in c.value for c in at.caption)
    assert at.text_input(key="template_role_win_rate_opportunity_id").value == "opportunity_id"
    at.text_input(key="template_role_win_rate_won_column").input("won_flag")
    run(at)
    kpi = add(at, home)
    assert kpi.source == "planned" and kpi.time_column == "date"
    assert "FILTER (WHERE won_flag)" in kpi.expression


def test_another_source_offers_its_own_same_name_and_only_date_columns(home):
    """Roles left at '—' by a source that lacks the columns are filled when a source that has them is picked."""
    at = choose(kpis_page(), "add to cart", "add_to_cart_rate", "deals")
    assert at.selectbox(key="template_role_add_to_cart_rate_deals_session_id").value == "—", "deals has none"
    assert at.selectbox(key="template_role_add_to_cart_rate_deals_date").value == "—", "deals has two dates"
    at.selectbox(key="template_source").set_value("sessions")
    run(at)
    assert at.selectbox(key="template_role_add_to_cart_rate_sessions_session_id").value == "session_id"
    assert at.selectbox(key="template_role_add_to_cart_rate_sessions_date").value == "day"

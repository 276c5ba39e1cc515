"""Edits keep references consistent and never change the workspace they were given."""

from __future__ import annotations

import pytest

from kpi_model import editing
from kpi_model.errors import WorkspaceError
from kpi_model.models import Goal, Kpi, Unit


def test_rename_unit_moves_its_goals(small_workspace):
    renamed = editing.upsert_unit(small_workspace, Unit(id="sales-team", name="Sales"), old_id="sales")
    assert renamed.goal("grow-repeat").unit == "sales-team"
    assert small_workspace.goal("grow-repeat").unit == "sales", "input must stay unchanged"


def test_duplicate_ids_refused(small_workspace):
    with pytest.raises(editing.EditError, match="exists already"):
        editing.upsert_unit(small_workspace, Unit(id="ops", name="Other"))
    with pytest.raises(editing.EditError, match="exists already"):
        editing.upsert_goal(small_workspace, Goal(id="grow-repeat", unit="ops", statement="x"))
    with pytest.raises(editing.EditError, match="exists already"):
        editing.upsert_kpi(small_workspace, Kpi(id="on_time", name="x"))
    with pytest.raises(editing.EditError, match="exists already"):
        editing.upsert_kpi(small_workspace, Kpi(id="on_time", name="x"), old_id="repeat_rate")


def test_delete_unit_with_goals_refused(small_workspace):
    with pytest.raises(editing.EditError, match="still has goals"):
        editing.delete_unit(small_workspace, "sales")
    without = editing.delete_unit(editing.delete_goal(small_workspace, "deliver-on-time"), "ops")
    assert [u.id for u in without.units] == ["sales"]


def test_goal_needs_known_unit(small_workspace):
    with pytest.raises(editing.EditError, match="did you mean 'sales'"):
        editing.upsert_goal(small_workspace, Goal(id="g", unit="sale", statement="x"))


def test_rename_goal_moves_kpis(small_workspace):
    renamed = editing.upsert_goal(
        small_workspace, Goal(id="grow-repeat-revenue", unit="sales", statement="Grow"), old_id="grow-repeat"
    )
    assert {k.id for k in renamed.kpis_of("grow-repeat-revenue")} == {"repeat_rate", "repeat_revenue"}


def test_delete_goal_detaches_or_deletes_kpis(small_workspace):
    detached = editing.delete_goal(small_workspace, "grow-repeat")
    assert detached.kpi("repeat_rate").goal is None
    assert detached.kpi("repeat_rate").unit == "sales", "it stays in the goal's unit"
    deleted = editing.delete_goal(small_workspace, "grow-repeat", delete_kpis=True)
    assert [k.id for k in deleted.kpis] == ["on_time"]


def test_kpi_unit_follows_unit_renames_goal_moves_and_deletions(small_workspace):
    homeless = Kpi(id="win_rate", name="Win rate", unit="sales")
    workspace = editing.upsert_kpi(small_workspace, homeless)
    assert workspace.unit_of_kpi(workspace.kpi("win_rate")).name == "Sales"
    renamed = editing.upsert_unit(workspace, Unit(id="sales-team", name="Sales"), old_id="sales")
    assert renamed.kpi("win_rate").unit == "sales-team"
    emptied = editing.delete_unit(editing.delete_goal(workspace, "grow-repeat", delete_kpis=True), "sales")
    assert emptied.kpi("win_rate").unit is None, "kept, without a unit"
    placed = editing.upsert_kpi(workspace, homeless.model_copy(update={"goal": "grow-repeat"}), old_id="win_rate")
    moved = editing.upsert_goal(
        placed, Goal(id="grow-repeat", unit="ops", statement="Grow repeat revenue"), old_id="grow-repeat"
    )
    assert (moved.kpi("win_rate").goal, moved.kpi("win_rate").unit) == ("grow-repeat", "ops")


def test_rename_kpi_updates_pairing(small_workspace):
    renamed = editing.upsert_kpi(
        small_workspace,
        small_workspace.kpi("repeat_rate").model_copy(update={"id": "repeat_share"}),
        old_id="repeat_rate",
    )
    assert renamed.kpi("repeat_revenue").pairs_with == "repeat_share"


def test_delete_kpi_clears_pairing(small_workspace):
    after = editing.delete_kpi(small_workspace, "repeat_revenue")
    assert after.kpi("repeat_rate").pairs_with is None


def test_edit_producing_bad_reference_is_refused(small_workspace):
    with pytest.raises(WorkspaceError, match="unknown goal"):
        editing.upsert_kpi(small_workspace, Kpi(id="x", name="X", goal="nope"))


@pytest.mark.parametrize(
    ("text", "slug"),
    [("Grow repeat revenue!", "grow-repeat-revenue"), ("Ünïcödé  café", "unicode-cafe"), ("###", "item")],
)
def test_slugify(text, slug):
    assert editing.slugify(text) == slug


def test_ids_from_names_and_uniqueness():
    assert editing.kpi_id_from("3-day churn") == "kpi_3_day_churn"
    assert editing.unique_id("a", ["a", "a-2"]) == "a-3"
    assert editing.unique_id("b", ["a"]) == "b"


@pytest.mark.parametrize(("count", "level"), [(0, "low"), (2, "low"), (3, "ok"), (5, "ok"), (6, "high"), (7, "high")])
def test_kpi_count_hint(count, level):
    assert editing.kpi_count_hint(count)[0] == level


def test_sources_added_and_renamed_with_their_kpis(small_workspace):
    from kpi_model.models import Source

    added = editing.upsert_source(small_workspace, Source(name="leads", path="files/leads.csv"))
    assert [s.name for s in added.sources] == ["orders", "leads"]
    renamed = editing.upsert_source(added, Source(name="sales_orders", path="data/orders.csv"), old_name="orders")
    assert renamed.kpi("repeat_rate").source == "sales_orders"
    with pytest.raises(editing.EditError, match="name 'leads' exists already"):
        editing.upsert_source(renamed, Source(name="leads"))


def _with_scenario():
    from kpi_model.models import DriverChange, Scenario, Workspace

    return Workspace(
        name="drivers",
        kpis=[
            Kpi(id="mqls", name="MQLs"),
            Kpi(id="win_rate", name="Win rate"),
            Kpi(id="deals", name="Deals", expression="mqls * win_rate"),
        ],
        scenarios=[
            Scenario(id="more", name="More leads", kpi="deals",
                     changes=[DriverChange(kpi="mqls", relative=0.5), DriverChange(kpi="win_rate", add=0.01)]),
        ],
    )  # fmt: skip


def test_renaming_a_driver_carries_its_scenario_changes_and_deleting_one_drops_them():
    ws = _with_scenario()
    renamed = editing.upsert_kpi(ws, Kpi(id="leads", name="Leads"), old_id="mqls")
    assert [c.kpi for c in renamed.scenarios[0].changes] == ["leads", "win_rate"]
    without = editing.delete_kpi(ws, "win_rate")
    assert [c.kpi for c in without.scenarios[0].changes] == ["mqls"]
    assert editing.delete_kpi(ws, "deals").scenarios == [], "the scenario of a deleted KPI goes with it"


def test_a_second_unit_of_the_same_name_is_refused(small_workspace):
    with pytest.raises(editing.EditError, match="a unit named 'Sales' exists already \\(id 'sales'\\)"):
        editing.upsert_unit(small_workspace, Unit(id="sales-2", name=" sales"))
    # Editing a unit under its own name, or renaming it to a free name, is fine.
    assert editing.upsert_unit(small_workspace, Unit(id="sales", name="Sales", owner="CCO"), old_id="sales")
    assert editing.upsert_unit(small_workspace, Unit(id="sales", name="Commercial"), old_id="sales")
    with pytest.raises(editing.EditError, match="exists already"):
        editing.upsert_unit(small_workspace, Unit(id="ops", name="Sales"), old_id="ops")


def test_the_same_goal_twice_in_one_unit_is_refused_but_in_another_unit_allowed(small_workspace):
    with pytest.raises(editing.EditError, match="the unit 'Sales' has this goal already \\(id 'grow-repeat'\\)"):
        editing.upsert_goal(small_workspace, Goal(id="grow-repeat-2", unit="sales", statement="grow  repeat Revenue"))
    elsewhere = editing.upsert_goal(
        small_workspace, Goal(id="grow-repeat-2", unit="ops", statement="Grow repeat revenue")
    )
    assert elsewhere.goal("grow-repeat-2").unit == "ops"
    with pytest.raises(editing.EditError, match="has this goal already"):
        editing.upsert_goal(
            small_workspace,
            Goal(id="deliver-on-time", unit="sales", statement="Grow repeat revenue"),
            old_id="deliver-on-time",
        )
    assert editing.upsert_goal(
        small_workspace,
        Goal(id="grow-repeat", unit="sales", statement="Grow repeat revenue", owner="CRM"),
        old_id="grow-repeat",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Grow repeat revenue!", "grow-repeat-revenue"),
        (
            "Cut the cost of purchased components by 15% against list price without slowing the warehouse",
            "cut-the-cost-of-purchased-components-by-15-against",
        ),
        (
            "Grow repeat revenue from existing customers in the DACH region",
            "grow-repeat-revenue-from-existing-customers",
        ),
        ("Über-Qualität für alle", "uber-qualitat-fur-alle"),
        ("!!!", "item"),
    ],
)
def test_ids_from_long_text_are_cut_between_words(text, expected):
    slug = editing.slugify(text)
    assert slug == expected and len(slug) <= editing.MAX_SLUG


def test_a_cut_id_does_not_end_on_a_small_word():
    slug = editing.slugify("Make every delivery arrive complete and on time for the customers of")
    assert not slug.endswith(("-of", "-the", "-for", "-and")), slug
    assert editing.slugify("x" * 80) == "x" * editing.MAX_SLUG, "only a single overlong word is cut"


def test_a_made_id_follows_a_rename_until_something_refers_to_it(small_workspace):
    free = Kpi(id="churn_rate", name="Churn rate", goal="grow-repeat", template="churn_rate")
    workspace = editing.upsert_kpi(small_workspace, free)
    assert editing.id_after_rename(workspace, free, "Web churn rate") == "web_churn_rate"
    named = Kpi(id="new_customers_2", name="New customers", goal="grow-repeat")
    workspace = editing.upsert_kpi(workspace, named)
    assert editing.id_after_rename(workspace, named, "New B2B customers") == "new_b2b_customers"
    # Taken by another KPI: the next free one.
    assert editing.id_after_rename(workspace, named, "Churn rate") == "churn_rate_2"


def test_a_typed_or_referenced_id_stays(small_workspace):
    typed = small_workspace.kpi("on_time")  # 'on_time' is not made from 'On-time delivery'
    assert editing.id_after_rename(small_workspace, typed, "Delivered on time") == "on_time"
    paired = small_workspace.kpi("repeat_revenue")  # repeat_rate pairs with it
    assert editing.id_after_rename(small_workspace, paired, "Revenue from repeat buyers") == "repeat_revenue"
    driver = Kpi(id="orders", name="Orders", goal="grow-repeat")
    derived = Kpi(id="aov", name="AOV", goal="grow-repeat", expression="revenue / orders")
    workspace = editing.upsert_kpi(editing.upsert_kpi(small_workspace, driver), derived)
    assert editing.id_after_rename(workspace, driver, "Web orders") == "orders", "a formula uses it"
    assert editing.is_referenced(workspace, "orders") and not editing.is_referenced(workspace, "aov")


def test_the_same_kpi_name_twice_in_one_goal_is_refused(small_workspace):
    with pytest.raises(
        editing.EditError, match="this goal has a KPI named 'Repeat revenue' already \\(id 'repeat_revenue'\\)"
    ):
        editing.upsert_kpi(small_workspace, Kpi(id="repeat_revenue_2", name="repeat  revenue", goal="grow-repeat"))
    other_goal = editing.upsert_kpi(
        small_workspace, Kpi(id="repeat_revenue_2", name="Repeat revenue", goal="deliver-on-time")
    )
    with pytest.raises(editing.EditError, match="already"):  # moved into the goal that has one
        editing.upsert_kpi(
            other_goal,
            other_goal.kpi("repeat_revenue_2").model_copy(update={"goal": "grow-repeat"}),
            old_id="repeat_revenue_2",
        )
    kept = small_workspace.kpi("repeat_revenue").model_copy(update={"owner": "CFO"})
    assert editing.upsert_kpi(small_workspace, kept, old_id="repeat_revenue").kpi("repeat_revenue").owner == "CFO"

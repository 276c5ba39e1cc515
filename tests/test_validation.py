"""Structure and reference validation: every problem names its path and the fix."""

from __future__ import annotations

import pytest
import yaml

from kpi_model.editing import upsert_source
from kpi_model.errors import WorkspaceError
from kpi_model.models import Baseline, Kpi, Source, Target, parse_period
from kpi_model.validation import parse_part, parse_workspace
from kpi_model.workspace_file import to_data

BASE = {
    "name": "X",
    "units": [{"id": "sales", "name": "Sales"}],
    "goals": [{"id": "grow-repeat", "unit": "sales", "statement": "Grow repeat revenue"}],
}


def problems_of(data: object) -> list[str]:
    with pytest.raises(WorkspaceError) as caught:
        parse_workspace(data)
    return [str(p) for p in caught.value.problems]


def test_valid_workspace_parses(small_workspace):
    assert parse_workspace(to_data(small_workspace)) == small_workspace


def test_unknown_goal_names_path_and_suggestion():
    data = {
        **BASE,
        "kpis": [{"id": "a", "name": "A", "goal": "grow-repeat"}] * 0
        + [{"id": f"k{i}", "name": "K", "goal": "grow-repeat"} for i in range(3)]
        + [{"id": "k9", "name": "K", "goal": "grow-repat"}],
    }
    assert problems_of(data) == ["kpis[3].goal: unknown goal 'grow-repat' — did you mean 'grow-repeat'?"]


def test_kpi_unit_is_a_reference_with_a_suggestion():
    data = {**BASE, "kpis": [{"id": "a", "name": "A", "unit": "sales"}, {"id": "b", "name": "B", "unit": "sale"}]}
    assert problems_of(data) == ["kpis[1].unit: unknown unit 'sale' — did you mean 'sales'?"]


def test_kpi_unit_must_be_its_goals_unit():
    data = {
        **BASE,
        "units": [*BASE["units"], {"id": "ops", "name": "Operations"}],
        "kpis": [
            {"id": "a", "name": "A", "goal": "grow-repeat", "unit": "sales"},
            {"id": "b", "name": "B", "goal": "grow-repeat", "unit": "ops"},
        ],
    }
    assert problems_of(data) == [
        "kpis[1].unit: unit 'ops' does not match the goal 'grow-repeat', which belongs to unit 'sales' — "
        "set unit: sales, leave unit out (a KPI with a goal belongs to its goal's unit), or pick a goal of unit 'ops'"
    ]


def test_duplicate_kpi_id_points_at_both():
    data = {**BASE, "kpis": [{"id": "a", "name": "A"}, {"id": "a", "name": "B"}]}
    (problem,) = problems_of(data)
    assert problem.startswith("kpis[1].id: duplicate KPI id 'a' (also kpis[0])")


def test_source_names_that_differ_only_in_case_are_refused_naming_both():
    # DuckDB reads A and a as one table: the view A would replace the file source a and then read itself.
    data = {
        "name": "X",
        "sources": [
            {"name": "orders", "path": "orders.csv"},
            {"name": "a", "path": "a.csv"},
            {"name": "A", "sql": "SELECT * FROM a"},
            {"name": "Orders", "sql": "SELECT * FROM orders"},
        ],
    }
    assert problems_of(data) == [
        "sources[2].name: source 'A' and source 'a' (sources[1]) differ only in case, and DuckDB does not "
        "tell table names apart by case, so one would replace the other: rename one of them (e.g. 'A_2')",
        "sources[3].name: source 'Orders' and source 'orders' (sources[0]) differ only in case, and DuckDB "
        "does not tell table names apart by case, so one would replace the other: rename one of them "
        "(e.g. 'Orders_2')",
    ]


def test_a_source_named_twice_is_one_duplicate_not_also_a_case_twin():
    data = {"name": "X", "sources": [{"name": "a", "path": "a.csv"}, {"name": "a", "path": "b.csv"}]}
    (problem,) = problems_of(data)
    assert problem.startswith("sources[1].name: duplicate source name 'a' (also sources[0])")


def test_the_app_cannot_add_a_source_whose_name_differs_only_in_case():
    workspace = parse_workspace({"name": "X", "sources": [{"name": "a", "path": "files/a.csv"}]})
    with pytest.raises(WorkspaceError, match=r"source 'A' and source 'a' .* differ only in case.*rename one"):
        upsert_source(workspace, Source(name="A", sql="SELECT * FROM a"))


def test_bad_enum_lists_choices_and_suggests():
    data = {**BASE, "kpis": [{"id": "a", "name": "A", "category": "finance"}]}
    (problem,) = problems_of(data)
    assert problem.startswith("kpis[0].category: 'finance' is not a valid category — did you mean 'financial'?")
    assert "financial, customer, process, marketing, people" in problem


def test_unknown_key_suggests_the_right_one():
    (problem,) = problems_of({**BASE, "kpis": [{"id": "a", "name": "A", "ownr": "x"}]})
    assert problem.startswith("kpis[0].ownr: unknown key 'ownr' — did you mean 'owner'?")


def test_all_problems_reported_together():
    data = {**BASE, "kpis": [{"id": "Bad Id", "name": "", "target": {"value": "3%", "due": "next year"}}]}
    problems = problems_of(data)
    paths = sorted(p.split(":")[0] for p in problems)
    assert paths == ["kpis[0].id", "kpis[0].name", "kpis[0].target.due", "kpis[0].target.value"]
    assert any("must not be empty" in p for p in problems)
    assert any("YYYY-MM-DD" in p for p in problems)


def test_goal_with_unknown_unit_and_bad_pairing():
    data = {
        **BASE,
        "goals": [*BASE["goals"], {"id": "g2", "unit": "sale", "statement": "S"}],
        "kpis": [{"id": "a", "name": "A", "pairs_with": "a"}, {"id": "b", "name": "B", "pairs_with": "aa"}],
    }
    problems = problems_of(data)
    assert "goals[1].unit: unknown unit 'sale' — did you mean 'sales'?" in problems
    assert "kpis[0].pairs_with: a KPI cannot pair with itself" in problems
    assert any(p.startswith("kpis[1].pairs_with: unknown KPI 'aa'") for p in problems)


def test_unknown_source_is_reported():
    data = {**BASE, "sources": [{"name": "orders"}], "kpis": [{"id": "a", "name": "A", "source": "order"}]}
    (problem,) = problems_of(data)
    assert problem.startswith("kpis[0].source: unknown source 'order' — did you mean 'orders'?")


@pytest.mark.parametrize("document", [None, [], "text", 3])
def test_non_mapping_documents_are_explained(document):
    (problem,) = problems_of(document)
    assert "expected a mapping" in problem


def test_newer_format_is_refused_with_upgrade_hint():
    (problem,) = problems_of({**BASE, "format_version": 99})
    assert "upgrade kpi-wizard" in problem


@pytest.mark.parametrize("label", ["2025", "2025-Q4", "2025-12", "2025-W07", "2025-12-31"])
def test_period_labels_accepted(label):
    assert parse_period(label) == label
    assert Baseline(value=1, period=label).period == label


@pytest.mark.parametrize("label", ["2025-13", "2025-Q5", "2025-W60", "Dec 2025", "2025-02-30"])
def test_bad_period_labels_rejected(label):
    with pytest.raises(ValueError, match="is not a period"):
        parse_period(label)


def test_yaml_integer_year_becomes_a_period():
    assert Baseline(value=1, period=2025).period == "2025"


def test_source_cannot_be_file_and_view():
    with pytest.raises(ValueError, match="either path"):
        Source(name="s", path="a.csv", sql="SELECT 1")


def test_target_range_must_be_ordered():
    with pytest.raises(ValueError, match="swap them"):
        Target(low=5, high=1)


def test_parse_part_prefixes_paths():
    with pytest.raises(WorkspaceError) as caught:
        parse_part(Kpi, {"id": "a", "name": "A", "direction": "upward"}, ("kpis", 4))
    (problem,) = caught.value.problems
    assert problem.path == "kpis[4].direction"
    assert "did you mean 'up'?" in problem.message


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_a_number_that_is_not_finite_is_refused_where_it_stands(value):
    data = yaml.safe_load(f"name: x\nkpis:\n  - {{id: a, name: A, thresholds: {{warning: {value}}}}}\n")
    with pytest.raises(WorkspaceError, match=r"kpis\[0\]\.thresholds\.warning: .*finite number"):
        parse_workspace(data, source="t")


def test_a_name_is_one_line_so_output_cannot_fake_lines():
    from kpi_model.models import Kpi

    assert Kpi(id="k", name="Net\nrevenue \r\n verdict: leads").name == "Net revenue verdict: leads"
    assert Kpi(id="k", name="Sales \u202eOperations").name == "Sales Operations", "no bidi override"
    with pytest.raises(ValueError):
        Kpi(id="k", name=" \n ")


def test_yaml_truth_values_are_not_read_as_numbers():
    from kpi_model.workspace_file import loads

    for text in ("relative: true", "relative: on", "add: no"):
        scenario = f"{{name: s, kpi: k, changes: [{{kpi: k, {text}}}]}}"
        document = f"name: w\nkpis: [{{id: k, name: K}}]\nscenarios: [{scenario}]\n"
        with pytest.raises(Exception, match="is not a number: write the number itself"):
            loads(document)
    with pytest.raises(Exception, match="is not a number"):
        loads("name: w\nkpis: [{id: k, name: K, target: {value: on}}]\n")

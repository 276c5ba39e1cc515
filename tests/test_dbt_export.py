"""The dbt Semantic Layer export: formulas taken apart, files written safely, the import round trip, and
the proof that real dbt-core 1.10 + MetricFlow compute every exported KPI as the engine does.

The proof (marked ``engines``) builds a dbt project around the export of the sample workspace, with a
model per file source reading its CSV with DuckDB, runs ``dbt parse`` and ``dbt run`` from .venv-dbt,
asks ``mf query`` for every exported metric by month in one query (MetricFlow starts in ~6 s, so one
batch) and compares each value with ``Engine.compute`` at month grain.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
import subprocess
import time
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml

from kpi_model import workspace_file
from kpi_model.dbt_export import Unexpressible, build_export, decompose, write_export, zip_bytes
from kpi_model.engine import Engine
from kpi_model.errors import KpiWizardError
from kpi_model.formula import SeriesRequest
from kpi_model.importers.dbt import import_dbt
from kpi_model.models import Workspace
from kpi_model.workspace_file import parse_workspace

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "workspace.yaml"
DBT_BIN = ROOT / ".venv-dbt" / "bin"
# A view source and a KPI on it: the sample has none, and the export must turn views into dbt models.
WEB_ORDERS_VIEW = {
    "name": "web_orders",
    "sql": "SELECT o.order_id, o.order_date, o.amount, o.status FROM orders AS o WHERE o.channel = 'web'",
    "description": "Web-shop orders (a view over orders).",
}
WEB_ORDER_REVENUE = {
    "id": "web_order_revenue",
    "name": "Completed web order revenue",
    "goal": "grow-web-revenue",
    "owner": "Head of E-commerce",
    "source": "web_orders",
    "expression": "sum(amount)",
    "filter": "status = 'completed'",
    "time_column": "order_date",
    "unit_of_measure": "currency",
    "direction": "up",
    "cadence": "monthly",
    "target": {"value": 70000, "due": "2027-12-31"},
    "thresholds": {"warning": 50000, "critical": 40000},
}


# Percentile measures: the sample has none, and MetricFlow computes them in SQL of its own.
PERCENTILE_KPIS = [
    {
        "id": f"order_value_{name}",
        "name": f"Order value, {name}",
        "source": "orders",
        "expression": formula,
        "filter": "status <> 'cancelled'",
        "time_column": "order_date",
    }
    for name, formula in [
        ("median", "median(amount)"),
        ("p90", "quantile_cont(amount, 0.9)"),
        ("p90_discrete", "quantile_disc(amount, 0.9)"),
    ]
]


def sample_with_view() -> Workspace:
    data = workspace_file.to_data(workspace_file.load(SAMPLE))
    data["sources"].append(WEB_ORDERS_VIEW)
    data["kpis"] += [WEB_ORDER_REVENUE, *PERCENTILE_KPIS]
    return parse_workspace(data, source="sample + view")


def engine_series(engine: Engine, workspace: Workspace, kpi_id: str) -> dict[dt.date, float | None]:
    series = engine.compute(workspace, kpi_id, SeriesRequest("month"))
    return {point.period: point.value for point in series.points}


# --- decomposition ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "metric_type", "aggregations", "conditions", "expr"),
    [
        ("count(*)", "simple", ["count"], [None], None),
        ("sum(amount)", "simple", ["sum"], [None], None),
        ("count(DISTINCT customer_id)", "simple", ["count_distinct"], [None], None),
        ("avg(csat)", "simple", ["average"], [None], None),
        ("max(price) FILTER (WHERE region = 'EU')", "simple", ["max"], ["region = 'EU'"], None),
        ("min(price)", "simple", ["min"], [None], None),
        ("sum(amount) / count(DISTINCT order_id)", "ratio", ["sum", "count_distinct"], [None, None], None),
        ("(sum(a)) / (sum(b))", "ratio", ["sum", "sum"], [None, None], None),
        (
            "count(*) FILTER (WHERE stage = 'won') / count(*) FILTER (WHERE stage IN ('won', 'lost'))",
            "ratio",
            ["count", "count"],
            ["stage = 'won'", "stage IN ('won', 'lost')"],
            None,
        ),
        (
            "(count(*) FILTER (WHERE s >= 9) - count(*) FILTER (WHERE s <= 6)) * 100.0 / count(*)",
            "derived",
            ["count", "count", "count"],
            ["s >= 9", "s <= 6", None],
            "(input_1 - input_2) * 100.0 / NULLIF(input_3, 0)",
        ),
        ("avg(minutes) / 60.0", "derived", ["average"], [None], "input_1 / 60.0"),
        (
            "sum(d) / (sum(a) + sum(d))",
            "derived",
            ["sum", "sum", "sum"],
            [None] * 3,
            "input_1 / NULLIF((input_2 + input_3), 0)",
        ),
    ],
)
def test_formulas_decompose_into_metric_types(formula, metric_type, aggregations, conditions, expr):
    parts = decompose(formula)
    assert parts.type == metric_type
    assert [i.measure.agg for i in parts.inputs] == aggregations
    assert [i.condition.sql() if i.condition is not None else None for i in parts.inputs] == conditions
    assert parts.expr == expr


def test_count_star_counts_a_constant_and_measure_expressions_are_transpiled():
    assert decompose("count(*)").inputs[0].measure.expr == "1"
    assert decompose("sum((list_price - paid) * qty)").inputs[0].measure.expr == "(list_price - paid) * qty"
    tsql_free = decompose("avg(date_diff('minute', a, b))", "snowflake").inputs[0].measure.expr
    assert tsql_free.upper().startswith("DATEDIFF(MINUTE")


@pytest.mark.parametrize(
    ("formula", "reason"),
    [
        ("stddev_samp(price)", "has no MetricFlow measure"),
        ("quantile_cont(price, 1.5)", "between 0 and 1"),
        ("count(DISTINCT a, b)", "several columns"),
        ("sum(amount) FILTER (WHERE note = '{{ var(\"x\") }}')", "Jinja"),
    ],
)
def test_what_metricflow_cannot_express_is_named_with_the_reason(formula, reason):
    workspace = parse_workspace(
        {
            "name": "w",
            "sources": [{"name": "orders", "path": "orders.csv"}],
            "kpis": [
                {"id": "odd", "name": "Odd", "source": "orders", "expression": formula, "time_column": "day"},
                {"id": "fine", "name": "Fine", "source": "orders", "expression": "sum(x)", "time_column": "day"},
            ],
        },
        source="test",
    )
    export = build_export(workspace)
    odd, fine = export.outcomes
    assert odd.metric_type is None and reason in (odd.reason or ""), odd
    assert fine.metric_type == "simple"
    assert "odd" in export.files["README.md"] and reason.split(" ")[0] in export.files["README.md"]
    metrics = yaml.safe_load(export.files["metrics.yml"])["metrics"]
    assert [m["name"] for m in metrics] == ["fine"]


def test_unexpressible_is_raised_for_a_bare_column():
    with pytest.raises(Unexpressible, match="no aggregate"):
        decompose("1 + 2")


def test_a_derived_kpi_over_a_kpi_that_cannot_be_exported_names_it():
    data: dict[str, Any] = {
        "name": "w",
        "sources": [{"name": "t", "path": "t.csv"}],
        "kpis": [
            {"id": "a", "name": "A", "source": "t", "expression": "stddev_samp(x)", "time_column": "d"},
            {"id": "b", "name": "B", "source": "t", "expression": "sum(x)", "time_column": "d"},
            {"id": "ab", "name": "AB", "expression": "a * b"},
        ],
    }
    outcomes = {o.kpi_id: o for o in build_export(parse_workspace(data, source="t")).outcomes}
    assert outcomes["ab"].metric_type is None
    assert "'a', which is not exported" in (outcomes["ab"].reason or "")


def test_filters_become_dimension_references_and_time_columns_time_dimensions():
    data = {
        "name": "w",
        "sources": [{"name": "orders", "path": "o.csv"}],
        "kpis": [
            {
                "id": "late",
                "name": "Late",
                "source": "orders",
                "expression": "count(*) FILTER (WHERE shipped > promised) / count(*)",
                "filter": "Channel IN ('web') AND order_date >= DATE '2026-01-01'",
                "time_column": "order_date",
            }
        ],
    }
    export = build_export(parse_workspace(data, source="t"))
    metric = yaml.safe_load(export.files["metrics.yml"])["metrics"][0]
    assert metric["filter"] == (
        "{{ Dimension('orders__channel') }} IN ('web') AND "
        "{{ TimeDimension('orders__order_date', 'day') }} >= CAST('2026-01-01' AS DATE)"
    )
    assert metric["type_params"]["numerator"]["filter"] == (
        "{{ Dimension('orders__shipped') }} > {{ Dimension('orders__promised') }}"
    )
    model = yaml.safe_load(export.files["semantic_models.yml"])["semantic_models"][0]
    dimensions = {d["name"]: d for d in model["dimensions"]}
    assert dimensions["channel"]["expr"] == '"Channel"'  # the column's own spelling, quoted
    assert dimensions["order_date"]["type"] == "time"
    assert model["model"] == "ref('orders')" and model["primary_entity"] == "orders"


@pytest.mark.parametrize(
    ("name", "description", "owner"),
    [
        ("{{ run_query('drop table x') }}", "{% do x %}", "{# o #}"),
        # A third brace used to leave '{ {{ … }}' behind: one split per pair of braces was not enough.
        ("Sessions {{{ env_var('HOME') }}", "{{{ run_query('drop table x') }}", "{{{{ var('y') }}}}"),
        ("{%{%{% x %}", "{#{#{# c #}", "{{%{#{"),
        # A zero-width or control character between the braces goes, and must not leave a live opener.
        ("{\u200b{ run_query('drop table x') }}", "{\u2066% do x %}", "{\x1b# o #}"),
    ],
)
def test_user_text_never_reaches_dbt_as_jinja(name, description, owner):
    data = {
        "name": "w",
        "sources": [{"name": "t", "path": "t.csv", "description": description}],
        "kpis": [
            {
                "id": "k",
                "name": name,
                "description": description,
                "owner": owner,
                "source": "t",
                "expression": "sum(x)",
                "time_column": "d",
            }
        ],
    }
    export = build_export(parse_workspace(data, source="t"))
    for text in export.files.values():
        if text is export.files["metricflow_time_spine.sql"]:
            continue  # KPI Wizard's own Jinja: the date spine macro
        without_references = text.replace("{{ Dimension(", "").replace("{{ TimeDimension(", "")
        assert "{{" not in without_references and "{%" not in without_references and "{#" not in without_references


# What a terminal acts on (ESC, BEL, CSI, CR) and what shows text other than it is: bidi controls
# (U+202E reads "gnp.exe" as "exe.png"), the Arabic letter mark and zero-width characters.
HIDDEN = "\x00\x07\x1b\r\x7f\x9b\u061c\u200b\u200d\u200e\u202a\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"


def _hidden_in(text: str) -> list[str]:
    """Every control (but newline) or format character in ``text``, by its code point."""
    return [f"U+{ord(c):04X}" for c in text if c != "\n" and unicodedata.category(c) in {"Cc", "Cf"}]


def test_names_and_descriptions_reach_readme_and_yaml_without_controls_bidi_or_zero_width_characters(tmp_path):
    def hostile(text: str) -> str:
        return "".join(f"{c}{HIDDEN[i % len(HIDDEN)]}" for i, c in enumerate(text))

    data = {
        "name": "Board\x1b]0;owned\x07\x1b[2J view",
        "units": [{"id": "sales", "name": "Sales", "description": hostile("Sales team")}],
        "goals": [{"id": "grow", "unit": "sales", "statement": "Grow \u2067sales\u2069 \x1b[31m"}],
        "sources": [{"name": "t", "path": "t.csv", "description": hostile("Orders"), "system": "S\x1bAP\u202e"}],
        "kpis": [
            {
                "id": "k",
                "name": "Revenue \x1b[2J\x07\u202egnp.exe",
                "description": "First line \u202e\nsecond\u200b line\x9b",
                "owner": hostile("Head of sales"),
                "goal": "grow",
                "source": "t",
                "expression": "sum(x)",
                "time_column": "d",
            },
            {"id": "later", "name": "Later \x1b]8;;http://x\x07link", "source": "t", "time_column": "d"},
        ],
    }
    export = build_export(parse_workspace(data, source="t"))
    readme = export.files["README.md"]
    for name, text in export.files.items():
        assert _hidden_in(text) == [], name
    assert "# dbt Semantic Layer export of “Board]0;owned[2J view”" in readme
    assert "| `k` Revenue [2Jgnp.exe | simple |" in readme
    assert "- `later` Later ]8;;http://xlink: it has no formula yet" in readme
    (metric,) = yaml.safe_load(export.files["metrics.yml"])["metrics"]
    assert metric["label"] == metric["config"]["meta"]["name"] == "Revenue [2Jgnp.exe"
    assert metric["description"] == "First line \nsecond line"  # the line break of a description stays
    assert metric["config"]["meta"]["owner"] == "Head of sales"
    assert metric["config"]["meta"]["goal"]["statement"] == "Grow sales [31m"
    (model,) = yaml.safe_load(export.files["semantic_models.yml"])["semantic_models"]
    assert (model["description"], model["config"]["meta"]["system"]) == ("Orders", "SAP")
    # The import reads the same KPI back, its text as the export wrote it.
    write_export(export, tmp_path / "dbt")
    (kpi,) = import_dbt(tmp_path / "dbt").workspace.kpis
    assert (kpi.id, kpi.name, kpi.owner) == ("k", "Revenue [2Jgnp.exe", "Head of sales")


@pytest.mark.parametrize(
    ("kpi", "view", "said"),
    [
        ({"filter": "region = '\u202eTSE\u202c'"}, None, "the filter contains the invisible character U+202E"),
        ({"expression": "sum(x) FILTER (WHERE s = 'a\u200bb')"}, None, "the formula contains the invisible"),
        ({"expression": "count(*) FILTER (WHERE s = 'a\u2066b')"}, None, "character U+2066"),
        ({"time_column": "d\x1b[2J"}, None, "column name 'd\\x1b[2J' contains the invisible character U+001B"),
        ({"filter": '"reg\u2067ion" = 1'}, None, "column name 'reg\\u2067ion' contains"),
        ({"source": "v"}, "SELECT d, x FROM t WHERE s = '\u202eab'", "the view 'v' contains the invisible"),
    ],
)
def test_sql_with_hidden_characters_is_left_out_with_the_reason(kpi, view, said):
    """SQL cannot lose a character without changing what it computes: such a KPI is not exported."""
    sources = [{"name": "t", "path": "t.csv"}] + ([{"name": "v", "sql": view}] if view else [])
    kpis = [
        {"id": "k", "name": "K", "source": "t", "expression": "sum(x)", "time_column": "d"} | kpi,
        {"id": "plain", "name": "Plain", "source": "t", "expression": "count(*)", "time_column": "d"},
    ]
    export = build_export(parse_workspace({"name": "w", "sources": sources, "kpis": kpis}, source="t"))
    assert [o.kpi_id for o in export.exported] == ["plain"]
    (left,) = export.not_exported
    assert said in (left.reason or ""), left.reason
    for name, text in export.files.items():
        assert _hidden_in(text) == [], name


# --- writing ------------------------------------------------------------------------------------


def test_a_folder_with_files_is_kept_unless_forced(tmp_path):
    export = build_export(workspace_file.load(SAMPLE))
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(KpiWizardError, match=r"not empty.*--force"):
        write_export(export, tmp_path)
    written = write_export(export, tmp_path, force=True)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert {p.name for p in written} == set(export.files)


def test_a_symbolic_link_in_the_folder_is_replaced_not_followed(tmp_path):
    outside = tmp_path / "outside.yml"
    outside.write_text("keep", encoding="utf-8")
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "metrics.yml").symlink_to(outside)
    write_export(build_export(workspace_file.load(SAMPLE)), folder, force=True)
    assert outside.read_text(encoding="utf-8") == "keep"
    assert not (folder / "metrics.yml").is_symlink()


def test_the_zip_holds_every_file_in_one_folder():
    import io
    import zipfile

    export = build_export(workspace_file.load(SAMPLE))
    names = zipfile.ZipFile(io.BytesIO(zip_bytes(export))).namelist()
    assert sorted(names) == sorted(f"kpi_wizard_dbt/{name}" for name in export.files)


def test_cli_export_writes_the_folder_and_refuses_to_overwrite(tmp_path, capsys):
    from kpi_model.cli import main

    target = tmp_path / "dbt"
    assert main(["export", "dbt", str(SAMPLE), "-o", str(target)]) == 0
    out, err = capsys.readouterr()
    assert "19 KPIs as metrics (6 simple, 8 ratio, 5 derived)" in out
    assert "cart_abandonment_rate: not exported, it has no source and no formula yet" in err
    assert (target / "metrics.yml").is_file()
    assert main(["export", "dbt", str(SAMPLE), "-o", str(target)]) == 2
    assert "add --force" in capsys.readouterr().err
    assert main(["export", "dbt", str(SAMPLE), "-o", str(target), "--force"]) == 0


# --- the import round trip ------------------------------------------------------------------------


def test_export_then_import_gives_back_the_same_kpis_meta_and_values(tmp_path):
    original = sample_with_view()
    export = build_export(original)
    write_export(export, tmp_path / "dbt")
    imported = import_dbt(tmp_path / "dbt").workspace
    exported_ids = [o.kpi_id for o in export.exported]
    assert [k.id for k in imported.kpis] == exported_ids  # no input metrics, no helpers
    assert imported.units == original.units and imported.goals == original.goals
    formula_fields = {"source", "expression", "filter", "time_column"}
    for kpi in imported.kpis:
        before = original.kpi(kpi.id)
        assert before is not None
        assert kpi.model_dump(exclude=formula_fields) == before.model_dump(exclude=formula_fields), kpi.id
        assert (kpi.source is None) == (before.source is None), kpi.id
    # The formulas may be spelled differently (NULLIF guards, folded inputs): they must compute the same.
    data = workspace_file.to_data(imported)
    data["sources"] = workspace_file.to_data(original)["sources"]
    rebuilt = parse_workspace(data, source="round trip")
    with Engine.for_workspace(original, SAMPLE.parent) as engine:
        for kpi_id in exported_ids:
            assert_same_series(engine_series(engine, rebuilt, kpi_id), engine_series(engine, original, kpi_id), kpi_id)


def assert_same_series(got: dict[dt.date, float | None], expected: dict[dt.date, float | None], what: str) -> None:
    got = {period: value for period, value in got.items() if value is not None}
    expected = {period: value for period, value in expected.items() if value is not None}
    assert sorted(got) == sorted(expected), f"{what}: periods differ: {sorted(set(got) ^ set(expected))}"
    for period, value in expected.items():
        assert math.isclose(got[period], value, rel_tol=1e-9, abs_tol=1e-12), (
            f"{what} {period}: {got[period]} != {value}"
        )


# --- the proof: dbt-core + MetricFlow compute the same numbers ----------------------------------------


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(cwd),
        "DBT_PROJECT_DIR": str(cwd),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "NO_COLOR": "1",
    }
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def _dbt_project(folder: Path, workspace: Workspace) -> None:
    (folder / "models" / "sources").mkdir(parents=True)
    (folder / "dbt_project.yml").write_text(
        "name: kpi_wizard_proof\nversion: '1.0'\nconfig-version: 2\nprofile: kpi_wizard_proof\n"
        "model-paths: [models]\nmodels:\n  kpi_wizard_proof:\n    +materialized: table\n",
        encoding="utf-8",
    )
    profile = {
        "kpi_wizard_proof": {
            "target": "proof",
            "outputs": {"proof": {"type": "duckdb", "path": str(folder / "proof.duckdb"), "threads": 2}},
        }
    }
    (folder / "profiles.yml").write_text(yaml.safe_dump(profile), encoding="utf-8")
    for source in workspace.sources:
        if source.path:
            csv_path = (SAMPLE.parent / source.path).resolve()
            (folder / "models" / "sources" / f"{source.name}.sql").write_text(
                f"select * from read_csv('{csv_path}', header = true)\n", encoding="utf-8"
            )


@pytest.fixture(scope="module")
def metricflow_answer(tmp_path_factory) -> dict[str, Any]:
    """Export the sample (+ a view KPI), build the dbt project, run dbt and one mf query; return what came back."""
    if not (DBT_BIN / "dbt").is_file() or not (DBT_BIN / "mf").is_file():
        pytest.fail(f"{DBT_BIN} has no dbt or mf: run `make test` (it builds .venv-dbt with dbt-core and MetricFlow)")
    started = time.monotonic()
    workspace = sample_with_view()
    export = build_export(workspace)
    project = tmp_path_factory.mktemp("dbt_proof")
    _dbt_project(project, workspace)
    write_export(export, project / "models" / "kpi_wizard")
    parsed = _run([str(DBT_BIN / "dbt"), "parse"], project)
    assert parsed.returncode == 0 and "[ERROR]" not in parsed.stdout, parsed.stdout + parsed.stderr
    built = _run([str(DBT_BIN / "dbt"), "run"], project)
    assert built.returncode == 0, built.stdout + built.stderr
    metrics = [o.kpi_id for o in export.exported]
    answer = project / "answer.csv"
    command = [str(DBT_BIN / "mf"), "query", "--metrics", ",".join(metrics), "--group-by", "metric_time__month"]
    queried = _run([*command, "--csv", str(answer)], project)
    assert queried.returncode == 0 and answer.is_file(), queried.stdout + queried.stderr
    with answer.open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    return {
        "workspace": workspace,
        "export": export,
        "parse_output": parsed.stdout,
        "rows": rows,
        "seconds": time.monotonic() - started,
    }


@pytest.mark.engines
def test_dbt_parses_the_export_and_builds_the_view_model(metricflow_answer):
    export = metricflow_answer["export"]
    assert "web_orders.sql" in export.files and "{{ ref('orders') }}" in export.files["web_orders.sql"]
    assert {o.kpi_id for o in export.not_exported} == {"cart_abandonment_rate"}
    assert metricflow_answer["seconds"] < 120, f"the MetricFlow proof took {metricflow_answer['seconds']:.0f} s"


@pytest.mark.engines
def test_metricflow_computes_every_exported_kpi_as_the_engine_does(metricflow_answer):
    workspace: Workspace = metricflow_answer["workspace"]
    export = metricflow_answer["export"]
    rows = metricflow_answer["rows"]
    assert rows, "mf query returned no rows"
    compared = []
    with Engine.for_workspace(workspace, SAMPLE.parent) as engine:
        for outcome in export.exported:
            from_metricflow = {
                dt.date.fromisoformat(row["metric_time__month"][:10]): float(row[outcome.kpi_id])
                for row in rows
                if row[outcome.kpi_id] not in ("", None)
            }
            assert_same_series(from_metricflow, engine_series(engine, workspace, outcome.kpi_id), outcome.kpi_id)
            compared.append(outcome.kpi_id)
    types = {o.metric_type for o in export.exported}
    # Every KPI with a formula: the sample's 19, the view KPI and the three percentiles.
    assert len(compared) == len(workspace.kpis) - 1 == 23 and types == {"simple", "ratio", "derived"}


# --- the Review page ------------------------------------------------------------------------------


def test_review_offers_the_dbt_download_and_names_what_it_leaves_out(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    next(b for b in at.button if b.label == "Open sample workspace").click().run()
    at.switch_page("pages/review.py").run()
    assert not at.exception, at.exception
    downloads = [d for d in at.get("download_button") if d.proto.label == "Download dbt export"]
    assert len(downloads) == 1
    (expander,) = [e for e in at.expander if "dbt export" in e.label]
    assert expander.label == "dbt export: 1 KPI not exported"
    assert "Checkout abandonment rate" in expander.markdown[0].value


def test_percentiles_become_percentile_measures():
    (median,) = decompose("median(x)").inputs
    (p90,) = decompose("quantile_disc(x, 0.9)").inputs
    assert (median.measure.agg, median.measure.percentile) == ("median", None)
    assert (p90.measure.agg, p90.measure.percentile, p90.measure.discrete) == ("percentile", 0.9, True)
    with pytest.raises(Unexpressible, match="between 0 and 1"):
        decompose("quantile_cont(x, 1.5)")


def test_outside_duckdb_a_derived_division_is_exact():
    parts = decompose("sum(d) / (sum(a) + sum(d))", "postgres")
    assert parts.expr == "CAST(input_1 AS DOUBLE PRECISION) / NULLIF((input_2 + input_3), 0)"


# One semantic model with a revenue measure, for the metrics the import tests below write beside it.
ORDERS_MODEL = """
semantic_models:
  - name: orders
    model: ref('orders')
    defaults: {agg_time_dimension: ordered_at}
    dimensions: [{name: ordered_at, type: time, type_params: {time_granularity: day}}]
    measures: [{name: revenue_sum, agg: sum, expr: amount}]
"""


def test_meta_the_import_cannot_use_is_named_and_the_rest_kept(tmp_path):
    (tmp_path / "m.yml").write_text(
        ORDERS_MODEL
        + """metrics:
  - name: revenue
    label: Revenue
    type: simple
    type_params: {measure: revenue_sum}
    config:
      meta:
        owner: CFO
        direction: sideways
        goal: grow
        target: {value: 100, due: '2027-12-31'}
        thresholds: {warning: 90}
""",
        encoding="utf-8",
    )
    result = import_dbt(tmp_path / "m.yml")
    (kpi,) = result.workspace.kpis
    assert (kpi.owner, kpi.target.value, kpi.thresholds.warning, kpi.direction, kpi.goal) == (
        "CFO",
        100,
        90,
        None,
        None,
    )
    assert any("meta direction" in note and "left out" in note for note in result.notes), result.notes
    assert any("meta goal 'grow' gives no statement" in note for note in result.notes), result.notes


def test_a_formula_that_does_not_parse_is_left_out_with_its_reason(tmp_path):
    sample = workspace_file.load(SAMPLE)
    broken = [
        k.model_copy(update={"expression": "sum(amount) + xss !["}) if k.id == "revenue" else k for k in sample.kpis
    ]
    export = build_export(sample.model_copy(update={"kpis": broken}))
    (outcome,) = [o for o in export.not_exported if o.kpi_id == "revenue"]
    assert "its formula does not parse" in outcome.reason
    assert any(o.kpi_id == "gross_margin" for o in export.exported), "the other KPIs still export"


def test_meta_carries_name_description_and_owner_email_and_the_import_reads_them_back(tmp_path):
    data = workspace_file.to_data(workspace_file.load(SAMPLE))
    first = data["kpis"][0]
    first["owner_email"] = "ops-lead@example.com"
    first["description"] = "Revenue booked in the month, net of refunds."
    original = parse_workspace(data, source="sample with an owner e-mail")
    write_export(build_export(original), tmp_path / "dbt")
    metrics = {
        metric["name"]: metric
        for path in (tmp_path / "dbt").rglob("*.yml")
        for metric in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("metrics", [])
    }
    meta = metrics[first["id"]]["config"]["meta"]
    assert meta["name"] == first["name"] == metrics[first["id"]]["label"]
    assert meta["description"] == first["description"]
    assert meta["owner_email"] == "ops-lead@example.com"
    back = import_dbt(tmp_path / "dbt").workspace.kpi(first["id"])
    assert back is not None and back.owner_email == "ops-lead@example.com"
    assert (back.name, back.description) == (first["name"], first["description"])


def test_a_metric_without_a_label_takes_its_name_and_description_from_meta(tmp_path):
    (tmp_path / "m.yml").write_text(
        ORDERS_MODEL
        + """metrics:
  - name: revenue
    type: simple
    type_params: {measure: revenue_sum}
    config:
      meta: {name: Net revenue, description: Booked in the month., owner_email: not-an-address}
""",
        encoding="utf-8",
    )
    result = import_dbt(tmp_path / "m.yml")
    (kpi,) = result.workspace.kpis
    assert (kpi.name, kpi.description, kpi.owner_email) == ("Net revenue", "Booked in the month.", None)
    assert any("meta owner_email" in note and "left out" in note for note in result.notes), result.notes


@pytest.mark.parametrize(
    ("dialect", "expression", "view", "said"),
    [
        ("bigquery", "median(amount)", None, "BigQuery has no such aggregate"),
        ("postgres", "sum(amount)", "SELECT order_date, try_cast(amount AS DOUBLE) AS amount FROM t", "try_cast"),
        ("duckdb", "median(amount)", "SELECT order_date, try_cast(amount AS DOUBLE) AS amount FROM t", None),
    ],
)
def test_a_kpi_the_warehouse_cannot_compute_is_left_out_of_the_dbt_export_with_the_reason(
    dialect, expression, view, said
):
    sources = [{"name": "t", "path": "t.csv"}]
    if view:
        sources.append({"name": "v", "sql": view})
    kpis = [
        {"id": "k", "name": "K", "source": "v" if view else "t", "expression": expression, "time_column": "order_date"},
        {"id": "plain", "name": "Plain", "source": "t", "expression": "count(*)", "time_column": "order_date"},
    ]
    export = build_export(parse_workspace({"name": "w", "sources": sources, "kpis": kpis}, source="t"), dialect=dialect)
    exported = [o.kpi_id for o in export.exported]
    assert "plain" in exported
    if said is None:
        assert "k" in exported, "DuckDB computes it as the engine does"
    else:
        (left,) = [o for o in export.not_exported if o.kpi_id == "k"]
        assert said in (left.reason or ""), left.reason

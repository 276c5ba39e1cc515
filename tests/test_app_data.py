"""The three data pages (Data, Preview, Dashboard) driven in-process with Streamlit's AppTest.

Every test runs on a private workspace store (``KPI_WIZARD_HOME`` in ``tmp_path``). Tests that
need data open the bundled sample (about 250,000 rows loaded into DuckDB on first use) and
check what the pages compute against numbers the sample documents (its baselines and row
counts, which tests/test_sample_data.py ties to the CSVs).
"""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from kpi_model import workspace_file
from kpi_model.datastore import DATA_FILE, UPLOADS
from kpi_model.store import WorkspaceStore

from .conftest import REPO, SAMPLE_WORKSPACE

APP = str(REPO / "app.py")
SAMPLE = workspace_file.load(SAMPLE_WORKSPACE)
SAMPLE_TABLES = {  # rows and columns, as sample_data/README.md documents them
    "leads": (5_823, 10),
    "machine_log": (3_756, 5),
    "orders": (18_616, 15),
    "purchases": (2_150, 8),
    "support_tickets": (6_566, 9),
    "survey_responses": (2_361, 5),
    "web_sessions": (214_233, 7),
}
SMALL_CSV = (
    b"day,shipped,region,amount\n"
    b"31/01/2025,02 Feb 2025,North,10.5\n"
    b"28/02/2025,03 Mar 2025,South,20\n"
    b"15/03/2025,17 Mar 2025,North,7.25\n"
)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private workspace store, and no startup workspace unless a test asks for one."""
    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    return tmp_path / "store"


@pytest.fixture(scope="module")
def opened_sample_data(tmp_path_factory):
    """The sample's CSVs loaded once, as the app does on first use (a store's ``_opened`` folder).

    Copying it into each test's store saves loading 250,000 rows per test; should the app keep
    opened data elsewhere, the copy is merely unused and each test loads the CSVs itself.
    """
    store = tmp_path_factory.mktemp("seed") / "store"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KPI_WIZARD_HOME", str(store))
        patch.setenv("KPI_WIZARD_OPEN", str(SAMPLE_WORKSPACE))
        new_app("pages/data.py")
    return store / "_opened"


@pytest.fixture
def seeded_home(home, opened_sample_data):
    """A private store in which the opened sample's data is already loaded."""
    if opened_sample_data.is_dir():
        shutil.copytree(opened_sample_data, home / "_opened")
    return home


@pytest.fixture
def sample_home(seeded_home, monkeypatch):
    """The store of a server started on the bundled sample (as `kpi-wizard serve sample_data/workspace.yaml`)."""
    monkeypatch.setenv("KPI_WIZARD_OPEN", str(SAMPLE_WORKSPACE))
    return seeded_home


# ---------------------------------------------------------------------------- helpers


def new_app(page: str | None = None, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    return at


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def click(at: AppTest, label: str) -> AppTest:
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button '{label}' among {[b.label for b in at.button]}"
    matches[0].click().run()
    assert not at.exception, at.exception
    return at


def unescape(text: str) -> str:
    """Page text without the markdown escapes md_escape adds (``machine\\_log`` -> ``machine_log``)."""
    return text.replace("\\", "")


def errors(at: AppTest) -> str:
    return unescape(" | ".join(e.value for e in at.error))


def successes(at: AppTest) -> str:
    return unescape(" | ".join(s.value for s in at.success))


def table_labels(at: AppTest) -> dict[str, str]:
    """The Data page's loaded tables: name -> expander label."""
    found = {}
    for expander in at.expander:
        label = unescape(expander.label)
        if " — " in label:
            found[label.split(" — ")[0]] = label
    return found


def charts(at: AppTest) -> list:
    """Altair charts (AppTest has no typed accessor for them)."""
    return list(at.get("vega_lite_chart"))


def metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    return {unescape(m.label): (m.value, m.delta) for m in at.metric}


def upload(at: AppTest, name: str, data: bytes, mime: str = "text/csv", target: str | None = None) -> AppTest:
    at.file_uploader[0].upload(name, data, mime)
    run(at)
    if target is not None:
        at.selectbox(key="data_upload_target").set_value(target)
    return click(at, "Load file")


def create_view(at: AppTest, name: str, sql: str) -> AppTest:
    at.text_input(key="view_name").input(name)
    at.text_area(key="view_sql").input(sql)
    return click(at, "Create view source")


def fix_type(at: AppTest, table: str, column: str, new_type: str, date_format: str = "") -> AppTest:
    at.selectbox(key="fix_table").set_value(table)
    run(at)
    at.selectbox(key="fix_column").set_value(column)
    at.selectbox(key="fix_type").set_value(new_type)
    at.text_input(key="fix_format").input(date_format)
    return click(at, "Change type")


def profile_types(at: AppTest, table: str) -> dict[str, str]:
    """Column -> type from the profile table of one loaded table (the first dataframe in its expander)."""
    (expander,) = [e for e in at.expander if unescape(e.label).startswith(f"{table} — ")]
    frame = expander.dataframe[0].value
    return dict(zip(frame["Column"], frame["Type"], strict=True))


def saved(home) -> tuple[str, object]:
    store = WorkspaceStore(home)
    (item,) = store.list_workspaces()
    return item.id, store.load(item.id)


def fresh_workspace(name: str = "Data Co") -> AppTest:
    """A new, empty saved workspace, on the Data page."""
    at = new_app()
    at.text_input(key="new_workspace_name").input(name)
    click(at, "Create workspace")
    at.switch_page("pages/data.py")
    return run(at)


def sample_db_query(sql: str) -> list[tuple]:
    """A query straight on the sample CSVs (independent of the app's loading); 'data/x.csv' names a sample file."""
    with duckdb.connect() as connection:
        return connection.execute(sql.replace("'data/", f"'{REPO / 'sample_data' / 'data'}/")).fetchall()


# ---------------------------------------------------------------------------- no workspace


@pytest.mark.parametrize("page", ["pages/data.py", "pages/preview.py", "pages/dashboard.py"])
def test_data_pages_point_to_start_when_nothing_is_open(home, page):
    at = new_app(page)
    assert any("No workspace is open" in i.value for i in at.info)
    assert not at.file_uploader and not charts(at) and not at.metric


def test_empty_workspace_has_nothing_to_load_preview_or_show(home):
    at = fresh_workspace()
    assert [unescape(s.value) for s in at.subheader][:2] == ["Upload a file", "Loaded tables (0)"]
    assert any("Nothing loaded yet" in i.value for i in at.info)
    assert "fix_table" not in [s.key for s in at.selectbox], "no type fixes without tables"
    at.switch_page("pages/preview.py")
    run(at)
    assert any("No KPI has a formula yet" in i.value for i in at.info)
    at.switch_page("pages/dashboard.py")
    run(at)
    assert any("Add units and goals first" in i.value for i in at.info)


# ---------------------------------------------------------------------------- Data page


def test_data_page_loads_the_sample_tables_without_saving_anything(sample_home):
    at = new_app("pages/data.py")
    labels = table_labels(at)
    assert labels == {
        name: f"{name} — {rows:,} rows, {columns} columns" for name, (rows, columns) in SAMPLE_TABLES.items()
    }
    assert "Loaded tables (7)" in [s.value for s in at.subheader]
    assert not at.warning, "every source of the sample has its data"
    types = profile_types(at, "orders")
    assert len(types) == 15
    assert types["order_date"] == "DATE" and types["amount"] == "DOUBLE" and types["channel"] == "VARCHAR"
    (orders,) = [e for e in at.expander if e.label.startswith("orders")]
    first_rows = orders.dataframe[1].value
    assert len(first_rows) == 10 and list(first_rows.columns)[:2] == ["order_id", "order_date"]
    assert first_rows["order_id"].iloc[0] == "NW-100001"
    assert WorkspaceStore(sample_home).list_workspaces() == [], "looking at the data must not copy the sample"
    assert "ws" not in at.query_params


def test_upload_adds_a_source_and_copies_the_opened_sample_with_its_data(seeded_home):
    home = seeded_home
    at = new_app()
    click(at, "Open sample workspace")
    at.switch_page("pages/data.py")
    run(at)
    assert len(table_labels(at)) == 7
    upload(at, "shop_sales.csv", SMALL_CSV)
    assert errors(at) == ""
    assert "Loaded 3 rows from shop_sales.csv as 'shop_sales'" in successes(at)
    assert table_labels(at)["shop_sales"] == "shop_sales — 3 rows, 4 columns"
    assert len(table_labels(at)) == 8

    ws_id, workspace = saved(home)
    assert at.query_params.get("ws") in (ws_id, [ws_id]), "the saved copy is in the URL"
    assert [s.name for s in workspace.sources] == [s.name for s in SAMPLE.sources] + ["shop_sales"]
    assert workspace.source("shop_sales").path == "files/shop_sales.csv"
    assert workspace.kpis == SAMPLE.kpis, "the upload changes nothing but the sources"
    folder = home / ws_id
    assert (folder / DATA_FILE).is_file(), "the opened sample's data was copied into the new workspace"
    assert (folder / UPLOADS / "shop_sales.csv").read_bytes() == SMALL_CSV

    # A new session (a reload, ?ws= in the URL) finds the sample tables and the upload.
    reloaded = new_app("pages/data.py", ws=ws_id)
    assert set(table_labels(reloaded)) == set(SAMPLE_TABLES) | {"shop_sales"}
    reloaded.switch_page("pages/dashboard.py")
    run(reloaded)
    assert metrics(reloaded)["Web shop sessions"][0] == "10,359", "the copied data still computes"

    # Someone else opening the sample gets the pristine sample data, without the upload.
    other = new_app()
    click(other, "Open sample workspace")
    other.switch_page("pages/data.py")
    run(other)
    assert set(table_labels(other)) == set(SAMPLE_TABLES)


def test_upload_into_a_declared_source_replaces_its_data(home):
    at = fresh_workspace()
    upload(at, "shop_sales.csv", SMALL_CSV)
    upload(at, "april.csv", b"day,shipped,region,amount\n01/04/2025,02 Apr 2025,East,99\n", target="shop_sales")
    assert "as 'shop_sales'" in successes(at)
    assert set(table_labels(at)) == {"shop_sales"}
    assert table_labels(at)["shop_sales"].startswith("shop_sales — 1 row,")
    ws_id, workspace = saved(home)
    assert [s.name for s in workspace.sources] == ["shop_sales"], "no second source for the same table"
    assert sorted(p.name for p in (home / ws_id / UPLOADS).iterdir()) == ["shop_sales.csv"]


def test_declared_source_warns_until_a_file_gives_it_data(home):
    at = fresh_workspace()
    at.text_input(key="declare_name").input("crm_deals")
    at.text_input(key="declare_system").input("Salesforce")
    click(at, "Declare source")
    assert "Declared the source 'crm_deals'" in successes(at)
    (warning,) = [unescape(w.value) for w in at.warning]
    assert "crm_deals" in warning and "from Salesforce has no data yet" in warning
    assert at.selectbox(key="data_upload_target").options == ["A new source named after the file", "crm_deals"]

    upload(at, "deals_export.csv", b"deal_id,won_on,value\nD1,2025-01-03,100\nD2,2025-02-04,250\n", target="crm_deals")
    assert "Loaded 2 rows from deals_export.csv as 'crm_deals'" in successes(at)
    assert not at.warning, "the declared source has its data now"
    assert set(table_labels(at)) == {"crm_deals"}
    _, workspace = saved(home)
    assert [(s.name, s.system, s.path) for s in workspace.sources] == [
        ("crm_deals", "Salesforce", "files/crm_deals.csv")
    ], "the declared source records where its data now lives"


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("junk.csv", b"\x00\x01\x02\xff\xfe\x00binary" * 20, "contains binary data"),
        ("header_only.csv", b"day,region,amount\n", "has no data rows"),
        ("empty.csv", b"", "empty"),
        ("ragged.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8\n", "on line 3 has 2 fields but the header has 3"),
    ],
)
def test_broken_upload_shows_an_error_and_adds_nothing(home, filename, content, message):
    at = fresh_workspace()
    upload(at, "good.csv", SMALL_CSV)
    before_id, before = saved(home)
    upload(at, filename, content)
    text = errors(at)
    assert f"{filename} was not loaded; your data is unchanged." in text and message in text, text
    assert not at.success
    assert set(table_labels(at)) == {"good"}
    ws_id, after = saved(home)
    assert ws_id == before_id and after.sources == before.sources
    assert sorted(p.name for p in (home / ws_id / UPLOADS).iterdir()) == ["good.csv"], "no partial file left"


def test_broken_upload_on_the_opened_sample_adds_no_source(seeded_home):
    home = seeded_home
    at = new_app()
    click(at, "Open sample workspace")
    at.switch_page("pages/data.py")
    run(at)
    upload(at, "junk.csv", b"\x00\x01\x02 not a csv")
    assert "junk.csv was not loaded" in errors(at)
    assert set(table_labels(at)) == set(SAMPLE_TABLES)
    for item in WorkspaceStore(home).list_workspaces():
        assert WorkspaceStore(home).load(item.id).sources == SAMPLE.sources


def test_view_source_is_created_on_the_sample_and_a_hostile_one_refused(sample_home):
    at = new_app("pages/data.py")
    create_view(at, "web_orders", "SELECT order_id, order_date, amount FROM orders WHERE channel = 'web'")
    assert errors(at) == ""
    ((web_count,),) = sample_db_query("SELECT count(*) FROM 'data/orders.csv' WHERE channel = 'web'")
    assert f"Created the view source 'web_orders' ({web_count:,} rows)" in successes(at)
    assert table_labels(at)["web_orders"] == f"web_orders — {web_count:,} rows, 3 columns"
    ws_id, workspace = saved(sample_home)
    view = workspace.source("web_orders")
    assert view.sql == "SELECT order_id, order_date, amount FROM orders WHERE channel = 'web'" and view.path is None
    assert (sample_home / ws_id / DATA_FILE).is_file()
    assert [f for f in at.selectbox(key="fix_table").options if f == "web_orders"] == [], "views are not type-fixed"

    create_view(at, "evil", "SELECT * FROM read_csv('/etc/passwd')")
    assert "The view was not created." in errors(at)
    assert "is not a table of this workspace" in errors(at)
    assert "evil" not in table_labels(at)
    _, after = saved(sample_home)
    assert after.source("evil") is None and after.sources == workspace.sources


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT * FROM read_csv('/etc/passwd')", "is not a table of this workspace"),
        ("SELECT * FROM '/etc/passwd'", "Unknown table '/etc/passwd'"),
        ("SELECT * FROM glob('/*')", "is not a table of this workspace"),
        ("WITH a AS (SELECT * FROM read_text('/etc/passwd')) SELECT * FROM a", "is not a table of this workspace"),
        ("SELECT getenv('HOME') AS home", "is not allowed"),
        ("SELECT * FROM shop_sales; DROP TABLE shop_sales", "2 statements"),
        ("ATTACH '/tmp/other.duckdb' AS other", "must be a SELECT"),
        ("", "empty"),
        ("SELECT * FROM shop_salez", "did you mean 'shop_sales'"),
    ],
)
def test_hostile_or_broken_views_are_refused(home, sql, message):
    at = fresh_workspace()
    upload(at, "shop_sales.csv", SMALL_CSV)
    _, before = saved(home)
    create_view(at, "evil", sql)
    assert "The view was not created." in errors(at) and message in errors(at), errors(at)
    assert set(table_labels(at)) == {"shop_sales"}
    _, after = saved(home)
    assert after.sources == before.sources


def test_view_with_a_bad_name_is_refused(home):
    at = fresh_workspace()
    upload(at, "shop_sales.csv", SMALL_CSV)
    create_view(at, "north sales!", "SELECT * FROM shop_sales WHERE region = 'North'")
    assert "is not a usable table name" in errors(at)
    assert set(table_labels(at)) == {"shop_sales"}


def test_a_view_or_upload_named_like_a_source_in_another_case_is_refused_before_its_data_is_replaced(home):
    """DuckDB does not tell 'NORTH' from 'north': defining one replaced the other's data before validation."""
    at = fresh_workspace()
    upload(at, "shop_sales.csv", SMALL_CSV)
    create_view(at, "north", "SELECT * FROM shop_sales WHERE region = 'North'")
    assert errors(at) == ""
    rows_before = table_labels(at)["north"]
    create_view(at, "NORTH", "SELECT * FROM shop_sales WHERE region = 'South'")
    assert "DuckDB does not tell 'NORTH' from 'north'" in errors(at), errors(at)
    assert table_labels(at)["north"] == rows_before
    _, after = saved(home)
    assert [s.name for s in after.sources] == ["shop_sales", "north"]
    assert after.source("north").sql == "SELECT * FROM shop_sales WHERE region = 'North'"


def test_refuse_case_twin_names_the_existing_source_and_lets_the_same_name_through(home):
    from kpi_model.editing import refuse_case_twin
    from kpi_model.errors import KpiWizardError
    from kpi_model.models import Source, Workspace

    workspace = Workspace(name="w", sources=[Source(name="orders", path="orders.csv")])
    refuse_case_twin(workspace, "orders")  # the same source again: a replacement, allowed
    refuse_case_twin(workspace, "returns")
    with pytest.raises(KpiWizardError, match="use 'orders' to replace its data, or choose another name"):
        refuse_case_twin(workspace, "Orders")


def test_type_fix_converts_text_dates_and_refuses_impossible_conversions(home):
    at = fresh_workspace()
    upload(at, "shop_sales.csv", SMALL_CSV)
    types = profile_types(at, "shop_sales")
    assert types["day"] == "DATE", "31/01/2025 is read as a date on upload already"
    assert types["shipped"] == "VARCHAR" and types["region"] == "VARCHAR"

    # A format that does not fit: refused, quoting values, and nothing changes.
    fix_type(at, "shop_sales", "shipped", "DATE", "%d/%m/%Y")
    assert "The type was not changed." in errors(at) and "3 of 3 values" in errors(at)
    assert "'02 Feb 2025'" in errors(at) and "Nothing was changed." in errors(at)
    assert profile_types(at, "shop_sales")["shipped"] == "VARCHAR"

    fix_type(at, "shop_sales", "shipped", "DATE", "%d %b %Y")
    assert errors(at) == ""
    assert "'shipped' in 'shop_sales' is now DATE." in successes(at)
    assert profile_types(at, "shop_sales")["shipped"] == "DATE"
    (expander,) = [e for e in at.expander if e.label.startswith("shop")]
    assert [str(v)[:10] for v in expander.dataframe[1].value["shipped"]] == ["2025-02-02", "2025-03-03", "2025-03-17"]

    fix_type(at, "shop_sales", "region", "DOUBLE")
    assert "cannot be read as DOUBLE" in errors(at) and "'North'" in errors(at)
    assert profile_types(at, "shop_sales")["region"] == "VARCHAR"

    fix_type(at, "shop_sales", "amount", "BIGINT")
    assert "cannot be read as BIGINT" in errors(at), "19.99 -> 20 would lose the decimals"
    assert profile_types(at, "shop_sales")["amount"] == "DOUBLE"

    fix_type(at, "shop_sales", "amount", "VARCHAR", "%d/%m/%Y")
    assert "A date format only applies to DATE or TIMESTAMP" in errors(at)
    assert profile_types(at, "shop_sales")["amount"] == "DOUBLE"


def test_type_fix_reads_day_month_year_text_from_json(home):
    """JSON keeps '31/01/2025' as text (the CSV reader would already have made it a DATE)."""
    at = fresh_workspace()
    rows = [{"day": d, "amount": a} for d, a in (("31/01/2025", 1), ("28/02/2025", 2), ("01/03/2025", 3))]
    upload(at, "visits.json", json.dumps(rows).encode(), "application/json")
    assert errors(at) == "" and profile_types(at, "visits")["day"] == "VARCHAR"
    fix_type(at, "visits", "day", "DATE", "%d/%m/%Y")
    assert errors(at) == "" and profile_types(at, "visits")["day"] == "DATE"
    (expander,) = [e for e in at.expander if e.label.startswith("visits")]
    assert [str(v)[:10] for v in expander.dataframe[1].value["day"]] == ["2025-01-31", "2025-02-28", "2025-03-01"]


def test_type_fix_on_the_opened_sample_does_not_change_the_shared_sample_data(sample_home):
    at = new_app("pages/data.py")
    fix_type(at, "orders", "order_date", "VARCHAR")
    assert "is now VARCHAR" in successes(at)
    other = new_app("pages/data.py")  # another browser session on the same server
    assert profile_types(other, "orders")["order_date"] == "DATE"


# ---------------------------------------------------------------------------- Preview page


def test_preview_shows_chart_latest_value_and_monthly_values(sample_home):
    at = new_app("pages/preview.py")
    assert at.selectbox(key="preview_kpi").value == "sessions"
    assert "formula checks out" in " ".join(c.value for c in at.caption)
    (chart,) = charts(at)
    spec = json.loads(chart.proto.spec)
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
    assert "line" in marks and "rect" in marks and "rule" in marks, "values, status bands and target line"
    shown = metrics(at)
    assert shown["Latest (2026-10)"] == ("10,359", "1,374"), "baseline month, change on 2026-09 (8,985)"
    assert shown["Against target"][0] == "17% short of target"
    assert any("green-badge[on track]" in m.value for m in at.markdown)
    frame = at.dataframe[0].value
    assert len(frame) == 24, "two years of months"
    assert frame["value"].iloc[-1] == 10_359 and frame["value"].sum() == SAMPLE_TABLES["web_sessions"][0]
    assert at.get("download_button")[0].proto.label == "Download values (CSV)"
    assert "preview_save" not in [b.key for b in at.button], "nothing to save before an edit"
    assert "Saving a formula saves your own copy" in " ".join(c.value for c in at.caption)


def test_preview_values_table_does_not_round_large_values(sample_home):
    at = new_app("pages/preview.py")
    value_format = json.loads(at.dataframe[0].proto.columns)["value"]["type_config"].get("format")
    frame = at.dataframe[0].value
    assert 12_502 in frame["value"].tolist(), "2024-12 has 12,502 sessions"
    assert value_format == "localized", "thousands separated as the headline is, never rounded to a few digits"


def test_preview_grain_quarter_has_fewer_rows_and_the_same_total(sample_home):
    at = new_app("pages/preview.py")
    monthly = at.dataframe[0].value
    at.selectbox(key="preview_grain_sessions").set_value("quarter")
    run(at)
    quarterly = at.dataframe[0].value
    assert len(quarterly) < len(monthly) and len(quarterly) == 9, "2024-Q4 … 2026-Q4"
    assert quarterly["value"].sum() == monthly["value"].sum()
    assert len(charts(at)) == 1
    assert "Latest (2026-Q3)" in metrics(at), "the quarter still running is not the latest figure"


def test_preview_breakdown_by_channel_gives_one_line_per_channel(sample_home):
    at = new_app("pages/preview.py")
    totals = at.dataframe[0].value.set_index("period")["value"]
    assert "channel" in at.selectbox(key="preview_by_sessions").options
    at.selectbox(key="preview_by_sessions").set_value("channel")
    run(at)
    assert errors(at) == ""
    frame = at.dataframe[0].value
    assert set(frame["channel"]) == {"organic", "paid", "email", "social", "direct"}, "named after the breakdown"
    assert frame["period"].iloc[0] == "2024-11", "months as people write them"
    assert len(frame) == 5 * len(totals)
    summed = frame.groupby("period")["value"].sum()
    assert (summed == totals).all(), "the channels add up to the total of each month"
    (chart,) = charts(at)
    assert '"dimension"' in chart.proto.spec, "one coloured line per channel"


def test_preview_bad_formula_shows_the_problem_and_no_chart(sample_home):
    at = new_app("pages/preview.py")
    for formula, message in (
        ("count(*) +", "does not parse"),
        ("sum(nonexistent)", "unknown column 'nonexistent'"),
        ("pages_viewed", "aggregate"),
        ("sum(pages_viewed); DROP TABLE web_sessions", ""),
    ):
        at.text_area(key="preview_formula_sessions").input(formula)
        run(at)
        assert at.error, f"no error for {formula!r}"
        assert message.lower() in errors(at).lower(), errors(at)
        assert not charts(at) and not at.dataframe and not at.metric, formula
        assert "preview_save" not in [b.key for b in at.button], "a formula that does not check cannot be saved"
    assert WorkspaceStore(sample_home).list_workspaces() == []
    at.text_area(key="preview_formula_sessions").input("count(*)")
    run(at)
    assert not at.error and len(charts(at)) == 1


def test_preview_edited_formula_is_tried_then_saved_into_a_copy_of_the_sample(sample_home):
    at = new_app("pages/preview.py")
    formula = "count(*) FILTER (WHERE device = 'mobile')"
    at.text_area(key="preview_formula_sessions").input(formula)
    run(at)
    ((mobile,),) = sample_db_query(
        "SELECT count(*) FROM 'data/web_sessions.csv' WHERE device = 'mobile' AND session_date >= DATE '2026-10-01'"
    )
    assert metrics(at)["Latest (2026-10)"][0] == f"{mobile:,}", "the edited formula is what is charted"
    assert len(charts(at)) == 1
    assert WorkspaceStore(sample_home).list_workspaces() == [], "trying a formula saves nothing"

    click(at, "Save formula to the KPI")
    assert "Saved the formula of 'Web shop sessions'" in successes(at)
    ws_id, workspace = saved(sample_home)
    assert workspace.kpi("sessions").expression == formula
    assert [k.id for k in workspace.kpis] == [k.id for k in SAMPLE.kpis]
    assert (sample_home / ws_id / DATA_FILE).is_file()
    assert "preview_save" not in [b.key for b in at.button], "nothing left to save"
    assert metrics(at)["Latest (2026-10)"][0] == f"{mobile:,}" and len(charts(at)) == 1

    # The derived web_revenue = sessions x conversion x AOV now uses the saved formula.
    at.selectbox(key="preview_kpi").set_value("web_revenue")
    run(at)
    assert metrics(at)["Latest (2026-10)"][0] != "51,273"


def test_preview_derived_kpi_web_revenue_computes(sample_home):
    at = new_app("pages/preview.py")
    at.selectbox(key="preview_kpi").set_value("web_revenue")
    run(at)
    assert errors(at) == ""
    captions = unescape(" ".join(c.value for c in at.caption))
    assert "Derived from other KPIs: sessions * conversion_rate * average_order_value" in captions
    assert "preview_filter_web_revenue" not in [t.key for t in at.text_input], "a derived KPI has no row filter"
    assert len(charts(at)) == 1
    assert metrics(at)["Latest (2026-10)"][0] == "51,273", "the sample's baseline for 2026-10"
    assert at.selectbox(key="preview_by_web_revenue").disabled
    assert len(at.dataframe[0].value) == 24

    at.text_area(key="preview_formula_web_revenue").input("sessions * conversion_rat")
    run(at)
    assert "conversion_rat" in errors(at) and not charts(at)


def test_preview_default_grain_follows_the_cadence(sample_home):
    at = new_app("pages/preview.py")
    at.selectbox(key="preview_kpi").set_value("nps")
    run(at)
    assert at.selectbox(key="preview_grain_nps").value == "quarter"
    frame = at.dataframe[0].value
    assert len(frame) == 9 and len(charts(at)) == 1


# ---------------------------------------------------------------------------- Dashboard


def _unit_kpis(unit: str) -> list:
    goals = {g.id for g in SAMPLE.goals if g.unit == unit}
    return [k for k in SAMPLE.kpis if k.goal in goals]


def test_dashboard_has_a_tile_per_kpi_of_the_unit(sample_home):
    at = new_app("pages/dashboard.py")
    for unit in ("sales", "operations", "service"):
        if unit != "sales":
            at.segmented_control(key="dashboard_unit").set_value(unit)
            run(at)
        kpis = _unit_kpis(unit)
        computable = [k.name for k in kpis if k.expression]
        assert [unescape(m.label) for m in at.metric] == computable, unit
        not_computed = [c.value for c in at.caption if "Not computed" in c.value]
        assert len(not_computed) == len(kpis) - len(computable), unit
        headings = [unescape(s.value) for s in at.subheader]
        assert headings == [*(g.statement for g in SAMPLE.goals if g.unit == unit), "Take it home"]
        owner = next(u.owner for u in SAMPLE.units if u.id == unit)
        assert any(c.value == f"Head: {owner}" for c in at.caption)
    assert unescape(at.metric[0].label) == "Time to first response", "the last unit picked is the one shown"


def test_dashboard_values_status_and_the_kpi_without_formula(sample_home):
    at = new_app("pages/dashboard.py")
    assert at.segmented_control(key="dashboard_unit").value == "sales"
    shown = metrics(at)
    assert shown["Web shop sessions"][0] == "10,359"
    assert shown["Web order revenue"][0] == "51,273"
    assert shown["Marketing-qualified leads"][0] == "120"
    assert shown["B2B deals won"][0] == "25"
    assert "Checkout abandonment rate" not in shown
    (reason,) = [unescape(c.value) for c in at.caption if "Not computed" in c.value]
    assert "cart_abandonment_rate" in reason and "no data source" in reason
    assert any(unescape(m.value) == "**Checkout abandonment rate**" for m in at.markdown)
    badges = [unescape(m.value) for m in at.markdown if "-badge[" in m.value]
    assert badges[0] == ":green-badge[on track] · 2026-10 · owner: Performance Marketing Lead"
    assert len(badges) == len(shown)

    at.segmented_control(key="dashboard_unit").set_value("operations")
    run(at)
    assert set(metrics(at)) == {"Purchase price savings", "On-time delivery", "Warehouse machine utilisation"}
    assert not [c for c in at.caption if "Not computed" in c.value]


def test_kpi_form_offers_the_loaded_date_columns_as_time_column(sample_home):
    at = new_app("pages/data.py")  # loads the sample's tables
    at.switch_page("pages/kpis.py").run()
    assert not at.exception
    chooser = at.selectbox(key="kpi_sessions_time_column")
    assert chooser.value == "session_date"
    assert chooser.options == ["—", "session_date (date)"], "only date columns, with their type"


def _add_custom_kpi(at: AppTest, name: str) -> str:
    at.text_input(key="custom_kpi_name").input(name)
    click(at, "Add KPI")
    return name.lower().replace(" ", "_")


def _save_card(at: AppTest, kpi_id: str) -> AppTest:
    next(b for b in at.button if b.key == f"FormSubmitter:kpi_{kpi_id}-Save KPI").click()
    return run(at)


def test_a_new_custom_kpi_picks_its_time_column_from_the_chosen_sources_dates_before_any_save(sample_home):
    at = new_app("pages/data.py")  # loads the sample's tables
    at.switch_page("pages/kpis.py").run()
    kpi_id = _add_custom_kpi(at, "Late deliveries")
    assert at.text_input(key=f"kpi_{kpi_id}_time_column").value == "", "no source yet: typed, as before"
    at.selectbox(key=f"kpi_{kpi_id}_source").set_value("orders")
    run(at)
    chooser = at.selectbox(key=f"kpi_{kpi_id}_time_column")
    dates = [o for o in chooser.options if o != "—"]
    assert dates == [f"{c} (date)" for c in ("order_date", "returned_date", "delivered_date", "promised_date")]
    assert not [o for o in chooser.options if o.startswith(("amount", "status", "order_id"))], "no other columns"
    chooser.set_value("delivered_date")
    at.text_area(key=f"kpi_{kpi_id}_expression").input("count(*)")
    _save_card(at, kpi_id)
    assert not errors(at)
    _, workspace = saved(sample_home)
    kpi = workspace.kpi(kpi_id)
    assert (kpi.source, kpi.time_column, kpi.expression) == ("orders", "delivered_date", "count(*)")

    at.selectbox(key=f"kpi_{kpi_id}_source").set_value("support_tickets")
    run(at)
    chooser = at.selectbox(key=f"kpi_{kpi_id}_time_column")
    assert "order_date (date)" not in chooser.options, "another source offers its own dates"
    assert "delivered_date (not a column of support_tickets)" in chooser.options, "the saved value is kept, marked"


def test_without_loaded_data_the_time_column_is_typed_and_once_loaded_a_non_date_is_kept_marked(home, monkeypatch):
    monkeypatch.setenv("KPI_WIZARD_OPEN", str(SAMPLE_WORKSPACE))  # the sample, its data not loaded yet
    at = new_app("pages/kpis.py")
    kpi_id = _add_custom_kpi(at, "Orders by status")
    at.selectbox(key=f"kpi_{kpi_id}_source").set_value("orders")
    run(at)
    at.text_input(key=f"kpi_{kpi_id}_time_column").input("status")
    at.text_area(key=f"kpi_{kpi_id}_expression").input("count(*)")
    _save_card(at, kpi_id)
    assert not errors(at)
    _, workspace = saved(home)
    assert workspace.kpi(kpi_id).time_column == "status"

    at.switch_page("pages/data.py").run()  # loads the sample's tables
    at.switch_page("pages/kpis.py").run()
    chooser = at.selectbox(key=f"kpi_{kpi_id}_time_column")
    assert chooser.value == "status", "opening the card changes nothing"
    assert chooser.options[-1] == "status (text, not a date)"
    assert "order_date (date)" in chooser.options


def test_dates_that_read_both_ways_ask_for_their_order_and_remember_it(home):
    at = fresh_workspace()
    upload(at, "us_sales.csv", b"day,amount\n01/02/2025,10\n03/04/2025,20\n")
    (warning,) = [unescape(w.value) for w in at.warning]
    assert warning.startswith("**us_sales**: does 01/02/2025 mean 1 February 2025 or 2 January 2025?")
    assert "Every date in **day** reads both ways" in warning
    assert [b.label for b in at.button if b.key and b.key.startswith("date_order_")] == [
        "Day first: 01/02/2025 is 1 February 2025",
        "Month first: 01/02/2025 is 2 January 2025",
    ]
    click(at, "Month first: 01/02/2025 is 2 January 2025")
    assert "The dates in 'us_sales' are read month first: 01/02/2025 is 2 January 2025." in successes(at)
    assert not at.warning
    _, workspace = saved(home)
    assert workspace.source("us_sales").date_format == "%m/%d/%Y"
    (expander,) = [e for e in at.expander if unescape(e.label).startswith("us_sales — ")]
    frame = expander.dataframe[0].value
    day = frame[frame["Column"] == "day"].iloc[0]
    assert (day["Min"], day["Max"]) == ("2025-01-02", "2025-03-04")


def test_saving_a_kpi_checks_its_formula_and_time_column_against_the_loaded_columns(sample_home):
    at = new_app("pages/data.py")  # loads the sample's tables
    at.switch_page("pages/kpis.py").run()
    at.text_area(key="kpi_sessions_expression").input("count(DISTINCT sesion_id)")
    next(b for b in at.button if b.key == "FormSubmitter:kpi_sessions-Save KPI").click().run()
    assert "Unknown column 'sesion_id' in source 'web_sessions'" in errors(at)
    assert "**Fix:** Did you mean 'session_id'?" in errors(at), "the fix on its own line, as findings show theirs"
    assert WorkspaceStore(sample_home).list_workspaces() == [], "nothing saved"
    assert at.text_area(key="kpi_sessions_expression").value == "count(DISTINCT sesion_id)", "the edit is kept"


def test_a_long_upload_name_is_quoted_cut_at_60_characters():
    from ui.data_views import upload_names_problems

    [too_long] = upload_names_problems(["x" * 10_000])
    assert too_long.startswith(f"'{'x' * 60}…' (10,000 characters) is not a usable source name")
    assert len(too_long) < 300, "the name is not quoted back in full"
    *_, twice = upload_names_problems(["y" * 100, "Y" * 100])
    assert twice.startswith(f"'{'y' * 60}…' (100 characters) is given to 2 files")


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [("оrders", "orders"), ("ordеrs", "orders"), ("Рrоfit 2025", "profit_2025"), ("данные", "table_1")],
)
def test_a_look_alike_upload_name_gets_an_ascii_suggestion(typed, suggested):
    from ui.data_views import upload_names_problems

    [problem] = upload_names_problems([typed])
    assert "letters outside a–z" in problem and problem.endswith(f"e.g. '{suggested}'.")


def test_preview_breakdown_table_names_missing_values_as_the_legend_does(sample_home):
    at = new_app("pages/preview.py")
    at.selectbox(key="preview_kpi").set_value("average_order_value")
    run(at)
    at.selectbox(key="preview_by_average_order_value").set_value("return_reason")
    run(at)
    assert errors(at) == ""
    reasons = at.dataframe[0].value["return_reason"]
    assert "(missing)" in set(reasons), "most orders have no return reason"
    assert reasons.notna().all() and "None" not in set(reasons.astype(str))
    (chart,) = charts(at)
    assert '"(missing)"' in chart.proto.spec, "the same name as the chart's legend"


def test_profile_distinct_counts_have_thousands_separators_and_text_ranges_are_blank(sample_home):
    at = new_app("pages/data.py")
    (expander,) = [e for e in at.expander if unescape(e.label).startswith("orders — ")]
    table = expander.dataframe[0]
    distinct = next(c for c in json.loads(table.proto.columns) if c.startswith("Distinct"))
    assert json.loads(table.proto.columns)[distinct]["type_config"].get("format") == "localized"
    frame = table.value.set_index("Column")
    text_columns = frame.index[frame["Type"] == "VARCHAR"]
    assert len(text_columns) > 0
    for column in ("Min", "Max"):
        assert frame[column].notna().all() and "None" not in set(frame[column].astype(str)), frame[column]
    assert (frame.loc[text_columns, "Min"] == "").any(), "a text column has no range: blank"

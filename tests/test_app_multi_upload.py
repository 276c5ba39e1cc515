"""Several files in one upload on the Data page, each named before anything is loaded (AppTest)."""

from __future__ import annotations

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from kpi_model.datastore import DATA_FILE
from kpi_model.store import WorkspaceStore
from ui.data_views import upload_names_problems

from .conftest import REPO

APP = str(REPO / "app.py")
ORDERS = b"order_id,order_date,amount\n1,2025-01-03,10\n2,2025-02-04,20\n"
CUSTOMERS = b"customer_id,signed_up\nC1,2024-11-02\nC2,2025-01-15\nC3,2025-02-01\n"


@pytest.fixture
def at(tmp_path, monkeypatch) -> AppTest:
    """The Data page of a new, saved workspace on a private store."""
    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    app = run(AppTest.from_file(APP, default_timeout=60))
    app.text_input(key="new_workspace_name").input("Shop")
    next(b for b in app.button if b.label == "Create workspace").click()
    run(app)
    app.switch_page("pages/data.py")
    return run(app)


def run(app: AppTest) -> AppTest:
    app.run()
    assert not app.exception, app.exception
    return app


def upload_two(app: AppTest) -> AppTest:
    uploader = next(u for u in app.file_uploader if u.key and u.key.startswith("data_upload_"))
    uploader.set_value([("orders.csv", ORDERS, "text/csv"), ("Customer List (2025).csv", CUSTOMERS, "text/csv")])
    return run(app)


def name_fields(app: AppTest) -> dict[str, object]:
    return {t.label.replace("\\", ""): t for t in app.text_input if t.key and t.key.startswith("data_upload_name_")}


def tables_of(home, workspace_id: str) -> dict[str, int]:
    path = home / workspace_id / DATA_FILE
    if not path.is_file():
        return {}
    with duckdb.connect(str(path), read_only=True) as con:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


def test_two_files_load_under_the_names_given(at, tmp_path):
    upload_two(at)
    fields = name_fields(at)
    assert [f.value for f in fields.values()] == ["orders", "customer_list_2025"], "defaults come from the file names"
    assert not [s for s in at.selectbox if s.key == "data_upload_target"], "several files are named, not targeted"
    fields["Source name for Customer List (2025).csv"].input("customers")
    run(at)
    [button] = [b for b in at.button if b.key == "data_upload_button"]
    assert button.label == "Load 2 files"
    button.click()
    run(at)
    success = " ".join(s.value for s in at.success).replace("\\", "")
    assert (
        "2 rows from orders.csv as 'orders'" in success
        and "3 rows from Customer List (2025).csv as 'customers'" in (success)
    )
    home, workspace_id = tmp_path / "store", at.session_state["kw_workspace_id"]
    assert tables_of(home, workspace_id) == {"orders": 2, "customers": 3}
    workspace, _ = WorkspaceStore(home).load_current(workspace_id)
    assert {s.name: s.path for s in workspace.sources} == {
        "orders": "files/orders.csv",
        "customers": "files/customers.csv",
    }


@pytest.mark.parametrize(
    ("second_name", "message"),
    [
        ("ORDERS", "'orders' is given to 2 files: give each file its own source name"),
        ("2025 customers", "'2025 customers' is not a usable source name"),
        ("", "A file has no source name"),
    ],
)
def test_names_that_clash_or_are_invalid_load_nothing(at, tmp_path, second_name, message):
    upload_two(at)
    name_fields(at)["Source name for Customer List (2025).csv"].input(second_name)
    run(at)
    next(b for b in at.button if b.key == "data_upload_button").click()
    run(at)
    errors = " ".join(e.value for e in at.error).replace("\\", "")
    assert "Nothing was loaded." in errors and message in errors, errors
    home, workspace_id = tmp_path / "store", at.session_state["kw_workspace_id"]
    assert tables_of(home, workspace_id) == {}
    workspace, _ = WorkspaceStore(home).load_current(workspace_id)
    assert workspace.sources == []


def test_upload_names_problems_suggests_a_valid_name_and_ignores_case_for_duplicates():
    assert upload_names_problems(["orders", "customers"]) == []
    [invalid] = upload_names_problems(["Order Lines"])
    assert "e.g. 'order_lines'" in invalid
    assert upload_names_problems(["Orders", "orders"]) == [
        "'orders' is given to 2 files: give each file its own source name."
    ]
    assert upload_names_problems(["x" * 64])[0].startswith(f"'{'x' * 60}…' (64 characters) is not a usable source name")


def test_a_name_of_a_loaded_table_says_it_replaces_it(at, tmp_path):
    upload_two(at)
    next(b for b in at.button if b.key == "data_upload_button").click()
    run(at)
    upload_two(at)
    fields = name_fields(at)
    assert [f.value for f in fields.values()] == ["orders_2", "customer_list_2025_2"], "loaded names are not reused"
    fields["Source name for orders.csv"].input("orders")
    run(at)
    captions = " ".join(c.value for c in at.caption).replace("\\", "")
    assert "Replaces the loaded table 'orders' with this file's data." in captions

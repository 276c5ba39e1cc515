"""Hostile input through the app's own pages (AppTest): uploads, views, formulas, documents, imports.

Expected of every case, written before it was run: the page shows an error (never an exception or
a traceback), the message names a fix, the table loaded before is still there with its rows, and a
canary planted beside the store (a secret file, a second workspace) is neither changed nor shown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from kpi_model.store import WorkspaceStore

from .conftest import REPO
from .hostile_files import billion_laughs_yaml, deep_json, wide_csv, xlsx_bomb
from .hostile_support import Canary, names_a_fix

APP = str(REPO / "app.py")
GOOD_CSV = b"day,amount\n2025-01-31,10\n2025-02-28,20\n2025-03-31,30\n"


@pytest.fixture
def canary(tmp_path) -> Canary:
    return Canary(tmp_path / "outside")


@pytest.fixture
def app(tmp_path, monkeypatch) -> AppTest:
    """A saved workspace with one good table loaded, on the Data page."""
    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    monkeypatch.delenv("KPI_WIZARD_ACCESS", raising=False)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.text_input(key="new_workspace_name").input("Hostile")
    _click(at, "Create workspace")
    at.switch_page("pages/data.py").run()
    _upload(at, "sales.csv", GOOD_CSV)
    assert not at.error, [e.value for e in at.error]
    assert _good_table_intact(at)
    return at


def _plain(markdown: str) -> str:
    """Text as a reader sees it: the Markdown escapes taken out."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _click(at: AppTest, label: str) -> None:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception


def _upload(at: AppTest, name: str, content: bytes, key_prefix: str = "data_upload_") -> None:
    uploader = next(u for u in at.file_uploader if u.key and u.key.startswith(key_prefix))
    uploader.upload(name, content).run()
    assert not at.exception, at.exception
    buttons = {"data_upload_": "Load file", "upload_workspace": "Open uploaded file"}
    _click(at, buttons.get(key_prefix, "Import and audit"))


def _good_table_intact(at: AppTest) -> bool:
    """The Data page still lists the table loaded first, with its rows (read from the database, not a cache)."""
    at.switch_page("pages/data.py").run()
    assert not at.exception, at.exception
    return any(_plain(x.label) == "sales — 3 rows, 2 columns" for x in at.expander)


def _page_text(at: AppTest) -> str:
    parts = [str(getattr(e, "value", "")) for e in (*at.markdown, *at.caption, *at.error, *at.warning, *at.info)]
    return "\n".join(parts)


def _assert_refused(at: AppTest, canary: Canary, *, headline: str) -> None:
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert errors, f"no error shown; page says: {_page_text(at)[:1500]}"
    message = _plain("\n".join(errors))
    assert headline in message, message
    assert names_a_fix(message), message
    assert "Traceback" not in message and str(REPO) not in message, message
    assert str(canary.root.parent / "store") not in message, "a server path reached the visitor"
    canary.assert_untouched(_page_text(at))


def _xlsx_bomb_bytes(tmp_path) -> bytes:
    return xlsx_bomb(tmp_path / "bomb.xlsx", unpacked_mb=120).read_bytes()


DATA_FILES: list[tuple[str, Callable[..., bytes]]] = [
    ("wide-3000.csv", lambda tmp: wide_csv(tmp / "w.csv", 3_000).read_bytes()),
    ("wide-1001.csv", lambda tmp: wide_csv(tmp / "w.csv", 1_001).read_bytes()),
    ("bomb.xlsx", _xlsx_bomb_bytes),
    ("binary.csv", lambda tmp: b"day,amount\n\x00\x01\x02\x03" * 100),
    ("truncated.parquet", lambda tmp: b"PAR1" + b"\x00" * 64),
    ("deep.json", lambda tmp: deep_json(50_000).encode()),
    ("empty.csv", lambda tmp: b""),
    ("not-a-workbook.xlsx", lambda tmp: b"PK\x03\x04 this is not a zip"),
]


@pytest.mark.parametrize(("name", "make"), DATA_FILES, ids=[n for n, _ in DATA_FILES])
def test_hostile_data_file_upload(app, canary, tmp_path, name, make):
    _upload(app, name, make(tmp_path))
    _assert_refused(app, canary, headline=f"{name} was not loaded; your data is unchanged.")
    assert _good_table_intact(app)
    folder = WorkspaceStore(tmp_path / "store").root
    leftovers = [p.name for p in folder.rglob(".upload-*")] + [p.name for p in folder.rglob("*staging*")]
    assert leftovers == []


VIEWS: list[tuple[str, Callable[[Canary], str]]] = [
    ("quoted path", lambda c: f'SELECT * FROM "{c.secret_file}"'),
    ("string path", lambda c: f"SELECT * FROM '{c.secret_file}'"),
    ("read_csv", lambda c: f"SELECT * FROM read_csv('{c.secret_file}')"),
    (
        "CTE scope trick",
        lambda c: (
            f'SELECT CAST(s.password AS INTEGER) FROM (WITH "{c.secret_file}" AS (SELECT 1 AS a) '
            f'SELECT a FROM "{c.secret_file}") x, "{c.secret_file}" s'
        ),
    ),
    ("other workspace", lambda c: f"SELECT * FROM '{c.other_workspace / 'data.duckdb'}'"),
    ("http", lambda c: "SELECT * FROM 'http://127.0.0.1:9/x.parquet'"),
    ("endless recursion", lambda c: "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r"),
    ("4-way cross join", lambda c: "SELECT count(*) AS n FROM range(100000) a, range(100000) b, range(100000) c"),
    ("nested 500 deep", lambda c: "SELECT " + "(" * 500 + "1" + ")" * 500 + " AS n FROM sales"),
    ("ATTACH", lambda c: f"ATTACH '{c.other_workspace / 'data.duckdb'}' AS other"),
]


@pytest.mark.parametrize(("label", "sql_for"), VIEWS, ids=[label for label, _ in VIEWS])
def test_hostile_view_on_the_data_page(app, canary, label, sql_for):
    app.text_input(key="view_name").input("peek")
    app.text_area(key="view_sql").input(sql_for(canary))
    _click(app, "Create view source")
    _assert_refused(app, canary, headline="The view was not created.")
    assert _good_table_intact(app)
    assert "peek" not in app.session_state["kw_workspace"].model_dump_json()


DOCUMENTS: list[tuple[str, Callable[[Canary], bytes]]] = [
    ("deep.json", lambda c: ('{"name": "x", "units": ' + deep_json(20_000) + "}").encode()),
    ("deep.yaml", lambda c: ("name: x\nunits: " + "[" * 5_000 + "]" * 5_000 + "\n").encode()),
    ("laughs.yaml", lambda c: ("name: x\n" + billion_laughs_yaml()).encode()),
    ("path.yaml", lambda c: yaml.safe_dump({"name": "x", "sources": [{"name": "s", "path": "x" * 5_000}]}).encode()),
    ("huge.json", lambda c: json.dumps({"name": "x", "description": "y" * 6 * 1024 * 1024}).encode()),
    ("nul.yaml", lambda c: b"name: x\x00\n"),
]


@pytest.mark.parametrize(("name", "make"), DOCUMENTS, ids=[n for n, _ in DOCUMENTS])
def test_hostile_workspace_document_on_start(app, canary, name, make):
    before = app.session_state["kw_workspace_id"]
    app.switch_page("pages/start.py").run()
    _upload(app, name, make(canary), key_prefix="upload_workspace")
    _assert_refused(app, canary, headline=f"{name} could not be opened")
    assert app.session_state["kw_workspace_id"] == before, "the open workspace is unchanged"
    assert _good_table_intact(app)


IMPORTS: list[tuple[str, Callable[..., bytes]]] = [
    ("metrics.yml", lambda tmp: billion_laughs_yaml().encode()),
    ("deep.yml", lambda tmp: ("metrics: " + "[" * 5_000 + "]" * 5_000 + "\n").encode()),
    ("register.xlsx", _xlsx_bomb_bytes),
]


@pytest.mark.parametrize(("name", "make"), IMPORTS, ids=[n for n, _ in IMPORTS])
def test_hostile_import_on_the_audit_page(app, canary, tmp_path, name, make):
    before = app.session_state["kw_workspace_id"]
    app.switch_page("pages/audit.py").run()
    uploader = next(u for u in app.file_uploader if u.key == "audit_upload")
    uploader.upload(name, make(tmp_path)).run()
    if any(b.label == "Import and audit" for b in app.button):
        _click(app, "Import and audit")
    _assert_refused(app, canary, headline=f"{name} could not be imported")
    assert app.session_state["kw_workspace_id"] == before
    assert _good_table_intact(app)


def test_a_formula_nested_500_deep_on_preview_is_refused_and_pages_keep_working(app, canary):
    # A workspace whose KPI formula passed older checks: every page must still draw.
    workspace = app.session_state["kw_workspace"]
    document = workspace.model_dump(mode="json", exclude_none=True)
    document["units"] = [{"id": "sales", "name": "Sales"}]
    document["goals"] = [{"id": "grow", "unit": "sales", "statement": "Grow"}]
    document["kpis"] = [
        {"id": "deep", "name": "Deep", "goal": "grow", "source": "sales", "time_column": "day",
         "expression": "sum(" + "(" * 500 + "amount" + ")" * 500 + ")"},
    ]  # fmt: skip
    app.switch_page("pages/start.py").run()
    _upload(app, "deep-kpi.json", json.dumps(document).encode(), key_prefix="upload_workspace")
    for page in ("pages/kpis.py", "pages/preview.py", "pages/dashboard.py", "pages/audit.py", "pages/review.py"):
        app.switch_page(page).run()
        assert not app.exception, (page, app.exception)
    canary.assert_untouched(_page_text(app))

"""Bundles in the app, with AppTest: opened on Start (data loaded like uploads), downloaded from Review."""

from __future__ import annotations

import hashlib
import io
import json
import types
import zipfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from streamlit.elements.widgets import button
from streamlit.testing.v1 import AppTest

from kpi_model import bundle, workspace_file
from kpi_model.datastore import DATA_FILE
from kpi_model.engine import Engine
from kpi_model.store import WorkspaceStore

from .conftest import REPO

APP = str(REPO / "app.py")
ORDERS = "order_id,order_date,amount,status\n1,2025-01-03,10,won\n2,2025-02-04,20,lost\n3,2025-02-20,5,won\n"
WORKSPACE = """\
name: Tiny shop
units: [{id: sales, name: Sales}]
goals: [{id: grow, unit: sales, statement: Grow revenue}]
sources:
  - {name: orders, path: data/orders.csv}
  - {name: won_orders, sql: "SELECT * FROM orders WHERE status = 'won'"}
kpis:
  - {id: revenue, name: Revenue, goal: grow, source: orders, expression: sum(amount), time_column: order_date}
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    return tmp_path / "store"


@pytest.fixture
def tiny_bundle(tmp_path) -> bytes:
    (tmp_path / "src" / "data").mkdir(parents=True)
    (tmp_path / "src" / "data" / "orders.csv").write_text(ORDERS)
    workspace = workspace_file.loads(WORKSPACE)
    data, _ = bundle.bundle_bytes(workspace, bundle.source_files(workspace, tmp_path / "src"))
    return data


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def open_on_start(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="upload_bundle").upload(name, data, "application/zip")
    run(at)
    at.button(key="open_bundle").click()
    return run(at)


def text_of(elements) -> str:
    return " | ".join(e.value for e in elements).replace("\\", "")


def test_opening_a_bundle_saves_a_workspace_with_its_data_loaded(home, tiny_bundle):
    at = run(AppTest.from_file(APP, default_timeout=60))
    open_on_start(at, "tiny_shop_bundle.zip", tiny_bundle)
    assert "Opened 'Tiny shop' from tiny_shop_bundle.zip with 2 tables" in text_of(at.success), text_of(at.error)
    [stored_id] = WorkspaceStore(home).ids()
    workspace, _ = WorkspaceStore(home).load_current(stored_id)
    assert workspace.source("orders").path == "files/orders.csv", "the data lives where uploads live"
    assert (home / stored_id / "files" / "orders.csv").read_text() == ORDERS
    with duckdb.connect(str(home / stored_id / DATA_FILE), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM orders").fetchone() == (3,)
        assert con.execute("SELECT count(*) FROM won_orders").fetchone() == (2,)


def test_a_hostile_bundle_is_refused_on_start_and_nothing_is_saved(home, tiny_bundle):
    tampered = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(tiny_bundle)) as source, zipfile.ZipFile(tampered, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            changed = content.replace(b"20,lost", b"99,lost")  # the same size: only the SHA-256 tells
            target.writestr(item, changed if item.filename.endswith(".csv") else content)
    at = run(AppTest.from_file(APP, default_timeout=60))
    open_on_start(at, "tampered.zip", tampered.getvalue())
    assert "tampered.zip was not opened; nothing was changed" in text_of(at.error)
    assert "does not match the SHA-256" in text_of(at.error)
    assert not home.exists() or WorkspaceStore(home).ids() == []


class _Downloads:
    """Stands in for the server's media file manager, which AppTest lacks: keeps each deferred download."""

    def __init__(self) -> None:
        self.deferred: dict[str, Callable[[], bytes]] = {}
        self.media_file_mgr = self

    def add(self, data: bytes, mimetype: str, coordinates: str, **_: object) -> str:
        return f"/media/{coordinates}"

    def add_deferred(self, data: Callable[[], bytes], mimetype: str, coordinates: str, **_: object) -> str:
        self.deferred[coordinates] = data
        return coordinates

    def remove_deferred(self, *_: object, **__: object) -> None:
        pass


def test_review_downloads_a_bundle_that_opens_to_the_same_workspace_and_data(home, tiny_bundle, monkeypatch, tmp_path):
    at = run(AppTest.from_file(APP, default_timeout=60))
    open_on_start(at, "tiny_shop_bundle.zip", tiny_bundle)
    downloads = _Downloads()
    monkeypatch.setattr(button, "runtime", types.SimpleNamespace(exists=lambda: True, get_instance=lambda: downloads))
    at.switch_page("pages/review.py")
    run(at)
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download bundle" in labels and "Download dbt export" in labels
    assert "carries no data" not in text_of(at.caption)
    [made] = [make for coordinates, make in downloads.deferred.items()]
    (tmp_path / "downloaded.zip").write_bytes(made())
    reopened = bundle.open_bundle(tmp_path / "downloaded.zip", tmp_path / "reopened")
    assert reopened.data_files["orders"].read_text() == ORDERS
    assert reopened.workspace.kpis == workspace_file.loads(WORKSPACE).kpis
    assert reopened.workspace.source("won_orders").sql == "SELECT * FROM orders WHERE status = 'won'"


def test_review_says_which_sources_the_bundle_carries_no_data_for(home):
    at = run(AppTest.from_file(APP, default_timeout=60))
    at.file_uploader(key="upload_workspace").upload("shop.yaml", WORKSPACE.encode(), "application/yaml")
    run(at)
    at.button(key="open_upload").click()
    run(at)
    at.switch_page("pages/review.py")
    run(at)
    assert "Download bundle" in [b.proto.label for b in at.get("download_button")]
    assert "The bundle carries no data for **orders**" in text_of(at.caption)


def test_bundle_paths_never_leave_the_workspace_folder(home, tmp_path):
    """A workspace whose source points out of its folder gets no file of the server in its bundle."""
    outside = tmp_path / "secret.csv"
    outside.write_text("a\n1\n")
    hostile = WORKSPACE.replace("data/orders.csv", "../../secret.csv")
    at = run(AppTest.from_file(APP, default_timeout=60))
    at.file_uploader(key="upload_workspace").upload("shop.yaml", hostile.encode(), "application/yaml")
    run(at)
    at.button(key="open_upload").click()
    run(at)
    downloads = _Downloads()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(button, "runtime", types.SimpleNamespace(exists=lambda: True, get_instance=lambda: downloads))
        at.switch_page("pages/review.py")
        run(at)
    assert "The bundle carries no data for **orders**" in text_of(at.caption)
    [made] = list(downloads.deferred.values())
    with zipfile.ZipFile(io.BytesIO(made())) as archive:
        assert sorted(archive.namelist()) == ["manifest.json", "workspace.yaml"]
    assert Path(outside).read_text() == "a\n1\n"


def test_a_verified_bundle_whose_data_the_upload_path_refuses_says_so(home, tmp_path):
    """The data of an opened bundle meets the checks of every upload: a binary 'CSV' is refused by them."""
    (tmp_path / "src" / "data").mkdir(parents=True)
    (tmp_path / "src" / "data" / "orders.csv").write_bytes(b"\x00\x01\x02 not a csv")
    workspace = workspace_file.loads(WORKSPACE)
    data, _ = bundle.bundle_bytes(workspace, bundle.source_files(workspace, tmp_path / "src"))
    at = run(AppTest.from_file(APP, default_timeout=60))
    open_on_start(at, "junk.zip", data)
    errors = text_of(at.error)
    assert "'Tiny shop' was opened, but the data of 'orders' was not loaded" in errors
    assert "binary data" in errors and "upload it on the Data page" in errors
    [stored_id] = WorkspaceStore(home).ids()
    assert not (home / stored_id / "files" / "orders.csv").exists(), "a refused file is not kept"


def test_a_bundle_whose_workspace_is_invalid_is_refused_with_its_problems(home, tmp_path):
    files = {"workspace.yaml": b"name: Shop\nkpis: [{id: x, name: X, cadence: monthy}]\n"}
    listed = [{"path": p, "bytes": len(c), "sha256": hashlib.sha256(c).hexdigest()} for p, c in files.items()]
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.writestr("manifest.json", json.dumps({"format": bundle.FORMAT, "format_version": 1, "files": listed}))
        for name, content in files.items():
            archive.writestr(name, content)
    at = run(AppTest.from_file(APP, default_timeout=60))
    open_on_start(at, "shop.zip", stream.getvalue())
    errors = text_of(at.error)
    assert "shop.zip was not opened; nothing was changed" in errors and "monthly" in errors, errors
    assert not home.exists() or WorkspaceStore(home).ids() == []


def test_a_loaded_table_whose_file_is_gone_travels_as_parquet(home, tiny_bundle, monkeypatch, tmp_path):
    """A saved copy of the sample keeps its data only in the database: the bundle exports the table."""
    at = run(AppTest.from_file(APP, default_timeout=60))
    open_on_start(at, "tiny_shop_bundle.zip", tiny_bundle)
    [stored_id] = WorkspaceStore(home).ids()
    (home / stored_id / "files" / "orders.csv").unlink()
    downloads = _Downloads()
    monkeypatch.setattr(button, "runtime", types.SimpleNamespace(exists=lambda: True, get_instance=lambda: downloads))
    at.switch_page("pages/review.py")
    run(at)
    assert "the bundle carries the loaded table as Parquet" in text_of(at.caption)
    assert "carries no data" not in text_of(at.caption)
    [made] = list(downloads.deferred.values())
    (tmp_path / "downloaded.zip").write_bytes(made())
    reopened = bundle.open_bundle(tmp_path / "downloaded.zip", tmp_path / "reopened")
    assert reopened.workspace.source("orders").path == "data/orders.parquet"
    original = workspace_file.loads(WORKSPACE)
    (tmp_path / "src" / "data").mkdir(parents=True, exist_ok=True)
    (tmp_path / "src" / "data" / "orders.csv").write_text(ORDERS)
    with (
        Engine.for_workspace(original, tmp_path / "src") as before,
        Engine.for_workspace(reopened.workspace, reopened.folder, confine=True) as after,
    ):
        expected = before.compute(original, "revenue").as_records()
        assert after.compute(reopened.workspace, "revenue").as_records() == expected
        assert [r["value"] for r in expected] == [10, 25]


def test_a_second_click_on_open_does_not_make_a_second_copy(home, tiny_bundle):
    at = run(AppTest.from_file(APP, default_timeout=60))
    open_on_start(at, "tiny_shop_bundle.zip", tiny_bundle)
    at.button(key="open_bundle").click()  # the uploader still holds the file
    run(at)
    assert len(WorkspaceStore(home).ids()) == 1, "one workspace, not two of the same name"
    assert "is open already as 'Tiny shop'" in text_of(at.info)

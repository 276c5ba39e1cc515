"""A KPI's owner_email (its owner's own alerts) is edited on the KPI card and in the grid, checked like the file."""

from __future__ import annotations

import pytest

from kpi_model import workspace_file
from kpi_model.grid import GridError, apply_grid, grid_rows
from kpi_model.store import WorkspaceStore

from .test_app import click, new_app, stored
from .test_app_grid import edit_cells, open_grid

WORKSPACE = (
    "name: Owners\n"
    "units:\n  - {id: web, name: Web}\n"
    "goals:\n  - {id: grow, unit: web, statement: Grow revenue}\n"
    "kpis:\n"
    "  - {id: sales, name: Sales, goal: grow, direction: up, owner: Head of Web, owner_email: web.head@example.com}\n"
)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private store with a one-KPI workspace opened at start."""
    path = tmp_path / "owners.yaml"
    path.write_text(WORKSPACE, encoding="utf-8")
    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.setenv("KPI_WIZARD_OPEN", str(path))
    return tmp_path / "store"


def plain(messages) -> str:
    """The page's messages as read: Markdown escapes and the word joiner before '@' taken out."""
    return " ".join(m.value for m in messages).replace("\\", "").replace("\u2060", "")


def sales_card():
    at = new_app()
    at.switch_page("pages/kpis.py").run()
    at.selectbox(key="kpi_goal_choice").set_value("grow").run()
    assert not at.exception, at.exception
    return at


def test_the_card_shows_saves_and_clears_the_owners_email(home):
    at = sales_card()
    field = at.text_input(key="kpi_sales_owner_email")
    assert field.value == "web.head@example.com", "the address from the file is shown"
    at.text_input(key="kpi_sales_warning").input("5")
    click(at, "Save KPI")
    assert not at.error, [e.value for e in at.error]
    _, saved = stored(home)
    assert saved.kpis[0].owner_email == "web.head@example.com", "saving another field keeps the address"

    at.text_input(key="kpi_sales_owner_email").input("  sales.lead@example.com ")
    click(at, "Save KPI")
    _, saved = stored(home)
    assert saved.kpis[0].owner_email == "sales.lead@example.com"

    at.text_input(key="kpi_sales_owner_email").input("")
    click(at, "Save KPI")
    _, saved = stored(home)
    assert saved.kpis[0].owner_email is None, "an empty field removes the address"


@pytest.mark.parametrize("typed", ["sales lead at example.com", "lead@example.com\nBcc: x@evil.example", "a@b@c.com"])
def test_a_malformed_address_is_refused_by_name_and_nothing_is_lost(home, typed):
    at = sales_card()
    at.text_input(key="kpi_sales_owner").input("Sales lead")
    at.text_input(key="kpi_sales_owner_email").input(typed)
    click(at, "Save KPI")
    errors = plain(at.error)
    assert "**Owner's e-mail**" in errors and "is not an e-mail address" in errors, errors
    assert "name@example.com" in errors, "the message says how to write it"
    assert not at.success
    assert at.text_input(key="kpi_sales_owner").value == "Sales lead", "what was typed stays in the form"
    assert at.text_input(key="kpi_sales_owner_email").value == typed
    assert WorkspaceStore(home).list_workspaces() == [], "nothing saved: the opened workspace is as it was"


def test_the_grid_edits_the_owners_email_and_refuses_a_bad_one(tmp_path, monkeypatch):
    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    at = new_app()
    editor = open_grid(at)
    assert "owner_email" in editor.value.columns
    names = list(editor.value["name"])
    edit_cells(at, editor, {0: {"owner_email": "nobody-at-example.com", "owner": "Head of Web"}})
    click(at, "Save the grid")
    errors = plain(at.error)
    assert f"**{names[0]}** — Owner's e-mail" in errors and "is not an e-mail address" in errors, errors
    assert "Fix:** write it as name@example.com" in errors

    (editor,) = at.data_editor
    edit_cells(at, editor, {0: {"owner_email": "web.head@example.com", "owner": "Head of Web"}})
    click(at, "Save the grid")
    _, saved = stored(tmp_path / "store")
    kpi = next(k for k in saved.kpis if k.name == names[0])
    assert (kpi.owner, kpi.owner_email) == ("Head of Web", "web.head@example.com")


def test_apply_grid_reads_clears_and_checks_the_owners_email():
    workspace = workspace_file.loads(WORKSPACE)
    (row,) = grid_rows(workspace, workspace.kpis)
    assert row["owner_email"] == "web.head@example.com"
    assert apply_grid(workspace, [row]) == workspace, "a row read back as shown changes nothing"
    cleared = apply_grid(workspace, [{**row, "owner_email": " "}])
    assert cleared.kpis[0].owner_email is None
    with pytest.raises(GridError) as refused:
        apply_grid(workspace, [{**row, "owner_email": "web head@example.com", "owner": "New owner"}])
    (cell,) = refused.value.cells
    assert (cell.kpi_id, cell.column) == ("sales", "Owner's e-mail")
    assert workspace.kpis[0].owner == "Head of Web", "the workspace given is not changed"

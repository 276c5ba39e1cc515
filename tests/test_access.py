"""Who sees what: private workspaces on a team server, shared ones on a local server."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from kpi_model import cli
from kpi_model.access import ACCESS_FILE, AccessControl, AccessError, mode_from_environment
from kpi_model.models import Workspace
from kpi_model.store import WorkspaceStore

from .conftest import REPO

APP = str(REPO / "app.py")


@pytest.fixture
def team_home(tmp_path, monkeypatch):
    """A team server's store: private workspaces."""
    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.setenv("KPI_WIZARD_ACCESS", "team")
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    return tmp_path / "store"


def _saved(root, name="Alice's plan") -> str:
    store = WorkspaceStore(root)
    workspace_id = store.new_id()
    store.save(workspace_id, Workspace(name=name))
    return workspace_id


# ------------------------------------------------------------------------------------------ library


def test_a_link_opens_its_workspace_and_nothing_else(tmp_path):
    access = AccessControl(tmp_path, "team")
    first, second = _saved(tmp_path, "first"), _saved(tmp_path, "second")
    key = access.grant(first)
    assert access.allows(first, key=key)
    assert not access.allows(second, key=key), "a link opens only its own workspace"
    assert not access.allows(first, key=key[:-1] + ("A" if key[-1] != "A" else "B"))
    assert not access.allows(first, key=None) and not access.allows(first, key="")
    assert not access.allows(second), "a workspace without an access record opens for nobody"


def test_only_a_hash_of_the_secret_is_kept_and_the_file_is_private(tmp_path):
    workspace_id = _saved(tmp_path)
    key = AccessControl(tmp_path, "team").grant(workspace_id, owner="alice@example.com")
    file = tmp_path / workspace_id / ACCESS_FILE
    assert key not in file.read_text()
    assert file.stat().st_mode & 0o777 == 0o600
    assert json.loads(file.read_text())["owner"] == "alice@example.com"


def test_the_owner_opens_without_the_link_and_a_new_link_revokes_the_old(tmp_path):
    access = AccessControl(tmp_path, "team")
    workspace_id = _saved(tmp_path)
    old = access.grant(workspace_id, owner="Alice@Example.com")
    assert access.allows(workspace_id, user="alice@example.com")
    assert not access.allows(workspace_id, user="mallory@example.com")
    new = access.grant(workspace_id)
    assert not access.allows(workspace_id, key=old) and access.allows(workspace_id, key=new)
    assert access.allows(workspace_id, user="alice@example.com"), "a new link keeps the owner"


def test_listing_shows_a_team_visitor_only_what_they_hold(tmp_path):
    access = AccessControl(tmp_path, "team")
    mine, theirs = _saved(tmp_path), _saved(tmp_path)
    key = access.grant(mine)
    access.grant(theirs, owner="bob@example.com")
    assert access.visible([mine, theirs], keys={mine: key}) == [mine]
    assert access.visible([mine, theirs], keys={}, user="bob@example.com") == [theirs]
    assert AccessControl(tmp_path, "local").visible([mine, theirs], keys={}) == [mine, theirs]


@pytest.mark.parametrize("bad_id", ["../etc", "", "a", "ws-../../x", "/abs"])
def test_ids_that_are_not_workspace_ids_are_refused_without_touching_files(tmp_path, bad_id):
    access = AccessControl(tmp_path, "team")
    assert not access.allows(bad_id, key="x")
    with pytest.raises(AccessError, match="Ask its owner for the full link"):
        access.grant(bad_id)


def test_an_unknown_mode_names_the_choices(monkeypatch):
    monkeypatch.setenv("KPI_WIZARD_ACCESS", "public")
    with pytest.raises(AccessError, match="use one of: local, team"):
        mode_from_environment()


# ------------------------------------------------------------------------------------------ the app


def _app(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _create(at: AppTest, name: str) -> AppTest:
    at.text_input(key="new_workspace_name").input(name)
    next(b for b in at.button if b.label == "Create workspace").click().run()
    assert not at.exception, at.exception
    return at


def test_a_second_visitor_never_sees_nor_opens_the_first_ones_workspace(team_home):
    alice = _create(_app(), "Alice's plan")
    workspace_id = alice.session_state["kw_workspace_id"]
    key = alice.session_state["kw_keys"][workspace_id]

    bob = _app()
    texts = " ".join(str(e.value) for e in (*bob.info, *bob.markdown, *bob.success))
    assert "Alice's plan" not in texts, "not listed, not offered as 'continue where you left off'"
    assert not [b for b in bob.button if b.key and workspace_id in b.key], "no open or delete button for it"

    for query in ({"ws": workspace_id}, {"ws": workspace_id, "key": "guess"}, {"ws": "ws-000000000000"}):
        refused = _app(**query)
        assert "kw_workspace" not in refused.session_state or refused.session_state["kw_workspace"] is None
        errors = " ".join(e.value for e in refused.error)
        assert "does not open a workspace here" in errors and "Ask its owner" in errors, query
        assert "Alice" not in errors

    with_link = _app(ws=workspace_id, key=key)
    assert with_link.session_state["kw_workspace"].name == "Alice's plan"
    assert WorkspaceStore(team_home).load(workspace_id).name == "Alice's plan", "nothing changed by the attempts"


def _forged_actions(workspace_id: str) -> None:
    """A script that tries to delete, open and restore a workspace it holds no link to."""
    import streamlit as st

    from kpi_model.errors import KpiWizardError
    from ui import state

    st.session_state["kw_workspace_id"] = workspace_id  # as if the session had been tampered with
    for action in (
        lambda: state.delete_stored(workspace_id),
        lambda: state.open_stored(workspace_id),
        lambda: state.restore_version("20260101T000000000000"),
    ):
        try:
            action()
            st.write("done")
        except KpiWizardError as error:
            st.write(f"refused: {error}")


def test_a_team_visitor_cannot_delete_open_or_restore_without_access(team_home):
    alice = _create(_app(), "Alice's plan")
    workspace_id = alice.session_state["kw_workspace_id"]
    mallory = AppTest.from_function(_forged_actions, args=(workspace_id,), default_timeout=60)
    mallory.run()
    assert not mallory.exception, mallory.exception
    outcomes = [m.value for m in mallory.markdown]
    assert len(outcomes) == 3 and all(o.startswith("refused: This link does not open") for o in outcomes), outcomes
    assert WorkspaceStore(team_home).load(workspace_id).name == "Alice's plan"
    assert len(WorkspaceStore(team_home).versions(workspace_id)) == 1


def test_the_private_link_is_shown_to_its_holder_on_a_team_server(team_home):
    alice = _create(_app(), "Alice's plan")
    alice.switch_page("pages/start.py").run()
    codes = [c.value for c in alice.code]
    workspace_id = alice.session_state["kw_workspace_id"]
    assert any(f"?ws={workspace_id}&key=" in code for code in codes), codes


def test_a_local_server_lists_every_saved_workspace_as_before(tmp_path, monkeypatch):
    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.delenv("KPI_WIZARD_ACCESS", raising=False)
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    _saved(tmp_path / "store", "Shared plan")
    at = _app()
    assert any("Shared plan" in m.value for m in at.markdown), "local mode is one person: all is listed"


# ------------------------------------------------------------------------------------------ the CLI


def test_serving_other_machines_needs_an_access_choice(capsys):
    assert cli.main(["serve", "--address", "0.0.0.0", "--port", "1"]) == cli.EXIT_UNUSABLE
    assert "--access team" in capsys.readouterr().err


def test_link_command_gives_a_working_link_and_revokes_the_old(tmp_path, capsys):
    workspace_id = _saved(tmp_path)
    first = AccessControl(tmp_path, "team").grant(workspace_id)
    assert cli.main(["link", workspace_id, "--home", str(tmp_path)]) == cli.EXIT_OK
    printed = capsys.readouterr().out.strip()
    key = printed.split("&key=")[1]
    access = AccessControl(tmp_path, "team")
    assert access.allows(workspace_id, key=key) and not access.allows(workspace_id, key=first)
    assert cli.main(["link", "ws-ffffffffffff", "--home", str(tmp_path)]) == cli.EXIT_UNUSABLE


def _logged_in(email: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.user = {"is_logged_in": True, "email": email}
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_logged_in_owner_finds_their_workspace_on_any_browser_and_others_do_not(team_home):
    alice = _create(_logged_in("alice@example.com"), "Alice's plan")
    workspace_id = alice.session_state["kw_workspace_id"]
    assert AccessControl(team_home, "team").record(workspace_id).owner == "alice@example.com"

    elsewhere = _logged_in("alice@example.com")  # a new session, no link
    listed = [b for b in elsewhere.button if b.key == f"open_saved_{workspace_id}"]
    assert listed, "the owner sees her workspace listed"
    listed[0].click().run()
    assert elsewhere.session_state["kw_workspace"].name == "Alice's plan"

    bob = _logged_in("bob@example.com")
    assert not [b for b in bob.button if b.key and workspace_id in b.key]
    refused = _logged_in("bob@example.com", ws=workspace_id)
    assert "does not open a workspace here" in " ".join(e.value for e in refused.error)


def test_a_tab_left_open_stops_editing_once_the_link_is_replaced(team_home):
    alice = _create(_app(), "Alice's plan")
    workspace_id = alice.session_state["kw_workspace_id"]
    alice.switch_page("pages/goals.py").run()
    AccessControl(team_home, "team").grant(workspace_id)  # the operator: `kpi-wizard link` after a leak

    alice.text_input(key="add_unit_name").input("Sales")
    next(b for b in alice.button if b.label == "Add unit").click().run()
    assert not alice.exception, alice.exception
    assert "kw_workspace" not in alice.session_state or alice.session_state["kw_workspace"] is None
    shown = " ".join(e.value for e in alice.error)
    assert "link was replaced" in shown and "Ask its owner" in shown, shown
    assert WorkspaceStore(team_home).load(workspace_id).units == [], "nothing saved after the link changed"

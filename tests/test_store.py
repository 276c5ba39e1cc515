"""The workspace store: autosave versions, bounded history, restore, and safe ids."""

from __future__ import annotations

import pytest

from kpi_model.errors import StoreError
from kpi_model.store import HISTORY_LIMIT, WorkspaceStore, is_valid_id


def test_save_load_and_skip_unchanged(tmp_path, small_workspace):
    store = WorkspaceStore(tmp_path)
    ws_id = store.new_id()
    first = store.save(ws_id, small_workspace, note="Created it")
    assert store.save(ws_id, small_workspace) == first, "an unchanged workspace must not add a version"
    assert store.load(ws_id) == small_workspace
    assert [v.note for v in store.versions(ws_id)] == ["Created it"]
    (listed,) = store.list_workspaces()
    assert (listed.id, listed.name, listed.kpi_count) == (ws_id, "Acme 2027 scorecard", 3)


def test_history_keeps_last_twenty_and_restores(tmp_path, small_workspace):
    store = WorkspaceStore(tmp_path)
    ws_id = store.new_id()
    for number in range(HISTORY_LIMIT + 5):
        store.save(ws_id, small_workspace.model_copy(update={"name": f"v{number}"}))
    versions = store.versions(ws_id)
    assert len(versions) == HISTORY_LIMIT
    assert [v.name for v in versions[:2]] == [f"v{HISTORY_LIMIT + 4}", f"v{HISTORY_LIMIT + 3}"]
    oldest_kept = versions[-1]
    assert oldest_kept.name == "v5"
    restored = store.restore(ws_id, oldest_kept.id)
    assert restored.name == "v5"
    assert store.load(ws_id).name == "v5"
    assert store.versions(ws_id)[0].name == "v5", "a restore is saved as the newest version"
    assert len(store.versions(ws_id)) == HISTORY_LIMIT


@pytest.mark.parametrize("bad", ["../etc", "..", "a/b", "", "UPPER", "x" * 80, "/abs"])
def test_ids_cannot_escape_the_store(tmp_path, bad, small_workspace):
    store = WorkspaceStore(tmp_path / "store")
    assert not is_valid_id(bad)
    assert not store.exists(bad)
    with pytest.raises(StoreError):
        store.save(bad, small_workspace)
    with pytest.raises(StoreError):
        store.load(bad)
    assert not (tmp_path / "etc").exists()


def test_bad_version_ids_refused(tmp_path, small_workspace):
    store = WorkspaceStore(tmp_path)
    ws_id = store.new_id()
    store.save(ws_id, small_workspace)
    for bad in ["../workspace", "2026", "x.yaml"]:
        with pytest.raises(StoreError):
            store.load_version(ws_id, bad)


def test_missing_workspace_message(tmp_path):
    with pytest.raises(StoreError, match="no saved workspace"):
        WorkspaceStore(tmp_path).load("ws-000000000000")


def test_unreadable_workspace_is_skipped_in_listing(tmp_path, small_workspace):
    store = WorkspaceStore(tmp_path)
    good = store.new_id()
    store.save(good, small_workspace)
    broken = tmp_path / "ws-broken00000"
    broken.mkdir()
    (broken / "workspace.yaml").write_text("name: [unclosed\n")
    assert [w.id for w in store.list_workspaces()] == [good]


def test_failed_write_reports_and_keeps_old(tmp_path, small_workspace, monkeypatch):
    store = WorkspaceStore(tmp_path)
    ws_id = store.new_id()
    store.save(ws_id, small_workspace)
    import kpi_model.workspace_file as wf

    def full_disk(path, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(wf, "atomic_write_text", full_disk)
    with pytest.raises(StoreError, match="previous version is unchanged"):
        store.save(ws_id, small_workspace.model_copy(update={"name": "new"}))
    monkeypatch.undo()
    assert store.load(ws_id) == small_workspace


def test_delete_removes_everything(tmp_path, small_workspace):
    store = WorkspaceStore(tmp_path)
    ws_id = store.new_id()
    store.save(ws_id, small_workspace)
    store.delete(ws_id)
    assert not store.exists(ws_id)
    assert list(tmp_path.iterdir()) == []


def test_a_save_over_someone_elses_version_is_refused(tmp_path, small_workspace):
    from kpi_model.store import ConflictError

    store = WorkspaceStore(tmp_path)
    ws_id = store.new_id()
    seen = store.save(ws_id, small_workspace)
    theirs = store.save(ws_id, small_workspace.model_copy(update={"name": "Theirs"}), expected=seen)
    with pytest.raises(ConflictError, match="changed in another tab"):
        store.save(ws_id, small_workspace.model_copy(update={"name": "Mine"}), expected=seen)
    assert store.load(ws_id).name == "Theirs"
    store.save(ws_id, small_workspace.model_copy(update={"name": "Mine"}), expected=theirs)
    assert store.load(ws_id).name == "Mine"


def test_restore_notes_what_it_did(tmp_path, small_workspace):
    store = WorkspaceStore(tmp_path)
    ws_id = store.new_id()
    store.save(ws_id, small_workspace)
    store.save(ws_id, small_workspace.model_copy(update={"name": "later"}))
    oldest = store.versions(ws_id)[-1]
    store.restore(ws_id, oldest.id)
    assert store.versions(ws_id)[0].note.startswith("Restored the version of ")


def test_a_save_to_a_workspace_deleted_meanwhile_is_refused_not_recreated(tmp_path):
    from kpi_model.models import Workspace
    from kpi_model.store import ConflictError, WorkspaceStore

    store = WorkspaceStore(tmp_path)
    workspace_id = store.new_id()
    seen = store.save(workspace_id, Workspace(name="Plan"))
    store.delete(workspace_id)
    with pytest.raises(ConflictError, match=r"was deleted in another tab.*Download it from the Review page"):
        store.save(workspace_id, Workspace(name="Plan, edited"), expected=seen)
    assert not store.exists(workspace_id) and not (tmp_path / workspace_id / "history").exists()
    assert store.list_workspaces() == []


def test_a_version_too_large_to_read_back_is_refused_not_saved(tmp_path):
    from kpi_model.documents import MAX_BYTES
    from kpi_model.models import Workspace
    from kpi_model.store import WorkspaceStore

    store = WorkspaceStore(tmp_path)
    workspace_id = store.new_id()
    store.save(workspace_id, Workspace(name="Plan"))
    # 1.6 MB of DEL characters: accepted as JSON, but YAML writes each as "\x7F" (four times the size).
    bloated = Workspace(name="Plan", description="\x7f" * (MAX_BYTES // 3))
    with pytest.raises(StoreError, match=r"would be .* MB on disk, over the 5.0 MB .* shorten long descriptions"):
        store.save(workspace_id, bloated)
    assert store.load(workspace_id).description is None, "the readable version stays current"


def test_listing_reads_only_the_workspaces_asked_for_and_each_version_once(tmp_path, monkeypatch):
    from kpi_model import workspace_file
    from kpi_model.models import Workspace
    from kpi_model.store import WorkspaceStore

    store = WorkspaceStore(tmp_path)
    mine, theirs = store.new_id(), store.new_id()
    store.save(mine, Workspace(name="Mine"))
    store.save(theirs, Workspace(name="Theirs"))
    read: list[str] = []
    real_load = workspace_file.load
    monkeypatch.setattr(workspace_file, "load", lambda path: read.append(path.parent.name) or real_load(path))
    assert [w.name for w in store.list_workspaces([mine])] == ["Mine"]
    assert [w.name for w in store.list_workspaces([mine])] == ["Mine"]
    assert read == [mine], "another visitor's workspace is never read; an unchanged file is read once"
    store.save(mine, Workspace(name="Mine, renamed"))
    assert [w.name for w in store.list_workspaces([mine, "ws-000000000000"])] == ["Mine, renamed"]
    assert sorted(w.name for w in store.list_workspaces()) == ["Mine, renamed", "Theirs"]


def test_import_notes_are_kept_beside_the_workspace_bounded_and_dismissed(tmp_path, small_workspace):
    from kpi_model.store import MAX_NOTE_CHARS, MAX_NOTES, NOTES_FILE

    store = WorkspaceStore(tmp_path)
    ws_id = store.new_id()
    assert store.import_notes(ws_id) is None, "no notes before any import"
    store.save(ws_id, small_workspace)
    notes = ["Row 3: target 'soon' is not a date."] + ["x" * (MAX_NOTE_CHARS + 50)] * (MAX_NOTES + 9)
    store.save_import_notes(ws_id, "register.xlsx", notes)
    kept = WorkspaceStore(tmp_path).import_notes(ws_id)  # a new store: as after a restart
    assert kept is not None and kept.source == "register.xlsx"
    assert kept.notes[0] == notes[0] and len(kept.notes) == MAX_NOTES and kept.dropped == 10
    assert max(len(n) for n in kept.notes) == MAX_NOTE_CHARS
    assert not list((tmp_path / ws_id).glob(f".{NOTES_FILE}*")), "written atomically, no temporary file left"
    (tmp_path / ws_id / NOTES_FILE).write_text("{broken", encoding="utf-8")
    assert store.import_notes(ws_id) is None, "an unreadable file is ignored, not an error"
    store.save_import_notes(ws_id, "register.xlsx", ["one"])
    store.dismiss_import_notes(ws_id)
    assert store.import_notes(ws_id) is None
    store.delete(ws_id)
    assert not (tmp_path / ws_id).exists()

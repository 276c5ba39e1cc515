"""Session state behind small accessors: the only place that knows the keys.

The open workspace lives in ``st.session_state``; every change goes through
:func:`commit`, which validates, autosaves to the workspace store and records the id in
the URL (``?ws=…``, plus ``&key=…`` on a team server) so a browser reload or an app restart
resumes the same work. A workspace opened but not yet edited is not copied into the store.
Who may open, list, delete or restore a stored workspace is decided by :mod:`kpi_model.access`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from kpi_model import workspace_file
from kpi_model.access import NO_ACCESS, AccessControl, AccessError, AccessMode, mode_from_environment
from kpi_model.alerts.state import carry_state, state_path_for
from kpi_model.datastore import DataStore
from kpi_model.engine import EnginePool
from kpi_model.errors import KpiWizardError
from kpi_model.isolation import database_lock
from kpi_model.models import Workspace
from kpi_model.store import CURRENT_FILE, ImportNotes, StoredWorkspace, WorkspaceStore, is_valid_id

_WORKSPACE = "kw_workspace"
_WORKSPACE_ID = "kw_workspace_id"
_FLASH = "kw_flash"
_INITIALISED = "kw_initialised"
_STARTUP_ERROR = "kw_startup_error"
_ORIGIN = "kw_origin"
_BASE = "kw_base"  # fingerprint of the stored version this session last saw
_KEYS = "kw_keys"  # workspace id -> link secret, for the workspaces this browser session holds links to
QUERY_KEY = "ws"
LINK_KEY = "key"
SAMPLE_WORKSPACE = Path(__file__).resolve().parent.parent / "sample_data" / "workspace.yaml"


@dataclass(frozen=True)
class Flash:
    """A message to show once, on the next run (after an action reruns the page)."""

    kind: str  # success | info | warning | error
    text: str


def store_root() -> Path:
    """Where workspaces are kept: ``$KPI_WIZARD_HOME`` or ``./workspaces``."""
    return Path(os.environ.get("KPI_WIZARD_HOME") or "workspaces")


@st.cache_resource
def _store(root: str) -> WorkspaceStore:
    return WorkspaceStore(root)


def store() -> WorkspaceStore:
    """The workspace store of this server."""
    return _store(str(store_root().resolve()))


@st.cache_resource
def _access(root: str, mode: AccessMode) -> AccessControl:
    return AccessControl(root, mode)


def access() -> AccessControl:
    """Who may open what on this server (``$KPI_WIZARD_ACCESS``: local or team)."""
    return _access(str(store_root().resolve()), mode_from_environment())


def current_user() -> str | None:
    """The logged-in visitor's e-mail when the operator configured login (``st.login``), else None."""
    try:
        if st.user.is_logged_in:
            email = st.user.get("email")
            return str(email) if email else None
    except (AttributeError, KeyError, RuntimeError):
        pass
    return None


def login_configured() -> bool:
    """Whether the operator set up OIDC login in ``.streamlit/secrets.toml`` (an ``[auth]`` section)."""
    try:
        return "auth" in st.secrets
    except Exception:  # Streamlit raises its own error types when there is no secrets file at all
        return False


def _keys() -> dict[str, str]:
    return st.session_state.setdefault(_KEYS, {})


def link_key(workspace_id: str) -> str | None:
    """The link secret this session holds for a workspace, if any."""
    return _keys().get(workspace_id)


def may_open(workspace_id: str) -> bool:
    """Whether this visitor may open (and so delete or restore) a stored workspace."""
    return access().allows(workspace_id, key=link_key(workspace_id), user=current_user())


def listed_workspaces() -> list[StoredWorkspace]:
    """Saved workspaces this visitor may see: every one on a local server, their own on a team server."""
    # Access first, from the small access files: other visitors' workspaces are never read.
    return store().list_workspaces(access().visible(store().ids(), keys=_keys(), user=current_user()))


def init() -> None:
    """Once per browser session: resume the workspace in the URL, or open the startup one."""
    if st.session_state.get(_INITIALISED):
        if withdrawn := recheck_access():
            st.session_state[_STARTUP_ERROR] = withdrawn
        _sync_url()
        return
    st.session_state[_INITIALISED] = True
    wanted = st.query_params.get(QUERY_KEY)
    if wanted and st.query_params.get(LINK_KEY) and is_valid_id(wanted):
        _keys()[wanted] = st.query_params[LINK_KEY]
    try:
        if wanted and access().is_private and not (store().exists(wanted) and may_open(wanted)):
            # The same answer whether the workspace exists or not: a guessed id learns nothing.
            del st.query_params[QUERY_KEY]
            st.query_params.pop(LINK_KEY, None)
            raise AccessError(access_refusal())
        if wanted and is_valid_id(wanted) and store().exists(wanted):
            open_stored(wanted)
        elif os.environ.get("KPI_WIZARD_OPEN"):
            startup = Path(os.environ["KPI_WIZARD_OPEN"])
            set_workspace(workspace_file.load(startup), origin=startup.parent)
    except KpiWizardError as error:
        st.session_state[_STARTUP_ERROR] = str(error)
    _sync_url()


def recheck_access() -> str | None:
    """On a team server: close the open workspace when its link was replaced or it was deleted, and say so.

    Access is granted when a workspace is opened; a tab left open must not keep editing after the owner
    gave the workspace a new link (``kpi-wizard link``). Called on every run (and by every page that needs
    a workspace); returns what to tell the visitor, or None when nothing changed.
    """
    workspace_id = st.session_state.get(_WORKSPACE_ID)
    if not (workspace_id and access().is_private) or may_open(workspace_id):
        return None
    close()
    _keys().pop(workspace_id, None)
    return "The workspace was closed: its link was replaced or it was deleted. " + access_refusal()


def access_refusal() -> str:
    """What a visitor without access is told (never whether the workspace exists)."""
    return NO_ACCESS[0].upper() + NO_ACCESS[1:] + "."


def _sync_url() -> None:
    # Page switches drop query parameters; putting the id back on every run keeps reloads working.
    workspace_id = st.session_state.get(_WORKSPACE_ID)
    if workspace_id and st.query_params.get(QUERY_KEY) != workspace_id:
        st.query_params[QUERY_KEY] = workspace_id
    key = link_key(workspace_id) if workspace_id and access().is_private else None
    if key and st.query_params.get(LINK_KEY) != key:
        st.query_params[LINK_KEY] = key


def startup_error() -> str | None:
    """Why the startup workspace could not be opened, once."""
    return st.session_state.pop(_STARTUP_ERROR, None)


def workspace() -> Workspace | None:
    """The open workspace, if any."""
    return st.session_state.get(_WORKSPACE)


def workspace_id() -> str | None:
    """The store id of the open workspace (None until its first save)."""
    return st.session_state.get(_WORKSPACE_ID)


def set_workspace(new: Workspace, *, workspace_id: str | None = None, origin: Path | None = None) -> None:
    """Open a workspace without saving it (nothing is stored until it is edited).

    ``origin`` is the trusted folder its file sources are read from: the bundled sample's, or
    the one the operator started the server with. Uploaded workspaces have none.
    """
    st.session_state[_WORKSPACE] = new
    st.session_state[_WORKSPACE_ID] = workspace_id
    st.session_state[_ORIGIN] = origin
    st.query_params.pop(LINK_KEY, None)
    if workspace_id:
        st.query_params[QUERY_KEY] = workspace_id
        if access().is_private and (key := link_key(workspace_id)):
            st.query_params[LINK_KEY] = key
    elif QUERY_KEY in st.query_params:
        del st.query_params[QUERY_KEY]


def open_stored(workspace_id: str) -> None:
    """Open a workspace from the store, remembering which version this session saw (needs access)."""
    if not may_open(workspace_id):
        raise AccessError(access_refusal())
    opened, fingerprint = store().load_current(workspace_id)
    set_workspace(opened, workspace_id=workspace_id)
    st.session_state[_BASE] = fingerprint


def delete_stored(workspace_id: str) -> None:
    """Remove a saved workspace with its version history and its data folder (needs access)."""
    if not may_open(workspace_id):
        raise AccessError(access_refusal())
    data = DataStore(store().root / workspace_id, engine_pool())
    with database_lock(data.db_path):  # not while an upload or profile job works on its data
        engine_pool().release(data.db_path)
        store().delete(workspace_id)
    _keys().pop(workspace_id, None)


def restore_version(version_id: str) -> None:
    """Make an older version of the open workspace current again (needs access) and reopen it."""
    workspace_id = st.session_state.get(_WORKSPACE_ID)
    if not workspace_id or not may_open(workspace_id):
        raise AccessError(access_refusal())
    store().restore(workspace_id, version_id)
    open_stored(workspace_id)


def private_link() -> str | None:
    """The open workspace's private link on a team server (the page URL with ``ws`` and ``key``)."""
    workspace_id = st.session_state.get(_WORKSPACE_ID)
    key = link_key(workspace_id) if workspace_id and access().is_private else None
    if not key:
        return None
    base = (st.context.url or "").split("?")[0]
    return f"{base}?{QUERY_KEY}={workspace_id}&{LINK_KEY}={key}"


def commit(new: Workspace, *, note: str = "") -> None:
    """Make ``new`` the open workspace and autosave it as a new version (``note`` labels the version).

    The first save of an opened sample copies its loaded data along, so the saved workspace
    keeps computing, and (on a local server) its alert state, so what it alerted on is not sent again. A save over a
    version written meanwhile by another tab raises :class:`~kpi_model.store.ConflictError` and
    changes nothing.
    """
    workspace_id = st.session_state.get(_WORKSPACE_ID)
    if workspace_id is not None and not may_open(workspace_id):
        raise AccessError(access_refusal())
    if workspace_id is None:
        workspace_id = store().new_id()
        if access().is_private:
            _keys()[workspace_id] = access().grant(workspace_id, owner=current_user())
        opened_data = datastore()
        if opened_data is not None and opened_data.db_path.is_file():
            opened_data.copy_to(store().root / workspace_id)
        # What the unsaved workspace alerted on is not news after the save either. Not on a team server:
        # there the opened files' folder is shared by every visitor, so its state would be someone else's.
        if opened_data is not None and not access().is_private:
            carry_state(
                state_path_for(opened_data.folder / CURRENT_FILE),
                state_path_for(store().root / workspace_id / CURRENT_FILE),
            )
        st.session_state[_BASE] = None
    fingerprint = store().save(workspace_id, new, expected=st.session_state.get(_BASE), note=note)
    set_workspace(new, workspace_id=workspace_id, origin=st.session_state.get(_ORIGIN))
    st.session_state[_BASE] = fingerprint


def commit_as_new(new: Workspace, *, note: str = "") -> None:
    """Save ``new`` as a workspace of its own (the one open before stays in the store untouched)."""
    st.session_state[_WORKSPACE_ID] = None
    st.session_state[_ORIGIN] = None
    commit(new, note=note)


def save_import_notes(source: str, notes: list[str]) -> None:
    """Keep the notes of the import that made the open workspace with it (shown on Audit until dismissed)."""
    workspace_id = st.session_state.get(_WORKSPACE_ID)
    if workspace_id and notes:
        store().save_import_notes(workspace_id, source, notes)


def import_notes() -> ImportNotes | None:
    """The kept notes of the import that made the open workspace, if any (read from the store: a reload keeps them)."""
    workspace_id = st.session_state.get(_WORKSPACE_ID)
    return store().import_notes(workspace_id) if workspace_id else None


def dismiss_import_notes() -> None:
    """Forget the open workspace's import notes (needs access)."""
    workspace_id = st.session_state.get(_WORKSPACE_ID)
    if workspace_id and may_open(workspace_id):
        store().dismiss_import_notes(workspace_id)


@st.cache_resource
def engine_pool() -> EnginePool:
    """The server's pool of locked engines, one per workspace database file."""
    return EnginePool()


def origin() -> Path | None:
    """The trusted folder the open workspace's files come from, if any."""
    return st.session_state.get(_ORIGIN)


def _opened_key(workspace: Workspace, folder: Path) -> str:
    # Keyed on the files the sources name, so an edited data file is loaded again.
    parts = [str(folder.resolve())]
    for source in workspace.sources:
        if source.path:
            file = folder / source.path
            stat = file.stat() if file.is_file() else None
            parts.append(f"{source.name}:{source.path}:{stat.st_size if stat else 0}:{stat.st_mtime_ns if stat else 0}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def datastore() -> DataStore | None:
    """The data folder of the open workspace: its own in the store, or a shared one for an opened sample."""
    workspace_id = st.session_state.get(_WORKSPACE_ID)
    if workspace_id:
        return DataStore(store().root / workspace_id, engine_pool())
    folder, opened = origin(), workspace()
    if folder is not None and opened is not None:
        return DataStore(store().root / "_opened" / _opened_key(opened, folder), engine_pool())
    return None


def ensure_data_loaded() -> DataStore | None:
    """The open workspace's data, loading an opened sample's files on first use (with progress)."""
    data, opened, folder = datastore(), workspace(), origin()
    if data is None or opened is None:
        return data
    if folder is not None and not data.db_path.is_file() and any(s.path for s in opened.sources):
        slot = st.empty()
        with slot.status("Loading the workspace's data files into DuckDB…", expanded=False):
            profiles = data.import_sources(opened, folder, confine=True, only_if_missing=True)
        slot.empty()  # the page below shows the data; the box would only push it down
        st.toast(
            f"Loaded {len(profiles)} tables" if profiles is not None else "Data loaded", icon=":material/database:"
        )
    return data


def close() -> None:
    """Close the open workspace (it stays in the store)."""
    st.session_state.pop(_WORKSPACE, None)
    st.session_state.pop(_WORKSPACE_ID, None)
    st.query_params.pop(QUERY_KEY, None)
    st.query_params.pop(LINK_KEY, None)


def flash(kind: str, text: str) -> None:
    """Queue a message for the next run."""
    st.session_state.setdefault(_FLASH, []).append(Flash(kind, text))


def take_flashes() -> list[Flash]:
    """The queued messages, emptying the queue."""
    return st.session_state.pop(_FLASH, [])

"""A folder of workspaces, each with its saved versions, so work survives reloads and restarts.

Layout under the store root::

    <workspace_id>/workspace.yaml          the current version
    <workspace_id>/history/<stamp>.yaml    every saved version, newest kept (``HISTORY_LIMIT``)
    <workspace_id>/.lock                   held while a save, restore or delete changes the folder
    <workspace_id>/import-notes.json       the notes of the import that created it, until dismissed

Workspace ids are generated here and checked on the way in, so an id taken from a URL
can never name a path outside the root.

A save compares the version on disk with the one its session last saw and writes, all
under the workspace's lock, so two saves at the same moment are serialised: one wins,
the other gets :class:`ConflictError`; none is acknowledged and then lost.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import secrets
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kpi_model import workspace_file
from kpi_model.archives import size_text
from kpi_model.documents import MAX_BYTES
from kpi_model.errors import StoreError, WorkspaceError
from kpi_model.models import Workspace

HISTORY_LIMIT = 20
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,62}$")
_STAMP_RE = re.compile(r"^\d{8}T\d{12}$")
_STAMP_FORMAT = "%Y%m%dT%H%M%S%f"
CURRENT_FILE = "workspace.yaml"
LOCK_FILE = ".lock"
NOTES_FILE = "import-notes.json"
# Bounds on the kept import notes: a register with thousands of odd rows keeps the first ones.
MAX_NOTES = 500
MAX_NOTE_CHARS = 1_000
_MAX_NOTES_BYTES = 2 * 1024**2


class ConflictError(StoreError):
    """The workspace changed on disk since this session loaded it (another tab or person saved)."""


def content_hash(text: str) -> str:
    """A short fingerprint of a saved version, to notice saves by others."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class StoredWorkspace:
    """A workspace in the store, as listed on the Start page."""

    id: str
    name: str
    modified: dt.datetime
    kpi_count: int


@dataclass(frozen=True)
class Version:
    """One saved version of a workspace."""

    id: str
    saved: dt.datetime
    name: str
    kpi_count: int
    note: str = ""


@dataclass(frozen=True)
class ImportNotes:
    """What the import that created a workspace could not map as written (kept until dismissed)."""

    source: str  # the file the visitor imported, as they named it
    notes: list[str]
    dropped: int = 0  # notes beyond MAX_NOTES, not kept


def is_valid_id(workspace_id: str) -> bool:
    """Whether ``workspace_id`` has the form the store gives out (no '/', no '..')."""
    return bool(_ID_RE.match(workspace_id or ""))


class WorkspaceStore:
    """Workspaces kept under one folder, saved atomically with a bounded version history."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._summaries: dict[str, tuple[tuple[int, int], StoredWorkspace]] = {}  # id -> (file version, summary)

    def _folder(self, workspace_id: str) -> Path:
        if not is_valid_id(workspace_id):
            raise StoreError(f"'{workspace_id}' is not a workspace id; open a workspace from the Start page")
        return self.root / workspace_id

    def new_id(self) -> str:
        """A fresh, unguessable workspace id."""
        return f"ws-{secrets.token_hex(6)}"

    def exists(self, workspace_id: str) -> bool:
        """Whether the store holds this workspace."""
        return is_valid_id(workspace_id) and (self.root / workspace_id / CURRENT_FILE).is_file()

    def current_hash(self, workspace_id: str) -> str | None:
        """Fingerprint of the current version, or None when there is none."""
        current = self._folder(workspace_id) / CURRENT_FILE
        return content_hash(current.read_text(encoding="utf-8")) if current.is_file() else None

    def save(self, workspace_id: str, workspace: Workspace, *, expected: str | None = None, note: str = "") -> str:
        """Save a new version and return its fingerprint (unchanged content adds no version).

        With ``expected`` (the fingerprint this session last saw), a save over a version someone
        else wrote meanwhile raises :class:`ConflictError` instead of silently replacing it. The
        comparison and the write happen under the workspace's lock, so no other save comes between.
        """
        folder = self._folder(workspace_id)
        text = workspace_file.dumps(workspace)
        size = len(text.encode("utf-8"))
        if size > MAX_BYTES:  # a version that could be saved but never read again would be lost work
            raise StoreError(
                f"this workspace would be {size_text(size)} on disk, over the {size_text(MAX_BYTES)} a workspace may "
                "be, so it was not saved: shorten long descriptions and notes, or split it into several workspaces"
            )
        try:
            with self._locked(folder):
                return self._write(folder, text, expected=expected, note=note)
        except OSError as error:
            raise self._write_failed(folder, error) from None

    def _write(self, folder: Path, text: str, *, expected: str | None, note: str) -> str:
        """Compare and write one version; the caller holds the lock."""
        current = folder / CURRENT_FILE
        on_disk = current.read_text(encoding="utf-8") if current.is_file() else None
        if on_disk == text:
            return content_hash(text)
        if expected is not None and on_disk is None:
            raise ConflictError(
                "this workspace was deleted in another tab or by someone else; your last change was not saved. "
                "Download it from the Review page to keep a copy, then upload it on Start"
            )
        if expected is not None and on_disk is not None and content_hash(on_disk) != expected:
            raise ConflictError(
                "this workspace was changed in another tab or by someone else since you opened it; "
                "your last change was not saved. Reload the page to get the latest version and redo it"
            )
        history = folder / "history"
        self._sweep(folder, history)
        header = f"# {note.splitlines()[0][:200]}\n" if note.strip() else ""
        workspace_file.atomic_write_text(history / f"{self._stamp(history)}.yaml", header + text)
        workspace_file.atomic_write_text(current, text)
        self._prune(history)
        return content_hash(text)

    @staticmethod
    def _sweep(folder: Path, history: Path) -> None:
        """Remove temporary files left by saves that were killed midway (only saves, under the lock, make them)."""
        for leftover in [*folder.glob(f".{CURRENT_FILE}.*.tmp"), *history.glob(".*.yaml.*.tmp")]:
            leftover.unlink(missing_ok=True)

    @staticmethod
    def _write_failed(folder: Path, error: OSError) -> StoreError:
        return StoreError(
            f"could not save the workspace to {folder}: {error.strerror or error}; "
            "check free disk space and permissions — the previous version is unchanged"
        )

    @staticmethod
    @contextmanager
    def _locked(folder: Path) -> Iterator[None]:
        """Hold the workspace's lock: an exclusive ``flock`` on ``<folder>/.lock``, for one change.

        The lock file is opened anew on every call because ``flock`` locks belong to an open file:
        two opens exclude each other, whether they are threads of one server (Streamlit sessions)
        or other processes (a second server, the CLI), and the kernel releases the lock when its
        holder dies, even by ``kill -9``. A lock file that a delete removed while we waited is not
        the one the next save uses, so the lock is taken again on the file now in place.
        """
        lock_path = folder / LOCK_FILE
        while True:
            workspace_file.make_folder(folder)
            descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
                try:
                    in_place = os.stat(lock_path).st_ino == os.fstat(descriptor).st_ino
                except FileNotFoundError:
                    in_place = False
                if in_place:
                    yield
                    return
            finally:
                os.close(descriptor)  # releases the lock

    def load(self, workspace_id: str) -> Workspace:
        """The current version of a stored workspace."""
        path = self._folder(workspace_id) / CURRENT_FILE
        if not path.is_file():
            raise StoreError(f"no saved workspace '{workspace_id}'; start a new one or open the sample")
        return workspace_file.load(path)

    def load_current(self, workspace_id: str) -> tuple[Workspace, str]:
        """The current version and its fingerprint, from one read of the file.

        Pass the fingerprint as ``expected`` to the next :meth:`save`. Calling :meth:`load` and
        :meth:`current_hash` one after the other could pair one version's content with the next
        version's fingerprint if someone saves in between, and that save would then be overwritten.
        """
        path = self._folder(workspace_id) / CURRENT_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise StoreError(f"no saved workspace '{workspace_id}'; start a new one or open the sample") from None
        except OSError as error:
            raise StoreError(f"could not read the workspace '{workspace_id}': {error.strerror or error}") from None
        return workspace_file.loads(text, source=CURRENT_FILE), content_hash(text)

    def ids(self) -> list[str]:
        """The ids of the stored workspaces (folders with a current version), read from names only."""
        if not self.root.is_dir():
            return []
        return [f.name for f in self.root.iterdir() if is_valid_id(f.name) and (f / CURRENT_FILE).is_file()]

    def list_workspaces(self, only: Collection[str] | None = None) -> list[StoredWorkspace]:
        """Stored workspaces (of ``only``, when given), most recently modified first; unreadable ones are skipped.

        A workspace is read once per version of its file: the Start page lists on every run, and reading
        every document each time made it slow for all visitors of a team server.
        """
        found = []
        for workspace_id in self.ids() if only is None else [i for i in only if self.exists(i)]:
            current = self.root / workspace_id / CURRENT_FILE
            try:
                stat = current.stat()
                version = (stat.st_mtime_ns, stat.st_size)
                cached = self._summaries.get(workspace_id)
                if cached is None or cached[0] != version:
                    workspace = workspace_file.load(current)
                    modified = dt.datetime.fromtimestamp(stat.st_mtime)
                    summary = StoredWorkspace(workspace_id, workspace.name, modified, len(workspace.kpis))
                    self._summaries[workspace_id] = cached = (version, summary)
            except (OSError, WorkspaceError):
                continue
            found.append(cached[1])
        return sorted(found, key=lambda item: item.modified, reverse=True)

    def versions(self, workspace_id: str) -> list[Version]:
        """Saved versions of a workspace, newest first."""
        history = self._folder(workspace_id) / "history"
        if not history.is_dir():
            return []
        versions = []
        for file in sorted(history.glob("*.yaml"), reverse=True):
            if not _STAMP_RE.match(file.stem):
                continue
            try:
                workspace = workspace_file.load(file)
            except WorkspaceError:
                continue
            saved = dt.datetime.strptime(file.stem, _STAMP_FORMAT)
            with open(file, encoding="utf-8") as stream:
                first = stream.readline()
            note = first[1:].strip() if first.startswith("#") else ""
            versions.append(Version(file.stem, saved, workspace.name, len(workspace.kpis), note))
        return versions

    def load_version(self, workspace_id: str, version_id: str) -> Workspace:
        """One saved version (does not change the current one)."""
        if not _STAMP_RE.match(version_id or ""):
            raise StoreError(f"'{version_id}' is not a version id")
        path = self._folder(workspace_id) / "history" / f"{version_id}.yaml"
        if not path.is_file():
            raise StoreError(f"version {version_id} is no longer kept (only the last {HISTORY_LIMIT} are)")
        return workspace_file.load(path)

    def restore(self, workspace_id: str, version_id: str) -> Workspace:
        """Make an old version current again, saved as a new version so nothing is lost."""
        folder = self._folder(workspace_id)
        self.load_version(workspace_id, version_id)  # refuses unknown ids before anything is written
        note = f"Restored the version of {dt.datetime.strptime(version_id, _STAMP_FORMAT):%Y-%m-%d %H:%M:%S}"
        try:
            with self._locked(folder):
                workspace = self.load_version(workspace_id, version_id)  # again: a save may have pruned it
                self._write(folder, workspace_file.dumps(workspace), expected=None, note=note)
        except OSError as error:
            raise self._write_failed(folder, error) from None
        return workspace

    def save_import_notes(self, workspace_id: str, source: str, notes: list[str]) -> None:
        """Keep the notes of the import that made this workspace beside it (bounded, written atomically)."""
        folder = self._folder(workspace_id)
        kept = [note[:MAX_NOTE_CHARS] for note in notes[:MAX_NOTES]]
        text = json.dumps(
            {"source": source[:200], "notes": kept, "dropped": len(notes) - len(kept)}, ensure_ascii=False, indent=1
        )
        try:
            with self._locked(folder):
                workspace_file.atomic_write_text(folder / NOTES_FILE, text)
        except OSError as error:
            raise self._write_failed(folder, error) from None

    def import_notes(self, workspace_id: str) -> ImportNotes | None:
        """The kept import notes of a workspace, or None (none kept, dismissed, or unreadable)."""
        path = self._folder(workspace_id) / NOTES_FILE
        try:
            if path.stat().st_size > _MAX_NOTES_BYTES:
                return None
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("notes"), list):
            return None
        notes = [str(note)[:MAX_NOTE_CHARS] for note in data["notes"][:MAX_NOTES]]
        dropped = data.get("dropped")
        return ImportNotes(str(data.get("source") or "")[:200], notes, dropped if isinstance(dropped, int) else 0)

    def dismiss_import_notes(self, workspace_id: str) -> None:
        """Forget the kept import notes of a workspace."""
        folder = self._folder(workspace_id)
        if folder.is_dir():
            with self._locked(folder):
                (folder / NOTES_FILE).unlink(missing_ok=True)

    def delete(self, workspace_id: str) -> None:
        """Remove a workspace and its history (nothing happens when there is none)."""
        folder = self._folder(workspace_id)
        if not folder.is_dir():
            return
        with self._locked(folder):  # not in the middle of a save
            for file in sorted(folder.rglob("*"), reverse=True):
                file.rmdir() if file.is_dir() else file.unlink()
            folder.rmdir()

    @staticmethod
    def _stamp(history: Path) -> str:
        # Stamps sort by name; bump past the newest so two saves in one microsecond stay ordered.
        now = dt.datetime.now()
        existing = sorted(p.stem for p in history.glob("*.yaml") if _STAMP_RE.match(p.stem))
        if existing:
            newest = dt.datetime.strptime(existing[-1], _STAMP_FORMAT)
            now = max(now, newest + dt.timedelta(microseconds=1))
        return now.strftime(_STAMP_FORMAT)

    @staticmethod
    def _prune(history: Path) -> None:
        files = sorted(history.glob("*.yaml"))
        for old in files[:-HISTORY_LIMIT]:
            old.unlink(missing_ok=True)

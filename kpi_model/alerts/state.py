"""What a check remembers between runs: each KPI's last status, deliveries to retry, and a log.

The state is a small JSON file beside the workspace's data (see :func:`state_path_for`), written
atomically. A state file that cannot be read is reported, moved aside (:func:`set_aside`) and
treated as empty: the next run then alerts on every KPI off track once, which is better than
alerting on nothing.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import re
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from kpi_model.errors import KpiWizardError
from kpi_model.models import EMAIL_PATTERN
from kpi_model.workspace_file import atomic_write_text, make_folder

STATE_VERSION = 1
LOG_LIMIT = 500  # entries kept; the oldest go first
MAX_STATE_BYTES = 8 * 1024**2


def state_path_for(workspace_file: str | Path) -> Path:
    """The state file of a workspace file: ``.kpi-wizard-alerts.<stem>.json`` in the same folder.

    One per workspace file, so two workspaces in one folder do not share their memory; hidden, and
    named alike, so one ``.gitignore`` line (``.kpi-wizard-alerts.*``) keeps them all out of git.
    """
    path = Path(workspace_file)
    return path.parent / f".kpi-wizard-alerts.{path.stem}.json"


@dataclass
class Pending:
    """A message that could not be delivered, kept to retry on the next run."""

    channel: str  # the channel's key (see channels.channel_key), never its secret
    label: str
    kind: str  # alert | recovery | combined | digest | test
    kpis: list[str]
    subject: str
    text: str
    payload: dict[str, Any]
    recipients: list[str]
    first_failed: str
    attempts: int = 1
    error: str = ""
    # Where the channel stands in the workspace and its kind: a channel whose settings were fixed
    # (a new key) still gets its messages. -1 and "" in state files written before these were kept.
    index: int = -1
    medium: str = ""
    owner_only: bool = False  # to its recipients alone (see channels.Message); False in older files


@dataclass
class LogEntry:
    """One delivery attempt: when, where, about which KPIs, and how it went."""

    at: str
    channel: str
    kind: str
    kpis: list[str]
    subject: str
    outcome: str  # sent | failed | retried | given up
    error: str = ""


@dataclass
class AlertState:
    """Everything a check keeps: ``statuses`` maps a KPI id to its last status, period and value."""

    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: list[Pending] = field(default_factory=list)
    log: list[LogEntry] = field(default_factory=list)
    last_check: str | None = None

    def record(self, entry: LogEntry) -> None:
        """Add a log entry, keeping the newest :data:`LOG_LIMIT`."""
        self.log.append(entry)
        del self.log[:-LOG_LIMIT]

    def to_json(self) -> str:
        """The state as the file holds it."""
        data = {
            "version": STATE_VERSION,
            "last_check": self.last_check,
            "statuses": self.statuses,
            "pending": [asdict(p) for p in self.pending],
            "log": [asdict(e) for e in self.log],
        }
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def _read_bounded(path: Path) -> str:
    """The text of the regular file at ``path``, read without following a link and at most :data:`MAX_STATE_BYTES`.

    A state file replaced by a link, a FIFO or a device (``/dev/zero``) must not hang the check,
    fill its memory or read another file.
    """
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise ValueError("it is a symbolic link, not a file") from None
        raise
    with os.fdopen(handle, "rb") as stream:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            raise ValueError("not a regular file")
        data = stream.read(MAX_STATE_BYTES + 1)
    if len(data) > MAX_STATE_BYTES:
        raise ValueError(f"larger than {MAX_STATE_BYTES // 1024**2} MB")
    return data.decode("utf-8")


@dataclass
class _StateFile:
    """The state file's shape. Checked whole on reading: a field of the wrong type (a list for a
    status, a number for a subject) would otherwise crash the check or the Alerts page later."""

    version: int
    last_check: str | None = None
    statuses: dict[str, dict[str, str | float | None]] = field(default_factory=dict)
    pending: list[Pending] = field(default_factory=list)
    log: list[LogEntry] = field(default_factory=list)


_STATE_FILE = TypeAdapter(_StateFile)
_EMAIL = re.compile(EMAIL_PATTERN)


def _parsed(text: str) -> _StateFile:
    """The state file's content, or ``ValueError`` saying where it is not a KPI Wizard alert state."""
    try:
        data = _STATE_FILE.validate_json(text, strict=True)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"not a KPI Wizard alert state: {where or 'the file'}: {first['msg'].lower()}") from None
    if data.version != STATE_VERSION:
        raise ValueError(f"not a KPI Wizard alert state of version {STATE_VERSION}")
    # A recipient that is not one address would reach the mail server as a second command or header.
    if any(not _EMAIL.match(r) for waiting in data.pending for r in waiting.recipients):
        raise ValueError("not a KPI Wizard alert state: a kept message names a recipient that is not an e-mail address")
    return data


def load_state(path: Path | None) -> tuple[AlertState, str | None]:
    """The state kept at ``path`` and None, or an empty state and the problem when it is unreadable."""
    if path is None or not (path.exists() or path.is_symlink()):
        return AlertState(), None
    try:
        data = _parsed(_read_bounded(path))
    except (OSError, ValueError) as error:
        return AlertState(), f"the alert state file {path} could not be read ({str(error)[:160]})"
    return AlertState(data.statuses, data.pending, data.log, data.last_check), None


def set_aside(path: Path) -> str:
    """Move an unreadable state file out of the way (kept, never overwritten); says where it went.

    Renaming moves a link or a FIFO itself, never what it points to.
    """
    aside = path.with_name(f"{path.name}.unreadable-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}")
    try:
        os.rename(path, aside)
    except OSError as error:
        raise KpiWizardError(
            f"the alert state file {path} cannot be read nor moved aside ({error.strerror}): delete it"
        ) from None
    return f"it was moved to {aside.name} and a new one started: KPIs off track are alerted again once"


def save_state(path: Path, state: AlertState) -> None:
    """Write the state atomically (a reader sees the old or the new file, never half of one)."""
    atomic_write_text(path, state.to_json())


def carry_state(source: Path, target: Path) -> bool:
    """Copy the state at ``source`` to ``target`` when ``target`` has none yet; True when copied.

    A workspace that moves (a new cycle's file, an unsaved workspace's first save) keeps what was
    already sent; without it every KPI off track would be alerted again. An existing state at
    ``target`` is its own memory and is left alone; an unreadable ``source`` is not copied.
    """
    if source.absolute() == target.absolute() or target.exists() or not source.is_file():
        return False
    with state_lock(source):
        kept, problem = load_state(source)
    if problem:
        return False
    with state_lock(target):
        if target.exists():  # written meanwhile by a check of the new file
            return False
        save_state(target, kept)
    return True


LOCK_WAIT_S = 60.0


@contextmanager
def state_lock(path: Path | None, *, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold the state file's lock: two checks at once (cron overlapping the app's Check now) would both send.

    Waits up to ``wait_s`` for a check already running, then raises :class:`KpiWizardError`.
    """
    if path is None:
        yield
        return
    make_folder(path.parent)
    lock = path.with_name(f"{path.name}.lock")
    try:
        # No link followed: a lock file planted as a link would make the check create or lock another file.
        handle = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
    except OSError as error:
        raise KpiWizardError(
            f"cannot use the lock file {lock} ({error.strerror}): it should be a plain file; delete it"
        ) from None
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        raise KpiWizardError(f"the lock file {lock} is not a plain file: delete it")
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise KpiWizardError(
                        f"another check holds {lock} since more than {wait_s:.0f} s; wait for it to finish "
                        "(or, if none runs, delete the lock file)"
                    ) from None
                time.sleep(0.2)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def now_text(now: dt.datetime | None = None) -> str:
    """A UTC timestamp as the log writes it: ``2026-12-05T13:45:00Z``."""
    moment = now or dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")

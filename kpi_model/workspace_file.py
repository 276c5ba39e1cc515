"""Read and write workspace documents (YAML or JSON), atomically.

A save writes a temporary file beside the target, fsyncs it and ``os.replace``s it in,
so a failed or interrupted save leaves the previous file as it was.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any, Literal

import yaml

from kpi_model import documents
from kpi_model.errors import Problem, WorkspaceError
from kpi_model.models import Workspace
from kpi_model.validation import parse_workspace

Format = Literal["yaml", "json"]
MAX_DOCUMENT_BYTES = documents.MAX_BYTES
UPLOAD_TIMEOUT_S = 60.0  # reading and checking an uploaded workspace (5 MB at most) in a job
LIMITS = documents.Limits(
    what="a workspace",
    hint=(
        "a workspace is flat: units, goals, sources and KPIs are lists of mappings of plain values — "
        "check that this is a KPI Wizard workspace file"
    ),
    size_hint="a workspace is a small text file — check that this is the workspace, not a data file",
)
FILE_MODE = 0o644  # a new file: readable by the team, writable by the server's user
FOLDER_MODE = 0o755


class _Dumper(yaml.SafeDumper):
    """SafeDumper that double-quotes strings YAML would otherwise bend (line separators, controls)."""


_BENT_BY_YAML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if _BENT_BY_YAML.search(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def format_for(path: str | Path) -> Format:
    """``json`` for ``*.json`` files, ``yaml`` otherwise."""
    return "json" if str(path).lower().endswith(".json") else "yaml"


def decode(text: str, fmt: Format = "yaml", *, source: str | None = None) -> Any:
    """Decode YAML/JSON text into Python data under :data:`LIMITS`, or raise :class:`WorkspaceError`.

    Aliases, duplicate keys, nesting deeper than 64 levels and documents over 5 MB are refused.
    """
    try:
        if fmt == "json":
            return documents.load_json(text, LIMITS)
        return documents.load_yaml(text, LIMITS)
    except documents.DocumentError as error:
        raise WorkspaceError([_problem(error, fmt)], source=source) from None


def _problem(error: documents.DocumentError, fmt: Format) -> Problem:
    if not error.syntax:
        return Problem(error.where, error.problem)
    if fmt == "json":
        return Problem(error.where, f"not valid JSON: {error.problem}")
    return Problem(
        error.where, f"not valid YAML: {error.problem} (check indentation and quote values containing ':' or '#')"
    )


def loads(text: str, fmt: Format = "yaml", *, source: str | None = None) -> Workspace:
    """Parse and validate a workspace document from text."""
    return parse_workspace(decode(text, fmt, source=source), source=source)


def loads_uploaded(text: str, fmt: Format, *, source: str) -> Workspace:
    """:func:`loads` for a document a visitor uploaded to the server, in an isolated job.

    The YAML reader is native code (libyaml) working on the visitor's bytes, and validating a large
    document holds the interpreter for a while: in a job, neither can stall or end the server.
    """
    from kpi_model.isolation import run_job  # the CLI never needs the job machinery

    return run_job(  # type: ignore[no-any-return]
        _loads_job,
        (text, fmt, source),
        what=f"reading {source}",
        fix="Save it again as UTF-8 YAML or JSON from KPI Wizard (Review → Download) and upload that.",
        timeout_s=UPLOAD_TIMEOUT_S,
        after="the open workspace is unchanged",
    )


def _loads_job(text: str, fmt: Format, source: str) -> Workspace:
    return loads(text, fmt, source=source)


def load(path: str | Path) -> Workspace:
    """Load and validate a workspace file; raises :class:`WorkspaceError` naming every problem."""
    file = Path(path)
    try:
        text = documents.read_text(file, LIMITS)
    except FileNotFoundError:
        raise WorkspaceError([Problem("(file)", f"no such file: {file}")], source=str(file)) from None
    except OSError as error:
        raise WorkspaceError([Problem("(file)", f"cannot read {file}: {error.strerror}")], source=str(file)) from None
    except documents.DocumentError as error:
        raise WorkspaceError([Problem("(file)", error.problem)], source=str(file)) from None
    return loads(text, format_for(file), source=str(file))


def to_data(workspace: Workspace) -> dict[str, Any]:
    """Plain data for a workspace: JSON types only, unset optional keys left out."""
    return workspace.model_dump(mode="json", exclude_none=True)


def dumps(workspace: Workspace, fmt: Format = "yaml") -> str:
    """Serialise a workspace; keys in model order so diffs stay small and readable."""
    data = to_data(workspace)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never a partial one.

    The file keeps the mode of the file it replaces, or gets :data:`FILE_MODE`; missing folders
    are made with :data:`FOLDER_MODE`. Modes are set explicitly, never by changing the process
    umask, which other threads share.
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(21, "is a folder; give a file name inside it", str(target))
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = FILE_MODE
    make_folder(target.parent)
    try:
        handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as error:  # the temporary file's name means nothing to the user: name the target
        raise type(error)(error.errno, error.strerror, str(target)) from None
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, target)
    except OSError as error:
        Path(temp_name).unlink(missing_ok=True)
        raise type(error)(error.errno, error.strerror, str(target)) from None
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)


def make_folder(folder: Path) -> None:
    """Make ``folder`` and its missing parents with :data:`FOLDER_MODE` (less what the umask masks)."""
    missing = []
    while not folder.is_dir():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for each in reversed(missing):
        try:
            each.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            if not each.is_dir():
                raise


def _fsync_directory(folder: Path) -> None:
    # Makes the rename itself durable; not every platform lets a directory be opened.
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def save(workspace: Workspace, path: str | Path) -> None:
    """Save a workspace atomically, as JSON for ``*.json`` and YAML otherwise."""
    atomic_write_text(path, dumps(workspace, format_for(path)))

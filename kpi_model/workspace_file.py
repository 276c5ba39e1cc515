"""Read and write workspace documents (YAML or JSON), atomically.

A save writes a temporary file beside the target, fsyncs it and ``os.replace``s it in,
so a failed or interrupted save leaves the previous file as it was.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Literal

import yaml

from kpi_model.errors import Problem, WorkspaceError
from kpi_model.models import Workspace
from kpi_model.validation import parse_workspace

Format = Literal["yaml", "json"]
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (alias bombs) and duplicate keys (silent data loss)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not allowed in a workspace; write the value out", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' appears twice in the same mapping; keep one", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


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
    """Decode YAML/JSON text into Python data, or raise :class:`WorkspaceError` with the line."""
    if len(text.encode("utf-8", errors="ignore")) > MAX_DOCUMENT_BYTES:
        raise WorkspaceError(
            [
                Problem(
                    "(document)",
                    f"larger than {MAX_DOCUMENT_BYTES // 1024 // 1024} MB; a workspace is a small text file",
                )
            ],
            source=source,
        )
    try:
        if fmt == "json":
            return json.loads(text)
        return yaml.load(text, Loader=_StrictLoader)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise WorkspaceError([Problem(where, f"not valid JSON: {error.msg}")], source=source) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(document)"
        detail = getattr(error, "problem", None) or str(error)
        raise WorkspaceError(
            [Problem(where, f"not valid YAML: {detail} (check indentation and quote values containing ':' or '#')")],
            source=source,
        ) from None


def loads(text: str, fmt: Format = "yaml", *, source: str | None = None) -> Workspace:
    """Parse and validate a workspace document from text."""
    return parse_workspace(decode(text, fmt, source=source), source=source)


def load(path: str | Path) -> Workspace:
    """Load and validate a workspace file; raises :class:`WorkspaceError` naming every problem."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise WorkspaceError([Problem("(file)", f"no such file: {file}")], source=str(file)) from None
    except OSError as error:
        raise WorkspaceError([Problem("(file)", f"cannot read {file}: {error.strerror}")], source=str(file)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise WorkspaceError(
            [Problem("(file)", "not UTF-8 text; save the workspace as UTF-8 YAML or JSON")], source=str(file)
        ) from None
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
    """Write ``text`` to ``path`` so that readers see the old or the new file, never a partial one."""
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(21, "is a folder; give a file name inside it", str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.chmod(temp_name, 0o666 & ~_umask())
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


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

"""The errors of loading and profiling data, and DuckDB's messages made fit to show to a user."""

from __future__ import annotations

import re
from pathlib import Path

from kpi_model.errors import ProfileTimeout, SourceError

__all__ = ["ProfileTimeout", "SourceError", "_reason"]


def _reason(message: str, path: Path | None = None) -> str:
    """DuckDB's first line without its "Invalid Input Error:" prefix (and without server paths)."""
    line = (message.strip().splitlines() or [""])[0]
    line = re.sub(r"^[A-Za-z ]*Error: ", "", line).strip().rstrip(".")
    return line.replace(str(path), path.name) if path else line

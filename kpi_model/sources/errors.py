"""The errors of loading and profiling data, and DuckDB's messages made fit to show to a user."""

from __future__ import annotations

import re
from pathlib import Path

from kpi_model.errors import ProfileTimeout, SourceError

__all__ = ["ProfileTimeout", "SourceError", "UnreadableRelation", "_reason"]


class UnreadableRelation(SourceError):
    """A loaded table or view whose rows DuckDB cannot read; ``reason`` is DuckDB's word for why."""

    def __init__(self, table: str, reason: str) -> None:
        self.table, self.reason = table, reason
        super().__init__(
            f"'{table}' cannot be read ({reason}): drop it, or load its file again (for a view: fix its SQL)."
        )


def _reason(message: str, path: Path | None = None) -> str:
    """DuckDB's first line without its "Invalid Input Error:" prefix (and without server paths)."""
    line = (message.strip().splitlines() or [""])[0]
    line = re.sub(r"^[A-Za-z ]*Error: ", "", line).strip().rstrip(".")
    return line.replace(str(path), path.name) if path else line

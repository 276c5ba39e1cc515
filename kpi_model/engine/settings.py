"""Locking a DuckDB connection down: its limits, the files it may read, and settings a query cannot undo."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import duckdb

from kpi_model.sources import configured_memory_limit

DEFAULT_THREADS = 2
DEFAULT_TIMEOUT_S = 30.0


def lock(
    connection: duckdb.DuckDBPyConnection,
    *,
    memory_limit: str | None = None,
    threads: int = DEFAULT_THREADS,
    allowed_paths: Collection[str | Path] = (),
    allowed_directories: Collection[str | Path] = (),
    temp_directory: str | Path | None = None,
) -> None:
    """Lock a connection down: after this, queries cannot touch files, the network or settings.

    ``allowed_paths`` (files) and ``allowed_directories`` stay readable: an ingest job's connection
    may read the one file it loads (and its own scratch folder), the CLI's engine the files it scans,
    nothing else. ``temp_directory`` is where a query spills what does not fit in ``memory_limit``.
    """
    limit = configured_memory_limit(memory_limit)
    statements = [f"SET memory_limit = '{limit}'", f"SET threads = {int(threads)}"]
    if temp_directory is not None:
        statements.append(f"SET temp_directory = {_string(temp_directory)}")
    if allowed_paths:
        statements.append(f"SET allowed_paths = [{', '.join(_string(p) for p in allowed_paths)}]")
    if allowed_directories:
        statements.append(f"SET allowed_directories = [{', '.join(_string(d) for d in allowed_directories)}]")
    statements += [
        # A long query would otherwise draw a progress bar into the CLI's output (CSV or JSON on stdout).
        "SET enable_progress_bar = false",
        "SET autoinstall_known_extensions = false",
        "SET autoload_known_extensions = false",
        # A second wall besides external access: DuckDB's Python client would otherwise read a pandas
        # DataFrame in the calling code whose variable name matches a table the SQL names.
        "SET python_enable_replacements = false",
        "SET enable_external_access = false",
        "SET lock_configuration = true",
    ]
    for statement in statements:
        connection.execute(statement)


def _string(value: str | Path) -> str:
    return "'" + str(value).replace("'", "''") + "'"

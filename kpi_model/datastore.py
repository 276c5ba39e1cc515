"""A workspace's data: uploaded files and the DuckDB database kept beside the workspace.

Layout of a data folder::

    data.duckdb      tables loaded from files, and the SQL-view sources
    files/           the uploaded files, under names this module chooses (never the uploader's)

Writes (uploads, type fixes, views) use a short-lived read-write connection; before one,
the engine pool closes its read-only engine on the file. No user formula runs on the
write connection: formulas only run in the locked engine.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import duckdb

from kpi_model import sources
from kpi_model.engine import Engine, EnginePool
from kpi_model.formula import quote, validate_view
from kpi_model.models import SOURCE_NAME_PATTERN, Workspace
from kpi_model.sources import SourceError, TableProfile

DATA_FILE = "data.duckdb"
UPLOADS = "files"
_CHUNK = 1024 * 1024

# The app's sessions are threads of one process; DuckDB lets only one of them write a file at a time.
_FILE_LOCKS: dict[str, threading.RLock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


def _lock_for(path: Path) -> threading.RLock:
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(str(path.resolve()), threading.RLock())


class DataStore:
    """The data folder of one workspace."""

    def __init__(self, folder: str | Path, pool: EnginePool) -> None:
        self.folder = Path(folder)
        self.pool = pool

    @property
    def db_path(self) -> Path:
        """The DuckDB database file."""
        return self.folder / DATA_FILE

    def has_data(self) -> bool:
        """Whether any table has been loaded."""
        return self.db_path.is_file() and bool(self.tables())

    @contextlib.contextmanager
    def _writing(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with _lock_for(self.db_path):
            self.pool.release(self.db_path)
            connection = duckdb.connect(str(self.db_path))
            try:
                yield connection
                connection.execute("CHECKPOINT")
            finally:
                connection.close()

    def engine(self) -> Engine:
        """The locked engine on this data (creates an empty database the first time)."""
        if not self.db_path.is_file():
            with self._writing():
                pass
        return self.pool.get(self.db_path)

    def tables(self) -> dict[str, TableProfile]:
        """Every loaded table and view with its profile."""
        if not self.db_path.is_file():
            return {}
        engine = self.engine()
        return {name: engine.profile(name) for name in engine.columns()}

    def upload(
        self,
        filename: str,
        stream: BinaryIO,
        *,
        table: str | None = None,
        max_bytes: int = sources.DEFAULT_MAX_BYTES,
        sheet: str | None = None,
        date_format: str | None = None,
    ) -> TableProfile:
        """Store an uploaded file under a safe name and load it as ``table`` (default: from the file name).

        The file is streamed to disk in chunks; on any error it is removed and the database is
        unchanged.
        """
        suffix = Path(filename).suffix.lower()
        if suffix not in sources.SUPPORTED_SUFFIXES:
            raise SourceError(
                f"{filename}: '{suffix or 'no extension'}' files are not supported; "
                f"use one of {', '.join(sources.SUPPORTED_SUFFIXES)}."
            )
        name = table or sources.table_name_for(filename, self.tables())
        _check_name(name)
        uploads = self.folder / UPLOADS
        uploads.mkdir(parents=True, exist_ok=True)
        partial = uploads / f".upload-{uuid.uuid4().hex}{suffix}"
        written = 0
        try:
            with open(partial, "wb") as out:
                while chunk := stream.read(_CHUNK):
                    written += len(chunk)
                    if written > max_bytes:
                        raise SourceError(
                            f"{filename} is over the {max_bytes / 1024**2:,.0f} MB limit: upload a smaller extract "
                            "(fewer columns or a shorter period), or convert it to Parquet."
                        )
                    out.write(chunk)
            with self._writing() as connection:
                try:
                    profile = sources.ingest_file(
                        connection, partial, name, max_bytes=max_bytes, sheet=sheet, date_format=date_format
                    )
                except SourceError as error:  # speak of the user's file, not of our temporary name
                    raise SourceError(str(error).replace(partial.name, filename)) from None
            for old in uploads.glob(f"{name}.*"):
                old.unlink()
            partial.replace(uploads / f"{name}{suffix}")
        finally:
            partial.unlink(missing_ok=True)
        return profile

    def import_sources(
        self, workspace: Workspace, base_dir: Path, *, confine: bool = True, only_if_missing: bool = False
    ) -> dict[str, TableProfile] | None:
        """Load the workspace's file sources (paths relative to ``base_dir``) and create its views.

        A first import builds the database under a temporary name and moves it into place when it is
        complete, so no other session sees half of it and a failed one leaves nothing behind. With
        ``only_if_missing`` it does nothing (and returns None) once the database exists, for instance
        because another session loaded it while this one waited.
        """
        with _lock_for(self.db_path):
            if self.db_path.is_file():
                if only_if_missing:
                    return None
                with self._writing() as connection:
                    return sources.load_workspace_sources(connection, workspace, base_dir, confine=confine)
            self.folder.mkdir(parents=True, exist_ok=True)
            building = self.folder / f".{DATA_FILE}.{uuid.uuid4().hex}"
            try:
                with duckdb.connect(str(building)) as connection:
                    profiles = sources.load_workspace_sources(connection, workspace, base_dir, confine=confine)
                    connection.execute("CHECKPOINT")
                os.replace(building, self.db_path)
            finally:
                building.unlink(missing_ok=True)
                building.with_name(building.name + ".wal").unlink(missing_ok=True)
            return profiles

    def set_column_type(
        self, table: str, column: str, new_type: str, *, date_format: str | None = None
    ) -> TableProfile:
        """Change a column's type (e.g. text that holds dates); nothing changes if a value would not convert."""
        with self._writing() as connection:
            return sources.set_column_type(connection, table, column, new_type, date_format=date_format)

    def settle_date_order(self, table: str, date_format: str) -> TableProfile:
        """Keep or swap day and month of a table's ambiguous dates (see :func:`sources.settle_date_order`)."""
        with self._writing() as connection:
            return sources.settle_date_order(connection, table, date_format)

    def create_view(self, name: str, sql: str) -> TableProfile:
        """Create (or replace) a SELECT-only view source over loaded tables."""
        with self._writing() as connection:
            _check_name(name)
            checked = validate_view(sql, set(sources.list_tables(connection)) - {name})
            try:
                connection.execute(f"CREATE OR REPLACE VIEW {quote(name)} AS {checked}")
            except duckdb.Error as error:
                raise SourceError(f"the view '{name}' does not run: {str(error).splitlines()[0]}") from None
            return sources.profile_table(connection, name)

    def drop(self, name: str) -> None:
        """Remove a table or view (and its uploaded file)."""
        with self._writing() as connection:
            _check_name(name)
            kind = "VIEW" if name in _views(connection) else "TABLE"
            connection.execute(f"DROP {kind} IF EXISTS {quote(name)}")
        for file in (self.folder / UPLOADS).glob(f"{name}.*"):
            file.unlink(missing_ok=True)

    def copy_to(self, folder: str | Path) -> DataStore:
        """A copy of this data in another folder (when an opened sample becomes a saved workspace)."""
        other = DataStore(folder, self.pool)
        other.folder.mkdir(parents=True, exist_ok=True)
        if self.db_path.is_file():
            self.pool.release(self.db_path)
            shutil.copy2(self.db_path, other.db_path)
        if (self.folder / UPLOADS).is_dir():
            shutil.copytree(self.folder / UPLOADS, other.folder / UPLOADS, dirs_exist_ok=True)
        return other


def _check_name(name: str) -> None:
    if not re.match(SOURCE_NAME_PATTERN, name or ""):
        raise SourceError(
            f"'{name}' is not a usable table name: letters, digits and '_', starting with a letter (e.g. orders_2025)"
        )


def _views(connection: duckdb.DuckDBPyConnection) -> set[str]:
    rows = connection.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    return {row[0] for row in rows}

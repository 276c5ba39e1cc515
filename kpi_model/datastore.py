"""A workspace's data: uploaded files and the DuckDB database kept beside the workspace.

Layout of a data folder::

    data.duckdb          tables loaded from files, and the SQL-view sources
    data.profiles.json   the profile of every table and view, for one version of data.duckdb
    files/               the uploaded files, under names this module chooses (never the uploader's)

Everything that reads a visitor's data — loading a file, profiling, creating a view, fixing a
type, the first import of a workspace's sources — runs as a job (:mod:`kpi_model.datastore_jobs`) in
a child process (:func:`kpi_model.isolation.run_job`): a reader that crashes or runs away ends that
job with a :class:`SourceError`, never the server. The job's DuckDB connection is locked like the engine's
(no file or network access, no extensions, memory and thread limits, ``lock_configuration``);
an ingest may read exactly the file it loads. The parent holds the database's lock for the whole
job and closes the pool's read-only engine first; after a job dies, staging tables it left are
dropped, so the tables loaded before are as they were.

Profiles are computed by the job that changed the data and kept in ``data.profiles.json`` keyed
by the database's version (mtime and size, like :class:`~kpi_model.engine.EnginePool`); a page
run reads that file. Only a table whose profile is missing or stale is profiled again, in a job,
under a time limit; one that cannot be profiled gets a profile with an ``error`` that says so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import duckdb

from kpi_model import sources
from kpi_model.datastore_jobs import cleanup_job, edit_job, import_job, ingest_job, profile_job, view_trial_job
from kpi_model.engine import Engine, EnginePool
from kpi_model.errors import KpiWizardError
from kpi_model.isolation import JOB_ADDRESS_SPACE_BYTES, JobFailed, database_lock, run_job
from kpi_model.models import SOURCE_NAME_PATTERN, Workspace
from kpi_model.sources import DEFAULT_LIMITS, Limits, SourceError, TableProfile
from kpi_model.sources.profile_cache import (
    DATA_FILE,
    PROFILES_FILE,
    Catalog,
    database_version,
    read_profiles,
    write_profiles,
)

UPLOADS = "files"
_CHUNK = 1024 * 1024
_PARTIAL = ".upload-"
# A partial upload this old belongs to no upload in progress (a server stopped mid-upload left it).
_STALE_PARTIAL_S = 6 * 3600
# Time a job gets beyond a view's own limit (opening the database, checking the SQL, committing).
_VIEW_JOB_MARGIN_S = 30.0
_CLEANUP_TIMEOUT_S = 120.0
_FILE_FIX = (
    "check that the file opens in the program that made it, then export it again (CSV UTF-8 or Parquet) "
    "with only the columns and rows KPIs need"
)


class DataStore:
    """The data folder of one workspace."""

    def __init__(self, folder: str | Path, pool: EnginePool, *, limits: Limits = DEFAULT_LIMITS) -> None:
        self.folder = Path(folder)
        self.pool = pool
        # Settled here, in the server: a job's child process does not see the operator's environment.
        memory_limit = sources.configured_memory_limit(limits.memory_limit)
        self.limits = dataclasses.replace(limits, memory_limit=memory_limit)
        # DuckDB keeps to its memory limit; the job's address space leaves room above it for Python and readers.
        self._address_space = max(JOB_ADDRESS_SPACE_BYTES, sources.memory_limit_bytes(memory_limit) + 4 * 1024**3)

    @property
    def db_path(self) -> Path:
        """The DuckDB database file."""
        return self.folder / DATA_FILE

    @property
    def profiles_path(self) -> Path:
        """The profile cache beside the database."""
        return self.folder / PROFILES_FILE

    def has_data(self) -> bool:
        """Whether any table has been loaded."""
        return self.db_path.is_file() and bool(self._catalog())

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with database_lock(self.db_path):
            yield

    def engine(self) -> Engine:
        """The locked engine on this data (creates an empty database the first time)."""
        if not self.db_path.is_file():
            with self._locked():
                if not self.db_path.is_file():
                    duckdb.connect(str(self.db_path)).close()  # an empty database: no visitor data is read
        return self.pool.get(self.db_path)

    # ------------------------------------------------------------------------ profiles

    def tables(self) -> dict[str, TableProfile]:
        """Every loaded table and view with its profile (from the cache; stale ones are profiled in a job).

        A table that cannot be profiled (it crashes the reader, runs past the time limit) comes with
        a profile whose ``error`` says so and what to do; this never raises for one bad table.
        """
        if not self.db_path.is_file():
            return {}
        cache = self._cache()
        if cache is not None and all(name in cache[1] for name in cache[0]):
            catalog, profiles = cache
            return {name: profiles[name] for name in sorted(catalog)}
        with self._locked():
            return self._profile_stale()

    def profiles_current(self) -> bool:
        """Whether :meth:`tables` will answer from the cache, without profiling anything."""
        if not self.db_path.is_file():
            return True
        cache = self._cache()
        return cache is not None and all(name in cache[1] for name in cache[0])

    def _cache(self) -> tuple[Catalog, dict[str, TableProfile]] | None:
        """The cached catalog and profiles, if they were written for the database as it is now."""
        try:
            return read_profiles(self.db_path, database_version(self.db_path))
        except OSError:  # no database
            return None

    def _write_cache(self, catalog: Catalog, profiles: Mapping[str, TableProfile]) -> None:
        write_profiles(self.db_path, catalog, profiles)

    def _profile_stale(self) -> dict[str, TableProfile]:
        """Under the lock: profile what the cache lacks, one job after another until every table has a
        profile (a table whose job crashed gets one with an error, and the next job goes on with the rest)."""
        cache = self._cache()
        progress = _ProfileProgress(cache[0] if cache else None, dict(cache[1]) if cache else {})
        attempts = 0
        while not progress.complete() and attempts <= len(progress.catalog or {}) + 1:
            attempts += 1
            progress.current = None
            try:
                self._job(
                    profile_job,
                    (self.db_path, sorted(progress.known), self.limits),
                    what="profiling the loaded tables",
                    fix="Drop the table named here on the Data page, or load its file again.",
                    after="the data is unchanged",
                    timeout_s=self.limits.job_timeout_s,
                    on_part=progress.take,
                )
            except JobFailed as error:
                if progress.catalog is None:
                    raise SourceError(
                        f"The workspace's database could not be read ({error}). Reload the workspace's files, "
                        "or start a new workspace and load them there."
                    ) from None
                if progress.current is not None:
                    name = progress.current
                    progress.known[name] = sources.unprofiled(name, f"'{name}' could not be profiled: {error}")
        catalog, known = progress.catalog or {}, progress.known
        for name in catalog:
            known.setdefault(name, sources.unprofiled(name, f"'{name}' could not be profiled: drop it or reload it."))
        self._write_cache(catalog, known)
        return {name: known[name] for name in sorted(catalog)}

    def _catalog(self) -> Catalog:
        """Names and kinds of the loaded tables and views (from the cache, else from the engine)."""
        if not self.db_path.is_file():
            return {}
        cache = self._cache()
        if cache is not None:
            return cache[0]
        engine = self.pool.get(self.db_path)
        views = {name for name, _ in engine.query("SELECT view_name, 1 FROM duckdb_views() WHERE NOT internal")[1]}
        return {
            name: "VIEW" if name in views else "TABLE"
            for name in engine.columns()
            if not name.startswith(sources.STAGING_PREFIX)
        }

    # ------------------------------------------------------------------------ writes

    def _write(
        self,
        target: Any,
        args: tuple[Any, ...],
        *,
        what: str,
        fix: str,
        timeout_s: float | None = None,
        redact: Mapping[str, str] | None = None,
        after: str = "nothing was changed",
    ) -> dict[str, TableProfile]:
        """Under the lock: run a job that writes the database, cache the profiles it returns, return them.

        Profiles of tables the job did not touch are kept; those of views are dropped (a view over a
        changed table changes too) and made again by the next :meth:`tables`.
        """
        before = self._cache()
        self.pool.release(self.db_path)
        committed: list[tuple[Catalog, list[TableProfile]]] = []
        try:
            catalog, changed = self._job(
                target,
                args,
                what=what,
                fix=fix,
                after=after,
                timeout_s=timeout_s or self.limits.job_timeout_s,
                on_part=lambda part: committed.append(part[1]) if part[0] == "done" else None,
                redact=redact,
            )
        except JobFailed:
            self._recover()
            if not committed:
                raise
            # It died after its commit (checkpointing, closing): the change is in the database, so it counts.
            catalog, changed = committed[-1]
        kept = {
            name: profile
            for name, profile in (before[1] if before else {}).items()
            if catalog.get(name) == "TABLE" and before is not None and before[0].get(name) == "TABLE"
        }
        made = {profile.name: profile for profile in changed}
        self._write_cache(catalog, {**kept, **made})
        return made

    def _recover(self) -> None:
        """After a job died: drop the staging tables it left (its unfinished transaction is gone already)."""
        if not self.db_path.is_file():
            return
        with contextlib.suppress(KpiWizardError):
            self._job(
                cleanup_job,
                (self.db_path, self.limits),
                what="tidying up after the failed job",
                fix="Reload the workspace's files.",
                timeout_s=_CLEANUP_TIMEOUT_S,
            )
        shutil.rmtree(self.db_path.with_name(DATA_FILE + ".tmp"), ignore_errors=True)

    def _job(
        self, target: Any, args: tuple[Any, ...], *, redact: Mapping[str, str] | None = None, **options: Any
    ) -> Any:
        """:func:`run_job` with this store's address space, and its server paths redacted from messages."""
        return run_job(
            target,
            args,
            address_space=self._address_space,
            redact={**self._redact(), **(redact or {})},
            **options,
        )

    def _redact(self) -> dict[str, str]:
        """Server paths a job's message may contain, and what users see instead."""
        folder = str(self.folder.resolve())
        return {folder + "/": "", folder: "the workspace folder"}

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

        The file is streamed to disk in chunks, then loaded by a job in a child process; on any error
        (the job crashing included) it is removed and the database is unchanged. Uploads to one
        workspace queue on its lock, so they all land.
        """
        suffix = Path(filename).suffix.lower()
        if suffix not in sources.SUPPORTED_SUFFIXES:
            raise SourceError(
                f"{filename}: '{suffix or 'no extension'}' files are not supported; "
                f"use one of {', '.join(sources.SUPPORTED_SUFFIXES)}."
            )
        if table is not None:
            _check_name(table)
        uploads = self.folder / UPLOADS
        uploads.mkdir(parents=True, exist_ok=True)
        _sweep_partials(uploads)
        partial = uploads / f"{_PARTIAL}{uuid.uuid4().hex}{suffix}"
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
            with self._locked(), tempfile.TemporaryDirectory(prefix="kpiw-job-") as scratch:
                name = table or sources.table_name_for(filename, self._catalog())
                _check_name(name)
                changed = self._write(
                    ingest_job,
                    (self.db_path, partial, name, max_bytes, sheet, date_format, self.limits, Path(scratch)),
                    what=f"loading {filename}",
                    fix=f"To load it, {_FILE_FIX}.",
                    redact={str(partial): filename, partial.name: filename, scratch: "a temporary folder"},
                )
                for old in uploads.glob(f"{name}.*"):
                    old.unlink()
                partial.replace(uploads / f"{name}{suffix}")
        finally:
            partial.unlink(missing_ok=True)
        return changed[name]

    def import_sources(
        self, workspace: Workspace, base_dir: Path, *, confine: bool = True, only_if_missing: bool = False
    ) -> dict[str, TableProfile] | None:
        """Load the workspace's file sources (paths relative to ``base_dir``) and create its views.

        A first import builds the database under a temporary name and moves it into place when it is
        complete, so no other session sees half of it and a failed one leaves nothing behind. With
        ``only_if_missing`` it does nothing (and returns None) once the database exists, for instance
        because another session loaded it while this one waited. The loading runs in a job.
        """
        base = Path(base_dir)
        what = f"loading the files of '{workspace.name}'"
        fix = f"Fix or replace the file named here: {_FILE_FIX}."
        redact = {str(base.resolve()) + "/": "", str(base.resolve()): "the workspace folder"}
        with self._locked(), tempfile.TemporaryDirectory(prefix="kpiw-job-") as scratch:
            redact[scratch] = "a temporary folder"
            if self.db_path.is_file():
                if only_if_missing:
                    return None
                job_args = (self.db_path, workspace, base, confine, self.limits, Path(scratch))
                after = "sources loaded before the failure stay loaded"
                return self._write(import_job, job_args, what=what, fix=fix, redact=redact, after=after)
            building = self.folder / f".{DATA_FILE}.{uuid.uuid4().hex}"
            try:
                catalog, changed = self._job(
                    import_job,
                    (building, workspace, base, confine, self.limits, Path(scratch)),
                    what=what,
                    fix=fix,
                    timeout_s=self.limits.job_timeout_s,
                    redact={**redact, str(building): DATA_FILE},
                )
                os.replace(building, self.db_path)
            finally:
                for leftover in (building, building.with_name(building.name + ".wal")):
                    leftover.unlink(missing_ok=True)
                shutil.rmtree(building.with_name(building.name + ".tmp"), ignore_errors=True)
            profiles = {profile.name: profile for profile in changed}
            self._write_cache(catalog, profiles)
            return profiles

    def set_column_type(
        self, table: str, column: str, new_type: str, *, date_format: str | None = None
    ) -> TableProfile:
        """Change a column's type (e.g. text that holds dates); nothing changes if a value would not convert."""
        return self._edit_table(
            "set_type",
            (table, column, new_type, date_format),
            table,
            what=f"converting {table}.{column} to {new_type}",
            fix="Try keeping the column as text (VARCHAR), or load a smaller extract of the table.",
        )

    def settle_date_order(self, table: str, date_format: str) -> TableProfile:
        """Keep or swap day and month of a table's ambiguous dates (see :func:`sources.settle_date_order`)."""
        return self._edit_table(
            "settle",
            (table, date_format),
            table,
            what=f"changing the dates in '{table}'",
            fix="Load the file again with its date format set.",
        )

    def create_view(self, name: str, sql: str) -> TableProfile:
        """Create (or replace) a SELECT-only view source over loaded tables.

        It is created on a locked connection that can read no file, and kept only if its first run
        (its profile) finishes within the view time limit.
        """
        _check_name(name)
        what = f"creating the view '{name}'"
        fix = "Narrow the view (filter the rows, join on key columns) or simplify it, then try again."
        with self._locked():
            if not self.db_path.is_file():
                duckdb.connect(str(self.db_path)).close()
            # First a run on a read-only connection, beside the engine other sessions keep querying; only a
            # view that passes is written, by a short job that does not run it again.
            profile, checked = self._job(
                view_trial_job,
                (self.db_path, name, sql, self.limits),
                what=what,
                fix=fix,
                timeout_s=self.limits.view_timeout_s + _VIEW_JOB_MARGIN_S,
            )
            self._write(edit_job, (self.db_path, self.limits, "view", (name, checked, profile)), what=what, fix=fix)
        return profile

    def drop(self, name: str) -> None:
        """Remove a table or view (and its uploaded file)."""
        _check_name(name)
        self._edit("drop", (name,), what=f"removing '{name}'", fix="Try again; if it fails again, reload the files.")
        for file in (self.folder / UPLOADS).glob(f"{name}.*"):
            file.unlink(missing_ok=True)

    def _edit_table(
        self, action: str, args: tuple[Any, ...], name: str, *, what: str, fix: str, timeout_s: float | None = None
    ) -> TableProfile:
        return self._edit(action, args, what=what, fix=fix, timeout_s=timeout_s)[name]

    def _edit(
        self, action: str, args: tuple[Any, ...], *, what: str, fix: str, timeout_s: float | None = None
    ) -> dict[str, TableProfile]:
        with self._locked():
            if not self.db_path.is_file():
                duckdb.connect(str(self.db_path)).close()
            return self._write(
                edit_job, (self.db_path, self.limits, action, args), what=what, fix=fix, timeout_s=timeout_s
            )

    def copy_to(self, folder: str | Path) -> DataStore:
        """A copy of this data in another folder (when an opened sample becomes a saved workspace)."""
        other = DataStore(folder, self.pool, limits=self.limits)
        other.folder.mkdir(parents=True, exist_ok=True)
        with self._locked():
            if self.db_path.is_file():
                self.pool.release(self.db_path)
                shutil.copy2(self.db_path, other.db_path)
                if self.profiles_path.is_file():  # copy2 keeps the mtime, so the cache stays valid
                    shutil.copy2(self.profiles_path, other.profiles_path)
            if (self.folder / UPLOADS).is_dir():
                shutil.copytree(
                    self.folder / UPLOADS,
                    other.folder / UPLOADS,
                    dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(f"{_PARTIAL}*"),
                )
        return other


class _ProfileProgress:
    """What a profile job has reported so far: the catalog, the profiles, the table it is working on."""

    def __init__(self, catalog: Catalog | None, known: dict[str, TableProfile]) -> None:
        self.catalog = catalog
        self.known = known
        self.current: str | None = None

    def complete(self) -> bool:
        return self.catalog is not None and all(name in self.known for name in self.catalog)

    def take(self, part: tuple[str, Any]) -> None:
        kind, value = part
        if kind == "catalog":
            self.catalog = value
        elif kind == "start":
            self.current = value
        elif kind == "profile":
            profile = TableProfile.from_dict(value)
            self.known[profile.name] = profile
            self.current = None


def _check_name(name: str) -> None:
    if not re.match(SOURCE_NAME_PATTERN, name or ""):
        raise SourceError(
            f"'{name}' is not a usable table name: letters, digits and '_', starting with a letter (e.g. orders_2025)"
        )


def _sweep_partials(uploads: Path) -> None:
    """Remove partial uploads a stopped server left behind (never one in progress: those are fresh)."""
    cutoff = time.time() - _STALE_PARTIAL_S
    for partial in uploads.glob(f"{_PARTIAL}*"):
        with contextlib.suppress(OSError):
            if partial.stat().st_mtime < cutoff:
                partial.unlink()

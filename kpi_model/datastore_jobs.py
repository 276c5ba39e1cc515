"""Jobs that read and write a workspace's database, run in a child process for :class:`~kpi_model.datastore.DataStore`.

Every function here runs inside :func:`kpi_model.isolation.run_job`, which imports it by name in the
child: each stays a module-level function taking picklable arguments. A job opens its own
connection, locked like the engine's (:func:`job_connection`); a job that writes reports
``("done", (catalog, profiles))`` once its change is committed, so the parent keeps the change even if
the child dies while checkpointing or closing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import duckdb

from kpi_model import sources
from kpi_model.engine import lock
from kpi_model.isolation import report
from kpi_model.models import Workspace
from kpi_model.sources import Limits, SourceError, TableProfile
from kpi_model.sources.profile_cache import Catalog


def job_connection(
    db_path: Path,
    limits: Limits,
    *,
    read_only: bool = False,
    allowed_paths: tuple[Path, ...] = (),
    allowed_directories: tuple[Path, ...] = (),
) -> duckdb.DuckDBPyConnection:
    """A job's connection, locked like the engine's; it may read ``allowed_paths`` and nothing else."""
    connection = duckdb.connect(str(db_path), read_only=read_only)
    try:
        connection.execute("SET enable_progress_bar = false")  # a job's output goes to the server's log
        lock(
            connection,
            memory_limit=limits.memory_limit,
            threads=limits.threads,
            # As given and resolved: DuckDB compares the text of the path a query names.
            allowed_paths=sorted({str(p) for p in allowed_paths} | {str(p.resolve()) for p in allowed_paths}),
            allowed_directories=sorted({str(d.resolve()) for d in allowed_directories}),
        )
    except BaseException:
        connection.close()
        raise
    return connection


def relations(connection: duckdb.DuckDBPyConnection) -> Catalog:
    """Every table and view of the database, with its kind."""
    views = {row[0] for row in connection.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    return {name: "VIEW" if name in views else "TABLE" for name in sources.list_tables(connection)}


def ingest_job(
    db_path: Path,
    file: Path,
    table: str,
    max_bytes: int,
    sheet: str | None,
    date_format: str | None,
    limits: Limits,
    scratch: Path,
) -> tuple[Catalog, list[TableProfile]]:
    """Load one uploaded file as ``table`` (it may read that file and ``scratch`` only)."""
    tempfile.tempdir = str(scratch)  # an Excel sheet is unpacked here, the one folder the job may also read
    connection = job_connection(db_path, limits, allowed_paths=(file,), allowed_directories=(scratch,))
    try:
        sources.drop_staging(connection)
        profile = sources.ingest_file(
            connection, file, table, max_bytes=max_bytes, sheet=sheet, date_format=date_format, limits=limits
        )
        catalog = relations(connection)
        report(("done", (catalog, [profile])))  # committed: from here on the load counts even if the job dies
        connection.execute("CHECKPOINT")
    finally:
        connection.close()
    return catalog, [profile]


def import_job(
    db_path: Path, workspace: Workspace, base_dir: Path, confine: bool, limits: Limits, scratch: Path
) -> tuple[Catalog, list[TableProfile]]:
    """Load a workspace's file sources, one connection per file, then create its views."""
    tempfile.tempdir = str(scratch)
    files, views = sources.plan_workspace_sources(workspace, base_dir, confine=confine)
    profiles: list[TableProfile] = []
    for name, path, date_format in files:  # one connection per file: each may read only its own file
        readable = (path,) if path.is_file() else ()
        connection = job_connection(db_path, limits, allowed_paths=readable, allowed_directories=(scratch,))
        try:
            sources.drop_staging(connection)
            profiles.append(sources.load_file_source(connection, name, path, date_format, limits))
        finally:
            connection.close()
    connection = job_connection(db_path, limits)
    try:
        available = {profile.name for profile in profiles}
        for name, sql in views:
            profiles.append(sources.create_view_source(connection, name, sql, available, limits))
            available.add(name)
        catalog = relations(connection)
        report(("done", (catalog, profiles)))
        connection.execute("CHECKPOINT")
    finally:
        connection.close()
    return catalog, profiles


def edit_job(db_path: Path, limits: Limits, action: str, args: tuple[Any, ...]) -> tuple[Catalog, list[TableProfile]]:
    """Change the database: ``set_type``, ``settle`` (date order), ``view`` (define a tried view) or ``drop``."""
    connection = job_connection(db_path, limits)
    try:
        sources.drop_staging(connection)
        changed: list[TableProfile] = []
        timeout = limits.profile_timeout_s
        if action == "set_type":
            table, column, new_type, date_format = args
            changed.append(
                sources.set_column_type(connection, table, column, new_type, date_format=date_format, timeout_s=timeout)
            )
        elif action == "settle":
            changed.append(sources.settle_date_order(connection, *args, timeout_s=timeout))
        elif action == "view":  # a view tried by view_trial_job: defined, not run again
            name, sql, profile = args
            sources.define_view(connection, name, sql)
            changed.append(profile)
        elif action == "drop":
            sources.drop_relation(connection, *args)
        else:
            raise ValueError(f"unknown action {action!r}")
        catalog = relations(connection)
        report(("done", (catalog, changed)))  # committed: from here on the change counts even if the job dies
        connection.execute("CHECKPOINT")
    finally:
        connection.close()
    return catalog, changed


def view_trial_job(db_path: Path, name: str, sql: str, limits: Limits) -> tuple[TableProfile, str]:
    """Run a view's SQL once on a read-only connection: its profile and the checked SQL to define it with."""
    connection = job_connection(db_path, limits, read_only=True)
    try:
        return sources.try_view(connection, name, sql, timeout_s=limits.view_timeout_s)
    finally:
        connection.close()


def cleanup_job(db_path: Path, limits: Limits) -> list[str]:
    """Drop the staging tables a failed job left; returns their names."""
    connection = job_connection(db_path, limits)
    try:
        dropped = sources.drop_staging(connection)
        connection.execute("CHECKPOINT")
    finally:
        connection.close()
    return dropped


def profile_job(db_path: Path, known: list[str], limits: Limits) -> None:
    """Profile every relation not in ``known``, reporting the catalog, then each name before and its
    profile after it is made (so a crash points at the table that caused it)."""
    connection = job_connection(db_path, limits, read_only=True)
    try:
        catalog = relations(connection)
        report(("catalog", catalog))
        for name, kind in catalog.items():
            if name in known:
                continue
            report(("start", name))
            timeout = limits.view_timeout_s if kind == "VIEW" else limits.profile_timeout_s
            try:
                profile = sources.profile_table(connection, name, timeout_s=timeout)
            except sources.ProfileTimeout:
                fix = "drop it and create it narrower" if kind == "VIEW" else "drop it, or reload a smaller extract"
                profile = sources.unprofiled(
                    name, f"profiling the {kind.lower()} '{name}' took longer than {timeout:g} s: {fix}."
                )
            except SourceError as error:
                profile = sources.unprofiled(name, str(error))
            report(("profile", profile.to_dict()))
    finally:
        connection.close()

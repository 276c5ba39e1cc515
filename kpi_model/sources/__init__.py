"""File ingestion into DuckDB: load CSV/TSV/Parquet/JSON/XLSX as tables, profile them, fix column types.

Ingestion runs on a connection the caller passes in; no user formula ever runs here. In the
app that connection lives in a child process (:mod:`kpi_model.isolation`) and is locked like the
engine, except that it may read the one file being loaded. Every load goes into a staging table
first and replaces the target in one transaction, so a bad file never damages what was loaded
before. What a file may hold is bounded by :class:`Limits` (columns, values, unpacked size),
checked before the table is created; profiling and views run under a time limit.

One module per concern, lower ones first (none imports a module listed after it):

- :mod:`.errors`: :class:`SourceError`, :class:`ProfileTimeout`, DuckDB's messages made readable;
- :mod:`.limits`: :class:`Limits` and the limit constants (docs/security.md);
- :mod:`.names`: table names for files, the table-name check, SQL literals;
- :mod:`.catalog`: tables and views, their columns, profiles (in chunks, under a time limit), drops;
- :mod:`.dates`: declared date formats and dates that read both day-first and month-first;
- :mod:`.staging`: a staging table from a DuckDB reader, and the size checks every format passes;
- :mod:`.excel`: one sheet of a workbook streamed to CSV for DuckDB;
- :mod:`.ingest`: :func:`ingest_file`, CSV/TSV/JSON/Parquet staging and their errors explained;
- :mod:`.column_types`: :func:`set_column_type`;
- :mod:`.sampled_types`: whether a CSV's types sniffed from a sample are every row's;
- :mod:`.scan`: CSV and Parquet files read in place, through a view over DuckDB's reader;
- :mod:`.views`: views defined by SQL, tried within a time limit, in dependency order;
- :mod:`.workspace`: a workspace's sources: confined paths, files as tables or scans, SQL sources as views.

Everything public is re-exported here, so ``from kpi_model.sources import …`` keeps working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kpi_model.sources.catalog import (
    EXACT_DISTINCT_ROWS,
    EXACT_DISTINCT_VALUES,
    ColumnProfile,
    TableProfile,
    drop_relation,
    drop_staging,
    list_tables,
    profile_select,
    profile_table,
    time_limit,
    unprofiled,
)
from kpi_model.sources.column_types import COLUMN_TYPES, set_column_type
from kpi_model.sources.dates import date_order_notes, day_month_swapped, is_day_first, settle_date_order
from kpi_model.sources.errors import ProfileTimeout, SourceError
from kpi_model.sources.ingest import SUPPORTED_SUFFIXES, ingest_file
from kpi_model.sources.limits import (
    DEFAULT_LIMITS,
    DEFAULT_MAX_BYTES,
    JOB_THREADS,
    JOB_TIMEOUT_S,
    MAX_CELLS,
    MAX_COLUMNS,
    MEMORY_LIMIT_VARIABLE,
    PARQUET_MAX_UNPACKED_BYTES,
    PROFILE_CHUNK_COLUMNS,
    PROFILE_TIMEOUT_S,
    VIEW_TIMEOUT_S,
    XLSX_MAX_MEMBERS,
    XLSX_MAX_RATIO,
    XLSX_MAX_UNPACKED_BYTES,
    Limits,
    MemoryLimitError,
    checked_memory_limit,
    configured_memory_limit,
    memory_limit_bytes,
)
from kpi_model.sources.names import STAGING_PREFIX, table_name_for
from kpi_model.sources.scan import (
    SCANNED_SUFFIXES,
    ScannedFile,
    ambiguous_scan_notes,
    estimated_csv_rows,
    files_version,
    parquet_ranges,
    scan_file,
    scannable,
    sniff_every_row,
)
from kpi_model.sources.workspace import (
    WorkspaceScan,
    create_view_source,
    load_file_source,
    load_workspace_sources,
    plan_workspace_sources,
    resolve_source_path,
    sources_used,
)

if TYPE_CHECKING:
    from kpi_model.sources.views import create_view, define_view, try_view

# SQL views need sqlglot; loaded on first use so that files can be read while it loads (WorkspaceScan).
_FROM_VIEWS = ("create_view", "define_view", "try_view")


def __getattr__(name: str) -> Any:
    if name in _FROM_VIEWS:
        from kpi_model.sources import views

        return getattr(views, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "COLUMN_TYPES",
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_BYTES",
    "EXACT_DISTINCT_ROWS",
    "EXACT_DISTINCT_VALUES",
    "JOB_THREADS",
    "JOB_TIMEOUT_S",
    "MAX_CELLS",
    "MAX_COLUMNS",
    "MEMORY_LIMIT_VARIABLE",
    "PARQUET_MAX_UNPACKED_BYTES",
    "PROFILE_CHUNK_COLUMNS",
    "PROFILE_TIMEOUT_S",
    "SCANNED_SUFFIXES",
    "STAGING_PREFIX",
    "SUPPORTED_SUFFIXES",
    "VIEW_TIMEOUT_S",
    "XLSX_MAX_MEMBERS",
    "XLSX_MAX_RATIO",
    "XLSX_MAX_UNPACKED_BYTES",
    "ColumnProfile",
    "Limits",
    "MemoryLimitError",
    "ProfileTimeout",
    "ScannedFile",
    "SourceError",
    "TableProfile",
    "WorkspaceScan",
    "ambiguous_scan_notes",
    "checked_memory_limit",
    "configured_memory_limit",
    "create_view",
    "create_view_source",
    "date_order_notes",
    "day_month_swapped",
    "define_view",
    "drop_relation",
    "drop_staging",
    "estimated_csv_rows",
    "files_version",
    "ingest_file",
    "is_day_first",
    "list_tables",
    "load_file_source",
    "load_workspace_sources",
    "memory_limit_bytes",
    "parquet_ranges",
    "plan_workspace_sources",
    "profile_select",
    "profile_table",
    "resolve_source_path",
    "scan_file",
    "scannable",
    "set_column_type",
    "settle_date_order",
    "sniff_every_row",
    "sources_used",
    "table_name_for",
    "time_limit",
    "try_view",
    "unprofiled",
]

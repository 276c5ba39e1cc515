"""What a visitor's data may hold and how long work on it may run (every limit is listed in docs/security.md).

Each limit is checked before the table it bounds is created; profiling and views run under a time limit.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from kpi_model.errors import KpiWizardError

# Columns per table: the profile, the Data page and every KPI's column checks grow with them, and a
# KPI needs a handful. Refused before the table is created.
MAX_COLUMNS = 1_000
# Values (rows x columns) per table: bounds the work of profiling and the size of the database.
MAX_CELLS = 1_000_000_000
# One text value: KPIs count and compare values, they do not read documents. With the formula size limit
# this bounds what a formula can build from values (DuckDB's memory_limit does not cover every string a
# query makes: 8 copies of a 400 MB value took the server to 7.9 GB); 2,000 terms x 256 KB = 512 MB a row.
MAX_TEXT_BYTES = 256 * 1024
# An .xlsx is a zip of XML: checked from its central directory before openpyxl opens it. The sizes
# there bound what Python's zipfile unpacks (it stops at the declared size and checks the CRC).
XLSX_MAX_UNPACKED_BYTES = 1024**3
XLSX_MAX_RATIO = 100  # unpacked : packed, per member; real sheets pack 5-20 : 1, zip bombs 1000 : 1
XLSX_MAX_MEMBERS = 10_000
# A Parquet file's metadata (sizes after decompression, rows, columns) is checked before it is read.
PARQUET_MAX_UNPACKED_BYTES = 8 * 1024**3
# Profiling reads this many columns per query: one query over thousands of aggregates made DuckDB
# crash (3,000 columns) or take 72 s and 1.7 GB (1,000 columns); in chunks 1,000 columns take ~1 s.
PROFILE_CHUNK_COLUMNS = 100
PROFILE_TIMEOUT_S = 60.0  # one table's profile
VIEW_TIMEOUT_S = 20.0  # a new view's first run (its profile); a view slower than this is not kept
JOB_TIMEOUT_S = 600.0  # one isolated job: loading a file (a 2 GB CSV loads in about a minute here)
DEFAULT_MEMORY_LIMIT = "2GB"  # DuckDB's memory_limit in the engine and in a job, unless the operator sets one
# The operator's memory limit for every engine and job (CLI and app), e.g. "512MB".
MEMORY_LIMIT_VARIABLE = "KPI_WIZARD_MEMORY_LIMIT"
JOB_THREADS = 2


@dataclass(frozen=True)
class Limits:
    """The bounds on a visitor's data; the defaults are the module constants above."""

    max_columns: int = MAX_COLUMNS
    max_cells: int = MAX_CELLS
    max_text_bytes: int = MAX_TEXT_BYTES
    xlsx_max_unpacked_bytes: int = XLSX_MAX_UNPACKED_BYTES
    xlsx_max_ratio: float = XLSX_MAX_RATIO
    xlsx_max_members: int = XLSX_MAX_MEMBERS
    parquet_max_unpacked_bytes: int = PARQUET_MAX_UNPACKED_BYTES
    profile_timeout_s: float = PROFILE_TIMEOUT_S
    view_timeout_s: float = VIEW_TIMEOUT_S
    job_timeout_s: float = JOB_TIMEOUT_S
    memory_limit: str | None = None  # None: configured_memory_limit(), settled by the DataStore
    threads: int = JOB_THREADS


DEFAULT_LIMITS = Limits()
DEFAULT_MAX_BYTES = 2 * 1024**3


class MemoryLimitError(KpiWizardError, ValueError):
    """The memory limit set by the operator is not a usable size."""


# Below this DuckDB cannot run a KPI query at all; the test suite spills at 48 MB.
MIN_MEMORY_LIMIT_BYTES = 32 * 1000**2
_SIZE = re.compile(r"([0-9]{1,9}(?:\.[0-9]{1,6})?) ?([KMGT])(i?)B", re.IGNORECASE)


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def checked_memory_limit(value: str) -> str:
    """``value`` as DuckDB's ``memory_limit`` takes it (``512MB``, ``4GB``, ``1.5GiB``), between 32 MB and this
    machine's memory; :class:`MemoryLimitError` naming the variable and the fix otherwise."""
    where = f"(the {MEMORY_LIMIT_VARIABLE} environment variable)"
    text = value.strip()
    if not _SIZE.fullmatch(text):
        raise MemoryLimitError(f"memory limit '{value[:40]}' is not a size: write it like 512MB or 4GB {where}")
    size = _size_bytes(text)
    if size < MIN_MEMORY_LIMIT_BYTES:
        raise MemoryLimitError(f"memory limit '{value}' is too small for any query: give at least 32MB {where}")
    machine = _physical_memory()
    if machine is not None and size > machine:
        raise MemoryLimitError(
            f"memory limit '{value}' is more than this machine's {machine / 1000**3:,.1f} GB: give at most that, "
            f"and leave room for the server {where}"
        )
    return text


def _size_bytes(value: str) -> int:
    match = _SIZE.fullmatch(value)
    assert match is not None
    number, prefix, binary = match.groups()
    return int(float(number) * (1024 if binary else 1000) ** ("KMGT".index(prefix.upper()) + 1))


def memory_limit_bytes(value: str) -> int:
    """How many bytes a memory limit such as ``512MB`` or ``1.5GiB`` stands for (MB = 1000², MiB = 1024²)."""
    return _size_bytes(checked_memory_limit(value))


def configured_memory_limit(given: str | None = None) -> str:
    """The memory limit for an engine or job: ``given`` when there is one, else ``KPI_WIZARD_MEMORY_LIMIT``
    when set, else 2GB; checked either way."""
    return checked_memory_limit(given or os.environ.get(MEMORY_LIMIT_VARIABLE) or DEFAULT_MEMORY_LIMIT)

"""The importers for a file a visitor uploads to the server: each read runs in an isolated job.

openpyxl's XML parser and the YAML reader work on bytes the visitor chose; in a job (see
:mod:`kpi_model.isolation`) a crash, a runaway or a memory blow-up ends that import with a message
and the server carries on. The command line reads the user's own files and calls the importers
directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kpi_model.importers import ImportResult, import_file, import_spreadsheet, read_table
from kpi_model.isolation import run_job

IMPORT_TIMEOUT_S = 120.0
_FIX = "Save the sheet again from Excel (or the YAML from dbt) and import it again, or import a smaller part of it."


def _read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    return read_table(path)


def _import_spreadsheet(path: Path, mapping: dict[str, str], name: str) -> ImportResult:
    return import_spreadsheet(path, mapping=mapping, name=name)


def _import_file(path: Path) -> ImportResult:
    return import_file(path)


def _in_job(target: Callable[..., Any], path: Path, rest: tuple[Any, ...], doing: str, shown_as: str) -> Any:
    return run_job(
        target,
        (path, *rest),
        what=f"{doing} {shown_as}",
        fix=_FIX,
        timeout_s=IMPORT_TIMEOUT_S,
        after="nothing was imported",
        redact={str(path): shown_as, path.name: shown_as},
    )


def read_uploaded_table(path: Path, shown_as: str) -> tuple[list[str], list[list[str]]]:
    """:func:`read_table` of an uploaded spreadsheet, in a job; ``shown_as`` is the name the visitor knows."""
    return _in_job(_read_table, path, (), "reading", shown_as)  # type: ignore[no-any-return]


def import_uploaded_spreadsheet(path: Path, mapping: Mapping[str, str], name: str, shown_as: str) -> ImportResult:
    """:func:`import_spreadsheet` of an uploaded file with the visitor's column mapping, in a job."""
    return _in_job(_import_spreadsheet, path, (dict(mapping), name), "importing", shown_as)  # type: ignore[no-any-return]


def import_uploaded_file(path: Path, shown_as: str) -> ImportResult:
    """:func:`import_file` (dbt YAML, a workspace) of an uploaded file, in a job."""
    return _in_job(_import_file, path, (), "importing", shown_as)  # type: ignore[no-any-return]

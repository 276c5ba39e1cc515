"""Reading an uploaded KPI register in an isolated job: its sheets, a preview import, a dbt project.

Each public function runs its work in a child process (:func:`kpi_model.isolation.run_job`), which
imports this module by name: so it imports no Streamlit, only the library. Files are written under
names made here, never the uploader's; zipped dbt projects are unpacked inside the job, within
:data:`DBT_ZIP_LIMITS`, and only their YAML files.

Stopgap: the sheet listing belongs in ``kpi_model.importers``; it lives here until the importers offer it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpi_model.archives import ZipLimits, safe_name, unpack_files
from kpi_model.importers import ImportFailed, ImportResult, guess_mapping, import_file, import_spreadsheet
from kpi_model.importers.dbt import DBT_SUFFIXES
from kpi_model.importers.tables import _open_workbook, load_table
from kpi_model.isolation import run_job

IMPORT_TIMEOUT_S = 120.0
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
# A dbt project's YAML is text: a zip of it that unpacks past 50 MB or packs like a bomb is refused.
DBT_ZIP_LIMITS = ZipLimits(max_unpacked_bytes=50 * 1024**2, max_ratio=100, max_members=5_000)
MAX_DBT_FILES = 2_000
_FIX = "Save the sheet again from Excel (or the YAML from dbt) and import it again, or import a smaller part of it."


@dataclass(frozen=True)
class SheetRead:
    """A spreadsheet as the importer reads it: its sheets, the one read, and that sheet's table."""

    sheets: list[str]  # a workbook's sheet names; empty for CSV/TSV
    sheet: str | None  # the sheet read (the importer's pick when none was asked for)
    headers: list[str]
    rows: list[list[str]]


def _read_sheet(path: Path, sheet: str | None) -> SheetRead:
    sheets: list[str] = []
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        workbook = _open_workbook(path)  # checks the archive's limits first
        try:
            sheets = list(workbook.sheetnames)
        finally:
            workbook.close()
    # The same header test as importers.read_table: the header row is the one naming a KPI column.
    table = load_table(path, sheet=sheet, is_header=lambda row: "name" in guess_mapping(row), pick=True)
    return SheetRead(sheets, table.sheet, table.headers, [row for _, row in table.rows])


def _import_sheet(path: Path, mapping: dict[str, str], sheet: str | None, name: str) -> ImportResult:
    return import_spreadsheet(path, mapping=mapping, sheet=sheet, name=name)


def _unpack(archive_path: Path, into: Path, shown: str) -> int:
    """Unpack the YAML files of a zipped dbt project into ``into``; returns how many were written."""
    refuse = f"{shown}: zip only the dbt project's models folder (its .yml files) and upload that"
    return unpack_files(
        archive_path, into, suffixes=DBT_SUFFIXES, limits=DBT_ZIP_LIMITS, error=ImportFailed, shown=shown, refuse=refuse
    )


def _import_dbt_folder(folder: Path, archives: list[tuple[str, str]]) -> ImportResult:
    """Unpack the uploaded zips (stored name, shown name) inside ``folder``, then import it as a dbt project."""
    for stored, shown in archives:
        archive = folder / stored
        _unpack(archive, folder / safe_name(Path(shown).stem, "project"), shown)
        archive.unlink()
    found = sum(1 for p in folder.rglob("*") if p.suffix.lower() in DBT_SUFFIXES)
    if found > MAX_DBT_FILES:
        raise ImportFailed(
            f"the upload holds {found:,} YAML files, more than {MAX_DBT_FILES:,}: upload the models folder only"
        )
    return import_file(folder)


def _job(target: Any, args: tuple[Any, ...], doing: str, shown_as: str, redact: Mapping[str, str]) -> Any:
    return run_job(
        target,
        args,
        what=f"{doing} {shown_as}",
        fix=_FIX,
        timeout_s=IMPORT_TIMEOUT_S,
        after="nothing was imported",
        redact=redact,
    )


def read_uploaded_sheet(path: Path, sheet: str | None, shown_as: str) -> SheetRead:
    """The sheets of an uploaded spreadsheet and the table of ``sheet`` (or the importer's pick), in a job."""
    redact = {str(path): shown_as, path.name: shown_as}
    return _job(_read_sheet, (path, sheet), "reading", shown_as, redact)  # type: ignore[no-any-return]


def import_uploaded_sheet(
    path: Path, mapping: Mapping[str, str], sheet: str | None, name: str, shown_as: str
) -> ImportResult:
    """:func:`import_spreadsheet` of an uploaded file with the visitor's sheet and column mapping, in a job."""
    redact = {str(path): shown_as, path.name: shown_as}
    return _job(_import_sheet, (path, dict(mapping), sheet, name), "importing", shown_as, redact)  # type: ignore[no-any-return]


def import_uploaded_dbt(folder: Path, archives: list[tuple[str, str]], shown_as: str) -> ImportResult:
    """A folder of uploaded dbt YAML files and zipped projects imported as one dbt project, in a job."""
    redact = {str(folder): shown_as}
    return _job(_import_dbt_folder, (folder, archives), "importing", shown_as, redact)  # type: ignore[no-any-return]

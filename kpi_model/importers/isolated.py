"""The importers for files a visitor uploads to the server: each read runs in an isolated job.

openpyxl's XML parser and the YAML reader work on bytes the visitor chose; in a job (see
:mod:`kpi_model.isolation`) a crash, a runaway or a memory blow-up ends that import with a message
and the server carries on. Files are written under names made here, never the uploader's; zipped
dbt projects are unpacked inside the job, within :data:`DBT_ZIP_LIMITS`, and only their YAML files.
The command line reads the user's own files and calls the importers directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kpi_model.archives import ZipLimits, unpack_files
from kpi_model.archives import safe_name as safe_name
from kpi_model.importers import ImportFailed, ImportResult, import_file, import_spreadsheet
from kpi_model.importers.dbt import DBT_SUFFIXES
from kpi_model.importers.headers import SheetRead, read_sheet
from kpi_model.importers.number_format import Separator
from kpi_model.isolation import run_job

IMPORT_TIMEOUT_S = 120.0
# A dbt project's YAML is text: a zip of it that unpacks past 50 MB or packs like a bomb is refused.
DBT_ZIP_LIMITS = ZipLimits(max_unpacked_bytes=50 * 1024**2, max_ratio=100, max_members=5_000)
MAX_DBT_FILES = 2_000
_FIX = "Save the sheet again from Excel (or the YAML from dbt) and import it again, or import a smaller part of it."


def _import_sheet(
    path: Path,
    mapping: dict[str, str],
    sheet: str | None,
    name: str,
    decimal_separator: Separator | None,
    header_row: int | None = None,
    shown_as: str | None = None,
) -> ImportResult:
    return import_spreadsheet(
        path,
        mapping=mapping,
        sheet=sheet,
        name=name,
        decimal_separator=decimal_separator,
        header_row=header_row,
        shown_as=shown_as,
    )


def _read_sheet(path: Path, sheet: str | None, header_row: int | None = None, shown_as: str | None = None) -> SheetRead:
    return read_sheet(path, sheet=sheet, header_row=header_row, shown_as=shown_as)


def _import_file(path: Path, shown_as: str | None = None) -> ImportResult:
    return import_file(path, shown_as=shown_as)


def _token_redacted(text: str, name: str, shown_as: str) -> str:
    """``text`` with ``name`` (a temporary file's, such as ``upload.csv``) replaced where it stands as a whole word."""
    return re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", lambda _: shown_as, text)


def _naming(target: Callable[..., Any], name: str | None, shown_as: str, *args: Any) -> Any:
    """``target(*args)`` in the job; an :class:`ImportFailed` naming the temporary file ``name`` names ``shown_as``."""
    try:
        return target(*args)
    except ImportFailed as error:
        if name is None:
            raise
        text = _token_redacted(str(error), name, shown_as)
        if text == str(error):
            raise
        raise ImportFailed(text) from None


def unpack_dbt_zip(archive_path: Path, into: Path, shown: str, skipped: list[str] | None = None) -> int:
    """Unpack the YAML files of a zipped dbt project into ``into``; returns how many were written.

    What is passed over (too deep, a zip inside the zip) is told in ``skipped``, one sentence each.
    """
    refuse = f"{shown}: zip only the dbt project's models folder (its .yml files) and upload that"
    return unpack_files(
        archive_path,
        into,
        suffixes=DBT_SUFFIXES,
        limits=DBT_ZIP_LIMITS,
        error=ImportFailed,
        shown=shown,
        refuse=refuse,
        skipped=skipped,
    )


def _import_dbt_folder(folder: Path, archives: list[tuple[str, str]], shown_as: str | None = None) -> ImportResult:
    """Unpack the uploaded zips (stored name, shown name) inside ``folder``, then import it as a dbt project.

    What the zips held that was not unpacked, and why, leads the notes; when nothing is left to import,
    the error says it.
    """
    skipped: list[str] = []
    for stored, shown in archives:
        archive = folder / stored
        unpack_dbt_zip(archive, folder / safe_name(Path(shown).stem, "project"), shown, skipped)
        archive.unlink()
    found = sum(1 for p in folder.rglob("*") if p.suffix.lower() in DBT_SUFFIXES)
    if found > MAX_DBT_FILES:
        raise ImportFailed(
            f"the upload holds {found:,} YAML files, more than {MAX_DBT_FILES:,}: upload the models folder only"
        )
    try:
        result = import_file(folder, shown_as=shown_as)
    except ImportFailed as error:
        if not skipped:
            raise
        raise ImportFailed(f"{str(error).rstrip('.')}. Not unpacked: {' '.join(skipped)}") from None
    result.notes[:0] = skipped
    return result


def _in_job(target: Callable[..., Any], args: tuple[Any, ...], doing: str, shown_as: str, path: Path) -> Any:
    # Only the full server path is replaced by run_job (it replaces text wherever it stands); a temporary
    # file's own name ("upload.csv") is replaced in the job, where it stands as a whole word. A folder's
    # name ("e", "bomb") is never replaced: it would garble every word it is part of.
    name = path.name if path.suffix else None
    return run_job(
        _naming,
        (target, name, shown_as, *args),
        what=f"{doing} {shown_as}",
        fix=_FIX,
        timeout_s=IMPORT_TIMEOUT_S,
        after="nothing was imported",
        redact={str(path): shown_as},
    )


def read_uploaded_sheet(path: Path, sheet: str | None, shown_as: str, header_row: int | None = None) -> SheetRead:
    """:func:`read_sheet` of an uploaded spreadsheet, in a job; ``shown_as`` is the name the visitor knows.

    ``header_row`` (1-based) is the row the visitor chose as the header; None finds it.
    """
    return _in_job(_read_sheet, (path, sheet, header_row, shown_as), "reading", shown_as, path)  # type: ignore[no-any-return]


def import_uploaded_sheet(
    path: Path,
    mapping: Mapping[str, str],
    sheet: str | None,
    name: str,
    shown_as: str,
    decimal_separator: Separator | None = None,
    header_row: int | None = None,
) -> ImportResult:
    """:func:`import_spreadsheet` of an uploaded file with the visitor's sheet, mapping, separator and header row."""
    args = (path, dict(mapping), sheet, name, decimal_separator, header_row, shown_as)
    return _in_job(_import_sheet, args, "importing", shown_as, path)  # type: ignore[no-any-return]


def import_uploaded_file(path: Path, shown_as: str) -> ImportResult:
    """:func:`import_file` (dbt YAML, a workspace) of an uploaded file, in a job; names and notes use ``shown_as``."""
    return _in_job(_import_file, (path, shown_as), "importing", shown_as, path)  # type: ignore[no-any-return]


def import_uploaded_dbt(folder: Path, archives: list[tuple[str, str]], shown_as: str) -> ImportResult:
    """A folder of uploaded dbt YAML files and zipped projects imported as one dbt project, in a job."""
    args = (folder, archives, shown_as)
    return _in_job(_import_dbt_folder, args, "importing", shown_as, folder)  # type: ignore[no-any-return]

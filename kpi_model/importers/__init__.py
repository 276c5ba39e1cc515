"""Bring an existing KPI set into KPI Wizard: a spreadsheet, dbt metrics, or a workspace file.

Imports are faithful: what maps is mapped, and what does not is kept as text in the
KPI's description and reported in :attr:`ImportResult.notes` — never guessed. The
audit then says what the imported set lacks.

    result = import_file(Path("kpis.xlsx"))
    result.workspace   # a valid Workspace
    result.notes       # one sentence per thing to check, naming the row or metric
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from kpi_model import documents
from kpi_model.importers.common import ImportFailed, ImportResult
from kpi_model.importers.dbt import DBT_LIMITS, DBT_SUFFIXES, import_dbt
from kpi_model.importers.headers import FIELDS, guess_mapping, read_table
from kpi_model.importers.number_format import Separator
from kpi_model.importers.spreadsheet import import_spreadsheet
from kpi_model.importers.tables import SPREADSHEET_SUFFIXES
from kpi_model.validation import did_you_mean

__all__ = [
    "FIELDS",
    "ImportFailed",
    "ImportResult",
    "guess_mapping",
    "import_dbt",
    "import_file",
    "import_spreadsheet",
    "load_mapping",
    "read_table",
]

_WORKSPACE_KEYS = frozenset({"format_version", "units", "goals", "kpis", "sources"})
_DBT_KEYS = frozenset({"semantic_models", "metrics"})
_SNIFF_BYTES = 64 * 1024
_MAPPING_LIMITS = documents.Limits(
    what="a mapping file",
    hint="a mapping file is one 'field: column header' per line, e.g. name: Metric — check the file",
    size_hint="a mapping file is one 'field: column header' per line, e.g. name: Metric — check the file",
)


def _is_workspace(path: Path) -> bool:
    """Whether a YAML file is a KPI Wizard workspace rather than dbt YAML (by its top-level keys).

    The keys are read from the events of the file's first 64 KiB, so nothing (an alias bomb, say)
    is built, and a file too large or broken further on still goes to the reader it was meant for.
    """
    try:
        with path.open("rb") as stream:
            head = stream.read(_SNIFF_BYTES).decode("utf-8-sig", errors="ignore")
    except OSError:
        return False  # let the dbt reader report the problem
    keys = documents.yaml_top_level_keys(head, DBT_LIMITS)
    return not (_DBT_KEYS & keys) and bool(_WORKSPACE_KEYS & keys)


def import_file(
    path: Path,
    *,
    mapping: Mapping[str, str] | None = None,
    sheet: str | None = None,
    decimal_separator: Separator | None = None,
    header_row: int | None = None,
    shown_as: str | None = None,
) -> ImportResult:
    """Import whatever ``path`` is: a folder or .yml/.yaml of dbt metrics, a workspace, or a spreadsheet.

    A KPI Wizard workspace (YAML or JSON) is loaded as it is, with no notes; an invalid one
    raises :class:`~kpi_model.errors.WorkspaceError` listing its problems. ``decimal_separator``
    answers the questions a spreadsheet's ambiguous numbers raise (see :class:`ImportResult`);
    ``header_row`` (1-based) is a spreadsheet's header row when it should not be found.
    ``shown_as`` is the file's name as its owner knows it, for the workspace's name, description and
    notes (an upload is saved under a name of the server's). Anything but a regular file or a folder
    (a device such as /dev/zero, a pipe) is refused before it is read.
    """
    from kpi_model import workspace_file

    path = Path(path)
    shown = shown_as or path.name
    if not path.exists():
        raise ImportFailed(f"no such file or folder: {path if shown_as is None else shown}")
    suffix = path.suffix.lower()
    if path.is_dir():
        return import_dbt(path, shown_as=shown_as)
    if not path.is_file():
        raise ImportFailed(
            f"{shown} is not a regular file (a device, a pipe or a socket); give a spreadsheet, dbt YAML or "
            "workspace file"
        )
    if suffix == ".json" or (suffix in DBT_SUFFIXES and _is_workspace(path)):
        return ImportResult(workspace_file.load(path), [])
    if suffix in DBT_SUFFIXES:
        return import_dbt(path, shown_as=shown_as)
    if suffix in SPREADSHEET_SUFFIXES or suffix in (".xls", ".ods", ".numbers"):
        return import_spreadsheet(
            path,
            mapping=mapping,
            sheet=sheet,
            decimal_separator=decimal_separator,
            header_row=header_row,
            shown_as=shown_as,
        )
    raise ImportFailed(
        f"cannot import '{shown}': give a spreadsheet (.csv, .tsv, .xlsx), dbt semantic-layer YAML "
        "(a .yml/.yaml file or a folder of them), or a KPI Wizard workspace (.yaml/.json)"
    )


def load_mapping(path: Path) -> dict[str, str]:
    """A column mapping file (YAML or JSON) of ``field: header``, e.g. ``{name: Metric, owner: Responsible}``."""
    path = Path(path)
    try:
        text = documents.read_text(path, _MAPPING_LIMITS)
        if path.suffix.lower() == ".json":
            data = documents.load_json(text, _MAPPING_LIMITS)
        else:
            data = documents.load_yaml(text, _MAPPING_LIMITS)
    except FileNotFoundError:
        raise ImportFailed(f"no such mapping file: {path}") from None
    except OSError as error:
        raise ImportFailed(f"cannot read the mapping file {path}: {error.strerror or error}") from None
    except documents.DocumentError as error:
        if error.syntax:
            raise ImportFailed(f"the mapping file {path.name} is not valid YAML/JSON: {error}") from None
        raise ImportFailed(f"the mapping file {path.name}: {error}") from None
    example = "write one 'field: column header' per line, e.g. name: Metric"
    if not isinstance(data, dict) or not data:
        raise ImportFailed(f"the mapping file {path.name} holds no mapping; {example}")
    mapping: dict[str, str] = {}
    for key, value in data.items():
        field_name = str(key).strip()
        if field_name not in FIELDS:
            hint = did_you_mean(field_name, FIELDS)
            if str(value) in FIELDS:  # written the other way round: header: field
                hint = f" — it looks like 'header: field'; write '{value}: {key}' instead"
            raise ImportFailed(
                f"the mapping file {path.name} names unknown field '{field_name}'{hint}. Fields: {', '.join(FIELDS)}"
            )
        if value is not None and not isinstance(value, str | int | float):
            raise ImportFailed(f"the mapping file {path.name}: '{field_name}' must name one column header; {example}")
        mapping[field_name] = "" if value is None else str(value)
    return mapping

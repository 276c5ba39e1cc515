"""The export's files as text, and writing them: into a folder (never outside it) or into a zip."""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kpi_model.dbt_export.jinja import inert_prose
from kpi_model.errors import KpiWizardError
from kpi_model.models import Workspace

if TYPE_CHECKING:
    from kpi_model.dbt_export.project import DbtExport, KpiOutcome

SEMANTIC_MODELS_FILE = "semantic_models.yml"
METRICS_FILE = "metrics.yml"
TIME_SPINE_MODEL = "metricflow_time_spine"
# Wide enough for any KPI history and target; 40 years of days is about 15,000 rows.
_SPINE_FIRST, _SPINE_END = "2000-01-01", "2040-01-01"


class _Dumper(yaml.SafeDumper):
    """Block-style YAML, keys in the order given, long lines kept whole."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _yaml(document: dict[str, Any], header: str) -> str:
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10_000)
    return f"# {header}\n# Written by KPI Wizard (kpi-wizard export dbt); see README.md in this folder.\n{body}"


def _time_spine_files() -> dict[str, str]:
    sql = (
        "-- One row per day: MetricFlow joins to it for time-spine features (fill_nulls_with, offsets).\n"
        "select cast(date_day as date) as date_day\n"
        f"from ({{{{ dbt.date_spine('day', \"cast('{_SPINE_FIRST}' as date)\", \"cast('{_SPINE_END}' as date)\") }}}})"
        " as days\n"
    )
    spec = {
        "models": [
            {
                "name": TIME_SPINE_MODEL,
                "description": "Daily time spine for MetricFlow (written by KPI Wizard).",
                "time_spine": {"standard_granularity_column": "date_day"},
                "columns": [{"name": "date_day", "granularity": "day"}],
            }
        ]
    }
    return {f"{TIME_SPINE_MODEL}.sql": sql, f"{TIME_SPINE_MODEL}.yml": _yaml(spec, "The time spine MetricFlow needs.")}


def _readme(workspace: Workspace, outcomes: Sequence[KpiOutcome], sources: Sequence[str], views: Sequence[str]) -> str:
    exported = [o for o in outcomes if o.metric_type]
    missing = [o for o in outcomes if not o.metric_type]
    lines = [
        f"# dbt Semantic Layer export of “{inert_prose(workspace.name)}”",
        "",
        "Written by `kpi-wizard export dbt`. Copy this folder into your dbt project's `models/` folder",
        "(dbt-core 1.10 or later with MetricFlow), then `dbt parse` and `mf query --metrics <kpi id>",
        "--group-by metric_time__month`.",
        "",
        "## Models your project must provide",
        "",
        "Each semantic model reads `ref('<source>')`. These sources are files in KPI Wizard, so your",
        "project needs a model (or seed) of the same name with the same columns:",
        "",
    ]
    lines += [f"- `{name}`" for name in sources if name not in views] or ["- (none)"]
    lines += ["", "Written here as dbt models:", ""]
    lines += [f"- `{name}.sql`: the view source `{name}`, reading its tables with `ref()`" for name in views]
    lines += [
        f"- `{TIME_SPINE_MODEL}.sql`: a daily time spine (drop it if your project has one)",
        "",
        f"## KPIs exported as metrics ({len(exported)} of {len(outcomes)})",
        "",
        "| KPI | metric type |",
        "|---|---|",
    ]
    lines += [f"| `{o.kpi_id}` {inert_prose(o.name)} | {o.metric_type} |" for o in exported]
    lines += ["", f"## KPIs not exported ({len(missing)})", ""]
    lines += [f"- `{o.kpi_id}` {inert_prose(o.name)}: {inert_prose(o.reason or '')}" for o in missing] or ["- (none)"]
    lines += [
        "",
        "Metrics whose meta says `kpi_wizard_role: input` are the aggregates ratio and derived KPIs",
        "combine; `kpi-wizard import` of this folder reads the KPIs back without them.",
        "",
    ]
    return "\n".join(lines)


def render_files(
    workspace: Workspace,
    *,
    semantic_models: list[dict[str, Any]],
    metrics: list[dict[str, Any]],
    sources: Sequence[str],
    view_models: Mapping[str, str],
    outcomes: Sequence[KpiOutcome],
) -> dict[str, str]:
    """Every file of the export, by path relative to the export folder (``sources``: those the models read)."""
    files = {
        SEMANTIC_MODELS_FILE: _yaml({"semantic_models": semantic_models}, "Semantic models: one per KPI source."),
        METRICS_FILE: _yaml({"metrics": metrics}, "Metrics: one per KPI, plus the inputs ratios and derived KPIs use."),
    }
    for name, sql in view_models.items():
        files[f"{name}.sql"] = f"-- View source '{name}' of the KPI workspace, as a dbt model.\n{sql}\n"
    files |= _time_spine_files()
    files["README.md"] = _readme(workspace, outcomes, sources, list(view_models))
    return files


def write_export(export: DbtExport, directory: str | Path, *, force: bool = False) -> list[Path]:
    """Write the files into ``directory`` (created if missing); returns the paths written.

    Refuses a folder that already holds files unless ``force``, and any path that would land
    outside the folder (a file there that is a symbolic link is replaced, never followed).
    """
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise KpiWizardError(f"{folder} is a file; give a folder for the dbt export, e.g. -o dbt_export")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise KpiWizardError(
            f"{folder} is not empty; choose an empty or new folder, or add --force to replace the files written there"
        )
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    written = []
    for relative, text in export.files.items():
        target = root / relative
        if target.parent.resolve() != root or Path(relative).name != relative:
            raise KpiWizardError(f"refusing to write '{relative}' outside {folder}")
        # Write beside the target and rename: a symbolic link at the target is replaced, not followed.
        handle, temporary = tempfile.mkstemp(dir=root, prefix=".kpi-wizard-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        written.append(folder / relative)
    return written


def zip_bytes(export: DbtExport, folder: str = "kpi_wizard_dbt") -> bytes:
    """The export as a zip archive with its files in ``folder/`` (the app's download)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative, text in export.files.items():
            archive.writestr(f"{folder}/{relative}", text)
    return buffer.getvalue()

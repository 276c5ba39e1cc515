"""Export a workspace to the dbt Semantic Layer (MetricFlow YAML for dbt-core 1.10).

The modules, each importing only those listed before it:

- ``decompose``: a KPI formula taken apart into measures, input filters and the metric type;
- ``jinja``: row conditions as MetricFlow ``where`` filters; user text kept out of dbt's Jinja;
- ``files``: the export's files as text, written into a folder or a zip;
- ``project``: the semantic models, metrics, view models and the per-KPI outcome.

Pure Python (sqlglot and PyYAML): dbt itself is never imported. docs/dbt.md says what maps to what.
"""

from kpi_model.dbt_export.decompose import Decomposed, Unexpressible, decompose
from kpi_model.dbt_export.files import write_export, zip_bytes
from kpi_model.dbt_export.project import DbtExport, KpiOutcome, build_export

__all__ = [
    "DbtExport",
    "Decomposed",
    "KpiOutcome",
    "Unexpressible",
    "build_export",
    "decompose",
    "write_export",
    "zip_bytes",
]

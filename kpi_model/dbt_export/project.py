"""A workspace as dbt Semantic Layer files: semantic models, metrics, view models and a time spine.

Every source with an exported KPI becomes a semantic model over ``ref('<source>')`` whose primary
entity carries the source's name, so a filter column ``status`` of ``orders`` is
``{{ Dimension('orders__status') }}``. Each KPI becomes one metric named by its id; the aggregates
of a ratio or derived formula become shared *input* metrics (one per measure, marked
``kpi_wizard_role: input`` in their meta) that the KPI's metric combines. Everything KPI Wizard
knows that MetricFlow does not (owner, goal, target, thresholds, partner…) goes under ``config.meta``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp

from kpi_model.dbt_export.decompose import (
    Decomposed,
    Input,
    Measure,
    MetricType,
    Unexpressible,
    decompose,
    derived_over_kpis,
)
from kpi_model.dbt_export.jinja import inert_prose, refuse_unsafe_sql, where_filter
from kpi_model.errors import KpiWizardError
from kpi_model.formula import FormulaError, parse_tree, render_sql, validate_view
from kpi_model.formula.dialects import untranslatable
from kpi_model.importers.dbt_meta import META_FIELDS
from kpi_model.models import Kpi, Source, Workspace

INPUT_ROLE = "input"
ROLE_KEY = "kpi_wizard_role"
TIME_SPINE = "metricflow_time_spine"
# Aggregations that count: a period whose rows all fail an input's filter has no row in MetricFlow's
# answer, where the engine's count(*) FILTER (WHERE …) gives 0; fill_nulls_with makes it 0 again.
_COUNTING = frozenset({"count", "count_distinct"})
_NAME_PART = re.compile(r"[^a-z0-9]+")
_AGGREGATE_SQL = {
    "sum": "sum({})",
    "count": "count({})",
    "count_distinct": "count(DISTINCT {})",
    "average": "avg({})",
    "min": "min({})",
    "max": "max({})",
    "median": "median({})",
    "percentile": "percentile({}, {})",
}
# What a KPI carries under config.meta, in this order after its name and description: the owner,
# then the fields the dbt import reads back (one list for both directions).
_META_FIELDS = ("owner", *META_FIELDS)


class _NoFormula(Unexpressible):
    """A KPI still being written: nothing to express yet."""


@dataclass(frozen=True)
class KpiOutcome:
    """What became of one KPI: the metric type it exported as, or why it could not be."""

    kpi_id: str
    name: str
    metric_type: MetricType | None
    reason: str | None = None
    unfinished: bool = False  # not exported because it has no formula yet, not because MetricFlow lacks one


@dataclass
class DbtExport:
    """The files of an export (path relative to the export folder → text) and each KPI's outcome."""

    files: dict[str, str]
    outcomes: list[KpiOutcome]

    @property
    def exported(self) -> list[KpiOutcome]:
        return [o for o in self.outcomes if o.metric_type]

    @property
    def not_exported(self) -> list[KpiOutcome]:
        return [o for o in self.outcomes if not o.metric_type]


def _name_part(text: str) -> str:
    """A lowercase name fragment MetricFlow accepts: letters, digits and single underscores."""
    return _NAME_PART.sub("_", text.lower()).strip("_") or "x"


@dataclass
class _SemanticModel:
    """A source as a semantic model while KPIs are added: its dimensions and measures by key."""

    source: Source
    time_columns: set[str]
    categorical: dict[str, str] = field(default_factory=dict)  # column → dimension name
    measures: dict[tuple[Measure, str], str] = field(default_factory=dict)  # (measure, time column) → its name
    measure_docs: dict[str, str] = field(default_factory=dict)
    default_time: str | None = None

    @property
    def entity(self) -> str:
        return _name_part(self.source.name)

    def dimension_name(self, column: str) -> str:
        name = _name_part(column)
        return f"{name}_value" if name == self.entity else name

    def reference(self, column: str) -> str:
        """The Jinja reference a filter uses for ``column`` (a time dimension at day grain)."""
        name = self.dimension_name(column)
        if column in self.time_columns:
            return f"{{{{ TimeDimension('{self.entity}__{name}', 'day') }}}}"
        return f"{{{{ Dimension('{self.entity}__{name}') }}}}"


class _Builder:
    """Adds KPIs one by one, each either whole (its measures, metrics and dimensions) or not at all."""

    def __init__(self, workspace: Workspace, dialect: str) -> None:
        self.workspace = workspace
        self.dialect = dialect
        self.models: dict[str, _SemanticModel] = {}
        self.metrics: dict[str, dict[str, Any]] = {}  # metric name → its YAML mapping
        self.input_metrics: dict[str, dict[str, Any]] = {}
        self.outcomes: dict[str, KpiOutcome] = {}
        self.view_models: dict[str, str] = {}
        self.view_reads: set[str] = set()  # the sources view models ref(), which the project must have too
        self.taken_names: set[str] = set()
        self.kpi_ids = {k.id for k in workspace.kpis}  # input metrics are named apart from the KPIs' metrics
        self._time_columns: dict[str, set[str]] = {}
        for kpi in workspace.kpis:
            # A time column the export cannot write leaves its KPI out (in add), and so every model.
            if kpi.source and kpi.time_column and _writable_column(kpi.time_column, dialect):
                self._time_columns.setdefault(kpi.source, set()).add(kpi.time_column)

    # --- per KPI ---------------------------------------------------------------------------

    def add(self, kpi: Kpi, visiting: tuple[str, ...] = ()) -> KpiOutcome:
        if kpi.id in self.outcomes:
            return self.outcomes[kpi.id]
        try:
            metric_type = self._derived(kpi, visiting) if not kpi.source else self._sourced(kpi)
            outcome = KpiOutcome(kpi.id, kpi.name, metric_type)
        except Unexpressible as reason:
            outcome = KpiOutcome(kpi.id, kpi.name, None, str(reason), isinstance(reason, _NoFormula))
        except FormulaError as error:
            outcome = KpiOutcome(kpi.id, kpi.name, None, f"the formula is not valid: {error}")
        self.outcomes[kpi.id] = outcome
        return outcome

    def _sourced(self, kpi: Kpi) -> MetricType:
        if not kpi.expression:
            raise _NoFormula("it has no formula yet")
        source = self.workspace.source(kpi.source) if kpi.source else None
        if source is None:
            raise Unexpressible(f"its source '{kpi.source}' is not in the workspace")
        if not kpi.time_column:
            raise Unexpressible("it has no time column; every MetricFlow measure needs a time dimension")
        if source.sql:
            self._view_model(source)
        parts = decompose(kpi.expression, self.dialect)  # says first when the formula does not parse
        self._refuse_untranslatable(parse_tree(kpi.expression), "formula")
        if kpi.filter:
            self._refuse_untranslatable(parse_tree(kpi.filter), "filter")
        for item in parts.inputs:
            refuse_unsafe_sql(item.measure.expr, "formula")
        model = self.models.get(source.name) or _SemanticModel(
            source, self._time_columns.get(source.name, set()) | {kpi.time_column}
        )
        # Filters are rendered before anything is registered, so a refused filter leaves no trace.
        filtered: list[str] = []  # the columns filters name: categorical dimensions, once the KPI is in

        def reference(column: str) -> str:
            filtered.append(column)
            return model.reference(column)

        row_filter = where_filter(parse_tree(kpi.filter), reference, self.dialect, "filter") if kpi.filter else None
        conditions = [
            where_filter(i.condition, reference, self.dialect, "formula") if i.condition is not None else None
            for i in parts.inputs
        ]
        for column in (kpi.time_column, *filtered):
            _column_sql(column, self.dialect)
        self.models[source.name] = model
        for column in filtered:
            if column not in model.time_columns:
                model.categorical.setdefault(column, model.dimension_name(column))
        model.default_time = model.default_time or kpi.time_column
        measures = [self._measure(model, item, kpi.time_column) for item in parts.inputs]
        self.metrics[kpi.id] = self._kpi_metric(kpi, parts, measures, conditions, row_filter)
        return parts.type

    def _derived(self, kpi: Kpi, visiting: tuple[str, ...]) -> MetricType:
        if not kpi.expression:
            raise _NoFormula("it has no source and no formula yet")
        names, expr = derived_over_kpis(kpi.expression, self.dialect)
        self._refuse_untranslatable(parse_tree(kpi.expression), "formula")
        for name in names:
            used = self.workspace.kpi(name)
            if used is None:
                raise Unexpressible(f"its formula names '{name}', which is not a KPI of the workspace")
            if name in visiting or name == kpi.id:
                raise Unexpressible(f"it refers back to itself through '{name}'")
            outcome = self.add(used, (*visiting, kpi.id))
            if outcome.metric_type is None:
                raise Unexpressible(f"it is computed from '{name}', which is not exported ({outcome.reason})")
        metric = self._metric_head(kpi, "derived")
        metric["type_params"] = {"expr": refuse_unsafe_sql(expr, "formula"), "metrics": [{"name": n} for n in names]}
        metric["config"] = {"meta": self._meta(kpi)}
        self.metrics[kpi.id] = metric
        return "derived"

    # --- pieces ----------------------------------------------------------------------------

    def _unique(self, name: str) -> str:
        chosen, number = name, 2
        while chosen in self.taken_names or chosen in self.kpi_ids:
            chosen, number = f"{name}_{number}", number + 1
        self.taken_names.add(chosen)
        return chosen

    def _measure(self, model: _SemanticModel, item: Input, time_column: str) -> str:
        key = (item.measure, time_column)
        if key in model.measures:
            return model.measures[key]
        what = "rows" if item.measure.expr == "1" else _name_part(item.measure.expr)[:40]
        agg = item.measure.agg
        if item.measure.percentile is not None:
            agg = f"p{item.measure.percentile * 100:g}".replace(".", "_")  # quantile_cont(x, 0.9) → p90
            agg += "_discrete" if item.measure.discrete else ""
        base = f"{model.entity}_{agg}_{what}"
        if time_column != model.default_time:
            base += f"_by_{_name_part(time_column)}"
        # KPI ids, and so the names an import gives input metrics back, are at most 63 characters.
        name = self._unique(base[:56].rstrip("_"))
        model.measures[key] = name
        shown = _AGGREGATE_SQL[item.measure.agg].format(
            "*" if item.measure.expr == "1" else item.measure.expr, item.measure.percentile
        )
        model.measure_docs[name] = f"{shown} over {model.source.name}, by {time_column}"
        return name

    def _input_metric(self, measure: str, model_measure_doc: str, agg: str) -> str:
        """The shared simple metric over one measure, which ratio and derived KPIs combine."""
        if measure not in self.input_metrics:
            params: dict[str, Any] = {"name": measure}
            if agg in _COUNTING:
                params["fill_nulls_with"] = 0
            self.input_metrics[measure] = {
                "name": measure,
                "label": f"{model_measure_doc} (input)",
                "description": f"{model_measure_doc}; an input of KPI Wizard ratio and derived metrics.",
                "type": "simple",
                "type_params": {"measure": params},
                "config": {"meta": {ROLE_KEY: INPUT_ROLE}},
            }
        return measure

    def _kpi_metric(
        self,
        kpi: Kpi,
        parts: Decomposed,
        measures: list[str],
        conditions: list[str | None],
        row_filter: str | None,
    ) -> dict[str, Any]:
        model = self.models[kpi.source or ""]
        metric = self._metric_head(kpi, parts.type)
        if parts.type == "simple":
            params: dict[str, Any] = {"name": measures[0]}
            if parts.inputs[0].measure.agg in _COUNTING and conditions[0]:
                params["fill_nulls_with"] = 0
            metric["type_params"] = {"measure": params}
            filters = [f for f in (row_filter, conditions[0]) if f]
            if filters:
                metric["filter"] = filters[0] if len(filters) == 1 else filters
        else:
            inputs = []
            for index, (measure, condition) in enumerate(zip(measures, conditions, strict=True)):
                name = self._input_metric(measure, model.measure_docs[measure], parts.inputs[index].measure.agg)
                entry: dict[str, Any] = {"name": name}
                # A ratio's own filter reaches both sides; a derived metric's inputs are filtered one by one.
                filters = [f for f in (condition, row_filter if parts.type == "derived" else None) if f]
                if filters:
                    entry["filter"] = filters[0] if len(filters) == 1 else filters
                if parts.type == "derived":
                    entry["alias"] = f"input_{index + 1}"
                inputs.append(entry)
            if parts.type == "ratio":
                if inputs[0]["name"] == inputs[1]["name"]:
                    # MetricFlow 0.211 names both sides after the metric and then divides a column by
                    # itself (count(*) FILTER (WHERE c) / count(*) came out as 1.0); aliases keep them apart.
                    inputs[0]["alias"], inputs[1]["alias"] = f"{kpi.id}_numerator", f"{kpi.id}_denominator"
                numerator, denominator = (e if len(e) > 1 else e["name"] for e in inputs)
                metric["type_params"] = {"numerator": numerator, "denominator": denominator}
                if row_filter:
                    metric["filter"] = row_filter
            else:
                metric["type_params"] = {"expr": parts.expr, "metrics": inputs}
        metric["config"] = {"meta": self._meta(kpi)}
        return metric

    def _metric_head(self, kpi: Kpi, metric_type: str) -> dict[str, Any]:
        head: dict[str, Any] = {"name": kpi.id, "label": inert_prose(kpi.name)}
        if kpi.description:
            head["description"] = inert_prose(kpi.description)
        head["type"] = metric_type
        return head

    def _meta(self, kpi: Kpi) -> dict[str, Any]:
        data = kpi.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        meta: dict[str, Any] = {"name": kpi.name}
        if kpi.description:
            meta["description"] = kpi.description
        if kpi.goal:
            meta["goal"] = self._goal(kpi.goal)
        for key in _META_FIELDS:
            if key in data:
                meta[key] = data[key]
        return _inert_values(meta)

    def _goal(self, goal_id: str) -> dict[str, Any] | str:
        goal = self.workspace.goal(goal_id)
        if goal is None:
            return goal_id
        data = goal.model_dump(mode="json", exclude_none=True)
        unit = self.workspace.unit(goal.unit)
        if unit is not None:
            data["unit"] = unit.model_dump(mode="json", exclude_none=True)
        return data

    def _refuse_untranslatable(self, tree: exp.Expr, what: str) -> None:
        """Stop a KPI whose ``what`` the export dialect cannot compute with DuckDB's meaning (as `kpi-wizard sql`)."""
        if reasons := untranslatable(tree, self.dialect):
            raise Unexpressible(f"its {what} has no equivalent in this warehouse: {'; '.join(reasons)}")

    def _view_model(self, source: Source) -> None:
        """The dbt model of a view source: its SQL in the export dialect, each table it reads as ``ref()``."""
        if source.name in self.view_models:
            return
        known = {s.name.lower(): s.name for s in self.workspace.sources}
        try:
            # The same check as when the view is defined (one SELECT over known tables, within the limits).
            checked = validate_view(source.sql or "", set(known.values()))
        except FormulaError as error:
            raise Unexpressible(f"its view source '{source.name}' is not a valid view ({error})") from None
        tree = sqlglot.parse_one(checked, read="duckdb")
        self._refuse_untranslatable(tree, f"view source '{source.name}'")
        # A CTE named like a source hides it everywhere here (views almost never do that); it stays a CTE.
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        refs: list[str] = []

        def mark(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Table) and node.name.lower() in known and node.name.lower() not in ctes:
                refs.append(known[node.name.lower()])
                marker = exp.to_table(f"kpi_wizard_ref_{len(refs) - 1}_")
                # Aliased by its old name, so columns qualified as orders.amount still resolve.
                return exp.alias_(marker, node.alias_or_name, table=True)
            return node

        sql = refuse_unsafe_sql(render_sql(tree.transform(mark, copy=True), self.dialect), f"view '{source.name}'")
        for index, table in enumerate(refs):
            sql = sql.replace(f"kpi_wizard_ref_{index}_", f"{{{{ ref('{table}') }}}}")
        self.view_models[source.name] = sql
        self.view_reads.update(refs)
        for table in refs:
            if (used := self.workspace.source(table)) is not None and used.sql:
                self._view_model(used)

    # --- documents -------------------------------------------------------------------------

    def semantic_models(self) -> list[dict[str, Any]]:
        documents = []
        for model in self.models.values():
            dimensions: list[dict[str, Any]] = []
            for column in sorted(model.time_columns):
                dimensions.append(
                    _with_expr(
                        {"name": model.dimension_name(column), "type": "time"},
                        column,
                        model.dimension_name(column),
                        self.dialect,
                    )
                    | {"type_params": {"time_granularity": "day"}}
                )
            for column, name in sorted(model.categorical.items()):
                dimensions.append(_with_expr({"name": name, "type": "categorical"}, column, name, self.dialect))
            measures = []
            for (spec, time_column), name in model.measures.items():
                measure: dict[str, Any] = {"name": name, "description": model.measure_docs[name], "agg": spec.agg}
                measure["expr"] = spec.expr
                if spec.percentile is not None:
                    measure["agg_params"] = {
                        "percentile": spec.percentile,
                        "use_discrete_percentile": spec.discrete,
                    }
                if time_column != model.default_time:
                    measure["agg_time_dimension"] = model.dimension_name(time_column)
                measures.append(measure)
            document: dict[str, Any] = {"name": model.entity}
            if model.source.description:
                document["description"] = inert_prose(model.source.description)
            document["model"] = f"ref('{model.source.name}')"
            document["defaults"] = {"agg_time_dimension": model.dimension_name(model.default_time or "")}
            document["primary_entity"] = model.entity
            document["dimensions"] = dimensions
            document["measures"] = measures
            if model.source.system:
                document["config"] = {"meta": {"system": inert_prose(model.source.system)}}
            documents.append(document)
        return documents

    def metric_documents(self) -> list[dict[str, Any]]:
        ordered = [self.metrics[k.id] for k in self.workspace.kpis if k.id in self.metrics]
        return ordered + list(self.input_metrics.values())


def _column_sql(column: str, dialect: str) -> str:
    """``column`` quoted for the warehouse; :class:`Unexpressible` when its name holds Jinja or hidden characters."""
    return refuse_unsafe_sql(exp.column(column, quoted=True).sql(dialect=dialect), f"column name {column!r}")


def _writable_column(column: str, dialect: str) -> bool:
    try:
        _column_sql(column, dialect)
    except Unexpressible:
        return False
    return True


def _with_expr(dimension: dict[str, Any], column: str, name: str, dialect: str) -> dict[str, Any]:
    """A dimension whose name is not its column's gets ``expr:`` with the column quoted."""
    if column != name:
        dimension["expr"] = _column_sql(column, dialect)
    return dimension


def _inert_values(value: Any) -> Any:
    if isinstance(value, str):
        return inert_prose(value)
    if isinstance(value, dict):
        return {k: _inert_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_inert_values(v) for v in value]
    return value


def build_export(workspace: Workspace, *, dialect: str = "duckdb") -> DbtExport:
    """The dbt files for ``workspace`` and the outcome of every KPI (see :mod:`kpi_model.dbt_export`)."""
    from kpi_model.dbt_export.files import render_files

    builder = _Builder(workspace, dialect)
    for kpi in workspace.kpis:
        builder.add(kpi)
    outcomes = [builder.outcomes[k.id] for k in workspace.kpis]
    if not any(o.metric_type for o in outcomes):
        raise KpiWizardError(
            "no KPI of this workspace can be exported to dbt: "
            + "; ".join(f"{o.kpi_id}: {o.reason}" for o in outcomes[:5])
            + " — give KPIs a source, a formula and a time column first"
        )
    files = render_files(
        workspace,
        semantic_models=builder.semantic_models(),
        metrics=builder.metric_documents(),
        sources=[*builder.models, *sorted(builder.view_reads - set(builder.models))],
        view_models=builder.view_models,
        outcomes=outcomes,
    )
    return DbtExport(files, outcomes)

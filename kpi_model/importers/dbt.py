"""Import dbt semantic-layer metrics (MetricFlow YAML) as KPIs.

Each semantic model becomes a source named after the table it refs; each metric a KPI
whose id is the metric's name. Simple metrics become one aggregate over their model;
ratios over one model become one expression (``FILTER (WHERE …)`` for per-side filters),
ratios over two models a derived KPI. What KPI Wizard cannot express — cumulative
windows, time offsets, conversion funnels, filters on joined models — is reported in a
note and kept in the KPI's description, never approximated silently.

Reading the files is :mod:`.dbt_project`'s part; the KPI fields in each metric's meta (owner, goal,
target… as ``kpi-wizard export dbt`` writes them) are :mod:`.dbt_meta`'s. A ratio or derived metric
over the export's input metrics folds back into one formula, and those inputs are no KPIs of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpi_model.formula import FormulaError, check_aggregate, check_derived, check_filter, referenced_names
from kpi_model.importers.common import ImportFailed, ImportResult, finish, strip_controls, too_many_kpis
from kpi_model.importers.dbt_meta import MetaReader, is_input, metric_meta
from kpi_model.importers.dbt_project import (
    DBT_LIMITS,
    DBT_SUFFIXES,
    DbtProject,
    MetricEntry,
    SemanticModel,
    filter_list,
    yaml_text,
)
from kpi_model.models import MAX_KPIS
from kpi_model.periods import GRAINS, grain_cadence

__all__ = ["DBT_LIMITS", "DBT_SUFFIXES", "DbtImport", "import_dbt"]

_LOCAL_ENTITY_TYPES = frozenset({"primary", "unique", "natural"})
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Unmapped(Exception):
    """Something in a metric KPI Wizard cannot express; the message says what."""


@dataclass
class _Agg:
    """A simple metric resolved to one aggregate over one model, with its row conditions."""

    model: SemanticModel
    expression: str
    conditions: list[str]
    time_column: str | None
    remarks: list[str] = field(default_factory=list)  # what the expression leaves out, for the description


def _conjoin(conditions: list[str]) -> str:
    if len(conditions) == 1:
        return conditions[0]
    return " AND ".join(f"({c})" for c in conditions)


def _with_filter(expression: str, conditions: list[str]) -> str:
    return f"{expression} FILTER (WHERE {_conjoin(conditions)})" if conditions else expression


_JINJA = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.S)
_CALL = re.compile(
    r"""^(Dimension|TimeDimension|Entity)\(\s*['"]([\w]+)['"]\s*(?:,\s*['"](\w+)['"]\s*)?\)"""
    r"""((?:\s*\.\s*\w+\(\s*(?:['"]\w+['"])?\s*\))*)$"""
)
_METHOD = re.compile(r"""\.\s*(\w+)\(\s*(?:['"](\w+)['"])?\s*\)""")


class DbtImport(DbtProject):
    """Turns every metric read into KPIs, collecting notes."""

    def __init__(self, root: Path, shown_as: str | None = None) -> None:
        super().__init__(root, shown_as)
        self.cleaned: list[MetricEntry] = []  # metrics whose label, description or owner lost control characters
        self.kpis: list[dict[str, Any]] = []
        self.remarks: list[str] = []  # collected while one metric's aggregate is built
        self.meta = MetaReader()  # owner, goal, target… from each metric's meta, and the goals they name

    # --- expressions ---------------------------------------------------------------------

    def column(self, model: SemanticModel, reference: str, time_column: str | None) -> str:
        """The column (or expression) a ``Dimension('entity__name')`` reference means on ``model``."""
        parts = reference.split("__")
        if parts[-1] == "metric_time":
            if not time_column:
                raise _Unmapped(f"'{reference}' needs a time column and the measure has none")
            return time_column
        if len(parts) > 2:
            raise _Unmapped(f"'{reference}' reaches another model through several joins")
        if len(parts) == 2:
            entity = model.entities.get(parts[0])
            local = parts[0] == model.primary_entity or (
                entity is not None and yaml_text(entity.get("type")).lower() in _LOCAL_ENTITY_TYPES
            )
            if not local:
                raise _Unmapped(
                    f"'{reference}' is a dimension of the model behind entity '{parts[0]}', "
                    f"not of semantic model '{model.name}' (dbt joins it in)"
                )
        name = parts[-1]
        found = model.dimensions.get(name) or model.entities.get(name)
        if found is None:
            raise _Unmapped(f"semantic model '{model.name}' has no dimension '{name}'")
        expr = yaml_text(found.get("expr")) or name
        return expr if _IDENTIFIER.match(expr) else f"({expr})"

    def filter_sql(self, text: str, model: SemanticModel, time_column: str | None) -> str:
        """A dbt Jinja filter as a SQL condition on ``model``'s columns; raises :class:`_Unmapped`."""

        def replace(match: re.Match[str]) -> str:
            call = _CALL.match(match.group(1))
            if call is None:
                raise _Unmapped(f"'{{{{ {match.group(1)} }}}}' is not a Dimension, TimeDimension or Entity reference")
            kind, reference, grain, methods = call.groups()
            sql = self.column(model, reference, time_column)
            for method, argument in _METHOD.findall(methods or ""):
                if method == "grain" and argument:
                    grain = argument
                elif method == "date_part" and argument:
                    sql = f"date_part('{argument}', {sql})"
                else:
                    raise _Unmapped(f"the method .{method}() in the filter has no SQL equivalent here")
            if grain and kind != "Entity":
                sql = f"date_trunc('{grain}', {sql})"
            return sql

        sql = " ".join(_JINJA.sub(replace, text).split())
        try:
            check_filter(sql)
        except FormulaError as error:
            raise _Unmapped(f"the filter '{sql}' is not a SQL condition KPI Wizard accepts ({error.problem})") from None
        return sql

    def aggregate(self, metric: MetricEntry, measure_name: str, model: SemanticModel) -> str:
        measure = model.measures[measure_name]
        agg = yaml_text(measure.get("agg")).lower()
        expr = yaml_text(measure.get("expr")) or measure_name
        params = measure.get("agg_params") or {}
        forms = {
            "sum": "sum({})",
            "count": "count({})",
            "count_distinct": "count(DISTINCT {})",
            "average": "avg({})",
            "avg": "avg({})",
            "min": "min({})",
            "max": "max({})",
            "median": "median({})",
            "sum_boolean": "sum(CAST({} AS INTEGER))",
        }
        if agg == "percentile":
            percentile = params.get("percentile")
            if percentile is None:
                raise _Unmapped(f"the percentile measure '{measure_name}' gives no agg_params.percentile")
            function = "quantile_disc" if params.get("use_discrete_percentile") else "quantile_cont"
            if params.get("use_approximate_percentile"):
                self.note(
                    metric, f"measure '{measure_name}' asks for an approximate percentile; it is computed exactly."
                )
            expression = f"{function}({expr}, {float(percentile)})"
        elif agg == "count" and expr in {"1", "*"}:
            expression = "count(*)"  # a count of a constant counts rows
        elif agg in forms:
            expression = forms[agg].format(expr)
        else:
            raise _Unmapped(f"measure '{measure_name}' has the aggregation '{agg}', which is not known")
        non_additive = measure.get("non_additive_dimension")
        if non_additive:
            dimension = non_additive.get("name") if isinstance(non_additive, dict) else non_additive
            self.note(
                metric,
                f"measure '{measure_name}' is non-additive over '{dimension}' (a balance-like value taken at one "
                f"point in time); imported as a plain {agg}, which adds it up over the period — check the figures.",
            )
            self.remarks.append(f"dbt: the measure {measure_name} is non-additive over {dimension}.")
        try:
            check_aggregate(expression)
        except FormulaError as error:
            raise _Unmapped(
                f"the measure gives '{expression}', which KPI Wizard does not accept ({error.problem})"
            ) from None
        return expression

    def time_column(self, metric: MetricEntry, measure_name: str, model: SemanticModel) -> str | None:
        measure = model.measures[measure_name]
        name = yaml_text(measure.get("agg_time_dimension")) or model.default_time
        if not name:
            self.note(
                metric, f"semantic model '{model.name}' names no agg_time_dimension, so the KPI has no time column."
            )
            return None
        dimension = model.dimensions.get(name)
        if dimension is None:
            self.note(metric, f"the time dimension '{name}' is not a dimension of '{model.name}'; no time column set.")
            return None
        expr = yaml_text(dimension.get("expr")) or name
        if _IDENTIFIER.match(expr):
            return expr
        columns = sorted(referenced_names(expr))
        if len(columns) == 1:
            self.note(
                metric, f"the time dimension '{name}' is the expression '{expr}'; its column '{columns[0]}' is used."
            )
            return columns[0]
        self.note(metric, f"the time dimension '{name}' is the expression '{expr}', not a column; no time column set.")
        return None

    def measure_input(self, metric: MetricEntry, value: Any) -> tuple[str, list[str]]:
        """A ``measure:`` (a name or a mapping) → its name and filters; notes what is not represented."""
        if isinstance(value, dict):
            name = yaml_text(value.get("name"))
            if value.get("fill_nulls_with") is not None or value.get("join_to_timespine"):
                self.note(
                    metric,
                    "fill_nulls_with/join_to_timespine are not represented: a period without rows has no value "
                    "rather than 0.",
                )
            return name, filter_list(value.get("filter"))
        return yaml_text(value), []

    def simple(self, metric: MetricEntry) -> _Agg:
        """A simple (or cumulative) metric as one aggregate; raises :class:`_Unmapped` saying why not."""
        self.remarks = []
        params = metric.raw.get("type_params") or {}
        name, measure_filters = self.measure_input(metric, params.get("measure"))
        if not name:
            raise _Unmapped("it names no measure")
        model = self.measures.get(name)
        if model is None:
            raise _Unmapped(f"the measure '{name}' is not defined in any semantic model")
        expression = self.aggregate(metric, name, model)
        time_column = self.time_column(metric, name, model)
        conditions = [
            self.filter_sql(text, model, time_column)
            for text in measure_filters + filter_list(metric.raw.get("filter"))
        ]
        return _Agg(model, expression, conditions, time_column, list(self.remarks))

    # --- metric types --------------------------------------------------------------------

    def base(self, metric: MetricEntry) -> dict[str, Any]:
        raw = metric.raw
        meta = metric_meta(raw)
        name = yaml_text(raw.get("label")) or yaml_text(meta.get("name")) or strip_controls(metric.name)
        kpi: dict[str, Any] = {"id": metric.kpi_id, "name": name}
        if description := yaml_text(raw.get("description")) or yaml_text(meta.get("description")):
            kpi["description"] = description
        kpi.update(self.meta.kpi_fields(meta, lambda text: self.note(metric, text)))
        texts = [raw.get("label"), raw.get("description"), metric.name, meta.get("owner")]
        if any(isinstance(t, str) and strip_controls(t) != t for t in texts):
            self.cleaned.append(metric)
        granularity = yaml_text(raw.get("time_granularity")).lower()
        if granularity in GRAINS and "cadence" not in kpi:
            kpi["cadence"] = grain_cadence(granularity)
        return kpi

    def keep(self, kpi: dict[str, Any], text: str) -> None:
        kpi["description"] = f"{kpi['description']}\n{text}" if kpi.get("description") else text

    def run(self) -> None:
        """Every metric as a KPI; the export's input metrics only where a KPI still refers to them.

        An export writes ratios and derived KPIs over input metrics; where those fold back into one
        formula over one source, the inputs are not KPIs of their own.
        """
        kpi_metrics = [m for m in self.metrics if not is_input(m.raw)]
        for metric in kpi_metrics:
            self.run_one(metric)
        needed = {name for kpi in self.kpis if not kpi.get("source") for name in _named(kpi.get("expression"))}
        for metric in self.metrics:
            if is_input(metric.raw) and metric.kpi_id in needed:
                self.run_one(metric)

    def run_one(self, metric: MetricEntry) -> None:
        kpi = self.base(metric)
        kind = yaml_text(metric.raw.get("type")).lower()
        handler = {
            "simple": self.import_simple,
            "cumulative": self.import_cumulative,
            "ratio": self.import_ratio,
            "derived": self.import_derived,
            "conversion": self.import_conversion,
        }.get(kind)
        helpers: list[dict[str, Any]] = []
        if handler is None:
            self.note(metric, f"the metric type '{kind}' is not known; imported without an expression.")
        else:
            try:
                handler(metric, kpi, helpers)
            except _Unmapped as reason:
                helpers.clear()
                for key in ("source", "expression", "filter", "time_column"):
                    kpi.pop(key, None)
                self.note(metric, f"{reason}; imported without an expression.")
                self.keep(kpi, f"dbt {kind} metric: {_definition(metric.raw)}")
        self.kpis.extend(helpers)
        self.kpis.append(kpi)

    def import_simple(self, metric: MetricEntry, kpi: dict[str, Any], helpers: list[dict[str, Any]]) -> None:
        self.fill(kpi, self.simple(metric))

    def fill(self, kpi: dict[str, Any], agg: _Agg) -> None:
        kpi["source"] = agg.model.source
        kpi["expression"] = agg.expression
        if agg.conditions:
            kpi["filter"] = _conjoin(agg.conditions)
        if agg.time_column:
            kpi["time_column"] = agg.time_column
        for remark in agg.remarks:
            self.keep(kpi, remark)

    def import_cumulative(self, metric: MetricEntry, kpi: dict[str, Any], helpers: list[dict[str, Any]]) -> None:
        params = metric.raw.get("type_params") or {}
        nested = params.get("cumulative_type_params") or {}
        window = nested.get("window") or params.get("window")
        to_date = nested.get("grain_to_date") or params.get("grain_to_date")
        self.fill(kpi, self.simple(metric))
        what = f"the {window} window" if window else f"the {to_date}-to-date total" if to_date else "the running total"
        self.note(
            metric,
            f"cumulative metric: {what} is not represented; imported as the plain measure per period.",
        )
        self.keep(kpi, f"dbt cumulative metric: {what} of the measure.")

    def side(self, value: Any) -> tuple[MetricEntry, list[str]]:
        name = yaml_text(value.get("name")) if isinstance(value, dict) else yaml_text(value)
        filters = filter_list(value.get("filter")) if isinstance(value, dict) else []
        if name not in self.by_name:
            raise _Unmapped(f"it refers to the metric '{name}', which is not defined")
        return self.by_name[name], filters

    def resolved(self, metric: MetricEntry) -> _Agg | None:
        """A referenced metric as one aggregate, if it is a simple one that maps; else None."""
        if yaml_text(metric.raw.get("type")).lower() != "simple":
            return None
        notes_before = len(self._notes)
        try:
            return self.simple(metric)
        except _Unmapped:
            return None
        finally:
            del self._notes[notes_before:]  # the referenced metric's own import reports these

    def import_ratio(self, metric: MetricEntry, kpi: dict[str, Any], helpers: list[dict[str, Any]]) -> None:
        params = metric.raw.get("type_params") or {}
        (num, num_filters), (den, den_filters) = (
            self.side(params.get("numerator")),
            self.side(params.get("denominator")),
        )
        shared_filters = filter_list(metric.raw.get("filter"))
        num_agg, den_agg = self.resolved(num), self.resolved(den)
        if (
            num_agg
            and den_agg
            and num_agg.model.source == den_agg.model.source
            and num_agg.time_column == den_agg.time_column
        ):
            model, time_column = num_agg.model, num_agg.time_column
            num_conditions = num_agg.conditions + [self.filter_sql(f, model, time_column) for f in num_filters]
            den_conditions = den_agg.conditions + [self.filter_sql(f, model, time_column) for f in den_filters]
            # Conditions both sides share filter the rows; the rest filter one aggregate each.
            common = [c for c in num_conditions if c in den_conditions]
            common += [self.filter_sql(f, model, time_column) for f in shared_filters]
            numerator = _with_filter(num_agg.expression, [c for c in num_conditions if c not in common])
            denominator = _with_filter(den_agg.expression, [c for c in den_conditions if c not in common])
            remarks = num_agg.remarks + [r for r in den_agg.remarks if r not in num_agg.remarks]
            self.fill(kpi, _Agg(model, f"{numerator} / {denominator}", common, time_column, remarks))
            return
        references = []
        for role, side_metric, side_filters, agg in (
            ("numerator", num, num_filters, num_agg),
            ("denominator", den, den_filters, den_agg),
        ):
            extra = side_filters + shared_filters
            if not extra:
                references.append(side_metric.kpi_id)
                continue
            if agg is None:
                raise _Unmapped(f"the {role} '{side_metric.name}' is filtered, but it is not a simple metric")
            helper = self.helper(metric, role, side_metric, agg, extra)
            helpers.append(helper)
            references.append(helper["id"])
        kpi["expression"] = f"{references[0]} / {references[1]}"
        why = (
            f"numerator and denominator come from different semantic models ({num_agg.model.name}, "
            f"{den_agg.model.name})"
            if num_agg and den_agg and num_agg.model.source != den_agg.model.source
            else "numerator and denominator cannot be one expression over one table"
        )
        made = [h["id"] for h in helpers]
        also = ""
        if made:
            also = (
                f" (the helper KPIs {' and '.join(made)} hold the filtered sides)"
                if len(made) > 1
                else f" (the helper KPI {made[0]} holds the filtered side)"
            )
        self.note(metric, f"{why}; imported as the derived KPI {kpi['expression']}{also}.")

    def helper(
        self, metric: MetricEntry, role: str, side: MetricEntry, agg: _Agg, filters: list[str]
    ) -> dict[str, Any]:
        """A KPI for one filtered side of a ratio or an input of a derived metric."""
        conditions = agg.conditions + [self.filter_sql(f, agg.model, agg.time_column) for f in filters]
        helper: dict[str, Any] = {
            "id": self.helper_id(f"{metric.kpi_id}_{role}"),
            "name": f"{yaml_text(metric.raw.get('label')) or metric.name} — {role}",
            "description": f"{side.name} as used in the {role} of {metric.name} (created by the dbt import).",
        }
        self.fill(helper, _Agg(agg.model, agg.expression, conditions, agg.time_column))
        return helper

    def import_derived(self, metric: MetricEntry, kpi: dict[str, Any], helpers: list[dict[str, Any]]) -> None:
        import sqlglot
        from sqlglot import exp

        params = metric.raw.get("type_params") or {}
        expr = yaml_text(params.get("expr"))
        if self.fold_derived(kpi, expr, params.get("metrics") or []):
            return
        names: dict[str, str] = {}
        for value in params.get("metrics") or []:
            side_metric, filters = self.side(value)
            alias = yaml_text(value.get("alias")) if isinstance(value, dict) else ""
            if isinstance(value, dict) and (value.get("offset_window") or value.get("offset_to_grain")):
                offset = value.get("offset_window") or f"start of {value.get('offset_to_grain')}"
                raise _Unmapped(f"the input '{side_metric.name}' is offset by {offset}, which is not supported")
            reference = side_metric.kpi_id
            if filters:
                agg = self.resolved(side_metric)
                if agg is None:
                    raise _Unmapped(f"the input '{side_metric.name}' is filtered, but it is not a simple metric")
                helper = self.helper(metric, alias or side_metric.name, side_metric, agg, filters)
                helpers.append(helper)
                reference = helper["id"]
                self.note(metric, f"the filtered input '{side_metric.name}' became the helper KPI '{reference}'.")
            names[alias or side_metric.name] = reference
        try:
            tree = sqlglot.parse_one(expr, read="duckdb")
        except Exception:  # sqlglot raises several error types for text that is not SQL
            raise _Unmapped(f"the expression '{expr}' does not parse") from None
        unknown = sorted({c.name for c in tree.find_all(exp.Column)} - set(names))
        if unknown:
            raise _Unmapped(f"the expression names {', '.join(repr(u) for u in unknown)}, not listed under metrics")
        renamed = tree.transform(lambda n: exp.column(names[n.name]) if isinstance(n, exp.Column) else n)
        kpi["expression"] = renamed.sql(dialect="duckdb")

    def fold_derived(self, kpi: dict[str, Any], expr: str, inputs: list[Any]) -> bool:
        """A derived metric over the export's input metrics, all of one model and time column, as one formula.

        Each input becomes its aggregate, with its own filters as ``FILTER (WHERE …)``; the filters all
        inputs share become the KPI's filter (how the export writes a formula such as NPS). Over metrics
        of their own (KPIs in the import) the derived metric stays a driver tree: False.
        """
        import sqlglot
        from sqlglot import exp

        sides: dict[str, tuple[_Agg, list[str]]] = {}
        for value in inputs:
            if not isinstance(value, (dict, str)) or (
                isinstance(value, dict) and (value.get("offset_window") or value.get("offset_to_grain"))
            ):
                return False
            side_metric, filters = self.side(value)
            agg = self.resolved(side_metric) if is_input(side_metric.raw) else None
            if agg is None:
                return False
            alias = yaml_text(value.get("alias")) if isinstance(value, dict) else ""
            try:
                conditions = agg.conditions + [self.filter_sql(f, agg.model, agg.time_column) for f in filters]
            except _Unmapped:
                return False
            sides[alias or side_metric.name] = (agg, conditions)
        first = next(iter(sides.values()), None)
        if first is None or any(
            agg.model.source != first[0].model.source or agg.time_column != first[0].time_column
            for agg, _ in sides.values()
        ):
            return False
        common = [c for c in first[1] if all(c in conditions for _, conditions in sides.values())]
        try:
            tree = sqlglot.parse_one(expr, read="duckdb")
            aggregates = {
                name: sqlglot.parse_one(
                    _with_filter(agg.expression, [c for c in conditions if c not in common]), read="duckdb"
                )
                for name, (agg, conditions) in sides.items()
            }
        except sqlglot.errors.SqlglotError:
            return False
        if {c.name for c in tree.find_all(exp.Column)} - set(aggregates):
            return False
        folded = tree.transform(lambda n: aggregates[n.name].copy() if isinstance(n, exp.Column) else n)
        remarks = [r for agg, _ in sides.values() for r in agg.remarks]
        self.fill(kpi, _Agg(first[0].model, folded.sql(dialect="duckdb"), common, first[0].time_column, remarks))
        return True

    def import_conversion(self, metric: MetricEntry, kpi: dict[str, Any], helpers: list[dict[str, Any]]) -> None:
        self.note(
            metric,
            "conversion metrics (the share of base-measure entities that reach the conversion measure within a "
            "window) cannot be one aggregate over one table; imported with the definition in its description and "
            "no expression.",
        )
        self.keep(kpi, f"dbt conversion metric: {_definition(metric.raw)}")

    # --- checks --------------------------------------------------------------------------

    def check(self) -> None:
        """Derived expressions must name existing KPIs; a derived KPI over one without a formula is noted."""
        ids = {k["id"] for k in self.kpis}
        by_id = {k["id"]: k for k in self.kpis}
        origin = {m.kpi_id: m for m in self.metrics}
        for kpi in self.kpis:
            if kpi.get("source") or not kpi.get("expression"):
                continue
            try:
                checked = check_derived(kpi["expression"], ids - {kpi["id"]})
            except FormulaError as error:
                self.note(origin[kpi["id"]], f"the expression is not usable ({error}); it was removed.")
                self.keep(kpi, f"dbt expression: {kpi.pop('expression')}")
                continue
            missing = sorted(c for c in checked.columns if not by_id[c].get("expression"))
            if missing:
                self.note(
                    origin[kpi["id"]],
                    f"it is computed from {', '.join(missing)}, which has no expression, "
                    "so it will not compute until that one does.",
                )


def _named(expression: Any) -> set[str]:
    """The names a derived KPI's formula refers to (none when it does not parse)."""
    return referenced_names(expression) if isinstance(expression, str) and expression else set()


def _definition(raw: dict[str, Any]) -> str:
    """A metric's type_params (and filter) in one readable line, for the description."""
    params = dict(raw.get("type_params") or {})
    for wrapper in ("conversion_type_params", "cumulative_type_params"):  # their keys read fine inline
        inner = params.pop(wrapper, None)
        if isinstance(inner, dict):
            params.update(inner)
    text = _render(params)
    filters = filter_list(raw.get("filter"))
    return text + (f"; filter: {' AND '.join(filters)}" if filters else "")


def _render(value: Any) -> str:
    if isinstance(value, dict):
        if set(value) >= {"name"} and len(value) > 1:
            rest = {k: v for k, v in value.items() if k != "name"}
            return f"{value['name']} ({_render(rest)})"
        return ", ".join(f"{k}: {_render(v)}" for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return "[" + "; ".join(_render(v) for v in value) + "]"
    return yaml_text(value)


def import_dbt(path: Path, *, shown_as: str | None = None) -> ImportResult:
    """A workspace from dbt semantic-layer YAML: one file, or a folder searched recursively.

    Every semantic model becomes a source (``system: dbt``), every metric a KPI without a
    goal. Raises :class:`ImportFailed` when there is nothing to import, naming the files skipped.
    ``shown_as`` is the file's or folder's name as its owner knows it (an upload is saved under a
    name of the server's): the workspace's name, description and notes use it.
    """
    path = Path(path)
    shown = shown_as or path.name
    if not path.exists():
        raise ImportFailed(f"no such file or folder: {path if shown_as is None else shown}")
    if not path.is_dir() and not path.is_file():
        raise ImportFailed(f"{shown} is not a regular file (a device, a pipe or a socket); give a dbt YAML file")
    if path.is_file() and path.suffix.lower() not in DBT_SUFFIXES:
        raise ImportFailed(f"{shown} is not a dbt YAML file (.yml or .yaml)")
    work = DbtImport(path, shown_as)
    work.read()
    if not work.metrics and not work.models:
        where = "in any .yml/.yaml file under " if path.is_dir() else "in "
        skipped = [n for n in work.notes if "skipped" in n]
        why = f". Skipped: {' '.join(skipped)}" if skipped else ""
        raise ImportFailed(
            f"no dbt semantic_models or metrics found {where}{path if shown_as is None else shown}; "
            f"the import reads dbt semantic-layer YAML (semantic_models: and metrics:){why}"
        )
    work.assign_ids()
    if len(work.metrics) > MAX_KPIS:
        raise ImportFailed(too_many_kpis(shown, len(work.metrics), "metrics"))
    work.run()
    work.check()
    if len(work.kpis) > MAX_KPIS:  # ratio and derived metrics add helper KPIs
        raise ImportFailed(too_many_kpis(shown, len(work.kpis), "metrics and the helper KPIs they need"))
    if work.cleaned:
        first = work.cleaned[0]
        names = ", ".join(f"'{m.name}'" for m in work.cleaned[:10]) + (" …" if len(work.cleaned) > 10 else "")
        work.add_note(
            first.file,
            first.line,
            "Control characters, text-direction overrides or zero-width characters were removed from the "
            f"labels, descriptions or owners of metric{'s' if len(work.cleaned) > 1 else ''} {names}: they do "
            "not show, or show text in another order than it is stored.",
        )
    document = {
        "name": f"dbt metrics from {shown}",
        "description": f"Imported from dbt semantic-layer YAML ({shown}).",
        "units": list(work.meta.units.values()),
        "goals": list(work.meta.goals.values()),
        "sources": list(work.sources.values()),
        "kpis": work.kpis,
    }
    return ImportResult(finish(document, shown), work.notes)

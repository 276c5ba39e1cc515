"""Formula rules (KPI003 invalid-formula, KPI004 unknown-column): can the KPI be computed as written?

A KPI defined only in words is no defect here: it gets one note in the ``not-yet-computable``
group. KPI004 needs data; KPI003 also reads the computed series when data is loaded.
"""

from __future__ import annotations

from collections.abc import Iterator

from kpi_model.checks import formula_facts as facts
from kpi_model.checks.base import NOT_YET_COMPUTABLE, AuditContext, Finding, Rule, Severity
from kpi_model.checks.wording import kpi_label, listing, nearest
from kpi_model.errors import KpiWizardError
from kpi_model.formula import Compiler, FormulaError, SourceNotLoadedError, check_kpi_text, referenced_names
from kpi_model.models import Measure

# ---------------------------------------------------------------- KPI003 invalid-formula


def _formula_problem(error: FormulaError) -> str:
    """The problem with its position, without the trailing 'Fix: …' (the finding carries the fix)."""
    return str(error).removesuffix(f". Fix: {error.fix}")


def _leave_to_unknown_column(ctx: AuditContext, error: KpiWizardError) -> bool:
    # With data loaded, KPI004 reports every unknown column with its nearest name.
    return ctx.has_data and isinstance(error, FormulaError) and error.problem.startswith("unknown column")


def _invalid_formula(ctx: AuditContext) -> Iterator[Finding]:
    ws = ctx.workspace
    compiler = Compiler(ws)
    ids = facts.kpi_ids(ws)
    for kpi in ws.kpis:
        label = kpi_label(kpi)
        derived = compiler.is_derived(kpi)
        if not kpi.expression:
            if kpi.source and (kpi.description or "").strip():
                # A definition in words is a design to judge, not a defect: one note, in its own group.
                yield INVALID_FORMULA.on_kpi(
                    kpi,
                    f"KPI {label} is not yet computable: it is defined in words, with no formula over "
                    f"source '{kpi.source}' yet; its design is audited, its values cannot be",
                    "when the data of the source can be loaded, write the definition as one aggregate over its "
                    "rows (the Data page previews it)",
                    severity=Severity.INFO,
                    group=NOT_YET_COMPUTABLE,
                )
            elif kpi.source and kpi.measure == Measure.QUANTITATIVE:
                yield INVALID_FORMULA.on_kpi(
                    kpi,
                    f"KPI {label} has source '{kpi.source}' but no formula and no definition: nobody can tell "
                    "what it computes",
                    "describe in its description what it counts or divides (in words is fine), or write one "
                    "aggregate over the source's rows, e.g. sum(amount) or count(*) FILTER (WHERE …) / count(*)",
                )
            if not kpi.filter:
                continue
        named = facts.named_kpis(kpi, ids)
        unknown = sorted(referenced_names(kpi.expression or "") - named) if named else []
        if not derived and named and unknown:
            # Half KPI ids, half something else: a derived KPI with a typo, not a column formula.
            others = sorted(ids - {kpi.id})
            hints = [f"'{n}'" + (f" (did you mean '{g}'?)" if (g := nearest(n, others)) else "") for n in unknown]
            yield INVALID_FORMULA.on_kpi(
                kpi,
                f"KPI {label} combines other KPIs ({', '.join(sorted(named))}) but also names "
                f"{', '.join(hints)}, which is not a KPI id",
                "use KPI ids only in a derived KPI's formula, or give it a source if it aggregates columns",
            )
            continue
        try:
            check_kpi_text(ws, kpi, facts.loaded_columns(ctx, kpi), kpi_ids=ids)
        except FormulaError as error:
            if not _leave_to_unknown_column(ctx, error):
                yield INVALID_FORMULA.on_kpi(kpi, f"KPI {label}: {_formula_problem(error)}", error.fix)
            continue
        if derived:
            try:
                compiler.dependencies(kpi.id)  # a cycle between derived KPIs shows without data
            except FormulaError as error:
                yield INVALID_FORMULA.on_kpi(kpi, f"KPI {label}: {_formula_problem(error)}", error.fix)
                continue
        if kpi.expression and kpi.source and not derived and not kpi.time_column:
            yield INVALID_FORMULA.on_kpi(
                kpi,
                f"KPI {label} has a formula but no time column, so it cannot be split into periods",
                f"name the date column of source '{kpi.source}' its periods come from, e.g. order_date",
            )
            continue
        result = ctx.series.get(kpi.id) if ctx.series is not None else None
        if isinstance(result, KpiWizardError) and not _leave_to_unknown_column(ctx, result):
            if isinstance(result, SourceNotLoadedError):
                continue  # an unloaded source is a data problem, not a formula problem
            problem = _formula_problem(result) if isinstance(result, FormulaError) else str(result)
            fix = result.fix if isinstance(result, FormulaError) else "check the formula against the data's columns"
            yield INVALID_FORMULA.on_kpi(kpi, f"KPI {label} fails on the data: {problem}", fix)


INVALID_FORMULA = Rule(
    id="KPI003",
    slug="invalid-formula",
    severity=Severity.ERROR,
    rationale="A KPI whose formula is invalid or fails on its data, or that has no time column to split it "
    "into periods, produces no number to track. A KPI defined only in words gets one info note in the group "
    "not-yet-computable instead: its design is audited, and the note costs no score.",
    example="KPI 'Net revenue' with source orders and formula 'amount' (no aggregate), or no formula at all.",
    fix="Write one aggregate over the source's rows, e.g. sum(amount) FILTER (WHERE status = 'completed').",
    check=_invalid_formula,
)


# ---------------------------------------------------------------- KPI004 unknown-column


def _unknown_column(ctx: AuditContext) -> Iterator[Finding]:
    ws = ctx.workspace
    compiler = Compiler(ws)
    for kpi in ws.kpis:
        columns = facts.loaded_columns(ctx, kpi)
        if columns is None or compiler.is_derived(kpi):
            continue  # no loaded source: nothing to compare with (and not this rule's business)
        known = {c.lower() for c in columns}
        used: list[tuple[str, str]] = []
        for where, text in (("formula", kpi.expression), ("filter", kpi.filter)):
            if text:
                used += [(where, name) for name in sorted(referenced_names(text))]
        if kpi.time_column:
            used.append(("time column", kpi.time_column))
        for where, name in used:
            if name.lower() in known:
                continue
            guess = nearest(name, columns)
            hint = f" (nearest: '{guess}')" if guess else ""
            fix = f"write '{guess}' instead of '{name}'" if guess else f"use a column of '{kpi.source}'"
            yield UNKNOWN_COLUMN.on_kpi(
                kpi,
                f"KPI {kpi_label(kpi)}: the {where} names column '{name}', which source '{kpi.source}' does not "
                f"have{hint}",
                f"{fix}; '{kpi.source}' has: {listing(columns)}",
            )


UNKNOWN_COLUMN = Rule(
    id="KPI004",
    slug="unknown-column",
    severity=Severity.ERROR,
    rationale="A formula, filter or time column naming a column the data lacks cannot be computed.",
    example="KPI 'Net revenue' with formula sum(amout) over orders, whose column is amount.",
    fix="Use the column's name as it is in the loaded source (the nearest match is suggested).",
    check=_unknown_column,
    needs_data=True,
)

RULES: list[Rule] = [INVALID_FORMULA, UNKNOWN_COLUMN]

"""The What-if page's driver tree: one base period, typed driver changes, goal-seek and named scenarios."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from kpi_model.engine import Engine
from kpi_model.errors import KpiWizardError
from kpi_model.formula import Compiler
from kpi_model.models import DriverChange, Scenario, UnitOfMeasure, Workspace
from kpi_model.status import format_value
from kpi_model.whatif.driver_base import DriverBase
from kpi_model.whatif.driver_text import change_text, signed, value_text
from kpi_model.whatif.drivers import DriverNode, decomposition_suggestions, driver_tree
from kpi_model.whatif.goal_seek import goal_seek
from kpi_model.whatif.scenarios import (
    STALE_SCENARIO_FIX,
    ScenarioResult,
    base_from_series,
    changes_text,
    compare_scenarios,
    driver_report,
    new_scenario,
    with_scenario,
    without_scenario,
)
from ui.feedback import apply_edit, md_escape, show_error
from ui.whatif_views import compute, grain_of

MODES = {"by %": "relative", "by an amount": "add", "to a value": "value"}


def dot_text(text: str) -> str:
    """Text for a quoted Graphviz label: plain text only (no escape sequences, quotes or HTML label)."""
    # In a quoted DOT string only '\\' and '"' are special (and '\\l', '\\N'… are label escapes):
    # doubling the backslash and escaping the quote keeps a name from closing the string and adding
    # attributes such as URL= or an HTML-like label.
    return " ".join(text.replace("\\", "\\\\").replace('"', '\\"').split())


def _name(workspace: Workspace, kpi_id: str) -> str:
    kpi = workspace.kpi(kpi_id)
    return kpi.name if kpi is not None else kpi_id


def _unit(workspace: Workspace, kpi_id: str) -> UnitOfMeasure | None:
    kpi = workspace.kpi(kpi_id)
    return kpi.unit_of_measure if kpi is not None else None


def _tree_dot(node: DriverNode, workspace: Workspace, values: dict[str, float | None] | None = None) -> str:
    """Graphviz text of the tree, each box naming the KPI and, when given, its value on the base period."""
    lines = ["digraph drivers {", "rankdir=TB; node [shape=box, style=rounded, fontname=Helvetica];"]
    seen: set[str] = set()

    def visit(current: DriverNode) -> None:
        if current.kpi_id not in seen:
            seen.add(current.kpi_id)
            label = dot_text(_name(workspace, current.kpi_id))
            if values is not None and current.kpi_id in values:
                label += "\\n" + dot_text(format_value(values[current.kpi_id], _unit(workspace, current.kpi_id)))
            lines.append(f'"{current.kpi_id}" [label="{label}"];')
        for child in current.children:
            lines.append(f'"{current.kpi_id}" -> "{child.kpi_id}";')
            visit(child)

    visit(node)
    lines.append("}")
    return "\n".join(lines)


def decomposition_hints(workspace: Workspace) -> None:
    """Financial KPIs the template library knows how to break into drivers, with the formula."""
    compiler = Compiler(workspace)
    rows = [
        {"KPI": kpi.name, "Decompose into": formula}
        for kpi in workspace.kpis
        if kpi.category == "financial" and not compiler.is_derived(kpi)
        for formula in decomposition_suggestions(kpi)[:1]
    ]
    if rows:
        with st.expander("Decompose a financial KPI into the drivers that move it"):
            st.caption("From the template library: add the drivers as KPIs, then a derived KPI with this formula.")
            st.dataframe(pd.DataFrame(rows), hide_index=True, key="driver_decompositions")


def _base(workspace: Workspace, engine: Engine, top_id: str, tree: DriverNode) -> DriverBase | None:
    """The leaf drivers' values on one base period, chosen on the page (default: the latest all share)."""
    grain = grain_of(workspace.kpi(top_id))  # type: ignore[arg-type]
    period_col, average_col = st.columns(2)
    period = period_col.text_input(
        "Base period",
        key=f"driver_period_{top_id}",
        placeholder=f"latest complete {grain} all drivers have",
        help="Every driver's value is taken from this one period, e.g. 2018-05 or 2018-Q2.",
    )
    average = average_col.number_input(
        f"Average over the last ({grain}s)",
        min_value=1,
        max_value=36,
        value=1,
        step=1,
        key=f"driver_average_{top_id}",
        help="1: the values of the base period; more: each driver's average over the periods ending there.",
    )
    series = {}
    for leaf in tree.leaves():
        found = compute(engine, workspace, leaf, grain)
        if found is None:
            return None
        series[leaf] = found
    try:
        return base_from_series(workspace, series, grain=grain, period=period.strip() or None, average_of=int(average))
    except KpiWizardError as error:
        show_error(error)
        return None


def _shown_as_percent(workspace: Workspace, kpi_id: str) -> bool:
    return _unit(workspace, kpi_id) == UnitOfMeasure.PERCENT


def _changes(workspace: Workspace, top_id: str, tree: DriverNode, base: DriverBase) -> list[DriverChange]:
    """Typed driver changes, each driver with its own mode: by a percentage, by an amount or to a value.

    A mode per driver, not one for the page: switching one driver's mode never drops what was typed
    for another (the YAML and the CLI mix modes too). Any size is allowed (+300 % is fine).
    """
    st.markdown("**Move drivers:** type any change; there is no limit.")
    leaves = tree.leaves()
    changes: list[DriverChange] = []
    columns = st.columns(min(3, len(leaves)) or 1)
    for index, leaf in enumerate(leaves):
        with columns[index % len(columns)]:
            change = _driver_change(workspace, top_id, leaf, base)
        if change is not None:
            changes.append(change)
    if changes:
        st.caption(f"Changes: {md_escape(changes_text(workspace, changes))}")
    return changes


def _driver_change(workspace: Workspace, top_id: str, leaf: str, base: DriverBase) -> DriverChange | None:
    """One driver's mode and its typed change (None when it is left as it is)."""
    name, now = _name(workspace, leaf), base.values.get(leaf)
    percent = _shown_as_percent(workspace, leaf)
    mode_label = st.segmented_control(
        f"{md_escape(name)}: move",
        list(MODES),
        default="by %",
        key=f"driver_mode_{top_id}_{leaf}",
        help="By a percentage, by an amount in the KPI's own unit, or to a new value.",
    )
    mode = MODES[mode_label or "by %"]
    if mode == "relative":
        typed = st.number_input(
            f"{md_escape(name)} (change in %)", value=0.0, step=5.0, format="%g", key=f"driver_pct_{top_id}_{leaf}"
        )
        return DriverChange(kpi=leaf, relative=typed / 100) if typed else None
    if mode == "add":
        typed = st.number_input(
            f"{md_escape(name)} ({'percentage points' if percent else 'amount'} to add)",
            value=0.0,
            format="%g",
            key=f"driver_add_{top_id}_{leaf}",
            help="Added to the base value, in the KPI's own unit.",
        )
        if not typed:
            return None
        return DriverChange(kpi=leaf, add=typed / 100 if percent else typed)
    # Shown rounded (166,409.91, not 166409.91000000012): leaving it as shown is no change.
    start = None if now is None else round(now * 100 if percent else now, 6 if percent else 2)
    new_value = st.number_input(
        f"{md_escape(name)} (new value{' in %' if percent else ''})",
        value=start,
        format="%g",
        key=f"driver_value_{top_id}_{leaf}_{base.label}",
    )
    if new_value is None or start is None or math.isclose(new_value, start, rel_tol=1e-12):
        return None
    return DriverChange(kpi=leaf, value=new_value / 100 if percent else new_value)


def _results_table(workspace: Workspace, values: dict[str, tuple[float | None, float | None]], base: DriverBase):
    rows = []
    for kpi_id, (before, after) in values.items():
        kpi = workspace.kpi(kpi_id)
        change = None if before in (None, 0) or after is None else (after - before) / abs(before)
        rows.append(
            {
                "KPI": _name(workspace, kpi_id),
                base.caption[:1].upper() + base.caption[1:]: value_text(kpi, before),
                "After": value_text(kpi, after),
                "Change": change_text(change),
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="driver_results")


def _goal_seek(workspace: Workspace, top_id: str, tree: DriverNode, base: DriverBase, changes: list[DriverChange]):
    """Which value of one driver brings the top KPI to its target, the other drivers as moved above."""
    top = workspace.kpi(top_id)
    percent = _shown_as_percent(workspace, top_id)
    st.markdown(f"**Goal-seek:** which value of a driver brings {md_escape(_name(workspace, top_id))} to a target")
    candidates = [kpi_id for kpi_id in tree.ids() if kpi_id != top_id]
    left, right = st.columns(2)
    driver = left.selectbox(
        "Driver to seek", candidates, format_func=lambda i: _name(workspace, i), key=f"driver_seek_{top_id}"
    )
    default = top.target.value if top is not None and top.target is not None else None
    target = right.number_input(
        f"Target of {md_escape(_name(workspace, top_id))}{' (in %)' if percent else ''}",
        value=None if default is None else (default * 100 if percent else default),
        format="%g",
        key=f"driver_seek_target_{top_id}",
        placeholder="the KPI's target",
    )
    if target is None:
        st.info("Type the target to seek (the KPI has none saved).")
        return
    others = [change for change in changes if change.kpi != driver]
    try:
        result = goal_seek(
            workspace,
            top_id,
            base.values,
            driver,
            target / 100 if percent else target,
            changes=others,
            partial_base=base.partial_warning(),
        )
    except KpiWizardError as error:
        show_error(error)
        return
    show = {"reached": st.success, "outside-domain": st.warning, "unreachable": st.warning}.get(result.status, st.info)
    if result.partial_base and show is st.success:
        show = st.warning  # reached, but from part of a period: not a result to act on
    # Said first, so a partial-base warning at the end of the message stays the last word.
    text = f"With the other drivers as moved above, {result.message}" if others else result.message
    show(md_escape(text[:1].upper() + text[1:]), icon=":material/target:")


def _scenarios(
    workspace: Workspace,
    top_id: str,
    tree: DriverNode,
    base: DriverBase,
    changes: list[DriverChange],
    before: dict[str, float | None],
) -> None:
    """Save the changes as a named scenario; compare the saved scenarios of this KPI side by side.

    ``before`` is every KPI of the tree on the base values. A saved scenario that no longer fits the
    tree (a formula edited since) is shown as stale with its reason; the others still compare, and
    Delete is always there to remove it.
    """
    st.markdown("**Scenarios**")
    name_col, button_col = st.columns([3, 1], vertical_alignment="bottom")
    name = name_col.text_input("Scenario name", key=f"driver_scenario_name_{top_id}", placeholder="e.g. More leads")
    if button_col.button("Save as scenario", key=f"driver_scenario_save_{top_id}", disabled=not changes):
        try:
            scenario = new_scenario(workspace, name, top_id, base, changes)
        except KpiWizardError as error:
            show_error(error)
        else:
            apply_edit(
                lambda: with_scenario(workspace, scenario),
                f"Saved the scenario '{scenario.name}'.",
                reset=[f"driver_scenario_name_{top_id}"],
            )
    saved = [s for s in workspace.scenarios if s.kpi == top_id]
    if not saved:
        st.caption("Move some drivers and save them as a scenario to compare several side by side.")
        return
    names = {s.id: s.name for s in saved}
    chosen = st.multiselect(
        "Compare", list(names), format_func=names.__getitem__, key=_compare_state(top_id, list(names))
    )
    picked = [s for s in saved if s.id in chosen]
    if picked:
        try:
            results = compare_scenarios(workspace, top_id, picked, base.values)
        except KpiWizardError as error:  # not one scenario's fault: say so, and still offer Delete below
            show_error(error)
        else:
            _comparison(workspace, top_id, tree, base, picked, results, before)
    with st.popover("Delete a scenario"):
        doomed = st.selectbox("Scenario", list(names), format_func=names.__getitem__, key=f"driver_doomed_{top_id}")
        if st.button("Delete", key=f"driver_scenario_delete_{top_id}"):
            apply_edit(lambda: without_scenario(workspace, doomed), "Deleted the scenario.")


def _comparison(
    workspace: Workspace,
    top_id: str,
    tree: DriverNode,
    base: DriverBase,
    picked: list[Scenario],
    results: list[ScenarioResult],
    before: dict[str, float | None],
) -> None:
    """The side-by-side table: the base, then a column per scenario; a stale one's column says "stale"."""
    ids = tree.ids()
    table: dict[str, list[str]] = {"KPI": [_name(workspace, kpi_id) for kpi_id in ids]}
    table[f"Base ({base.label})"] = [value_text(workspace.kpi(k), before.get(k)) for k in ids]
    for result in results:
        column = result.name if result.name not in table else f"{result.name} ({result.scenario_id})"
        if result.stale is not None:
            table[f"{column} (stale)"] = [f"stale: {result.stale}" if k == top_id else "—" for k in ids]
            continue
        table[column] = [
            value_text(workspace.kpi(k), result.values[k][1])
            + (f" ({change_text(result.change)})" if k == top_id and result.change is not None else "")
            for k in ids
        ]
    st.dataframe(pd.DataFrame(table), hide_index=True, key="driver_scenario_table")
    for result in results:
        if result.stale is not None:
            st.warning(
                md_escape(
                    f"Scenario '{result.name}' ({result.scenario_id}) is stale, so it is not compared: "
                    f"{result.stale}; {STALE_SCENARIO_FIX}."
                ),
                icon=":material/warning:",
            )
    notes = [
        f"{md_escape(r.name)}: {md_escape(changes_text(workspace, r.changes) or 'no changes')}"
        for r in results
        if r.stale is None
    ]
    other_period = [s.name for s in picked if s.period and s.period != base.label]
    if other_period:
        notes.append(
            f"Saved on another base period, compared here on {base.label}: {md_escape(', '.join(other_period))}"
        )
    if notes:
        st.caption(" · ".join(notes))


def _compare_state(top_id: str, ids: list[str]) -> str:
    """The Compare multiselect's key, its state set before it is drawn: kept choices, plus new scenarios.

    A scenario saved (or loaded) since the last run is added to the comparison, and a deleted one
    dropped; what the person took out stays out.
    """
    key, seen_key = f"driver_compare_{top_id}", f"driver_compare_seen_{top_id}"
    seen = st.session_state.get(seen_key)
    chosen = st.session_state.get(key)
    if chosen is None or seen is None:
        st.session_state[key] = list(ids)
    else:
        st.session_state[key] = [i for i in chosen if i in ids] + [i for i in ids if i not in seen and i not in chosen]
    st.session_state[seen_key] = list(ids)
    return key


def driver_section(workspace: Workspace, engine: Engine) -> None:
    """A derived KPI's driver tree on one base period: move drivers, rank them, seek a target, keep scenarios."""
    decomposition_hints(workspace)
    compiler = Compiler(workspace)
    derived = {k.id: k for k in workspace.kpis if compiler.is_derived(k)}
    if not derived:
        st.info(
            "No derived KPI yet. Write one as arithmetic over other KPIs, e.g. "
            "`sessions * conversion_rate * average_order_value`."
        )
        return
    top_id = st.selectbox("Derived KPI", list(derived), format_func=lambda i: derived[i].name, key="driver_kpi")
    try:
        tree = driver_tree(workspace, top_id)
    except KpiWizardError as error:
        show_error(error)
        return
    base = _base(workspace, engine, top_id, tree)
    if base is None:
        st.graphviz_chart(_tree_dot(tree, workspace))
        return
    try:
        changes = _changes(workspace, top_id, tree, base)
        report = driver_report(workspace, top_id, base, changes=changes)
    except KpiWizardError as error:
        show_error(error)
        return
    if len(base.periods) == 1:
        headline = f"Every value below is from **{base.label}** ({base.how})"
    else:
        headline = (
            f"Every value below is an average over **{base.label}** ({len(base.periods)} {base.grain}s, {base.how})"
        )
    advice = base.partial_advice()
    if advice is None:
        st.info(headline + ".", icon=":material/calendar_month:")
    else:  # the partial state goes with the numbers, as loud as they are
        st.warning(f"{headline} **({base.partial_text})**: {md_escape(advice)}.", icon=":material/warning:")
    for note in base.notes:
        st.caption(f":material/info: {md_escape(note)}")
    for outside in report.domain_warnings:
        st.warning(md_escape(outside[:1].upper() + outside[1:]), icon=":material/warning:")
    if base.data_as_of:
        days = ", ".join(f"{md_escape(_name(workspace, k))} {day.isoformat()}" for k, day in base.data_as_of.items())
        st.caption(f"Data as of: {days}")
    st.graphviz_chart(_tree_dot(tree, workspace, {k: v[0] for k, v in report.values.items()}))
    _results_table(workspace, report.values, base)
    st.markdown(f"**Sensitivity:** the effect on the top KPI of +1% in each driver ({base.caption})")
    sens = [
        {
            "Driver": _name(workspace, s.driver),
            "Effect of +1%": change_text(s.relative, 2),
            "Elasticity": "—" if s.elasticity is None else signed(f"{s.elasticity:.2f}"),
        }
        for s in report.sensitivities
    ]
    st.dataframe(pd.DataFrame(sens), hide_index=True, key="driver_sensitivity")
    _goal_seek(workspace, top_id, tree, base, changes)
    _scenarios(workspace, top_id, tree, base, changes, {k: v[0] for k, v in report.values.items()})

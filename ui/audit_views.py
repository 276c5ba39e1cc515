"""The Audit page's pieces: the kept import notes, the summary, the verdict per KPI, the findings and the exports."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from kpi_model.checks import AuditReport, Finding, Severity
from kpi_model.checks.base import ObjectRef
from kpi_model.checks.verdict import KpiVerdict, Reason, Verdict
from kpi_model.models import Workspace
from ui import state
from ui.feedback import capitalised, md_escape, plural
from ui.register_import import without_cli

_SEVERITY_BADGE = {
    Severity.ERROR: ":red-badge[error]",
    Severity.WARNING: ":orange-badge[warning]",
    Severity.INFO: ":gray-badge[info]",
}
_VERDICT_BADGE = {
    Verdict.KEEP: ":green-badge[keep]",
    Verdict.FIX: ":orange-badge[fix]",
    Verdict.VANITY: ":violet-badge[vanity]",
    Verdict.DROP: ":red-badge[drop]",
}
_OF_UNIT = re.compile(r"^of unit '[^']*' \([^)]*\) ")  # "of unit 'Finance' (finance) pulls against …"
_VERDICT_ROWS = 30  # rows drawn at once; a filter narrows a bigger register
_AUDITED = "audit_last_workspace"


def import_notes() -> None:
    """What the import that made the open workspace could not map, one line each, until dismissed.

    Kept in the store beside the workspace, so a browser reload (a new session) still shows them.
    """
    kept = state.import_notes()
    if kept is None or not kept.notes:
        return
    more = f" (and {kept.dropped} more, not kept)" if kept.dropped else ""
    label = f"Import notes for {md_escape(kept.source)} ({len(kept.notes)}{more}): what could not be mapped as written"
    with st.expander(label, expanded=False):
        st.markdown("\n".join(f"- {md_escape(without_cli(note))}" for note in kept.notes))
        if st.button("Dismiss these notes", key="audit_dismiss_notes", icon=":material/done_all:"):
            state.dismiss_import_notes()
            st.rerun()


def forget_filters_of_another_workspace() -> None:
    """Filters chosen for one workspace must not silently hide findings of the next one."""
    workspace = state.workspace()
    current = workspace.name if workspace else None
    if st.session_state.get(_AUDITED) != current:
        for key in ("audit_only", "audit_ignore"):
            st.session_state.pop(key, None)
        st.session_state[_AUDITED] = current


def summary(report: AuditReport) -> None:
    """Scores, counts by severity, and counts by unit.

    The design score's change is shown once, under Before and after, against a saved version the user
    picks; a second "since last audit" change here measured from another baseline and disagreed with it.
    """
    score_col, data_col, error_col, warning_col, info_col = st.columns(5)
    score_col.metric(
        "Design score",
        f"{report.design:.1f}/100",
        help="How well each KPI is set up — owner, goal, target, cadence, formula — averaged over the KPIs; "
        "findings about the set as a whole lower it further. Its change is under Before and after.",
    )
    if report.data_score is not None:
        data_col.metric(
            "Data score",
            f"{report.data_score:.1f}/100",
            help=f"{report.data_score:.2f}/100: whether the loaded data bears the KPIs out (enough rows, "
            "clean values, formulas that run).",
        )
    else:
        data_col.metric("Data score", "not run", help="The data checks need the data: load it on the Data page.")
    error_col.metric("Errors", report.count(Severity.ERROR))
    warning_col.metric("Warnings", report.count(Severity.WARNING))
    info_col.metric("Notes", report.count(Severity.INFO))
    design = f"Design score {report.design:.2f}/100 to two decimals, as Before and after compares it"
    if report.data_score is not None:
        st.caption(f"{design} · data score {report.data_score:.2f}/100 (whether the data bears the KPIs out).")
    else:
        st.caption(f"{design} · data checks not run — load data on the Data page.")
    st.caption(
        "Adding goals or KPIs can add findings of their own (a goal with too few KPIs, a new KPI without an "
        "owner), so the score can fall while the set grows, even as old findings are fixed."
    )
    names = {u.id: u.name for u in report.workspace.units}
    rows = [
        {"Unit": names.get(unit, unit) or "Across the set", **{s.value: counts.get(s.value, 0) for s in Severity}}
        for unit, counts in report.unit_counts().items()
    ]
    if rows:
        frame = pd.DataFrame(rows).rename(columns={"error": "Errors", "warning": "Warnings", "info": "Notes"})
        st.dataframe(frame, hide_index=True, key="audit_by_unit")


def verdict_section(report: AuditReport) -> None:
    """Keep, fix, vanity or drop per KPI, for the board: counts, then one row per KPI with its reasons and an Edit."""
    judged = report.verdicts()
    if not judged:
        return
    st.subheader("Verdict per KPI")
    st.caption("What to tell the board about each KPI, decided by the errors and warnings about it.")
    counts = report.verdict_counts()
    for column, verdict in zip(st.columns(len(Verdict)), Verdict, strict=True):
        column.metric(verdict.value.capitalize(), counts[verdict.value])
        column.caption(verdict.meaning[0].upper() + verdict.meaning[1:])
    filter_col, find_col = st.columns([2, 1])
    wanted = filter_col.pills(
        "Show",
        [v.value for v in Verdict],
        selection_mode="multi",
        key="audit_verdict_filter",
        help="None picked: all KPIs.",
    )
    rows = [v for v in judged.values() if not wanted or v.verdict.value in wanted]
    if len(judged) > _VERDICT_ROWS:
        needle = find_col.text_input("Find a KPI", key="audit_verdict_find", placeholder="part of its name")
        needle = needle.strip().casefold()
        if needle:
            rows = [v for v in rows if needle in v.name.casefold() or needle in v.kpi_id]
    if not rows:
        st.info("No KPI with this verdict.")
        return
    widths = [3, 2, 1, 6, 1.4]
    for column, title in zip(st.columns(widths), ("KPI", "Unit", "Verdict", "Why", ""), strict=True):
        column.markdown(f"**{title}**" if title else "")
    for judged_kpi in rows[:_VERDICT_ROWS]:
        _verdict_row(report, judged_kpi, widths)
    if len(rows) > _VERDICT_ROWS:
        st.caption(
            f"The first {_VERDICT_ROWS} of {plural(len(rows), 'KPI')}: pick a verdict or find a KPI to see the rest, "
            "or download the verdicts (Export, below)."
        )


def plain_reason(reason: Reason) -> str:
    """A finding's message as a short sentence for a row that already names the KPI and its unit."""
    return capitalised(_OF_UNIT.sub("", reason.short, count=1))


def _reason_line(reason: Reason) -> str:
    text = plain_reason(reason)
    return f"{md_escape(text)} :small[:gray[{reason.slug}]]"


def _verdict_row(report: AuditReport, verdict: KpiVerdict, widths: list[float]) -> None:
    ws = report.workspace
    kpi = ws.kpi(verdict.kpi_id)
    unit = ws.unit_of_kpi(kpi) if kpi else None
    name_col, unit_col, verdict_col, why_col, edit_col = st.columns(widths)
    name_col.markdown(f"**{md_escape(verdict.name)}**")
    unit_col.markdown(md_escape(unit.name) if unit else ":gray[no unit]")
    verdict_col.markdown(_VERDICT_BADGE[verdict.verdict])
    if verdict.verdict == Verdict.KEEP:
        why_col.markdown(":gray[No errors or warnings.]")
        return
    lines = [_reason_line(reason) for reason in verdict.reasons[:3]]
    more = len(verdict.reasons) - 3 + len(verdict.also)
    if more > 0:
        lines.append(f":gray[and {plural(more, 'more finding')}, listed under Findings]")
    why_col.markdown("  \n".join(lines))
    top = verdict.reasons[0]
    finding = next(
        (
            f
            for f in report.findings
            if f.object.kind == "kpi" and f.object.id == verdict.kpi_id and f.message == top.message
        ),
        None,
    )
    if finding is not None and edit_col.button(
        "Edit",
        key=f"audit_verdict_edit_{verdict.kpi_id}",
        icon=":material/edit:",
        help=f"Open {md_escape(verdict.name)}",
    ):
        _jump_to_edit(ws, finding)


def finding_subject(ws: Workspace, finding: Finding, *, kpi_goal: bool = True) -> str:
    """What a finding is about, in bold Markdown: a KPI (with its goal), a goal, a unit, the whole set."""
    kind, object_id = finding.object.kind, finding.object.id
    if kind == "kpi" and (kpi := ws.kpi(object_id)):
        if not kpi_goal:
            return f"**{md_escape(kpi.name)}**"
        goal = ws.goal(kpi.goal) if kpi.goal else None
        where = f" (goal: {goal.statement})" if goal else " (no goal)"
        return f"KPI **{md_escape(kpi.name)}**{md_escape(where)}"
    if kind == "goal" and (goal := ws.goal(object_id)):
        return f"Goal **{md_escape(goal.statement)}**"
    if kind == "unit" and (unit := ws.unit(object_id)):
        return f"Unit **{md_escape(unit.name)}**"
    if kind == "workspace":
        return "**The whole set**"
    return f"{md_escape(kind.capitalize())} **{md_escape(object_id)}**"


def _placer(report: AuditReport) -> Callable[[Finding], tuple[int, int, int, int]]:
    """Sort key: the unit's own findings, then goal by goal in file order, each goal's KPIs in order."""
    ws = report.workspace
    goal_order = {g.id: i for i, g in enumerate(ws.goals)}
    kpi_order = {k.id: i for i, k in enumerate(ws.kpis)}
    return lambda finding: _place(ws, goal_order, kpi_order, finding)


def _place(
    ws: Workspace, goal_order: dict[str, int], kpi_order: dict[str, int], finding: Finding
) -> tuple[int, int, int, int]:
    ref = finding.object
    if ref.kind == "kpi":
        kpi = ws.kpi(ref.id)
        goal_rank = goal_order.get(kpi.goal or "", len(goal_order)) if kpi else len(goal_order)
        return (1, goal_rank, kpi_order.get(ref.id, 0), -finding.severity.rank)
    if ref.kind == "goal":
        return (1, goal_order.get(ref.id, 0), -1, -finding.severity.rank)
    return (0, 0, 0, -finding.severity.rank)


def findings_section(report: AuditReport, findings: list[Finding]) -> None:
    """Findings by unit → goal → KPI, each with its fix and, for KPIs, a jump to edit it."""
    groups: dict[str, list[Finding]] = {}
    for finding in sorted(findings, key=_placer(report)):
        groups.setdefault(report.unit_of(finding.object) or "", []).append(finding)
    order = [u.id for u in report.workspace.units if u.id in groups] + ([""] if "" in groups else [])
    for position, unit_id in enumerate(order):
        unit = report.workspace.unit(unit_id)
        title = unit.name if unit else "Across the set"
        with st.expander(f"{md_escape(title)} — {plural(len(groups[unit_id]), 'finding')}", expanded=position == 0):
            for index, finding in enumerate(groups[unit_id]):
                _finding_row(report, finding, f"{unit_id}_{index}")


def _finding_row(report: AuditReport, finding: Finding, key: str) -> None:
    text_col, action_col = st.columns([6, 1])
    text_col.markdown(
        f"{_SEVERITY_BADGE[finding.severity]} `{finding.slug}` · {finding_subject(report.workspace, finding)}  \n"
        f"{md_escape(finding.message)}  \n**Fix:** {md_escape(finding.fix)}"
    )
    ws, ref = report.workspace, finding.object
    if ref.kind == "workspace":
        _set_finding_edit(ws, finding, action_col, key)
        return
    lookup = {"kpi": ws.kpi, "goal": ws.goal, "unit": ws.unit}.get(ref.kind)
    if lookup is None or lookup(ref.id) is None:
        return
    if action_col.button("Edit", key=f"audit_edit_{key}", icon=":material/edit:"):
        _jump_to_edit(ws, finding)


def _set_finding_edit(ws: Workspace, finding: Finding, column: DeltaGenerator, key: str) -> None:
    """An Edit for a finding about the set as a whole, leading to where it is fixed: the first object it names.

    Units without heads → the first such unit on Goals (Units); KPIs without review dates → the first KPI's card.
    """
    target: Finding | None = None
    if finding.slug == "missing-owner" and (unit := next((u for u in ws.units if not u.owner), None)):
        target, where = replace(finding, object=ObjectRef("unit", unit.id)), f"Goals → Units: {unit.name}"
    elif finding.slug == "stale-review" and (kpi := next((k for k in ws.kpis if not k.review_date), None)):
        target, where = replace(finding, object=ObjectRef("kpi", kpi.id)), f"KPIs: {kpi.name}, Last reviewed"
    if target is not None and column.button(
        "Edit", key=f"audit_edit_{key}", icon=":material/edit:", help=f"Open {md_escape(where)}"
    ):
        _jump_to_edit(ws, target)


def _jump_to_edit(ws: Workspace, finding: Finding) -> None:
    """Open what ``finding`` is about for editing: a KPI's card, a goal's KPIs, or a unit on Goals."""
    ref = finding.object
    kpi = ws.kpi(ref.id) if ref.kind == "kpi" else None
    goal = ws.goal(ref.id) if ref.kind == "goal" else None
    unit = ws.unit(ref.id) if ref.kind == "unit" else None
    st.session_state["kpis_from_audit"] = ref.id
    st.session_state["kpis_audit_finding"] = finding.as_dict()
    if unit is not None:  # units are edited on the Goals page, under Units
        st.session_state["goals_view_shown"] = "Units"
        st.session_state["edit_unit_chosen"] = unit.id
        st.switch_page("pages/goals.py")
    # A goal's findings are about its set of KPIs, so both jump to the KPIs page.
    st.session_state["kpis_scroll_top"] = True  # the card is at the top of the KPIs page
    if kpi is not None:
        st.session_state["kpi_goal_choice"] = kpi.goal if kpi.goal and ws.goal(kpi.goal) else "__no_goal__"
        st.session_state["kpis_open_card"] = kpi.id
    elif goal is not None:
        st.session_state["kpi_goal_choice"] = goal.id
    st.switch_page("pages/kpis.py")


def exports(report: AuditReport) -> None:
    """The findings as CSV, JSON and Markdown; the verdicts as CSV."""
    stem = "kpi-audit"
    csv_col, json_col, md_col, verdicts_col = st.columns(4)
    csv_col.download_button(
        "Findings as CSV", report.to_csv(), file_name=f"{stem}.csv", mime="text/csv", key="audit_csv"
    )
    json_col.download_button(
        "Findings as JSON", report.to_json(), file_name=f"{stem}.json", mime="application/json", key="audit_json"
    )
    md_col.download_button(
        "Report as Markdown", report.to_markdown(), file_name=f"{stem}.md", mime="text/markdown", key="audit_md"
    )
    verdicts_col.download_button(
        "Verdicts as CSV",
        report.verdicts_csv(),
        file_name=f"{stem}-verdicts.csv",
        mime="text/csv",
        key="audit_verdicts_csv",
        help="One row per KPI: its verdict, scores and reasons.",
    )

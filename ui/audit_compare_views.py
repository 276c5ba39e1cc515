"""The Audit page's before and after: the open set against one of its saved versions (by default the import).

Re-computed on every run from the store's versions and the open workspace, so after fixes made through
Edit the page shows what they fixed as soon as the user comes back.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd
import streamlit as st

from kpi_model.checks import AuditReport, Finding, audit
from kpi_model.checks.compare import AuditComparison, compare
from kpi_model.checks.verdict import Reason
from kpi_model.engine import Engine
from kpi_model.errors import KpiWizardError
from kpi_model.models import Workspace
from kpi_model.store import Version
from ui import state
from ui.audit_views import finding_subject, plain_reason
from ui.feedback import md_escape, plural, show_error

_LISTED = 200  # findings listed per group; the Markdown download has them all
_IMPORTED = "Imported from"
_KEPT = "audit_compare_earlier"  # (what was audited, its report): one entry
_VERSIONS = "audit_compare_versions"  # ((workspace id, current version's fingerprint), its versions)


def _versions(workspace_id: str) -> list[Version]:
    """The saved versions, newest first; read again only after a save (listing parses every kept version)."""
    key = (workspace_id, state.store().current_hash(workspace_id))
    kept = st.session_state.get(_VERSIONS)
    if kept is None or kept[0] != key:
        kept = (key, state.store().versions(workspace_id))
        st.session_state[_VERSIONS] = kept
    return kept[1]


def _label(version: Version) -> str:
    return f"{version.saved:%d %b %Y, %H:%M:%S} — {version.note or plural(version.kpi_count, 'KPI')}"


def _default(older: list[Version]) -> int:
    """The version the import saved (the oldest so noted), or else the one before the current."""
    imported = [i for i, v in enumerate(older) if v.note.startswith(_IMPORTED)]
    return imported[-1] if imported else 0


def before_after(report: AuditReport, *, engine: Engine | None, ignored: Collection[str]) -> None:
    """Pick a saved version; show the design score then and now, the findings fixed, new and remaining."""
    st.subheader("Before and after")
    workspace_id = state.workspace_id()
    versions = _versions(workspace_id) if workspace_id else []
    older = versions[1:]  # the newest saved version is the open one
    if not older:
        st.caption(
            "No earlier version to compare with yet. Each change you save (through Edit, say) is kept as a "
            "version; come back here to see what it fixed."
        )
        return
    labels: dict[str, str] = {v.id: _label(v) for v in older}
    chosen = st.selectbox(
        "Compared with",
        [v.id for v in older],
        index=_default(older),
        format_func=lambda version_id: labels[version_id],
        key="audit_compare_with",
        help="A saved version of this workspace; preselected: the import's, or else the one before now.",
    )
    if chosen is None or workspace_id is None:
        return
    try:
        with st.spinner("Auditing the earlier version…"):
            comparison = compare(_earlier(workspace_id, chosen, report, engine, ignored), report)
    except KpiWizardError as error:
        show_error(error, headline="The earlier version could not be audited.")
        return
    _scores(comparison)
    _changes(comparison)
    st.download_button(
        "Before and after as Markdown",
        comparison.to_markdown(),
        file_name="kpi-audit-before-after.md",
        mime="text/markdown",
        key="audit_compare_md",
    )


def _data_stamp() -> tuple[int, ...]:
    """Changes when the open workspace's loaded data does (its database file and write-ahead log)."""
    data = state.datastore()
    if data is None:
        return ()
    files = (data.db_path, data.db_path.with_name(data.db_path.name + ".wal"))
    return tuple(n for f in files if f.is_file() for n in (f.stat().st_mtime_ns, f.stat().st_size))


def _earlier(
    workspace_id: str, version_id: str, report: AuditReport, engine: Engine | None, ignored: Collection[str]
) -> AuditReport:
    """The earlier version audited as the open one was (same data, skipped rules and day); kept for the next run.

    With data the audit takes a few tenths of a second, and the page reruns on every click.
    """
    key = (
        workspace_id,
        version_id,
        tuple(sorted(ignored)),
        report.audited_on.isoformat(),
        _data_stamp() if report.ran_with_data else None,
    )
    kept = st.session_state.get(_KEPT)
    if kept is not None and kept[0] == key:
        return kept[1]
    old = state.store().load_version(workspace_id, version_id)
    earlier = audit(old, engine=engine if report.ran_with_data else None, ignore=set(ignored), today=report.audited_on)
    st.session_state[_KEPT] = (key, earlier)
    return earlier


def _scores(comparison: AuditComparison) -> None:
    change = comparison.design_change
    score_col, fixed_col, new_col, remaining_col = st.columns(4)
    score_col.metric(
        "Design score, then → now",
        f"{comparison.old.design:.2f} → {comparison.new.design:.2f}",
        delta=f"{change:+.2f} points" if change else None,
        help="Two decimals: in a register of many KPIs one fix moves the score by a fraction of a point.",
    )
    fixed_col.metric("Fixed", len(comparison.fixed), help="Findings of the earlier version that are gone now.")
    new_col.metric("New", len(comparison.new_findings), help="Findings the earlier version did not have.")
    remaining_col.metric("Remaining", len(comparison.remaining), help="Findings in both versions.")
    if comparison.data_change is not None:
        assert comparison.old.data_score is not None and comparison.new.data_score is not None
        st.caption(
            f"Data score {comparison.old.data_score:.2f} → {comparison.new.data_score:.2f} "
            f"({comparison.data_change:+.2f}), on the data loaded now."
        )
    elif not comparison.new.ran_with_data:
        st.caption("Data checks not run — load data on the Data page to compare the data score too.")


def _lines(ws: Workspace, findings: list[Finding]) -> str:
    lines = []
    for finding in findings[:_LISTED]:
        text = plain_reason(Reason.of(finding))
        lines.append(
            f"- {finding_subject(ws, finding, kpi_goal=False)} — {md_escape(text)} :small[:gray[{finding.slug}]]"
        )
    if len(findings) > _LISTED:
        lines.append(f"- … and {len(findings) - _LISTED} more: download the Markdown below for them all.")
    return "\n".join(lines)


def _changes(comparison: AuditComparison) -> None:
    groups = (
        ("Fixed", comparison.fixed, comparison.old.workspace, "Nothing fixed yet: use Edit next to a finding."),
        ("New", comparison.new_findings, comparison.new.workspace, "No new findings."),
        ("Remaining", comparison.remaining, comparison.new.workspace, "Nothing remains."),
        ("Gone with removed objects", comparison.gone_with_removed, comparison.old.workspace, ""),
    )
    for title, findings, ws, empty in groups:
        if not findings and not empty:
            continue
        with st.expander(f"{title} — {plural(len(findings), 'finding')}", expanded=title == "Fixed"):
            st.markdown(_lines(ws, findings) if findings else empty)
    new_ws, old_ws = comparison.new.workspace, comparison.old.workspace
    if comparison.kpis_added or comparison.kpis_removed:
        added = [md_escape(k.name) for k in new_ws.kpis if k.id in comparison.kpis_added]
        removed = [md_escape(k.name) for k in old_ws.kpis if k.id in comparison.kpis_removed]
        st.caption(
            "; ".join(
                part
                for part in (
                    f"KPIs added: {', '.join(added)}" if added else "",
                    f"KPIs removed: {', '.join(removed)}" if removed else "",
                )
                if part
            )
        )
    if not comparison.verdict_changes:
        st.caption("No KPI's verdict changed.")
        return
    st.markdown(f"**Verdict changes** ({len(comparison.verdict_changes)})")
    rows = [
        {"KPI": c.name, "Then": c.before.value, "Now": c.after.value, "Why now": c.why}
        for c in comparison.verdict_changes
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="audit_verdict_changes")

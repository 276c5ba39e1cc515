"""The words of an alert: which KPI, value and period, the line crossed, the trend, owner and action."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from kpi_model.alerts.channels import Message
from kpi_model.alerts.evaluation import SEVERITY, KpiReading
from kpi_model.status import STATUS_LABELS, Status

SUBJECT_PREFIX = "KPI Wizard"


@dataclass(frozen=True)
class Change:
    """A KPI whose status changed since the last check: what an alert is about."""

    reading: KpiReading
    previous: Status | None  # None: the first check that judged it

    @property
    def kind(self) -> str:
        """``red`` or ``amber`` when it entered one, ``recovered`` when back to green."""
        assert self.reading.status is not None
        return "recovered" if self.reading.status == Status.GREEN else self.reading.status.value

    @property
    def words(self) -> str:
        """``'entered amber'``, ``'worsened to red'``, ``'recovered to green'``, ``'improved to amber'``."""
        now = self.reading.status
        assert now is not None
        if now == Status.GREEN:
            return "recovered to green"
        if self.previous is None or self.previous in (Status.GREEN, Status.UNKNOWN):
            return f"entered {now.value}"
        return f"{'worsened' if SEVERITY[now] > SEVERITY[self.previous] else 'improved'} to {now.value}"


def change_text(previous: Status | None, now: Status | None, *, first_check: bool) -> str:
    """The "change since the last check" column: ``new``, ``same``, ``green → amber``."""
    if now is None:
        return "—"
    if previous is None:
        return "first check" if first_check else "new"
    return "same" if previous == now else f"{previous.value} → {now.value}"


def kpi_link(app_url: str | None, kpi_id: str) -> str | None:
    """The KPI's page in the app: ``<app_url>/kpis?kpi=<id>``, keeping the address's own query (``ws``)."""
    if not app_url:
        return None
    parts = urlsplit(app_url)
    query = [*parse_qsl(parts.query), ("kpi", kpi_id)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/kpis", urlencode(query), ""))


def _lines(change: Change, app_url: str | None) -> list[str]:
    r = change.reading
    was = f" (was {change.previous.value})" if change.previous not in (None, Status.UNKNOWN) else ""
    lines = [
        f"{r.name} ({r.kpi_id}) {change.words}{was}: {r.value_text} in {r.period}.",
        f"Why: {r.reason}.",
        f"Thresholds: {r.thresholds}. Target: {'none set' if r.target == '—' else r.target}.",
        f"Trend: {r.trend or 'no earlier complete period to compare'}.",
        f"Owner: {_clause(r.owner) or 'nobody yet: set owner'}.",
        f"Agreed action: {_clause(r.action) or 'none agreed yet: set action'}.",
    ]
    if r.data_as_of:
        lines.append(f"Data as of {r.data_as_of}; only complete periods are judged.")
    if link := kpi_link(app_url, r.kpi_id):
        lines.append(f"Open in KPI Wizard: {link}")
    return lines


def _clause(text: str | None) -> str | None:
    """Text people wrote, without its own full stop: the message adds one (no "budget..")."""
    return text.rstrip().rstrip(".") if text else text


def _slack_safe(text: str) -> str:
    # Slack and Teams read <…> as links and mentions (<!channel>); a KPI name must not ping anyone.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _record(r: KpiReading, change: Change | None, app_url: str | None) -> dict[str, Any]:
    """A KPI's data for a webhook; ``change`` None (a digest's KPI that did not change): no change to report."""
    return {
        "kpi": r.kpi_id,
        "name": r.name,
        "status": r.status.value if r.status else None,
        "previous_status": change.previous.value if change and change.previous else None,
        "change": change.words if change else None,
        "period": r.period,
        "value": r.value,
        "value_text": r.value_text,
        "reason": r.reason,
        "thresholds": r.thresholds,
        "target": r.target,
        "trend": r.trend,
        "owner": r.owner,
        "action": r.action,
        "data_as_of": r.data_as_of,
        "link": kpi_link(app_url, r.kpi_id),
    }


def alert_message(change: Change, workspace_name: str, app_url: str | None = None) -> Message:
    """The message about one KPI's change; its owner's e-mail, when set, is an extra recipient."""
    r = change.reading
    subject = f"{SUBJECT_PREFIX}: {r.name} {change.words} ({r.value_text} in {r.period})"
    body = [*_lines(change, app_url), "", f"Workspace: {workspace_name}"]
    text = "\n".join(body) + "\n"
    payload = {
        "text": _slack_safe(f"{subject}\n" + "\n".join(body[1:])),
        "kpi_wizard": {"workspace": workspace_name, "kind": change.kind, "alerts": [_record(r, change, app_url)]},
    }
    return Message(subject, text, payload, (r.owner_email,) if r.owner_email else ())


def combined_message(changes: list[Change], workspace_name: str, app_url: str | None = None) -> Message:
    """One message for many changes at once (a new data load can move half the KPIs), each as its alert says it."""
    kinds = {kind: sum(c.kind == kind for c in changes) for kind in ("red", "amber", "recovered")}
    summary = ", ".join(f"{n} {kind}" for kind, n in kinds.items() if n)
    subject = f"{SUBJECT_PREFIX}: {len(changes)} KPIs changed in {workspace_name} ({summary})"
    lines = [f"{len(changes)} KPIs changed since the last check ({summary}).", ""]
    for change in changes:
        lines += [*_lines(change, app_url), ""]
    lines.append(f"Workspace: {workspace_name}")
    text = "\n".join(lines) + "\n"
    payload = {
        "text": _slack_safe(f"{subject}\n" + "\n".join(lines[2:])),
        "kpi_wizard": {
            "workspace": workspace_name,
            "kind": "combined",
            "alerts": [_record(c.reading, c, app_url) for c in changes],
        },
    }
    return Message(subject, text, payload)  # owners get their own KPIs' news: see owner_messages


def owner_messages(changes: list[Change], workspace_name: str, app_url: str | None = None) -> dict[str, Message]:
    """For a combined message or a digest: each owner's e-mail about their own KPIs only, by address.

    Sent as copies of the combined message, an owner would read every other KPI's news, and one
    mail to hundreds of owners would be refused by the mail server, the operators' copy with it.
    """
    by_owner: dict[str, list[Change]] = {}
    for change in changes:
        if change.reading.owner_email:
            by_owner.setdefault(change.reading.owner_email, []).append(change)
    return {
        owner: replace(
            alert_message(own[0], workspace_name, app_url)
            if len(own) == 1
            else combined_message(own, workspace_name, app_url),
            recipients=(owner,),
            owner_only=True,
        )
        for owner, own in by_owner.items()
    }


def digest_message(
    readings: list[KpiReading], changes: list[Change], workspace_name: str, app_url: str | None = None
) -> Message:
    """One summary of every judged KPI, worst first, the changes since the last check marked."""
    judged = sorted((r for r in readings if r.judged), key=lambda r: -SEVERITY[r.status or Status.UNKNOWN])
    counts = {s: sum(r.status == s for r in judged) for s in (Status.RED, Status.AMBER, Status.GREEN)}
    changed = {c.reading.kpi_id: c for c in changes}
    summary = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n) or "no KPI judged"
    subject = f"{SUBJECT_PREFIX}: {workspace_name} — {summary}"
    lines = [f"{workspace_name}: {summary}.", ""]
    for r in judged:
        mark = f" [{changed[r.kpi_id].words}]" if r.kpi_id in changed else ""
        assert r.status is not None
        lines.append(f"- {r.status.value.upper()} {r.name}: {r.value_text} in {r.period} — {r.reason}{mark}")
        if r.status != Status.GREEN:
            owner, action = _clause(r.owner) or "—", _clause(r.action) or "—"
            lines.append(f"  owner: {owner}; action: {action}; trend: {r.trend or '—'}")
    skipped = [r for r in readings if not r.judged]
    if skipped:
        lines += [
            "",
            f"Not judged: {', '.join(r.kpi_id for r in skipped)} ({STATUS_LABELS[Status.UNKNOWN]}, "
            "no formula or no complete period).",
        ]
    text = "\n".join(lines) + "\n"
    payload = {
        "text": _slack_safe(f"{subject}\n" + "\n".join(lines[2:])),
        "kpi_wizard": {
            "workspace": workspace_name,
            "kind": "digest",
            "alerts": [_record(r, changed.get(r.kpi_id), app_url) for r in judged],
        },
    }
    return Message(subject, text, payload)


def trial_message(workspace_name: str, channel_label: str) -> Message:
    """A message that says only that the channel works."""
    subject = f"{SUBJECT_PREFIX}: test alert from {workspace_name}"
    text = f"This is a test alert from KPI Wizard ({workspace_name}) on {channel_label}. It works.\n"
    payload = {
        "text": _slack_safe(text.strip()),
        "kpi_wizard": {"workspace": workspace_name, "kind": "test", "alerts": []},
    }
    return Message(subject, text, payload)

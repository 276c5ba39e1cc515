"""One check: compare readings with the last run, send what changed, retry what failed, remember."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from kpi_model.alerts.channels import DeliveryError, DeliveryPolicy, Message, channel_key, channel_label, deliver
from kpi_model.alerts.evaluation import SEVERITY, KpiReading
from kpi_model.alerts.messages import (
    Change,
    alert_message,
    change_text,
    combined_message,
    digest_message,
    owner_messages,
    trial_message,
)
from kpi_model.alerts.state import (
    AlertState,
    LogEntry,
    Pending,
    load_state,
    now_text,
    save_state,
    set_aside,
    state_lock,
)
from kpi_model.errors import KpiWizardError
from kpi_model.models import MAX_ALERT_RECIPIENTS, AlertChannel, AlertOn, Workspace
from kpi_model.status import Status

FLOOD_LIMIT = 10  # changes on one channel in one run beyond which they go as one combined message
MAX_ATTEMPTS = 20  # runs a failed message is retried on before it is given up (and logged so)
# Messages kept for a retry, at most: the most one run can add (20 channels, 10 messages each). Beyond
# it the oldest are given up, so a channel down for weeks (or a planted state file) cannot flood it.
MAX_PENDING = 200
# Owners' own mails per channel in one run (beside a combined message or a digest), as many as a `to:`
# list may hold: a workspace of 2,000 KPIs with 2,000 owners must not make one check a mail cannon.
MAX_OWNER_MESSAGES = MAX_ALERT_RECIPIENTS


@dataclass(frozen=True)
class Outcome:
    """One message on one channel, and how its delivery went (``error`` None when sent)."""

    channel: str
    kind: str
    kpis: tuple[str, ...]
    subject: str
    error: str | None = None
    retry: bool = False  # a message from an earlier run, tried again
    given_up: bool = False  # failed for the last time: not kept any more


@dataclass
class CheckRun:
    """What a check found and did: readings, changes, messages sent or failed, and problems to report."""

    readings: list[KpiReading]
    changes: dict[str, str]  # kpi id -> "green → amber", "same", "new" …
    alerts: list[Change]
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def sent(self) -> list[Outcome]:
        """Messages delivered in this run."""
        return [o for o in self.outcomes if o.error is None]

    @property
    def failed(self) -> list[Outcome]:
        """Messages that failed in this run (kept for the next one)."""
        return [o for o in self.outcomes if o.error is not None]

    def worst(self) -> Status | None:
        """The worst judged status, or None when no KPI was judged."""
        judged = [r.status for r in self.readings if r.judged and r.status is not None]
        return max(judged, key=lambda s: SEVERITY[s]) if judged else None


def _wants(channel: AlertChannel, change: Change) -> bool:
    return AlertOn(change.kind) in channel.on


def _kind_of(changes: list[Change]) -> str:
    """How the log names a message about these changes: ``alert``, ``recovery`` or ``combined``."""
    if len(changes) > 1:
        return "combined"
    return "recovery" if changes[0].kind == "recovered" else "alert"


def changes_since(readings: list[KpiReading], state: AlertState) -> tuple[dict[str, str], list[Change]]:
    """The change column for every KPI, and the KPIs that entered amber or red or recovered to green.

    A KPI that is not judged this run (no complete period, a formula that failed) keeps its last
    status: a gap in the data is not a recovery, and its return is not news.
    """
    first_check = state.last_check is None
    columns: dict[str, str] = {}
    alerts: list[Change] = []
    for reading in readings:
        kept = state.statuses.get(reading.kpi_id, {}).get("status")
        previous = Status(kept) if kept in {s.value for s in Status} else None
        columns[reading.kpi_id] = change_text(
            previous, reading.status if reading.judged else None, first_check=first_check
        )
        if not reading.judged or reading.status == previous:
            continue
        if reading.status in (Status.AMBER, Status.RED):
            alerts.append(Change(reading, previous))
        elif reading.status == Status.GREEN and previous in (Status.AMBER, Status.RED):
            alerts.append(Change(reading, previous))
    return columns, alerts


def _attempt(
    channel: AlertChannel,
    message: Message,
    kind: str,
    kpis: list[str],
    policy: DeliveryPolicy,
    state: AlertState,
    now: str,
    *,
    index: int,
    unreachable: set[int],
    pending: Pending | None = None,
) -> Outcome:
    """Deliver one message, or keep it for the next run; ``unreachable`` holds the channels not to try again.

    A channel whose server could not be reached (or did not answer in time) is not tried again in
    the same run: each message would wait as long. Its messages are kept; only tries count as attempts.
    """
    label = channel_label(channel)
    retry = pending is not None
    if pending is not None:  # the channel may have been fixed since: its settings name it from now on
        pending.channel, pending.label, pending.index = channel_key(channel), label, index
    tried = index not in unreachable
    try:
        if not tried:
            raise DeliveryError(f"not tried: {label} could not be reached earlier in this run")
        deliver(channel, message, policy)
    except DeliveryError as error:
        if error.unreachable:
            unreachable.add(index)
        if pending is None:
            pending = Pending(
                channel=channel_key(channel),
                label=label,
                kind=kind,
                kpis=kpis,
                subject=message.subject,
                text=message.text,
                payload=message.payload,
                recipients=list(message.recipients),
                owner_only=message.owner_only,
                first_failed=now,
                attempts=0,
                index=index,
                medium=channel.channel,
            )
        pending.attempts += tried
        pending.error = str(error)
        given_up = pending.attempts > MAX_ATTEMPTS
        if not given_up:
            state.pending.append(pending)
        outcome = "given up" if given_up else "failed"
        state.record(LogEntry(now, label, kind, kpis, message.subject, outcome, str(error)))
        return Outcome(label, kind, tuple(kpis), message.subject, str(error), retry=retry, given_up=given_up)
    state.record(LogEntry(now, label, kind, kpis, message.subject, "retried" if retry else "sent"))
    return Outcome(label, kind, tuple(kpis), message.subject, retry=retry)


def _channel_of(waiting: Pending, channels: list[AlertChannel], by_key: dict[str, int]) -> int | None:
    """The index of the channel a kept message belongs to: same settings, else same place and kind.

    Matching by settings alone would drop a message the moment its broken channel is fixed (a new
    port is a new key), while the KPI's status is already remembered: the alert would never go out.
    """
    if waiting.channel in by_key:
        return by_key[waiting.channel]
    if 0 <= waiting.index < len(channels) and channels[waiting.index].channel == waiting.medium:
        return waiting.index
    return None


def _writable(path: Path) -> bool:
    """Whether the state file can be written: the file, or the nearest existing folder above it (made if missing)."""
    if path.is_file() and not path.is_symlink():
        return os.access(path, os.W_OK)
    if path.is_dir():
        return False
    # Missing, or not a plain file (a link, a FIFO): the check moves it aside and writes a new one in the folder.
    folder = path.absolute().parent
    while not folder.exists():
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK)


def run_check(
    workspace: Workspace,
    readings: list[KpiReading],
    state_path: Path | None,
    *,
    policy: DeliveryPolicy | None = None,
    digest: bool = False,
    dry_run: bool = False,
    now: dt.datetime | None = None,
) -> CheckRun:
    """Alert on what changed since the state at ``state_path`` and remember this run there.

    First the messages that failed last time are retried, then each change goes to every channel
    whose ``on`` lists it (``digest``: one summary per channel instead). A failed message is kept
    and retried on the next run; ``dry_run`` sends nothing and writes nothing. One check at a time
    per state file (:func:`~kpi_model.alerts.state.state_lock`).
    """
    if dry_run:
        return _check(workspace, readings, state_path, policy, digest, dry_run, now)
    if state_path is not None and not _writable(state_path):
        # Sent but not remembered would send the same alerts again on every run: stop before sending.
        raise KpiWizardError(
            f"cannot write the alert state file {state_path}: give --state FILE in a folder the check may write to"
        )
    with state_lock(state_path):
        return _check(workspace, readings, state_path, policy, digest, dry_run, now)


def _check(
    workspace: Workspace,
    readings: list[KpiReading],
    state_path: Path | None,
    policy: DeliveryPolicy | None,
    digest: bool,
    dry_run: bool,
    now: dt.datetime | None,
) -> CheckRun:
    policy = policy or DeliveryPolicy()
    stamp = now_text(now)
    state, problem = load_state(state_path)
    if problem and state_path is not None:
        # Kept for a look, never overwritten: it may be a file someone can still repair (or not a file at all).
        problem += "; " + ("a check that sends moves it aside" if dry_run else set_aside(state_path))
    columns, alerts = changes_since(readings, state)
    run = CheckRun(readings, columns, alerts, problems=[problem] if problem else [], dry_run=dry_run)
    by_key = {channel_key(c): i for i, c in enumerate(workspace.alerts)}
    app_url = policy.link_base(workspace.app_url)
    planned: list[tuple[int, AlertChannel, Message, str, list[str]]] = []
    for index, channel in enumerate(workspace.alerts):
        wanted = [c for c in alerts if _wants(channel, c)]
        if digest or len(wanted) > FLOOD_LIMIT:  # one message, not a flood that buries the red among the rest
            if digest:
                message = digest_message(readings, wanted, workspace.name, app_url)
                planned.append((index, channel, message, "digest", [r.kpi_id for r in readings if r.judged]))
            else:
                message = combined_message(wanted, workspace.name, app_url)
                planned.append((index, channel, message, "combined", [c.reading.kpi_id for c in wanted]))
            owners = list(owner_messages(wanted, workspace.name, app_url).items()) if channel.channel == "email" else []
            for owner, own in owners[:MAX_OWNER_MESSAGES]:
                mine = [c for c in wanted if c.reading.owner_email == owner]
                planned.append((index, channel, own, _kind_of(mine), [c.reading.kpi_id for c in mine]))
            if len(owners) > MAX_OWNER_MESSAGES:
                run.problems.append(
                    f"{channel_label(channel)}: {len(owners) - MAX_OWNER_MESSAGES} more owners get no message of "
                    f"their own in this run (at most {MAX_OWNER_MESSAGES} per channel); the message to the channel's "
                    "list names their KPIs"
                )
            continue
        for change in wanted:
            message = alert_message(change, workspace.name, app_url)
            planned.append((index, channel, message, _kind_of([change]), [change.reading.kpi_id]))
    if dry_run:
        run.outcomes = [Outcome(channel_label(c), kind, tuple(ids), m.subject) for _, c, m, kind, ids in planned]
        return run
    retries, state.pending = state.pending, []
    if len(retries) > MAX_PENDING:
        given_up, retries = retries[:-MAX_PENDING], retries[-MAX_PENDING:]
        reason = f"more than {MAX_PENDING} messages were waiting: the oldest are given up"
        for waiting in given_up:
            state.record(
                LogEntry(stamp, waiting.label, waiting.kind, waiting.kpis, waiting.subject, "given up", reason)
            )
        run.problems.append(f"{len(given_up)} kept messages were given up: {reason} (the state file's log lists them)")
    unreachable: set[int] = set()  # channels that could not be reached in this run
    for waiting in retries:
        found = _channel_of(waiting, workspace.alerts, by_key)
        if found is None:
            state.record(
                LogEntry(
                    stamp,
                    waiting.label,
                    waiting.kind,
                    waiting.kpis,
                    waiting.subject,
                    "given up",
                    "the channel is no longer in the workspace",
                )
            )
            run.problems.append(
                f"a message for {waiting.label} ({waiting.subject}) was dropped: that channel "
                "is no longer in the workspace"
            )
            continue
        message = Message(waiting.subject, waiting.text, waiting.payload, tuple(waiting.recipients), waiting.owner_only)
        run.outcomes.append(
            _attempt(
                workspace.alerts[found],
                message,
                waiting.kind,
                waiting.kpis,
                policy,
                state,
                stamp,
                index=found,
                unreachable=unreachable,
                pending=waiting,
            )
        )
    for index, channel, message, kind, ids in planned:
        run.outcomes.append(
            _attempt(channel, message, kind, ids, policy, state, stamp, index=index, unreachable=unreachable)
        )
    for reading in readings:
        if reading.judged and reading.status is not None:
            state.statuses[reading.kpi_id] = {
                "status": reading.status.value,
                "period": reading.period,
                "value": reading.value,
                "checked": stamp,
            }
    state.last_check = stamp
    if state_path is not None:
        save_state(state_path, state)
    return run


def send_test_alert(
    workspace: Workspace, index: int, state_path: Path | None, *, policy: DeliveryPolicy | None = None
) -> Outcome:
    """Send a test message on the workspace's channel number ``index`` and log it (a failure is not retried)."""
    channel = workspace.alerts[index]
    label = channel_label(channel)
    message = trial_message(workspace.name, label)
    stamp = now_text()
    outcome = Outcome(label, "test", (), message.subject)
    try:
        deliver(channel, message, policy or DeliveryPolicy())
    except DeliveryError as error:
        outcome = Outcome(label, "test", (), message.subject, str(error))
    if state_path is not None:
        with state_lock(state_path):
            state, problem = load_state(state_path)
            if problem:
                set_aside(state_path)
            state.record(
                LogEntry(
                    stamp,
                    label,
                    "test",
                    [],
                    message.subject,
                    "failed" if outcome.error else "sent",
                    outcome.error or "",
                )
            )
            save_state(state_path, state)
    return outcome

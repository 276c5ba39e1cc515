"""The Alerts page's parts: channels with a test button, the log of sent alerts, review dates and a new cycle."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from urllib.parse import urlsplit

import streamlit as st

from kpi_model.alerts import (
    CheckRun,
    DeliveryPolicy,
    channel_label,
    evaluate,
    load_state,
    review_dates,
    run_check,
    send_test_alert,
    start_cycle,
    state_path_for,
)
from kpi_model.alerts.channels import (
    DOMAINS_VARIABLE,
    FROM_VARIABLE,
    HOSTS_VARIABLE,
    PUBLIC_URL_VARIABLE,
    SECRETS_VARIABLE,
    STANDARD_PORTS,
    on_this_machine,
)
from kpi_model.alerts.settings import settings_text, with_settings
from kpi_model.errors import KpiWizardError
from kpi_model.models import Target, Workspace
from kpi_model.status import kpi_value
from kpi_model.store import CURRENT_FILE
from ui import state
from ui.data_views import open_data
from ui.feedback import apply_edit, md_escape, plural, show_error

_LAST_TEST = "alerts_last_test"  # when this session last sent a test alert (time.monotonic())
TEST_ALERT_INTERVAL_S = 30.0
_NEW_TARGETS = "alerts_new_targets"  # KPI ids rebased by the last "Start a new cycle", awaiting targets
_SETTINGS = "alerts_settings"  # the channel editor's text area
_SETTINGS_OF = "alerts_settings_of"  # the workspace version the text area was filled from
SAVE_FIRST = (
    "Save the workspace first: on this team server an unsaved workspace (one opened from a file) is shared "
    "by every visitor, so its alerts would be theirs too. Saving makes it yours, with its own alert log."
)

EXAMPLE = """alerts:
  - {channel: email, to: [ops@example.com], on: [red], smtp: {host: mail.example.com, port: 25, from: kpi@example.com}}
  - {channel: webhook, url_env: KPI_WIZARD_SLACK_URL, on: [red, amber, recovered]}   # Slack/Teams JSON
app_url: https://kpi.example.com/?ws=ws-…   # alerts link to the KPI here
"""


def alert_state_path() -> Path | None:
    """The open workspace's alert state file, in its folder of the store (None when it has none of its own).

    A local server keeps an unsaved workspace's state in the folder of its opened files, which its
    first save (``state.commit``) carries over. A team server shares that folder between visitors, so
    an unsaved workspace there has no alert state at all (see :func:`must_save_first`).
    """
    if must_save_first():
        return None
    data = state.datastore()
    return None if data is None else state_path_for(data.folder / CURRENT_FILE)


def must_save_first() -> bool:
    """Whether alerts wait for the workspace's first save: an unsaved one on a team server."""
    return state.workspace_id() is None and state.access().is_private


def save_first_notice(workspace: Workspace) -> None:
    """The team server's "save first" notice, with a button that saves the open workspace as the visitor's own."""
    st.warning(SAVE_FIRST, icon=":material/save:")
    if st.button("Save this workspace", key="alerts_save_first", icon=":material/save:"):
        apply_edit(lambda: workspace, "Workspace saved: its alerts are yours now.")


def refused_unsaved() -> bool:
    """Show the "save first" message and say True when an alert action must not run on this workspace."""
    if not must_save_first():
        return False
    st.error(SAVE_FIRST, icon=":material/save:")
    return True


def test_alert_wait() -> float:
    """Seconds this session must wait before its next test alert (0: it may send now).

    A test alert goes out whatever changed, so without a limit a visitor could use a button as a
    mail cannon against the operator's server.
    """
    last = st.session_state.get(_LAST_TEST)
    return 0.0 if last is None else max(0.0, TEST_ALERT_INTERVAL_S - (time.monotonic() - last))


def operator_settings_missing(policy: DeliveryPolicy) -> list[str]:
    """The team server's alert settings its operator has not set (hosts, variables, domains, From)."""
    settings = {
        HOSTS_VARIABLE: policy.allowed_hosts,
        SECRETS_VARIABLE: policy.allowed_secrets,
        DOMAINS_VARIABLE: policy.allowed_domains,
        FROM_VARIABLE: policy.sender,
    }
    return [name for name, value in settings.items() if not value]


def channels_section(workspace: Workspace) -> None:
    """Each configured channel with a "Send a test alert" button; an example when there is none."""
    st.subheader("Channels")
    if not workspace.alerts:
        st.info(
            "No alert channels yet. Add them under **Edit channels** below, like this; secrets such as passwords "
            "and webhook addresses with tokens come from environment variables (`url_env`, `password_env`).",
            icon=":material/notifications_off:",
        )
        st.code(EXAMPLE, language="yaml")
        settings_editor(workspace)
        return
    policy = DeliveryPolicy.for_server()
    if policy.team and (unset := operator_settings_missing(policy)):
        st.info(
            "On this team server alerts go only through what the operator allows; not set yet: "
            f"{', '.join(unset)} (docs/alerts.md, Secrets).",
            icon=":material/admin_panel_settings:",
        )
    if policy.ignored_hosts:
        st.warning(
            f"{HOSTS_VARIABLE} names hosts without a port, which a team server does not use: "
            f"{md_escape(', '.join(sorted(policy.ignored_hosts)))}. The operator lists them as host:port "
            "(e.g. hooks.slack.com:443).",
            icon=":material/block:",
        )
    if not policy.allowed_hosts:
        webhook, mail = (" and ".join(map(str, STANDARD_PORTS[medium])) for medium in ("webhook", "email"))
        entries = (
            "host:port pairs (e.g. hooks.slack.com:443)"
            if policy.team
            else f"host:port, or a host alone for ports {webhook} (webhooks) and {mail} (mail)"
        )
        st.warning(
            f"This server sends alerts to no host yet: its operator lists the allowed hosts in {HOSTS_VARIABLE} "
            f"(comma-separated {entries}) when starting it. `kpi-wizard check` from a shell or cron sends anywhere.",
            icon=":material/block:",
        )
    for index, channel in enumerate(workspace.alerts):
        with st.container(border=True):
            on = ", ".join(o.value for o in channel.on)
            recipients = f" · to {md_escape(', '.join(channel.to))}" if channel.to else ""
            st.markdown(f"**{md_escape(channel_label(channel))}** · on {on}{recipients}")
            if channel.url and not on_this_machine(urlsplit(channel.url).hostname or ""):  # no token worth hiding
                st.caption(
                    "Its address is written in the workspace file: whoever can read the file can post to it. "
                    "If it holds a token, set it in an environment variable and name that in `url_env` instead."
                )
            if st.button("Send a test alert", key=f"alerts_test_{index}", icon=":material/send:"):
                if refused_unsaved():
                    continue
                if wait := test_alert_wait():
                    st.warning(
                        f"One test alert per {TEST_ALERT_INTERVAL_S:.0f} seconds: try again in {wait:.0f} s.",
                        icon=":material/timer:",
                    )
                    continue
                st.session_state[_LAST_TEST] = time.monotonic()
                with st.spinner("Sending…"):
                    outcome = send_test_alert(workspace, index, alert_state_path(), policy=policy)
                if outcome.error:
                    st.error(f"Not sent: {md_escape(outcome.error)}", icon=":material/error:")
                else:
                    st.success(f"Test alert sent via {md_escape(outcome.channel)}.", icon=":material/check_circle:")
    settings_editor(workspace)


def settings_editor(workspace: Workspace) -> None:
    """The workspace's ``alerts:`` and ``app_url`` as YAML to edit, validated as the file is and saved as a version.

    On a problem nothing is saved and the text stays as written, so it can be fixed in place.
    """
    written = settings_text(workspace)
    # A new version (or workspace) shows what it holds; so does a return from another page, which drops the widget.
    if st.session_state.get(_SETTINGS_OF) != written or _SETTINGS not in st.session_state:
        st.session_state[_SETTINGS] = written
        st.session_state[_SETTINGS_OF] = written
    with st.expander("Edit channels", expanded=not workspace.alerts, icon=":material/edit:"):
        st.caption(
            "The workspace's `alerts:` list and `app_url`, as in its file (docs/alerts.md). Write the *names* of "
            "environment variables for secrets (`url_env: KPI_WIZARD_SLACK_URL`, `password_env: …`), never the "
            "secrets: the server's operator sets the variables."
        )
        text = st.text_area("Alert settings (YAML)", key=_SETTINGS, height=220)
        if st.button("Save channels", key="alerts_save_settings", type="primary", icon=":material/save:"):
            try:
                changed = with_settings(workspace, text)
            except KpiWizardError as error:
                show_error(error, headline="Not saved — fix these and save again (your text is kept):")
                return
            if changed == workspace:
                st.info("Nothing to save: these are the workspace's settings already.", icon=":material/info:")
                return
            apply_edit(lambda: changed, "Alert settings saved as a new version.", reset=[_SETTINGS_OF])


def link_notice(workspace: Workspace, policy: DeliveryPolicy) -> str | None:
    """Why alerts sent from this server carry no link to the KPI although ``app_url`` is set, or None."""
    if not workspace.app_url or policy.link_base(workspace.app_url):
        return None
    if policy.public_url is None:
        return (
            f"Alerts sent from this team server carry no link: its operator has not set {PUBLIC_URL_VARIABLE} "
            "(the server's address), the only address they may link to."
        )
    return (
        f"Alerts sent from here carry no link: the workspace's `app_url` is not on this server's address "
        f"({md_escape(policy.public_url)}, set by its operator in {PUBLIC_URL_VARIABLE})."
    )


def check_section(workspace: Workspace) -> None:
    """ "Check now": what `kpi-wizard check` does, from the page (sends to the hosts the server allows)."""
    st.subheader("Check now")
    st.caption(
        "Judge every KPI on its latest complete period and send the alerts for what changed since the last "
        "check, as `kpi-wizard check` does. Only changes are news: a second check without change sends nothing."
    )
    policy = DeliveryPolicy.for_server()
    if policy.public_url_problem:
        st.warning(md_escape(policy.public_url_problem), icon=":material/link_off:")
    if notice := link_notice(workspace, policy):
        st.caption(notice)
    if not st.button("Check now", key="alerts_check_now", icon=":material/notifications_active:"):
        return
    if refused_unsaved():
        return
    data = open_data()
    if data is None:
        return
    try:
        with st.spinner("Computing each KPI's latest complete period…"):
            readings = evaluate(workspace, data.engine())
            # Without a channel nothing is sent, so nothing is remembered: the first check after a channel
            # is added still alerts on what is off track now.
            run = run_check(workspace, readings, alert_state_path(), policy=policy, dry_run=not workspace.alerts)
    except KpiWizardError as error:
        show_error(error, headline="The check did not run.")
        return
    for problem in run.problems:
        st.warning(md_escape(problem), icon=":material/warning:")
    rows = [
        {
            "KPI": r.name,
            "Period": r.period or "—",
            "Value": r.value_text,
            "Status": r.status.value if r.status else "—",
            "Change since last check": run.changes.get(r.kpi_id, "—"),
            "Note": r.note or "",
        }
        for r in readings
    ]
    st.dataframe(rows, hide_index=True)
    if not workspace.alerts:
        st.warning(no_channel_text(run), icon=":material/notifications_off:")
        return
    sent, failed = run.sent, run.failed
    if failed:
        st.error(
            f"{plural(len(failed), 'message')} not delivered (tried again on the next check): "
            + md_escape("; ".join(o.error or "" for o in failed)),
            icon=":material/error:",
        )
    if sent or not failed:
        st.success(f"Checked: {plural(len(sent), 'alert')} sent.", icon=":material/check_circle:")


def no_channel_text(run: CheckRun) -> str:
    """What a check without channels says: nothing sent, and which KPIs would alert."""
    off_track = [c for c in run.alerts if c.kind != "recovered"]
    if not off_track:
        would = "no KPI would alert now (none entered amber or red)"
    else:
        names = ", ".join(f"{c.reading.name} ({c.kind})" for c in off_track)
        would = f"{plural(len(off_track), 'KPI')} would alert now: {names}"
    return md_escape(
        f"Nothing sent: the workspace has no channel to send to, and {would}. Add a channel under Channels "
        "(Edit channels); the first check after that sends these."
    )


def log_section() -> None:
    """The log of sent and failed alerts, newest first, and the messages waiting for a retry."""
    st.subheader("Sent alerts")
    if must_save_first():
        st.caption("None for this workspace: it is not saved yet.")
        return
    path = alert_state_path()
    kept, problem = load_state(path)
    if problem:
        st.warning(
            md_escape(f"{problem}; the next check moves it aside and starts a new one"), icon=":material/warning:"
        )
    if kept.pending:
        st.warning(
            f"{plural(len(kept.pending), 'message')} could not be delivered and will be tried again on the next check.",
            icon=":material/schedule_send:",
        )
    if not kept.log:
        st.caption("Nothing sent yet. `kpi-wizard check` sends alerts when a KPI enters amber or red.")
        return
    rows = [
        {
            "When (UTC)": entry.at.replace("T", " ").rstrip("Z"),
            "Channel": entry.channel,
            "Kind": entry.kind,
            "KPIs": ", ".join(entry.kpis),
            "Subject": entry.subject,
            "Outcome": entry.outcome,
            "Error": entry.error,
        }
        for entry in reversed(kept.log)
    ]
    st.dataframe(rows, hide_index=True, key="alerts_log")


def review_section(workspace: Workspace, today: dt.date | None = None) -> None:
    """Each KPI's next review date (due ones first) and the "Start a new cycle" action."""
    st.subheader("Review cycle")
    dates = review_dates(workspace, today)
    due = [d for d in dates if d.due]
    if due:
        st.warning(f"Due for review: {md_escape(', '.join(d.name for d in due))}.", icon=":material/event_upcoming:")
    rows = [
        {
            "KPI": d.name,
            "Last reviewed": d.last.isoformat() if d.last else "—",
            "Next review": d.next.isoformat() if d.next else "—",
            "Due": "due" if d.due else "",
        }
        for d in sorted(dates, key=lambda d: (not d.due, d.next or dt.date.max))
    ]
    st.dataframe(rows, hide_index=True, key="alerts_reviews")
    st.caption(
        "Starting a new cycle records each KPI's latest complete value as its baseline and today as its review "
        "date; the old baselines stay in the version history. Then set the new targets below."
    )
    if st.button("Start a new cycle", key="alerts_start_cycle", icon=":material/restart_alt:"):
        _start_cycle(workspace)
    if st.session_state.get(_NEW_TARGETS):
        targets_form(workspace)


def _start_cycle(workspace: Workspace) -> None:
    if refused_unsaved():
        return
    data = open_data()
    if data is None:
        return
    try:
        with st.spinner("Computing each KPI's latest complete period…"):
            readings = evaluate(workspace, data.engine())
        cycle = start_cycle(workspace, readings)
        if state.workspace_id() is None:  # keep the version before the cycle in the history too
            state.commit(workspace, note="Before the new review cycle")
        state.commit(cycle.workspace, note=cycle.note)
    except KpiWizardError as error:
        show_error(error, headline="The new cycle was not started.")
        return
    st.session_state[_NEW_TARGETS] = [r.kpi_id for r in cycle.rebased]
    skipped = f"; {plural(len(cycle.skipped), 'KPI')} kept their baseline (no complete period)" if cycle.skipped else ""
    state.flash("success", f"New cycle started: {plural(len(cycle.rebased), 'new baseline')}{skipped}. Set targets.")
    st.rerun()


def targets_form(workspace: Workspace) -> None:
    """New targets for the KPIs the cycle rebased: value and due date per KPI, saved as one version."""
    ids = [i for i in st.session_state.get(_NEW_TARGETS, []) if workspace.kpi(i) is not None]
    kpis = [k for i in ids if (k := workspace.kpi(i)) is not None and not (k.target and k.target.low is not None)]
    st.markdown("**New targets for this cycle**")
    rows = [
        {
            "id": k.id,
            "KPI": k.name,
            "New baseline": kpi_value(k, k.baseline.value) if k.baseline else "—",
            "Target": k.target.value if k.target else None,
            "Due": k.target.due if k.target else None,
        }
        for k in kpis
    ]
    edited = st.data_editor(
        rows,
        hide_index=True,
        disabled=["id", "KPI", "New baseline"],
        column_config={"id": None, "Due": st.column_config.DateColumn("Due")},
        key="alerts_targets",
    )
    if st.button("Save new targets", key="alerts_save_targets", type="primary"):
        targets = {row["id"]: row for row in edited}
        updated = [
            k.model_copy(update={"target": Target(value=targets[k.id]["Target"], due=targets[k.id]["Due"])})
            if k.id in targets and targets[k.id]["Target"] is not None
            else k
            for k in workspace.kpis
        ]
        try:
            state.commit(workspace.model_copy(update={"kpis": updated}), note="New targets for the review cycle")
        except KpiWizardError as error:
            show_error(error, headline="The targets were not saved.")
            return
        st.session_state.pop(_NEW_TARGETS, None)
        state.flash("success", "New targets saved.")
        st.rerun()

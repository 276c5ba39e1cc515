"""The one place errors and notices are shown: short messages with the fix, never tracebacks."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import streamlit as st

from kpi_model.errors import KpiWizardError, WorkspaceError
from kpi_model.models import Workspace
from ui import state

# Every character that starts Markdown syntax in Streamlit: CommonMark (links, images, emphasis, code,
# headings, lists, HTML), GFM (tables, strikethrough), LaTeX ($), entities (&) and Streamlit's own
# directives (:red[…], :material/icon:, :emoji:, which a backslash before ':' and '/' switches off).
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$&:/=])")
# GitHub-flavoured autolink literals (``http://…``, ``https://…``, ``www.…``, ``name@host.tld``, and on
# GitHub ``ftp://…``): Streamlit's renderer finds them in the text after backslash escapes are resolved,
# so escaping does not stop them. A WORD JOINER (U+2060: invisible, no line break) after the scheme or
# ``www`` and before the ``@`` does.
_AUTOLINK_STARTS = re.compile(r"(?i)(?:(?:https?|ftp)(?=:)|www(?=\.))|(?<=[\w.+-])(?=@)")
WORD_JOINER = "\u2060"


def md_escape(text: object) -> str:
    """User text made inert wherever Streamlit renders Markdown: no links, images, HTML or formatting.

    The one escape for workspace text (names, statements, descriptions, owners, notes, file and column
    names, messages quoting them) in ``st.markdown``/``st.write``/``st.caption``, alerts and toasts, and
    in widget labels, ``help=`` tooltips, tab/expander/popover labels, metric labels, radio and
    segmented-control options and page links: Streamlit renders all of those as Markdown. Not for
    plain-text places (selectbox/multiselect options, dataframe cells, text-input values, Altair
    titles and tooltips, ``st.code``): there the backslashes would show. Escape only the user part
    of a message that wants its own formatting (``f"**{md_escape(name)}**"``), and escape once.
    A bare URL or e-mail address shows as text, not a link: an invisible word joiner (U+2060) after
    ``http``/``https``/``www`` and before ``@`` keeps GitHub-flavoured autolinking off.
    """
    text = _AUTOLINK_STARTS.sub(lambda match: match.group() + WORD_JOINER, str(text))
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


_ORDINARY_WORD = re.compile(r"[a-z]+(?:['’-][a-z]+)*[,:;]?(?:\s|$)")


def capitalised(message: str) -> str:
    """The message with a capital first letter when it starts with an ordinary word.

    A message that starts with a file name or identifier (``bomb.xlsx has…``, ``kpi_id …``,
    ``2025-01 …``) keeps it as written: ``Bomb.xlsx`` would name another file.
    """
    return message[:1].upper() + message[1:] if _ORDINARY_WORD.match(message) else message


def plural(count: int, noun: str) -> str:
    """``1 goal``, ``2 goals``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


_ITEM_PREFIX = re.compile(r"^(units|goals|sources|kpis)\[\d+\]\.")


def _where(path: str, labels: Mapping[str, str] | None) -> str:
    """A problem's path as the form field a person sees, when the form has one."""
    field = _ITEM_PREFIX.sub("", path)
    if labels and field in labels:
        return f"**{labels[field]}**"
    # A path can quote a key from an uploaded file: a backtick in it would end the code span.
    return f"`{path}`" if "`" not in path else md_escape(path)


def show_error(error: Exception, *, headline: str | None = None, labels: Mapping[str, str] | None = None) -> None:
    """Show a library error as a message listing each problem (by form label when ``labels`` maps the path).

    An error that carries its fix shows the problem, then "Fix: …" on its own line, as findings do.
    """
    if isinstance(error, WorkspaceError):
        title = headline or "That did not work — nothing was changed. Fix these and try again:"
        lines = "\n".join(
            f"- {_where(p.path, labels)} — {md_escape(p.message)}" if p.path else f"- {md_escape(p.message)}"
            for p in error.problems
        )
        st.error(f"{md_escape(title)}\n\n{lines}", icon=":material/error:")
        return
    prefix = f"{md_escape(headline)} " if headline else ""
    if isinstance(error, KpiWizardError) and error.fix:
        text = f"{md_escape(capitalised(error.stated_problem))}  \n**Fix:** {md_escape(capitalised(error.fix))}"
    else:
        text = md_escape(capitalised(str(error)))
    st.error(prefix + text, icon=":material/error:")


def show_flashes() -> None:
    """Show the messages queued by the previous run's action."""
    for message in state.take_flashes():
        show = {"success": st.success, "info": st.info, "warning": st.warning}.get(message.kind, st.error)
        show(md_escape(message.text))


def apply_edit(
    edit: Callable[[], Workspace],
    success: str,
    *,
    labels: Mapping[str, str] | None = None,
    reset: Iterable[str] = (),
    then: Mapping[str, Any] | None = None,
) -> None:
    """Run an edit, autosave the result and rerun; on a problem show it and keep the old workspace.

    ``reset`` names widget keys to clear after success (an "add" form starts empty again) and
    ``then`` sets plain session keys (not widget keys: Streamlit refuses those once drawn), e.g. the
    item to keep selected; on failure nothing moves and the inputs keep what the person typed.
    """
    try:
        new = edit()
        state.commit(new, note=success)
    except KpiWizardError as error:
        show_error(error, labels=labels)
        return
    for key in reset:  # deleting a drawn widget's value is allowed; assigning one is not
        st.session_state.pop(key, None)
    st.session_state.update(then or {})
    state.flash("success", success)
    st.rerun()

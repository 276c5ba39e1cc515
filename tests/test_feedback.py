"""ui.feedback: the escape that keeps user text inert, and messages that keep file names as written."""

from __future__ import annotations

import re

import pytest

from ui.feedback import WORD_JOINER, capitalised, md_escape

# The two patterns the app's Markdown renderer (mdast-util-gfm-autolink-literal) runs over text
# after escapes are resolved, a match there becomes an <a href> (ftp:// added: GitHub links it too).
GFM_URL = re.compile(r"((?:https?|ftp)://|www(?=\.))([-.\w]+)([^ \t\r\n]*)", re.IGNORECASE)
GFM_EMAIL = re.compile(r"([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)")


def rendered_text(markdown: str) -> str:
    """The text the renderer searches for autolinks: backslash escapes resolved."""
    return re.sub(r"\\(.)", r"\1", markdown, flags=re.DOTALL)


@pytest.mark.parametrize(
    "text",
    [
        "see http://evil.example/?x=1 now",
        "HTTPS://evil.example/a",
        "www.evil.example/p",
        "(www.evil.example)",
        "wwww.evil.example",
        "_http://evil.example",
        "ann@evil.example",
        "mailto:bob@evil.example",
        "a.b+c@evil.example.org",
        "ftp://evil.example/f",
    ],
)
def test_bare_urls_and_addresses_are_not_autolinks(text):
    shown = rendered_text(md_escape(text))
    assert not GFM_URL.search(shown) and not GFM_EMAIL.search(shown), shown
    assert shown.replace(WORD_JOINER, "") == text, "it reads the same: only an invisible joiner was added"


def test_text_without_links_is_escaped_as_before():
    assert md_escape("orders.csv: **x** [l](y)") == r"orders\.csv\: \*\*x\*\* \[l\]\(y\)"
    assert WORD_JOINER not in md_escape("a whole sentence, wwwx. http and https alone; user @ home")


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("bomb.xlsx has a part that unpacks to 2 GB", "bomb.xlsx has a part that unpacks to 2 GB"),
        ("nul.csv is not a text file", "nul.csv is not a text file"),
        ("kpi_id is not known", "kpi_id is not known"),
        ("files/orders.csv was not found", "files/orders.csv was not found"),
        ("2025-01 is after the due date", "2025-01 is after the due date"),
        ("x2 is not a column", "x2 is not a column"),
        ("'orders' is not a table", "'orders' is not a table"),
        ("the file is empty", "The file is empty"),
        ("can't read the sheet", "Can't read the sheet"),
        ("orders: no rows", "Orders: no rows"),
        ("empty", "Empty"),
        ("", ""),
    ],
)
def test_messages_capitalise_only_an_ordinary_first_word(message, shown):
    assert capitalised(message) == shown


def test_show_error_keeps_a_file_name_as_written(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from .conftest import REPO

    script = tmp_path / "page.py"
    script.write_text(
        "from kpi_model.errors import KpiWizardError\n"
        "from ui.feedback import show_error\n"
        "show_error(KpiWizardError('bomb.xlsx has a part that unpacks to 2 GB'), headline='Import:')\n"
        "show_error(KpiWizardError('the file is empty'))\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(REPO))
    at = AppTest.from_file(str(script), default_timeout=30).run()
    assert [e.value for e in at.error] == [
        r"Import\: bomb\.xlsx has a part that unpacks to 2 GB",
        "The file is empty",
    ]

"""Start the Streamlit server for ``app.py`` (what ``kpi-wizard serve`` runs, as ``python -m ui.serve``).

Streamlit treats a ``pages/`` folder beside the entry script as an old-style multipage app until
the first run calls ``st.navigation``; a bookmarked page URL opened first after a restart would
then skip ``app.py`` (no state, no navigation). KPI Wizard always navigates with
``st.navigation``, so that mode is switched off before the server starts.
"""

from __future__ import annotations

import sys

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli as streamlit_cli


def main(arguments: list[str]) -> None:
    """Run ``streamlit`` with these command-line arguments."""
    PagesManager.uses_pages_directory = False
    streamlit_cli.main.main(args=arguments, prog_name="streamlit")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Presentation mode: the sidebar collapsed and the Dashboard's tiles in larger type, for a projector.

On with the sidebar's toggle or ``?present=1`` in the address (a link that opens a screen straight in it);
the address follows the toggle, so a reload keeps the mode. On a 1024×768 projector the page uses the
whole width, tile names wrap instead of being cut, and one row of three tiles fits below the title and
unit switch; more tiles scroll.
"""

from __future__ import annotations

import streamlit as st

QUERY_KEY = "present"
_TOGGLE = "presentation_mode"
_WAS_ON = "presentation_mode_was_on"
# Dashboard tiles are containers keyed with this prefix (Streamlit gives them the class st-key-<key>).
TILE_KEY_PREFIX = "kpi_tile_"
_TILE = f'[class*="st-key-{TILE_KEY_PREFIX}"]'

# Always on: a tile's name wraps rather than ending in "…" (st.metric cuts its label to one line).
_TILE_NAMES = f"""
{_TILE} [data-testid="stMetricLabel"],
{_TILE} [data-testid="stMetricLabel"] * {{
  white-space: normal !important;
  overflow: visible !important;
  text-overflow: clip !important;
  overflow-wrap: break-word;
  height: auto !important;
}}
"""
# The whole width for the tiles, and type to read from the back of the room. The block above the first
# tile is tight (the page's description under its title hidden, the unit switch without its label, less
# space between lines), so a row of three tiles fits on a 1024×768 screen below it.
_MAIN = '[data-testid="stMainBlockContainer"]'
_PRESENTING = f"""
{_MAIN} {{
  padding: 3.75rem 1.5rem 1rem 1.5rem !important;
  max-width: none !important;
}}
{_MAIN} h1 {{ font-size: 2rem !important; line-height: 1.25 !important; padding: 0 0 0.25rem 0 !important; }}
{_MAIN} h3 {{ font-size: 1.4rem !important; padding: 0.5rem 0 0.25rem 0 !important; }}
{_MAIN} [data-testid="stVerticalBlock"] {{ gap: 0.6rem !important; }}
{_MAIN} [data-testid="stElementContainer"]:has(h1)
  + [data-testid="stElementContainer"]:has([data-testid="stCaptionContainer"]) {{ display: none !important; }}
.st-key-dashboard_unit [data-testid="stWidgetLabel"] {{ display: none !important; }}
{_TILE} [data-testid="stVerticalBlock"] {{ gap: 0.35rem !important; }}
{_TILE} [data-testid="stMarkdownContainer"] p {{ font-size: 1.1rem !important; }}
{_TILE} [data-testid="stCaptionContainer"] p {{ font-size: 1rem !important; }}
{_TILE} [data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"] p {{
  font-size: 1.3rem !important; line-height: 1.3; font-weight: 600;
}}
{_TILE} [data-testid="stMetricValue"] [data-testid="stMarkdownContainer"] p {{ font-size: 3rem !important; }}
{_TILE} [data-testid="stMetricDelta"] [data-testid="stMarkdownContainer"] p {{ font-size: 1.1rem !important; }}
"""
# A fixed script, no user text in it. Run once as the mode starts: Streamlit keeps the visitor's own
# choice of sidebar (the arrow they clicked last) over the page's setting, so the sidebar is closed
# here as the arrow would close it.
_COLLAPSE_SIDEBAR = """<script>
const sidebar = document.querySelector('[data-testid="stSidebar"]');
if (sidebar && sidebar.getAttribute('data-collapsed') === 'false') {
  sidebar.querySelector('[data-testid="stSidebarCollapseButton"] button')?.click();
}
</script>"""


def presenting() -> bool:
    """Whether presentation mode is on in this session (``?present=1`` turns it on as the session starts)."""
    if _TOGGLE not in st.session_state:
        st.session_state[_TOGGLE] = st.query_params.get(QUERY_KEY) == "1"
    return bool(st.session_state[_TOGGLE])


def configure() -> bool:
    """Collapse the sidebar and apply the styles for the mode; keep ``?present=1`` in step. Every run, first.

    Returns whether the mode is on.
    """
    on = presenting()
    st.set_page_config(initial_sidebar_state="collapsed" if on else "auto")
    if on and st.query_params.get(QUERY_KEY) != "1":
        st.query_params[QUERY_KEY] = "1"
    elif not on and QUERY_KEY in st.query_params:
        del st.query_params[QUERY_KEY]
    st.html(f"<style>{_TILE_NAMES}{_PRESENTING if on else ''}</style>")
    return on


def toggle() -> None:
    """The sidebar's switch; the run it turns the mode on in also closes the sidebar."""
    st.toggle(
        "Presentation mode",
        key=_TOGGLE,
        help="For a projector: the sidebar closes and the Dashboard's tiles get larger type. The link "
        "with ?present=1 opens in this mode.",
    )
    if st.session_state[_TOGGLE] and not st.session_state.get(_WAS_ON):
        st.html(_COLLAPSE_SIDEBAR, unsafe_allow_javascript=True)
    st.session_state[_WAS_ON] = st.session_state[_TOGGLE]

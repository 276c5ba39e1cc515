"""Workspace text is shown, never run: no page renders a visitor's Markdown or HTML.

A workspace whose every free-text field holds a hostile payload (a remote image, raw HTML, bold,
a ``javascript:`` link, a Streamlit icon directive, a bare URL and e-mail address that GitHub-flavoured
Markdown would turn into links) is opened and every page is visited, the way a
team member would. The AppTest check walks the whole element tree of each page generically: every
string of every element's protobuf is read, and unless the field is one Streamlit shows as plain
text (listed in ``PLAIN_TEXT``), it is treated as Markdown and must hold the payload only escaped
(and escaped once: a double escape would show backslashes), and with its escapes resolved it must
hold no autolink literal (the renderer finds those after escapes are resolved, so a backslash alone
does not stop them). A new page or element type is scanned
without anyone adding it here. Plain-text fields must hold the payload verbatim (escaping them
would show backslashes).

The browser check serves the same workspace and asserts that the pages request nothing from any
host but the app's own and link to none.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf.message import Message
from streamlit.testing.v1 import AppTest

from kpi_model.datastore import DataStore
from kpi_model.engine import EnginePool
from kpi_model.models import Baseline, Goal, Kpi, Source, Target, Thresholds, Unit, Workspace
from kpi_model.store import WorkspaceStore

from .browser import browser_page, require_chromium, running_app, wait_idle
from .conftest import REPO

APP = str(REPO / "app.py")
WS_ID = "ws-hostile-0001"
EVIL_HOST = "evil.invalid"


def payload(tag: str) -> str:
    """Hostile Markdown/HTML with a marker (``xss<tag>``) that says which field it came from."""
    return (
        f"xss{tag} ![x](http://{EVIL_HOST}/{tag}.png) <img src=http://{EVIL_HOST}/h{tag}.png> "
        f"**B0LD** [l](javascript:alert(1)) :material/bug_report: =HYPERLINK(1) "
        f"http://{EVIL_HOST}/bare{tag} www.{EVIL_HOST} ann@{EVIL_HOST}"
    )


# Raw fragments that only an unescaped payload contains (each escapes to something else).
ACTIVE = ("![", "](http", "](javascript", "<img", "**B0LD**", ":material/bug_report:")
MARKER = re.compile(r"xss[a-z0-9]+")
# GitHub-flavoured autolink literals to the payload's host, as the renderer sees the text: escapes resolved.
AUTOLINK = re.compile(rf"(?i)(?:https?://|www\.){re.escape(EVIL_HOST)}|[-.\w+]@{re.escape(EVIL_HOST)}")

# Fields Streamlit shows as plain text, by protobuf message type: the payload must be there verbatim.
PLAIN_TEXT: dict[str, set[str]] = {
    "TextInput": {"default", "value", "placeholder"},
    "TextArea": {"default", "value", "placeholder"},
    "Selectbox": {"options", "default", "value", "placeholder", "raw_value"},
    "MultiSelect": {"options", "default", "value", "placeholder", "raw_values"},
    "Code": {"code_text"},
    "Json": {"body"},
    "VegaLiteChart": {"spec", "datasets", "data"},  # Vega text, tooltips sanitised by vega-tooltip
    "GraphVizChart": {"spec"},  # DOT; labels are escaped for DOT (ui.driver_views.dot_text)
    # Dataframe cells, column labels and order (column help tooltips are Markdown: checked in Scan.page).
    "Dataframe": {"columns", "column_order", "placeholder", "alt"},
    "DownloadButton": {"url"},
}
# Fields that are machinery, not text anyone reads.
MACHINERY = {"id", "form_id", "icon", "page_script_hash", "page", "url_path", "format", "type", "key"}


def unescaped_part(markdown: str) -> str:
    """The Markdown with every backslash-escaped character blanked out: what can still be syntax."""
    return re.sub(r"\\.", "\x00", markdown, flags=re.DOTALL)


def autolinks(markdown: str) -> list[str]:
    """The bare URLs and e-mail addresses to the payload's host that would still render as links."""
    return AUTOLINK.findall(re.sub(r"\\(.)", r"\1", markdown, flags=re.DOTALL))


def hostile_workspace() -> Workspace:
    return Workspace(
        name=payload("ws"),
        description=payload("wsdesc"),
        units=[
            Unit(id="u1", name=payload("unit"), owner=payload("unitowner"), description=payload("unitdesc")),
            Unit(id="u2", name=payload("unittwo"), owner=payload("unittwoowner")),
        ],
        goals=[
            Goal(
                id="g1",
                unit="u1",
                statement=payload("goal"),
                owner=payload("goalowner"),
                description=payload("goaldesc"),
                due=dt.date(2027, 12, 31),
            ),
            Goal(id="g2", unit="u2", statement=payload("goaltwo")),
        ],
        sources=[
            Source(name="orders", path="files/orders.csv", system=payload("system"), description=payload("srcdesc")),
            Source(name="declared", system=payload("declaredsystem"), description=payload("declareddesc")),
        ],
        kpis=[
            Kpi(
                id="revenue",
                name=payload("kpi"),
                goal="g1",
                description=payload("kpidesc"),
                owner=payload("kpiowner"),
                category="financial",
                kind="lagging",
                source="orders",
                expression="sum(amount)",
                time_column="day",
                unit_of_measure="currency",
                direction="up",
                cadence="monthly",
                baseline=Baseline(value=100, period="2025-01"),
                target=Target(value=200, due=dt.date(2027, 6, 30)),
                thresholds=Thresholds(warning=150, critical=120),
                pairs_with="order_count",
                action=payload("action"),
            ),
            Kpi(
                id="order_count",
                name=payload("kpitwo"),
                goal="g1",
                owner=payload("kpitwoowner"),
                description=payload("kpitwodesc"),
                kind="leading",
                source="orders",
                expression="count(*)",
                filter="region IS NOT NULL",
                time_column="day",
                cadence="monthly",
                pairs_with="revenue",
            ),
            Kpi(
                id="per_order",
                name=payload("derived"),
                goal="g1",
                expression="revenue / order_count",
                cadence="monthly",
                direction="up",
            ),
            Kpi(
                id="broken",
                name=payload("broken"),
                goal="g2",
                source="orders",
                expression=f"sum(amount) + {payload('expr')}",
                filter=payload("filter"),
                time_column="day",
                scale=payload("scale"),
            ),
            Kpi(id="orphan", name=payload("orphan"), description=payload("orphandesc")),
        ],
    )


def orders_csv() -> bytes:
    """Two years of orders; the region column holds formulas and a payload, and one column is named by one."""
    regions = ["North", '=HYPERLINK("http://evil.invalid","x")', payload("region"), "-5"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["day", "amount", "region", payload("column")])
    first = dt.date(2025, 1, 1)
    for index in range(730):
        writer.writerow([first + dt.timedelta(days=index), 10 + index % 17, regions[index % 4], index % 3])
    return out.getvalue().encode()


def build_store(root: Path) -> str:
    """The hostile workspace saved in a store at ``root`` with its data loaded; returns its id."""
    store = WorkspaceStore(root)
    store.save(WS_ID, hostile_workspace(), note=payload("note"))
    pool = EnginePool()
    data = DataStore(root / WS_ID, pool)
    data.upload("orders.csv", io.BytesIO(orders_csv()), table="orders")
    pool.release(data.db_path)
    return WS_ID


# ----------------------------------------------------------------------------- the generic scan


def _strings(message: Message, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a protobuf message, with its field name (nested messages included)."""
    for field, value in message.ListFields():
        if not field.is_repeated:
            values = [value]
        elif field.message_type is not None and field.message_type.GetOptions().map_entry:
            values = [*value.keys(), *value.values()]
        else:
            values = [value[i] for i in range(len(value))]
        for item in values:
            if isinstance(item, Message):
                yield from _strings(item, field.name)
            elif isinstance(item, str):
                yield field.name if not path else f"{path}.{field.name}", item


def _nodes(node) -> Iterator[object]:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


class Scan:
    """Counts and problems of the pages scanned so far."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.counts: dict[str, tuple[int, int, int]] = {}
        self.seen: dict[str, set[str]] = {}  # page -> markers of the payloads it showed as Markdown

    def page(self, at: AppTest, name: str) -> None:
        assert not at.exception, f"{name}: {at.exception}"
        elements = markdown_strings = plain_strings = 0
        for node in _nodes(at._tree):
            proto = getattr(node, "proto", None)
            if not isinstance(proto, Message):
                continue
            elements += 1
            kind = type(proto).__name__
            for field, text in _strings(proto):
                leaf = field.rsplit(".", 1)[-1]
                if leaf in MACHINERY:
                    continue
                if leaf in PLAIN_TEXT.get(kind, set()) or field in PLAIN_TEXT.get(kind, set()):
                    plain_strings += 1
                    self._plain(name, kind, field, text)
                else:
                    markdown_strings += 1
                    self._markdown(name, kind, field, text)
            if kind == "Dataframe":  # column help tooltips are Markdown
                for column in json.loads(proto.columns or "{}").values():
                    if isinstance(column, dict) and column.get("help"):
                        markdown_strings += 1
                        self._markdown(name, kind, "columns.help", column["help"])
        self.counts[name] = (elements, markdown_strings, plain_strings)
        print(
            f"{name}: {elements} elements, {markdown_strings} Markdown strings, {plain_strings} plain strings; "
            f"payloads shown as Markdown: {sorted(self.seen.get(name, set()))}"
        )
        assert elements > 0 and markdown_strings > 0, f"{name}: nothing was scanned"

    def _markdown(self, page: str, kind: str, field: str, text: str) -> None:
        self.seen.setdefault(page, set()).update(MARKER.findall(text))
        found = [fragment for fragment in ACTIVE if fragment in unescaped_part(text)]
        found += autolinks(text)
        if found:
            self.problems.append(f"{page}: {kind}.{field} renders {found} unescaped: {text[:160]!r}")
        elif MARKER.search(text) and "\\\\" in text:
            self.problems.append(f"{page}: {kind}.{field} is escaped twice (backslashes show): {text[:160]!r}")

    def _plain(self, page: str, kind: str, field: str, text: str) -> None:
        marker = MARKER.search(text)
        if marker and payload(marker.group()[3:]) not in text and "\\" in text:
            self.problems.append(f"{page}: {kind}.{field} is shown as plain text but escaped: {text[:160]!r}")


@pytest.fixture
def hostile_app(tmp_path, monkeypatch) -> AppTest:
    root = tmp_path / "store"
    monkeypatch.setenv("KPI_WIZARD_HOME", str(root))
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    build_store(root)
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["ws"] = WS_ID
    at.run()
    assert not at.exception, at.exception
    return at


def _go(at: AppTest, page: str) -> AppTest:
    at.switch_page(page).run()
    return at


def test_no_page_renders_workspace_text_as_markdown(hostile_app):
    at, scan = hostile_app, Scan()
    scan.page(at, "Start")
    assert any(MARKER.search(m.value) for m in at.success), "the hostile workspace is open"

    _go(at, "pages/goals.py")
    scan.page(at, "Goals")
    at.session_state["goals_view_shown"] = "Units"
    at.run()
    scan.page(at, "Goals (units)")

    _go(at, "pages/kpis.py")
    scan.page(at, "KPIs")
    at.button(key="FormSubmitter:kpi_revenue-Save KPI").click().run()
    assert any(MARKER.search(m.value) for m in at.success), "the saved message quotes the name"
    scan.page(at, "KPIs (saved)")
    at.selectbox(key="kpi_goal_choice").set_value("g2").run()
    scan.page(at, "KPIs (second goal)")
    at.button(key="FormSubmitter:kpi_broken-Save KPI").click().run()
    assert at.error, "the broken formula is refused with a message that quotes it"
    scan.page(at, "KPIs (refused save)")
    at.selectbox(key="kpi_goal_choice").set_value("__no_goal__").run()
    scan.page(at, "KPIs (without a goal)")

    _go(at, "pages/data.py")
    scan.page(at, "Data")

    _go(at, "pages/preview.py")
    scan.page(at, "Preview")
    at.selectbox(key="preview_by_revenue").set_value("region").run()
    scan.page(at, "Preview (by region)")
    assert at.get("vega_lite_chart"), "the KPI computes on the hostile data"
    at.selectbox(key="preview_by_revenue").set_value(payload("column")).run()
    scan.page(at, "Preview (by the hostile column)")
    for kpi in ("per_order", "broken"):
        at.selectbox(key="preview_kpi").set_value(kpi).run()
        scan.page(at, f"Preview ({kpi})")

    _go(at, "pages/dashboard.py")
    scan.page(at, "Dashboard")
    assert any(MARKER.search(m.label) for m in at.metric), "a KPI tile with the hostile name"
    at.session_state["dashboard_unit"] = "u2"
    at.run()
    scan.page(at, "Dashboard (second unit)")

    _go(at, "pages/whatif.py")
    scan.page(at, "What-if (target)")
    at.text_input(key="whatif_target_revenue").input("400").run()
    scan.page(at, "What-if (target typed)")
    for tool in ("Driver tree", "Leading vs lagging"):
        at.session_state["whatif_tool"] = tool
        at.run()
        scan.page(at, f"What-if ({tool})")

    _go(at, "pages/audit.py")
    at.multiselect(key="audit_severity").set_value(["error", "warning", "info"]).run()
    scan.page(at, "Audit")
    edit = [b for b in at.button if b.key and b.key.startswith("audit_edit_")]
    assert edit, "findings about hostile KPIs offer Edit"
    edit[0].click().run()
    assert any("From the audit" in w.value for w in at.warning), "the audit callout is shown"
    scan.page(at, "KPIs (from the audit)")

    _go(at, "pages/review.py")
    scan.page(at, "Review")
    at.toggle(key="review_every_field").set_value(True).run()
    scan.page(at, "Review (a mark per field)")

    _go(at, "pages/start.py")
    scan.page(at, "Start (again)")

    print(f"{len(scan.counts)} page views, {sum(c[0] for c in scan.counts.values())} elements scanned")
    assert not scan.problems, "\n".join(scan.problems)
    shown = set().union(*scan.seen.values())
    expected = {"ws", "unit", "unitowner", "unittwo", "goal", "goaltwo", "kpi", "kpidesc", "kpiowner", "kpitwo"}
    expected |= {"derived", "broken", "orphan", "expr", "declaredsystem"}
    assert {f"xss{tag}" for tag in expected} <= shown, "the payloads reach Markdown, so the escaping was tested"


def test_the_scan_catches_unescaped_text(tmp_path, monkeypatch):
    """The scan itself: a page that shows a name raw in a label or help fails it."""
    script = tmp_path / "page.py"
    script.write_text(
        "import streamlit as st\n"
        f"name = {payload('raw')!r}\n"
        "st.metric(name, 1, help=name)\n"
        "st.segmented_control('Unit', ['a'], format_func=lambda _: name)\n"
        "st.selectbox('Plain', ['a'], format_func=lambda _: name)\n"
        "from ui.feedback import md_escape\n"
        "st.caption(md_escape(md_escape(name)))\n"
        "st.selectbox('Escaped plain', ['b'], format_func=lambda _: md_escape(name))\n"
        "import re\n"
        "st.caption(re.sub(r'([^\\w\\s])', r'\\\\\\1', 'every mark escaped ' + name))\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(REPO))
    at = AppTest.from_file(str(script), default_timeout=30)
    at.run()
    scan = Scan()
    scan.page(at, "probe")
    found = "\n".join(scan.problems)
    assert "Metric.label" in found and "Metric.help" in found
    assert "ButtonGroup.options.content" in found, "segmented-control options are Markdown"
    assert "escaped twice" in found
    assert "shown as plain text but escaped" in found
    assert "Selectbox.options" in found and found.count("Selectbox.options") == 1, "a raw plain option is fine"
    escaped_only = [line for line in scan.problems if "every mark escaped" in line]
    assert escaped_only and f"http://{EVIL_HOST}" in escaped_only[0] and f"n@{EVIL_HOST}" in escaped_only[0], (
        "a backslash before every mark still leaves autolinks"
    )


# ----------------------------------------------------------------------------- a real browser


def test_the_browser_requests_nothing_from_elsewhere(tmp_path):
    """Dashboard, KPIs and Goals of the hostile workspace fetch only from the app itself and link nowhere else."""
    require_chromium()
    root = tmp_path / "store"
    build_store(root)
    with running_app(root) as url, browser_page() as page:
        requested: list[str] = []
        links: dict[str, list[str | None]] = {}
        page.on("request", lambda request: requested.append(request.url))
        for path, heading, ready, popover in (
            ("dashboard", "Dashboard", "stMetric", None),
            ("kpis", "KPIs per goal", "stExpander", "Delete this KPI"),
            ("goals", "Units and strategic goals", "stMarkdownContainer", "Delete this goal"),
        ):
            page.goto(f"{url}/{path}?ws={WS_ID}")
            page.get_by_role("heading", name=heading).wait_for()
            page.get_by_test_id(ready).first.wait_for()
            wait_idle(page)
            if path == "kpis":  # open a KPI's card: its delete popover is inside
                page.locator("summary").filter(has_text="% complete").first.click()
            if popover:  # a popover draws its content when opened
                page.get_by_role("button", name=popover).first.click()
                page.get_by_text("Yes, delete").first.wait_for()
                page.keyboard.press("Escape")
            hover_targets = page.get_by_test_id("stTooltipHoverTarget")
            for index in range(min(hover_targets.count(), 12)):  # tooltips draw their Markdown when shown
                if hover_targets.nth(index).is_visible():  # some sit in collapsed expanders
                    hover_targets.nth(index).hover()
                page.wait_for_timeout(150)
            page.wait_for_timeout(500)
            assert f"{EVIL_HOST}/bare" in page.content(), f"{path}: the bare URLs are on the page"
            hrefs = page.locator(f"a[href*='{EVIL_HOST}' i]").all()
            links[path] = [a.get_attribute("href") for a in hrefs]
        assert links == {"dashboard": [], "kpis": [], "goals": []}, "a bare URL or e-mail in user text became a link"
        served_here = (url.rstrip("/"), "data:", "blob:")
        elsewhere = [u for u in requested if not u.startswith(served_here)]
        assert requested and elsewhere == [], elsewhere
        assert page.locator(f"img[src*='{EVIL_HOST}']").count() == 0


# ----------------------------------------------------------------------------- the Markdown report


def test_the_audit_markdown_report_shows_names_as_text():
    """The report a Markdown viewer renders (Audit → Report as Markdown, `kpi-wizard audit --format markdown`)."""
    from kpi_model.checks import audit

    report = audit(hostile_workspace()).to_markdown()
    live = unescaped_part(report.replace(":material/bug_report:", ""))  # emoji-like text is not Streamlit here
    assert [fragment for fragment in ACTIVE[:-1] if fragment in live] == []
    assert autolinks(report) == [], "a bare URL or e-mail address in a name stays text in a Markdown viewer"
    assert "xssws" in report and "xssunit" in report and "xsskpi" in report
    assert all(line.count("|") - line.count("\\|") == 6 for line in report.splitlines() if line.startswith("| ")), (
        "a name with '|' does not add table cells"
    )


def test_the_audit_comparison_markdown_shows_names_as_text():
    """Audit → compare with a saved version, as Markdown: names and findings of both sides stay text."""
    from kpi_model.checks import audit
    from kpi_model.checks.compare import compare

    new = hostile_workspace()
    old = new.model_copy(update={"kpis": new.kpis[:2]})
    report = compare(audit(old), audit(new)).to_markdown()
    assert "xssws" in report and "xssbroken" in report, "the names and new findings are in the comparison"
    live = unescaped_part(report.replace(":material/bug_report:", ""))
    assert [fragment for fragment in ACTIVE[:-1] if fragment in live] == []
    assert autolinks(report) == []

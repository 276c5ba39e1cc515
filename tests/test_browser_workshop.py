"""A workshop played end to end in a real browser (issue 15), counting every action the facilitator takes.

From an empty workspace: the sample's seven data files uploaded at once, 3 units, 5 goals, 15 KPIs from
templates (search, add, columns from the pick-lists) and 2 custom KPIs (a formula on a sample table), then
every common field of all 17 filled through the grid (pasted blocks, as from the workshop's spreadsheet)
and its suggestions (accept all), one bundle downloaded on Review and opened on Start in a new session,
and the reopened workspace checked field by field and computed on the Dashboard.

Each click, filled field, key press, paste and file pick is one action; the test prints the count per
phase and asserts the whole workshop takes at most 400 (the card-by-card flow needs about 40 per KPI).
Screenshots go to $KPI_WIZARD_SHOTS (e.g. /tmp/kpiw-shots) or the test's temporary folder.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kpi_model.library import search_templates
from kpi_model.store import WorkspaceStore

from .browser import browser_page, require_chromium, running_app
from .conftest import REPO

pytestmark = pytest.mark.browser

SAMPLE_FILES = sorted((REPO / "sample_data" / "data").glob("*.csv"))
WORKSPACE = "Northwind workshop 2027"
DUE = "2027-12-31"
REVIEWED = "2026-11-16"
MAX_ACTIONS = 400

# (unit, head of unit, [(goal statement, goal owner)])
UNITS = [
    (
        "Sales & Marketing",
        "Chief Commercial Officer",
        [
            ("Grow web shop revenue by 25% in 2027", "Head of E-commerce"),
            ("Win 30% more B2B deals in 2027", "Head of B2B Sales"),
            ("Grow total revenue by 20% and lift gross margin to 48%", "Chief Commercial Officer"),
        ],
    ),
    (
        "Operations",
        "Chief Operating Officer",
        [("Cut the cost of purchased components by 15% without slowing the warehouse", "Chief Operating Officer")],
    ),
    (
        "Customer Service",
        "Head of Customer Service",
        [("Lift CSAT to 85% and resolve tickets faster", "Head of Customer Service")],
    ),
]

# Per goal (index into the goals above, in order): what is added. A template is (search text, its name,
# source, {role: option to pick}, {role: condition value}); a custom KPI is ("custom", name, source,
# time column, formula). Roles the pick-lists fill by themselves (same name, the only date column) are left out.
PLAN: list[list[tuple]] = [
    [
        ("sessions", "Sessions", "web_sessions", {}, {}),
        ("conversion", "Conversion rate", "web_sessions", {}, {}),
        ("order value", "Average order value", "orders", {"date": "order_date", "revenue": "amount"}, {}),
        ("promoter", "Net Promoter Score", "survey_responses", {"score": "nps_score"}, {}),
    ],
    [
        ("MQL", "Marketing qualified leads", "leads", {"date": "mql_date"}, {}),
        ("custom", "B2B deals won", "leads", "won_date", "count(*) FILTER (WHERE stage = 'won')"),
    ],
    [
        ("revenue", "Revenue", "orders", {"date": "order_date", "revenue": "amount"}, {}),
        ("gross margin", "Gross margin", "orders", {"date": "order_date", "revenue": "amount", "cogs": "cost"}, {}),
        ("repeat", "Repeat purchase rate", "orders", {"date": "order_date", "order_number": "order_no"}, {}),
    ],
    [
        (
            "purchase price",
            "Purchase price savings",
            "purchases",
            {"baseline_price": "list_price", "unit_price": "paid_price"},
            {},
        ),
        ("on-time", "On-time delivery", "orders", {"date": "delivered_date"}, {}),
        ("utilisation", "Asset utilisation", "machine_log", {"available_hours": "planned_hours"}, {}),
    ],
    [
        ("satisfaction", "Customer satisfaction", "support_tickets", {"date": "opened_at", "score": "csat"}, {}),
        (
            "first response",
            "First response time",
            "support_tickets",
            {"date": "opened_at", "created_at": "opened_at"},
            {},
        ),
        ("resolution time", "Resolution time", "support_tickets", {"date": "opened_at", "created_at": "opened_at"}, {}),
        (
            "first contact",
            "First contact resolution",
            "support_tickets",
            {"date": "opened_at"},
            {"resolved_first_contact": "1"},
        ),
        (
            "custom",
            "Defect ticket share",
            "support_tickets",
            "opened_at",
            "count(*) FILTER (WHERE category = 'product defect') / count(*)",
        ),
    ],
]

# What the workshop decided per KPI, as its spreadsheet holds it: target, action, partner (by name); custom
# KPIs also their unit of measure, cadence and direction (a template brings those).
DECIDED: dict[str, dict[str, str]] = {
    "Sessions": {"target": "2800", "action": "Shift paid budget to the best channel", "partner": "Revenue"},
    "Conversion rate": {"target": "4.5%", "action": "Run a checkout usability test", "partner": "Revenue"},
    "Average order value": {"target": "195", "action": "Bundle offers on the product page", "partner": "Revenue"},
    "Net Promoter Score": {"target": "40", "action": "Call back every detractor", "partner": "Repeat purchase rate"},
    "Marketing qualified leads": {"target": "35", "action": "Add a webinar a month", "partner": "B2B deals won"},
    "B2B deals won": {
        "target": "32",
        "action": "Review stalled deals every Monday",
        "partner": "Marketing qualified leads",
        "uom": "count",
        "cadence": "monthly",
        "direction": "up",
    },
    "Revenue": {"target": "200k", "action": "Re-forecast and re-plan campaigns", "partner": "Sessions"},
    "Gross margin": {"target": "48%", "action": "Cap discounts at 15%", "partner": "Average order value"},
    "Repeat purchase rate": {"target": "55%", "action": "Launch the loyalty mailing", "partner": "Revenue"},
    "Purchase price savings": {
        "target": "95k",
        "action": "Renegotiate the top five parts",
        "partner": "On-time delivery",
    },
    "On-time delivery": {"target": "99%", "action": "Escalate to the carrier", "partner": "Asset utilisation"},
    "Asset utilisation": {"target": "90%", "action": "Plan maintenance off-shift", "partner": "On-time delivery"},
    "Customer satisfaction": {
        "target": "85%",
        "action": "Coach the agents with low ratings",
        "partner": "First response time",
    },
    "First response time": {"target": "0.8", "action": "Add chat cover at peak", "partner": "Customer satisfaction"},
    "Resolution time": {"target": "1.2", "action": "Triage tickets by category", "partner": "Customer satisfaction"},
    "First contact resolution": {
        "target": "80%",
        "action": "Extend the agents' refund limit",
        "partner": "Customer satisfaction",
    },
    "Defect ticket share": {
        "target": "5%",
        "action": "Send defect reports to the supplier",
        "partner": "Customer satisfaction",
        "uom": "percent",
        "cadence": "monthly",
        "direction": "down",
    },
}

# The grid's columns after the pinned KPI name when it shows every goal of a unit (kpi_model.grid.COLUMNS).
GRID_COLUMNS = [
    "Goal",
    "Owner",
    "Unit of measure",
    "Review cadence",
    "Better when",
    "Baseline value",
    "Baseline period",
    "Target value",
    "Target due",
    "Warning at",
    "Critical at",
    "Action when off track",
    "Owner's e-mail",
    "Last reviewed",
    "Partner",
]


class Facilitator:
    """Drives the app and counts the facilitator's actions, per phase."""

    def __init__(self, page, shots: Path, store: WorkspaceStore) -> None:
        self.page = page
        self.store = store
        self.shots = shots
        self.phase = ""
        self.counts: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self.step = ""  # what the actions are for, within a phase (a KPI added, a unit's grid)
        self.steps: dict[str, int] = {}

    # -- counting -------------------------------------------------------------------------------------
    @contextmanager
    def phase_of(self, name: str) -> Iterator[None]:
        self.phase = self.step = name
        self.counts.setdefault(name, 0)
        started = time.monotonic()
        yield
        self.settle()
        self.seconds[name] = time.monotonic() - started

    def _count(self, n: int = 1) -> None:
        self.counts[self.phase] += n
        self.steps[self.step] = self.steps.get(self.step, 0) + n

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def report(self) -> str:
        phases = ", ".join(f"{name} {count} ({self.seconds.get(name, 0):.0f} s)" for name, count in self.counts.items())
        return f"{self.total} actions in all ({phases})"

    def saved(self):
        """The workspace open in the page as stored (a check of the test's, not an action)."""
        return self.store.load(self.page.url.split("ws=")[1].split("&")[0])

    # -- waiting (not counted) ------------------------------------------------------------------------
    def settle(self) -> None:
        """Wait until Streamlit has finished the run an action started."""
        self.page.wait_for_timeout(150)
        self.page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(timeout=60_000)
        self.page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)

    def shoot(self, name: str) -> None:
        self.settle()
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    # -- actions (counted) ----------------------------------------------------------------------------
    def click(self, locator) -> None:
        locator.click()
        self._count()
        self.settle()

    def fill(self, locator, text: str) -> None:
        locator.fill(text)
        self._count()

    def type_in(self, locator, text: str) -> None:
        locator.press_sequentially(text)
        self._count()

    def press(self, locator, key: str) -> None:
        locator.press(key)
        self._count()
        self.settle()

    def type_and_enter(self, locator, text: str) -> None:
        """A field typed and confirmed with Enter (text inputs take their value on Enter or leaving them)."""
        self.fill(locator, text)
        self.press(locator, "Enter")

    def upload(self, locator, files: list[Path]) -> None:
        """One pick in the file dialog, however many files it selects."""
        locator.set_input_files([str(f) for f in files])
        self._count()
        self.settle()

    def goto(self, url: str) -> None:
        self.page.goto(url)
        self._count()
        self.settle()

    def pick(self, key: str, option: str) -> None:
        """Choose ``option`` in the selectbox with this widget key: open it, click the option; when the list
        does not show it, type to find it first. A column's option reads ``order_date (date)``: ``option``
        matches it by the column's name."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        box = self.page.locator(f".st-key-{key}").get_by_role("combobox")
        listbox = self.page.get_by_role("listbox")
        box.click()
        self._count()
        try:
            listbox.wait_for(timeout=3_000)
        except PlaywrightTimeout:  # a run that ended as the list opened closed it: a person would not notice
            box.click()
            listbox.wait_for()
        named = re.compile(rf"^{re.escape(option)}( \(.*\))?$")
        choice = listbox.get_by_role("option").filter(has_text=named)
        if choice.count() == 0:  # not in the visible part of a long list: type to find it
            box.press_sequentially(option)
            self._count()
        choice.first.click()
        self._count()
        self.settle()

    def paste(self, text: str) -> None:
        """Paste ``text`` (tab-separated columns, one line per row) where the grid's selection is."""
        self.page.evaluate("text => navigator.clipboard.writeText(text)", text)
        self.page.keyboard.press("Control+v")
        self._count()
        self.settle()

    def click_cell(self, row: int, column: str) -> None:
        """One click on a cell of the KPI grid. The grid draws on a canvas, so the test clicks the row's pinned
        first cell and moves to the cell with the arrow keys, reading the grid's selection (its accessible table
        marks the selected cell under its column's header) as it goes; a person clicks the cell: one action."""
        from playwright.sync_api import Error as PlaywrightError

        grid = self.page.locator(".st-key-kpi_grid_section [data-testid='stDataFrame']")
        wanted = GRID_COLUMNS.index(column)

        def click_row() -> None:
            for _ in range(100):
                # The editor of the run before may still be on the page (the grid is drawn again when the
                # cells it marks change): wait until one is left, and try again if a rerun brings a second.
                while grid.count() != 1:
                    self.page.wait_for_timeout(100)
                try:
                    grid.scroll_into_view_if_needed(timeout=2_000)
                    box = grid.bounding_box(timeout=2_000)
                except PlaywrightError:
                    continue
                if box is not None:
                    self.page.mouse.click(box["x"] + 30, box["y"] + 52 + 35 * row)  # a header and 35 px rows
                    return
            raise AssertionError("the grid did not settle")

        def position() -> tuple[int, int] | None:
            """(index in GRID_COLUMNS, -1 for a pinned column left of them; row) of the selected cell."""
            selected = grid.locator("td[aria-selected='true']").all()
            if len(selected) != 1:
                return None
            header = grid.locator(f"th[aria-colindex='{selected[0].get_attribute('aria-colindex')}']").all()
            label = header[0].inner_text().strip() if header else ""
            at_row = int((selected[0].get_attribute("id") or "").rsplit("-", 1)[-1])
            return (GRID_COLUMNS.index(label) if label in GRID_COLUMNS else -1), at_row

        click_row()
        at = None
        for _ in range(3 * len(GRID_COLUMNS)):
            for _ in range(20):  # the accessible table follows the selection a moment later
                now = position()
                if now is not None and now != at:
                    break
                self.page.wait_for_timeout(50)
            at = now
            if at == (wanted, row):
                break
            if at is None:  # the click came as the grid was drawn again
                click_row()
            elif at[1] != row:
                self.page.keyboard.press("ArrowDown" if at[1] < row else "ArrowUp")
            else:
                self.page.keyboard.press("ArrowRight" if at[0] < wanted else "ArrowLeft")
        else:
            raise AssertionError(f"could not select the cell {column} of row {row}")
        self._count()

    # -- the app's pages ------------------------------------------------------------------------------
    def open_page(self, link: str, heading: str) -> None:
        self.click(self.page.get_by_role("link", name=link, exact=True).first)
        self.page.get_by_role("heading", name=heading).wait_for()
        self.settle()

    def expect(self, text: str) -> None:
        self.page.get_by_text(text).first.wait_for(timeout=60_000)
        self.settle()


def create_workspace(f: Facilitator, url: str) -> None:
    f.goto(url)
    f.page.get_by_role("heading", name="KPI Wizard").wait_for()
    f.fill(f.page.get_by_label("Name", exact=True), WORKSPACE)
    f.click(f.page.get_by_role("button", name="Create workspace"))
    f.page.get_by_role("heading", name="Units and strategic goals").wait_for()


def load_sample_data(f: Facilitator) -> None:
    f.open_page("Data", "Data")
    f.upload(f.page.locator("[data-testid='stFileUploader'] input[type='file']"), SAMPLE_FILES)
    f.click(f.page.get_by_role("button", name=f"Load {len(SAMPLE_FILES)} files"))
    f.page.get_by_role("heading", name=f"Loaded tables ({len(SAMPLE_FILES)})").wait_for(timeout=120_000)
    f.shoot("1-data-loaded")


def add_units_and_goals(f: Facilitator) -> None:
    page = f.page  # Create workspace went on to the Goals page
    for index, (unit, head, goals) in enumerate(UNITS):
        if index:  # after an add the page shows Goals: back to Units for the next one
            f.click(page.locator("[data-testid=stButtonGroup] button").filter(has_text="Units"))
        f.fill(page.locator(".st-key-add_unit_name input"), unit)
        f.fill(page.locator(".st-key-add_unit_owner input"), head)
        f.click(page.get_by_role("button", name="Add unit"))
        f.expect(f"Added unit '{unit}'")
        for statement, owner in goals:  # the goal form has the new unit chosen already
            f.fill(page.locator(".st-key-add_goal_statement textarea"), statement)
            f.fill(page.locator(".st-key-add_goal_owner input"), owner)
            # A date field of three parts (year, month, day): typed into the first, it moves on by itself.
            f.type_in(page.locator(".st-key-add_goal_due [role=spinbutton]").first, DUE.replace("-", ""))
            f.click(page.get_by_role("button", name="Add goal"))
            f.expect("Added the goal")
    f.shoot("2-goals")


def add_template(f: Facilitator, search: str, name: str, source: str, roles: dict, conditions: dict) -> None:
    page = f.page
    f.step = name
    template = search_templates(search)[0]
    assert template.name == name, f"searching '{search}' offers '{template.name}' first, not '{name}'"
    f.type_and_enter(page.locator(".st-key-template_search input"), search)
    add = page.get_by_role("button", name=f"Add “{name}” to this goal")
    add.wait_for()
    if page.locator(".st-key-template_source").get_by_text(source, exact=True).count() == 0:
        f.pick("template_source", source)
    for role, column in roles.items():
        key = f"template_role_{template.id}_{source}_{role}"
        if page.locator(f".st-key-{key}").get_by_text(f"{column} (", exact=False).count() == 0:
            f.pick(key, column)
    for role, value in conditions.items():
        f.fill(page.locator(f".st-key-template_role_{template.id}_{source}_{role}_value input"), value)
        f.press(page.locator(f".st-key-template_role_{template.id}_{source}_{role}_value input"), "Enter")
    f.click(add)
    f.expect(f"Added '{name}'")


def add_custom(f: Facilitator, name: str, source: str, time_column: str, formula: str) -> None:
    page = f.page
    f.step = name
    f.click(page.get_by_role("tab", name="Custom KPI"))
    f.fill(page.locator(".st-key-custom_kpi_name input"), name)
    f.click(page.get_by_role("button", name="Add KPI"))
    f.expect(f"Added '{name}'")
    kpi_id = name.lower().replace(" ", "_")
    f.pick(f"kpi_{kpi_id}_source", source)
    time_box = page.locator(f".st-key-kpi_{kpi_id}_time_column")
    if time_box.get_by_role("combobox").count():  # the source's date columns to pick from
        f.pick(f"kpi_{kpi_id}_time_column", time_column)
    else:
        f.fill(time_box.locator("input"), time_column)
    f.fill(page.locator(f".st-key-kpi_{kpi_id}_expression textarea"), formula)
    form = page.get_by_test_id("stForm").filter(has=page.locator(f".st-key-kpi_{kpi_id}_name"))
    f.click(form.get_by_role("button", name="Save KPI"))
    f.expect(f"Saved '{name}'")
    saved = f.saved().kpi(kpi_id)
    assert saved is not None, name
    assert (saved.source, saved.time_column, saved.expression) == (source, time_column, formula), saved
    f.click(page.get_by_role("tab", name="From the template library"))


def add_kpis(f: Facilitator) -> None:
    f.open_page("KPIs", "KPIs per goal")
    goals = [statement for _, _, unit_goals in UNITS for statement, _ in unit_goals]
    units = {statement: unit for unit, _, unit_goals in UNITS for statement, _ in unit_goals}
    for goal, additions in zip(goals, PLAN, strict=True):
        if f.page.locator(".st-key-kpi_goal_choice").get_by_text(goal, exact=False).count() == 0:
            f.pick("kpi_goal_choice", f"{units[goal]} — {goal}")
        for addition in additions:
            if addition[0] == "custom":
                add_custom(f, *addition[1:])
            else:
                add_template(f, *addition)
    f.shoot("3-kpis")


def fill_the_grid(f: Facilitator) -> None:
    """Per unit, one grid of all its goals' KPIs: the custom KPIs' unit, cadence and direction pasted, the
    suggestions accepted (owner, baseline, partner), targets with due dates pasted as a block, the thresholds
    they make suggestions of accepted, actions with review dates and partners pasted, one save."""
    page = f.page
    f.click(page.locator("[data-testid=stButtonGroup] button").filter(has_text="All in a grid"))
    plan_by_goal = dict(zip([s for _, _, g in UNITS for s, _ in g], PLAN, strict=True))
    for unit, _, goals in UNITS:
        f.step = f"grid of {unit}"
        first_goal = goals[0][0]
        if page.locator(".st-key-kpi_goal_choice").get_by_text(first_goal, exact=False).count() == 0:
            f.pick("kpi_goal_choice", f"{unit} — {first_goal}")
        scope = page.locator(".st-key-kpis_grid_scope")
        if scope.get_by_role("radio", name=f"Every goal of {unit}").is_checked() is False:
            f.click(scope.get_by_text(f"Every goal of {unit}"))
        names = [a[1] for goal, _ in goals for a in plan_by_goal[goal]]
        for row, name in enumerate(names):
            decided = DECIDED[name]
            if "uom" in decided:
                f.click_cell(row, "Unit of measure")
                f.paste("\t".join([decided["uom"], decided["cadence"], decided["direction"]]))
        accept_all(f)
        f.click_cell(0, "Target value")
        f.paste("\n".join(f"{DECIDED[n]['target']}\t{DUE}" for n in names))
        accept_all(f)
        f.click_cell(0, "Action when off track")
        f.paste("\n".join(f"{DECIDED[n]['action']}\t\t{REVIEWED}\t{DECIDED[n]['partner']}" for n in names))
        f.shoot(f"4-grid-{unit.split()[0].lower()}")
        f.click(page.get_by_role("button", name="Save the grid"))
        f.expect("Saved the grid:")


def accept_all(f: Facilitator) -> None:
    button = f.page.get_by_role("button", name=re.compile(r"^(Accept all [\d,]+ suggestions|Accept the suggestion)"))
    button.wait_for()
    f.click(button)
    f.page.get_by_text("Suggestions are filled in but not saved yet").wait_for()


def download_bundle(f: Facilitator, folder: Path) -> Path:
    f.open_page("Review", "Review")
    with f.page.expect_download(timeout=120_000) as download:
        f.click(f.page.get_by_role("button", name="Download bundle"))
    bundle = folder / download.value.suggested_filename
    download.value.save_as(bundle)
    return bundle


def open_bundle(f: Facilitator, url: str, bundle: Path) -> None:
    f.goto(url)
    f.page.get_by_role("heading", name="KPI Wizard").wait_for()
    f.upload(f.page.locator(".st-key-upload_bundle input[type='file']"), [bundle])
    f.click(f.page.get_by_role("button", name="Open bundle"))
    f.expect(f"Opened '{WORKSPACE}' from {bundle.name}")
    f.shoot("5-bundle-opened")


def dashboard_values(f: Facilitator) -> dict[str, list[str]]:
    """Each unit's tiles on the Dashboard: the KPI names with their values."""
    f.open_page("Dashboard", "Dashboard")
    shown: dict[str, list[str]] = {}
    for index, (unit, _, _) in enumerate(UNITS):
        if index:
            f.click(f.page.get_by_role("radio", name=unit))  # the segmented control's options
        f.page.get_by_role("heading", name=UNITS[index][2][0][0]).wait_for()
        f.settle()
        assert f.page.locator("[data-testid='stAlertContentError']").count() == 0, f"an error box on {unit}"
        labels = f.page.locator("[data-testid='stMetricLabel']").all_inner_texts()
        values = f.page.locator("[data-testid='stMetricValue']").all_inner_texts()
        shown[unit] = [f"{label.strip()}: {value.strip()}" for label, value in zip(labels, values, strict=True)]
        f.shoot(f"6-dashboard-{unit.split()[0].lower()}")
    return shown


def test_a_workshop_from_an_empty_workspace_to_a_reopened_bundle_in_at_most_400_actions(tmp_path):
    require_chromium()
    shots = Path(os.environ.get("KPI_WIZARD_SHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    home = tmp_path / "store"
    store = WorkspaceStore(home)
    with running_app(home) as url, browser_page(width=1400, height=1000) as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
        f = Facilitator(page, shots, store)
        try:
            with f.phase_of("workspace"):
                create_workspace(f, url)
            with f.phase_of("units and goals"):
                add_units_and_goals(f)
            with f.phase_of("data"):
                load_sample_data(f)
            with f.phase_of("KPIs"):
                add_kpis(f)
            with f.phase_of("grid"):
                fill_the_grid(f)
            made_id = page.url.split("ws=")[1].split("&")[0]
            with f.phase_of("bundle"):
                bundle = download_bundle(f, tmp_path)
                second = page.context.browser.new_context(viewport={"width": 1400, "height": 1000})
                f.page = second.new_page()
                f.page.set_default_timeout(30_000)
                open_bundle(f, url, bundle)
            opened_id = f.page.url.split("ws=")[1].split("&")[0]
            with f.phase_of("check"):
                tiles = dashboard_values(f)
        except Exception:
            f.page.screenshot(path=str(shots / "workshop-failed.png"), full_page=True)
            print(f"\nWorkshop stopped in phase {f.phase!r} after {f.report()}")
            print("Actions per step:", ", ".join(f"{step} {n}" for step, n in f.steps.items()))
            raise
    print(f"\nWorkshop: {f.report()}")
    print("Actions per step:", ", ".join(f"{step} {n}" for step, n in f.steps.items()))
    print("Dashboard after reopening:", tiles)

    assert opened_id != made_id, "the bundle opened as a workspace of its own"
    made, reopened = store.load(made_id), store.load(opened_id)
    assert [(u.name, u.owner) for u in reopened.units] == [(unit, head) for unit, head, _ in UNITS]
    assert [(g.statement, g.owner, g.due.isoformat() if g.due else None) for g in reopened.goals] == [
        (statement, owner, DUE) for _, _, goals in UNITS for statement, owner in goals
    ]
    assert sorted(k.name for k in reopened.kpis) == sorted(DECIDED)
    assert reopened.kpis == made.kpis, "the bundle carries every KPI as it was saved"
    by_name = {k.name: k for k in reopened.kpis}
    for kpi in reopened.kpis:
        decided = DECIDED[kpi.name]
        assert kpi.owner and kpi.source and kpi.expression and kpi.time_column, kpi
        assert kpi.cadence and kpi.direction and kpi.unit_of_measure, kpi
        assert kpi.baseline is not None and kpi.baseline.period, kpi
        assert kpi.target is not None and kpi.target.value is not None and kpi.target.due.isoformat() == DUE, kpi
        assert kpi.thresholds is not None and None not in (kpi.thresholds.warning, kpi.thresholds.critical), kpi
        assert kpi.action == decided["action"] and kpi.review_date.isoformat() == REVIEWED, kpi
        assert kpi.pairs_with == by_name[decided["partner"]].id, kpi
        for field in ("cadence", "direction"):
            if field in decided:
                assert getattr(kpi, field).value == decided[field], kpi
    goal_owner = {g.id: g.owner for g in reopened.goals}
    assert all(k.owner == goal_owner[k.goal] for k in reopened.kpis), "owners accepted from the goals"
    assert by_name["Conversion rate"].target.value == pytest.approx(0.045)
    assert by_name["Revenue"].target.value == 200_000
    assert by_name["Defect ticket share"].unit_of_measure.value == "percent"
    assert by_name["Defect ticket share"].target.value == pytest.approx(0.05)

    computed = [tile for unit_tiles in tiles.values() for tile in unit_tiles]
    assert len(computed) == len(DECIDED), tiles
    assert not [t for t in computed if t.endswith((": —", ": Not computed", ": "))], tiles
    assert f.total <= MAX_ACTIONS, f.report()

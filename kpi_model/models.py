"""The KPI workspace: units, strategic goals, data sources and KPIs.

The models validate *structure* (types, enums, id formats) only. A draft KPI may be
incomplete; what is missing is the audit's business. References between objects
(a KPI's goal, ``pairs_with`` …) are checked by :func:`reference_problems`, so that a
workspace being edited can pass through inconsistent states without raising.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    field_validator,
    model_validator,
)

FORMAT_VERSION = 1

KPI_ID_PATTERN = r"^[a-z_][a-z0-9_]*$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
SOURCE_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
MAX_UNITS, MAX_GOALS, MAX_SOURCES, MAX_KPIS = 500, 1_000, 500, 2_000
MAX_SOURCE_PATH = 1024  # characters; file systems refuse longer paths with an OSError

# KPI ids double as identifiers in derived-KPI expressions, hence the stricter form.
KpiId = Annotated[str, StringConstraints(pattern=KPI_ID_PATTERN, max_length=63)]
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=63)]
SourceName = Annotated[str, StringConstraints(pattern=SOURCE_NAME_PATTERN, max_length=63)]
Text = Annotated[str, StringConstraints(strip_whitespace=True)]


def _not_a_truth_value(value: Any) -> Any:
    if isinstance(value, bool):  # YAML 1.1 reads on/off/yes/no/true/false as booleans, pydantic would make 1.0/0.0
        raise ValueError("true/false (or on/off, yes/no) is not a number: write the number itself")
    return value


# A number in the workspace file; a boolean is refused, not read as 1 or 0.
Number = Annotated[float, BeforeValidator(_not_a_truth_value)]

# A name is one line: a line break in a spreadsheet cell ("Net\nrevenue") is layout, and in a name it
# would let printed output fake lines of its own (a KPI named "…\nverdict: leads").
# Bidi controls (U+202A-202E, U+2066-2069) would reverse the text that follows a name in every list.
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1),
    AfterValidator(lambda value: " ".join(value.translate(_BIDI_CONTROLS).split()) or value.strip()),
]


class Category(StrEnum):
    """Balanced-scorecard style family of a KPI."""

    FINANCIAL = "financial"
    CUSTOMER = "customer"
    PROCESS = "process"
    MARKETING = "marketing"
    PEOPLE = "people"


class Kind(StrEnum):
    """Leading indicators move first; lagging ones record the outcome."""

    LEADING = "leading"
    LAGGING = "lagging"


class Measure(StrEnum):
    """Whether the KPI is computed from data or collected as a judgement (survey)."""

    QUANTITATIVE = "quantitative"
    QUALITATIVE = "qualitative"


class Direction(StrEnum):
    """Which way is better: up, down, or staying inside a range."""

    UP = "up"
    DOWN = "down"
    RANGE = "range"


class Cadence(StrEnum):
    """How often the KPI is reviewed."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


class UnitOfMeasure(StrEnum):
    """What the KPI's number is."""

    COUNT = "count"
    CURRENCY = "currency"
    PERCENT = "percent"
    RATIO = "ratio"
    DURATION = "duration"
    SCORE = "score"


# Period labels (upper-cased) and the grain each names; the year, and the quarter, month or week, are groups.
PERIOD_LABEL_FORMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(\d{4})$"), "year"),
    (re.compile(r"^(\d{4})-Q([1-4])$"), "quarter"),
    (re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"), "month"),
    (re.compile(r"^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$"), "week"),
)


def _cut(text: str, limit: int = 60) -> str:
    """User text as a message quotes it: at most ``limit`` characters, so a huge value stays a short message."""
    return text if len(text) <= limit else f"{text[:limit]}…"


def parse_period(label: str) -> str:
    """Return ``label`` if it is a period label or ISO date, else raise ``ValueError``.

    Accepted: ``2025``, ``2025-Q4``, ``2025-12``, ``2025-W07`` and ``2025-12-31``.
    """
    text = label.strip().upper()
    if any(pattern.match(text) for pattern, _ in PERIOD_LABEL_FORMS):
        if text.startswith("0000"):
            raise ValueError(f"'{_cut(label)}' is not a period: years run from 0001 to 9999")
        return text
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"'{_cut(label)}' is not a period: write 2025 (year), 2025-Q4 (quarter), "
            "2025-12 (month), 2025-W07 (ISO week) or a date such as 2025-12-31"
        ) from None
    return text


class _Model(BaseModel):
    """Shared config: unknown keys are errors (a typo must not vanish silently); numbers are finite.

    YAML reads ``.nan`` and ``.inf`` as floats; a target of infinity would be saved, compared and
    exported (as JSON's invalid ``Infinity``) without a word, so it is refused where it is read.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_enum_values=False, allow_inf_nan=False)


class Unit(_Model):
    """An organisational unit that owns goals (Sales, Operations …)."""

    id: Slug
    name: Name
    owner: Text | None = None
    description: Text | None = None


class Goal(_Model):
    """A strategic goal of one unit, measured by 3–5 KPIs."""

    id: Slug
    unit: Slug
    statement: Name
    due: dt.date | None = None
    owner: Text | None = None
    description: Text | None = None


class Source(_Model):
    """Where a KPI's data comes from: a file loaded as a table, or a SELECT-only view.

    A source may name only its ``system`` (e.g. "SAP") while the data is not wired up yet.
    """

    name: SourceName
    path: Text | None = Field(
        default=None,
        description="The data file, relative to the workspace file's folder (e.g. data/orders.csv).",
        json_schema_extra={"maxLength": MAX_SOURCE_PATH},
    )
    sql: Text | None = None
    system: Text | None = None
    description: Text | None = None
    date_format: Text | None = Field(
        default=None,
        description="How the file's text dates are written, in strptime codes (e.g. %m/%d/%Y); detected when unset.",
    )

    @field_validator("path")
    @classmethod
    def _path_fits(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if len(value) > MAX_SOURCE_PATH:
            raise ValueError(
                f"the path is {len(value):,} characters long, more than the {MAX_SOURCE_PATH:,} allowed: "
                "move the file to a shorter path in the workspace folder and give that, e.g. data/orders.csv"
            )
        if "\x00" in value:
            raise ValueError(
                "the path contains a NUL character; remove it and give the file's path, e.g. data/orders.csv"
            )
        return value

    @model_validator(mode="after")
    def _path_or_sql(self) -> Source:
        if self.path and self.sql:
            raise ValueError("give either path (a file) or sql (a view), not both")
        if self.date_format is not None and not re.search(r"%[dmYyjbBU]", self.date_format):
            raise ValueError(
                f"date_format '{_cut(self.date_format)}' has no date codes: write it in strptime codes, e.g. %d/%m/%Y"
            )
        return self


def _period_label(value: Any) -> Any:
    """A period as written in a workspace file, as its label: a date or a bare year too."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int):  # YAML reads `period: 2025` as a number
        value = str(value)
    return parse_period(value) if isinstance(value, str) else value


class Baseline(_Model):
    """The value a target is judged against, and the period it was measured in."""

    value: Number
    period: str | None = None

    @field_validator("period", mode="before")
    @classmethod
    def _period_label(cls, value: Any) -> Any:
        return _period_label(value)


class Target(_Model):
    """A time-bound target. For ``direction: range`` give ``low`` and ``high`` instead of ``value``."""

    value: Number | None = None
    low: Number | None = None
    high: Number | None = None
    due: dt.date | None = None

    @model_validator(mode="after")
    def _range_order(self) -> Target:
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high}): swap them")
        return self


class Thresholds(_Model):
    """Alert levels: below ``warning`` is amber, below ``critical`` red (mirrored for ``down``)."""

    warning: Number | None = None
    critical: Number | None = None


# An address one can send mail to (no display name: the name would be another header to forge).
_EMAIL_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
EMAIL_PATTERN = rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_EMAIL_LABEL}(?:\.{_EMAIL_LABEL})*$"
_EMAIL = re.compile(EMAIL_PATTERN)


def _email_address(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"'{_cut(value)}' is not an e-mail address: write it as name@example.com")
    return value


# Checked by a validator, not a pattern constraint: a failed pattern is reported in words written for ids.
EmailAddress = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254),
    AfterValidator(_email_address),
    Field(json_schema_extra={"pattern": EMAIL_PATTERN}),
]
# The name of an environment variable that holds a secret (a password, a webhook URL with its token).
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]
HostName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$", max_length=253)]
MAX_ALERT_CHANNELS, MAX_ALERT_RECIPIENTS = 20, 50


def web_address_problem(url: str) -> str | None:
    """Why ``url`` cannot be used as an http(s) address, or None when it can.

    A user name or password in the address is refused: secrets live in environment variables.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # a port out of range raises here
    except ValueError:
        return f"'{_cut(url)}' is not a web address: write it as https://host/path"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"'{_cut(url)}' is not a web address: write it as https://host/path"
    if parts.username or parts.password:
        return "the address holds a user name or password: put the whole address in an environment variable and name it"
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        return "the address contains spaces or control characters: write it as one https://host/path"
    return None


def _web_address(url: str | None) -> str | None:
    if url is not None and (problem := web_address_problem(url)):
        raise ValueError(problem)
    return url


class AlertOn(StrEnum):
    """What a channel is told about: a KPI entering red or amber, or recovering to green."""

    RED = "red"
    AMBER = "amber"
    RECOVERED = "recovered"


class SmtpSettings(_Model):
    """The mail server an e-mail channel sends through; the password comes from ``password_env``."""

    model_config = ConfigDict(**_Model.model_config, populate_by_name=True, serialize_by_alias=True)

    host: HostName
    port: int = Field(default=25, ge=1, le=65535)
    sender: EmailAddress = Field(alias="from", description="The From address of the alerts.")
    starttls: bool = Field(default=False, description="Upgrade the connection with STARTTLS before logging in.")
    username: Text | None = None
    password_env: EnvName | None = Field(
        default=None, description="Name of the environment variable holding the SMTP password (never the password)."
    )


class AlertChannel(_Model):
    """Where alerts go: e-mail through an SMTP server, or a Slack/Teams-compatible webhook."""

    channel: Literal["email", "webhook"]
    on: list[AlertOn] = Field(
        default_factory=lambda: [AlertOn.RED],
        min_length=1,
        description="Which changes are sent: red, amber, recovered (back to green).",
    )
    to: list[EmailAddress] = Field(default_factory=list, max_length=MAX_ALERT_RECIPIENTS, exclude_if=lambda to: not to)
    smtp: SmtpSettings | None = None
    url: Annotated[Text, AfterValidator(_web_address)] | None = Field(
        default=None, description="The webhook address; use url_env instead when it holds a token."
    )
    url_env: EnvName | None = Field(
        default=None, description="Name of the environment variable holding the webhook address."
    )

    @model_validator(mode="before")
    @classmethod
    def _on_as_written(cls, data: Any) -> Any:
        # YAML 1.1 reads a bare `on:` key as the boolean true: the key people write is meant.
        if isinstance(data, dict) and True in data and "on" not in data:
            data = {("on" if key is True else key): value for key, value in data.items()}
        return data

    @model_validator(mode="after")
    def _complete(self) -> AlertChannel:
        if self.channel == "email":
            if self.smtp is None:
                raise ValueError("an email channel needs smtp: {host: …, port: 25, from: kpi@example.com}")
            if self.url or self.url_env:
                raise ValueError("url and url_env belong to a webhook channel: remove them, or use channel: webhook")
        else:
            if bool(self.url) == bool(self.url_env):
                raise ValueError(
                    "a webhook channel needs exactly one of url or url_env (an environment variable's name)"
                )
            if self.to or self.smtp:
                raise ValueError("to and smtp belong to an email channel: remove them, or use channel: email")
        return self


class Kpi(_Model):
    """One key performance indicator: what is measured, how, by whom, and to what target."""

    id: KpiId
    name: Name
    goal: Slug | None = None
    unit: Slug | None = Field(
        default=None,
        description="Id of the unit the KPI belongs to, for a KPI without a goal; with a goal, the goal's unit.",
    )
    description: Text | None = None
    owner: Text | None = None
    owner_email: EmailAddress | None = Field(
        default=None, description="The owner's e-mail: e-mail channels also send this KPI's alerts there."
    )
    category: Category | None = None
    kind: Kind | None = None
    measure: Measure = Measure.QUANTITATIVE
    source: SourceName | None = None
    expression: Text | None = None
    filter: Text | None = None
    time_column: Text | None = None
    unit_of_measure: UnitOfMeasure | None = None
    direction: Direction | None = None
    cadence: Cadence | None = None
    baseline: Baseline | None = None
    target: Target | None = None
    thresholds: Thresholds | None = None
    pairs_with: KpiId | None = None
    action: Text | None = None
    review_date: dt.date | None = None
    scale: Text | None = Field(default=None, description="Answer scale of a survey KPI, e.g. '0-10'.")
    template: Text | None = Field(default=None, description="Id of the library template it came from.")


MAX_SCENARIOS, MAX_SCENARIO_CHANGES = 200, 100


class DriverChange(_Model):
    """One driver moved in a scenario: by a fraction (``relative``), by an amount (``add``) or to a ``value``."""

    kpi: KpiId = Field(description="Id of the driver (a KPI in the scenario's driver tree).")
    relative: Number | None = Field(default=None, description="Move by this fraction: 0.1 is +10 %, -0.05 is -5 %.")
    add: Number | None = Field(
        default=None, description="Add this amount, in the KPI's own unit (0.01 on a rate is one percentage point)."
    )
    value: Number | None = Field(default=None, description="Set the driver to this value, in the KPI's own unit.")

    @model_validator(mode="after")
    def _one_kind(self) -> DriverChange:
        given = [key for key in ("relative", "add", "value") if getattr(self, key) is not None]
        if len(given) != 1:
            found = f"{' and '.join(given)} given" if given else "none given"
            raise ValueError(
                f"give exactly one of relative (0.1 = +10 %), add (an amount) or value (the new value) "
                f"for driver '{self.kpi}' ({found})"
            )
        return self

    def describe(self) -> str:
        """``mqls +10%``, ``deals +20``, ``win_rate = 0.12``: the change as a short text."""
        if self.relative is not None:
            return f"{self.kpi} {self.relative * 100:+.4g}%"
        if self.add is not None:
            return f"{self.kpi} {self.add:+.6g}"
        return f"{self.kpi} = {self.value:.6g}"


class Scenario(_Model):
    """A named set of driver changes for one derived KPI, kept to compare side by side."""

    id: Slug
    name: Name
    kpi: KpiId = Field(description="Id of the derived KPI whose driver tree the scenario moves.")
    description: Text | None = None
    period: str | None = Field(
        default=None,
        description="Base period the changes apply to (2018-05, 2026-Q3 …); the latest complete period the "
        "drivers share when unset.",
    )
    changes: list[DriverChange] = Field(default_factory=list, max_length=MAX_SCENARIO_CHANGES)

    @field_validator("period", mode="before")
    @classmethod
    def _period_label(cls, value: Any) -> Any:
        return _period_label(value)


class Workspace(_Model):
    """A KPI workspace: the document a team keeps (YAML, in git if they like)."""

    format_version: int = FORMAT_VERSION
    name: Name
    description: Text | None = None
    # Bounds far above any scorecard (a team keeps 3-5 KPIs a goal) that keep one document cheap to check.
    units: list[Unit] = Field(default_factory=list, max_length=MAX_UNITS)
    goals: list[Goal] = Field(default_factory=list, max_length=MAX_GOALS)
    sources: list[Source] = Field(default_factory=list, max_length=MAX_SOURCES)
    kpis: list[Kpi] = Field(default_factory=list, max_length=MAX_KPIS)
    scenarios: list[Scenario] = Field(
        default_factory=list,
        max_length=MAX_SCENARIOS,
        description="Named what-if scenarios: driver changes of a derived KPI, compared side by side.",
        exclude_if=lambda scenarios: not scenarios,  # a workspace without scenarios is written as before
    )
    alerts: list[AlertChannel] = Field(
        default_factory=list,
        max_length=MAX_ALERT_CHANNELS,
        description="Where `kpi-wizard check` sends alerts when a KPI goes off track (see docs/alerts.md).",
        exclude_if=lambda alerts: not alerts,
    )
    app_url: Annotated[Text, AfterValidator(_web_address)] | None = Field(
        default=None, description="The app's address (with ?ws=… if needed): alerts link to the KPI there."
    )

    _lookups: dict[str, tuple[list[Any], int, dict[str, Any]]] = PrivateAttr(default_factory=dict)

    def _lookup(self, attribute: str, key: str, wanted: str) -> Any:
        # Audits look objects up by id thousands of times. The index remembers the list it was
        # built from (and its length): a replaced or grown list is indexed again, never misread.
        items = getattr(self, attribute)
        cached = self._lookups.get(attribute)
        if cached is None or cached[0] is not items or cached[1] != len(items):
            index: dict[str, Any] = {}
            for item in items:
                index.setdefault(getattr(item, key), item)  # the first wins, as a linear search would
            cached = (items, len(items), index)
            self._lookups[attribute] = cached
        return cached[2].get(wanted)

    def __eq__(self, other: object) -> bool:
        # Equal documents are equal workspaces: the lookup index is a cache, not content.
        if not isinstance(other, Workspace):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # mutable, like every pydantic model

    def unit(self, unit_id: str) -> Unit | None:
        """The unit with this id, if any."""
        return self._lookup("units", "id", unit_id)

    def goal(self, goal_id: str) -> Goal | None:
        """The goal with this id, if any."""
        return self._lookup("goals", "id", goal_id)

    def kpi(self, kpi_id: str) -> Kpi | None:
        """The KPI with this id, if any."""
        return self._lookup("kpis", "id", kpi_id)

    def source(self, name: str) -> Source | None:
        """The source with this name, if any."""
        return self._lookup("sources", "name", name)

    def goals_of(self, unit_id: str) -> list[Goal]:
        """The goals of one unit, in file order."""
        return [g for g in self.goals if g.unit == unit_id]

    def kpis_of(self, goal_id: str) -> list[Kpi]:
        """The KPIs of one goal, in file order."""
        return [k for k in self.kpis if k.goal == goal_id]

    def unit_of_kpi(self, kpi: Kpi) -> Unit | None:
        """The unit a KPI belongs to: its goal's, or else the one its ``unit`` names."""
        goal = self.goal(kpi.goal) if kpi.goal else None
        if goal is not None:
            return self.unit(goal.unit)
        return self.unit(kpi.unit) if kpi.unit else None


def workspace_json_schema() -> dict[str, Any]:
    """JSON Schema of the workspace document (published as ``docs/workspace.schema.json``)."""
    schema = Workspace.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "KPI Wizard workspace"
    return schema

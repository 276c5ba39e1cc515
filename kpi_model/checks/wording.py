"""How findings word things: labels of KPIs, goals and units, values, periods, lists and suggestions.

Every rule names an object and shows a number the same way, so a reader meets one wording in
every finding. Rule modules import these helpers from here, never from one another.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence

from kpi_model.models import Goal, Kpi, Unit, UnitOfMeasure
from kpi_model.periods import period_label


def kpi_label(kpi: Kpi) -> str:
    """How a finding names a KPI: its name and id, e.g. ``'Net revenue' (revenue)``."""
    return f"'{kpi.name}' ({kpi.id})"


def goal_label(goal: Goal) -> str:
    """How a finding names a goal: its statement and id."""
    return f"goal '{goal.statement}' ({goal.id})"


def unit_label(unit: Unit) -> str:
    """How a finding names a unit: its name and id."""
    return f"unit '{unit.name}' ({unit.id})"


def capital(text: str) -> str:
    """The text with its first letter upper-case (the rest untouched)."""
    return text[:1].upper() + text[1:]


def sentence(text: str) -> str:
    """The text ending with a full stop unless it already ends a sentence."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def listing(names: Sequence[str], limit: int = 8) -> str:
    """Names joined by commas, the first ``limit`` of them and how many in all."""
    shown = ", ".join(names[:limit])
    return shown + (f" … ({len(names)} in all)" if len(names) > limit else "")


def nearest(word: str, choices: Sequence[str]) -> str | None:
    """The closest of ``choices`` to ``word`` (case-insensitive), in its own spelling, or None."""
    lookup = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(word.lower(), list(lookup), n=1, cutoff=0.6)
    return lookup[match[0]] if match else None


def num(value: float) -> str:
    """A number as the user typed it: 0.045, 12500, 1.5 (no exponent, no thousands separator)."""
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def is_percent(kpi: Kpi) -> bool:
    """Whether the KPI's values are fractions shown as percents."""
    return kpi.unit_of_measure == UnitOfMeasure.PERCENT


def shown(value: float, percent: bool = False) -> str:
    """A value in a finding's message: a percent KPI's 0.975 as ``97.5%``."""
    return f"{num(value * 100)}%" if percent else num(value)


def typed(value: float, percent: bool = False) -> str:
    """A value in a fix: as a percent and as the fraction a workspace file holds, ``97.5% (0.975)``."""
    return f"{num(value * 100)}% ({num(value)})" if percent else num(value)


def period_text(period: dt.date, grain: str) -> str:
    """A computed period as a finding names it: ``2026-10``, ``2026-Q4``, ``2026-W07`` (a timestamp is its day)."""
    day = period.date() if isinstance(period, dt.datetime) else period
    return period_label(day, grain)

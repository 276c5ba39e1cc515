"""Values typed into target, baseline and threshold fields, read as a KPI register writes them.

One reader for the KPI card, the grid of KPIs and the what-if: it reuses the importer's cell
reader (:func:`kpi_model.importers.values.read_amount`, itself on :func:`kpi_model.numbers.parse_number`),
so ``95%``, ``≥ 95 %`` and ``12,5 %`` read as 0.95 and 0.125 here exactly as in an imported sheet,
and ``1,234`` is refused as ambiguous in both places.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from kpi_model.importers.dates import read_date
from kpi_model.importers.values import read_amount
from kpi_model.models import UnitOfMeasure

# Units of measure a percent sign may be typed for (a ratio is often written as one); unset counts too.
_PERCENT_UNITS = frozenset({UnitOfMeasure.PERCENT, UnitOfMeasure.RATIO})
EXAMPLES = "like 0.95, 95% or 1250"
HELP = (
    "A number: 1250, 1.2k; for a percent KPI 95% (a number without the % sign is a fraction: 0.95 is 95%); "
    "a decimal comma (0,3) works too."
)


def shown_value(value: float | None, unit_of_measure: UnitOfMeasure | str | None = None) -> str:
    """A stored number as a person would type it back: a percent KPI's 0.112 as ``11.2%``, 1250000 in full.

    :func:`read_value` reads every text this returns back to the same number.
    """
    if value is None:
        return ""
    if unit_of_measure == UnitOfMeasure.PERCENT:
        return f"{_unambiguous(f'{value * 100:.12g}')}%"  # 12 digits: 0.112 * 100 is 11.200000000000001 in binary
    return _unambiguous(f"{value:.15g}")


# 1.234 could be 1234 written with a thousands point; the reader refuses it, so it is written 1.2340.
_LIKE_THOUSANDS = re.compile(r"^-?\d{1,3}\.\d{3}$")


def _unambiguous(number: str) -> str:
    return f"{number}0" if _LIKE_THOUSANDS.match(number) else number


def read_value(text: str | None, label: str, unit_of_measure: UnitOfMeasure | str | None = None) -> float | None:
    """The number in ``text`` (None when blank); ``ValueError`` naming the text and what to type instead.

    ``label`` names the field in messages, e.g. "Target value"; ``unit_of_measure`` is the KPI's, as
    submitted: a percent is accepted when it is percent, ratio or not set.
    """
    if text is None or not text.strip():
        return None
    raw = " ".join(text.split())
    unit = UnitOfMeasure(unit_of_measure) if unit_of_measure else None
    try:
        amount = read_amount(raw, label, money=unit == UnitOfMeasure.CURRENCY)
    except ValueError as error:
        message = str(error)
        for prefix in (f"{label}: ", f"{label} "):  # the readers start with the label; the form shows it already
            message = message.removeprefix(prefix)
        if "write" not in message:
            message = f"{message}; write it {EXAMPLES}"
        raise ValueError(message) from None
    if amount.value is None:
        raise ValueError(f"'{raw}' is a range; type one number here (a range goes in Range low and Range high)")
    if amount.dropped:
        raise ValueError(
            f"'{raw}' has the word '{amount.dropped}' after the number; type only the number "
            "(the unit is set under Unit of measure)"
        )
    if amount.percent and unit is not None and unit not in _PERCENT_UNITS:
        raise ValueError(
            f"'{raw}' is a percent but this KPI's unit of measure is {unit.value}: type the number itself, "
            "or set Unit of measure to percent"
        )
    return amount.value


def percent_typo(
    text: str, value: float | None, unit_of_measure: UnitOfMeasure | str | None, before: str
) -> str | None:
    """Why a bare number typed for a percent KPI is probably meant as a percent, or None.

    The card and the grid show a percent KPI's values as 11.2%: a bare 12 typed over ``before`` is most
    likely 12%, not 1200%. A value left as it was shown is not questioned.
    """
    typed = text.strip()
    if unit_of_measure != UnitOfMeasure.PERCENT or value is None or typed == before or "%" in typed:
        return None
    if abs(value) <= 1:
        return None
    return f"'{typed}' would be {value * 100:,.12g}%: type {typed}% (or the fraction)"


# A day written with its day and month both ≤ 12: 03/04/2026 is 3 April in Europe and March 4 in the US.
_TWO_WAY_DAY = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$")


_LONGEST_DATE = 40  # "by the end of September 30, 2027" and some
# An ISO day followed by anything but a time of day (a spreadsheet's '2026-04-03 00:00:00' is a day).
_ISO_WITH_MORE = re.compile(r"^\d{4}-\d{2}-\d{2}(?![ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$).+$")


def _spoken(day: dt.date) -> str:
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"


def read_day(text: str | None, label: str) -> dt.date | None:
    """The day in ``text`` (None when blank); ``ValueError`` naming the text and what to type instead.

    The register import's reader (:func:`kpi_model.importers.dates.read_date`): ``2026-04-03``,
    ``13/04/2026`` and ``3 Apr 2026`` are days; ``03/04/2026`` reads two ways and is refused with both
    readings, never guessed; a period (``Q2 2027``) is refused with the day it would end on.
    """
    if text is None or not text.strip():
        return None
    raw = " ".join(text.split())
    if len(raw) > _LONGEST_DATE:  # refused before it is quoted back in a message
        raise ValueError(f"{len(raw):,} characters is no date; write it as YYYY-MM-DD, e.g. 2027-06-30")
    if _ISO_WITH_MORE.match(raw):  # the reader takes the first ten characters of an ISO date: '2026-04-03x' too
        raise ValueError(f"'{raw}' has more after the date; write the date alone, e.g. {raw[:10]}")
    try:
        day, period = read_date(raw, label)
    except ValueError as error:
        two_way = _TWO_WAY_DAY.match(raw) if "could be" in str(error) else None
        if two_way is None:
            message = str(error).removeprefix(f"{label} ")
            raise ValueError(message) from None
        first, second, year = (int(part) for part in two_way.groups())
        day_first, month_first = dt.date(year, second, first), dt.date(year, first, second)
        raise ValueError(
            f"'{raw}' reads two ways: {_spoken(day_first)} (day first) or {_spoken(month_first)} (month first); "
            f"write {day_first.isoformat()} for {_spoken(day_first)} or {month_first.isoformat()} for "
            f"{_spoken(month_first)}"
        ) from None
    if period is not None:
        raise ValueError(f"'{raw}' is a period, not a day; write the day, e.g. {day.isoformat()} (its last day)")
    return day

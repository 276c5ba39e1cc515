"""Due dates as people write them in KPI registers: days, months, quarters and years, never guessed.

``03/04/2027`` (day and month both ≤ 12) is refused rather than read the US or the European way.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from kpi_model.importers.common import norm
from kpi_model.periods import period_end

_MONTHS = {norm(calendar.month_name[i]): i for i in range(1, 13)} | {
    norm(calendar.month_abbr[i]): i for i in range(1, 13)
}
_MONTH_YEAR = re.compile(r"^([a-z]+)\.?\s+(\d{4})$")
_QUARTER = re.compile(r"^(?:q([1-4])\s*(\d{4})|(\d{4})\s*q([1-4]))$")
# A financial year written across two calendar years: "2026/27", "2026-27", "FY2026/27".
_FISCAL_YEAR = re.compile(r"(?:fy\s*)?(\d{4})\s*[/-]\s*(\d{2}|\d{4})", re.I)
# A half year: "H1 2027", "2027 H2", "HJ1 2027", "1. Halbjahr 2027".
_HALF = re.compile(r"^(?:(?:h|hj)([12])\s*(\d{4})|(\d{4})\s*(?:h|hj)([12])|([12])\s*halbjahr\s*(\d{4}))$")


_DUE_WORDS = re.compile(r"^(?:by|until|till|due|end of|bis(?: zum| ende)?|ende|spatestens|spätestens)\s+", re.I)


def _month_end(year: int, month: int) -> dt.date:
    return period_end(dt.date(year, month, 1), "month")


def read_date(text: str, label: str = "date") -> tuple[dt.date, str | None]:
    """A due date and, when the cell named a period rather than a day, how it was read.

    ``2027-06-30``, ``30.06.2027``, ``30/06/2027`` and ``June 30, 2027`` are days;
    ``2027``, ``Q2 2027``, ``H1 2027``, ``2027-06`` and ``June 2027`` are read as the period's last day.
    ``03/04/2027`` (day and month both ≤ 12) is refused: it is read differently in the US and Europe.
    """
    raw = _DUE_WORDS.sub("", text.strip())  # "by Dec 2027", "bis 31.12.2027"
    key = norm(raw)
    try:
        return dt.date.fromisoformat(raw[:10]), None
    except ValueError:
        pass
    if re.fullmatch(r"\d{4}", raw):
        return dt.date(int(raw), 12, 31), f"the year {raw} read as its last day"
    quarter = _QUARTER.match(key.replace(" ", "")) or _QUARTER.match(key)
    if quarter:
        number, year = (
            (quarter.group(1), quarter.group(2)) if quarter.group(1) else (quarter.group(4), quarter.group(3))
        )
        return _month_end(int(year), int(number) * 3), f"the quarter '{raw}' read as its last day"
    fiscal = _FISCAL_YEAR.fullmatch(raw)
    month_like = "/" not in raw and len(fiscal.group(2)) == 2 and int(fiscal.group(2)) <= 12 if fiscal else False
    if fiscal and not month_like and (int(fiscal.group(1)) + 1) % 100 == int(fiscal.group(2)) % 100:
        # "2026/27": the British public-sector year, 1 April to 31 March; said in a note, as years differ elsewhere.
        end = int(fiscal.group(1)) + 1
        return dt.date(end, 3, 31), f"the financial year '{raw}' read as ending {end}-03-31 (April to March)"
    half = _HALF.match(key.replace(" ", "")) or _HALF.match(key)
    if half:
        number, year = next((half.group(i), half.group(j)) for i, j in ((1, 2), (4, 3), (5, 6)) if half.group(i))
        return _month_end(int(year), int(number) * 6), f"the half year '{raw}' read as its last day"
    month_year = re.fullmatch(r"(\d{4})[-/.](\d{1,2})|(\d{1,2})[-/.](\d{4})", raw)
    if month_year:
        year, month = (month_year.group(1), month_year.group(2)) if month_year.group(1) else month_year.group(4, 3)
        if 1 <= int(month) <= 12:
            return _month_end(int(year), int(month)), f"the month '{raw}' read as its last day"
    named = _MONTH_YEAR.match(key)
    if named and named.group(1) in _MONTHS:
        return _month_end(int(named.group(2)), _MONTHS[named.group(1)]), f"the month '{raw}' read as its last day"
    parts = re.fullmatch(r"(\d{1,2})([./-])(\d{1,2})\2(\d{4})", raw)
    if parts:
        first, separator, second, year = int(parts.group(1)), parts.group(2), int(parts.group(3)), int(parts.group(4))
        if separator == "." or first > 12:  # 30.06.2027 is German; 30/06 can only be day first
            day, month = first, second
        elif second > 12 or first == second:
            day, month = second, first
        else:
            raise ValueError(
                f"{label} '{raw}' could be {first} {calendar.month_name[second]} or "
                f"{calendar.month_name[first]} {second}; write it as YYYY-MM-DD"
            )
        try:
            return dt.date(year, month, day), None
        except ValueError:
            raise ValueError(f"{label} '{raw}' is not a calendar date") from None
    for form in ("%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y"):
        try:
            return dt.datetime.strptime(raw.replace(",", ""), form).date(), None
        except ValueError:
            continue
    raise ValueError(f"{label} '{raw}' is not a date; write it as YYYY-MM-DD, e.g. 2027-06-30")

"""Cell values as people type them in KPI spreadsheets, read into workspace values.

Every reader either returns a value or raises ``ValueError`` with a message that says
what the text was and how to write it; nothing is guessed where two readings are possible
(``03/04/2027``, ``1,234``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from kpi_model.importers.common import norm
from kpi_model.importers.dates import read_date as read_date  # where readers of cells look for it
from kpi_model.importers.number_format import Reading, Separator, parse_decimal
from kpi_model.importers.rag import colours_named as colours_named  # where callers look for them
from kpi_model.importers.rag import split_by_header as split_by_header
from kpi_model.importers.rag import split_rag as split_rag
from kpi_model.models import Cadence, Category, Direction, Kind

NUMBER_FIELDS = ("baseline", "target", "warning", "critical", "thresholds")  # the fields read as numbers
# Cells that say "nothing here" in words; treated as blank rather than as a value.
PLACEHOLDERS = frozenset({"", "-", "–", "—", "n/a", "na", "#n/a", "tbd", "tbc", "?", "none", "null", "nan", "…", "..."})


def is_blank(text: str) -> bool:
    """Whether a cell is empty or only holds a placeholder such as ``TBD`` or ``n/a``."""
    return text.strip().lower() in PLACEHOLDERS


def word_table(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Value by normalised word: ``{"monthly": ("Monthly", "monatlich")}`` → ``{"monthly": …, "monatlich": …}``."""
    return {norm(word): value for value, words in table.items() for word in words}


_CADENCE = word_table(
    {
        "daily": ("daily", "day", "d", "every day", "per day", "taglich", "quotidien", "quotidienne", "diario"),
        "weekly": ("weekly", "week", "w", "wk", "every week", "per week", "wochentlich", "hebdomadaire", "semanal"),
        "monthly": ("monthly", "month", "m", "mo", "every month", "per month", "monatlich", "mensuel", "mensual"),
        "quarterly": (
            "quarterly",
            "quarter",
            "q",
            "qtr",
            "every quarter",
            "per quarter",
            "quartalsweise",
            "vierteljahrlich",
            "quartal",
            "trimestriel",
            "trimestral",
        ),
        "yearly": (
            "yearly",
            "annual",
            "annually",
            "year",
            "y",
            "yr",
            "every year",
            "per year",
            "jahrlich",
            "annuel",
            "annuelle",
            "anual",
        ),
    }
)
_DIRECTION = word_table(
    {
        "up": (
            "up",
            "higher is better",
            "higher",
            "high",
            "increase",
            "increasing",
            "maximise",
            "maximize",
            "max",
            "more is better",
            "bigger is better",
            "larger is better",
            "high is good",
            "positive",
            "hoher ist besser",
            "steigend",
            "plus haut est mieux",
            "hausse",
            "mayor es mejor",
        ),
        "down": (
            "down",
            "lower is better",
            "lower",
            "low",
            "decrease",
            "decreasing",
            "reduce",
            "minimise",
            "minimize",
            "min",
            "less is better",
            "smaller is better",
            "low is good",
            "negative",
            "niedriger ist besser",
            "sinkend",
            "plus bas est mieux",
            "baisse",
            "menor es mejor",
        ),
        "range": ("range", "between", "within range", "target range", "in range", "stable", "on target", "corridor"),
    }
)
_ARROWS = {"↑": "up", "⬆": "up", "▲": "up", "↗": "up", "↓": "down", "⬇": "down", "▼": "down", "↘": "down", "↔": "range"}
_CATEGORY = word_table(
    {
        "financial": ("financial", "finance", "financials", "finanzen", "finanziell", "financier", "financiero"),
        "customer": ("customer", "customers", "client", "clients", "market", "kunde", "kunden", "cliente", "clientes"),
        "process": (
            "process",
            "processes",
            "internal",
            "internal process",
            "internal processes",
            "internal business process",
            "internal business processes",
            "operations",
            "operational",
            "ops",
            "prozess",
            "prozesse",
            "processus",
            "procesos",
        ),
        "marketing": ("marketing", "sales and marketing", "growth marketing", "mercadotecnia"),
        "people": (
            "people",
            "hr",
            "employee",
            "employees",
            "staff",
            "learning and growth",
            "learning growth",
            "learning",
            "human resources",
            "mitarbeiter",
            "personal",
            "personnel",
            "rh",
            "personas",
        ),
    }
)
_KIND = word_table(
    {
        "leading": (
            "leading",
            "lead",
            "leading indicator",
            "driver",
            "input",
            "fruhindikator",
            "fruh",
            "vorlaufend",
            "avance",
            "adelantado",
        ),
        "lagging": (
            "lagging",
            "lag",
            "lagging indicator",
            "outcome",
            "result",
            "output",
            "spatindikator",
            "spat",
            "nachlaufend",
            "ergebnis",
            "retard",
        ),
    }
)
_MODIFIERS = frozenset({"bi", "semi", "half", "twice", "tri", "fortnightly", "not", "no", "2", "3", "4", "6"})


def lookup_word(text: str, table: dict[str, str], label: str, allowed: list[str]) -> str:
    key = norm(text)
    if key in table:
        return table[key]
    # "Monthly (reviewed in the MBR)": exactly one known word among several is still clear,
    # unless another word changes its meaning ("bi-weekly", "semi-annual", "every 2 weeks").
    words = key.split()
    found = {table[word] for word in words if word in table and len(word) > 2}
    if len(found) == 1 and not _MODIFIERS & set(words):
        return found.pop()
    raise ValueError(f"{label} '{text.strip()}' is not one of {', '.join(allowed)}")


def read_cadence(text: str) -> Cadence:
    """``'Monthly'``, ``'M'``, ``'monatlich'`` → monthly; anything else raises."""
    return Cadence(lookup_word(text, _CADENCE, "cadence", [c.value for c in Cadence]))


def read_direction(text: str) -> Direction:
    """``'Higher is better'``, ``'↑'``, ``'increase'`` → up; ``'reduce'`` → down; ``'between'`` → range."""
    stripped = text.strip()
    if stripped in _ARROWS:
        return Direction(_ARROWS[stripped])
    return Direction(lookup_word(text, _DIRECTION, "direction", [d.value for d in Direction]))


def read_category(text: str) -> Category:
    """``'Finance'``, ``'Learning & growth'`` … → a category; anything else raises."""
    return Category(lookup_word(text, _CATEGORY, "category", [c.value for c in Category]))


def read_kind(text: str) -> Kind:
    """``'Leading indicator'`` → leading, ``'Lag'`` → lagging."""
    return Kind(lookup_word(text, _KIND, "kind", [k.value for k in Kind]))


@dataclass(frozen=True)
class Amount:
    """A number read from a cell, with what the cell said besides the number."""

    value: float | None = None
    low: float | None = None
    high: float | None = None
    percent: bool = False
    currency: bool = False
    better: Direction | None = None  # from '≥ 95%' (up) or '< 2 days' (down)
    dropped: str | None = None  # a unit word that is not part of the value ('days')
    out_of: float | None = None  # the top of a rating scale written beside the value ('4.3 / 5')


# A rating with the top of its scale: '4.3 / 5', '8 out of 10', '4,2 von 5'.
_OUT_OF = re.compile(r"^(\d[\d.,]*)\s*(?:/|out of|of|von|sur)\s*(\d+(?:[.,]\d+)?)$", re.I)
_COMPARATORS = (
    (
        re.compile(
            r"^(>=|=>|≥|>|at least|minimum|min\.?|mindestens|au moins|al menos|above|over|more than|über|uber)\s*",
            re.I,
        ),
        Direction.UP,
    ),
    (
        re.compile(
            r"^(<=|=<|≤|<|at most|maximum|max\.?|hochstens|höchstens|au plus|como maximo"
            r"|below|under|less than|unter)\s*",
            re.I,
        ),
        Direction.DOWN,
    ),
)
_CURRENCY = re.compile(r"^(?:[€$£¥]|eur|usd|gbp|chf)\s*|\s*(?:[€$£¥]|eur|usd|gbp|chf)$", re.I)
_PERCENT = re.compile(r"\s*(?:%|percent|pct|prozent)\s*", re.I)
_BETWEEN = re.compile(r"^(?:between|zwischen|entre)\s+(.+?)\s+(?:and|und|et|y)\s+(.+)$", re.I)
# Each end may carry a multiplier ("£1.0m-1.8m", "5k to 8k"), the high end a unit word ("2–3 days").
_RANGE = re.compile(
    r"^(\d[\d.,\s']*?(?:k|m|mm|bn|mio|tsd)?)\s*(?:–|—|-|to|bis|à|a)\s*(\d[\d.,\s']*(?:[^\W\d_][^\d]*)?)$", re.I
)
# The word after a number must start with a letter: '2027-06-30' is a date, not 2027 and '-06-30'.
_NUMBER_AND_WORD = re.compile(r"^([+-]?[\d.,\s'\u00a0]*\d)\s*([^\W\d_].*)?$")
_MULTIPLIERS = {"k": 1e3, "tsd": 1e3, "mio": 1e6, "mn": 1e6, "million": 1e6, "millions": 1e6, "bn": 1e9, "billion": 1e9}
# "m" is millions in an amount of money, but minutes or months elsewhere: only read with money.
# A capital "M" or "B" after a number is the spreadsheet habit for millions and billions ("1.2M").
_MONEY_MULTIPLIERS = {"m": 1e6, "mm": 1e6, "b": 1e9}
_CAPITAL_MULTIPLIERS = {"M": 1e6, "MM": 1e6, "B": 1e9, "BN": 1e9}
_NOT_FINITE = re.compile(r"^[+-]?\s*(?:nan|inf|infinity|∞)$", re.I)
_HEX = re.compile(r"^[+-]?0x[0-9a-f]+$", re.I)
_SCIENTIFIC = re.compile(r"^([+-]?\d[\d.,]*)[eE]([+-]?\d{1,6})$")
_SMALLEST = 1e-300  # a smaller non-zero value in scientific notation is refused, not stored as 0
MAX_NUMBER_CHARS = 300  # a number cell longer than this is no number a KPI holds (1e300 has 301 digits)


def is_not_finite(text: str) -> bool:
    """Whether a cell spells a value that is no finite number: ``NaN``, ``inf``, ``-∞``."""
    return _NOT_FINITE.match(text.strip()) is not None


def _not_finite(label: str, text: str) -> ValueError:
    return ValueError(f"{label} '{clip_digits(text)}' is not a finite number; write a number such as 0.3 or 1250")


def clip_digits(text: str, limit: int = 40) -> str:
    """A long cell shortened for a message: ``'99999…(400 characters)'``."""
    text = text.strip()
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def _finite(value: float, label: str, text: str) -> float:
    if not math.isfinite(value):
        raise _not_finite(label, text)
    return value


def _scientific(match: re.Match[str], text: str, label: str, decimal: Separator | None) -> float:
    """``1.2e3`` → 1200.0; refused when the value is too large or too small to store."""
    mantissa = parse_decimal(match.group(1), decimal, label=label)
    value = float(f"{mantissa!r}e{match.group(2)}")
    if not math.isfinite(value) or (mantissa != 0 and abs(value) < _SMALLEST):
        raise ValueError(
            f"{label} '{clip_digits(text)}' is written in scientific notation and is too "
            f"{'large' if abs(value) > 1 else 'small'} to store (not a finite number); write it as a plain number"
        )
    return value


def _number(
    text: str, label: str, money: bool = False, decimal: Separator | None = None, *, typed: str | None = None
) -> tuple[float, str | None]:
    """A number with an optional multiplier (``5k``) or a trailing unit word, which is returned.

    Scientific notation (``1.2e3``) is read; a value that is not finite (``NaN``, ``inf``, 400 digits) is refused.
    ``typed`` is the whole text as typed, which messages quote: ``text`` may have lost a ``<`` or a ``%``.
    """
    stripped = text.strip()
    shown = (typed or text).strip()
    if len(stripped) > MAX_NUMBER_CHARS:
        raise _not_finite(label, shown)
    if _HEX.match(stripped):
        raise ValueError(f"{label} '{shown}' is a hexadecimal number; write it in decimal (0x1F is 31)")
    if scientific := _SCIENTIFIC.match(stripped):
        return _scientific(scientific, shown, label, decimal), None
    match = _NUMBER_AND_WORD.match(stripped)
    if not match:
        raise ValueError(f"{label} '{shown}' is not a number")
    value = _finite(parse_decimal(match.group(1), decimal, label=label), label, shown)
    word = (match.group(2) or "").strip()
    if not word:
        return value, None
    factor = (
        _MULTIPLIERS.get(word.lower().rstrip("."))
        or _CAPITAL_MULTIPLIERS.get(word.rstrip("."))
        or (money and _MONEY_MULTIPLIERS.get(word.lower()))
    )
    if factor:
        return _finite(value * factor, label, shown), None
    if re.search(r"\d", word):
        # "1.0m / A £1.0m-1.8m": more numbers after the first; reading the first alone would be a guess.
        raise ValueError(f"{label} '{shown}' holds more than one number; write one value per cell")
    return value, word


def has_currency(text: str) -> bool:
    """Whether a cell carries a currency sign or code (``€1.2m``, ``1,200 EUR``)."""
    return bool(_CURRENCY.search(text.strip()))


def read_amount(text: str, label: str = "value", *, money: bool = False, decimal: Separator | None = None) -> Amount:
    """``'30%'`` → 0.3 (percent), ``'≥ 95%'`` → 0.95 and up, ``'2–3 days'`` → low 2, high 3, ``'€1.2k'`` → 1200.

    ``money`` says the KPI is an amount of money (its unit of measure, or a currency sign in
    the row), so that ``1.5m`` reads as 1,500,000. ``decimal`` is the separator the evidence of
    the file decided for numbers such as ``1.850``; without it they raise
    :class:`~kpi_model.importers.number_format.AmbiguousNumber`.
    """
    raw = text.strip()
    rest = raw
    better = None
    for pattern, direction in _COMPARATORS:
        stripped = pattern.sub("", rest, count=1)
        if stripped != rest:
            rest, better = stripped, direction
            break
    currency = False
    while _CURRENCY.search(rest):  # leading and trailing symbol or code
        rest, currency = _CURRENCY.sub("", rest, count=1).strip(), True
    percent = bool(_PERCENT.search(rest))
    rest = _PERCENT.sub("", rest).strip()
    money = money or currency

    def scaled(number: float) -> float:
        return round(number / 100, 12) if percent else number  # 95 / 100, not 95 * 0.01 (0.9500000000000001)

    between = _BETWEEN.match(rest) or _RANGE.match(rest)
    if between:
        low, low_word = _number(between.group(1), label, money, decimal)
        high, dropped = _number(between.group(2), label, money, decimal)
        return Amount(
            low=_finite(scaled(low), label, raw),
            high=_finite(scaled(high), label, raw),
            percent=percent,
            currency=currency,
            dropped=dropped or low_word,
        )
    if not rest:
        raise ValueError(f"{label} '{raw}' holds no number")
    if is_not_finite(rest):
        raise _not_finite(label, raw)
    out_of = None
    if not percent and (rating := _OUT_OF.match(rest)):
        top, _ = _number(rating.group(2), label, money, decimal)
        score, _ = _number(rating.group(1), label, money, decimal)
        if 3 <= top <= 100 and 0 <= score <= top:  # a rating scale, not a fraction such as 1/2
            rest, out_of = rating.group(1), top
    value, dropped = _number(rest, label, money, decimal, typed=raw)
    return Amount(
        value=_finite(scaled(value), label, raw),
        percent=percent,
        currency=currency,
        better=better,
        dropped=dropped,
        out_of=out_of,
    )


_SEPARATORS: tuple[Separator, ...] = (",", ".")


def amount_readings(text: str, label: str = "value", *, money: bool = False) -> dict[Separator, Reading]:
    """What an ambiguous cell would be with each decimal separator: ``'1.850'`` → ``{',': 1850, '.': 1.85}``."""
    readings: dict[Separator, Reading] = {}
    for separator in _SEPARATORS:
        amount = read_amount(text, label, money=money, decimal=separator)
        if amount.value is not None:
            readings[separator] = amount.value
        elif amount.low is not None and amount.high is not None:
            readings[separator] = (amount.low, amount.high)
    return readings

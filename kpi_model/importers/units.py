"""Units of measure as registers write them: ``%``, ``EUR``, ``T€``, ``€ m``, ``Tage``, ``Punkte``.

Money counted in thousands or millions ("T€", "Mio €") is currency; :func:`money_scale` says which,
so the import can keep the values as written and say so in a note.
"""

from __future__ import annotations

import re

from kpi_model.importers.values import lookup_word, word_table
from kpi_model.models import UnitOfMeasure

_UNIT_OF_MEASURE = word_table(
    {
        "percent": ("percent", "percentage", "pct", "prozent", "pourcentage", "porcentaje"),
        "currency": ("currency", "money", "eur", "euro", "euros", "usd", "dollar", "dollars", "gbp", "chf", "waehrung"),
        "count": ("count", "number", "no", "qty", "quantity", "units", "items", "anzahl", "nombre", "cantidad"),
        "ratio": ("ratio", "factor", "multiple", "x", "quote", "verhaltnis"),
        "duration": (
            *("duration", "days", "day", "hours", "hour", "h", "minutes", "min", "seconds", "sec", "time"),
            *("weeks", "week", "months", "month", "tage", "tag", "stunden", "stunde", "std", "minuten", "sekunden"),
            *("wochen", "woche", "monate", "monat", "jours", "heures", "semaines", "mois", "dias", "horas"),
        ),
        "score": ("score", "points", "pts", "index", "rating", "nps", "punkte", "note"),
    }
)
_UOM_SYMBOLS = {"%": "percent", "€": "currency", "$": "currency", "£": "currency", "¥": "currency", "#": "count"}


# Money counted in thousands or millions: "T€", "Tsd. €", "k€", "TEUR", "€ m", "Mio €", "EUR Mio.".
_SCALE_WORDS = r"(t|tsd|k|m|mio|mn|mm|million|millionen|millions|bn|mrd|billion)"
_MONEY_CODE = r"(€|\$|£|eur|usd|gbp|chf)"
_SCALED_MONEY = re.compile(rf"^(?:{_SCALE_WORDS}\.?\s*{_MONEY_CODE}|{_MONEY_CODE}\s*{_SCALE_WORDS}\.?)$", re.I)
_SCALE_NAMES = {"t": "thousands", "tsd": "thousands", "k": "thousands", "bn": "billions", "mrd": "billions"}


def money_scale(text: str) -> str | None:
    """``'T€'`` → ``'thousands'``, ``'€ m'`` → ``'millions'``; None for a unit that is not scaled money."""
    match = _SCALED_MONEY.match(text.strip())
    if match is None:
        return None
    word = (match.group(1) or match.group(4)).lower()
    return _SCALE_NAMES.get(word, "billions" if word == "billion" else "millions")


def read_unit_of_measure(text: str) -> UnitOfMeasure:
    """``'%'`` → percent, ``'EUR'``, ``'T€'``, ``'€ m'`` → currency, ``'days'``, ``'Tage'`` → duration …"""
    stripped = text.strip()
    if money_scale(stripped):
        return UnitOfMeasure.CURRENCY
    if stripped in _UOM_SYMBOLS:
        return UnitOfMeasure(_UOM_SYMBOLS[stripped])
    return UnitOfMeasure(lookup_word(text, _UNIT_OF_MEASURE, "unit of measure", [u.value for u in UnitOfMeasure]))


def looks_like_unit_of_measure(text: str) -> bool:
    """Whether a cell reads as a unit of measure (used to tell a 'Unit' column's meaning)."""
    try:
        read_unit_of_measure(text)
    except ValueError:
        return False
    return True

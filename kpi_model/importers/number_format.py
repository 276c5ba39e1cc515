"""Which character is the decimal separator of a register's numbers, from evidence, never guessed.

``1.850`` is 1850 in Germany and 1.85 in the US; the cell alone cannot say which. Other cells can:
``12,5``, ``0,98`` and ``1.850,00`` prove a decimal comma; ``1,850.00``, ``0.98`` and ``3.5`` a
decimal point. The evidence of a number's own column counts first, then that of the whole file
(its other number columns, a German semicolon CSV, currency written ``1.850 €`` or ``€ 1,850``).
A number that stays ambiguous is not read: the import asks (:class:`NumberQuestion`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from kpi_model.importers.common import NumberQuestion, Reading, Separator, norm

__all__ = ["AmbiguousNumber", "NumberQuestion", "Reading", "Separator", "decide", "parse_decimal", "proves"]

_SPACES = re.compile(r"[\s_\u00a0\u202f']")
# Digits with separators, not a date: "31.12.2027" in a number column proves nothing.
_TOKEN = re.compile(r"(?<![\d.,])\d[\d.,]*\d(?![\d.,])|(?<![\d.,])\d(?![\d.,])")
_DATE = re.compile(r"^\d{1,2}[./]\d{1,2}[./]\d{2,4}$")
# "1.850 €" (sign after, with a space) is how German and French write money; "€ 1,850", "$1,850" English.
_SIGN_AFTER = re.compile(r"\d\s+(?:€|eur)\s*$", re.I)
_SIGN_BEFORE = re.compile(r"^\s*(?:[<>≤≥]=?\s*)?(?:[$£]|€|usd|gbp)\s*\d", re.I)


class AmbiguousNumber(ValueError):
    """A number that reads two ways (``1.850``: 1850 or 1.85) with nothing to decide between them."""

    def __init__(self, text: str, label: str) -> None:
        self.text = text
        super().__init__(
            f"{label} '{text}' is ambiguous: it could use a decimal comma or a decimal point; "
            "write it without a thousands separator (1850) or with a decimal part (1.85, 1,85)"
        )


def _valid(digits: str, decimal: Separator) -> bool:
    """Whether unsigned digits read as a number with ``decimal``: thousands in groups of three, one decimal part."""
    point, group = re.escape(decimal), re.escape("." if decimal == "," else ",")
    pattern = rf"(?:[1-9]\d{{0,2}}(?:{group}\d{{3}})+|\d*)(?:{point}\d+)?"
    return any(c.isdigit() for c in digits) and re.fullmatch(pattern, digits) is not None


def proves(token: str) -> Separator | None:
    """The decimal separator a number proves on its own: ``'12,5'`` → ``','``, ``'1,850'`` → None.

    A token proves a separator when it reads as a number with that one only: ``1.234.567`` and
    ``0,985`` (no thousands group starts with 0) with a comma, ``1,850.00`` and ``3.5`` with a point.
    """
    digits = _SPACES.sub("", token).lstrip("+-")
    readable = [s for s in _SEPARATORS if _valid(digits, s)]
    return readable[0] if len(readable) == 1 else None


def parse_decimal(token: str, decimal: Separator | None, label: str = "value") -> float:
    """A number token read with ``decimal`` when the token itself does not decide; raises when it is ambiguous."""
    compact = _SPACES.sub("", token.strip())
    if "," in compact or "." in compact:
        chosen = proves(compact) or decimal
        if chosen is None and _valid(compact.lstrip("+-"), ",") and _valid(compact.lstrip("+-"), "."):
            raise AmbiguousNumber(token.strip(), label)
        if chosen is None or not _valid(compact.lstrip("+-"), chosen):
            raise ValueError(f"{label}: '{token.strip()}' is not a number; write it like 0.3 or 1250")
        thousands = "." if chosen == "," else ","
        compact = compact.replace(thousands, "").replace(",", ".")
    try:
        return float(compact)
    except ValueError:
        raise ValueError(f"{label}: '{token.strip()}' is not a number; write it like 0.3 or 1250") from None


_SEPARATORS: tuple[Separator, ...] = (",", ".")


def cell_evidence(text: str) -> tuple[Separator | None, Separator | None]:
    """What one cell says: (the separator its numbers prove, the one its currency sign suggests).

    A cell whose numbers prove both (``0.98 / 12,5``) proves nothing.
    """
    proofs = {proves(t) for t in _TOKEN.findall(text) if not _DATE.match(t)} - {None}
    proof = proofs.pop() if len(proofs) == 1 else None
    hint: Separator | None = None
    if _SIGN_AFTER.search(text):
        hint = ","
    elif _SIGN_BEFORE.search(text):
        hint = "."
    return proof, hint


@dataclass
class Evidence:
    """Evidence for one separator or the other, with the first example of each, for notes."""

    proofs: dict[str, str] = field(default_factory=dict)  # separator → "'12,5' in row 4"
    hints: dict[str, str] = field(default_factory=dict)
    why: dict[str, str] = field(default_factory=dict)  # separator → what its first proof shows

    def add(self, text: str, where: str) -> None:
        proof, hint = cell_evidence(text)
        if proof is not None and proof not in self.proofs:
            self.proofs[proof] = f"'{text}' in {where}"
            self.why[proof] = proof_reason(text, proof)
        if hint is not None:
            self.hints.setdefault(hint, f"'{text}' in {where}")

    def decided(self) -> tuple[Separator | None, str, bool]:
        """The separator, why, and whether the evidence contradicts itself (then nothing is decided)."""
        for found, names in ((self.proofs, _PROOF), (self.hints, _HINT)):
            if len(found) > 1:
                said = {s: self.why.get(s, names[s]) if found is self.proofs else names[s] for s in _SEPARATORS}
                return None, " and ".join(f"{found[s]} ({said[s]})" for s in _SEPARATORS), True
            if found:
                separator: Separator = "," if "," in found else "."
                said_one = self.why.get(separator, names[separator]) if found is self.proofs else names[separator]
                return separator, f"{found[separator]}: {said_one}", False
        return None, "", False


_PROOF: dict[str, str] = {",": "a decimal comma", ".": "a decimal point"}
_MARK_NAMES: dict[str, str] = {",": "comma", ".": "point"}
_GROUP_NAMES: dict[str, str] = {",": "commas", ".": "dots"}


def proof_reason(text: str, separator: Separator) -> str:
    """What a cell's number shows about the decimal separator, in words, for a note.

    ``'12,5'`` shows a decimal comma; ``'4.250.000'`` has no comma, but its dots group thousands,
    so the decimal mark must be a comma; ``'1.234,5'`` shows both.
    """
    token = next((t for t in _TOKEN.findall(text) if not _DATE.match(t) and proves(t) == separator), "")
    group = "." if separator == "," else ","
    mark, grouped = separator in token, group in token
    if grouped and not mark:
        return f"thousands grouped with {_GROUP_NAMES[group]}, so the decimal mark is a {_MARK_NAMES[separator]}"
    if grouped:
        return f"a decimal {_MARK_NAMES[separator]} after thousands grouped with {_GROUP_NAMES[group]}"
    return f"a decimal {_MARK_NAMES[separator]}"


_HINT: dict[str, str] = {
    ",": "money written the German way (the sign after the number)",
    ".": "money written the English way (the sign before the number)",
}


def separator_name(separator: Separator) -> str:
    """``','`` → ``decimal comma``."""
    return "decimal comma" if separator == "," else "decimal point"


def decide(column: Evidence, file: Evidence, context: tuple[Separator, str] | None) -> tuple[Separator | None, str]:
    """The separator for a column's ambiguous numbers and why; None when nothing decides (or evidence conflicts).

    The column's own cells come first, then the other number columns of the file, then what the
    file is (a German semicolon CSV). Evidence that contradicts itself decides nothing; the reason
    then says why (``the column has '0.98' … and '12,5' …``).
    """
    separator, why, conflict = column.decided()
    if separator is not None or conflict:
        return separator, f"the column has {why}"
    separator, why, conflict = file.decided()
    if separator is not None or conflict:
        return separator, f"the file has {why}"
    if context is not None:
        return context
    return None, ""


_GERMAN_WORDS = frozenset(
    {
        "kennzahl", "ziel", "zielwert", "verantwortlich", "bereich", "abteilung", "ausgangswert", "istwert",
        "termin", "frist", "turnus", "rhythmus", "haufigkeit", "quelle", "datenquelle", "beschreibung",
        "berechnung", "einheit", "rot", "gelb", "grun", "massnahme", "perspektive", "kategorie", "ist", "soll",
    }
)  # fmt: skip
_DOTTED_DATE = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}$")


def german_context(delimiter: str | None, headers: Iterable[str], cells: Iterable[str]) -> tuple[Separator, str] | None:
    """A decimal comma when the file is a German export: semicolons, with German headers or dd.mm.yyyy dates."""
    words = {w for h in headers for w in norm(h).split()}
    german = sorted(words & _GERMAN_WORDS)
    dated = next((c for c in cells if _DOTTED_DATE.match(c.strip())), None)
    if delimiter == ";" and (german or dated):
        what = f"German headers ('{german[0]}')" if german else f"dd.mm.yyyy dates ('{dated}')"
        return ",", f"the file is a semicolon CSV with {what}, as German Excel writes it"
    if german and dated:
        return ",", f"the file has German headers ('{german[0]}') and dd.mm.yyyy dates ('{dated}')"
    return None

"""What every importer shares: the result, the error, and text normalisation."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from kpi_model.errors import KpiWizardError, WorkspaceError
from kpi_model.models import MAX_KPIS, Workspace
from kpi_model.validation import parse_workspace


class ImportFailed(KpiWizardError):
    """A file that cannot be imported at all; the message says why and what to do."""


Separator = Literal[",", "."]  # a decimal separator
Reading = float | tuple[float, float]  # one value, or the low and high end of a range


@dataclass(frozen=True)
class NumberQuestion:
    """A number the import left out because it reads two ways; ask the user, then import again.

    ``readings`` maps each decimal separator to the value the cell would have with it, e.g.
    ``{",": 1850.0, ".": 1.85}`` for ``'1.850 €'``. Import again with the answer:
    ``import_spreadsheet(path, decimal_separator=",")``.
    """

    row: int  # the row number in the sheet
    column: str  # the column's header, as the import names it
    field: str  # the KPI field it was read for: baseline, target, warning, critical, thresholds
    kpi: str  # the KPI's name on that row
    text: str  # the cell as written
    readings: dict[Separator, Reading]


@dataclass
class ImportResult:
    """An imported workspace and the notes on what could not be mapped or was assumed.

    Each note is one sentence naming the row, column or metric it is about, so that a
    person can check it in the original file. ``questions`` lists the numbers left out
    because they read two ways (``1.850``): the app asks which decimal separator the file
    uses and imports again with ``decimal_separator``.
    """

    workspace: Workspace
    notes: list[str] = field(default_factory=list)
    questions: list[NumberQuestion] = field(default_factory=list)


# Control characters, bidi overrides and zero-width characters: invisible, or they reorder what a name shows.
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def norm(text: str) -> str:
    """Lower-case ASCII words separated by single spaces: ``'KPI-Owner (Name)'`` → ``kpi owner name``.

    Accents are dropped and ``ß`` becomes ``ss`` so that German, French and Spanish
    headers and values compare like their plain spellings.
    """
    folded = unicodedata.normalize("NFKD", text.replace("ß", "ss")).encode("ascii", "ignore").decode()
    return _NON_WORD.sub(" ", folded.lower()).strip()


def _non_finite(value: Any, where: str) -> str | None:
    """Where in ``value`` a float that is not finite sits (``kpis[3].target.value``), else None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else where
    if isinstance(value, dict):
        items: Iterable[tuple[str, Any]] = ((f"{where}.{k}" if where else str(k), v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{where}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    return next((found for key, item in items if (found := _non_finite(item, key)) is not None), None)


def finish(data: dict[str, Any], source: str) -> Workspace:
    """Validate the assembled document; a failure here is a bug in the importer, reported plainly.

    The last guard against a value that is not finite (NaN, infinity): the readers keep such cells
    as text, and the workspace model accepts any float, so one here is refused rather than saved.
    """
    if (where := _non_finite(data, "")) is not None:
        raise ImportFailed(
            f"the import of {source} produced {where} that is not a finite number (please report this); "
            "write the number in the file as a plain value such as 1250 and import it again"
        )
    try:
        return parse_workspace(data, source=source)
    except WorkspaceError as error:
        raise ImportFailed(
            f"the import of {source} produced an invalid workspace (please report this): {error}"
        ) from None


def clip(text: str, limit: int = 40) -> str:
    """``text`` cut to about ``limit`` characters at a word boundary, with '…' when cut; never mid-word.

    >>> clip("Note: FY2026 actuals are unaudited (as of Oct YTD).")
    'Note: FY2026 actuals are unaudited (as…'
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0] if " " in text[: limit + 1] else text.split(" ", 1)[0]
    return text if cut == text else cut.rstrip(" ,;:-–") + "…"


def strip_controls(text: str) -> str:
    """``text`` without control characters, bidi overrides and zero-width characters (tab and newline stay)."""
    return CONTROLS.sub("", text) if CONTROLS.search(text) else text


def too_many_kpis(where: str, count: int, what: str = "KPIs") -> str:
    """The message for a register with more KPIs than one workspace may hold."""
    return (
        f"{where} has {count:,} {what}, more than the {MAX_KPIS:,} KPIs one workspace may hold: "
        "split the register into several files (by unit or area) and import each into its own workspace"
    )

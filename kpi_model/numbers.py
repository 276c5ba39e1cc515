"""Numbers typed by people: decimal commas, thousands separators, and the ambiguous cases refused."""

from __future__ import annotations

import re

_SPACES = re.compile(r"[\s_\u00a0\u202f']")


def parse_number(text: str | None, *, label: str = "value") -> float | None:
    """``'0,07'`` → 0.07, ``'1,234.5'`` → 1234.5, ``''`` → None; raises ``ValueError`` saying what to type.

    A lone comma followed by exactly three digits (``1,234``) could be either separator, so it
    is refused rather than guessed: a silent 1000× error is worse than a question.
    """
    if text is None or not text.strip():
        return None
    raw = text.strip()
    compact = _SPACES.sub("", raw)
    if compact.endswith("%"):
        raise ValueError(f"{label}: write '{raw}' as a fraction (30% → 0.3), without the % sign")
    if "," in compact and "." in compact:
        if compact.rfind(",") < compact.rfind("."):  # 1,234.5
            compact = compact.replace(",", "")
        else:  # 1.234,5
            compact = compact.replace(".", "").replace(",", ".")
    elif compact.count(",") == 1:
        whole, fraction = compact.split(",")
        if len(fraction) == 3 and whole.lstrip("-+") not in ("", "0"):
            raise ValueError(f"{label}: '{raw}' is ambiguous; write {whole}{fraction} or {whole}.{fraction}")
        compact = f"{whole}.{fraction}"
    elif compact.count(",") > 1:
        compact = compact.replace(",", "")
    try:
        return float(compact)
    except ValueError:
        raise ValueError(f"{label}: '{raw}' is not a number; write it like 0.3 or 1250") from None

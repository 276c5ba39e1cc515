"""A combined thresholds cell split by traffic-light colour: ``'Red < 90% / Amber < 95%'``."""

from __future__ import annotations

import re

from kpi_model.importers.common import norm

# A colour of a traffic light, as a combined thresholds cell names it; a single letter only before ':' or '='.
_RAG = re.compile(
    r"(?<![\w])(?:(red|rot|critical|kritisch|amber|yellow|gelb|orange|warning|green|gr[uü]e?n)\b"
    r"|([rayg])\s*(?=[:=])|((?-i:[RAYG]))(?=\s*[<>≤≥\d£€$]))\s*(?:if|when|wenn|ab|falls)?\s*[:=]?\s*",
    re.I,
)
_RAG_FIELD = {"r": "critical", "a": "warning", "y": "warning", "g": "target"} | {
    word: level
    for level, words in {
        "critical": ("red", "rot", "critical", "kritisch"),
        "warning": ("amber", "yellow", "gelb", "orange", "warning"),
        "target": ("green", "grün", "grun", "gruen"),
    }.items()
    for word in words
}


def split_rag(text: str) -> dict[str, str]:
    """A combined thresholds cell split by colour: ``'Red < 90% / Amber < 95%'`` → critical '< 90%', warning '< 95%'.

    Green is returned as ``target``. ``'rot < 0,9; gelb < 0,95'`` keeps its decimal commas: parts
    are cut where the next colour begins, and only separators at their ends are dropped.
    """
    found = list(_RAG.finditer(text))
    parts: dict[str, str] = {}
    if not found:
        return parts
    for match, following in zip(found, [*found[1:], None], strict=True):
        word = (match.group(1) or match.group(2) or match.group(3)).lower()
        value = text[match.end() : following.start() if following else len(text)].strip().rstrip(",;/|").strip()
        if value and word in _RAG_FIELD:
            parts.setdefault(_RAG_FIELD[word], value)
    return parts


def colours_named(header: str) -> list[str]:
    """The levels a header names in order: ``'Schwellen gelb/rot'`` → ``['warning', 'critical']``."""
    words = [w for w in norm(header).split() if len(w) > 1 and w in _RAG_FIELD]
    return list(dict.fromkeys(_RAG_FIELD[w] for w in words))


def split_by_header(text: str, levels: list[str]) -> dict[str, str]:
    """``'44 / 40'`` under a header naming amber then red → warning '44', critical '40'; {} unless one value a level.

    Values are split at '/', ';' and '|' only: a comma may be a decimal comma.
    """
    values = [v.strip() for v in re.split(r"[/;|]", text) if v.strip()]
    return dict(zip(levels, values, strict=True)) if len(levels) >= 2 and len(values) == len(levels) else {}

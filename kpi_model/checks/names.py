"""How the rules read KPI names: normalised words, whole-word phrases, and wording helpers.

``words_of("On-time_Delivery (OTD)")`` is ``"on time delivery otd"``: every rule that compares or
searches names goes through it, so "on-time" and "on time" are the same words everywhere.
"""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=8192)
def words_of(text: str | None) -> str:
    """Lower-case words joined by single spaces: "On-time_Delivery (OTD)" -> "on time delivery otd"."""
    return " ".join(re.findall(r"[^\W_]+", (text or "").lower()))


def has_phrase(normalised: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs as whole words in already normalised text."""
    wanted = words_of(phrase)
    return bool(wanted) and f" {wanted} " in f" {normalised} "


def capital(text: str) -> str:
    """The text with its first letter upper-case (the rest untouched)."""
    return text[:1].upper() + text[1:]


def sentence(text: str) -> str:
    """The text ending with a full stop unless it already ends a sentence."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."

"""Relevance search over the template library, with synonyms kept as data (``synonyms.yaml``).

A query is read as *concepts*: a phrase listed in a synonym group ("on time", "shopping cart")
or a single word. A template is found only when every concept occurs in it, and it ranks by
where each one occurs: its name or id first, then its keywords, its definition last. A word
found through a synonym ranks a little below the word itself. So "on-time" finds the templates
named on-time (and OTIF, listed as a synonym) rather than every definition with "on" and "time".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from kpi_model import documents
from kpi_model.errors import KpiWizardError

__all__ = ["Concept", "SearchFields", "SynonymError", "load_synonyms", "parse_query", "parse_synonyms", "relevance"]

Term = tuple[str, ...]
"""A word or phrase as its lower-case tokens: "On-time" → ("on", "time")."""

SYNONYM_FILE = "synonyms.yaml"
_LIMITS = documents.Limits(what="the search synonym file", hint="it is a list of groups of words")
_LONGEST_PHRASE = 4
# Small words that never decide a match on their own ("revenue per employee", "add to cart");
# they still count inside a synonym phrase ("on time").
_STOP_WORDS = frozenset("a an and at by for from in of on or per the to with".split())
# Where a concept occurs, by field; a synonym scores less than the word typed,
# so a keyword that is the word typed beats a name that holds only a synonym.
_NAME, _KEYWORD, _DEFINITION = 4.0, 3.0, 1.0
_SYNONYM_DISCOUNT = 0.7
_PHRASE_IN_NAME = 2.0
# The query is a template's whole name or id: that template first ("revenue" → Revenue, not Net revenue retention).
_WHOLE_NAME = 1.0
# A typed word also finds longer words it starts ("abandon" → "abandonment"). Definitions are long
# prose, so there the word must be longer: "time" must not find "timely", "churn" finds "churned".
_SHORT_PREFIX, _LONG_PREFIX = 3, 5


class SynonymError(KpiWizardError):
    """The synonym file is malformed; the message names the group and the problem."""


def tokens(text: str) -> Term:
    """Lower-case word tokens of ``text``; punctuation such as ``-``, ``_`` and ``/`` separates words."""
    return tuple(re.findall(r"[a-z0-9]+", text.lower()))


def parse_synonyms(text: str, *, filename: str = SYNONYM_FILE) -> dict[Term, tuple[Term, ...]]:
    """Each term of the YAML ``text`` mapped to every term of its group (itself first).

    Raises :class:`SynonymError` naming ``filename``, the group and the problem.
    """
    data = documents.load_data_file(text, _LIMITS, filename=filename, error=SynonymError)
    if not isinstance(data, list):
        raise SynonymError(f"{filename}: expected a list of groups, found {type(data).__name__}")
    group_of: dict[Term, int] = {}
    groups: list[list[Term]] = []
    for index, raw in enumerate(data, start=1):
        if not isinstance(raw, list) or not all(isinstance(word, str) for word in raw):
            raise SynonymError(f"{filename}: group #{index} must be a list of words, like [cart, basket]")
        terms = list(dict.fromkeys(tokens(word) for word in raw))
        if () in terms or len(terms) < 2:
            raise SynonymError(f"{filename}: group #{index} needs at least two non-empty words or phrases")
        for term in terms:
            if term in group_of:
                first = " ".join(groups[group_of[term]][0])
                raise SynonymError(
                    f"{filename}: '{' '.join(term)}' is in group #{index} and in the group of '{first}'; "
                    "merge the two groups or keep the term in one"
                )
            group_of[term] = len(groups)
        groups.append(terms)
    return {term: (term, *(other for other in groups[group] if other != term)) for term, group in group_of.items()}


@cache
def load_synonyms() -> Mapping[Term, tuple[Term, ...]]:
    """The library's synonym groups (``synonyms.yaml`` beside the templates), read once."""
    text = resources.files(__package__ or "kpi_model.library").joinpath(SYNONYM_FILE).read_text(encoding="utf-8")
    return parse_synonyms(text)


@dataclass(frozen=True)
class Concept:
    """One thing the query asks for: what was typed, and the terms that count as a match (typed first)."""

    typed: Term
    terms: tuple[Term, ...]


def parse_query(text: str, synonyms: Mapping[Term, tuple[Term, ...]]) -> list[Concept]:
    """The concepts of a query: the longest synonym phrases first, then single words.

    >>> [c.typed for c in parse_query("On-time delivery rate", {("on", "time"): (("on", "time"), ("otif",))})]
    [('on', 'time'), ('delivery',), ('rate',)]
    """
    words = tokens(text)
    concepts: list[Concept] = []
    start = 0
    while start < len(words):
        for length in range(min(_LONGEST_PHRASE, len(words) - start), 0, -1):
            term = words[start : start + length]
            if term in synonyms or length == 1:
                concepts.append(Concept(term, synonyms.get(term, (term,))))
                start += length
                break
    meaningful = [c for c in concepts if not (len(c.typed) == 1 and c.typed[0] in _STOP_WORDS)]
    return meaningful or concepts


def _occurs(term: Term, text: Sequence[str], *, prefix: int) -> bool:
    """``term`` as consecutive tokens of ``text``; its last word may go on ("abandon…") if it has ``prefix`` letters."""
    *head, last = term
    width = len(term)
    for at in range(len(text) - width + 1):
        if list(text[at : at + width - 1]) != head:
            continue
        word = text[at + width - 1]
        if word == last or word in (last + "s", last + "es") or (len(last) >= prefix and word.startswith(last)):
            return True
    return False


@dataclass(frozen=True)
class SearchFields:
    """A template's searchable text as tokens: name and id, each keyword, the definition."""

    titles: tuple[Term, ...]
    keywords: tuple[Term, ...]
    definition: Term

    @classmethod
    def of(cls, *, template_id: str, name: str, keywords: Iterable[str], definition: str) -> SearchFields:
        """The fields of one template."""
        return cls((tokens(name), tokens(template_id)), tuple(tokens(k) for k in keywords), tokens(definition))


def _concept_score(concept: Concept, fields: SearchFields) -> float:
    best = 0.0
    for rank, term in enumerate(concept.terms):
        weight = 1.0 if rank == 0 else _SYNONYM_DISCOUNT
        if any(_occurs(term, title, prefix=_SHORT_PREFIX) for title in fields.titles):
            score = _NAME
        elif any(_occurs(term, keyword, prefix=_SHORT_PREFIX) for keyword in fields.keywords):
            score = _KEYWORD
        elif _occurs(term, fields.definition, prefix=_LONG_PREFIX):
            score = _DEFINITION
        else:
            continue
        best = max(best, score * weight)
    return best


def relevance(concepts: Sequence[Concept], fields: SearchFields) -> float | None:
    """How well a template answers the query (higher is better), or None when a concept is missing."""
    total = 0.0
    for concept in concepts:
        score = _concept_score(concept, fields)
        if not score:
            return None
        total += score
    typed = tuple(word for concept in concepts for word in concept.typed)
    if len(concepts) > 1 and any(_occurs(typed, title, prefix=_SHORT_PREFIX) for title in fields.titles):
        total += _PHRASE_IN_NAME
    if typed in fields.titles:
        total += _WHOLE_NAME
    return total

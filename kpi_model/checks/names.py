"""How the rules read KPI names: words, one measure in other words, concepts and ratings.

``words_of("On-time_Delivery (OTD)")`` is ``"on time delivery otd"``: every rule that compares or
searches names goes through it, so "on-time" and "on time" are the same words everywhere.
:func:`name_key` reduces a name to what it measures (duplicates); :func:`concepts_of` says what a
KPI is about from the vocabulary in ``concepts.yaml`` (financial-only, conflicts, owner roles);
:func:`rating_without_scale` spots a rating whose scale is missing. How findings *word* names is
:mod:`kpi_model.checks.wording`'s business.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from kpi_model import documents
from kpi_model.errors import KpiWizardError
from kpi_model.models import Category, Kpi, Measure, UnitOfMeasure

CONCEPTS_FILE = "concepts.yaml"


@functools.lru_cache(maxsize=8192)
def words_of(text: str | None) -> str:
    """Lower-case words joined by single spaces: "On-time_Delivery (OTD)" -> "on time delivery otd"."""
    return " ".join(re.findall(r"[^\W_]+", (text or "").lower()))


def has_phrase(normalised: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs as whole words in already normalised text."""
    wanted = words_of(phrase)
    return bool(wanted) and f" {wanted} " in f" {normalised} "


# ---------------------------------------------------------------------------- one measure, other words

# Whole-word abbreviations a register writes instead of the name (and the other way round).
ABBREVIATIONS: dict[str, str] = {
    "dso": "days sales outstanding",
    "dpo": "days payables outstanding",
    "dio": "days inventory outstanding",
    "otif": "on time in full",
    "otd": "on time delivery",
    "nps": "net promoter score",
    "enps": "employee net promoter score",
    "csat": "customer satisfaction",
    "ces": "customer effort score",
    "mttr": "mean time to repair",
    "mtbf": "mean time between failures",
    "ebit": "earnings before interest and taxes",
    "ebitda": "earnings before interest taxes depreciation and amortisation",
    "aov": "average order value",
    "aht": "average handle time",
    "fcr": "first contact resolution",
    "fpy": "first pass yield",
    "oee": "overall equipment effectiveness",
    "cac": "customer acquisition cost",
    "clv": "customer lifetime value",
    "ltv": "customer lifetime value",
    "roi": "return on investment",
    "arr": "annual recurring revenue",
    "mrr": "monthly recurring revenue",
    "cogs": "cost of goods sold",
}
# Words that name the same kind of measure: "Scrap %", "Scrap share" and "Scrap rate" are one KPI.
_SYNONYMS = {
    w: "rate" for w in ("percent", "percentage", "pct", "share", "ratio", "proportion", "quota", "quote", "anteil")
}
_SYNONYMS.update({"tax": "taxes", "avg": "average", "mean": "average", "no": "number", "nr": "number"})
# A trailing word that only says how the measure is expressed ("Net promoter score" = "NPS").
_FILLER_ENDINGS = frozenset({"score", "index", "kpi", "level"})
_UNIT_IN_BRACKETS = re.compile(
    r"[(\[]\s*(?:in\s+)?(?:days?|hours?|hrs?|h|minutes?|mins?|weeks?|months?|years?|%|percent|pct|eur|usd|gbp|€|\$|"
    r"£|k€|count|number|no\.?|#|ratio|rate|score|points?|fte)\s*[)\]]",
    re.IGNORECASE,
)
NAME_SIMILARITY = 0.9


@functools.lru_cache(maxsize=8192)
def name_key(name: str) -> str:
    """A KPI name reduced to what it measures: units in brackets, abbreviations, '%'/'share' wording.

    "Scrap rate (%)", "Scrap %" and "scrap share" all give "scrap rate"; "DSO" gives
    "days sales outstanding". A unit in brackets goes, other brackets stay ("(legacy)" is a difference).
    """
    text = _UNIT_IN_BRACKETS.sub(" ", name).replace("%", " rate ").replace("&", " and ")
    found = words_of(text).split() or words_of(name).split()
    expanded: list[str] = []
    for part in (p for word in found for p in _split_compound(word).split()):
        expanded += [_SYNONYMS.get(w, w) for w in ABBREVIATIONS.get(part, part).split()]
    # Plurals are no difference ("scores", "returns"); both sides lose the same letter.
    expanded = [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in expanded]
    # "Scrap rate rate" (from "Scrap rate %") is one rate.
    deduped = [w for i, w in enumerate(expanded) if i == 0 or w != expanded[i - 1]]
    while len(deduped) > 1 and deduped[-1] in _FILLER_ENDINGS:
        deduped.pop()
    return " ".join(deduped)


# German writes the kind of measure into the word: "Ausschussquote" is "Ausschuss-Quote" is a scrap rate.
# ("rate" is left out: "accurate", "corporate" and "separate" end in it too.)
_COMPOUND_ENDINGS = ("quote", "anteil")


def _split_compound(word: str) -> str:
    """A German compound ending in a rate word, split before it ("ausschussquote" -> "ausschuss quote")."""
    for ending in _COMPOUND_ENDINGS:
        if word.endswith(ending) and len(word) > len(ending) + 3:
            return f"{word[: -len(ending)]} {ending}"
    return word


def same_measure(left: str, right: str) -> bool:
    """Whether two name keys (see :func:`name_key`) name one measure: equal, or a few typing slips apart.

    A word added ("Gross margin per customer", "Revenue growth") is a different KPI, however
    similar the letters; only spelling slips inside words count as the same.
    """
    if not left or not right:
        return False
    if left == right:
        return True
    # The ratio can only reach the bar when the lengths are close: skip the matcher otherwise.
    if 2 * min(len(left), len(right)) / (len(left) + len(right)) < NAME_SIMILARITY:
        return False
    left_words, right_words = left.split(), right.split()
    if len(left_words) != len(right_words):
        return False
    if not all(_slip(a, b) for a, b in zip(left_words, right_words, strict=True)):
        return False
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    return matcher.quick_ratio() >= NAME_SIMILARITY and matcher.ratio() >= NAME_SIMILARITY


def _slip(left: str, right: str) -> bool:
    """Whether two words are one word typed differently (not "inbound" vs "outbound")."""
    if left == right:
        return True
    return left[0] == right[0] and difflib.SequenceMatcher(None, left, right).ratio() >= 0.8


# ---------------------------------------------------------------------------- concepts


class ConceptVocabularyError(KpiWizardError):
    """The concept vocabulary (concepts.yaml) is broken; the message names the entry."""


@dataclass(frozen=True)
class Concept:
    """One thing KPIs measure, with the words that name it."""

    id: str
    phrases: tuple[str, ...]  # normalised English phrases, matched as whole words
    parts: tuple[str, ...]  # lower-case German word parts, matched inside words
    financial: bool = False
    owner: str | None = None
    leading: str | None = None  # a leading indicator that moves before an outcome of this concept


def parse_concepts(text: str, *, filename: str = CONCEPTS_FILE) -> dict[str, Concept]:
    """Concepts from the YAML text of a vocabulary; :class:`ConceptVocabularyError` names any problem."""
    limits = documents.Limits(what="a concept vocabulary")
    data = documents.load_data_file(text, limits, filename=filename, error=ConceptVocabularyError)
    if not isinstance(data, dict):
        raise ConceptVocabularyError(f"{filename}: expected a mapping of concept id to its words")
    concepts: dict[str, Concept] = {}
    for concept_id, raw in data.items():
        where = f"{filename}: concept '{concept_id}'"
        if not isinstance(raw, dict) or set(raw) - {"en", "de", "financial", "owner", "leading"}:
            raise ConceptVocabularyError(f"{where}: expected en, de, financial, owner and leading")
        lists = [raw.get(key) or [] for key in ("en", "de")]
        if not all(isinstance(v, list) and all(isinstance(w, str) and w.strip() for w in v) for v in lists):
            raise ConceptVocabularyError(f"{where}: en and de must be lists of words")
        if not any(lists):
            raise ConceptVocabularyError(f"{where}: give at least one English or German word")
        owner, leading = raw.get("owner"), raw.get("leading")
        concepts[str(concept_id)] = Concept(
            str(concept_id),
            tuple(words_of(p) for p in lists[0]),
            tuple(w.strip().lower() for w in lists[1]),
            bool(raw.get("financial", False)),
            str(owner) if owner else None,
            str(leading) if leading else None,
        )
    return concepts


@functools.cache
def load_concepts() -> dict[str, Concept]:
    """The packaged vocabulary ``kpi_model/checks/concepts.yaml``."""
    return parse_concepts(resources.files("kpi_model.checks").joinpath(CONCEPTS_FILE).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=8192)
def concepts_in(text: str | None) -> frozenset[str]:
    """Ids of the concepts whose words occur in the text."""
    normalised = words_of(text)
    if not normalised:
        return frozenset()
    found = set()
    for concept in load_concepts().values():
        if any(has_phrase(normalised, p) for p in concept.phrases) or any(
            _has_part(normalised, p) for p in concept.parts
        ):
            found.add(concept.id)
    return frozenset(found)


def _has_part(normalised: str, part: str) -> bool:
    """A German word part inside a word; "^forderung" only at a word's start (not in "Anforderung")."""
    if part.startswith("^"):
        return f" {part[1:]}" in f" {normalised}"
    return part in normalised


def concepts_of(kpi: Kpi) -> frozenset[str]:
    """What a KPI measures, read from its name; a name that says nothing known is read with its description."""
    return concepts_in(kpi.name) or concepts_in(kpi.description)


def is_financial(kpi: Kpi, category: Category | None = None) -> bool:
    """Whether a KPI reports money: its category (or the template's, ``category``) if known, else its words.

    A KPI with a money concept and no other ("Gross margin", "Umsatz", "DSO") is financial; one that
    also names an operational thing ("Scrap cost") is not, unless it is measured in currency.
    """
    known = kpi.category or category
    if known is not None:
        return known == Category.FINANCIAL
    if kpi.unit_of_measure == UnitOfMeasure.CURRENCY:
        return True
    vocabulary = load_concepts()
    found = [vocabulary[c] for c in concepts_of(kpi)]
    return bool(found) and all(c.financial for c in found)


# When the name says nothing known, the category still narrows the role down.
_ROLE_OF_CATEGORY = {
    Category.FINANCIAL: "the business controller",
    Category.CUSTOMER: "Head of Customer Service",
    Category.MARKETING: "Head of Marketing",
    Category.PEOPLE: "Head of HR",
    Category.PROCESS: "the owner of the process it measures",
}


def owner_role(kpi: Kpi) -> str | None:
    """A role that usually answers for a KPI like this one, from what its name says, or None."""
    vocabulary = load_concepts()
    # The operational concept names the owner better than the money one ("Scrap cost": quality).
    named = sorted(concepts_in(kpi.name), key=lambda c: (vocabulary[c].financial, list(vocabulary).index(c)))
    roles = [vocabulary[c].owner for c in named if vocabulary[c].owner]
    if roles:
        return roles[0]
    return _ROLE_OF_CATEGORY.get(kpi.category) if kpi.category else None


def leading_example(kpis: Sequence[Kpi]) -> str | None:
    """A leading indicator that would warn ahead of one of these (lagging) KPIs, or None."""
    vocabulary = load_concepts()
    for kpi in kpis:
        for concept_id in sorted(concepts_of(kpi), key=list(vocabulary).index):
            if (leading := vocabulary[concept_id].leading) is not None:
                return f"{leading} ahead of '{kpi.name}'"
    return None


# ---------------------------------------------------------------------------- ratings

# A name that says the KPI is a judgement on a scale (English and German).
_RATING_NAME = re.compile(
    r"\b(rating|ratings|rated|score|scores|satisfaction|grade|grades|stars)\b|zufriedenheit|bewertung|benotung",
    re.IGNORECASE,
)
# A description that speaks of a rating.
_RATING_TEXT = re.compile(
    r"\b(rating|ratings|rated|rate[sd]? (?:us|it|them|the)|grade[sd]?|stars|school marks?|likert)\b|bewert|"
    r"\bnoten?\b|schulnote|sterne",
    re.IGNORECASE,
)
# How an importer keeps a value it could not read as a number: "Target as written: very good".
_AS_WRITTEN = re.compile(r"^(baseline|target|warning|critical) as written:\s*(.+)$", re.IGNORECASE | re.MULTILINE)


def values_in_words(kpi: Kpi) -> list[str]:
    """Baseline/target/threshold values written as words (kept in the description by an import)."""
    found = _AS_WRITTEN.findall(kpi.description or "")
    return [f"{field.lower()} '{value.strip()}'" for field, value in found if not re.search(r"\d", value)]


def rating_without_scale(kpi: Kpi) -> str | None:
    """Why a KPI is a rating that needs a scale (it has none), or None.

    A KPI is a rating when it is qualitative, or when its name says rating/score/satisfaction and
    its baseline or target are words ("good" → "very good") or its description speaks of a rating.
    """
    if kpi.scale:
        return None
    if kpi.measure == Measure.QUALITATIVE:
        return "is qualitative (a rating)"
    if not _RATING_NAME.search(kpi.name):
        return None
    words = values_in_words(kpi)
    if words:
        return f"is a rating whose {' and '.join(words)} {'are' if len(words) > 1 else 'is'} written in words"
    if _RATING_TEXT.search(kpi.description or ""):
        return "is a rating (its description says so)"
    return None

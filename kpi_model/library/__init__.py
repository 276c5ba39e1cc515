"""The KPI template library: ready-made KPI definitions kept as YAML data.

Each file in ``templates/`` is a list of :class:`Template` mappings. A template is a
KPI pattern: its formula is written over *roles* (``{amount}``, ``{customer_id}``…)
instead of real column names, so one template fits any source once the user says
which column plays which role (:meth:`Template.render`, :meth:`Template.to_kpi`).

The files are read with :mod:`importlib.resources`, so the library works from an
installed package; they are checked on load, and a broken file raises
:class:`TemplateError` naming the file and the problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kpi_model import documents
from kpi_model.errors import KpiWizardError
from kpi_model.library import search
from kpi_model.models import (
    KPI_ID_PATTERN,
    Cadence,
    Category,
    Direction,
    Kind,
    Kpi,
    Measure,
    UnitOfMeasure,
)
from kpi_model.validation import did_you_mean, structure_problems

__all__ = [
    "Template",
    "TemplateError",
    "check_library",
    "get_template",
    "load_templates",
    "parse_templates",
    "quote_column",
    "reload_templates",
    "search_templates",
    "template_ids",
]

TEMPLATE_PACKAGE = "kpi_model.library"
TEMPLATE_DIR = "templates"
_LIMITS = documents.Limits(what="a template library file", hint="a template file is a list of flat templates")

# A placeholder is a role name in braces. Written as a regex rather than str.format
# so that other braces in SQL (struct literals) can never be mistaken for one.
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
# A role is a true/false test where it stands alone after WHERE/NOT/AND/OR and before a closing
# bracket, AND/OR or the end: "FILTER (WHERE {won})", "WHERE NOT {churned}".
_CONDITION_USE = re.compile(
    r"\b(?:WHERE|NOT|AND|OR)\s+\{([a-z_][a-z0-9_]*)\}(?=\s*(?:\)|\bAND\b|\bOR\b|$))", re.IGNORECASE
)
_PLAIN_IDENTIFIER = re.compile(KPI_ID_PATTERN)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# DuckDB keywords that are not "unreserved" (reserved, column_name and type_function
# categories of duckdb_keywords()). A column with such a name must be quoted even if
# it looks plain (``sum(order)`` is a syntax error). Kept here, not queried, so this
# module needs no DuckDB; tests/test_library.py checks it against DuckDB.
DUCKDB_KEYWORDS = frozenset(
    """
    all analyse analyze and anti any array as asc asof asymmetric at authorization between
    bigint binary bit boolean both by case cast char character check coalesce collate
    collation column columns concurrently constraint create cross dec decimal default
    deferrable desc describe distinct do else end except exists extract false fetch float
    for foreign freeze from full generated glob group grouping grouping_id having ilike in
    initially inner inout int integer intersect interval into is isnull join lambda lateral
    leading left like limit map national natural nchar none not notnull null nullif numeric
    offset on only or order out outer overlaps overlay pivot pivot_longer pivot_wider
    placing position positional precision primary qualify real references returning right
    row select semi setof show similar smallint some struct substring summarize symmetric
    table tablesample then time timestamp to trailing treat trim true try_cast tuple union
    unique unpack unpivot using values varchar variadic verbose when where window with
    xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi
    xmlroot xmlserialize xmltable
    """.split()
)


class TemplateError(KpiWizardError):
    """A template that cannot be found, loaded or applied; the message says why and what to do."""


def placeholders(sql: str | None) -> list[str]:
    """Role names used as ``{role}`` in ``sql``, in order of first use."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(sql or "")))


def quote_column(name: str) -> str:
    """``name`` as a DuckDB identifier: plain lower-case names as they are, others double-quoted."""
    if _PLAIN_IDENTIFIER.match(name) and name not in DUCKDB_KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def _problems(error: ValidationError, model: type[BaseModel]) -> str:
    """One line of readable problems; a whole-model problem is shown without a path."""
    problems = structure_problems(error, model)
    return "; ".join(p.message if p.path == "(document)" else str(p) for p in problems)


class Template(BaseModel):
    """A reusable KPI definition whose formula is written over roles, not real columns."""

    # frozen: load_templates() hands out shared cached objects; nobody may edit them in place.
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=KPI_ID_PATTERN, max_length=63)
    name: str = Field(min_length=1)
    definition: str = Field(min_length=1)
    category: Category
    kind: Kind
    direction: Direction
    unit_of_measure: UnitOfMeasure
    cadence: Cadence
    measure: Measure = Measure.QUANTITATIVE
    scale: str | None = Field(default=None, description="Answer scale of a survey template, e.g. '0-10'.")
    expression: str = Field(min_length=1)
    filter: str | None = None
    roles: dict[str, str]
    partners: list[str] = Field(default_factory=list)
    vanity_risk: str | None = None
    decomposes_into: str | None = None
    keywords: list[str] = Field(default_factory=list)
    source_hint: str | None = None

    @model_validator(mode="after")
    def _roles_match_placeholders(self) -> Template:
        if "date" not in self.roles:
            raise ValueError("roles must include 'date' (the time column the KPI is tracked over)")
        used = set(placeholders(self.expression)) | set(placeholders(self.filter))
        undeclared = sorted(used - set(self.roles))
        if undeclared:
            raise ValueError(f"placeholders {undeclared} are not declared under roles; add them with a description")
        unused = sorted(set(self.roles) - used - {"date"})
        if unused:
            raise ValueError(f"roles {unused} are declared but not used in expression or filter; remove them")
        if self.id in self.partners:
            raise ValueError("a template cannot be its own partner")
        return self

    def used_roles(self) -> list[str]:
        """Roles the expression and filter need, in order of first use."""
        return list(dict.fromkeys(placeholders(self.expression) + placeholders(self.filter)))

    def condition_roles(self) -> list[str]:
        """Roles used as a whole true/false test (``WHERE {won}``, ``NOT {churned}``), in order of first use.

        Such a role takes a true/false column or a condition (``won_date IS NOT NULL``) in
        :meth:`render`; the wizard offers a condition builder for it.
        """
        found = _CONDITION_USE.findall(f"{self.expression} WHERE {self.filter or 'TRUE'}")
        return [role for role in self.used_roles() if role in found]

    def render(self, roles: Mapping[str, str], conditions: Mapping[str, str] | None = None) -> tuple[str, str | None]:
        """``(expression, filter)`` with each ``{role}`` replaced by its (quoted if needed) column.

        ``conditions`` maps a role of :meth:`condition_roles` to a row condition (SQL, as
        :func:`kpi_model.conditions.condition_sql` builds it); it is used in brackets instead of a
        column. Raises :class:`TemplateError` naming every role the expression or filter needs
        that is mapped to neither a column nor a condition. Extra keys are ignored.
        """
        given = {role: f"({sql.strip()})" for role, sql in (conditions or {}).items() if (sql or "").strip()}
        not_conditions = sorted(set(given) - set(self.condition_roles()))
        if not_conditions:
            raise TemplateError(
                f"Template '{self.id}' uses {', '.join(repr(r) for r in not_conditions)} as a column, not as a "
                "true/false test; pick a column for it instead of a condition."
            )
        for role in self.used_roles():
            if role not in given and (roles.get(role) or "").strip():
                given[role] = quote_column(roles[role].strip())
        missing = [role for role in self.used_roles() if role not in given]
        if missing:
            described = "; ".join(f"'{role}' ({self.roles[role]})" for role in missing)
            raise TemplateError(
                f"Template '{self.id}' needs a column for role{'s' if len(missing) > 1 else ''} "
                f"{described}. Pick the column of your source that holds each."
            )

        def substitute(sql: str) -> str:
            return _PLACEHOLDER.sub(lambda m: given[m.group(1)], sql)

        return substitute(self.expression), substitute(self.filter) if self.filter else None

    def to_kpi(
        self,
        kpi_id: str | None = None,
        *,
        goal: str | None = None,
        roles: Mapping[str, str] | None = None,
        source: str | None = None,
        owner: str | None = None,
        conditions: Mapping[str, str] | None = None,
        only_rows: str | None = None,
    ) -> Kpi:
        """A draft :class:`Kpi`; formula and time column are set only when ``roles`` are given.

        ``conditions`` are passed to :meth:`render`; ``only_rows`` is a further row condition
        (``status = 'paid'``) joined to the template's filter with AND.
        """
        expression: str | None = None
        row_filter: str | None = None
        time_column: str | None = None
        if roles is not None:
            expression, row_filter = self.render(roles, conditions)
            time_column = (roles.get("date") or "").strip() or None
        if only_rows and only_rows.strip():
            row_filter = f"({row_filter}) AND ({only_rows.strip()})" if row_filter else only_rows.strip()
        try:
            return Kpi(
                id=kpi_id or self.id,
                name=self.name,
                goal=goal,
                description=self.definition,
                owner=owner,
                category=self.category,
                kind=self.kind,
                measure=self.measure,
                source=source,
                expression=expression,
                filter=row_filter,
                time_column=time_column,
                unit_of_measure=self.unit_of_measure,
                direction=self.direction,
                cadence=self.cadence,
                scale=self.scale,
                template=self.id,
            )
        except ValidationError as error:
            raise TemplateError(f"Cannot make a KPI from template '{self.id}': {_problems(error, Kpi)}") from None

    def search_text(self) -> tuple[str, str]:
        """(title text, definition text), lower-cased, with ``-``, ``_`` and ``/`` read as spaces."""
        title = " ".join([self.id, self.id.replace("_", " "), self.name, *self.keywords])
        return _normalise(title), _normalise(self.definition)


def parse_templates(text: str, *, filename: str) -> list[Template]:
    """Templates from the YAML ``text`` of one library file (a list of mappings).

    Raises :class:`TemplateError` naming ``filename``, the template and the problem.
    """
    data = documents.load_data_file(text, _LIMITS, filename=filename, error=TemplateError)
    if not isinstance(data, list):
        raise TemplateError(f"{filename}: expected a list of templates, found {type(data).__name__}")
    templates = []
    for index, raw in enumerate(data):
        label = f"{filename}: template #{index + 1}"
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            label += f" ('{raw['id']}')"
        if not isinstance(raw, dict):
            raise TemplateError(f"{label}: expected a mapping of keys, found {type(raw).__name__}")
        try:
            templates.append(Template.model_validate(raw))
        except ValidationError as error:
            raise TemplateError(f"{label}: {_problems(error, Template)}") from None
    return templates


def check_library(templates: Iterable[Template], origin: Mapping[str, str] | None = None) -> None:
    """Check references between templates: unique ids, partners, decompositions.

    ``origin`` maps template id to its file, for the error message.
    Raises :class:`TemplateError` on the first problem found.
    """
    by_id: dict[str, Template] = {}
    where = origin or {}
    for template in templates:
        if template.id in by_id:
            raise TemplateError(
                f"{where.get(template.id, 'library')}: duplicate template id '{template.id}'; ids must be unique"
            )
        by_id[template.id] = template
    ids = list(by_id)
    for template in by_id.values():
        prefix = f"{where.get(template.id, 'library')}: template '{template.id}'"
        for partner in template.partners:
            other = by_id.get(partner)
            if other is None:
                raise TemplateError(f"{prefix}: unknown partner '{partner}'{did_you_mean(partner, ids)}")
            # Partners pair a leading indicator with the lagging outcome it predicts.
            if other.kind == template.kind:
                raise TemplateError(
                    f"{prefix}: partner '{partner}' is also {template.kind.value}; "
                    "partners must be of the opposite kind (leading <-> lagging)"
                )
        for name in _IDENTIFIER.findall(template.decomposes_into or ""):
            if name == template.id:
                raise TemplateError(f"{prefix}: decomposes_into cannot use the template itself")
            if name not in by_id:
                raise TemplateError(
                    f"{prefix}: decomposes_into uses '{name}', which is not a template id{did_you_mean(name, ids)}"
                )


@cache
def _library() -> tuple[tuple[Template, ...], dict[str, Template]]:
    templates: list[Template] = []
    origin: dict[str, str] = {}
    folder = resources.files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_DIR)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        for template in parse_templates(entry.read_text(encoding="utf-8"), filename=entry.name):
            origin.setdefault(template.id, entry.name)
            templates.append(template)
    check_library(templates, origin)
    return tuple(templates), {t.id: t for t in templates}


@cache
def _search_fields() -> tuple[search.SearchFields, ...]:
    return tuple(
        search.SearchFields.of(template_id=t.id, name=t.name, keywords=t.keywords, definition=t.definition)
        for t in _library()[0]
    )


def load_templates() -> list[Template]:
    """Every template of the library, file by file (files sorted by name), in file order."""
    return list(_library()[0])


def reload_templates() -> list[Template]:
    """Forget the cached library and read the files again (after editing them)."""
    _library.cache_clear()
    _search_fields.cache_clear()
    return load_templates()


def template_ids() -> list[str]:
    """Ids of all templates, in library order."""
    return [t.id for t in _library()[0]]


def get_template(template_id: str) -> Template:
    """The template with this id; :class:`TemplateError` with the closest id otherwise."""
    by_id = _library()[1]
    try:
        return by_id[template_id]
    except KeyError:
        hint = did_you_mean(template_id, by_id) or " — search_templates() finds templates by words"
        raise TemplateError(f"No template '{template_id}'{hint}") from None


def _as_enum(value: Any, enum: type[Category | Kind], label: str) -> Any:
    if value is None or isinstance(value, enum):
        return value
    try:
        return enum(str(value).strip().lower())
    except ValueError:
        choices = [member.value for member in enum]
        raise TemplateError(
            f"'{value}' is not a {label}{did_you_mean(str(value), choices)} Use one of: {', '.join(choices)}."
        ) from None


def _normalise(text: str) -> str:
    # "on-time", "on time" and "on_time" are the same search.
    return re.sub(r"[-_/]+", " ", text.lower())


def search_templates(
    text: str | None = None,
    *,
    category: Category | str | None = None,
    kind: Kind | str | None = None,
) -> list[Template]:
    """Templates matching every word of ``text`` (case-insensitive), most relevant first.

    A word (or a phrase of ``synonyms.yaml``) matches through itself or a synonym, in the id,
    name, keywords or definition; a template ranks by where each word is found (name and id,
    then keywords, then definition). See :mod:`kpi_model.library.search`. Ties keep library
    order. ``category`` and ``kind`` narrow the result (enum or its string value).
    """
    wanted_category = _as_enum(category, Category, "category")
    wanted_kind = _as_enum(kind, Kind, "kind")
    concepts = search.parse_query(text or "", search.load_synonyms())
    scored: list[tuple[float, int, Template]] = []
    for index, (template, fields) in enumerate(zip(_library()[0], _search_fields(), strict=True)):
        if wanted_category is not None and template.category != wanted_category:
            continue
        if wanted_kind is not None and template.kind != wanted_kind:
            continue
        score = search.relevance(concepts, fields)
        if score is not None:
            scored.append((-score, index, template))
    scored.sort(key=lambda item: item[:2])
    return [template for _, _, template in scored]

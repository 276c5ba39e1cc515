"""SQL conditions as MetricFlow ``where`` filters, and user text kept inert in the export.

dbt renders Jinja in the YAML it reads and MetricFlow in every filter, so user text that holds
``{{``, ``{%`` or ``{#`` would run as a template. Control, bidi and zero-width characters would act
on a terminal that shows the files (ESC clears it) or make text read differently from what it is.
Prose (names, descriptions) loses those characters and gets a space after a Jinja brace; SQL
(formulas, filters, views) cannot be changed without changing its meaning, so it is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp

from kpi_model.dbt_export.decompose import Unexpressible
from kpi_model.formula import render_sql
from kpi_model.importers.common import CONTROLS, strip_controls

_JINJA_OPENER = re.compile(r"\{([{%#])")
# Every brace that opens Jinja with the character after it; a lookahead, so "{{{" is split twice, not once.
_OPENING_BRACE = re.compile(r"\{(?=[{%#])")
_MARKER = "kpi_wizard_dimension_{}_"


def inert_prose(text: str) -> str:
    r"""``text`` as the export writes it: without control, bidi and zero-width characters (as the
    imports read names; tab and newline stay) and with each Jinja opener split by a space, so dbt
    shows it instead of running it.

    >>> inert_prose("Revenue {{ var('x') }}\x1b[2J")
    "Revenue { { var('x') }}[2J"
    """
    # Stripped first: a zero-width space between two braces would otherwise hide a live '{{'.
    return _OPENING_BRACE.sub("{ ", strip_controls(text))


def refuse_unsafe_sql(sql: str, what: str) -> str:
    """``sql`` unchanged, or :class:`Unexpressible` when dbt would read part of it as a Jinja template
    or it holds a control, bidi or zero-width character (which only shows as something else)."""
    if _JINJA_OPENER.search(sql):
        raise Unexpressible(f"the {what} contains '{{{{', '{{%' or '{{#', which dbt would run as a Jinja template")
    if hidden := CONTROLS.search(sql):
        raise Unexpressible(
            f"the {what} contains the invisible character U+{ord(hidden.group()):04X} (a control, bidi or "
            f"zero-width character), which makes the SQL read differently from what it runs; remove it from the {what}"
        )
    return sql


def where_filter(condition: exp.Expr, reference: Callable[[str], str], dialect: str, what: str) -> str:
    """A row condition with every column replaced by its Jinja reference (``{{ Dimension('orders__status') }}``).

    ``reference`` maps a column name to that reference. The condition is rendered with a marker per
    column first, so the references never pass through sqlglot.
    """
    columns: list[str] = []

    def mark(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column):
            columns.append(node.name)
            return exp.var(_MARKER.format(len(columns) - 1))
        return node

    sql = refuse_unsafe_sql(render_sql(condition.transform(mark, copy=True), dialect, pretty=False), what)
    # The marker ends in '_', so marker 1 is never the start of marker 10.
    for index, column in enumerate(columns):
        sql = sql.replace(_MARKER.format(index), reference(column))
    return sql

"""KPI formulas: one DuckDB aggregate expression, checked with sqlglot before anything runs.

A formula is parsed into a sqlglot tree and every node is checked against an allow-list:
plain arithmetic, comparisons, CASE, a fixed set of aggregate and scalar functions. No
statements, subqueries, table functions, parameters or window functions get through, and
anything rejected is reported with its position and a fix. The checked tree is then
compiled into the per-period query (safe division, explicit parentheses) and transpiled
to other SQL dialects for export. The engine's locked DuckDB session is the second wall.

View sources (one SELECT over the workspace's tables) are checked the same way, with every
table they read resolved by scope: a name is a CTE only where DuckDB would take it for one.
All user text (formulas, filters, derived KPIs, views) comes in through one door that holds it
to length, nesting and size limits before sqlglot parses it (``MAX_*`` in :mod:`.limits`, docs/security.md).

The modules, each importing only those listed before it:

- ``errors``: :class:`FormulaError` and the two kinds of limit error;
- ``allowlist``: the node types and function names a formula, filter or view may contain;
- ``limits``: the length, nesting and size limits, the one parsing door, the RecursionError guard;
- ``check``: parsing and checking formulas, filters and derived KPIs, and what they refer to;
- ``rewrites``: tree-to-tree rewrites of a checked formula (safe division, distinct-count bitmaps, ratios);
- ``dialects``: the export dialects and rendering, with T-SQL made portable;
- ``compile``: grains, quoting, the period expression and the per-period SELECT of each KPI;
- ``views``: checking view sources, with tables resolved by scope;
- ``warehouse``: the script for a warehouse: view sources as CTEs or CREATE VIEW, names quoted by one rule.

Import from the package (``from kpi_model.formula import check_aggregate``); the modules are its layout.
"""

import importlib
from typing import TYPE_CHECKING, Any

from kpi_model.formula.allowlist import _ALLOWED_FUNCTION_NAMES as _ALLOWED_FUNCTION_NAMES  # read by tests
from kpi_model.formula.allowlist import (
    AGGREGATES,
    ANONYMOUS_AGGREGATES,
    ANONYMOUS_FUNCTIONS,
    OPERATORS,
    SCALAR_FUNCTIONS,
)
from kpi_model.formula.check import (
    Checked,
    check_aggregate,
    check_derived,
    check_filter,
    check_kpi_text,
    is_derived,
    parse,
    parse_tree,
    referenced_names,
)
from kpi_model.formula.compile import GRAINS, Compiler, Grain, SeriesRequest, compile_sql, period_sql
from kpi_model.formula.dialects import DIALECTS, render_sql
from kpi_model.formula.errors import FormulaError, FormulaLimitError, OverLimitError, SourceNotLoadedError
from kpi_model.formula.limits import (
    MAX_FORMULA_DEPTH,
    MAX_FORMULA_LENGTH,
    MAX_FORMULA_NODES,
    MAX_FORMULA_TREE_DEPTH,
    MAX_VIEW_DEPTH,
    MAX_VIEW_LENGTH,
    MAX_VIEW_NODES,
    MAX_VIEW_TABLES,
    MAX_VIEW_TREE_DEPTH,
)
from kpi_model.formula.rewrites import bitmap_distinct_counts, distinct_count_columns, ratio_parts, safe_division
from kpi_model.formula.views import validate_view, view_tables
from kpi_model.identifiers import fold_name, quote

if TYPE_CHECKING:
    from kpi_model.formula.warehouse import (
        QUOTE_MODES,
        VIEW_MODES,
        QuoteMode,
        Statement,
        ViewMode,
        WarehouseScript,
        is_plain_name,
        quote_names,
        warehouse_script,
    )

# Loaded when first used: only `kpi-wizard sql` and the exports print warehouse SQL, and every other
# command (compute above all) starts faster without it.
_WAREHOUSE_NAMES = frozenset(
    {
        "QUOTE_MODES",
        "VIEW_MODES",
        "QuoteMode",
        "Statement",
        "ViewMode",
        "WarehouseScript",
        "is_plain_name",
        "quote_names",
        "warehouse_script",
    }
)


def __getattr__(name: str) -> Any:
    if name in _WAREHOUSE_NAMES:
        return getattr(importlib.import_module("kpi_model.formula.warehouse"), name)
    raise AttributeError(f"module 'kpi_model.formula' has no attribute {name!r}")


__all__ = [
    "AGGREGATES",
    "ANONYMOUS_AGGREGATES",
    "ANONYMOUS_FUNCTIONS",
    "DIALECTS",
    "GRAINS",
    "MAX_FORMULA_DEPTH",
    "MAX_FORMULA_LENGTH",
    "MAX_FORMULA_NODES",
    "MAX_FORMULA_TREE_DEPTH",
    "MAX_VIEW_DEPTH",
    "MAX_VIEW_LENGTH",
    "MAX_VIEW_NODES",
    "MAX_VIEW_TABLES",
    "MAX_VIEW_TREE_DEPTH",
    "OPERATORS",
    "QUOTE_MODES",
    "SCALAR_FUNCTIONS",
    "VIEW_MODES",
    "Checked",
    "Compiler",
    "FormulaError",
    "FormulaLimitError",
    "Grain",
    "OverLimitError",
    "QuoteMode",
    "SeriesRequest",
    "SourceNotLoadedError",
    "Statement",
    "ViewMode",
    "WarehouseScript",
    "bitmap_distinct_counts",
    "check_aggregate",
    "check_derived",
    "check_filter",
    "check_kpi_text",
    "compile_sql",
    "distinct_count_columns",
    "fold_name",
    "is_derived",
    "is_plain_name",
    "parse",
    "parse_tree",
    "period_sql",
    "quote",
    "quote_names",
    "ratio_parts",
    "referenced_names",
    "render_sql",
    "safe_division",
    "validate_view",
    "view_tables",
    "warehouse_script",
]

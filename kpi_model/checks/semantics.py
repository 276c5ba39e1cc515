"""Former home of the meaning rules, now one module per family; these names keep old imports working."""

from __future__ import annotations

from kpi_model.checks.balance import FINANCIAL_ONLY
from kpi_model.checks.conflicts import (
    CROSS_UNIT,
    Conflict,
    ConflictCatalogueError,
    Family,
    load_conflicts,
    parse_conflicts,
)
from kpi_model.checks.duplicates import DUPLICATE
from kpi_model.checks.vanity import VANITY

__all__ = [
    "CROSS_UNIT",
    "DUPLICATE",
    "FINANCIAL_ONLY",
    "VANITY",
    "Conflict",
    "ConflictCatalogueError",
    "Family",
    "load_conflicts",
    "parse_conflicts",
]

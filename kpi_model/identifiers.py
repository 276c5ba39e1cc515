"""DuckDB identifiers written by hand, with nothing else imported.

Modules that read files (:mod:`kpi_model.sources`) or check a workspace (:mod:`kpi_model.validation`) quote
and compare names without loading the formula compiler and sqlglot, so a command can open its data while
those load (:class:`kpi_model.sources.WorkspaceScan`).
"""

from __future__ import annotations

import string

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def quote(name: str) -> str:
    """A DuckDB identifier, double-quoted so any column or table name is safe."""
    return '"' + name.replace('"', '""') + '"'


def fold_name(name: str) -> str:
    """A table name as DuckDB compares it: ASCII letters case-insensitively, nothing else folded.

    (Python's ``lower()`` would match the Kelvin sign to ``k``, a name DuckDB treats as different.)
    """
    return name.translate(_ASCII_LOWER)

"""DuckDB identifiers written by hand, with nothing else imported.

Modules that read files (:mod:`kpi_model.sources`) quote names without loading the formula compiler
and sqlglot, so a command can open its data while those load (:class:`kpi_model.sources.WorkspaceScan`).
"""

from __future__ import annotations


def quote(name: str) -> str:
    """A DuckDB identifier, double-quoted so any column or table name is safe."""
    return '"' + name.replace('"', '""') + '"'

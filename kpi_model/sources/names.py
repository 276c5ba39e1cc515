"""Table names: a safe name for an uploaded file, the check every table name passes, and SQL string literals."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache

import duckdb

from kpi_model.models import SOURCE_NAME_PATTERN
from kpi_model.sources.errors import SourceError

STAGING_PREFIX = "_kpiw_staging_"

_IDENTIFIER = re.compile(SOURCE_NAME_PATTERN)
_MAX_NAME = 63


def _literal(text: str) -> str:
    """A single-quoted SQL string literal (for statements that take no parameters, like ALTER)."""
    return "'" + text.replace("'", "''") + "'"


def _check_table_name(table: str) -> None:
    if not _IDENTIFIER.match(table):
        raise SourceError(
            f"'{table}' cannot be a table name: use letters, digits and underscores, "
            "starting with a letter or underscore (e.g. 'orders_2025')"
        )


@cache
def _reserved_words() -> frozenset[str]:
    # A table called "order" would need quoting in every formula; ask DuckDB which words those are.
    with duckdb.connect() as con:
        rows = con.execute("SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'").fetchall()
    return frozenset(row[0].lower() for row in rows)


def table_name_for(filename: str, taken: Iterable[str] = ()) -> str:
    """A safe, lower-case table name for an uploaded file name ('Orders 2025 (v2).csv' -> 'orders_2025_v2').

    Names in ``taken`` are avoided (case-insensitively, as in DuckDB) by adding ``_2``, ``_3`` …
    The result is an identifier only; it is never used as a path.
    """
    base = re.split(r"[\\/]", filename)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9]+", "_", ascii_stem.lower()).strip("_") or "data"
    if name[0].isdigit() or name in _reserved_words():
        name = f"t_{name}"
    name = name[:_MAX_NAME].rstrip("_")
    used = {t.lower() for t in taken}
    candidate, n = name, 1
    while candidate in used:
        n += 1
        suffix = f"_{n}"
        candidate = name[: _MAX_NAME - len(suffix)] + suffix
    return candidate

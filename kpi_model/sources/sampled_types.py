"""Whether a CSV's column types sniffed from a sample are the ones DuckDB's sniffer finds in every row.

A scan gives the column types a load gives, and a load of a CSV up to 64 MB sniffs every row; but DuckDB's
sniffer runs on one core, so sniffing every row of a 32 MiB file takes 0.44 s where reading it takes 0.07 s
(docs/benchmarks.md). Sniffing more rows can only move a column to a later candidate type, the first that
all its values fit; so when one parallel pass over the file, read as text, shows every value in the plainest
form of the type the sample chose, every row's sniff would choose that type too. Anything short of that
proof sends the caller to the full sniff: a value in another form (``0123`` or `` 42`` in a whole-number
column, ``1e3``, ``1`` in a true/false column), a text column empty throughout the sample but not the file,
a quote or escape character the sample did not have, a type without a rule here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb

from kpi_model.identifiers import quote
from kpi_model.sources.names import _literal

# What a value may look like for the sniffer to keep the type (checked in DuckDB's RE2 syntax).
_PLAIN_FORMS = {
    "BIGINT": "regexp_full_match({value}, '-?(0|[1-9][0-9]{{0,17}})')",
    "DOUBLE": "regexp_full_match({value}, '-?(0|[1-9][0-9]*)([.][0-9]+)?')",
    "BOOLEAN": "lower({value}) IN ('true', 'false')",
}
_FORMAT_OPTIONS = {"DATE": "dateformat", "TIMESTAMP": "timestampformat"}


def sample_types_hold(
    con: duckdb.DuckDBPyConnection,
    text_reader: str,
    columns: list[dict[str, str]],
    options: Mapping[str, Any],
    sample_rows: int,
) -> bool:
    """Whether every row's sniff would give ``columns`` (the types a sniff of ``sample_rows`` rows found).

    ``text_reader`` reads the file with the sniffed dialect and every column as VARCHAR; ``options`` are
    the reader's options (quote, escape, date formats). A file that does not read is not proven either.
    """
    rules: list[str] = []
    text: list[str] = []
    for column in columns:
        value, kind = quote(column["name"]), column["type"]
        if kind == "VARCHAR":
            text.append(value)
        elif kind in _PLAIN_FORMS:
            rules.append(f"bool_and({value} IS NULL OR {_PLAIN_FORMS[kind].format(value=value)})")
        elif kind in _FORMAT_OPTIONS and options.get(_FORMAT_OPTIONS[kind]):
            pattern = _literal(str(options[_FORMAT_OPTIONS[kind]]))
            rules.append(f"bool_and({value} IS NULL OR try_strptime({value}, {pattern}) IS NOT NULL)")
        else:
            return False
    # Characters the sample's dialect reads as data but a sniff that met them might make quotes or escapes.
    unseen = [character for character, option in (('"', "quote"), ("\\", "escape")) if not options.get(option)]
    rules += [f"NOT coalesce(bool_or(contains({value}, {_literal(c)})), false)" for value in text for c in unseen]
    first = quote(columns[0]["name"]) if columns else None
    if first in text and not options.get("comment"):  # a later '#' line a sniff might call a comment
        rules.append(f"NOT coalesce(bool_or(starts_with({first}, '#')), false)")
    rules += [f"count({value}) = 0" for value in text]  # kept apart: True if the file has none at all
    try:
        row = con.execute(f"SELECT count(*), {', '.join(rules) or 'true'} FROM {text_reader}").fetchone()
        assert row is not None
        rows, *verdicts = row
        if rows <= sample_rows:
            return True  # the sample was every row
        plain, never_filled = verdicts[: len(verdicts) - len(text)], verdicts[len(verdicts) - len(text) :]
        if not all(plain):
            return False
        empty_in_sample = _empty_in_first_rows(con, text_reader, text, sample_rows) if text else []
    except duckdb.Error:
        return False
    return all(not empty or never for empty, never in zip(empty_in_sample, never_filled, strict=True))


def _empty_in_first_rows(
    con: duckdb.DuckDBPyConnection, text_reader: str, text: list[str], sample_rows: int
) -> list[bool]:
    """For each text column, whether it has no value in the rows the sniffer sampled (the first ones)."""
    counts = ", ".join(f"count({value}) = 0" for value in text)
    row = con.execute(f"SELECT {counts} FROM (SELECT * FROM {text_reader} LIMIT {int(sample_rows)})").fetchone()
    assert row is not None
    return list(row)

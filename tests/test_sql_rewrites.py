"""Each SQL rewrite against hand-written pairs: input, expected output, dialect (after sqlglot's fixtures).

A file in ``tests/fixtures/sql_rewrites/`` holds one rewrite's pairs: a description (the comment
lines up to the first blank line), then entries of meta lines (``# title: …``, ``# dialect: …``,
``# ranges: …``), the input ending in ``;`` and the expected SQL ending in ``;``. The expected
outputs were written from what the rewrite must do, not copied from what it does; where the
rewrite does otherwise, ``# known: …`` says how, and the pair is expected to fail until it is
mended. The golden files in ``tests/golden`` stay as end-to-end checks of whole compiled KPIs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlglot

from kpi_model.formula import bitmap_distinct_counts, parse_tree, safe_division
from kpi_model.formula.dialects import _tsql_portable

FIXTURES = Path(__file__).parent / "fixtures" / "sql_rewrites"
META_KEYS = {"title", "dialect", "ranges", "known"}


@dataclass(frozen=True)
class Pair:
    """One hand-written case: what goes in, what must come out, in which dialect."""

    title: str
    given: str
    expected: str
    dialect: str = "duckdb"
    meta: dict[str, str] = field(default_factory=dict)


def fixture_pairs(name: str) -> list[Pair]:
    """The pairs of ``tests/fixtures/sql_rewrites/<name>.sql``, in file order."""
    lines = (FIXTURES / f"{name}.sql").read_text(encoding="utf-8").splitlines()
    while lines and lines[0].startswith("#"):  # the file's description
        lines.pop(0)
    pairs: list[Pair] = []
    meta: dict[str, str] = {}
    statements: list[str] = []
    text: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() and not text:
            continue
        if line.startswith("#") and not text:
            found = re.fullmatch(r"# (\w+): (.+)", line)
            assert found and found.group(1) in META_KEYS, f"{name}.sql line {number}: expected '# key: value'"
            meta[found.group(1)] = found.group(2).strip()
            continue
        text.append(line)
        if line.rstrip().endswith(";"):
            statements.append(" ".join(text).strip().removesuffix(";").strip())
            text = []
        if len(statements) == 2:
            assert "title" in meta, f"{name}.sql line {number}: every pair needs a '# title:'"
            title, dialect = meta.pop("title"), meta.pop("dialect", "duckdb")
            pairs.append(Pair(title, statements[0], statements[1], dialect, meta))
            meta, statements = {}, []
    assert not text and not statements and not meta, f"{name}.sql ends inside a pair"
    return pairs


def _ranges(text: str) -> dict[str, tuple[int, int]]:
    """``customer_id=1..500, order_id=10..90`` as {column: (lowest, highest)}."""
    ranges = {}
    for part in text.split(","):
        column, _, span = part.strip().partition("=")
        low, _, high = span.partition("..")
        ranges[column] = (int(low), int(high))
    return ranges


def _cases(name: str) -> list[object]:
    """The pairs as test cases; a ``known`` deviation is a strict expected failure (it fails the suite once mended)."""
    return [
        pytest.param(pair, id=pair.title, marks=[pytest.mark.xfail(strict=True, reason=pair.meta["known"])])
        if "known" in pair.meta
        else pytest.param(pair, id=pair.title)
        for pair in fixture_pairs(name)
    ]


@pytest.mark.parametrize("pair", _cases("safe_division"))
def test_safe_division(pair: Pair) -> None:
    assert safe_division(parse_tree(pair.given)).sql(dialect=pair.dialect) == pair.expected


@pytest.mark.parametrize("pair", _cases("bitmap_distinct_counts"))
def test_bitmap_distinct_counts(pair: Pair) -> None:
    rewritten = bitmap_distinct_counts(parse_tree(pair.given), _ranges(pair.meta["ranges"]))
    assert rewritten.sql(dialect=pair.dialect) == pair.expected


@pytest.mark.parametrize("pair", _cases("tsql_portable"))
def test_tsql_portable(pair: Pair) -> None:
    tree = sqlglot.parse_one(pair.given, read="duckdb")
    assert _tsql_portable(tree).sql(dialect=pair.dialect) == pair.expected


def test_every_fixture_file_has_a_test_and_enough_pairs() -> None:
    files = sorted(path.stem for path in FIXTURES.glob("*.sql"))
    assert files == ["bitmap_distinct_counts", "safe_division", "tsql_portable"]
    for name in files:
        pairs = fixture_pairs(name)
        assert len(pairs) >= 5, name
        assert len({pair.title for pair in pairs}) == len(pairs), f"{name}: titles must differ"

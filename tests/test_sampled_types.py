"""A CSV up to 64 MB scans to the column types and values DuckDB gives after sniffing every row, sniffing
only a sample when that sample's types are proven to hold (kpi_model.sources.sampled_types).

The answer key is DuckDB's own reader after a sniff of every row (``read_csv(sample_size = -1)``), not rules
of ours: each case writes a file whose columns change form after the 20,480 sampled rows (or not), and the
scan must give the same types and every row's values, whichever path it took.
"""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pytest

from kpi_model.sources import scan as scan_module
from kpi_model.sources import scan_file

SAMPLE = scan_module._SAMPLE_ROWS
ROWS = SAMPLE + 4_000

# (early value, late value) pairs: the late one appears once, after the sample unless said otherwise.
FORMS: dict[str, tuple[str, str]] = {
    "int": ("42", "7"),
    "int_then_leading_zero": ("42", "0123"),
    "int_then_spaces": ("42", " 42 "),
    "int_then_plus": ("42", "+5"),
    "int_then_exponent": ("42", "1e3"),
    "int_then_decimal": ("42", "2.5"),
    "int_then_huge": ("42", "99999999999999999999"),
    "int_then_text": ("42", "n/a"),
    "negative_int": ("-3", "-0"),
    "decimal": ("3.25", "-0.5"),
    "decimal_then_exponent": ("3.25", "1.5e3"),
    "decimal_then_comma": ("3.25", '"3,5"'),
    "bool": ("true", "false"),
    "bool_then_upper": ("true", "TRUE"),
    "bool_then_one": ("false", "1"),
    "bool_then_t": ("true", "t"),
    "iso_date": ("2025-01-02", "2025-12-31"),
    "iso_date_then_timestamp": ("2025-01-02", "2025-01-03 10:00:00"),
    "day_first_date": ("13/01/2025", "02/03/2025"),
    "ambiguous_date_then_day_first": ("01/02/2025", "13/02/2025"),
    "timestamp": ("2025-01-02 10:00:00", "2025-01-03 11:30:00"),
    "time": ("10:30:00", "11:45:00"),
    "empty_then_decimal": ("", "3.5"),
    "empty_then_text": ("", "abc"),
    "empty_throughout": ("", ""),
    "text": ("abc", "xyz"),
    "text_then_quoted_comma": ("abc", '"Smith, John"'),
    "text_then_quoted": ("abc", '"Smith"'),
    "text_then_backslash": ("abc", "a\\b"),
    "text_then_hash": ("abc", "#note"),
}


def _write(path: Path, forms: list[tuple[str, str]], late_row: int) -> None:
    header = ",".join(f"c{i}" for i in range(len(forms)))
    early = ",".join(e for e, _ in forms)
    late = ",".join(v for _, v in forms)
    lines = [header] + [early] * late_row + [late] + [early] * (ROWS - late_row - 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _every_row_types(path: Path) -> tuple[list[tuple[str, str]], list[tuple]] | str:
    """The answer key: the types and rows DuckDB's reader gives after sniffing every row."""
    con = duckdb.connect()
    try:
        relation = f"read_csv({_quoted(path)}, sample_size = -1)"
        types = [(row[0], row[1]) for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
        return types, con.execute(f"SELECT * FROM {relation}").fetchall()
    except duckdb.Error as error:
        return f"unreadable: {type(error).__name__}"


def _scanned_types(path: Path) -> tuple[list[tuple[str, str]], list[tuple]] | str:
    con = duckdb.connect()
    try:
        scan_file(con, "t", path)
        return [(row[0], row[1]) for row in con.execute("DESCRIBE t").fetchall()], con.execute(
            "SELECT * FROM t"
        ).fetchall()
    except Exception as error:
        return f"unreadable: {type(error).__name__}"


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


@pytest.fixture
def full_sniffs(monkeypatch) -> list[int]:
    """How many times the scan sniffed every row (sample_size -1)."""
    calls: list[int] = []
    real = scan_module._sniff

    def counting(con, path, options, sample):
        if sample == -1:
            calls.append(sample)
        return real(con, path, options, sample)

    monkeypatch.setattr(scan_module, "_sniff", counting)
    return calls


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_form_after_the_sample_scans_to_the_types_of_every_row(tmp_path, form):
    if form.startswith("text_then_hash"):
        forms = [FORMS[form], FORMS["int"]]  # a '#' matters in the first column, where a comment would start
    else:
        forms = [FORMS["iso_date"], FORMS[form]]
    path = tmp_path / "data.csv"
    _write(path, forms, late_row=SAMPLE + 1_000)
    assert _scanned_types(path) == _every_row_types(path)


def test_random_mixes_of_forms_and_places_scan_to_the_types_of_every_row(tmp_path):
    rng = random.Random(20261205)
    names = sorted(FORMS)
    disagreements = []
    for case in range(24):
        forms = [FORMS[rng.choice(names)] for _ in range(rng.randint(1, 5))]
        late_row = rng.choice([5, SAMPLE - 2, SAMPLE + 3, ROWS - 2])
        path = tmp_path / f"case{case}.csv"
        _write(path, forms, late_row)
        scanned, truth = _scanned_types(path), _every_row_types(path)
        if scanned != truth:
            disagreements.append((forms, late_row, scanned[0] if isinstance(scanned, tuple) else scanned))
    assert disagreements == []


def test_a_plain_file_is_not_sniffed_row_by_row(tmp_path, full_sniffs):
    path = tmp_path / "plain.csv"
    _write(path, [FORMS["iso_date"], FORMS["int"], FORMS["decimal"], FORMS["bool"], FORMS["text"]], SAMPLE + 9)
    assert [t for _, t in _scanned_types(path)[0]] == ["DATE", "BIGINT", "DOUBLE", "BOOLEAN", "VARCHAR"]
    assert full_sniffs == []


@pytest.mark.parametrize(
    ("form", "expected"),
    [("int_then_leading_zero", "VARCHAR"), ("bool_then_one", "VARCHAR"), ("empty_then_decimal", "DOUBLE")],
)
def test_a_form_the_sample_cannot_vouch_for_sends_the_scan_to_every_row(tmp_path, full_sniffs, form, expected):
    path = tmp_path / "late.csv"
    _write(path, [FORMS["iso_date"], FORMS[form]], SAMPLE + 500)
    assert _scanned_types(path)[0][1] == ("c1", expected)
    assert full_sniffs == [-1]


def test_a_file_no_longer_than_the_sample_is_never_sniffed_twice(tmp_path, full_sniffs):
    path = tmp_path / "short.csv"
    path.write_text("d,n\n" + "2025-01-02,0123\n" * 100, encoding="utf-8")
    assert _scanned_types(path)[0] == [("d", "DATE"), ("n", "VARCHAR")]
    assert full_sniffs == []

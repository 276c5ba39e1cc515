"""Typed numbers: the decimal comma is read, ambiguity is refused, nothing is silently scaled."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpi_model.numbers import parse_number


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0,07", 0.07),
        ("0.07", 0.07),
        ("1,234.5", 1234.5),
        ("1.234,5", 1234.5),
        ("1 250", 1250.0),
        ("-3,5", -3.5),
        ("1,234,567", 1234567.0),
        ("", None),
        ("  ", None),
        (None, None),
        ("12", 12.0),
        ("0,250", 0.25),
    ],
)
def test_parse_number(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize(("text", "message"), [("1,234", "ambiguous"), ("30%", "fraction"), ("abc", "not a number")])
def test_refusals_say_what_to_type(text, message):
    with pytest.raises(ValueError, match=message):
        parse_number(text, label="Target value")


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_plain_numbers_round_trip(value):
    assert parse_number(repr(value)) == value

"""Distinct counts in a table's profile: exact up to EXACT_DISTINCT_ROWS rows, an estimate labelled "about" above."""

from __future__ import annotations

import json

import duckdb
import pytest

from kpi_model.sources import ProfileTimeout, TableProfile, catalog, profile_select, profile_table
from kpi_model.sources.profile_cache import DATA_FILE, PROFILES_FILE, database_version, read_profiles

IDS = 8_000


@pytest.fixture
def con():
    connection = duckdb.connect()
    # Ids spread over a wide range, as real keys are: HyperLogLog misjudges these by about 1%.
    connection.execute(
        f"CREATE TABLE customers AS SELECT range * 7919 AS id, 'c-' || (range % 250) AS segment FROM range({IDS})"
    )
    yield connection
    connection.close()


def test_a_table_under_the_row_limit_counts_distinct_values_exactly(con):
    profile = profile_table(con, "customers")
    assert profile.distinct_exact and profile.rows == IDS
    assert profile.column("id").distinct == IDS
    assert profile.column("segment").distinct == 250
    # A view over it is counted the same way (views were always estimated before).
    con.execute("CREATE VIEW big_ids AS SELECT id FROM customers WHERE id >= 7919 * 1000")
    view = profile_table(con, "big_ids")
    assert view.distinct_exact and view.column("id").distinct == IDS - 1_000


def test_over_the_row_limit_the_counts_are_estimates_and_say_about(con, monkeypatch):
    from ui.data_views import distinct_heading, profile_frame

    exact = con.execute("SELECT count(DISTINCT id), approx_count_distinct(id) FROM customers").fetchone()
    monkeypatch.setattr(catalog, "EXACT_DISTINCT_ROWS", IDS - 1)
    profile = profile_table(con, "customers")
    assert not profile.distinct_exact
    assert profile.column("id").distinct == exact[1], "the estimate, as DuckDB gives it"
    assert distinct_heading(profile) == "Distinct (about)"
    frame = profile_frame(profile)
    assert "Distinct (about)" in frame.columns and "Distinct" not in frame.columns
    assert profile_select(con, "preview", "SELECT id FROM customers").distinct_exact is False

    monkeypatch.setattr(catalog, "EXACT_DISTINCT_ROWS", IDS)
    exactly = profile_table(con, "customers")
    assert exactly.distinct_exact and "Distinct" in profile_frame(exactly).columns


def test_the_profile_keeps_its_time_limit(con):
    slow = "SELECT a.range AS x FROM range(100000) AS a, range(100000) AS b"
    with pytest.raises(ProfileTimeout, match=r"ran longer than 0\.2 s"):
        profile_select(con, "slow", slow, timeout_s=0.2)


def test_a_cached_profile_keeps_whether_its_counts_are_exact(con, tmp_path):
    profile = profile_table(con, "customers")
    estimated = TableProfile("big", 20_000_000, profile.columns, distinct_exact=False)
    for kept in (profile, estimated):
        assert TableProfile.from_dict(json.loads(json.dumps(kept.to_dict()))) == kept


def test_a_cache_written_before_the_field_existed_still_reads(con, tmp_path):
    """Old caches were exact only for tables of at most 1,000,000 rows; views were always estimated."""
    db = tmp_path / DATA_FILE
    db.write_bytes(b"")
    old = profile_table(con, "customers").to_dict()
    del old["distinct_exact"]
    big = {**old, "name": "big", "rows": 2_000_000}
    view = {**old, "name": "v"}
    cache = {
        "version": database_version(db),
        "relations": {"customers": "TABLE", "big": "TABLE", "v": "VIEW"},
        "profiles": {"customers": old, "big": big, "v": view},
    }
    (tmp_path / PROFILES_FILE).write_text(json.dumps(cache), encoding="utf-8")
    read = read_profiles(db, database_version(db))
    assert read is not None
    profiles = read[1]
    assert profiles["customers"].distinct_exact and profiles["customers"].column("id").distinct == IDS
    assert not profiles["big"].distinct_exact
    assert not profiles["v"].distinct_exact


def test_a_large_table_is_estimated_before_exact_counts_could_run_out_of_time(con, monkeypatch):
    cost = catalog.exact_distinct_cost(IDS, 2)
    assert cost >= 2 * IDS, "every value read counts"
    assert catalog.exact_distinct_cost(1, 3_000) > catalog.exact_distinct_cost(1, 1_000) > 1_000, "and every column"
    monkeypatch.setattr(catalog, "EXACT_DISTINCT_VALUES", cost - 1)
    assert not profile_table(con, "customers").distinct_exact
    monkeypatch.setattr(catalog, "EXACT_DISTINCT_VALUES", cost)
    assert profile_table(con, "customers").distinct_exact


def test_a_shorter_time_limit_counts_fewer_values_exactly(con, monkeypatch):
    from kpi_model.sources import PROFILE_TIMEOUT_S

    monkeypatch.setattr(catalog, "EXACT_DISTINCT_VALUES", catalog.exact_distinct_cost(IDS, 2) * 1.5)
    assert profile_table(con, "customers", timeout_s=PROFILE_TIMEOUT_S).distinct_exact
    assert not profile_table(con, "customers", timeout_s=PROFILE_TIMEOUT_S / 2).distinct_exact
    assert not profile_select(con, "v", "SELECT * FROM customers", timeout_s=PROFILE_TIMEOUT_S / 2).distinct_exact

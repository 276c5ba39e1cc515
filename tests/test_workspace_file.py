"""Workspace files: lossless round-trips, readable parse errors, saves that never lose the old file."""

from __future__ import annotations

import datetime as dt
import os
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi_model import workspace_file
from kpi_model.errors import WorkspaceError
from kpi_model.models import (
    Baseline,
    Cadence,
    Category,
    Direction,
    Goal,
    Kind,
    Kpi,
    Measure,
    Source,
    Target,
    Thresholds,
    Unit,
    UnitOfMeasure,
    Workspace,
)

# Text that YAML must keep as text: numbers, dates, 'yes', '#', ':' and unicode included.
tricky_text = st.one_of(
    st.text(min_size=1, max_size=30).map(str.strip).filter(bool),
    st.sampled_from(["yes", "no", "null", "~", "2027-01-01", "0.30", "1e3", "a: b", "# not a comment", "Ünïcødé ✓"]),
)
slugs = st.text(string.ascii_lowercase + string.digits + "-_", min_size=1, max_size=12).filter(lambda s: s[0].isalnum())
kpi_ids = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True)
numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)
dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 12, 31))
periods = st.one_of(
    st.integers(1990, 2100).map(str),
    st.builds(lambda y, q: f"{y}-Q{q}", st.integers(1990, 2100), st.integers(1, 4)),
    st.builds(lambda y, m: f"{y}-{m:02d}", st.integers(1990, 2100), st.integers(1, 12)),
    st.builds(lambda y, w: f"{y}-W{w:02d}", st.integers(1990, 2100), st.integers(1, 53)),
    dates.map(dt.date.isoformat),
)


def maybe(strategy):
    return st.one_of(st.none(), strategy)


@st.composite
def workspaces(draw) -> Workspace:
    units = draw(
        st.lists(
            st.builds(Unit, id=slugs, name=tricky_text, owner=maybe(tricky_text)), max_size=3, unique_by=lambda u: u.id
        )
    )
    goals = []
    if units:
        goals = draw(
            st.lists(
                st.builds(
                    Goal, id=slugs, unit=st.sampled_from([u.id for u in units]), statement=tricky_text, due=maybe(dates)
                ),
                max_size=4,
                unique_by=lambda g: g.id,
            )
        )
    sources = draw(
        st.lists(
            st.builds(
                Source,
                name=st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
                path=maybe(tricky_text.filter(lambda text: "\x00" not in text)),  # a path has no NUL
                system=maybe(tricky_text),
            ),
            max_size=2,
            unique_by=lambda s: s.name,
        )
    )
    ids = draw(st.lists(kpi_ids, max_size=5, unique=True))
    kpis = []
    for kpi_id in ids:
        goal = draw(maybe(st.sampled_from(goals))) if goals else None
        # `unit`: any unit for a KPI without a goal; with one, only the goal's unit (or none).
        homes = [goal.unit] if goal else [u.id for u in units]
        kpis.append(
            Kpi(
                id=kpi_id,
                name=draw(tricky_text),
                goal=goal.id if goal else None,
                unit=draw(maybe(st.sampled_from(homes))) if homes else None,
                owner=draw(maybe(tricky_text)),
                category=draw(maybe(st.sampled_from(Category))),
                kind=draw(maybe(st.sampled_from(Kind))),
                measure=draw(st.sampled_from(Measure)),
                source=draw(maybe(st.sampled_from([s.name for s in sources]))) if sources else None,
                expression=draw(maybe(tricky_text)),
                unit_of_measure=draw(maybe(st.sampled_from(UnitOfMeasure))),
                direction=draw(maybe(st.sampled_from(Direction))),
                cadence=draw(maybe(st.sampled_from(Cadence))),
                baseline=draw(maybe(st.builds(Baseline, value=numbers, period=maybe(periods)))),
                target=draw(maybe(st.builds(Target, value=maybe(numbers), due=maybe(dates)))),
                thresholds=draw(maybe(st.builds(Thresholds, warning=maybe(numbers), critical=maybe(numbers)))),
                pairs_with=draw(maybe(st.sampled_from([i for i in ids if i != kpi_id]))) if len(ids) > 1 else None,
                review_date=draw(maybe(dates)),
                action=draw(maybe(tricky_text)),
            )
        )
    return Workspace(
        name=draw(tricky_text),
        description=draw(maybe(tricky_text)),
        units=units,
        goals=goals,
        sources=sources,
        kpis=kpis,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workspace=workspaces(), fmt=st.sampled_from(["yaml", "json"]))
def test_round_trip_is_lossless(workspace, fmt):
    text = workspace_file.dumps(workspace, fmt)
    again = workspace_file.loads(text, fmt)
    assert again == workspace
    assert workspace_file.dumps(again, fmt) == text


def test_kpi_unit_survives_a_yaml_round_trip():
    text = "name: X\nunits:\n  - {id: sales, name: Sales}\nkpis:\n  - {id: win_rate, name: Win rate, unit: sales}\n"
    workspace = workspace_file.loads(text, "yaml")
    (kpi,) = workspace.kpis
    assert kpi.unit == "sales" and workspace.unit_of_kpi(kpi).name == "Sales"
    assert "unit: sales" in workspace_file.dumps(workspace)
    assert workspace_file.loads(workspace_file.dumps(workspace), "yaml") == workspace


def test_save_and_load_through_disk(tmp_path, small_workspace):
    for name in ("ws.yaml", "ws.json"):
        workspace_file.save(small_workspace, tmp_path / name)
        assert workspace_file.load(tmp_path / name) == small_workspace
    assert (tmp_path / "ws.json").read_text().lstrip().startswith("{")


def test_yaml_keeps_readable_key_order(small_workspace):
    text = workspace_file.dumps(small_workspace)
    assert text.index("name:") < text.index("units:") < text.index("goals:") < text.index("kpis:")
    assert "due: '2027-06-30'" in text or "due: 2027-06-30" in text


def test_failed_save_keeps_previous_file(tmp_path, small_workspace, monkeypatch):
    target = tmp_path / "ws.yaml"
    workspace_file.save(small_workspace, target)
    before = target.read_bytes()

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    changed = small_workspace.model_copy(update={"name": "Changed"})
    with pytest.raises(OSError):
        workspace_file.save(changed, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ws.yaml"], "temporary file left behind"


def test_interrupted_replace_keeps_previous_file(tmp_path, small_workspace, monkeypatch):
    target = tmp_path / "ws.yaml"
    workspace_file.save(small_workspace, target)
    before = target.read_bytes()
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        workspace_file.save(small_workspace.model_copy(update={"name": "New"}), target)
    assert target.read_bytes() == before
    assert len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\nunits: [\n", "line"),
        ("name: x\n  bad: indent\n", "not valid YAML"),
        ("a: &anchor [1]\nb: *anchor\n", "aliases"),
        ("name: x\nname: y\n", "appears twice"),
    ],
)
def test_yaml_problems_are_explained(text, expected):
    with pytest.raises(WorkspaceError) as caught:
        workspace_file.loads(text)
    assert expected in str(caught.value)


def test_yaml_error_names_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: ok\nunits:\n  - id: a\n    name: [unclosed\n")
    with pytest.raises(WorkspaceError) as caught:
        workspace_file.load(path)
    assert caught.value.problems[0].path.startswith("line ")
    assert str(path) in str(caught.value)


def test_json_error_names_line():
    with pytest.raises(WorkspaceError, match=r"line 2, column"):
        workspace_file.loads('{"name": "x",\n "units": [,]}', "json")


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(WorkspaceError, match="no such file"):
        workspace_file.load(tmp_path / "nope.yaml")
    binary = tmp_path / "ws.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(WorkspaceError, match="not UTF-8"):
        workspace_file.load(binary)


def test_oversized_document_refused():
    with pytest.raises(WorkspaceError, match="larger than"):
        workspace_file.loads("name: x\n" + "# padding\n" * 600_000)


def test_python_tags_are_not_executed():
    with pytest.raises(WorkspaceError, match="not valid YAML"):
        workspace_file.loads("name: !!python/object/apply:os.system ['echo hacked']\n")

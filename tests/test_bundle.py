"""Workspace bundles: the round trip computes the same numbers, and hostile bundles are refused.

The answer key (:data:`HOSTILE`) was written before the checks: each case is a bundle someone could
craft, and the words its refusal must contain. Every refusal must also leave nothing behind: no
folder it was to be opened into, and no file anywhere else.
"""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from kpi_model import bundle, workspace_file
from kpi_model.archives import ZipLimits
from kpi_model.engine import Engine
from kpi_model.errors import KpiWizardError, WorkspaceError
from kpi_model.formula import SeriesRequest
from kpi_model.models import Source

from .conftest import SAMPLE_WORKSPACE
from .hostile_files import billion_laughs_yaml

ORDERS = b"order_id,order_date,amount\n1,2025-01-03,10\n2,2025-02-04,20\n3,2025-02-20,5\n"
WORKSPACE_YAML = """\
name: Tiny shop
units: [{id: sales, name: Sales}]
goals: [{id: grow, unit: sales, statement: Grow revenue}]
sources: [{name: orders, path: data/orders.csv}]
kpis:
  - {id: revenue, name: Revenue, goal: grow, source: orders, expression: sum(amount), time_column: order_date}
"""


def _entry(path: str, content: bytes) -> dict[str, object]:
    return {"path": path, "bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()}


def manifest(files: dict[str, bytes], **changes: object) -> bytes:
    """A manifest listing ``files`` truthfully, with ``changes`` applied to its top level."""
    data = {
        "format": bundle.FORMAT,
        "format_version": 1,
        "created_at": "2026-12-05T12:00:00Z",
        "tool_version": "test",
        "files": [_entry(p, c) for p, c in files.items()],
    }
    return json.dumps({**data, **changes}).encode()


def craft(
    path: Path,
    files: dict[str, bytes] | None = None,
    *,
    listed: dict[str, bytes] | None = None,
    extra: list[zipfile.ZipInfo | tuple[str, bytes]] = (),  # type: ignore[assignment]
    manifest_bytes: bytes | None = None,
) -> Path:
    """A bundle of ``files`` (a valid tiny shop by default) whose manifest lists ``listed`` (default: the
    files), plus ``extra`` entries the manifest does not know about."""
    files = {"workspace.yaml": WORKSPACE_YAML.encode(), "data/orders.csv": ORDERS} if files is None else files
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", manifest_bytes or manifest(files if listed is None else listed))
        for name, content in files.items():
            archive.writestr(name, content)
        for item in extra:
            if isinstance(item, tuple):
                archive.writestr(*item)
            else:
                archive.writestr(item, b"/etc/passwd")
    return path


def _symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def _with(files: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """The tiny shop's files, with ``files`` added or replaced."""
    return {"workspace.yaml": WORKSPACE_YAML.encode(), "data/orders.csv": ORDERS} | (files or {})


def _pointing_at(path: str) -> dict[str, bytes]:
    return {"workspace.yaml": WORKSPACE_YAML.replace("data/orders.csv", path).encode(), "data/orders.csv": ORDERS}


@dataclass(frozen=True)
class Hostile:
    """A crafted bundle and the words its refusal must contain."""

    build: Callable[[Path], Path]
    expected: str
    error: type[KpiWizardError] = bundle.BundleError
    limits: ZipLimits = bundle.DEFAULT_LIMITS
    fix: str = "make the bundle again with KPI Wizard"  # the fix the message must tell


_BOMB = b"0" * (30 * 1024**2)  # deflates about 1000 : 1
_TINY = ZipLimits(max_unpacked_bytes=1_000, max_ratio=200, max_members=202)

# The answer key: case -> the refusal it must get.
HOSTILE: dict[str, Hostile] = {
    "zip bomb (a file packed 1000 : 1)": Hostile(
        lambda p: craft(p, _with({"data/orders_2.csv": _BOMB})), "that is how zip bombs look"
    ),
    "over the size limit": Hostile(
        lambda p: craft(p, _with({"data/big.csv": b"x" * 2_000})), "over the", limits=_TINY, fix="bundle an extract"
    ),
    "'..' in an entry name": Hostile(lambda p: craft(p, extra=[("data/../../evil.csv", b"x")]), "climbs out with '..'"),
    "absolute entry name": Hostile(lambda p: craft(p, extra=[("/tmp/evil.csv", b"x")]), "is an absolute path"),
    "drive letter entry name": Hostile(lambda p: craft(p, extra=[("C:/evil.csv", b"x")]), "is an absolute path"),
    "backslash entry name": Hostile(lambda p: craft(p, extra=[("data\\..\\evil.csv", b"x")]), "backslash"),
    "symbolic link": Hostile(lambda p: craft(p, extra=[_symlink("data/passwd.csv")]), "symbolic link"),
    "same name twice": Hostile(lambda p: craft(p, extra=[("data/orders.csv", b"a,b\n")]), "twice"),
    "names differing only by case": Hostile(
        lambda p: craft(p, extra=[("data/ORDERS.csv", b"a,b\n")]), "differ only in case"
    ),
    "hash does not match": Hostile(
        lambda p: craft(p, listed=_with({"data/orders.csv": ORDERS.replace(b"10", b"99")})),
        "does not match the SHA-256",
    ),
    "size does not match": Hostile(
        lambda p: craft(p, listed=_with({"data/orders.csv": ORDERS + b"4,x,1\n"})), "manifest.json says"
    ),
    "file the manifest does not list": Hostile(lambda p: craft(p, extra=[("data/more.csv", b"a\n")]), "does not list"),
    "file the manifest lists but the bundle lacks": Hostile(
        lambda p: craft(p, listed=_with({"data/gone.csv": b"a\n"})), "does not hold"
    ),
    "YAML pointing outside with '..'": Hostile(lambda p: craft(p, _pointing_at("../secret.csv")), "not a data file"),
    "YAML pointing at an absolute path": Hostile(lambda p: craft(p, _pointing_at("/etc/passwd")), "not a data file"),
    "YAML pointing at the manifest": Hostile(lambda p: craft(p, _pointing_at("manifest.json")), "not a data file"),
    "too many files": Hostile(
        lambda p: craft(p, _with({f"data/t{i}.csv": b"a\n" for i in range(210)})), "entries, more than"
    ),
    "a bundle inside the bundle": Hostile(lambda p: craft(p, extra=[("data/inner.zip", b"PK")]), "bundle inside a"),
    "unexpected file": Hostile(lambda p: craft(p, extra=[("run_me.sh", b"rm -rf /")]), "is not manifest.json"),
    "data file no source reads": Hostile(lambda p: craft(p, _with({"data/unused.csv": b"a\n"})), "no source"),
    "no manifest": Hostile(lambda p: _zip(p, {"workspace.yaml": WORKSPACE_YAML.encode()}), "has no manifest.json"),
    "manifest of another format": Hostile(lambda p: craft(p, manifest_bytes=b'{"format": "x"}'), "not a KPI Wizard"),
    "manifest from a newer version": Hostile(
        lambda p: craft(p, manifest_bytes=manifest(_with(), format_version=99)),
        "newer than this KPI Wizard",
        fix="update KPI Wizard",
    ),
    "manifest not JSON": Hostile(lambda p: craft(p, manifest_bytes=b"{nope"), "not valid JSON"),
    "not a zip": Hostile(lambda p: _write(p, b"just text, not a zip"), "not a readable zip"),
    "workspace with an alias bomb": Hostile(
        lambda p: craft(p, {"workspace.yaml": billion_laughs_yaml().encode()}),
        "aliases",
        WorkspaceError,
        fix="write the value out",
    ),
}


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_bundle_is_refused_and_leaves_nothing_behind(tmp_path, case):
    hostile = HOSTILE[case]
    crafted = hostile.build(tmp_path / "hostile.zip")
    into = tmp_path / "opened"
    with pytest.raises(hostile.error) as refused:
        bundle.open_bundle(crafted, into, limits=hostile.limits)
    message = str(refused.value)
    assert hostile.expected in message, message
    assert hostile.fix in message, f"the message names no fix: {message}"
    assert not into.exists(), "a refused bundle leaves no folder behind"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["hostile.zip"], "nothing is written anywhere else"


def test_the_answer_key_covers_the_threats_of_the_brief():
    must = ["zip bomb", "'..'", "absolute", "symbolic link", "twice", "case", "hash", "outside", "too many", "inside"]
    cases = " ".join(HOSTILE)
    assert [m for m in must if m not in cases] == []


def test_crafted_valid_bundle_opens(tmp_path):
    """The crafting helper makes a bundle that opens, so each hostile case fails for its own reason."""
    opened = bundle.open_bundle(craft(tmp_path / "ok.zip"), tmp_path / "opened")
    assert opened.data_files == {"orders": tmp_path / "opened" / "data" / "orders.csv"}
    assert opened.data_files["orders"].read_bytes() == ORDERS


def test_a_folder_with_files_is_not_opened_into(tmp_path):
    into = tmp_path / "busy"
    into.mkdir()
    (into / "keep.txt").write_text("mine")
    with pytest.raises(bundle.BundleError, match="not an empty folder"):
        bundle.open_bundle(craft(tmp_path / "ok.zip"), into)
    assert (into / "keep.txt").read_text() == "mine"


def test_refused_bundle_in_an_empty_folder_leaves_the_folder_empty(tmp_path):
    into = tmp_path / "empty"
    into.mkdir()
    with pytest.raises(bundle.BundleError):
        bundle.open_bundle(craft(tmp_path / "bad.zip", _with({"data/unused.csv": b"a\n"})), into)
    assert into.is_dir() and not any(into.iterdir())


# ---------------------------------------------------------------------------- the round trip


@pytest.fixture(scope="module")
def sample_bundle(tmp_path_factory) -> tuple[Path, bundle.BuiltBundle]:
    folder = tmp_path_factory.mktemp("bundle")
    workspace = workspace_file.load(SAMPLE_WORKSPACE)
    built = bundle.write_bundle(
        folder / "sample.zip", workspace, bundle.source_files(workspace, SAMPLE_WORKSPACE.parent)
    )
    return folder / "sample.zip", built


def test_bundle_lists_every_file_with_size_and_hash(sample_bundle):
    path, built = sample_bundle
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        listed = json.loads(archive.read("manifest.json"))
        contents = {name: archive.read(name) for name in names if name != "manifest.json"}
    assert names[:2] == ["manifest.json", "workspace.yaml"]
    assert listed["format"] == bundle.FORMAT and listed["format_version"] == 1
    assert listed["tool_version"] and listed["created_at"].endswith("Z")
    assert {f["path"]: (f["bytes"], f["sha256"]) for f in listed["files"]} == {
        name: (len(c), hashlib.sha256(c).hexdigest()) for name, c in contents.items()
    }
    sample = workspace_file.load(SAMPLE_WORKSPACE)
    assert {f"data/{s.name}.csv" for s in sample.sources if s.path} == set(contents) - {"workspace.yaml"}
    assert built.notes == []


def test_round_trip_computes_the_same_values(sample_bundle, tmp_path):
    path, _ = sample_bundle
    original = workspace_file.load(SAMPLE_WORKSPACE)
    opened = bundle.open_bundle(path, tmp_path / "opened")
    assert opened.workspace.kpis == original.kpis and opened.workspace.goals == original.goals
    request = SeriesRequest(grain="month")
    with (
        Engine.for_workspace(original, SAMPLE_WORKSPACE.parent) as before,
        Engine.for_workspace(opened.workspace, opened.folder, confine=True) as after,
    ):
        computed = 0
        for kpi in original.kpis:
            if not (kpi.expression and (kpi.source or not kpi.time_column)):
                continue
            try:
                expected = before.compute(original, kpi.id, request).as_records()
            except KpiWizardError:
                continue  # the sample's deliberate flaws: they fail the same way after the round trip
            assert after.compute(opened.workspace, kpi.id, request).as_records() == expected, kpi.id
            computed += 1
    assert computed >= 10, "the round trip compared too few KPIs to mean anything"


def test_source_without_its_file_is_bundled_without_data_and_said(tmp_path):
    workspace = workspace_file.loads(WORKSPACE_YAML)
    out = tmp_path / "b.zip"
    built = bundle.write_bundle(out, workspace, {})
    assert built.notes and "orders" in built.notes[0] and "upload its file after opening" in built.notes[0]
    opened = bundle.open_bundle(out, tmp_path / "opened")
    assert opened.workspace.source("orders") is not None and opened.workspace.source("orders").path is None
    assert opened.data_files == {}


def test_very_repetitive_data_is_stored_so_the_bundle_opens_again(tmp_path):
    data = tmp_path / "orders.csv"
    data.write_bytes(b"order_id,order_date,amount\n" + b"1,2025-01-03,10\n" * 1_000_000)
    out = tmp_path / "b.zip"
    bundle.write_bundle(out, workspace_file.loads(WORKSPACE_YAML), {"orders": data})
    with zipfile.ZipFile(out) as archive:
        assert archive.getinfo("data/orders.csv").compress_type == zipfile.ZIP_STORED
    assert bundle.open_bundle(out, tmp_path / "opened").data_files["orders"].stat().st_size == data.stat().st_size


def test_bundle_too_large_to_open_again_is_not_made(tmp_path):
    data = tmp_path / "orders.csv"
    data.write_bytes(ORDERS * 100)
    with pytest.raises(bundle.BundleError, match="over the"):
        bundle.write_bundle(tmp_path / "b.zip", workspace_file.loads(WORKSPACE_YAML), {"orders": data}, limits=_TINY)
    assert not (tmp_path / "b.zip").exists()


def test_sources_differing_only_in_case_are_refused_when_bundling(tmp_path):
    """Such a bundle could not be opened again (and DuckDB reads the two names as one table)."""
    data = tmp_path / "orders.csv"
    data.write_bytes(ORDERS)
    # Validation refuses such a file now (tests/test_validation.py); a workspace built in memory can still
    # hold the pair, and the bundle keeps its own check.
    with pytest.raises(WorkspaceError, match="differ only in case"):
        workspace_file.loads(WORKSPACE_YAML.replace("sources: [", "sources: [{name: Orders, path: o.csv}, "))
    loaded = workspace_file.loads(WORKSPACE_YAML)
    workspace = loaded.model_copy(update={"sources": [Source(name="Orders", path="o.csv"), *loaded.sources]})
    with pytest.raises(bundle.BundleError, match=r"sources 'Orders' and 'orders' differ only in case.*rename one"):
        bundle.write_bundle(tmp_path / "b.zip", workspace, {"orders": data, "Orders": data})
    assert not (tmp_path / "b.zip").exists()


def test_confined_source_files_skip_a_path_out_of_the_folder_and_keep_the_others(tmp_path):
    (tmp_path / "ws" / "data").mkdir(parents=True)
    (tmp_path / "ws" / "data" / "orders.csv").write_bytes(ORDERS)
    (tmp_path / "secret.csv").write_text("a\n1\n")
    text = WORKSPACE_YAML.replace("sources: [", "sources: [{name: secret, path: ../secret.csv}, ")
    workspace = workspace_file.loads(text)
    assert bundle.source_files(workspace, tmp_path / "ws") == {"orders": tmp_path / "ws" / "data" / "orders.csv"}
    unconfined = bundle.source_files(workspace, tmp_path / "ws", confine=False)
    assert unconfined["secret"] == tmp_path / "secret.csv", "the local CLI reads the paths its user names"

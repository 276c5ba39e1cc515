"""Hostile YAML/JSON documents through the library and the command line.

Alias bombs, deep nesting, huge files, duplicate keys, bad bytes and impossible paths, in
workspace files, dbt files and mapping files. The expected outcome of every case (exit code
and the words of its message) is written in the table below, before it was run. Expected of
every refusal: a :class:`KpiWizardError` from the library and, from ``kpi-wizard``, the exit
code the CLI uses for invalid input (1 for ``validate``, 2 when ``audit``/``import``/``compute``
cannot use a file), no traceback, a short message that names a fix, an answer within the
subprocess time limit, and a canary beside the working folder left untouched and unseen.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from kpi_model import workspace_file
from kpi_model.errors import KpiWizardError, WorkspaceError
from kpi_model.importers import import_file, load_mapping
from kpi_model.sources import resolve_source_path

from .hostile_files import billion_laughs_yaml, deep_json
from .hostile_support import Canary, names_a_fix

CLI_TIMEOUT = 20  # seconds; every case must answer well within it
MAX_MESSAGE = 2_000  # characters: a refusal never echoes the document back

_WORKSPACE_HEAD = "name: Hostile\nunits: [{id: sales, name: Sales}]\n"
_GOOD_DBT = """\
semantic_models:
  - name: orders
    model: ref('orders')
    defaults: {agg_time_dimension: order_date}
    dimensions:
      - {name: order_date, type: time, type_params: {time_granularity: day}}
    measures:
      - {name: revenue, agg: sum, expr: amount}
metrics:
  - name: revenue
    label: Revenue
    type: simple
    type_params: {measure: revenue}
"""


def _dbt_metric(description: str, head: str = "") -> str:
    metric = f"  - name: boom\n    type: simple\n    description: {description}\n    type_params: {{measure: x}}\n"
    return f"{head}metrics:\n{metric}"


def _alias_depth_chain(links: int = 3, depth: int = 60) -> str:
    """Anchors that each nest the previous one ``depth`` deep: shallow as written, deep when expanded."""
    lines = [f"a0: &a0 {'[' * depth}x{']' * depth}"]
    lines += [f"a{i}: &a{i} {'[' * depth}*a{i - 1}{']' * depth}" for i in range(1, links)]
    return "\n".join(lines) + "\n"


def _block_mappings(levels: int) -> str:
    return (
        _WORKSPACE_HEAD
        + "description:\n"
        + "".join(f"{'  ' * i}a:\n" for i in range(1, levels))
        + f"{'  ' * levels}x\n"
    )


def _json_objects(levels: int) -> str:
    return '{"name": "Deep", "description": ' + '{"a": ' * levels + "1" + "}" * levels + "}"


def _huge_yaml() -> str:
    line = "  - {id: k%06d, name: 'A KPI whose name is long enough to fill the line nicely'}\n"
    return "name: Huge\nkpis:\n" + "".join(line % i for i in range(70_000))  # ~6 MB


@dataclass(frozen=True)
class Case:
    """One hostile document and what must happen to it (written before the case was first run)."""

    label: str
    file: str  # its name decides the reader: .json, .yaml/.yml, .csv with a mapping
    content: Callable[[], str | bytes]
    commands: tuple[tuple[str, int], ...]  # (CLI command, exit code)
    expected: tuple[str, ...]  # words the message must hold
    reader: str = "workspace"  # workspace | dbt | mapping | path | valid


_WORKSPACE = (("validate", 1), ("audit", 2))
_DBT = (("audit", 2), ("import", 2))

CASES = [
    # --- alias bombs ------------------------------------------------------------------------
    Case(
        "billion laughs in a workspace",
        "laughs.yaml",
        lambda: _WORKSPACE_HEAD + billion_laughs_yaml(),
        _WORKSPACE,
        ("aliases (*name) are not allowed in a workspace", "write the value out"),
    ),
    Case(
        "quadratic blowup in a workspace",
        "quadratic.yaml",
        lambda: (
            f"name: Q\ngoals: []\ndescription: &d '{'x' * 200_000}'\nunits: ["
            + ", ".join(["{id: u, name: *d}"] * 1_000)
            + "]\n"
        ),
        _WORKSPACE,
        ("aliases (*name) are not allowed",),
    ),
    Case(
        "billion laughs in a dbt file",
        "metrics.yml",
        lambda: _dbt_metric("*a8", billion_laughs_yaml()),
        _DBT,
        ("expand to more than 100,000 values", "write the repeated parts out"),
        "dbt",
    ),
    Case(
        "quadratic blowup in a dbt file",
        "quadratic.yml",
        lambda: _dbt_metric("[" + ", ".join(["*d"] * 200) + "]", f"long: &d '{'x' * 1_000_000}'\n"),
        _DBT,
        ("10,000,000 characters", "write the repeated parts out"),
        "dbt",
    ),
    Case(
        "a dbt alias that contains itself",
        "cycle.yml",
        lambda: _dbt_metric("*loop", "loop: &loop [1, *loop]\n"),
        _DBT,
        ("refers to the mapping or list that contains it", "write the value out"),
        "dbt",
    ),
    Case(
        "dbt aliases nesting deeper when expanded",
        "chain.yml",
        lambda: _dbt_metric("*a2", _alias_depth_chain()),
        _DBT,
        ("nest values deeper than 64 levels", "check that this is a dbt metrics file"),
        "dbt",
    ),
    # --- deep nesting -----------------------------------------------------------------------
    Case(
        "YAML flow lists 10,000 deep",
        "deep-lists.yaml",
        lambda: _WORKSPACE_HEAD + "description: " + deep_json(10_000),
        _WORKSPACE,
        ("nested deeper than 64 levels", "a workspace is flat", "check"),
    ),
    Case(
        "YAML flow mappings 200 deep",
        "deep-maps.yaml",
        lambda: _WORKSPACE_HEAD + "description: " + "{a: " * 200 + "1" + "}" * 200,
        _WORKSPACE,
        ("nested deeper than 64 levels",),
    ),
    Case(
        "YAML block lists 100 deep",
        "deep-block.yaml",
        lambda: _WORKSPACE_HEAD + "description:\n  " + "- " * 100 + "x\n",
        _WORKSPACE,
        ("nested deeper than 64 levels",),
    ),
    Case(
        "YAML block mappings 65 levels by indentation",
        "deep-indent.yaml",
        lambda: _block_mappings(65),
        _WORKSPACE,
        ("nested deeper than 64 levels", "line 67"),
    ),
    Case(
        "JSON lists 100,000 deep",
        "deep.json",
        lambda: deep_json(100_000),
        _WORKSPACE,
        ("nested deeper than 64 levels", "line 1, column 65"),
    ),
    Case(
        "JSON objects 65 deep",
        "deep-objects.json",
        lambda: _json_objects(65),
        _WORKSPACE,
        ("nested deeper than 64 levels",),
    ),
    Case(
        "JSON nested 63 deep, inside the limit",
        "deep-63.json",
        lambda: _json_objects(62),
        _WORKSPACE,
        ("description", "expected text, found dict", "write plain text"),
    ),
    Case(
        "dbt file nested 500 deep",
        "deep.yml",
        lambda: _dbt_metric(deep_json(500)),
        _DBT,
        ("nested deeper than 64 levels", "check that this is a dbt metrics file"),
        "dbt",
    ),
    Case(
        "mapping file nested 100 deep",
        "kpis.csv",
        lambda: "name: " + deep_json(100),
        (("audit", 2),),
        ("nested deeper than 64 levels", "one 'field: column header' per line"),
        "mapping",
    ),
    # --- size ---------------------------------------------------------------------------------
    Case("a 6 MB workspace YAML", "huge.yaml", _huge_yaml, _WORKSPACE, ("larger than 5 MB", "a small text file")),
    Case(
        "a 6 MB workspace JSON",
        "huge.json",
        lambda: json.dumps({"name": "H", "description": "x" * 6_000_000}),
        _WORKSPACE,
        ("larger than 5 MB",),
    ),
    Case(
        "a 6 MB dbt file",
        "huge.yml",
        lambda: _dbt_metric("'" + "x" * 6_000_000 + "'"),
        _DBT,
        ("larger than 5 MB", "or split it"),
        "dbt",
    ),
    Case(
        "a number of 5,000 digits in a workspace",
        "digits.yaml",
        lambda: _WORKSPACE_HEAD + "description: " + "9" * 5_000,
        _WORKSPACE,
        ("more than 4,300 digits", "put it in quotes"),
    ),
    Case(
        "a number of 5,000 digits in JSON",
        "digits.json",
        lambda: '{"name": "N", "description": ' + "9" * 5_000 + "}",
        _WORKSPACE,
        ("more than 4,300 digits",),
    ),
    Case(
        "a number of 5,000 digits in a dbt file",
        "digits.yml",
        lambda: _dbt_metric("9" * 5_000),
        _DBT,
        ("more than 4,300 digits",),
        "dbt",
    ),
    # --- keys and documents -------------------------------------------------------------------
    Case(
        "duplicate top-level key",
        "twice.yaml",
        lambda: _WORKSPACE_HEAD + "name: Two\n",
        _WORKSPACE,
        ("key 'name' appears twice", "keep one", "line 3"),
    ),
    Case(
        "duplicate key inside a KPI",
        "twice-kpi.yaml",
        lambda: _WORKSPACE_HEAD + "kpis:\n  - id: a\n    name: A\n    owner: X\n    owner: Y\n",
        _WORKSPACE,
        ("key 'owner' appears twice", "line 7"),
    ),
    Case(
        "duplicate key in JSON",
        "twice.json",
        lambda: '{"name": "One", "name": "Two"}',
        _WORKSPACE,
        ("key 'name' appears twice in the same object", "keep one"),
    ),
    Case(
        "duplicate key in a mapping file",
        "kpis.csv",
        lambda: "name: Metric\nname: KPI\n",
        (("audit", 2),),
        ("appears twice", "keep one"),
        "mapping",
    ),
    Case(
        "a key that is a list",
        "list-key.yaml",
        lambda: "units: []\n? [a, b]\n: x\nname: N\n",
        _WORKSPACE,
        ("unhashable key", "check indentation"),
    ),
    Case(
        "two YAML documents",
        "two.yaml",
        lambda: _WORKSPACE_HEAD + "---\nname: Two\n",
        _WORKSPACE,
        ("2 YAML documents", "remove the extra '---'"),
    ),
    # --- bytes and paths ----------------------------------------------------------------------
    Case(
        "a NUL byte in YAML", "nul.yaml", lambda: "units: []\nname: A\x00B\n", _WORKSPACE, ("not allowed", "remove it")
    ),
    Case(
        "a NUL byte in a dbt file", "nul.yml", lambda: _dbt_metric("a\x00b"), _DBT, ("not allowed", "remove it"), "dbt"
    ),
    Case(
        "a NUL escaped into a JSON path",
        "nul-path.json",
        lambda: '{"name": "N", "sources": [{"name": "s", "path": "data/a\\u0000.csv"}]}',
        _WORKSPACE,
        ("sources[0].path", "NUL character", "remove it"),
    ),
    Case(
        "invalid UTF-8 in a workspace",
        "latin1.yaml",
        lambda: b"units: []\nname: Caf\xe9 \xff\n",
        _WORKSPACE,
        ("not UTF-8", "save the file as UTF-8"),
    ),
    Case(
        "invalid UTF-8 in a dbt file",
        "latin1.yml",
        lambda: _dbt_metric("caf\xe9").encode("latin-1"),
        _DBT,
        ("not UTF-8", "save the file as UTF-8"),
        "dbt",
    ),
    Case(
        "a 5,000-character source path",
        "long-path.yaml",
        lambda: _WORKSPACE_HEAD + f"sources: [{{name: orders, path: {'x' * 5_000}.csv}}]\n",
        _WORKSPACE,
        ("sources[0].path", "5,004 characters long", "1,024", "shorter path"),
    ),
    Case(
        "a 300-character file name the file system refuses",
        "long-name.yaml",
        lambda: (
            _WORKSPACE_HEAD + f"sources: [{{name: orders, path: {'x' * 300}.csv}}]\n"
            "kpis: [{id: n, name: N, source: orders, expression: count(*)}]\n"
        ),
        (("compute", 2),),
        ("cannot be used as a file path", "file name too long", "give a short path"),
        "path",
    ),
    # --- controls: look hostile, are fine -----------------------------------------------------
    Case(
        "brackets inside a JSON string",
        "brackets.json",
        lambda: json.dumps({"name": "[" * 1_000 + '"{' * 100}),
        (("validate", 0),),
        ("valid",),
        "valid",
    ),
    Case(
        "a dbt folder with one bomb and one good file",
        "project",
        lambda: "",
        (("import", 0),),
        ("bomb.yml", "expand to more than 100,000 values", "the file was skipped", "1 KPIs"),
        "dbt-folder",
    ),
]


def _write(case: Case, folder: Path) -> Path:
    target = folder / case.file
    if case.reader == "dbt-folder":
        (target / "models").mkdir(parents=True)
        (target / "models" / "good.yml").write_text(_GOOD_DBT, encoding="utf-8")
        (target / "models" / "bomb.yml").write_text(_dbt_metric("*a8", billion_laughs_yaml()), encoding="utf-8")
        return target
    content = case.content()
    if case.reader == "mapping":
        (folder / "mapping.yaml").write_text(str(content), encoding="utf-8")
        target.write_text("Metric,Responsible\nRevenue,CFO\n", encoding="utf-8")
    elif isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")
    return target


def _library_message(case: Case, path: Path) -> str:
    """What the library says about the document (the same readers the app uses)."""
    if case.reader == "valid":
        return f"valid: {workspace_file.load(path).name[:20]}"
    if case.reader == "dbt-folder":
        result = import_file(path)
        return "\n".join([*result.notes, f"{len(result.workspace.kpis)} KPIs"])
    with pytest.raises(KpiWizardError) as caught:
        if case.reader == "workspace":
            workspace_file.load(path)
        elif case.reader == "dbt":
            import_file(path)
        elif case.reader == "mapping":
            load_mapping(path.parent / "mapping.yaml")
        elif case.reader == "path":
            source = workspace_file.load(path).sources[0]
            resolve_source_path(path.parent, str(source.path))
    if case.reader == "workspace":
        assert isinstance(caught.value, WorkspaceError)
    return str(caught.value)


def _cli(command: str, path: Path, output: Path) -> list[str]:
    entry = Path(sys.executable).with_name("kpi-wizard")
    program = [str(entry)] if entry.exists() else [sys.executable, "-m", "kpi_model.cli"]
    if command == "import":
        return [*program, "import", str(path), "-o", str(output)]
    if command == "audit" and path.suffix == ".csv":
        return [*program, "audit", str(path), "--mapping", str(path.parent / "mapping.yaml")]
    return [*program, command, str(path)]


def _assert_clear(message: str, case: Case) -> None:
    for words in case.expected:
        assert words in message, f"{case.label}: expected {words!r} in: {message[:1500]}"
    if case.reader not in ("valid", "dbt-folder"):
        assert names_a_fix(message), f"{case.label}: the message names no fix: {message[:1500]}"
    assert len(message) < MAX_MESSAGE, f"{case.label}: a {len(message):,}-character message echoes the document"


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_hostile_document(tmp_path, case):
    canary = Canary(tmp_path / "outside")
    folder = tmp_path / "ws"
    folder.mkdir()
    path = _write(case, folder)
    outputs: list[str] = []

    message = _library_message(case, path)
    outputs.append(message)
    _assert_clear(message, case)
    assert str(folder) not in message or case.reader == "workspace", "a message shows a server folder"

    for command, exit_code in case.commands:
        output = folder / "imported.yaml"
        result = subprocess.run(
            _cli(command, path, output),
            capture_output=True,
            text=True,
            cwd=folder,
            timeout=CLI_TIMEOUT,
            check=False,
        )
        outputs += [result.stdout, result.stderr]
        said = result.stdout + result.stderr
        assert "Traceback" not in result.stderr, result.stderr[-2000:]
        assert result.returncode == exit_code, (case.label, command, result.returncode, said[-1000:])
        _assert_clear(said, case)
        if command == "import":
            assert output.exists() == (exit_code == 0), "a refused import wrote a workspace"
    canary.assert_untouched(*outputs)


def test_there_are_enough_cases():
    assert len(CASES) >= 20
    assert len({case.label for case in CASES}) == len(CASES)

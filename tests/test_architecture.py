"""Layering and published artefacts: kpi_model stays UI-free; the JSON Schema doc is current."""

from __future__ import annotations

import ast
import json
import pkgutil
import re
import subprocess
import sys

import kpi_model
from kpi_model.models import workspace_json_schema

from .conftest import REPO


def _imports(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_kpi_model_source_never_imports_streamlit_or_ui():
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "kpi_model").rglob("*.py")
        if _imports(path) & {"streamlit", "ui", "pages"}
    ]
    assert offenders == []


def test_importing_every_kpi_model_module_loads_no_streamlit():
    modules = [m.name for m in pkgutil.walk_packages(kpi_model.__path__, "kpi_model.")]
    assert "kpi_model.models" in modules and "kpi_model.cli" in modules
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    code += "print('streamlit' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_pages_do_not_import_each_other_and_ui_does_not_import_pages():
    for folder in ("pages", "ui"):
        for path in (REPO / folder).glob("*.py"):
            assert "pages" not in _imports(path), path


def test_published_json_schema_is_current():
    published = json.loads((REPO / "docs" / "workspace.schema.json").read_text(encoding="utf-8"))
    assert published == workspace_json_schema(), "run `make schema` to refresh docs/workspace.schema.json"


def _module_name(path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path, module: str, known: set[str]) -> set[str]:
    """kpi_model modules ``module`` imports when it runs, function-level imports included (not TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for child in ast.walk(node)
    }
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per dot after the first
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for imported in names:
            name = imported
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
                # Importing a package's module runs the package's __init__ first, unless one is inside it.
                parent = name.rpartition(".")[0]
                if parent in known and not module.startswith(parent + "."):
                    targets.add(parent)
    return targets


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


# Import circles that open issues take apart; no other may appear, and one taken apart leaves this list.
KNOWN_CYCLES: list[list[str]] = []


def test_kpi_model_has_no_import_cycles_beyond_the_known_ones():
    files = {_module_name(path): path for path in (REPO / "kpi_model").rglob("*.py")}
    known = set(files)
    graph = {module: _runtime_imports(path, module, known) for module, path in files.items()}
    assert "kpi_model.isolation" in graph["kpi_model.sources.ingest"], "the graph sees imports"
    cycles = sorted(_cycles(graph))
    unexpected = [cycle for cycle in cycles if cycle not in KNOWN_CYCLES]
    assert unexpected == [], f"import cycles: {unexpected}"
    assert [cycle for cycle in KNOWN_CYCLES if cycle not in cycles] == [], "remove the mended cycle from the list"


def test_the_cycle_finder_finds_a_circle_of_three_and_nothing_in_a_chain():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_grains_and_cadences_have_one_home():
    """periods.py lists the grains and maps cadences; the formula compiler's typed Literal must agree."""
    from kpi_model.formula.compile import GRAINS as COMPILER_GRAINS
    from kpi_model.periods import GRAINS, cadence_grain, grain_cadence

    assert COMPILER_GRAINS == GRAINS
    assert all(cadence_grain(grain_cadence(grain)) == grain for grain in GRAINS)
    listing = re.compile(r'"day",\s*"week",\s*"month"|"quarterly":\s*"quarter"|"month":\s*"monthly"')
    allowed = {"kpi_model/periods.py", "kpi_model/formula/compile.py"}
    elsewhere = [
        str(path.relative_to(REPO))
        for folder in ("kpi_model", "ui", "pages")
        for path in (REPO / folder).rglob("*.py")
        if str(path.relative_to(REPO)) not in allowed and listing.search(path.read_text(encoding="utf-8"))
    ]
    assert elsewhere == [], f"grains or a cadence map written again in {elsewhere}: import them from kpi_model.periods"


# Python that works out periods by hand: a period's start (day 1, quarter or ISO-week math), a month
# index, a month's length, or the default cadence. kpi_model/periods.py does each of these once.
_PERIOD_ARITHMETIC = re.compile(
    r"isocalendar\(|replace\(day=1\)|month - 1\) // 3|month \+ 2\) // 3|year \* (?:12|4)\b"
    r"|monthrange\(|%G|%V|toordinal\(\) - 1\) // 7|else \"monthly\""
)
# Files that may match, and why. kpi_model/formula/ writes periods in SQL (date_trunc, make_date and
# per-dialect DATEADD rewrites): another language, checked by the SQL tests; its Python has none.
_PERIOD_ARITHMETIC_ALLOWED = {"kpi_model/periods.py"}


def test_period_arithmetic_has_one_home():
    """Period start, shift, label, month ends and the cadence default are computed only in periods.py."""
    assert _PERIOD_ARITHMETIC.search("start = day.replace(day=1)")  # the pattern catches the usual hand-roll
    assert _PERIOD_ARITHMETIC.search("year, week, _ = day.isocalendar()")
    assert _PERIOD_ARITHMETIC.search((REPO / "kpi_model/periods.py").read_text(encoding="utf-8"))  # its one home
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for folder in ("kpi_model", "ui", "pages")
        for path in sorted((REPO / folder).rglob("*.py"))
        if str(path.relative_to(REPO)) not in _PERIOD_ARITHMETIC_ALLOWED
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if _PERIOD_ARITHMETIC.search(line)
    ]
    assert found == [], "period arithmetic outside kpi_model/periods.py; call it instead:\n" + "\n".join(found)


# A kpi_model module holds one concern; past this many lines of code it is cut by concern (issue 17).
MAX_MODULE_CODE_LINES = 600
# Modules allowed past it because they are data tables (listings, not logic). None is, today.
DATA_TABLE_MODULES: set[str] = set()


def _code_lines(text: str) -> int:
    """Lines holding code: not blank, not only a comment, not inside a docstring."""
    import io
    import tokenize

    docstrings = {
        line
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)
    }
    layout = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
    code = {
        line
        for token in tokenize.generate_tokens(io.StringIO(text).readline)
        if token.type not in layout
        for line in range(token.start[0], token.end[0] + 1)
    }
    return len(code - docstrings)


def test_code_lines_leave_out_docstrings_comments_and_blank_lines():
    lines = [
        '"""A module.',
        "",
        'Its docstring."""',
        "",
        "# why",
        "x = (",
        "    1  # one",
        ")",
        "",
        "",
        "def f():",
        '    """Doc."""',
        '    return """two',
        'lines"""',
    ]
    # x = (, 1, ), def f():, and the two lines of the returned text
    assert _code_lines("\n".join(lines) + "\n") == 6


def test_no_kpi_model_module_is_over_the_code_line_limit():
    sizes = {
        str(path.relative_to(REPO)): _code_lines(path.read_text(encoding="utf-8"))
        for path in (REPO / "kpi_model").rglob("*.py")
    }
    assert len(sizes) > 50, "every module of kpi_model is measured"
    over = {path: n for path, n in sizes.items() if n > MAX_MODULE_CODE_LINES and path not in DATA_TABLE_MODULES}
    assert over == {}, f"over {MAX_MODULE_CODE_LINES} lines of code: {over}; cut each by concern (see STYLE.md §1)"
    assert all(sizes.get(path, 0) > MAX_MODULE_CODE_LINES for path in DATA_TABLE_MODULES), "remove the entry"

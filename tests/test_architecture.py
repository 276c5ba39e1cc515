"""Layering and published artefacts: kpi_model stays UI-free; the JSON Schema doc is current."""

from __future__ import annotations

import ast
import json
import pkgutil
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

"""Reading a dbt project's semantic-layer YAML: the files, their limits, semantic models and metrics.

The first half of the dbt import (:mod:`kpi_model.importers.dbt` turns what is read here into KPIs):
which files count, the size and alias limits each is read under, every mapping's line for notes that
point into the file, and each metric's KPI id.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kpi_model import documents
from kpi_model.editing import kpi_id_from, slugify, unique_id
from kpi_model.importers.common import ImportFailed, strip_controls
from kpi_model.models import KPI_ID_PATTERN, SOURCE_NAME_PATTERN

DBT_SUFFIXES = (".yml", ".yaml")
# Folders of a dbt project that hold installed packages, build output or tooling, not the project's metrics.
_SKIPPED_FOLDERS = frozenset({"dbt_packages", "dbt_modules", "target", "logs", "node_modules", "venv", ".venv"})
# dbt files legitimately use anchors (&name / *name), so aliases are allowed but their expansion is bounded.
DBT_LIMITS = documents.Limits(
    what="a dbt YAML file",
    hint="dbt semantic-layer YAML is a few levels deep — check that this is a dbt metrics file",
    size_hint="dbt YAML files are small text files — check that this is a dbt metrics file, or split it",
    aliases=True,
    duplicate_keys=True,  # as dbt itself reads them: the last value wins
)


class LineDict(dict[str, Any]):
    """A YAML mapping that remembers the line it starts on (for notes that point into the file)."""

    line: int = 0


class LineLoader(documents.SafeLoader):
    """Safe loader whose mappings carry their line number."""


def _construct_mapping(loader: LineLoader, node: yaml.MappingNode) -> Iterator[LineDict]:
    data = LineDict()
    data.line = node.start_mark.line + 1
    yield data
    data.update({str(key): value for key, value in loader.construct_mapping(node).items()})


LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)  # type: ignore[arg-type]


def line_of(item: Any) -> int:
    """The line a mapping read by :class:`LineLoader` starts on (0 when unknown)."""
    return getattr(item, "line", 0)


@dataclass
class SemanticModel:
    """A semantic model: the table it reads, and its dimensions, entities and measures by name."""

    name: str
    source: str
    file: str
    default_time: str | None
    primary_entity: str | None
    dimensions: dict[str, dict[str, Any]]
    entities: dict[str, dict[str, Any]]
    measures: dict[str, dict[str, Any]]


@dataclass
class MetricEntry:
    """A metric as read: its YAML mapping, where it is, and the KPI id it will get."""

    raw: dict[str, Any]
    file: str
    line: int
    name: str = ""
    kpi_id: str = ""
    synthetic: bool = False  # made from a measure's create_metric: true


def place(file: str, line: int) -> str:
    """``metrics.yml line 12``, or the file alone when the line is unknown."""
    return f"{file} line {line}" if line else file


def yaml_text(value: Any) -> str:
    """A YAML value as text, without control, bidi-override or zero-width characters."""
    if isinstance(value, bool):
        return str(value).lower()
    return strip_controls(str(value)).strip() if value is not None else ""


def filter_list(value: Any) -> list[str]:
    """A dbt ``filter:``, which may be one string or a list of them."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [yaml_text(item) for item in items if yaml_text(item)]


def ref_name(model: Any) -> str | None:
    """``ref('orders')`` / ``ref('pkg', 'orders')`` → ``orders``."""
    found = re.findall(r"""['"]([^'"]+)['"]""", yaml_text(model).split("v=")[0].split("version=")[0])
    return found[-1] if found else None


class DbtProject:
    """The semantic models and metrics of one YAML file or a project folder, with notes about what was skipped."""

    def __init__(self, root: Path, shown_as: str | None = None) -> None:
        self.root = root
        self.shown = shown_as or root.name  # the file's or folder's name as its owner knows it
        self.models: dict[str, SemanticModel] = {}
        self.measures: dict[str, SemanticModel] = {}  # measure name → its model
        self.sources: dict[str, dict[str, Any]] = {}
        self.metrics: list[MetricEntry] = []
        self.by_name: dict[str, MetricEntry] = {}
        self._notes: list[tuple[str, int, int, str]] = []  # (file, line, order, text): reported in file order
        self.taken: set[str] = set()

    # --- reading -------------------------------------------------------------------------

    def files(self) -> list[Path]:
        if self.root.is_file():
            return [self.root]
        found = [
            p
            for p in self.root.rglob("*")
            if p.suffix.lower() in DBT_SUFFIXES
            and p.is_file()
            and not any(part in _SKIPPED_FOLDERS or part.startswith(".") for part in p.relative_to(self.root).parts)
        ]
        return sorted(found)

    def label(self, path: Path) -> str:
        return self.shown if self.root.is_file() else str(path.relative_to(self.root))

    def read(self) -> None:
        for path in self.files():
            file = self.label(path)
            try:
                loaded = documents.load_yaml_all(documents.read_text(path, DBT_LIMITS), DBT_LIMITS, loader=LineLoader)
            except documents.DocumentError as error:
                if error.syntax:
                    where = f" at line {error.line}" if error.line else ""
                    message = f"{file} is not valid YAML{where}: {error.problem} (quote values that start with '{{{{')"
                else:
                    message = f"{place(file, error.line or 0)}: {error.problem}"
                if self.root.is_file():
                    raise ImportFailed(message) from None
                # In a project folder one broken file (often not a metrics file) should not stop the rest.
                self.add_note(file, 0, f"{message}; the file was skipped.")
                continue
            except OSError as error:
                raise ImportFailed(f"cannot read {file}: {error.strerror or error}") from None
            for document in loaded:
                if not isinstance(document, dict):
                    continue
                for raw in document.get("semantic_models") or []:
                    if isinstance(raw, dict):
                        self.add_model(raw, file)
                for raw in document.get("metrics") or []:
                    if isinstance(raw, dict) and raw.get("name"):
                        self.metrics.append(MetricEntry(raw, file, line_of(raw), yaml_text(raw["name"])))

    def add_model(self, raw: dict[str, Any], file: str) -> None:
        name = yaml_text(raw.get("name"))
        where = place(file, line_of(raw))
        table = ref_name(raw.get("model")) or name
        if not raw.get("model"):
            self.add_note(
                file, line_of(raw), f"Semantic model '{name}' ({where}) names no model; its source is '{name}'."
            )
        source = table
        if not re.match(SOURCE_NAME_PATTERN, source) or len(source) > 63:
            source = slugify(table, separator="_")
            source = source if source[0].isalpha() else f"t_{source}"
            self.add_note(
                file,
                line_of(raw),
                f"Semantic model '{name}' ({where}) reads '{table}', which is not a valid source name; "
                f"the source is called '{source}'.",
            )
        if source not in self.sources:
            self.sources[source] = {"name": source, "system": "dbt"}
            if raw.get("description"):
                self.sources[source]["description"] = yaml_text(raw["description"])
        defaults = raw.get("defaults") or {}
        model = SemanticModel(
            name=name,
            source=source,
            file=file,
            default_time=yaml_text(defaults.get("agg_time_dimension")) or None,
            primary_entity=yaml_text(raw.get("primary_entity")) or None,
            dimensions={yaml_text(d.get("name")): d for d in raw.get("dimensions") or [] if isinstance(d, dict)},
            entities={yaml_text(e.get("name")): e for e in raw.get("entities") or [] if isinstance(e, dict)},
            measures={yaml_text(m.get("name")): m for m in raw.get("measures") or [] if isinstance(m, dict)},
        )
        self.models[name] = model
        for measure_name, measure in model.measures.items():
            self.measures[measure_name] = model
            if measure.get("create_metric"):
                synthetic = LineDict(
                    name=measure_name,
                    type="simple",
                    label=measure.get("label") or measure_name,
                    type_params={"measure": measure_name},
                )
                if measure.get("description"):
                    synthetic["description"] = measure["description"]
                synthetic.line = line_of(measure)
                self.metrics.append(MetricEntry(synthetic, file, line_of(measure), measure_name, synthetic=True))

    # --- ids -----------------------------------------------------------------------------

    def assign_ids(self) -> None:
        kept: dict[str, MetricEntry] = {}
        for metric in self.metrics:
            first = kept.get(metric.name)
            if first is None:
                kept[metric.name] = metric
            elif first.synthetic and not metric.synthetic:
                kept[metric.name] = metric  # an explicit metric wins over a measure's create_metric
            else:
                self.note(
                    metric, f"a metric of this name is defined already ({place(first.file, first.line)}); skipped."
                )
        self.by_name = kept
        self.metrics = list(kept.values())
        for metric in self.metrics:
            base = metric.name
            if not re.match(KPI_ID_PATTERN, base) or len(base) > 63:
                base = kpi_id_from(metric.name)
            metric.kpi_id = unique_id(base, self.taken, separator="_")
            self.taken.add(metric.kpi_id)
            if metric.kpi_id != metric.name:
                self.note(metric, f"the name is not a valid KPI id, so the KPI's id is '{metric.kpi_id}'.")

    def helper_id(self, base: str) -> str:
        base = base[:60].rstrip("_")
        chosen = unique_id(base, self.taken, separator="_")
        self.taken.add(chosen)
        return chosen

    def note(self, metric: MetricEntry, text: str) -> None:
        self.add_note(metric.file, metric.line, f"Metric '{metric.name}' ({place(metric.file, metric.line)}): {text}")

    def add_note(self, file: str, line: int, text: str) -> None:
        self._notes.append((file, line, len(self._notes), text))

    @property
    def notes(self) -> list[str]:
        """The notes in the order of the files and lines they are about."""
        return [text for *_, text in sorted(self._notes)]

"""A labelled corpus of realistic KPI sets, audited without data: precision and recall per rule.

Each ``tests/audit_corpus/<name>.yaml`` is a workspace written for a different kind of organisation;
``<name>.labels.yaml`` beside it lists the findings a reader of docs/quality_rules.md expects
(``findings``: ``{slug, kind, id}``, side effects of a flaw included) and the KPIs that must raise
nothing at all (``clean``). The audit runs with a fixed ``today`` and no data, so the data-only
rules (``needs_data``) only report that they were skipped; those notes are left out.

The test compares the set of (slug, kind, id) found with the set labelled, prints a per-slug table
(``pytest -s`` shows it), and requires micro-averaged precision and recall of at least 0.95.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import yaml

from kpi_model.checks import audit, rules
from kpi_model.workspace_file import load

CORPUS = Path(__file__).parent / "audit_corpus"
TODAY = dt.date(2026, 11, 23)
MIN_PRECISION = 0.95
MIN_RECALL = 0.95
MIN_KPIS, MIN_CLEAN, MIN_FLAWS, MIN_PER_SLUG, MIN_FILES = 40, 12, 30, 2, 5
KINDS = {"kpi", "goal", "unit", "source", "workspace"}

Key = tuple[str, str, str, str]  # (file, slug, kind, id)


@dataclass
class CorpusFile:
    """One workspace of the corpus with its labels and what the audit found."""

    name: str
    kpi_ids: list[str]
    labelled: set[Key]
    clean: list[str]
    predicted: set[Key]
    messages: dict[Key, list[str]]


def _workspace_files() -> list[Path]:
    return sorted(p for p in CORPUS.glob("*.yaml") if not p.name.endswith(".labels.yaml"))


def _labels(path: Path) -> tuple[set[Key], list[str]]:
    labels_path = path.with_name(f"{path.stem}.labels.yaml")
    data = yaml.safe_load(labels_path.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and set(data) <= {"findings", "clean"}, f"{labels_path.name}: expected findings/clean"
    slugs = {rule.slug for rule in rules()}
    labelled: set[Key] = set()
    for item in data.get("findings") or []:
        assert set(item) == {"slug", "kind", "id"}, f"{labels_path.name}: label {item} needs slug, kind and id"
        assert item["slug"] in slugs, f"{labels_path.name}: unknown slug {item['slug']!r}"
        assert item["kind"] in KINDS, f"{labels_path.name}: unknown kind {item['kind']!r}"
        key = (path.stem, item["slug"], item["kind"], str(item["id"]))
        assert key not in labelled, f"{labels_path.name}: label {item} given twice"
        labelled.add(key)
    return labelled, list(data.get("clean") or [])


@cache
def corpus() -> tuple[CorpusFile, ...]:
    """Every corpus file, loaded, labelled and audited (once per test session)."""
    data_only = {rule.slug for rule in rules() if rule.needs_data}
    files = []
    for path in _workspace_files():
        workspace = load(path)
        labelled, clean = _labels(path)
        report = audit(workspace, today=TODAY)
        predicted: set[Key] = set()
        messages: dict[Key, list[str]] = {}
        for finding in report.findings:
            if "was not checked" in finding.message:
                assert finding.slug in data_only, finding
                continue
            key = (path.stem, finding.slug, finding.object.kind, finding.object.id)
            predicted.add(key)
            messages.setdefault(key, []).append(f"{finding.severity.value}: {finding.message}")
        files.append(CorpusFile(path.stem, [k.id for k in workspace.kpis], labelled, clean, predicted, messages))
    return tuple(files)


def _all(attribute: str) -> set[Key]:
    return set().union(*(getattr(f, attribute) for f in corpus()))


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 1.0


def score_table() -> tuple[str, float, float]:
    """The per-slug table (TP, FP, FN, precision, recall) and the micro-averaged precision and recall."""
    predicted, labelled = _all("predicted"), _all("labelled")
    tp = Counter(k[1] for k in predicted & labelled)
    fp = Counter(k[1] for k in predicted - labelled)
    fn = Counter(k[1] for k in labelled - predicted)
    order = [rule.slug for rule in rules()]
    slugs = sorted(set(tp) | set(fp) | set(fn), key=lambda s: order.index(s) if s in order else len(order))
    lines = [f"{'slug':28} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} {'recall':>7}"]
    for slug in slugs:
        p, r = _ratio(tp[slug], tp[slug] + fp[slug]), _ratio(tp[slug], tp[slug] + fn[slug])
        lines.append(f"{slug:28} {tp[slug]:4} {fp[slug]:4} {fn[slug]:4} {p:9.2f} {r:7.2f}")
    total_tp, total_fp, total_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    precision, recall = _ratio(total_tp, total_tp + total_fp), _ratio(total_tp, total_tp + total_fn)
    lines.append(f"{'overall (micro)':28} {total_tp:4} {total_fp:4} {total_fn:4} {precision:9.2f} {recall:7.2f}")
    by_key = {k: m for f in corpus() for k, m in f.messages.items()}
    for title, keys in (("false positives (found, not labelled)", predicted - labelled),
                        ("false negatives (labelled, not found)", labelled - predicted)):  # fmt: skip
        if keys:
            lines.append(f"{title}:")
            for key in sorted(keys):
                lines.append(f"  {key[0]}: {key[1]} {key[2]} {key[3]}")
                lines += [f"      {m}" for m in by_key.get(key, [])]
    return "\n".join(lines), precision, recall


def test_corpus_is_big_and_varied_enough() -> None:
    files = corpus()
    assert len(files) >= MIN_FILES, f"{len(files)} corpus files; write at least {MIN_FILES}"
    kpis = sum(len(f.kpi_ids) for f in files)
    clean = sum(len(f.clean) for f in files)
    labelled = _all("labelled")
    assert kpis >= MIN_KPIS, f"{kpis} KPIs in the corpus; at least {MIN_KPIS} wanted"
    assert clean >= MIN_CLEAN, f"{clean} clean KPIs; at least {MIN_CLEAN} wanted"
    assert len(labelled) >= MIN_FLAWS, f"{len(labelled)} labelled findings; at least {MIN_FLAWS} wanted"
    per_slug = Counter(k[1] for k in labelled)
    static = [rule.slug for rule in rules() if not rule.needs_data]
    thin = {slug: per_slug[slug] for slug in static if per_slug[slug] < MIN_PER_SLUG}
    assert not thin, f"slugs labelled fewer than {MIN_PER_SLUG} times: {thin}"
    data_only = {rule.slug for rule in rules() if rule.needs_data}
    assert not data_only & set(per_slug), "data-only rules cannot be labelled in a corpus audited without data"
    for f in files:
        unknown = [k for k in f.clean if k not in f.kpi_ids]
        assert not unknown, f"{f.name}: clean KPIs {unknown} are not in the workspace"
        assert not [k for k in f.labelled if k[2] == "kpi" and k[3] in f.clean], f"{f.name}: a clean KPI is labelled"


@pytest.mark.parametrize("name", [p.stem for p in _workspace_files()])
def test_clean_kpis_raise_nothing(name: str) -> None:
    found = next(f for f in corpus() if f.name == name)
    noisy = {key: found.messages[key] for key in sorted(found.predicted) if key[2] == "kpi" and key[3] in found.clean}
    assert not noisy, f"{name}: findings on clean KPIs: {noisy}"


def test_precision_and_recall_per_slug() -> None:
    table, precision, recall = score_table()
    print(f"\nAudit corpus ({len(corpus())} files, today = {TODAY.isoformat()}, no data)\n{table}")
    assert precision >= MIN_PRECISION, f"precision {precision:.2f} < {MIN_PRECISION}\n{table}"
    assert recall >= MIN_RECALL, f"recall {recall:.2f} < {MIN_RECALL}\n{table}"

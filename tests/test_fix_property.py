"""Every fix the audit can apply by itself (``Finding.patch``) must fix its finding and break nothing else.

For each workspace of the labelled corpus, the bundled sample, a register written in words and
the imported registers of ``tests/register_corpus``,
each patched finding is applied to a copy and the copy audited again: the finding must be gone
and the KPI must have no finding it did not have before (by rule, severity and group).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
import yaml

from kpi_model.checks import Finding, audit
from kpi_model.checks.base import apply_patch
from kpi_model.importers import import_file
from kpi_model.models import Workspace
from kpi_model.workspace_file import load

from .conftest import SAMPLE_WORKSPACE
from .rule_builders import kpi_in_words, register

TODAY = dt.date(2026, 11, 23)
CORPUS = Path(__file__).parent / "audit_corpus"
REGISTERS = Path(__file__).parent / "register_corpus"
# Enough patched findings that the property is tested on real cases, not vacuously.
MIN_PATCHES = 10


def _register() -> Workspace:
    """A register with one patchable flaw per KPI (thresholds, direction, due date, review date)."""
    due = "2027-12-31"
    return register(
        kpi_in_words(
            "otd",
            "On-time delivery",
            target={"value": 0.98, "due": due},
            thresholds={"warning": 0.97, "critical": 0.99},
        ),
        kpi_in_words("fpy", "First pass yield", thresholds={"warning": 0.88, "critical": 0.92}),
        kpi_in_words(
            "scrap",
            "Scrap rate",
            direction=None,
            baseline={"value": 0.05},
            target={"value": 0.03, "due": due},
            thresholds={"warning": 0.04, "critical": 0.06},
        ),
        kpi_in_words("oee", "OEE", target={"value": 0.85}, goal="grow"),
        kpi_in_words(
            "rework",
            "Rework hours",
            review_date="2027-11-01",
            unit_of_measure="count",
            direction="down",
            baseline={"value": 400},
            target={"value": 300, "due": due},
            thresholds={"warning": 350, "critical": 420},
        ),
        kpi_in_words(
            "returns",
            "Return rate",
            direction="up",
            baseline={"value": 0.05},
            target={"value": 0.03, "due": due},
            thresholds={"warning": 0.04, "critical": 0.06},
        ),
        kpi_in_words(
            "band",
            "Stock coverage days",
            direction=None,
            baseline={"value": 20},
            target={"low": 15, "high": 25},
            thresholds=None,
            unit_of_measure="duration",
        ),
    )


@cache
def workspaces() -> dict[str, Workspace]:
    found = {p.stem: load(p) for p in sorted(CORPUS.glob("*.yaml")) if not p.name.endswith(".labels.yaml")}
    found["sample"] = load(SAMPLE_WORKSPACE)
    found["register"] = _register()
    for key in sorted(REGISTERS.glob("*.key.yaml")):  # the registers as imported, with their real flaws
        file = yaml.safe_load(key.read_text(encoding="utf-8"))["file"]
        found[f"register:{file}"] = import_file(REGISTERS / file).workspace
    return found


def _kpi_findings(ws: Workspace, kpi_id: str) -> list[Finding]:
    return [f for f in audit(ws, today=TODAY).findings if f.object.kind == "kpi" and f.object.id == kpi_id]


def _key(finding: Finding) -> tuple[str, str, str | None]:
    return finding.slug, finding.severity.value, finding.group


@cache
def patched() -> list[tuple[str, Finding]]:
    return [
        (name, f) for name, ws in workspaces().items() for f in audit(ws, today=TODAY).findings if f.patch is not None
    ]


def test_there_are_patches_to_check() -> None:
    assert len(patched()) >= MIN_PATCHES, [(n, f.slug, f.object.id) for n, f in patched()]
    assert {f.slug for _, f in patched()} >= {"threshold-order", "not-actionable", "target-not-time-bound"}


@pytest.mark.parametrize(
    ("name", "finding"), patched(), ids=lambda x: x if isinstance(x, str) else f"{x.slug}-{x.object.id}"
)
def test_an_applied_patch_fixes_its_finding_and_adds_none(name: str, finding: Finding) -> None:
    ws = workspaces()[name]
    before = _kpi_findings(ws, finding.object.id)
    after = _kpi_findings(apply_patch(ws, finding), finding.object.id)
    assert finding.message not in [f.message for f in after], f"{finding.patch} left the finding"
    remaining = Counter(_key(f) for f in before)
    remaining[_key(finding)] -= 1
    new = Counter(_key(f) for f in after) - remaining
    assert not new, f"{finding.patch} on {finding.object.id} created {new}: {[f.message for f in after]}"

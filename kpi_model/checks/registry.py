"""The explicit list of quality rules, in id order. Adding a rule means adding it here."""

from __future__ import annotations

from kpi_model.checks import data_rules, leadlag, semantics, structure, targets
from kpi_model.checks.base import Rule

REGISTRY: list[Rule] = sorted(
    [*structure.RULES, *targets.RULES, *semantics.RULES, *data_rules.RULES, *leadlag.RULES], key=lambda rule: rule.id
)

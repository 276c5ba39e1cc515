"""The explicit list of quality rules, in id order. Adding a rule means adding it here."""

from __future__ import annotations

from kpi_model.checks import (
    balance,
    conflicts,
    data_rules,
    duplicates,
    leadlag,
    scenarios,
    structure,
    targets,
    vanity,
)
from kpi_model.checks.base import Rule

REGISTRY: list[Rule] = sorted(
    [
        *structure.RULES,
        *scenarios.RULES,
        *targets.RULES,
        *vanity.RULES,
        *balance.RULES,
        *conflicts.RULES,
        *duplicates.RULES,
        *data_rules.RULES,
        *leadlag.RULES,
    ],
    key=lambda rule: rule.id,
)

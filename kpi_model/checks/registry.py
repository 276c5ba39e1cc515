"""The explicit list of quality rules, in id order. Adding a rule means adding it here."""

from __future__ import annotations

from kpi_model.checks import (
    actionable,
    balance,
    cadence,
    conflicts,
    data_quality,
    duplicates,
    formulas,
    leadlag,
    pairing,
    scenarios,
    small_sample,
    structure,
    targets,
    thresholds,
    vanity,
)
from kpi_model.checks.base import Rule

REGISTRY: list[Rule] = sorted(
    [
        *structure.RULES,
        *formulas.RULES,
        *cadence.RULES,
        *scenarios.RULES,
        *targets.RULES,
        *thresholds.RULES,
        *actionable.RULES,
        *pairing.RULES,
        *vanity.RULES,
        *balance.RULES,
        *conflicts.RULES,
        *duplicates.RULES,
        *small_sample.RULES,
        *data_quality.RULES,
        *leadlag.RULES,
    ],
    key=lambda rule: rule.id,
)

"""Quality rules (being written)."""

from __future__ import annotations

from kpi_model.checks.base import Rule

RULES: list[Rule] = []

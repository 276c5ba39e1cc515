"""A small evaluator for a derived KPI's checked sqlglot tree: arithmetic with SQL's NULL rules, never ``eval``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from kpi_model.errors import WhatIfError

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = ["evaluate_expression"]

_SUPPORTED = "+, -, *, /, parentheses, numbers, KPI ids, nullif, coalesce, greatest, least and abs"


def evaluate_expression(node: exp.Expr, value_of: Callable[[str], float | None], kpi_id: str) -> float | None:
    """Evaluate an arithmetic tree with SQL's NULL rules: x / 0 is NULL (the compiler's NULLIF)."""
    from sqlglot import exp

    def ev(item: exp.Expr) -> float | None:
        if isinstance(item, exp.Paren):
            return ev(item.this)
        if isinstance(item, exp.Literal):
            if item.is_string:
                raise WhatIfError(f"KPI '{kpi_id}': text '{item.this}' cannot be evaluated as a number")
            return float(item.this)
        if isinstance(item, exp.Null):
            return None
        if isinstance(item, exp.Column):
            return value_of(item.name)
        if isinstance(item, exp.Neg):
            inner = ev(item.this)
            return None if inner is None else -inner
        if isinstance(item, exp.Abs):
            inner = ev(item.this)
            return None if inner is None else abs(inner)
        if isinstance(item, (exp.Add, exp.Sub, exp.Mul, exp.Div)):
            left, right = ev(item.this), ev(item.expression)
            if left is None or right is None:
                return None
            if isinstance(item, exp.Add):
                return left + right
            if isinstance(item, exp.Sub):
                return left - right
            if isinstance(item, exp.Mul):
                return left * right
            return None if right == 0 else left / right
        if isinstance(item, exp.Nullif):
            left, right = ev(item.this), ev(item.expression)
            return None if left is None or (right is not None and left == right) else left
        if isinstance(item, (exp.Coalesce, exp.Greatest, exp.Least)):
            arguments = [item.this, *item.expressions]
            if isinstance(item, exp.Coalesce):
                for argument in arguments:  # lazily, like SQL: later arguments may not be needed
                    found = ev(argument)
                    if found is not None:
                        return found
                return None
            # DuckDB's greatest/least skip NULLs; they are NULL only when every argument is.
            present = [v for v in (ev(a) for a in arguments) if v is not None]
            if not present:
                return None
            return max(present) if isinstance(item, exp.Greatest) else min(present)
        name = item.sql_name().lower() if isinstance(item, exp.Func) else type(item).__name__
        raise WhatIfError(f"KPI '{kpi_id}': '{name}' cannot be evaluated in a what-if; it supports {_SUPPORTED}")

    try:
        result = ev(node)
    except RecursionError:
        raise WhatIfError(f"KPI '{kpi_id}': the formula is nested too deeply to evaluate") from None
    except OverflowError:
        return None
    return result if result is None or math.isfinite(result) else None

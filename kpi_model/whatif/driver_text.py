"""A driver's values, changes and domain in words, and the domain rule a moved driver is judged by.

Every driver table and message writes numbers in the KPI's unit with one minus sign (:data:`MINUS`),
so a scenario, a goal-seek and the Drivers page say ``Orders +10%`` and ``−0.74%`` alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from kpi_model.models import DriverChange, Kpi, Workspace
from kpi_model.whatif.projection import Domain, kpi_domain

__all__ = [
    "MINUS",
    "change_text",
    "describe_change",
    "domain_text",
    "domain_warnings",
    "driver_domain",
    "driver_domain_rule",
    "signed",
    "value_text",
]

# One minus sign in every driver table and message: the typographic one that
# :func:`~kpi_model.whatif.target_result.format_change` writes, never a hyphen beside it.
MINUS = "\u2212"


def driver_domain_rule(kpi: Kpi | None) -> Domain:
    """The values a driver can take and why: the same rule as the target preview's (:func:`kpi_domain`).

    Rates 0–100 %, counts and durations ≥ 0, an amount such as revenue or a cost ≥ 0, while a net
    figure, cash, margin or profit (named so) may be negative; scores and unitless KPIs are unbounded.
    """
    if kpi is None:
        return Domain(None, None, "no bounds known for this unit")
    return kpi_domain(kpi)


def driver_domain(kpi: Kpi | None) -> tuple[float, float]:
    """:func:`driver_domain_rule` as ``(low, high)``, infinite where unbounded."""
    rule = driver_domain_rule(kpi)
    return (-math.inf if rule.low is None else rule.low, math.inf if rule.high is None else rule.high)


def signed(text: str) -> str:
    """``text`` with a leading hyphen-minus written as the minus sign every driver message uses."""
    return MINUS + text[1:] if text.startswith("-") else text


def value_text(kpi: Kpi | None, value: float | None) -> str:
    """A driver's value in its KPI's unit (``−40.00``, ``12.0%``), with the one minus sign."""
    from kpi_model.status import format_value, kpi_value

    return signed(kpi_value(kpi, value) if kpi is not None else format_value(value, None))


def change_text(fraction: float | None, digits: int = 1) -> str:
    """A relative change as ``+10.0%`` or ``−0.74%``; ``—`` when it has none."""
    return "—" if fraction is None else signed(f"{fraction:+.{digits}%}")


def domain_text(domain: tuple[float, float], kpi: Kpi | None) -> str:
    """``0.0% to 100.0%``, ``0 or more``, ``any number``: a domain in the KPI's unit."""
    low, high = domain
    if math.isinf(low) and math.isinf(high):
        return "any number"
    if math.isinf(high):
        return f"{value_text(kpi, low)} or more"
    if math.isinf(low):
        return f"{value_text(kpi, high)} or less"
    return f"{value_text(kpi, low)} to {value_text(kpi, high)}"


def describe_change(change: DriverChange, kpi: Kpi | None) -> str:
    """A change in words people read: ``Orders +10%``, ``Average order value +5.00``, ``Win rate = 12.0%``.

    The KPI's name, not its id, and amounts in its unit (a rate's amount in percentage points).
    """
    name = kpi.name if kpi is not None else change.kpi
    percent = kpi is not None and kpi.unit_of_measure == "percent"
    if change.relative is not None:
        return f"{name} {signed(f'{change.relative * 100:+.4g}%')}"
    if change.add is not None:
        if percent:
            return f"{name} {signed(f'{change.add * 100:+.4g} pp')}"
        shown = value_text(kpi, abs(change.add))
        return f"{name} {'+' if change.add >= 0 else MINUS}{shown}"
    return f"{name} = {value_text(kpi, change.value)}"


def domain_warnings(
    workspace: Workspace,
    changes: Sequence[DriverChange],
    values: Mapping[str, tuple[float | None, float | None]],
) -> list[str]:
    """One sentence per moved driver whose new value (``values[id][1]``) lies outside its domain.

    The sentence names the driver, its value and what it can be, so a −150 % on a price or a
    negative count is never shown as if it were a result.
    """
    warnings = []
    for change in changes:
        moved = values.get(change.kpi, (None, None))[1]
        kpi = workspace.kpi(change.kpi)
        rule = driver_domain_rule(kpi)
        if moved is None or rule.contains(moved):
            continue
        name = kpi.name if kpi is not None else change.kpi
        warnings.append(
            f"'{name}' moved to {value_text(kpi, moved)} is outside what it can be "
            f"({domain_text(driver_domain(kpi), kpi)}; {rule.reason}), so the values above it are no real outcome: "
            "type a smaller change"
        )
    return warnings

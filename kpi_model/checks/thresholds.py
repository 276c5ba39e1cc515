"""KPI023 threshold-order: do warning and critical fit the target and the direction?

Red (critical) must come below amber (warning) and both at or below the target for a KPI that
should go up; the mirror image for one that should go down (:mod:`kpi_model.checks.target_facts`).
"""

from __future__ import annotations

from collections.abc import Iterator

from kpi_model.checks.base import AuditContext, Finding, Rule, Severity
from kpi_model.checks.target_facts import candidate_directions, fits, lines, proposal
from kpi_model.checks.wording import is_percent, kpi_label, shown, typed
from kpi_model.models import Direction, Kpi


def _problems(
    direction: Direction, target: float | None, warning: float | None, critical: float | None, percent: bool = False
) -> list[str]:
    """What is wrong with the thresholds for this direction, in words (empty when they fit)."""

    def num(value: float) -> str:
        return shown(value, percent)

    up = direction == Direction.UP
    sign, below, above = (1, "below", "above") if up else (-1, "above", "below")
    found = []
    if warning is not None and critical is not None:
        if critical == warning:
            found.append(f"warning and critical are both {num(warning)}, so there is no amber zone")
        elif sign * critical > sign * warning:
            found.append(
                f"the thresholds are swapped: critical {num(critical)} is {above} warning {num(warning)}, but red "
                f"must come {below} amber"
            )
    if target is not None:
        beyond = [f"warning {num(warning)}"] if warning is not None and sign * warning > sign * target else []
        red = critical is not None and sign * critical >= sign * target
        beyond += [f"critical {num(critical)}"] if critical is not None and red else []
        if beyond:
            verb = "are" if len(beyond) > 1 else "is"
            side = f"{above} or at" if critical is not None and critical == target else above
            found.append(
                f"{' and '.join(beyond)} {verb} {side} the target {num(target)}, so it shows "
                f"{'red' if red else 'amber'} even when it reaches its target"
            )
    return found


def _order_rule(direction: Direction, target: float | None, percent: bool = False) -> str:
    at = f"the target {shown(target, percent)}" if target is not None else ""
    if direction == Direction.UP:
        return "red below amber" + (f", both at or below {at}" if at else "")
    return "red above amber" + (f", both at or above {at}" if at else "")


def _threshold_fix(kpi: Kpi, direction: Direction) -> tuple[str, dict[str, object] | None]:
    """A fix that fits the target and direction, with its patch when it is concrete."""
    target, warning, critical = lines(kpi)
    better = proposal(direction, target, warning, critical)
    percent = is_percent(kpi)
    rule = f"for direction {direction.value}: {_order_rule(direction, target, percent)}"
    if better is None:
        return f"move the thresholds: {rule}", None
    new_warning, new_critical = better
    if (new_warning, new_critical) == (critical, warning):
        text = f"swap them: warning {typed(critical, percent)}, critical {typed(warning, percent)}"  # type: ignore[arg-type]
    else:
        parts = [
            f"{name} {typed(v, percent)}"
            for name, v in (("warning", new_warning), ("critical", new_critical))
            if v is not None
        ]
        text = f"set {', '.join(parts)}"
    fixed = {k: v for k, v in (("warning", new_warning), ("critical", new_critical)) if v is not None}
    kept = kpi.thresholds.model_dump(mode="json", exclude_none=True) if kpi.thresholds else {}
    return f"{text} ({rule})", {"thresholds": kept | fixed}


def _threshold_order(ctx: AuditContext) -> Iterator[Finding]:
    for kpi in ctx.workspace.kpis:
        target, warning, critical = lines(kpi)
        if warning is None and critical is None:
            continue  # nothing to order
        label = kpi_label(kpi)
        if kpi.direction == Direction.RANGE:
            band = kpi.target
            if band is None or band.low is None or band.high is None:
                yield THRESHOLD_ORDER.on_kpi(
                    kpi,
                    f"KPI {label} stays inside a range but has thresholds and no complete range (low and high): "
                    "the thresholds have nothing to be read against",
                    "set target low and high; a range KPI is red outside them, so the thresholds can go",
                    severity=Severity.INFO,
                )
            continue
        candidates = candidate_directions(kpi)
        if any(fits(d, target, warning, critical) for d in candidates):
            continue  # in order for its direction, or for a direction it may mean (no guessing)
        if len(candidates) == 1:
            direction = candidates[0]
            problems = _problems(direction, target, warning, critical, is_percent(kpi))
            side = "above" if direction == Direction.UP else "below"
            why = f"should go {direction.value}" if kpi.direction is not None else f"has its target {side} its baseline"
            fix, patch = _threshold_fix(kpi, direction)
            yield THRESHOLD_ORDER.on_kpi(
                kpi, f"KPI {label} {why}, but its thresholds do not fit: {'; and '.join(problems)}", fix, patch=patch
            )
            continue
        up, down = (_problems(d, target, warning, critical, is_percent(kpi)) for d in (Direction.UP, Direction.DOWN))
        yield THRESHOLD_ORDER.on_kpi(
            kpi,
            f"KPI {label} has thresholds that fit no direction: {'; '.join(up)} if higher is better, and "
            f"{'; '.join(down)} if lower is better",
            f"set the direction, then {_threshold_fix(kpi, Direction.UP)[0]}, or "
            f"{_threshold_fix(kpi, Direction.DOWN)[0]}",
        )


THRESHOLD_ORDER = Rule(
    id="KPI023",
    slug="threshold-order",
    severity=Severity.WARNING,
    rationale="Thresholds in the wrong order, or on the wrong side of the target, show red when all is well, or "
    "green when it is not. Without a direction they are judged only when they fit neither way.",
    example="KPI 'Web conversion rate' (up) with target 0.045, warning 0.05 and critical 0.033.",
    fix="For 'up' keep critical < warning ≤ target; for 'down', critical > warning ≥ target.",
    check=_threshold_order,
)

RULES: list[Rule] = [THRESHOLD_ORDER]

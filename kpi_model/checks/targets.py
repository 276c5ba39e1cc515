"""Target rules (KPI020–KPI022): does every KPI have a baseline and a dated target on its better side?

They read the workspace only (no data): target, baseline, direction and thresholds, any of which
may be missing in a draft. KPI023 (thresholds) is in :mod:`kpi_model.checks.thresholds`, KPI024 in
:mod:`kpi_model.checks.actionable` and KPI025 in :mod:`kpi_model.checks.pairing`.
"""

from __future__ import annotations

from collections.abc import Iterator

from kpi_model.checks.base import AuditContext, Finding, Rule, Severity
from kpi_model.checks.names import rating_without_scale
from kpi_model.checks.target_facts import fits, lines
from kpi_model.checks.wording import is_percent, kpi_label, shown, typed
from kpi_model.completeness import has_target
from kpi_model.models import Direction, Kpi


def _target_text(kpi: Kpi) -> str:
    target = kpi.target
    if target is None:
        return "none"
    percent = is_percent(kpi)
    if target.value is not None:
        return shown(target.value, percent)
    low = shown(target.low, percent) if target.low is not None else "?"
    return f"{low}–{shown(target.high, percent) if target.high is not None else '?'}"


# ---------------------------------------------------------------- KPI020 missing-target

# Where a target lies from the baseline when it asks for better.
_TOWARD_BETTER: dict[Direction | None, str] = {Direction.UP: "above", Direction.DOWN: "below"}


def _missing_target(ctx: AuditContext) -> Iterator[Finding]:
    for kpi in ctx.workspace.kpis:
        label, baseline = kpi_label(kpi), kpi.baseline
        if rating_without_scale(kpi):
            continue  # without a scale there is nothing to set a target on: qualitative-without-scale says so
        if not has_target(kpi):
            if kpi.direction == Direction.RANGE:
                missing = [n for n in ("low", "high") if kpi.target is None or getattr(kpi.target, n) is None]
                yield MISSING_TARGET.on_kpi(
                    kpi,
                    f"KPI {label} should stay inside a range but has no target {' or '.join(missing)}: a KPI without "
                    "a target is a number to watch, not to manage",
                    "set target low and high (the band it should stay in)"
                    + (f", e.g. around the baseline {typed(baseline.value, is_percent(kpi))}" if baseline else ""),
                )
            else:
                hint = ""
                if baseline is not None:
                    side = _TOWARD_BETTER.get(kpi.direction, "away from")
                    hint = f", {side} the baseline {typed(baseline.value, is_percent(kpi))}"
                yield MISSING_TARGET.on_kpi(
                    kpi,
                    f"KPI {label} has no target value: a KPI without a target is a number to watch, not to manage",
                    f"set the value it should reach{hint}, and by when",
                )
        if baseline is None:
            yield MISSING_TARGET.on_kpi(
                kpi,
                f"KPI {label} has no baseline: nobody can tell whether its target "
                f"({_target_text(kpi)}) is ambitious, timid or already met",
                "record today's value and the period it was measured in, e.g. baseline {value: …, period: 2026-10}",
                severity=Severity.WARNING,
            )


MISSING_TARGET = Rule(
    id="KPI020",
    slug="missing-target",
    severity=Severity.ERROR,
    rationale="A KPI without a target is a number to watch, not to manage; without a baseline the target is a guess.",
    example="KPI 'Web shop sessions' with a baseline of 10359 and no target.",
    fix="Set a target value (low and high for a range) and record the baseline it is judged against.",
    check=_missing_target,
)


# ---------------------------------------------------------------- KPI021 target-not-time-bound


def _target_not_time_bound(ctx: AuditContext) -> Iterator[Finding]:
    for kpi in ctx.workspace.kpis:
        target = kpi.target
        if target is None or (target.value is None and target.low is None and target.high is None):
            continue  # no target at all is KPI020's
        label = kpi_label(kpi)
        if target.due is None:
            goal = ctx.goal_of(kpi)
            hint = f", e.g. the goal's due date {goal.due.isoformat()}" if goal and goal.due else ""
            # The goal's date is a concrete fix only while it lies ahead (a past one is noted again).
            due = goal.due if goal and goal.due and goal.due >= ctx.today else None
            patch = (
                {"target": target.model_dump(mode="json", exclude_none=True) | {"due": due.isoformat()}}
                if due
                else None
            )
            yield TARGET_NOT_TIME_BOUND.on_kpi(
                kpi,
                f"KPI {label} has target {_target_text(kpi)} but no due date: without one it can never be missed",
                f"add target due, the date by which it must be reached{hint}",
                patch=patch,
            )
        elif target.due < ctx.today:
            days = (ctx.today - target.due).days
            yield TARGET_NOT_TIME_BOUND.on_kpi(
                kpi,
                f"KPI {label}: its target {_target_text(kpi)} was due on {target.due.isoformat()}, {days} days ago",
                "record whether it was met, then set the next target and its due date",
                severity=Severity.INFO,
            )


TARGET_NOT_TIME_BOUND = Rule(
    id="KPI021",
    slug="target-not-time-bound",
    severity=Severity.WARNING,
    rationale="A target without a date can never be missed, so it never drives action (a date already past "
    "is noted too: the target needs renewing).",
    example="KPI 'Warehouse machine utilisation' with target {value: 0.9} and no due.",
    fix="Add the date by which the target must be reached (often the goal's due date).",
    check=_target_not_time_bound,
)


# ---------------------------------------------------------------- KPI022 target-direction


def _target_direction(ctx: AuditContext) -> Iterator[Finding]:
    for kpi in ctx.workspace.kpis:
        direction = kpi.direction
        target = kpi.target.value if kpi.target else None
        baseline = kpi.baseline.value if kpi.baseline else None
        # A range only asks to get inside [low, high]; a baseline outside it is the point.
        if direction not in (Direction.UP, Direction.DOWN) or target is None or baseline is None:
            continue
        label, percent = kpi_label(kpi), is_percent(kpi)
        if target == baseline:
            yield TARGET_DIRECTION.on_kpi(
                kpi,
                f"KPI {label}: its target {shown(target, percent)} equals its baseline, so it asks for no change",
                f"set a target {'above' if direction == Direction.UP else 'below'} {typed(baseline, percent)}, or, "
                "if holding "
                "the level is the goal, make it direction: range with low and high around it",
                severity=Severity.WARNING,
            )
        elif (direction == Direction.UP and target < baseline) or (direction == Direction.DOWN and target > baseline):
            worse = "below" if direction == Direction.UP else "above"
            fix, patch = _direction_fix(kpi, direction, baseline)
            yield TARGET_DIRECTION.on_kpi(
                kpi,
                f"KPI {label} should go {direction.value}, but its target {shown(target, percent)} is "
                f"{worse} its baseline {shown(baseline, percent)}: reaching it means getting worse",
                fix,
                patch=patch,
            )


def _direction_fix(kpi: Kpi, direction: Direction, baseline: float) -> tuple[str, dict[str, object] | None]:
    """The fix for a target on the wrong side: the thresholds tell which of target and direction slipped."""
    target, warning, critical = lines(kpi)
    other = Direction.DOWN if direction == Direction.UP else Direction.UP
    better = "above" if direction == Direction.UP else "below"
    drawn = warning is not None or critical is not None
    fits_now, fits_other = fits(direction, None, warning, critical), fits(other, target, warning, critical)
    flip = f"set direction: {other.value} if {'lower' if direction == Direction.UP else 'higher'} is better"
    if drawn and fits_other and not fits_now:
        return f"{flip} (its thresholds are drawn for direction {other.value})", {"direction": other.value}
    # A new target must also clear the warning line, or the KPI shows amber at its target.
    bound = warning if warning is not None else critical
    beyond = max(baseline, bound) if direction == Direction.UP and bound is not None else baseline
    if direction == Direction.DOWN and bound is not None:
        beyond = min(baseline, bound)
    percent = is_percent(kpi)
    move = f"set a target {better} {typed(beyond, percent)}" + (
        f" (its baseline {shown(baseline, percent)} and its thresholds say so)" if beyond != baseline or drawn else ""
    )
    if drawn and fits_now:
        return f"{move}; its thresholds are drawn for direction {direction.value}, so the direction stands", None
    return f"{move}, or {flip}", None


TARGET_DIRECTION = Rule(
    id="KPI022",
    slug="target-direction",
    severity=Severity.ERROR,
    rationale="A target on the wrong side of the baseline rewards getting worse; one equal to the baseline asks "
    "for no change (a warning: say so if holding the level is the point).",
    example="KPI 'Discount rate' (direction down) with baseline 0.078 and target 0.09.",
    fix="Move the target to the better side of the baseline, or correct the direction.",
    check=_target_direction,
)


RULES: list[Rule] = [MISSING_TARGET, TARGET_NOT_TIME_BOUND, TARGET_DIRECTION]

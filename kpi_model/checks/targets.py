"""Target rules (KPI020–KPI025): is every KPI managed toward a dated target by someone who can act?

They read the workspace only (no data): target, baseline, direction, thresholds, owner, action
and the leading/lagging structure. Any of those may be missing in a draft.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from kpi_model.checks.base import PAIRING_FIELD, AuditContext, Finding, Rule, Severity
from kpi_model.checks.names import (
    goal_label,
    kpi_label,
    leading_example,
    owner_role,
    rating_without_scale,
    words_of,
)
from kpi_model.checks.thresholds import THRESHOLD_ORDER, fits, implied_direction, is_percent, lines, shown, typed
from kpi_model.completeness import has_target
from kpi_model.models import Direction, Kind, Kpi, Unit


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


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


def _missing_target(ctx: AuditContext) -> Iterator[Finding]:
    for kpi in ctx.workspace.kpis:
        label, baseline = kpi_label(kpi), kpi.baseline
        if rating_without_scale(kpi):
            continue  # without a scale there is nothing to set a target on: qualitative-without-scale says so
        if not has_target(kpi):
            if kpi.direction == Direction.RANGE:
                missing = [n for n in ("low", "high") if kpi.target is None or getattr(kpi.target, n) is None]
                yield MISSING_TARGET.finding(
                    "kpi", kpi.id,
                    f"KPI {label} should stay inside a range but has no target {' or '.join(missing)}: a KPI without "
                    "a target is a number to watch, not to manage",
                    "set target low and high (the band it should stay in)"
                    + (f", e.g. around the baseline {typed(baseline.value, is_percent(kpi))}" if baseline else ""),
                )  # fmt: skip
            else:
                hint = ""
                if baseline is not None:
                    side = (
                        "above"
                        if kpi.direction == Direction.UP
                        else "below"
                        if kpi.direction == Direction.DOWN
                        else "away from"
                    )
                    hint = f", {side} the baseline {typed(baseline.value, is_percent(kpi))}"
                yield MISSING_TARGET.finding(
                    "kpi", kpi.id,
                    f"KPI {label} has no target value: a KPI without a target is a number to watch, not to manage",
                    f"set the value it should reach{hint}, and by when",
                )  # fmt: skip
        if baseline is None:
            yield MISSING_TARGET.finding(
                "kpi", kpi.id,
                f"KPI {label} has no baseline: nobody can tell whether its target "
                f"({_target_text(kpi)}) is ambitious, timid or already met",
                "record today's value and the period it was measured in, e.g. baseline {value: …, period: 2026-10}",
                severity=Severity.WARNING,
            )  # fmt: skip


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
                kpi, f"KPI {label} has target {_target_text(kpi)} but no due date: without one it can never be missed",
                f"add target due, the date by which it must be reached{hint}", patch=patch,
            )  # fmt: skip
        elif target.due < ctx.today:
            days = (ctx.today - target.due).days
            yield TARGET_NOT_TIME_BOUND.finding(
                "kpi", kpi.id,
                f"KPI {label}: its target {_target_text(kpi)} was due on {target.due.isoformat()}, {days} days ago",
                "record whether it was met, then set the next target and its due date",
                severity=Severity.INFO,
            )  # fmt: skip


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
            yield TARGET_DIRECTION.finding(
                "kpi", kpi.id,
                f"KPI {label}: its target {shown(target, percent)} equals its baseline, so it asks for no change",
                f"set a target {'above' if direction == Direction.UP else 'below'} {typed(baseline, percent)}, or, "
                "if holding "
                "the level is the goal, make it direction: range with low and high around it",
                severity=Severity.WARNING,
            )  # fmt: skip
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


# ---------------------------------------------------------------- KPI024 not-actionable


def _norm(name: str | None) -> str:
    return (name or "").strip().casefold()


_BETTER = {
    Direction.UP: "(higher is better)",
    Direction.DOWN: "(lower is better)",
    Direction.RANGE: "(stay inside low–high)",
}


def _implied_because(kpi: Kpi, implied: Direction) -> str:
    """Why a direction is implied, naming only what the KPI has: a band, thresholds, a target beside a baseline."""
    if implied == Direction.RANGE:
        return "its target is a band"
    has_lines = kpi.thresholds is not None and (kpi.thresholds.warning, kpi.thresholds.critical) != (None, None)
    said = ["its target beside its baseline"] if kpi.baseline is not None else ["its target"]
    evidence = [*said, "its thresholds"] if has_lines else said
    return f"{' and '.join(evidence)} {'say' if len(evidence) > 1 else 'says'} so"


# A chief's title names a function; the unit of that name is the one the chief heads.
_CHIEF_OF = {
    "cfo": ("finance", "finanzen", "controlling", "accounting"),
    "coo": ("operations", "betrieb"),
    "cmo": ("marketing",),
    "cto": ("engineering", "technology", "it"),
    "cio": ("it", "information technology"),
    "chro": ("hr", "human resources", "people", "personal"),
    "cro": ("sales", "revenue"),
}
# How a register writes the head of a unit: "Head of Sales", "VP Sales", "Leitung Vertrieb" …
_HEAD_OF = re.compile(
    r"^(?:head of|vp of|vp|vice president of|vice president|director of|chief|leitung|leiter|leiterin|bereichsleitung)"
    r" (?P<unit>.+)$|^(?P<unit2>.+) (?:director|lead|leitung)$"
)


def _units_headed_by(owner: str | None, units: Sequence[Unit]) -> list[str]:
    """The units whose head the owner's title names exactly ("Head of Sales", "CFO"), by id."""
    title = words_of(owner)
    by_name = {words_of(u.name): u.id for u in units}
    if title in _CHIEF_OF:
        return [by_name[n] for n in _CHIEF_OF[title] if n in by_name]
    match = _HEAD_OF.match(title)
    named = match and (match.group("unit") or match.group("unit2"))
    return [by_name[named]] if named in by_name else []


def _not_actionable(ctx: AuditContext) -> Iterator[Finding]:
    heads: dict[str, list[str]] = {}
    for head in ctx.workspace.units:
        if _norm(head.owner):
            heads.setdefault(_norm(head.owner), []).append(head.id)
    for kpi in ctx.workspace.kpis:
        if kpi.owner and _norm(kpi.owner) not in heads and (titled := _units_headed_by(kpi.owner, ctx.workspace.units)):
            heads[_norm(kpi.owner)] = titled
    for kpi in ctx.workspace.kpis:
        label = kpi_label(kpi)
        if kpi.direction is None:
            implied = implied_direction(kpi)
            fix = "set direction: up (higher is better), down (lower is better) or range (stay inside low–high)"
            if implied is not None:
                fix = f"set direction: {implied.value} {_BETTER[implied]}: {_implied_because(kpi, implied)}"
            yield NOT_ACTIONABLE.on_kpi(
                kpi, f"KPI {label} has no direction: nobody can tell whether a rise is good news", fix,
                patch={"direction": implied.value} if implied is not None else None,
            )  # fmt: skip
        if not kpi.action:
            who = kpi.owner or "its owner"
            yield NOT_ACTIONABLE.on_kpi(
                kpi, f"KPI {label} has no action: nobody has agreed what {who} does when it goes off track",
                f"write the first thing {who} does when '{kpi.name}' crosses its warning threshold, e.g. 'look "
                "into the three biggest causes of the last period and agree one countermeasure'",
            )  # fmt: skip
        unit = ctx.unit_of(kpi)
        headed = heads.get(_norm(kpi.owner), [])
        if unit is not None and headed and unit.id not in headed:
            other = ctx.workspace.unit(headed[0])
            other_name = other.name if other else headed[0]
            role = owner_role(kpi)
            example = f", e.g. {role} of '{unit.name}'" if role else (f", e.g. {unit.owner}" if unit.owner else "")
            yield NOT_ACTIONABLE.finding(
                "kpi", kpi.id,
                f"KPI {label} belongs to unit '{unit.name}' but is owned by {kpi.owner}, the head of "
                f"'{other_name}': the owner cannot act on it",
                f"give it an owner in '{unit.name}'{example}, or move it to a goal of '{other_name}'",
            )  # fmt: skip


NOT_ACTIONABLE = Rule(
    id="KPI024",
    slug="not-actionable",
    severity=Severity.WARNING,
    rationale="A KPI nobody knows how to act on (no direction, no agreed action, an owner outside the unit) "
    "is reported, not managed.",
    example="KPI 'Net revenue' with no action, or owned by the head of another unit.",
    fix="Set the direction, the owner's action when off track, and an owner inside the KPI's unit.",
    check=_not_actionable,
)


# ---------------------------------------------------------------- KPI025 unpaired-leading-lagging


def _unpaired_leading_lagging(ctx: AuditContext) -> Iterator[Finding]:
    ws = ctx.workspace
    for goal in ws.goals:
        kinds = [k.kind for k in ws.kpis_of(goal.id) if k.kind is not None]
        if kinds and all(kind == Kind.LAGGING for kind in kinds):
            # An example from what this goal's KPIs measure; a fixed one would not fit most goals.
            example = leading_example(ws.kpis_of(goal.id))
            yield UNPAIRED_LEADING_LAGGING.finding(
                "goal", goal.id,
                f"{_first_upper(goal_label(goal))} has only lagging KPIs ({len(kinds)}): they report the result "
                "after the fact, and nothing warns in time",
                f"add a leading KPI that moves before the outcome{f' (e.g. {example})' if example else ''} and "
                f"pair it with the lagging KPI it drives ({PAIRING_FIELD})",
            )  # fmt: skip
    for kpi in ws.kpis:
        if kpi.kind is None:
            continue
        partner = ws.kpi(kpi.pairs_with) if kpi.pairs_with else None
        if partner is not None and partner.kind == kpi.kind:
            opposite = Kind.LAGGING if kpi.kind == Kind.LEADING else Kind.LEADING
            yield UNPAIRED_LEADING_LAGGING.finding(
                "kpi", kpi.id,
                f"KPI {kpi_label(kpi)} is {kpi.kind.value} and pairs with {kpi_label(partner)}, which is "
                f"{kpi.kind.value} too: a pair links a leading indicator to the lagging outcome it drives",
                f"pair it with a {opposite.value} KPI, or correct the kind of one of the two",
            )  # fmt: skip
            continue
        if kpi.kind != Kind.LEADING:
            continue
        paired = partner is not None and partner.kind == Kind.LAGGING
        in_goal = bool(kpi.goal) and any(k.kind == Kind.LAGGING for k in ws.kpis_of(kpi.goal or ""))
        if not paired and not in_goal:
            yield UNPAIRED_LEADING_LAGGING.finding(
                "kpi", kpi.id,
                f"KPI {kpi_label(kpi)} is leading but drives no lagging outcome: nothing shows whether moving it "
                "pays off",
                f"pair it with the lagging KPI it should move ({PAIRING_FIELD}), or add that outcome to its goal",
            )  # fmt: skip


UNPAIRED_LEADING_LAGGING = Rule(
    id="KPI025",
    slug="unpaired-leading-lagging",
    severity=Severity.WARNING,
    rationale="Lagging KPIs alone warn too late; leading KPIs alone may move without paying off.",
    example="Goal 'Cut component cost' whose three KPIs are all lagging.",
    fix="Give each goal a leading indicator and pair it with the lagging outcome it drives.",
    check=_unpaired_leading_lagging,
)


RULES: list[Rule] = [
    MISSING_TARGET,
    TARGET_NOT_TIME_BOUND,
    TARGET_DIRECTION,
    THRESHOLD_ORDER,
    NOT_ACTIONABLE,
    UNPAIRED_LEADING_LAGGING,
]

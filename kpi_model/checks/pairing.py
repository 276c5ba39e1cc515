"""KPI025 unpaired-leading-lagging: does each goal have an early signal, and each signal an outcome?

Reads the kinds and the ``pairs_with`` links as written; whether the data bear a pairing out is
KPI080's question (:mod:`kpi_model.checks.leadlag`).
"""

from __future__ import annotations

from collections.abc import Iterator

from kpi_model.checks.base import PAIRING_FIELD, AuditContext, Finding, Rule, Severity
from kpi_model.checks.names import leading_example
from kpi_model.checks.wording import capital, goal_label, kpi_label
from kpi_model.models import Kind


def _unpaired_leading_lagging(ctx: AuditContext) -> Iterator[Finding]:
    ws = ctx.workspace
    for goal in ws.goals:
        kinds = [k.kind for k in ws.kpis_of(goal.id) if k.kind is not None]
        if kinds and all(kind == Kind.LAGGING for kind in kinds):
            # An example from what this goal's KPIs measure; a fixed one would not fit most goals.
            example = leading_example(ws.kpis_of(goal.id))
            yield UNPAIRED_LEADING_LAGGING.on_goal(
                goal,
                f"{capital(goal_label(goal))} has only lagging KPIs ({len(kinds)}): they report the result "
                "after the fact, and nothing warns in time",
                f"add a leading KPI that moves before the outcome{f' (e.g. {example})' if example else ''} and "
                f"pair it with the lagging KPI it drives ({PAIRING_FIELD})",
            )
    for kpi in ws.kpis:
        if kpi.kind is None:
            continue
        partner = ws.kpi(kpi.pairs_with) if kpi.pairs_with else None
        if partner is not None and partner.kind == kpi.kind:
            opposite = Kind.LAGGING if kpi.kind == Kind.LEADING else Kind.LEADING
            yield UNPAIRED_LEADING_LAGGING.on_kpi(
                kpi,
                f"KPI {kpi_label(kpi)} is {kpi.kind.value} and pairs with {kpi_label(partner)}, which is "
                f"{kpi.kind.value} too: a pair links a leading indicator to the lagging outcome it drives",
                f"pair it with a {opposite.value} KPI, or correct the kind of one of the two",
            )
            continue
        if kpi.kind != Kind.LEADING:
            continue
        paired = partner is not None and partner.kind == Kind.LAGGING
        in_goal = bool(kpi.goal) and any(k.kind == Kind.LAGGING for k in ws.kpis_of(kpi.goal or ""))
        if not paired and not in_goal:
            yield UNPAIRED_LEADING_LAGGING.on_kpi(
                kpi,
                f"KPI {kpi_label(kpi)} is leading but drives no lagging outcome: nothing shows whether moving it "
                "pays off",
                f"pair it with the lagging KPI it should move ({PAIRING_FIELD}), or add that outcome to its goal",
            )


UNPAIRED_LEADING_LAGGING = Rule(
    id="KPI025",
    slug="unpaired-leading-lagging",
    severity=Severity.WARNING,
    rationale="Lagging KPIs alone warn too late; leading KPIs alone may move without paying off.",
    example="Goal 'Cut component cost' whose three KPIs are all lagging.",
    fix="Give each goal a leading indicator and pair it with the lagging outcome it drives.",
    check=_unpaired_leading_lagging,
)


RULES: list[Rule] = [UNPAIRED_LEADING_LAGGING]

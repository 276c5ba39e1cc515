"""Targets and what-if: what a target requires, what history says about it, drivers and lags.

Four tools, all pure Python over already computed series (no database, no numpy needed):

- :mod:`~kpi_model.whatif.targets` — :func:`target_preview`: for a target and a due date, the
  change it requires, how often history moved that far over windows as long as the horizon,
  a projection (:mod:`.projection`: Theil–Sen trend or year-over-year, chosen on a holdout,
  t-based 80 % band, bounded by the KPI's domain and a horizon limit) over complete periods
  only, a verdict (``beyond-history`` first) and thresholds from recent variability
  (:mod:`.thresholds`); :func:`target_concerns` for quick sanity checks on a proposed target.
- :mod:`~kpi_model.whatif.drivers` — :func:`driver_tree`, :func:`evaluate`, :func:`what_if`,
  :func:`sensitivity`: a derived KPI evaluated from its drivers' values on one base period, so
  moving one driver shows what moves above it; the base period's values (:mod:`.driver_base`), drivers in
  words (:mod:`.driver_text`), :mod:`.goal_seek` and :mod:`.scenarios`.
- :mod:`~kpi_model.whatif.leadlag` — :func:`lead_lag`: a test of whether a leading KPI leads its
  lagging partner (changes, effective n, p corrected for the lags tried), and by how much.
- Period helpers live in :mod:`kpi_model.periods` and are re-exported here.

Everything public is importable from this package, as it was from the single module it replaces.
"""

from kpi_model.errors import WhatIfError
from kpi_model.periods import (
    normalise_grain,
    parse_baseline_period,
    period_label,
    period_start,
    periods_between,
    shift_period,
)
from kpi_model.whatif.driver_base import latest_values
from kpi_model.whatif.drivers import (
    DriverNode,
    Sensitivity,
    decomposition_suggestions,
    driver_tree,
    evaluate,
    sensitivity,
    what_if,
)
from kpi_model.whatif.leadlag import (
    LEADS_R,
    MIN_PAIRED_PERIODS,
    NO_RELATION_R,
    LagCorrelation,
    LeadLag,
    default_max_lag,
    lead_lag,
)
from kpi_model.whatif.target_result import ProjectionPoint, TargetPreview
from kpi_model.whatif.targets import (
    METHOD,
    MIN_TREND_PERIODS,
    NON_NEGATIVE_UNITS,
    Z_80,
    target_concerns,
    target_preview,
)

__all__ = [
    "LEADS_R",
    "METHOD",
    "MIN_PAIRED_PERIODS",
    "MIN_TREND_PERIODS",
    "NON_NEGATIVE_UNITS",
    "NO_RELATION_R",
    "Z_80",
    "DriverNode",
    "LagCorrelation",
    "LeadLag",
    "ProjectionPoint",
    "Sensitivity",
    "TargetPreview",
    "WhatIfError",
    "decomposition_suggestions",
    "default_max_lag",
    "driver_tree",
    "evaluate",
    "latest_values",
    "lead_lag",
    "normalise_grain",
    "parse_baseline_period",
    "period_label",
    "period_start",
    "periods_between",
    "sensitivity",
    "shift_period",
    "target_concerns",
    "target_preview",
    "what_if",
]

"""Values typed into the app's target, baseline and threshold fields (the reader is the library's).

:mod:`kpi_model.typed_values` reads them, so the KPI card, the grid of KPIs and the what-if read
``95%`` or ``1,2k`` alike; this module keeps the names the pages import and the card's widget keys.
"""

from __future__ import annotations

from kpi_model.typed_values import EXAMPLES, HELP, percent_typo, read_value, shown_value

__all__ = ["EXAMPLES", "HELP", "NUMBER_KEYS", "percent_typo", "read_value", "shown_value"]

# The form fields that hold a number of the KPI's unit of measure, and the key suffix of each input.
NUMBER_KEYS = {
    "baseline.value": "baseline_value",
    "target.value": "target_value",
    "target.low": "target_low",
    "target.high": "target_high",
    "thresholds.warning": "warning",
    "thresholds.critical": "critical",
}

"""Alerts when a KPI goes off track, and the review cycle.

- :mod:`~kpi_model.alerts.evaluation`: every KPI judged on its latest complete period.
- :mod:`~kpi_model.alerts.messages`: what an alert, a digest and a test message say.
- :mod:`~kpi_model.alerts.channels`: e-mail and webhook delivery, secrets from the environment.
- :mod:`~kpi_model.alerts.state`: what a check remembers (last statuses, retries, the log).
- :mod:`~kpi_model.alerts.run`: one check, from readings to messages and the saved state.
- :mod:`~kpi_model.alerts.cycle`: review dates, KPIs due for review, starting a new cycle.
"""

from kpi_model.alerts.channels import DeliveryError, DeliveryPolicy, channel_label
from kpi_model.alerts.cycle import NewCycle, ReviewDate, due_for_review, review_dates, start_cycle
from kpi_model.alerts.evaluation import KpiReading, evaluate
from kpi_model.alerts.run import CheckRun, Outcome, run_check, send_test_alert
from kpi_model.alerts.state import AlertState, load_state, state_path_for

__all__ = [
    "AlertState",
    "CheckRun",
    "DeliveryError",
    "DeliveryPolicy",
    "KpiReading",
    "NewCycle",
    "Outcome",
    "ReviewDate",
    "channel_label",
    "due_for_review",
    "evaluate",
    "load_state",
    "review_dates",
    "run_check",
    "send_test_alert",
    "start_cycle",
    "state_path_for",
]

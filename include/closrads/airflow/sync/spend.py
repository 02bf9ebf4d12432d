"""What ``measure_spend`` does when it runs: the campaign's spend per US state, read from Meta's Insights,
against the run's demand (:mod:`closrads.core.spend`). Imported only inside the task.

It never changes what is written and never fails the run: Insights unreachable, throttled or refusing
is a figure the report cannot give ("spend unavailable: <why>"), while the sync goes on as it would.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import get_current_context

from closrads.airflow.guard_state import read_override
from closrads.airflow.hooks.facebook_insights import account_clock, periods, spend_by_region
from closrads.airflow.masking import redacted
from closrads.airflow.task_run import TaskRun
from closrads.core.errors import ClosradsError
from closrads.core.spend import SpendSummary, parse_alert_percent, summarize

log = logging.getLogger(__name__)

# Seconds per Graph request of this step (the writes' hook allows 60): a spend figure is never worth
# holding the run's report and a slot of the campaign's Graph pool for long.
SPEND_REQUEST_TIMEOUT_SECONDS = 30.0


def measure_spend(demand: dict[str, Any] | None) -> dict[str, Any]:
    """:func:`.tasks.measure_spend`: the report's ``spend`` field (figures, or ``unavailable``)."""
    run = TaskRun.of(get_current_context())
    wanted = sorted((demand or {}).get("states") or {})
    alert, alert_problem = None, None
    try:  # a wrong alert setting costs the alert, never the figures
        alert = leak_alert_percent(run)
    except Exception as exc:  # noqa: BLE001 - never the figures' (nor the run's) undoing
        alert_problem = str(exc) if isinstance(exc, ClosradsError) else redacted(f"{type(exc).__name__}: {exc}")[:300]
        log.warning("Spend leak alert: %s", alert_problem)
    try:
        hook = run.facebook_hook(timeout=SPEND_REQUEST_TIMEOUT_SECONDS)
        clock = account_clock(hook)
        summary = summarize(spend_by_region(hook, periods(clock.today)), wanted, clock.currency)
        summary.alert_percent, summary.alert_problem = alert, alert_problem
        log.info("Spend (ad account time zone %s, %s): %s", clock.timezone, clock.currency, summary.line())
    except ClosradsError as exc:
        summary = SpendSummary(unavailable=str(exc))
        log.warning("%s", summary.line())
    except Exception as exc:  # noqa: BLE001 - spend is a figure of the report: it never fails the run
        summary = SpendSummary(unavailable=redacted(f"{type(exc).__name__}: {exc}")[:300])
        log.warning("%s", summary.line())
    return summary.to_dict()


def leak_alert_percent(run: TaskRun) -> float | None:
    """The campaign's leak alert threshold: its Variable when set, else its registry entry (unset: none)."""
    variable = run.campaign.spend_leak_alert_variable
    raw = read_override(variable, "the spend leak alert setting")
    if raw is not None:
        return parse_alert_percent(raw, source=f"Variable {variable}")
    return parse_alert_percent(run.campaign.spend_leak_alert_percent, source="the registry's spend_leak_alert_percent")

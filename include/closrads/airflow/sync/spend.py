"""What ``measure_spend`` does when it runs: the campaign's spend per US state, read from Meta's Insights,
against the run's demand (:mod:`closrads.core.spend`). Imported only inside the task.

It never changes what is written and never fails the run: Insights unreachable, throttled or refusing
is a figure the report cannot give ("spend unavailable: <why>"), while the sync goes on as it would.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import get_current_context

from closrads.airflow.hooks.facebook_insights import account_clock, periods, spend_by_region
from closrads.airflow.masking import redacted
from closrads.airflow.task_run import TaskRun
from closrads.core.errors import ClosradsError
from closrads.core.spend import SpendSummary, summarize

log = logging.getLogger(__name__)


def measure_spend(demand: dict[str, Any] | None) -> dict[str, Any]:
    """:func:`.tasks.measure_spend`: the report's ``spend`` field (figures, or ``unavailable``)."""
    run = TaskRun.of(get_current_context())
    wanted = sorted((demand or {}).get("states") or {})
    try:
        hook = run.facebook_hook()
        clock = account_clock(hook)
        summary = summarize(spend_by_region(hook, periods(clock.today)), wanted, clock.currency)
        log.info("Spend (ad account time zone %s, %s): %s", clock.timezone, clock.currency, summary.line())
    except ClosradsError as exc:
        summary = SpendSummary(unavailable=str(exc))
        log.warning("%s", summary.line())
    except Exception as exc:  # noqa: BLE001 - spend is a figure of the report: it never fails the run
        summary = SpendSummary(unavailable=redacted(f"{type(exc).__name__}: {exc}")[:300])
        log.warning("%s", summary.line())
    return summary.to_dict()

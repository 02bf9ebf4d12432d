"""Task defaults shared by every CLOSRADS DAG: retries for infrastructure failures and the Slack alerts.

Infrastructure failures (a lost worker, failed heartbeats, the API server briefly away, transient
errors outlasting the in-task retries) are retried by Airflow without a person, after 20 s and then
40 s (Airflow adds jitter): a restarting API server can be away for a minute or two. Every task is
idempotent (it re-reads before it writes), so a retry is safe. Bad data, permanent Graph errors and
refusals fail with ``AirflowFailException`` and are never retried.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param

from closrads.airflow.alerts import alert_run_failure, alert_task_failure, alert_task_retry

TASK_DEFAULTS = {
    "owner": "closrads",
    "retries": 2,
    "retry_delay": timedelta(seconds=20),
    "retry_exponential_backoff": 2.0,
    # Lists, which Airflow takes as well: an operator asks ``isinstance(callback, Collection)``, and for a bare
    # function the answer walks every registered Collection class in a freshly forked task process (the
    # ABC caches do not survive later imports), about 6 ms per task instance; for a list it is cached.
    "on_retry_callback": [alert_task_retry],
    "on_failure_callback": [alert_task_failure],
}

# What every CLOSRADS DAG shares: no backfill, one run at a time, a run alert when a run fails
# without a task failure, and the task defaults above. A hung run must not block the next one
# (max_active_runs=1), and a sync takes minutes: 2 hours is its timeout (an approval fits inside).
DAG_DEFAULTS = {
    "start_date": pendulum.datetime(2026, 1, 1, tz="UTC"),
    "catchup": False,
    "max_active_runs": 1,
    "dagrun_timeout": timedelta(hours=2),
    "on_failure_callback": alert_run_failure,
    "default_args": TASK_DEFAULTS,
}


def dry_run_param(description: str) -> Param:
    """The ``dry_run`` checkbox of a trigger form: ticked by default, so nothing is written by accident."""
    return Param(True, type="boolean", title="Dry run", description=description)

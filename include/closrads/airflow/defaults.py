"""Task defaults shared by every CLOSRADS DAG: retries for infrastructure failures and the Slack alerts.

Infrastructure failures (a lost worker, failed heartbeats, the API server briefly away, transient
errors outlasting the in-task retries) are retried by Airflow without a person, after 20 s and then
40 s (Airflow adds jitter): a restarting API server can be away for a minute or two. Every task is
idempotent (it re-reads before it writes), so a retry is safe. Bad data, permanent Graph errors and
refusals fail with ``AirflowFailException`` and are never retried.
"""

from __future__ import annotations

from datetime import timedelta

from closrads.airflow.alerts import alert_task_failure, alert_task_retry

TASK_DEFAULTS = {
    "owner": "closrads",
    "retries": 2,
    "retry_delay": timedelta(seconds=20),
    "retry_exponential_backoff": 2.0,
    "on_retry_callback": alert_task_retry,
    "on_failure_callback": alert_task_failure,
}

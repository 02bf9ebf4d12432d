"""``on_failure_callback`` for every ``closrads_sync`` task: tell Slack which task failed and why.

A plain function, not a notifier object: it runs the same way in the task process under the
scheduler, on Celery workers and in ``airflow dags test``. It must never crash or hide the task's
own failure, so every context key is optional and every error here becomes a warning.
"""

from __future__ import annotations

import logging

from closrads.airflow.exceptions import RunFailedAfterReport
from closrads.airflow.masking import redacted
from closrads.airflow.slack import post_to_slack, run_url, task_log_url
from closrads.core.messages import TaskFailure, failure_message, run_failure_message

log = logging.getLogger(__name__)


def alert_task_failure(context) -> None:
    try:
        _alert(context or {})
    except Exception:
        log.warning("Slack: could not prepare the failure alert", exc_info=True)


def _alert(context) -> None:
    exception = context.get("exception")
    if isinstance(exception, RunFailedAfterReport):
        return  # the report task failed on purpose after posting the run's summary: no second message
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", None) or "closrads_sync"
    task_id = getattr(ti, "task_id", None) or getattr(context.get("task"), "task_id", None) or "unknown task"
    run_id = context.get("run_id") or getattr(ti, "run_id", None) or "unknown run"
    map_index = getattr(ti, "map_index", None)
    label = getattr(ti, "rendered_map_index", None) or context.get("adset_label") or map_index
    task_label = f"{task_id} [{label}]" if isinstance(map_index, int) and map_index >= 0 else task_id
    error = str(exception) if exception is not None else "no exception was passed to the callback"
    failure = TaskFailure(
        dag_id=dag_id,
        task_label=task_label,
        run_id=run_id,
        try_number=getattr(ti, "try_number", "?"),
        error=redacted(f"{type(exception).__name__}: {error}" if exception is not None else error),
        log_url=getattr(ti, "log_url", None) or task_log_url(dag_id, run_id, task_id, map_index),
    )
    post_to_slack(*failure_message(failure), what=f"failure alert for {task_label}")


def alert_run_failure(context) -> None:
    """DAG-level ``on_failure_callback``: speak up when a run failed without the usual messages.

    A run that fails because a task failed has already produced task alerts and the report. A run
    that timed out (``dagrun_timeout``) or failed some other way may never have reached ``report``,
    so the operator would hear nothing; this says what happened and links the run. A plain function:
    Airflow's DAG-level notifier objects do not run under ``airflow dags test``, functions do.
    """
    try:
        context = context or {}
        reason = str(context.get("reason") or "unknown reason")
        if reason == "task_failure":
            return
        dag_id = getattr(context.get("dag"), "dag_id", None) or "closrads_sync"
        run_id = str(context.get("run_id") or "unknown run")
        post_to_slack(*run_failure_message(dag_id, run_id, reason, run_url(dag_id, run_id)), what="run failure alert")
    except Exception:
        log.warning("Slack: could not prepare the run failure alert", exc_info=True)

"""Slack alerts for failed tasks (each failed try, retried or final) and for runs that fail oddly.

Plain functions, not notifier objects: they run the same way in the task process under the
scheduler, on Celery workers, in the DAG processor (which runs the callbacks of a task whose
process died) and in ``airflow dags test``. They must never crash or hide the task's own failure,
so every context key is optional and every error here becomes a warning.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from closrads.airflow.exceptions import RunFailedAfterReport
from closrads.airflow.masking import redacted
from closrads.airflow.slack import post_to_slack, run_url, task_log_url
from closrads.airflow.task_run import campaign_for_dag
from closrads.core.names import SLACK_CONN_ID

log = logging.getLogger(__name__)

# When the task process dies (worker killed, heartbeats lost), Airflow runs the callback in the DAG
# processor, without an exception, and can request it twice for the same try (once when the scheduler
# finds the missing heartbeat, once when the executor reports the task finished). A marker per try in
# this directory keeps it to one alert per try.
# The directory is private to the Airflow user, under its AIRFLOW_HOME: in a shared, predictable folder
# (the system temp dir) another local user could create the markers first and silence alerts.
SENT_MARKERS: Path | None = None  # None: AIRFLOW_HOME/closrads-alerts (tests set their own)
_MARKER_MAX_AGE_SECONDS = 7 * 24 * 3600
PROCESS_DIED = (
    "the task's process ended without reporting an error: the worker running it was lost, or it stopped "
    "heartbeating (killed, out of memory, or the Airflow API server was unreachable)"
)
# How far back Airflow's audit log is searched for a person's clear of the task (detecting that the
# process is gone takes up to the heartbeat timeout, 2 minutes in the shipped compose file, plus a callback).
CLEAR_LOOKBACK = timedelta(minutes=30)


def alert_task_failure(context) -> None:
    """``on_failure_callback``: the task failed for good (no retry left, or an error retrying cannot fix)."""
    _safely(context, will_retry=False)


def alert_task_retry(context) -> None:
    """``on_retry_callback``: the task failed and Airflow will retry it by itself; the operator sees it."""
    _safely(context, will_retry=True)


def _safely(context, *, will_retry: bool) -> None:
    try:
        _alert(context or {}, will_retry=will_retry)
    except Exception:
        log.warning("Slack: could not prepare the failure alert", exc_info=True)


def _alert(context, *, will_retry: bool) -> None:
    from closrads.core.messages import TaskFailure, failure_message  # when alerting: DAG files import this module

    exception = context.get("exception")
    if isinstance(exception, RunFailedAfterReport):
        return  # the report task failed on purpose after posting the run's summary: no second message
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", None) or "closrads_sync"
    task_id = getattr(ti, "task_id", None) or getattr(context.get("task"), "task_id", None) or "unknown task"
    run_id = context.get("run_id") or getattr(ti, "run_id", None) or "unknown run"
    map_index = getattr(ti, "map_index", None)
    try_number = getattr(ti, "try_number", None)
    if not _first_alert_for(dag_id, run_id, task_id, map_index, try_number, will_retry):
        log.info("Slack: the alert for %s try %s was already sent", task_id, try_number)
        return
    mapped = isinstance(map_index, int) and map_index >= 0
    label = context.get("adset_label") or getattr(ti, "rendered_map_index", None) or _listed_label(ti, map_index)
    cleared_by = None
    if exception is not None:
        error = f"{type(exception).__name__}: {exception}"
    else:
        error, cleared_by = _why_it_stopped(dag_id, run_id, task_id)
    failure = TaskFailure(
        dag_id=dag_id,
        task_label=f"{task_id} [{label or map_index}]" if mapped else task_id,
        run_id=run_id,
        try_number=try_number if try_number is not None else "?",
        max_tries=_max_tries(context, ti),
        error=redacted(error),
        log_url=getattr(ti, "log_url", None) or task_log_url(dag_id, run_id, task_id, map_index),
        will_retry=will_retry,
        cleared_by=cleared_by,
        notice=_version_warning(dag_id),
    )
    post_to_slack(*failure_message(failure), what=f"failure alert for {failure.task_label}", conn_id=_slack_of(dag_id))


def _why_it_stopped(dag_id: str, run_id: str, task_id: str) -> tuple[str, str | None]:
    """Why a task's process ended without an error, and who cleared it when a person did: Airflow's audit
    log says (when the ``closrads_airflow_api`` Connection lets CLOSRADS read it); else a lost worker."""
    from closrads.airflow.hooks.airflow_api import AirflowApiHook

    try:
        cleared = AirflowApiHook().who_cleared(dag_id, run_id, task_id, since=datetime.now(UTC) - CLEAR_LOOKBACK)
    except Exception:
        log.warning("Could not ask Airflow's audit log who stopped %s", task_id, exc_info=True)
        cleared = None
    if cleared is None:
        return PROCESS_DIED, None
    user, when = cleared
    why = (
        f"{user} cleared it while it ran (at {when}), so Airflow stopped that try and runs the task again. A write "
        "that try had already sent may still land; the next run reports an ad set that changed since CLOSRADS "
        "last wrote it"
    )
    return why, user


def _version_warning(dag_id: str) -> str | None:
    """The Graph API version's warning line, when its end is near; never a reason not to alert."""
    from closrads.airflow.api_clock import version_warning

    try:
        return version_warning(campaign_for_dag(dag_id))
    except Exception:  # noqa: BLE001 - an unknown DAG or registry: the alert goes out without the line
        return None


def _slack_of(dag_id: str) -> str | None:
    """The Slack Connection of the DAG's campaign. An alert must go out even when the registry cannot be
    read any more (edited since the DAG was parsed): then to the deployment's default Slack."""
    try:
        return campaign_for_dag(dag_id).slack_conn_id
    except Exception:  # noqa: BLE001 - an alert is never lost to a registry problem
        log.warning("Slack: the campaign of DAG %s is unknown; alerting through the default Slack", dag_id)
        return SLACK_CONN_ID


def _listed_label(ti, map_index) -> str | None:
    """The ad set of a mapped instance whose label was never rendered (its process died): from the listing."""
    if not isinstance(map_index, int) or map_index < 0 or ti is None:
        return None
    try:
        listed = ti.xcom_pull(task_ids="list_adsets")
        adset = listed[map_index]
        return f"{adset['name']} ({adset['id']})"
    except Exception:  # noqa: BLE001 - a label is a nicety; the map index still identifies the task
        return None


def _max_tries(context, ti) -> int | None:
    tries = getattr(ti, "max_tries", None)
    if isinstance(tries, int) and tries >= 0:
        return tries + 1  # Airflow's max_tries counts the retries; the first try is extra
    retries = getattr(context.get("task"), "retries", None)
    return retries + 1 if isinstance(retries, int) else None


def _first_alert_for(dag_id, run_id, task_id, map_index, try_number, will_retry: bool) -> bool:
    """True the first time this try's alert is asked for on this machine (Airflow may ask twice)."""
    if try_number is None:
        return True
    try:
        markers = _private_markers()
        _forget_old_markers(markers)
        key = f"{dag_id}|{run_id}|{task_id}|{map_index}|{try_number}|{'retry' if will_retry else 'fail'}"
        name = hashlib.sha256(key.encode()).hexdigest()[:32]
        os.close(os.open(markers / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600))
    except FileExistsError:
        return False
    except OSError as exc:
        log.warning("Slack: cannot keep alert markers (%s); a duplicate alert is possible", exc)
    return True


def _private_markers() -> Path:
    """The markers' directory, created private; one that another user owns or may write into (or a
    symlink) is not trusted: a duplicate alert is better than a silenced one."""
    home = Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")
    markers = SENT_MARKERS or home / "closrads-alerts"
    markers.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = markers.lstat()
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise PermissionError(f"{markers} is not private to this user")
    return markers


def _forget_old_markers(markers: Path) -> None:
    cutoff = time.time() - _MARKER_MAX_AGE_SECONDS
    for marker in markers.iterdir():
        try:
            if marker.stat().st_mtime < cutoff:
                marker.unlink()
        except OSError:
            continue


def alert_run_failure(context) -> None:
    """DAG-level ``on_failure_callback``: speak up when a run failed without the usual messages.

    A run that fails because a task failed has already produced task alerts and the report. A run
    that timed out (``dagrun_timeout``) or failed some other way may never have reached ``report``,
    so the operator would hear nothing; this says what happened and links the run. A plain function:
    Airflow's DAG-level notifier objects do not run under ``airflow dags test``, functions do.
    """
    from closrads.core.messages import run_failure_message

    try:
        context = context or {}
        reason = str(context.get("reason") or "unknown reason")
        if reason == "task_failure":
            return
        dag_id = getattr(context.get("dag"), "dag_id", None) or "closrads_sync"
        run_id = str(context.get("run_id") or "unknown run")
        post_to_slack(
            *run_failure_message(dag_id, run_id, reason, run_url(dag_id, run_id)),
            what="run failure alert",
            conn_id=_slack_of(dag_id),
        )
    except Exception:
        log.warning("Slack: could not prepare the run failure alert", exc_info=True)

"""Hook for Airflow's own public REST API: write a DAG run's note, so the run list shows each run's
mode and result ("LIVE: 5 updated, 1 failed") without opening a log; and read Airflow's audit log,
so an alert for a task that stopped without an error can say that a person cleared it.

A task has no Task SDK call for its run's note (Airflow 3.3), so CLOSRADS uses the supported public
API, as any client would: a JWT from ``POST /auth/token``, then ``PATCH /api/v2/dags/{dag}/dagRuns/{run}``.
The note is a convenience: without the Connection it is off, and any failure is a warning that never
changes the run's result. The password and the token are registered with the secrets masker.

:param airflow_api_conn_id: an ``http`` Connection: host = the API server's base URL (for example
    ``http://airflow-apiserver:8080``), login/password = an Airflow user allowed to edit DAG runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import quote

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from closrads.airflow.hooks.connections import base_url
from closrads.airflow.masking import mask_secret_forms, redacted
from closrads.core.errors import network_reason

# Airflow limits a note to 1000 characters; the run note is one summary line.
MAX_NOTE_CHARS = 1000


class AirflowApiHook(BaseHook):
    conn_name_attr = "airflow_api_conn_id"
    default_conn_name = "closrads_airflow_api"
    conn_type = "http"
    hook_name = "Airflow REST API (CLOSRADS run notes)"

    def __init__(self, airflow_api_conn_id: str = default_conn_name, timeout: float = 10.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.airflow_api_conn_id = airflow_api_conn_id
        self.timeout = timeout

    def set_run_note(self, dag_id: str, run_id: str, note: str) -> bool | None:
        """``True`` written, ``False`` failed (warning logged), ``None`` off (no Connection)."""
        try:
            conn = BaseHook.get_connection(self.airflow_api_conn_id)
        except AirflowNotFoundException:
            self.log.info("Run note is off: no Airflow Connection '%s'", self.airflow_api_conn_id)
            return None
        mask_secret_forms(conn.password or "")
        try:
            self._patch_note(conn, dag_id, run_id, note[:MAX_NOTE_CHARS])
        except Exception as exc:  # noqa: BLE001 - a note is never worth failing the run
            reason = str(exc) if isinstance(exc, _ApiRefused) else redacted(network_reason(exc))
            self.log.warning("Could not set the run's note through the Airflow API (run unaffected): %s", reason)
            return False
        self.log.info("Run note set: %s", note)
        return True

    def who_cleared(self, dag_id: str, run_id: str, task_id: str, since: datetime) -> tuple[str, str] | None:
        """Who cleared ``task_id`` of the run after ``since``, and when (UTC ISO): Airflow's audit log
        records every clear made in the UI or through the REST API, with the user. ``None`` when no one
        did, or when it cannot be told (no Connection, the API unreachable: logged, never raised)."""
        try:
            conn = BaseHook.get_connection(self.airflow_api_conn_id)
        except AirflowNotFoundException:
            return None
        mask_secret_forms(conn.password or "")
        params = {"dag_id": dag_id, "run_id": run_id, "event": CLEAR_EVENT, "after": since.isoformat(),
                  "order_by": "-when", "limit": 50}  # fmt: skip
        try:
            with self._api_session(conn) as (session, base, headers):
                answer = session.get(f"{base}/api/v2/eventLogs", params=params, headers=headers, timeout=self.timeout)
                _check(answer, "reading the audit log")
                entries = answer.json().get("event_logs") or []
        except Exception as exc:  # noqa: BLE001 - the alert still goes out, without the name
            reason = str(exc) if isinstance(exc, _ApiRefused) else redacted(network_reason(exc))
            self.log.warning("Could not read Airflow's audit log for clears of %s: %s", task_id, reason)
            return None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and _clears(entry.get("extra"), task_id):
                return str(entry.get("owner") or "someone"), str(entry.get("when") or "")
        return None

    def _patch_note(self, conn, dag_id: str, run_id: str, note: str) -> None:
        with self._api_session(conn) as (session, base, headers):
            answer = session.patch(
                f"{base}/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}",
                json={"note": note},
                headers=headers,
                timeout=self.timeout,
            )
            _check(answer, "setting the note")

    @contextmanager
    def _api_session(self, conn) -> Iterator[tuple[Any, str, dict[str, str]]]:
        """A session with a fresh JWT from ``POST /auth/token``: ``(session, base URL, auth headers)``."""
        import requests

        base = _base_url(conn)
        with requests.Session() as session:
            answer = session.post(
                f"{base}/auth/token",
                json={"username": conn.login or "", "password": conn.password or ""},
                timeout=self.timeout,
            )
            _check(answer, "getting a token")
            token = str(answer.json().get("access_token") or "")
            mask_secret_forms(token)
            yield session, base, {"Authorization": f"Bearer {token}"}


# The audit log event of a clear through the UI or the REST API (``POST .../clearTaskInstances``).
CLEAR_EVENT = "post_clear_task_instances"


def _clears(extra: object, task_id: str) -> bool:
    """Whether a clear's logged request body (``extra``, JSON) clears ``task_id`` while it may run."""
    try:
        body = json.loads(extra) if isinstance(extra, str) else extra
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    if body.get("only_failed", True) is not False and body.get("only_running") is not True:
        return False  # the REST default clears only failed tasks: never one that runs
    task_ids = body.get("task_ids")
    if not task_ids:
        return True  # the whole run
    return any(item == task_id or (isinstance(item, list) and item[:1] == [task_id]) for item in task_ids)


class _ApiRefused(Exception):
    """The API answered with an error status; the message names the step and the status only."""


def _check(answer, step: str) -> None:
    if answer.status_code >= 400:
        raise _ApiRefused(f"{step}: HTTP {answer.status_code}")


def _base_url(conn) -> str:
    host = str(conn.host or "").strip()
    if not host:
        raise _ApiRefused(f"Connection '{conn.conn_id}' has no host (the API server's base URL)")
    return base_url(conn, host, "http")

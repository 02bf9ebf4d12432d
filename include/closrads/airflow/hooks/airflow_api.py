"""Hook for Airflow's own public REST API: write a DAG run's note, so the run list shows each run's
mode and result ("LIVE: 5 updated, 1 failed") without opening a log.

A task has no Task SDK call for its run's note (Airflow 3.3), so CLOSRADS uses the supported public
API, as any client would: a JWT from ``POST /auth/token``, then ``PATCH /api/v2/dags/{dag}/dagRuns/{run}``.
The note is a convenience: without the Connection it is off, and any failure is a warning that never
changes the run's result. The password and the token are registered with the secrets masker.

:param airflow_api_conn_id: an ``http`` Connection: host = the API server's base URL (for example
    ``http://airflow-apiserver:8080``), login/password = an Airflow user allowed to edit DAG runs.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from closrads.airflow.masking import mask_secret_forms, redacted
from closrads.core.errors import network_reason

log = logging.getLogger(__name__)

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
            log.info("Run note is off: no Airflow Connection '%s'", self.airflow_api_conn_id)
            return None
        mask_secret_forms(conn.password or "")
        try:
            self._patch_note(conn, dag_id, run_id, note[:MAX_NOTE_CHARS])
        except Exception as exc:  # noqa: BLE001 - a note is never worth failing the run
            reason = str(exc) if isinstance(exc, _ApiRefused) else redacted(network_reason(exc))
            log.warning("Could not set the run's note through the Airflow API (run unaffected): %s", reason)
            return False
        log.info("Run note set: %s", note)
        return True

    def _patch_note(self, conn, dag_id: str, run_id: str, note: str) -> None:
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
            answer = session.patch(
                f"{base}/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}",
                json={"note": note},
                headers={"Authorization": f"Bearer {token}"},
                timeout=self.timeout,
            )
            _check(answer, "setting the note")


class _ApiRefused(Exception):
    """The API answered with an error status; the message names the step and the status only."""


def _check(answer, step: str) -> None:
    if answer.status_code >= 400:
        raise _ApiRefused(f"{step}: HTTP {answer.status_code}")


def _base_url(conn) -> str:
    host = str(conn.host or "").strip().rstrip("/")
    if not host:
        raise _ApiRefused(f"Connection '{conn.conn_id}' has no host (the API server's base URL)")
    if "://" not in host:
        scheme = conn.schema or "http"
        host = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
    return host

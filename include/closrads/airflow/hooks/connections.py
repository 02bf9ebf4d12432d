"""Read an Airflow Connection and fail early, naming the connection and field, when it is incomplete.

A missing password must stop the run before any network call with a message an operator can act
on, not surface later as a confusing 401 or ``NoneType`` error deep inside a client library.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook, Connection
from airflow.sdk.exceptions import AirflowNotFoundException

from closrads.core.errors import ConnectionConfigError


def load_connection(conn_id: str, how_to_create: str) -> Connection:
    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise ConnectionConfigError(
            f"Airflow Connection '{conn_id}' is not defined; create it ({how_to_create})"
        ) from None


def require(conn: Connection, value: Any, field: str, meaning: str) -> str:
    """``value`` as a stripped string; raises when it is missing or empty."""
    text = "" if value is None else str(value).strip()
    if not text:
        raise ConnectionConfigError(f"Airflow Connection '{conn.conn_id}' has no {field} ({meaning})")
    return text


def extras(conn: Connection) -> dict[str, Any]:
    try:
        data = conn.extra_dejson
    except Exception:  # noqa: BLE001 - an unreadable extra is a configuration error to report, not a crash
        data = None
    if not isinstance(data, dict):
        raise ConnectionConfigError(f"Airflow Connection '{conn.conn_id}' has an extra that is not a JSON object")
    return data

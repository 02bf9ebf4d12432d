"""Read an Airflow Connection and fail early, naming the connection and field, when it is incomplete.

A missing password must stop the run before any network call with a message an operator can act
on, not surface later as a confusing 401 or ``NoneType`` error deep inside a client library.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

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


def base_url(conn: Connection, host: str, default_scheme: str) -> str:
    """A Connection's host as a base URL: the scheme (the Connection's schema, else ``default_scheme``)
    and its port added where the host does not carry them, no trailing slash."""
    url = host.strip().rstrip("/")
    if "://" not in url:
        url = f"{conn.schema or default_scheme}://{url}"
    if conn.port and urlsplit(url).port is None:
        url = f"{url}:{conn.port}"
    return url


def extras(conn: Connection) -> dict[str, Any]:
    try:
        data = conn.extra_dejson
    except Exception:  # noqa: BLE001 - an unreadable extra is a configuration error to report, not a crash
        data = None
    if not isinstance(data, dict):
        raise ConnectionConfigError(f"Airflow Connection '{conn.conn_id}' has an extra that is not a JSON object")
    return data


# Airflow's secrets masker leaves values shorter than this alone (it would hide every "a" and "is").
MIN_SECRET_LENGTH = 5


def require_secret(conn: Connection, value: Any, field: str, meaning: str) -> str:
    """A secret that Airflow can hide in logs: present, and not shorter than the masker's minimum."""
    text = require(conn, value, field, meaning)
    if len(text) < MIN_SECRET_LENGTH:
        raise ConnectionConfigError(
            f"Airflow Connection '{conn.conn_id}' has a {field} of fewer than {MIN_SECRET_LENGTH} characters "
            f"({meaning}): Airflow cannot hide so short a secret in its logs; set the real one"
        )
    return text


def require_https(conn: Connection, url: str, field: str) -> str:
    """A URL that credentials may be sent to: https, or http to this machine's loopback (the sandbox).

    The CLOSRTECH password and the Graph token travel in the request; over plain http to another host
    anyone on the path reads them. Refused before any request, naming the Connection and field (never
    the URL itself, which may carry user info)."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme == "https" and host:
        return url
    if scheme == "http" and _loopback(host):
        return url
    raise ConnectionConfigError(
        f"Airflow Connection '{conn.conn_id}': its {field} is not https ({scheme or 'no scheme'}:// to "
        f"{'a host' if host else 'no host'}): its credentials would travel unencrypted; use https "
        "(plain http only to this machine, 127.0.0.1 or localhost)"
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

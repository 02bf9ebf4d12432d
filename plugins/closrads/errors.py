"""Exceptions the hooks raise. Their messages are safe to log and post: no secret, no request URL.

``transient`` tells the task layer whether waiting could help; everything else fails the task at
once, so bad data or a rejected token is never retried (neither in-task nor by Airflow).
"""

from __future__ import annotations

import re

from airflow.sdk.exceptions import AirflowFailException

_OS_ERROR = re.compile(r"\[Errno -?\d+\] [^'\")]+")


class ClosradsError(Exception):
    transient = False


class ConnectionConfigError(ClosradsError):
    """An Airflow Connection is missing, or lacks a field the hook needs."""


class ClosrtechUnavailable(ClosradsError):
    """CLOSRTECH could not be reached or answered 5xx/429; worth retrying."""

    transient = True


class ClosrtechRejected(ClosradsError):
    """CLOSRTECH refused the request (4xx): wrong credentials, host or campaign."""


class GraphError(ClosradsError):
    """The Graph API refused or failed a call."""

    def __init__(self, message: str, *, code: int | None = None, transient: bool = False):
        super().__init__(message)
        self.code = code
        self.transient = transient


class InvalidAccessToken(GraphError):
    """Graph error 190: the System User token is wrong, expired or revoked."""


def network_reason(exc: Exception) -> str:
    """A short cause (``[Errno 111] Connection refused``) without the URL that ``requests`` quotes."""
    found = _OS_ERROR.search(str(exc))
    return found.group(0).strip() if found else type(exc).__name__


class RunFailedAfterReport(AirflowFailException):
    """Raised by ``report`` after it delivered a report that says the run failed.

    The run must end failed, but the failure alert for it would repeat the report.
    """

"""The errors CLOSRADS raises on purpose. Their messages are safe to log and post as they are:
no secret, no request URL, no quoted external body.

``transient`` tells the task layer whether waiting could help. Everything else fails at once and
is never retried automatically, so bad data or a rejected token waits for a person.
"""

from __future__ import annotations

import re

_OS_ERROR = re.compile(r"\[Errno -?\d+\] [^'\")]+")


class ClosradsError(Exception):
    """Base class: an anticipated failure with an operator-readable message."""

    transient = False


class ConnectionConfigError(ClosradsError):
    """An Airflow Connection is missing, or lacks a field a hook needs."""


class DemandDataError(ClosradsError):
    """CLOSRTECH answered, but with data that must not be applied. Retrying will not fix it."""


class ClosrtechUnavailable(ClosradsError):
    """CLOSRTECH could not be reached or answered 5xx/429; worth retrying."""

    transient = True


class ClosrtechRejected(ClosradsError):
    """CLOSRTECH refused the request (4xx): wrong credentials, host or campaign."""


class GraphError(ClosradsError):
    """The Graph API refused or failed a call. ``retry_after``: seconds Meta says it needs (throttling)."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        transient: bool = False,
        retry_after: float | None = None,
        blamed_field: str | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.transient = transient
        self.retry_after = retry_after
        self.blamed_field = blamed_field  # the field Meta blames (``targeting.instagram_positions``), when it does


class InvalidAccessToken(GraphError):
    """Graph error 190: the System User token is wrong, expired or revoked."""


class TargetingConflict(ClosradsError):
    """The ad set's targeting is in a shape CLOSRADS must not change automatically."""


class UnusableTargeting(ClosradsError):
    """The ad set's targeting was read incomplete: writing on top of it would wipe what a person set."""


class CampaignTooLarge(ClosradsError):
    """More ACTIVE ad sets than Airflow may map to task instances: refused before anything is written."""


class GuardStateUnavailable(ClosradsError):
    """The state a safety guard needs could not be read (or recorded): retry, never write without it."""

    transient = True


class StaleRunRefused(ClosradsError):
    """A newer run already applied newer demand; writing this run's demand would undo it."""


def network_reason(exc: Exception) -> str:
    """A short cause (``[Errno 111] Connection refused``) without the URL that ``requests`` quotes."""
    found = _OS_ERROR.search(str(exc))
    return found.group(0).strip() if found else type(exc).__name__

"""In-task retries of transient errors with explicit backoff schedules (tenacity), shared by both hooks.

Only errors marked ``transient`` are retried: network errors, timeouts, HTTP 5xx/429, Graph's
throttling and temporary codes. CLOSRTECH waits 4 s, 8 s, 16 s; Facebook 5 s, 10 s, 20 s (it
recovers more slowly from throttling). An error that says how long to wait (``retry_after``:
Meta's estimate for a throttled ad account) waits at least that long. Every wait goes through
:func:`pause`, the single place the tests replace to make retries instant and to see the waits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

T = TypeVar("T")

CLOSRTECH_BACKOFF = (4.0, 8.0, 16.0)
GRAPH_BACKOFF = (5.0, 10.0, 20.0)


def pause(seconds: float) -> None:
    """Wait between two attempts."""
    time.sleep(seconds)


def call_with_backoff(func: Callable[[], T], *, delays: tuple[float, ...], what: str, log: logging.Logger) -> T:
    """Call ``func``; on a transient error wait ``delays[i]`` seconds and try again, then give up."""

    def announce(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0
        log.warning(
            "%s failed (attempt %d of %d): %s; retrying in %.3g s",
            what,
            state.attempt_number,
            len(delays) + 1,
            error,
            wait,
        )

    retrying = Retrying(
        retry=retry_if_exception(lambda exc: getattr(exc, "transient", False)),
        stop=stop_after_attempt(len(delays) + 1),
        wait=lambda state: _wait(state, delays),
        before_sleep=announce,
        sleep=lambda seconds: pause(seconds),  # looked up at call time, so a test's replacement applies
        reraise=True,
    )
    return retrying(func)


def _wait(state: RetryCallState, delays: tuple[float, ...]) -> float:
    """The schedule's delay for this attempt, or longer when the error says it needs longer."""
    scheduled = delays[min(state.attempt_number, len(delays)) - 1]
    error = state.outcome.exception() if state.outcome else None
    return max(scheduled, float(getattr(error, "retry_after", None) or 0))

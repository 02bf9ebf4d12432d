"""In-task retries with a fixed backoff schedule (tenacity), shared by both hooks.

Only errors marked ``transient`` are retried; the schedule is explicit (4 s, 8 s, 16 s for
CLOSRTECH; 5 s, 10 s, 20 s for Facebook, which recovers more slowly from throttling).
``CLOSRADS_RETRY_DELAY_SCALE`` multiplies every wait; the test suite sets it so a retried call
takes milliseconds, production leaves it unset.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_chain, wait_fixed

T = TypeVar("T")

CLOSRTECH_BACKOFF = (4.0, 8.0, 16.0)
GRAPH_BACKOFF = (5.0, 10.0, 20.0)
SCALE_ENV = "CLOSRADS_RETRY_DELAY_SCALE"


def call_with_backoff(func: Callable[[], T], *, delays: tuple[float, ...], what: str, log: logging.Logger) -> T:
    """Call ``func``; on a transient error wait ``delays[i]`` seconds and try again, then give up."""
    scale = float(os.environ.get(SCALE_ENV) or 1.0)

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
        wait=wait_chain(*(wait_fixed(delay * scale) for delay in delays)),
        before_sleep=announce,
        reraise=True,
    )
    return retrying(func)

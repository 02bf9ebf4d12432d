"""How a CLOSRADS task fails: it records its message for the report first, then fails the right way.

Each task takes small JSON values and returns small JSON values (XCom) and fails with a message an
operator can act on. Errors that waiting cannot fix raise ``AirflowFailException``, so Airflow never
retries bad data, a rejected token or a permanent Graph error; transient ones are raised as they are,
so Airflow's task retries take them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from airflow.sdk.exceptions import AirflowFailException

from closrads.airflow.masking import redacted
from closrads.airflow.xcom import XComKey
from closrads.core.errors import ClosradsError
from closrads.core.report import AdSetOutcome, Outcome

log = logging.getLogger(__name__)


@contextmanager
def failing_cleanly(record: Callable[[str], None], prefix: str = "") -> Iterator[None]:
    """Record a failing task's message for the report (``record``), then fail the task.

    CLOSRADS's own errors (:class:`~closrads.core.errors.ClosradsError`) carry clean, secret-free
    messages; unless they are transient they fail with ``AirflowFailException``, so Airflow never
    retries them. Anything else is a bug: recorded with secrets masked, re-raised as it is.
    """
    try:
        yield
    except ClosradsError as exc:
        record(str(exc))
        if exc.transient:
            raise
        raise AirflowFailException(f"{prefix}{exc}") from None
    except Exception as exc:
        record(redacted(f"{type(exc).__name__}: {exc}"))
        raise


def recording_step_errors(ti) -> Iterator[None]:
    """``failing_cleanly`` for the preparation steps: the message goes to XCom for the report."""
    return failing_cleanly(lambda message: ti.xcom_push(key=XComKey.STEP_ERROR, value=message))


@contextmanager
def recording_adset_outcome(ti, outcome: AdSetOutcome) -> Iterator[None]:
    """Push exactly one outcome for the ad set under XCom ``adset_outcome``, also when the work fails."""
    label = outcome.label

    def record_failure(message: str) -> None:
        outcome.outcome, outcome.error = Outcome.FAILED, message
        ti.xcom_push(key=XComKey.ADSET_OUTCOME, value=outcome.to_dict())
        log.error("Ad set %s failed: %s", label, message)

    with failing_cleanly(record_failure, prefix=f"ad set {label}: "):
        yield
    ti.xcom_push(key=XComKey.ADSET_OUTCOME, value=outcome.to_dict())

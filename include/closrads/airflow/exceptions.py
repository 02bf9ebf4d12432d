"""Exceptions that only make sense inside Airflow."""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowFailException


class RunFailedAfterReport(AirflowFailException):
    """Raised by ``report`` after it delivered a report that says the run failed.

    The run must end failed, but a failure alert for it would repeat the report.
    """

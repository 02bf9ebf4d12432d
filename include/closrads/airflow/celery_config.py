"""Airflow's Celery configuration, plus what CLOSRADS's task processes need imported in the worker.

``docker-compose.yaml`` points ``AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS`` here. The Celery worker
imports the modules in ``imports`` once, before it forks its pool processes, and every task process
is forked from a pool process: so a task starts with the Facebook SDK, the Slack provider, Airflow's
DAG loading and CLOSRADS already imported (:mod:`closrads.airflow.preload`) instead of importing
them itself, once per ad set.
"""

from __future__ import annotations

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

PRELOAD_MODULE = "closrads.airflow.preload"

CELERY_CONFIG = {
    **DEFAULT_CELERY_CONFIG,
    "imports": [*DEFAULT_CELERY_CONFIG.get("imports", ()), PRELOAD_MODULE],
}

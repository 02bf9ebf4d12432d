"""The ``closrads_rollback`` tasks (TaskFlow): undo the targeting writes of one ``closrads_sync`` run.

Declarations only, like :mod:`closrads.airflow.sync.tasks`: what each task does is in
:mod:`closrads.airflow.rollback.run`, imported inside the task, so parsing the DAG file does not load it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import TriggerRule, task


@task
def plan_rollback() -> list[dict[str, Any]]:
    """The writes of the requested run of the campaign's sync, one per ad set (first state before, last
    state after), from the campaign's own audit trail only: it never sees another campaign's writes."""
    from closrads.airflow.rollback import run

    return run.plan_rollback()


@task(map_index_template="{{ adset_label }}")
def rollback_adset(change: dict[str, Any], mode: dict) -> None:
    """Put back one ad set's US states from before the sync run's write, if nobody changed it since."""
    from closrads.airflow.rollback import run

    run.rollback_adset(change, mode)


@task(trigger_rule=TriggerRule.ALL_DONE)
def report_rollback(changes: list[dict] | None, outcomes: Sequence[dict]) -> None:
    """Report what the rollback did, like the sync's report, then fail if anything failed."""
    from closrads.airflow.rollback import run

    run.report_rollback(changes, outcomes)

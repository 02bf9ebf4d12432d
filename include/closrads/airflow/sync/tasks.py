"""The ``closrads_sync`` tasks (TaskFlow), as the DAG factory wires them together.

Each task here only declares itself (its arguments, label, trigger rule and docs); what it does is
in :mod:`closrads.airflow.sync.run`, imported inside the task. So parsing a DAG file, which Airflow does
every 30 seconds per file and once more in every task process, loads none of it: not the hooks, the
report, the Slack messages or the rules (Airflow's "top-level code" best practice; ``make
bench-parse`` measures it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import TriggerRule, task

from closrads.core.names import SPEND_TASK_ID


@task(multiple_outputs=False)
def fetch_demand() -> dict[str, Any]:
    """Resolve the run's mode, then fetch, validate and filter CLOSRTECH demand, and record it.

    Returns ``{"states": {"OH": 15, ...}, "fetched_at": <UTC ISO time>}``. The mode is pushed first,
    under its own key, so the report can state it even when the demand is refused.
    """
    from closrads.airflow.sync import run

    return run.fetch_demand()


@task(multiple_outputs=False)
def map_regions(demand: dict[str, Any]) -> dict[str, Any]:
    """USPS codes -> Facebook regions, and the states the run asks of its ad sets after learning-phase
    protection (off unless set); aborts the run when nothing maps (Facebook is never called)."""
    from closrads.airflow.sync import run

    return run.map_regions(demand)


@task
def list_adsets(mapping: dict[str, Any]) -> list[dict[str, Any]]:
    """The campaign's ACTIVE ad sets, sorted by id so map indexes stay stable between retries, each with
    its planned change (US states added and removed), which ``approve_changes`` shows and holds to."""
    from closrads.airflow.sync import run

    return run.list_adsets(mapping)


# Its requests are tried once and bounded (30 s each, 90 s for all pages); should the task hang beyond
# that anyway, Airflow stops it: the report waits for it, and its figure never changes a write.
@task(task_id=SPEND_TASK_ID, execution_timeout=timedelta(minutes=3))
def measure_spend(demand: dict[str, Any]) -> dict[str, Any]:
    """The campaign's spend per US state (yesterday and the last 7 days, from Meta's Insights) against the
    run's demand, for the report. Beside the listing, never upstream of a write: it changes nothing that
    is written and never fails the run (spend it cannot read is reported as unavailable, with why)."""
    from closrads.airflow.sync import spend

    return spend.measure_spend(demand)


@task(map_index_template="{{ adset_label }}")
def update_adset(adset: dict[str, Any], order: dict[str, Any]) -> None:
    """Bring one ad set's regions in line with demand, reading its targeting fresh first; a live write
    must be one the change guard allowed (``order``: the run's write order, from ``approve_changes``).
    Records exactly one outcome under XCom ``adset_outcome``, also when it fails."""
    from closrads.airflow.sync import run

    run.update_adset(adset, order)


@task(trigger_rule=TriggerRule.ALL_DONE)
def report(
    demand: dict[str, Any] | None,
    mapping: dict[str, Any] | None,
    adsets: list[dict[str, Any]] | None,
    outcomes: Sequence[dict],
    spend: dict[str, Any] | None = None,
) -> None:
    """Report what the run did, from what its tasks produced (to the log, XCom, Slack and the run's
    note), then fail if anything failed. Runs whatever happened upstream (``all_done``)."""
    from closrads.airflow.sync import run

    run.report(demand, mapping, adsets, outcomes, spend)

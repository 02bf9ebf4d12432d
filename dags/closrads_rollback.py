"""
### CLOSRADS rollback: undo the targeting changes of one `closrads_sync` run

Manual only. Give it the run id of a `closrads_sync` run (Grid view, or the run list). For every ad
set that run wrote (its audit records: Assets > `closrads_adset_<id>`), the rollback reads the ad set
fresh and, **if its US states are still exactly what that run wrote**, puts back the US states it had
before. Every other targeting field, and regions of other countries, stay as they are now. An ad set
changed since (by a person, or a later run) is refused and named.

| param | meaning |
|---|---|
| `run_id` | the `closrads_sync` run to undo (required) |
| `dry_run` | default on: Meta validates each undo, nothing changes. Untick to write |
| `adset_ids` | only these ad sets (default: every ad set the run wrote) |
| `stop_live_schedule` | default on: a live rollback sets `closrads_dry_run` to `true` (no re-apply by the schedule) |

Its writes are audited like the sync's, a cleared `update_adset` of an older sync run refuses to
write over it, and it posts its own Slack report. The rules: `docs/design.md`, "Undo".
"""

from __future__ import annotations

from airflow.sdk import Param, dag

from closrads.airflow.defaults import DAG_DEFAULTS, dry_run_param
from closrads.airflow.rollback import plan_rollback, report_rollback, rollback_adset
from closrads.airflow.tasks import XComKey


@dag(
    dag_id="closrads_rollback",
    schedule=None,  # manual only
    doc_md=__doc__,
    **DAG_DEFAULTS,  # retries, Slack alerts, one run at a time, a 2 h timeout
    params={
        "run_id": Param(
            "",
            type="string",
            minLength=1,
            title="closrads_sync run to undo",
            description="The run id, e.g. scheduled__2026-12-01T13:00:00+00:00",
        ),
        "dry_run": dry_run_param("Let Meta validate each undo, change nothing. Untick to write."),
        "adset_ids": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Only these ad sets",
            description="Ad set ids; empty: every ad set the run wrote.",
        ),
        "stop_live_schedule": Param(
            True,
            type="boolean",
            title="Stop the live schedule",
            description="A live rollback sets closrads_dry_run to true.",
        ),
    },
)
def closrads_rollback():
    changes = plan_rollback()
    undone = rollback_adset.partial(mode=changes[XComKey.RUN_MODE]).expand(change=changes)
    report_rollback(changes=changes, outcomes=undone[XComKey.ADSET_OUTCOME])


closrads_rollback()

"""``make bench``'s second yardstick: the floor plus the Airflow mechanisms each ad set's task uses.

``bench_airflow_floor`` does nothing per mapped instance. ``closrads_sync``'s ``update_adset`` also
uses, because the design asks for them, Airflow's own mechanisms that cost per instance whatever the
code in between: the DAG's trigger form (three boolean Params, which Airflow validates in every task
process), alert callbacks, the run's write order read from an upstream XCom, the stale guard's
Variable read, one outcome pushed as XCom, one log line of the run mode and one asset event through
the campaign's alias (the audit record); and the ``all_done`` report downstream that reads every
outcome (the scheduler weighs its trigger rule against every mapped instance). This DAG does exactly
those with none of CLOSRADS's code (no hooks, no Graph, no rules), on rows and values of the sync's
sizes, so that the sync's figures minus these are what CLOSRADS's own code costs per ad set. Not a
CLOSRADS DAG: the benchmark's private Airflow alone loads it.
"""

from __future__ import annotations

import logging

import pendulum
from airflow.sdk import Asset, AssetAlias, Param, TriggerRule, Variable, dag, get_current_context, task

ALIAS = AssetAlias("bench_mechanisms")
# The sync's benchmark demand asks for 37 states; each ad set gains 3 and loses 3.
STATES = [f"S{number:02d}" for number in range(37)]
REGIONS = [{"key": str(3843 + number), "name": f"State {number:02d}", "country": "US"} for number in range(37)]
log = logging.getLogger(__name__)


def noticed(context) -> None:
    """An alert callback in the place of CLOSRADS's (they run only when a task fails or retries)."""


@dag(
    schedule="0 13 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    params={
        "dry_run": Param(True, type="boolean", title="Dry run", description="the sync's three checkboxes"),
        "require_approval": Param(False, type="boolean", title="Require approval", description="as the sync's"),
        "force": Param(False, type="boolean", title="Ignore learning-phase protection", description="as the sync's"),
    },
    default_args={"on_failure_callback": [noticed], "on_retry_callback": [noticed]},
)
def bench_airflow_mechanisms():
    @task
    def list_items() -> list[dict]:
        count = int(get_current_context()["dag_run"].conf["n"])
        # a planned row of the sync's shape: id, name and the states the plan adds and removes
        return [
            {"id": f"1202155{i:08d}", "name": f"Generated {i:05d}", "added": STATES[:3], "removed": ["AK", "MA", "VT"]}
            for i in range(count)
        ]

    @task
    def write_order() -> dict:
        # the sync's write order: the mode, the states by region key, the demand time, the decision
        return {
            "mode": {"dry_run": False, "reason": "manual run, dry_run param is false"},
            "policy": {"region_keys": [region["key"] for region in REGIONS], "add": STATES, "keep": []},
            "fetched_at": "2026-12-07T13:00:00+00:00",
            "approval": {"decision": "not_needed"},
        }

    @task(map_index_template="{{ item_label }}", pool="closrads_graph", outlets=[ALIAS])
    def each_item(item: dict, order: dict) -> None:
        context = get_current_context()
        context["item_label"] = f"{item['name']} ({item['id']})"
        log.info("Run mode: %s - ad set targeting will be written to Facebook", order["mode"]["reason"])
        Variable.get("bench_last_applied_demand", default=None)  # the stale guard's record
        extra = {"adset_id": item["id"], "run_id": context["run_id"], "regions_before": REGIONS}
        extra |= {"regions_after": REGIONS, "added": item["added"], "removed": item["removed"]}  # the record's size
        asset = Asset(name=f"bench_adset_{item['id']}", uri=f"bench://adsets/{item['id']}")
        context["outlet_events"][ALIAS].add(asset, extra=extra)
        context["ti"].xcom_push("adset_outcome", {"adset_id": item["id"], "outcome": "updated", "added": item["added"]})

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def report(outcomes: list[dict]) -> None:
        log.info("%d outcomes", len(outcomes[:]))  # one request for them all, as the sync's report reads them

    items = each_item.partial(order=write_order()).expand(item=list_items())
    report(items["adset_outcome"])


bench_airflow_mechanisms()

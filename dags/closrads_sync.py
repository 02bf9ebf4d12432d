"""
### CLOSRADS: daily CLOSRTECH demand -> Facebook ad set geo targeting

Every day this DAG reads how many leads CLOSRTECH still wants per US state and rewrites the
state targeting (`targeting.geo_locations.regions`) of the **ACTIVE** ad sets of one Facebook
campaign to exactly the states that want leads. Every other targeting field is preserved.

| task | does |
|---|---|
| `fetch_demand` | GET CLOSRTECH `demand.php`; refuses invalid JSON, bad values, empty or all-zero demand |
| `map_regions` | USPS codes -> Facebook region keys; unknown codes dropped with a warning; aborts if none map |
| `list_adsets` | lists the campaign's ad sets (all pages), keeps `effective_status == ACTIVE` |
| `update_adset` | one instance per ad set (labelled *name (id)*): fresh read, set comparison, deep-copied write |
| `report` | always runs; logs the report (Slack too when configured); fails the run if anything failed |

**Safe by default.** Manual runs follow the `dry_run` param of the trigger form (default: on).
Scheduled runs follow the Variable `closrads_dry_run` (unset or unreadable: dry). Set it to
`false` to make the daily schedule live. Dry runs read and compare everything and report what
*would* change, but write nothing.

**Re-running.** Clear one `update_adset` instance to retry that ad set alone with this run's
demand; it re-reads the ad set first. A cleared task of an older run refuses to write once a
newer run has applied newer demand. Transient CLOSRTECH/Graph errors are retried inside the
task; bad data and permanent errors fail at once and are never retried automatically.

**Alerts.** With the `closrads_slack` Connection, each failed task posts an alert, `report` posts
the run's summary, and a run that fails without a task failure (it exceeded its 2 h
`dagrun_timeout`, say) posts a run alert.

**Connections:** `closrtech_default` (http), `facebook_ads_default` (generic),
`closrads_slack` (slackwebhook, optional). See the project README.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

from closrads.alerts import alert_run_failure, alert_task_failure

# The task bodies live in plugins/closrads/steps.py and are imported inside each task, so
# parsing this file never imports requests or facebook_business.


@dag(
    dag_id="closrads_sync",
    schedule="0 13 * * *",  # 13:00 UTC: morning in the US, after CLOSRTECH refreshes its demand
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    # A hung run must not block the next day's run (max_active_runs=1); the sync takes minutes.
    dagrun_timeout=timedelta(hours=2),
    on_failure_callback=alert_run_failure,
    doc_md=__doc__,
    tags=["closrads", "facebook-ads"],
    default_args={"owner": "closrads", "retries": 0, "on_failure_callback": alert_task_failure},
    params={
        "dry_run": Param(
            True,
            type="boolean",
            title="Dry run",
            description="Read and compare everything, write nothing to Facebook. Untick to apply the changes.",
        ),
    },
)
def closrads_sync():
    # multiple_outputs=False: a `-> dict` annotation would otherwise split each result into one
    # XCom per key.
    @task(multiple_outputs=False)
    def fetch_demand() -> dict:
        from closrads import steps

        return steps.fetch_demand(get_current_context())

    @task(multiple_outputs=False)
    def map_regions(demand: dict) -> dict:
        from closrads import steps

        return steps.map_regions(demand, get_current_context())

    @task
    def list_adsets() -> list[dict]:
        from closrads import steps

        return steps.list_adsets(get_current_context())

    @task(map_index_template="{{ adset_label }}", multiple_outputs=False)
    def update_adset(adset: dict, mapping: dict, demand: dict) -> dict:
        from closrads import steps

        return steps.update_adset(adset, mapping, demand, get_current_context())

    @task(trigger_rule="all_done", multiple_outputs=False)
    def report() -> dict:
        from closrads import steps

        return steps.report(get_current_context())

    demand = fetch_demand()
    mapping = map_regions(demand)
    adsets = list_adsets()
    mapping >> adsets
    update_adset.partial(mapping=mapping, demand=demand).expand(adset=adsets) >> report()


closrads_sync()

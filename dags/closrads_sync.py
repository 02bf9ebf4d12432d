"""
### CLOSRADS: daily CLOSRTECH demand -> Facebook ad set geo targeting

Every day this DAG reads how many leads CLOSRTECH still wants per US state and rewrites the
state targeting (`targeting.geo_locations.regions`) of the **ACTIVE** ad sets of one Facebook
campaign to exactly the states that want leads. Every other targeting field is preserved.

| task | does |
|---|---|
| `fetch_demand` | resolves the run's mode once; GETs CLOSRTECH `demand.php`; refuses bad or all-zero demand |
| `map_regions` | USPS codes -> Facebook region keys; unknown codes dropped with a warning; aborts if none map |
| `list_adsets` | lists the campaign's ad sets (all pages), keeps `effective_status == ACTIVE`, plans each change |
| `approve_changes` | live runs only: waits for a person when a change is large (the change guard); else passes |
| `update_adset` | one instance per ad set (labelled *name (id)*): fresh read, set comparison, deep-copied write |
| `report` | always runs; logs the report (Slack too when configured); fails the run if anything failed |

**Safe by default.** Manual runs follow the `dry_run` param of the trigger form (default: on).
Scheduled runs follow the Variable `closrads_dry_run` (unset or unreadable: dry). Set it to
`false` to make the daily schedule live. Dry runs read and compare everything and report what
*would* change, but write nothing. The mode is decided once, when the run starts.

**Re-running.** Clear one `update_adset` instance to retry that ad set alone with this run's
demand and mode; it re-reads the ad set first. A cleared task of an older run refuses to write
once a newer run has applied newer demand. Transient CLOSRTECH/Graph errors are retried inside
the task; a task that still fails for such a reason, or whose process died (lost worker, failed
heartbeats), is retried by Airflow twice, after 20 s and 40 s. Bad data, permanent errors and refusals
fail at once and are never retried automatically.

**Change guard.** A live run in which one ad set would gain or lose more states than the Variable
`closrads_approval_threshold` (default 10; 0: any change), or that was triggered with
`require_approval`, waits in `approve_changes` for Approve or Reject (the UI's *Required actions*,
or the REST API), at most `closrads_approval_timeout_minutes` (default 60). Approve writes exactly
the plan it showed; Reject or no answer writes nothing. Slack says when a run waits.

**Alerts.** With the `closrads_slack` Connection, each failed try posts one alert (saying whether
Airflow retries it), `report` posts
the run's summary, and a run that fails without a task failure (it exceeded its 2 h
`dagrun_timeout`, say) posts a run alert.

**Connections:** `closrtech_default` (http), `facebook_ads_default` (generic),
`closrads_slack` (slackwebhook, optional). The rules behind all this: `docs/design.md`.
"""

from __future__ import annotations

from airflow.sdk import Param, dag

from closrads.airflow.approval import APPROVE_TASK_ID, REQUIRE_APPROVAL_PARAM, ChangeApprovalOperator
from closrads.airflow.defaults import DAG_DEFAULTS, dry_run_param
from closrads.airflow.tasks import XComKey, fetch_demand, list_adsets, map_regions, report, update_adset


@dag(
    dag_id="closrads_sync",
    schedule="0 13 * * *",  # 13:00 UTC: morning in the US, after CLOSRTECH refreshes its demand
    doc_md=__doc__,
    **DAG_DEFAULTS,  # retries, Slack alerts, one run at a time, a 2 h timeout
    params={
        "dry_run": dry_run_param(
            "Read and compare everything, write nothing to Facebook. Untick to apply the changes."
        ),
        REQUIRE_APPROVAL_PARAM: Param(
            False,
            type="boolean",
            title="Require approval",
            description="Live runs wait for a person to approve any change, however small (dry runs never wait).",
        ),
    },
)
def closrads_sync():
    demand = fetch_demand()
    mapping = map_regions(demand)
    adsets = list_adsets(mapping)  # bad demand never reaches Facebook: no listing without a mapping
    mode = demand[XComKey.RUN_MODE]  # resolved once by fetch_demand; every later task uses that mode
    approval = ChangeApprovalOperator(
        task_id=APPROVE_TASK_ID, planned=adsets, mode=mode, mapping=mapping, demand=demand
    )
    # Each ad set's task reads its own row and the run's write order (mode, regions, demand time, decision).
    updates = update_adset.partial(order=approval.output[XComKey.WRITE_ORDER]).expand(adset=adsets)
    report(demand=demand, mapping=mapping, adsets=adsets, outcomes=updates[XComKey.ADSET_OUTCOME])


closrads_sync()

"""The CLOSRADS DAGs of one campaign, built from its registry entry (Airflow's dynamic DAG generation).

``dags/closrads_sync.py`` and ``dags/closrads_rollback.py`` call :func:`sync_dag` and
:func:`rollback_dag` once per campaign of the registry (:mod:`closrads.core.campaigns`); without a
registry that is the default campaign alone, whose DAGs are ``closrads_sync`` and ``closrads_rollback``
as they have always been. Every campaign gets the whole contract: the same tasks, params, dry-by-default
mode, change guard, stale guard, audit trail, rollback, alerts and run notes, under its own names.

What differs between campaigns is decided here and in the registry only: the DAG ids, tags,
schedule, the Graph pool (one per ad account) and the audit alias; the tasks find the rest (their
Connections, Variables, Slack) from their DAG id at run time (:mod:`closrads.airflow.task_run`).
Parse-time work is building the DAG objects: no network, Variable or Connection read.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param, dag, get_parsing_context

from closrads.airflow.audit_trail import targeting_changes
from closrads.airflow.defaults import DAG_DEFAULTS, dry_run_param
from closrads.airflow.rollback.tasks import plan_rollback, report_rollback, rollback_adset
from closrads.airflow.sync.approval_operator import APPROVE_TASK_ID, ChangeApprovalOperator
from closrads.airflow.sync.tasks import fetch_demand, list_adsets, map_regions, measure_spend, report, update_adset
from closrads.airflow.xcom import XComKey
from closrads.core.campaigns import Campaign, load_registry
from closrads.core.names import FORCE_PARAM, REQUIRE_APPROVAL_PARAM

SYNC_DOC = """
### CLOSRADS{title}: daily CLOSRTECH demand -> Facebook ad set geo targeting

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
| `measure_spend` | the campaign's spend per state (Meta's Insights) against demand; never fails the run |
| `report` | always runs; logs the report (Slack too when configured); fails the run if anything failed |

**Safe by default.** Manual runs follow the `dry_run` param of the trigger form (default: on).
Scheduled runs follow the Variable `{c.dry_run_variable}` (unset or unreadable: dry). Set it to
`false` to make the daily schedule live. Dry runs read and compare everything and report what
*would* change, but write nothing. The mode is decided once, when the run starts.

**Re-running.** Clear one `update_adset` instance to retry that ad set alone with this run's
demand and mode; it re-reads the ad set first. A cleared task of an older run refuses to write
once a newer run has applied newer demand. Transient CLOSRTECH/Graph errors are retried inside
the task; a task that still fails for such a reason, or whose process died (lost worker, failed
heartbeats), is retried by Airflow twice, after 20 s and 40 s. Bad data, permanent errors and refusals
fail at once and are never retried automatically.

**Change guard.** A live run in which one ad set would gain or lose more states than the Variable
`{c.approval_threshold_variable}` (default {c.approval_threshold}; 0: any change), or that was triggered with
`require_approval`, waits in `approve_changes` for Approve or Reject (the UI's *Required actions*,
or the REST API), at most `{c.approval_timeout_variable}` (default {c.approval_timeout_minutes}). Approve writes exactly
the plan it showed; Reject or no answer writes nothing. Slack says when a run waits.

**Learning phase.** Off unless set (the registry entry's `learning_phase`, overridden by the
Variable `{c.learning_phase_variable}`, e.g.
`{{"min_edit_interval_hours": 72, "add_at_demand": 3, "remove_after_zero_runs": 3}}`): fewer edits of
each ad set, so flickering demand does not keep restarting Meta's learning phase. Every change it holds
back is named in the report, with until when; tick `ignore_learning_phase` to apply everything now.

**Alerts.** With the `{slack}` Connection, each failed try posts one alert (saying whether
Airflow retries it), `report` posts
the run's summary, and a run that fails without a task failure (it exceeded its 2 h
`dagrun_timeout`, say) posts a run alert.

**Connections:** `{c.closrtech_conn_id}` (CLOSRTECH), `{c.facebook_conn_id}` (Facebook Ads (CLOSRADS)),
`{slack}` (slackwebhook, optional). **Undo a run:** `{c.rollback_dag_id}`. The rules behind all this: `docs/design.md`.
"""

ROLLBACK_DOC = """
### CLOSRADS rollback{title}: undo the targeting changes of one `{c.sync_dag_id}` run

Manual only. Give it the run id of a `{c.sync_dag_id}` run (Grid view, or the run list). For every ad
set that run wrote (its audit records: Assets > `{asset}`), the rollback reads the ad set
fresh and, **if its US states are still exactly what that run wrote**, puts back the US states it had
before. Every other targeting field, and regions of other countries, stay as they are now. An ad set
changed since (by a person, or a later run) is refused and named.

| param | meaning |
|---|---|
| `run_id` | the `{c.sync_dag_id}` run to undo (required) |
| `dry_run` | default on: Meta validates each undo, nothing changes. Untick to write |
| `adset_ids` | only these ad sets (default: every ad set the run wrote) |
| `stop_live_schedule` | default on: a live rollback sets `{c.dry_run_variable}` to `true` (no re-apply) |

Its writes are audited like the sync's, a cleared `update_adset` of an older sync run refuses to
write over it, and it posts its own Slack report. The rules: `docs/design.md`, "Undo".
"""


def campaigns_to_build() -> list[Campaign]:
    """The registry's campaigns whose DAGs this parse needs: all of them for the DAG processor, only the
    running DAG's campaign when a task process parses the file to run one task (Airflow's parsing
    context). A task then costs the same CPU with 30 campaigns as with one; building 30 DAGs it will
    never use would cost every task process a sync DAG's parse time (about 5 ms) per campaign."""
    running = get_parsing_context().dag_id
    campaigns = load_registry().campaigns
    if running is None:
        return campaigns
    return [campaign for campaign in campaigns if campaign.owns_dag(running)] or campaigns


def _doc(template: str, campaign: Campaign) -> str:
    intro = f"\n{campaign.description}\n" if campaign.description else ""
    disabled = (
        "\n**Disabled in the campaign registry:** no scheduled runs; manual runs, history and undo remain.\n"
        if not campaign.enabled
        else ""
    )
    text = template.format(
        c=campaign,
        title=f" -{campaign.title}" if campaign.title else "",
        slack=campaign.slack_conn_id or "(none)",
        asset=campaign.adset_asset("<id>")[0],
    )
    head, _, rest = text.partition("\n\n")
    return f"{head}\n{intro}{disabled}\n{rest}"


def _dag_settings(campaign: Campaign, schedule: str | None, doc: str) -> dict:
    return DAG_DEFAULTS | {
        "schedule": schedule,
        "doc_md": _doc(doc, campaign),
        "tags": campaign.tags,
        "description": campaign.description or None,
    }


def sync_dag(campaign: Campaign) -> DAG:
    """The daily sync of one campaign (``closrads_sync`` for the default campaign)."""

    @dag(
        dag_id=campaign.sync_dag_id,
        **_dag_settings(campaign, campaign.scheduled, SYNC_DOC),  # retries, alerts, one run at a time, 2 h
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
            FORCE_PARAM: Param(
                False,
                type="boolean",
                title="Ignore learning-phase protection",
                description=(
                    "Apply every change the demand asks for now, also those the campaign's learning-phase protection "
                    "would hold back (recent edits, small or briefly zero demand). The change guard still applies."
                ),
            ),
        },
    )
    def closrads_sync():
        pool = campaign.graph_pool  # every task that calls Graph: one bound per ad account
        audit = targeting_changes(campaign)  # the audit trail: update_adset writes it (readers: audit.campaign_events)
        demand = fetch_demand()
        mapping = map_regions(demand)
        adsets = list_adsets.override(pool=pool)(mapping)  # bad demand never reaches Facebook
        mode = demand[XComKey.RUN_MODE]  # resolved once by fetch_demand; every later task uses that mode
        approval = ChangeApprovalOperator(
            task_id=APPROVE_TASK_ID, planned=adsets, mode=mode, mapping=mapping, demand=demand
        )
        # Each ad set's task reads its own row and the run's write order (mode, regions, demand time,
        # decision). Not the order inside every row: a mapped task fetches the whole list it is expanded
        # over, so a row's size is paid N times per run (measured: docs/performance.md).
        updates = (
            update_adset.override(pool=pool, outlets=[audit])
            .partial(order=approval.output[XComKey.WRITE_ORDER])
            .expand(adset=adsets)
        )
        # Beside the listing, never upstream of a write; after map_regions, so bad demand calls no Facebook at all.
        spend = measure_spend.override(pool=pool)(demand)
        mapping >> spend
        report.override(pool=pool)(  # reads what the run wrote, across its tries
            demand=demand, mapping=mapping, adsets=adsets, outcomes=updates[XComKey.ADSET_OUTCOME], spend=spend
        )

    return closrads_sync()


def rollback_dag(campaign: Campaign) -> DAG:
    """Undo one run of the campaign's sync (``closrads_rollback`` for the default campaign); manual only."""

    @dag(
        dag_id=campaign.rollback_dag_id,
        **_dag_settings(campaign, None, ROLLBACK_DOC),  # manual only
        params={
            "run_id": Param(
                "",
                type="string",
                minLength=1,
                title=f"{campaign.sync_dag_id} run to undo",
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
                description=f"A live rollback sets {campaign.dry_run_variable} to true.",
            ),
        },
    )
    def closrads_rollback():
        audit = targeting_changes(campaign)
        changes = plan_rollback()
        undone = (
            rollback_adset.override(pool=campaign.graph_pool, outlets=[audit])
            .partial(mode=changes[XComKey.RUN_MODE])
            .expand(change=changes)
        )
        report_rollback(changes=changes, outcomes=undone[XComKey.ADSET_OUTCOME])

    return closrads_rollback()

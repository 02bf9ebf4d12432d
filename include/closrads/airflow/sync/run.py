"""What the ``closrads_sync`` tasks do when they run. :mod:`.tasks` declares the tasks and imports this
module only inside them, so parsing the DAG file never loads it (or what it imports).

Each body resolves its campaign, run and mode once at its start (:class:`~closrads.airflow.task_run.TaskRun`)
and hands its helpers only what they use. It records a failure's message for the report before it
fails (:mod:`closrads.airflow.task_failures`). The rules live in :mod:`closrads.core`; the planning
in :mod:`.planning`; the one write path and the stale guard in :mod:`closrads.airflow.targeting_writes`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import get_current_context

from closrads.airflow.audit_trail import campaign_events, trusted_record
from closrads.airflow.recheck import recheck_uncertain
from closrads.airflow.run_report import (
    RunTasks,
    assemble_report,
    deliver_report,
    fail_unless_succeeded,
    graph_api_fields,
    recorded_approval,
    recorded_mode,
)
from closrads.airflow.sync.planning import (
    hold_outside_changes,
    hold_recent_edits,
    hold_while_learning,
    note_outside_changes,
    outside_change_choice,
    refuse_more_than_airflow_maps,
    run_state_policy,
)
from closrads.airflow.targeting_writes import StaleGuard, write_targeting
from closrads.airflow.task_failures import recording_adset_outcome, recording_step_errors
from closrads.airflow.task_run import TaskRun, announce_mode, decide_mode
from closrads.airflow.xcom import XComKey
from closrads.core.audit import ChangeKind
from closrads.core.change_guard import PlannedChange, check_write_allowed, plan_change
from closrads.core.demand import states_with_demand
from closrads.core.drift import OnOutsideChange
from closrads.core.errors import DemandDataError
from closrads.core.learning_phase import FORCE_PARAM, DemandObservation, policy_of
from closrads.core.learning_state import LearningState, missing_learning_notice
from closrads.core.names import SPEND_TASK_ID
from closrads.core.regions import map_states
from closrads.core.report import AdSetOutcome, Outcome
from closrads.core.targeting import plan_geo_update, render_change, targeting_with_regions, usable_targeting
from closrads.core.write_order import WriteOrder

log = logging.getLogger(__name__)


def fetch_demand() -> dict[str, Any]:
    """:func:`.tasks.fetch_demand`: the run's mode is decided and recorded first, so the report can state
    it even when the demand is refused."""
    context = get_current_context()
    decide_mode(context)
    with recording_step_errors(context["ti"]):
        run = TaskRun.of(context)
        fetched_at = datetime.now(UTC).isoformat()
        demand = run.closrtech_hook().get_demand()
        wanted = states_with_demand(demand)
        log.info(
            "CLOSRTECH demand: %d of %d states want leads (%s); %d at zero",
            len(wanted),
            len(demand),
            ", ".join(wanted),
            len(demand) - len(wanted),
        )
        return {"states": wanted, "fetched_at": fetched_at}


def map_regions(demand: dict[str, Any]) -> dict[str, Any]:
    """:func:`.tasks.map_regions`: the state policy comes from :func:`.planning.run_state_policy`."""
    context = get_current_context()
    with recording_step_errors(context["ti"]):
        run = TaskRun.of(context)
        mapping = map_states(demand["states"])
        if mapping.unmapped:
            log.warning(
                "Dropping %d state code(s) with no Facebook region: %s",
                len(mapping.unmapped),
                ", ".join(mapping.unmapped),
            )
        if not mapping.regions:
            raise DemandDataError(
                f"none of the demand states ({', '.join(mapping.unmapped)}) has a Facebook region; "
                "refusing to clear the targeting of every ad set"
            )
        log.info("Mapped %d states to Facebook regions: %s", len(mapping.states), ", ".join(mapping.states))
        current = DemandObservation(run.run_id, demand["fetched_at"], dict(demand["states"]))
        policy = run_state_policy(run.campaign, current, mapping.regions, forced=run.flag(FORCE_PARAM))
        choice = outside_change_choice(run.campaign)
        log.info("An ad set changed outside CLOSRADS since its last write is handled: %s (on_outside_change)", choice)
        return {
            "regions": mapping.regions,
            "unmapped": mapping.unmapped,
            "policy": policy.to_dict(),
            "on_outside_change": choice.value,
        }


def list_adsets(mapping: dict[str, Any]) -> list[dict[str, Any]]:
    """:func:`.tasks.list_adsets`: one listing (every page), then each ACTIVE ad set planned, held and
    noted (:mod:`.planning`); no other Graph call."""
    context = get_current_context()
    with recording_step_errors(context["ti"]):
        run = TaskRun.of(context)
        hook = run.facebook_hook()
        rows = hook.list_campaign_adsets()
        active = sorted((row for row in rows if row["effective_status"] == "ACTIVE"), key=lambda row: row["id"])
        others = [f"{row['name']} ({row['effective_status']})" for row in rows if row["effective_status"] != "ACTIVE"]
        log.info(
            "Campaign %s: %d ad sets, %d ACTIVE; left alone: %s",
            hook.settings.campaign_id,
            len(rows),
            len(active),
            ", ".join(others) or "none",
        )
        refuse_more_than_airflow_maps(len(active), hook.settings.campaign_id)
        if hook.served_version:  # Meta upgraded the listing's API version: the report says so once
            run.ti.xcom_push(
                key=XComKey.API_VERSION_SERVED,
                value={"asked": hook.settings.api_version, "served": hook.served_version},
            )
        policy = policy_of(mapping)
        plans = [plan_change(row["id"], row["name"], row["targeting"], policy, row.get("learning")) for row in active]
        plans = hold_recent_edits(run.campaign, plans, policy)
        plans = hold_while_learning(plans, policy)
        plans = note_outside_changes(run.campaign, active, plans)
        plans = hold_outside_changes(plans, OnOutsideChange(mapping.get("on_outside_change") or "overwrite"))
        for plan in plans:
            change = plan.error or plan.held_note or render_change(plan.added, plan.removed)
            held = f"; held back: {', '.join(plan.held)}" if plan.held else ""
            meta = f"; {LearningState.from_dict(plan.learning).describe()}" if plan.learning else ""
            log.info("Plan for %s (%s): %s%s%s", plan.name, plan.adset_id, change, held, meta)
        return [plan.to_row() for plan in plans]


def update_adset(adset: dict[str, Any], order: dict[str, Any]) -> None:
    """:func:`.tasks.update_adset`: resolves the run once, then :func:`apply_demand` inside
    :func:`~closrads.airflow.task_failures.recording_adset_outcome`, so exactly one outcome is recorded."""
    context = get_current_context()
    ti = context["ti"]
    outcome = AdSetOutcome(adset["id"], adset["name"], Outcome.FAILED, tries=int(getattr(ti, "try_number", 1) or 1))
    context["adset_label"] = outcome.label  # rendered by map_index_template: the UI shows "name (id)"
    with recording_adset_outcome(ti, outcome):
        write_order = WriteOrder.from_dict(order)
        announce_mode(write_order.mode)
        apply_demand(TaskRun.of(context), outcome, PlannedChange.from_row(adset), write_order)


def apply_demand(run: TaskRun, outcome: AdSetOutcome, planned: PlannedChange, order: WriteOrder) -> None:
    """Write the run's demand to one ad set, read fresh, as the plan the run showed said it would."""
    # reported whatever this ad set's task does now
    outcome.outside_change, outcome.learning = planned.outside_change, planned.learning
    if planned.held_note:  # its whole change waits (edited recently): nothing to read or write now
        outcome.outcome, outcome.held, outcome.held_note = Outcome.HELD, planned.held, planned.held_note
        log.warning("Ad set %s: %s (%s)", outcome.adset_id, planned.held_note, ", ".join(planned.held))
        return
    hook = run.facebook_hook()
    current = hook.get_adset(outcome.adset_id)
    outcome.name = str(current.get("name") or outcome.name)
    status = current.get("effective_status")
    if status and status != "ACTIVE":
        outcome.outcome = Outcome.SKIPPED
        outcome.error = f"it is {status} now (it was ACTIVE when listed); left alone"
        log.warning("Ad set %s is %s now (it was ACTIVE when listed); leaving it alone", outcome.adset_id, status)
        return

    targeting = usable_targeting(current.get("targeting"))  # never a write built from nothing
    regions = order.policy.regions_for(targeting)  # the demand, after learning-phase protection
    plan = plan_geo_update(targeting, regions)  # raises TargetingConflict on a US overlap
    outcome.added, outcome.removed = plan.added, plan.removed
    outcome.held = order.policy.held_for(targeting)
    if outcome.held:
        log.warning("Ad set %s: learning-phase protection holds back %s", outcome.adset_id, ", ".join(outcome.held))
    if not plan.needs_write:
        outcome.outcome = Outcome.HELD if outcome.held else Outcome.SKIPPED
        log.info("Ad set %s already targets the %d states this run asks for; no write", outcome.adset_id, len(regions))
        return  # nothing written: the stale guard's record stays as it is

    stale_guard = StaleGuard(order.fetched_at, run.run_id, run.campaign.applied_demand_variable)

    def before_write() -> None:
        check_write_allowed(plan, planned, order.approval)  # exactly the approved change, or one needing none
        stale_guard.claim()

    write_targeting(
        hook,
        outcome,
        run,
        mode=order.mode,
        current=targeting,
        desired=targeting_with_regions(targeting, regions),
        plan=plan,
        kind=ChangeKind.SYNC,
        before_write=before_write,
    )


def report(
    demand: dict[str, Any] | None,
    mapping: dict[str, Any] | None,
    adsets: list[dict[str, Any]] | None,
    outcomes: Sequence[dict],
    spend: dict[str, Any] | None = None,
) -> None:
    """:func:`.tasks.report`: assembled and delivered by :mod:`closrads.airflow.run_report`; a live run's
    outcomes include what its earlier tries wrote (the audit trail), and uncertain ones are re-read."""
    context = get_current_context()
    run, tasks = TaskRun.of(context), RunTasks.before(context)
    mode = recorded_mode(run.ti, tasks.steps)
    # What the run wrote across its tries (its audit trail): a live run's outcomes include earlier tries.
    writes = {} if mode.dry_run else run_writes(run, context["dag_run"].run_after.isoformat())
    policy = policy_of(mapping) if mapping else None
    api = graph_api_fields(run, tasks.steps)
    if policy and policy.rules.reads_meta and not policy.forced:
        missing = sum(1 for row in adsets or [] if not (row.get("plan") or {}).get("learning"))
        if missing:
            api["notices"] = [*api.get("notices", []), missing_learning_notice(missing, len(adsets))]
    result = assemble_report(
        run,
        tasks,
        title=f"CLOSRADS sync{run.campaign.title}",
        listed=adsets or [],
        outcomes=list(outcomes[:]),
        mode=mode,
        demand_states=sorted((demand or {}).get("states") or {}),
        unmapped_states=(mapping or {}).get("unmapped") or [],
        approval=recorded_approval(run.ti, tasks.steps),
        learning_phase=policy.describe() if policy and (policy.rules.enabled or policy.forced) else None,
        spend=spend if isinstance(spend, dict) else {"unavailable": _why_no_spend(tasks.state(SPEND_TASK_ID))},
        **api,
    )
    if result.rejected:
        for outcome in result.adsets:
            if outcome.outcome == Outcome.NOT_RUN:
                outcome.outcome = Outcome.REJECTED
    for outcome in result.adsets:  # each ad set's outcome says what the run did across all its tries
        if outcome.adset_id in writes:
            outcome.include_earlier_writes(writes[outcome.adset_id])
    if not result.dry_run and policy is not None:
        recheck_uncertain(result.adsets, policy, run.facebook_hook())
    deliver_report(run, result, what="run report")
    problems = [step.describe() for step in result.unfinished_steps] or [
        f"{result.failed_count} of {len(result.adsets)} ad set(s) failed"
    ]
    fail_unless_succeeded(result, "CLOSRADS run", problems)


def _why_no_spend(state: str | None) -> str:
    if state in (None, "upstream_failed", "skipped", "scheduled", "queued"):
        return "not measured (the run stopped before it listed the ad sets: bad demand calls no Facebook)"
    return f"the measure_spend task ended '{state}' without figures"


def run_writes(run: TaskRun, since: str) -> dict[str, list[tuple[int | None, list[str], list[str]]]]:
    """What this run wrote, per ad set and oldest first (``(try, added, removed)``), from the campaign's
    audit trail: the truth about a cleared and re-run ad set, whose last try may have found nothing left
    to do. Reads only the events since the run was queued (``since``, UTC ISO)."""
    writes: dict[str, list[tuple[int | None, list[str], list[str]]]] = {}
    for event in campaign_events(run.campaign).after(since):
        record = trusted_record(event)
        if record is None or record.run_id != run.run_id or record.dag_id != run.dag_id:
            continue
        writes.setdefault(record.adset_id, []).append((record.try_number, record.added, record.removed))
    return writes

"""What the ``closrads_sync`` tasks do when they run. :mod:`closrads.airflow.tasks` declares the tasks
and imports this module only inside them, so parsing the DAG file never loads it (or what it imports).

Each task takes small JSON values and returns small JSON values (XCom) and fails with a message an
operator can act on. Errors that waiting cannot fix raise ``AirflowFailException``, so Airflow never
retries bad data, a rejected token or a permanent Graph error. The rules themselves live in
:mod:`closrads.core`; this module reads, writes and records.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import TaskInstanceState, Variable, conf, get_current_context
from airflow.sdk.exceptions import AirflowFailException

from closrads.airflow.audit import campaign_events, latest_records, record_write, trusted_record
from closrads.airflow.campaign import campaign_of, closrtech_hook, facebook_hook
from closrads.airflow.exceptions import RunFailedAfterReport
from closrads.airflow.guard_state import read_variable
from closrads.airflow.hooks.airflow_api import AirflowApiHook
from closrads.airflow.hooks.facebook_ads import FacebookAdsHook
from closrads.airflow.masking import redacted
from closrads.airflow.mode import announce_mode, resolve_mode
from closrads.airflow.recheck import recheck_uncertain
from closrads.airflow.slack import post_to_slack, run_url
from closrads.airflow.xcom import XComKey
from closrads.core.approval import ApprovalResult, Decision, PlannedChange, check_write_allowed, plan_change
from closrads.core.audit import ChangeKind
from closrads.core.demand import states_with_demand
from closrads.core.drift import RECORDS_PER_ADSET, outside_change
from closrads.core.errors import (
    CampaignTooLarge,
    ClosradsError,
    DemandDataError,
    GuardStateUnavailable,
    StaleRunRefused,
)
from closrads.core.learning_phase import (
    FORCE_PARAM,
    DemandObservation,
    LearningPhaseRules,
    StatePolicy,
    describe_hold,
    earlier_runs,
    edit_hold,
    policy_of,
    recorded_history,
    state_policy,
)
from closrads.core.messages import report_message
from closrads.core.regions import map_states
from closrads.core.report import AdSetOutcome, Outcome, StepResult, StepStatus, SyncReport
from closrads.core.run_mode import RunMode, parse_flag
from closrads.core.targeting import (
    GeoPlan,
    plan_geo_update,
    render_change,
    targeting_with_regions,
    usable_targeting,
)
from closrads.core.write_order import WriteOrder

log = logging.getLogger(__name__)


# Task states in which a mapped update_adset never started: its ad set was certainly not written.
_NEVER_STARTED = {
    None,
    TaskInstanceState.SCHEDULED,
    TaskInstanceState.QUEUED,
    TaskInstanceState.UPSTREAM_FAILED,
    TaskInstanceState.SKIPPED,
    TaskInstanceState.REMOVED,
}


# -- failure handling ------------------------------------------------------------------------


@contextmanager
def failing_cleanly(record: Callable[[str], None], prefix: str = "") -> Iterator[None]:
    """Record a failing task's message for the report (``record``), then fail the task.

    CLOSRADS's own errors (:class:`~closrads.core.errors.ClosradsError`) carry clean, secret-free
    messages; unless they are transient they fail with ``AirflowFailException``, so Airflow never
    retries them. Anything else is a bug: recorded with secrets masked, re-raised as it is.
    """
    try:
        yield
    except ClosradsError as exc:
        record(str(exc))
        if exc.transient:
            raise
        raise AirflowFailException(f"{prefix}{exc}") from None
    except Exception as exc:
        record(redacted(f"{type(exc).__name__}: {exc}"))
        raise


def recording_step_errors(ti) -> Iterator[None]:
    """``failing_cleanly`` for the preparation steps: the message goes to XCom for the report."""
    return failing_cleanly(lambda message: ti.xcom_push(key=XComKey.STEP_ERROR, value=message))


# -- the tasks -------------------------------------------------------------------------------


def fetch_demand() -> dict[str, Any]:
    """Resolve the run's mode, then fetch, validate and filter CLOSRTECH demand.

    Returns ``{"states": {"OH": 15, ...}, "fetched_at": <UTC ISO time>}``. The mode is pushed first,
    under its own key, so the report can state it even when the demand is refused.
    """
    context = get_current_context()
    ti = context["ti"]
    mode = resolve_mode(context)
    ti.xcom_push(key=XComKey.RUN_MODE, value=mode.to_dict())
    announce_mode(mode)
    with recording_step_errors(ti):
        fetched_at = datetime.now(UTC).isoformat()
        demand = closrtech_hook(campaign_of(context)).get_demand()
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
    """USPS codes -> Facebook regions, and the states the run asks of its ad sets after learning-phase
    protection (its state policy); aborts the run when nothing maps (Facebook is never called)."""
    context = get_current_context()
    with recording_step_errors(context["ti"]):
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
        policy = _state_policy(context, demand, mapping.regions)
        return {"regions": mapping.regions, "unmapped": mapping.unmapped, "policy": policy.to_dict()}


def _state_policy(context, demand: dict[str, Any], regions: list[dict]) -> StatePolicy:
    """The states this run asks of its ad sets: the demand, after the campaign's learning-phase protection."""
    campaign = campaign_of(context)
    rules = learning_phase_rules(campaign)
    forced = _forced(context)
    current = DemandObservation(context["run_id"], demand["fetched_at"], dict(demand["states"]))
    earlier: list[DemandObservation] = []
    if rules.remove_after_zero_runs > 1:  # counting runs at zero: read the recent runs, add this one
        history = _variable_json(campaign.demand_history_variable)
        if not forced:
            earlier = earlier_runs(current, history, rules.remove_after_zero_runs - 1)
        _set_variable_json(campaign.demand_history_variable, recorded_history(current, history))
    policy = state_policy(regions, current, earlier, rules, forced=forced)
    if forced and rules.enabled:
        log.warning("Learning-phase protection (%s) is ignored for this run: %s=true", rules.describe(), FORCE_PARAM)
    elif rules.enabled:
        log.info(
            "Learning-phase protection: %s. Added: %s; kept where targeted, not added: %s (%d earlier runs read)",
            rules.describe(),
            ", ".join(policy.add) or "none",
            ", ".join(policy.keep) or "none",
            len(earlier),
        )
    return policy


def _variable_json(name: str) -> list:
    """A learning-phase record (a JSON list). Fails closed: unreadable is a transient error."""
    value = read_variable(name, "the learning-phase demand history", deserialize_json=True)
    return value if isinstance(value, list) else []


def _set_variable_json(name: str, value: list) -> None:
    try:
        Variable.set(name, value, serialize_json=True)
    except Exception as exc:  # noqa: BLE001 - a run not recorded would be missed when counting
        message = f"could not record this run's demand in Variable {name} ({type(exc).__name__})"
        raise GuardStateUnavailable(message) from None


def learning_phase_rules(campaign) -> LearningPhaseRules:
    """The campaign's learning-phase protection: its Variable when set, else its registry entry (off).
    Fails closed: an unreadable Variable is a transient error; a wrong one fails the run, naming it."""
    variable = campaign.learning_phase_variable
    raw = read_variable(variable, "the learning-phase setting")
    if raw is not None and str(raw).strip():
        return LearningPhaseRules.parse(raw, source=f"Variable {variable}")
    return LearningPhaseRules.from_dict(campaign.learning_phase)


def _forced(context) -> bool:
    """Whether a person asked this run to apply every change now (unreadable: no, the protection stays)."""
    raw = context["params"].get(FORCE_PARAM)
    try:
        return parse_flag(raw) if raw is not None else False
    except ValueError:
        log.warning("The param %s is not true or false; learning-phase protection stays on", FORCE_PARAM)
        return False


def list_adsets(mapping: dict[str, Any]) -> list[dict[str, Any]]:
    """The campaign's ACTIVE ad sets, sorted by id so map indexes stay stable between retries, each with
    its planned change (US states added and removed), which ``approve_changes`` shows and holds to."""
    context = get_current_context()
    with recording_step_errors(context["ti"]):
        hook = facebook_hook(campaign_of(context))
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
        _refuse_more_than_airflow_maps(len(active), hook.settings.campaign_id)
        policy = policy_of(mapping)
        plans = [plan_change(row["id"], row["name"], row["targeting"], policy) for row in active]
        plans = _hold_recent_edits(context, plans, policy)
        plans = _note_outside_changes(context, active, plans)
        for plan in plans:
            change = plan.error or plan.held_note or render_change(plan.added, plan.removed)
            held = f"; held back: {', '.join(plan.held)}" if plan.held else ""
            log.info("Plan for %s (%s): %s%s", plan.name, plan.adset_id, change, held)
        return [plan.to_row() for plan in plans]


def _hold_recent_edits(context, plans: list[PlannedChange], policy: StatePolicy) -> list[PlannedChange]:
    """Hold back the whole change of every ad set CLOSRADS wrote less than the minimum interval ago (its
    last write in the campaign's audit trail, by a sync or a rollback). Reads only that window."""
    interval = policy.interval
    if interval is None or not any(plan.size for plan in plans):
        return plans
    now = datetime.now(UTC)
    events = campaign_events(campaign_of(context)).after((now - interval).isoformat())
    last_write: dict[str, datetime] = {}
    for event in events:
        record = trusted_record(event)  # a hand-posted event cannot hold an ad set back
        try:
            written = datetime.fromisoformat(record.written_at) if record else None
        except ValueError:
            written = None
        if written is None:
            continue
        adset_id = record.adset_id
        last_write[adset_id] = max(written, last_write.get(adset_id, written))
    held = []
    for plan in plans:
        until = edit_hold(last_write.get(plan.adset_id), interval, now) if plan.size else None
        held.append(plan.hold(describe_hold(last_write[plan.adset_id], until, interval)) if until else plan)
    return held


def _note_outside_changes(context, rows: list[dict], plans: list[PlannedChange]) -> list[PlannedChange]:
    """Note on each plan what changed its ad set since CLOSRADS last wrote it (a person, another tool,
    or a write of an earlier try that landed late): the sync still applies the demand, and says so.
    One bounded request per ad set to Airflow (its asset's newest events), none to Graph."""
    campaign = campaign_of(context)
    noted = []
    for row, plan in zip(rows, plans, strict=True):
        try:
            records = latest_records(campaign, plan.adset_id, RECORDS_PER_ADSET)
        except Exception as exc:  # noqa: BLE001 - any failure to read the trail: retry, never guess
            raise GuardStateUnavailable(
                f"could not read the audit trail of ad set {plan.adset_id} ({type(exc).__name__})"
            ) from None
        try:
            change = outside_change(usable_targeting(row["targeting"]), records)
        except ClosradsError:
            change = None  # a targeting that cannot be read: its plan already says why
        if change is not None:
            log.warning("Ad set %s (%s): %s", plan.name, plan.adset_id, change.describe())
            plan = replace(plan, outside_change=change.to_dict())
        noted.append(plan)
    return noted


def _refuse_more_than_airflow_maps(count: int, campaign_id: str) -> None:
    """One ``update_adset`` per ad set needs ``count`` mapped task instances; Airflow refuses to expand
    more than ``[core] max_map_length``, and would only say so after the listing, in its own words."""
    limit = conf.getint("core", "max_map_length", fallback=1024)
    if count > limit:
        raise CampaignTooLarge(
            f"campaign {campaign_id} has {count} ACTIVE ad sets, more than the {limit} task instances Airflow "
            f"may map (one update_adset per ad set; [core] max_map_length); nothing was written. Raise it on "
            "every Airflow component (AIRFLOW__CORE__MAX_MAP_LENGTH; the shipped compose file sets 4096), then "
            "re-run"
        )


def update_adset(adset: dict[str, Any], order: dict[str, Any]) -> None:
    """Bring one ad set's regions in line with demand, reading its targeting fresh first; a live write
    must be one the change guard allowed (``order``: the run's :class:`WriteOrder`, from ``approve_changes``).

    Records exactly one outcome under XCom ``adset_outcome``, also when it fails, so the report can
    list every ad set with what happened to it.
    """
    context = get_current_context()
    label = f"{adset['name']} ({adset['id']})"
    context["adset_label"] = label  # rendered by map_index_template: the UI shows "name (id)"
    ti = context["ti"]
    outcome = AdSetOutcome(adset["id"], adset["name"], Outcome.FAILED, tries=int(getattr(ti, "try_number", 1) or 1))
    with recording_adset_outcome(ti, outcome, label):
        write_order = WriteOrder.from_dict(order)
        announce_mode(write_order.mode)
        _apply_demand(outcome, PlannedChange.from_row(adset), write_order, context)


@contextmanager
def recording_adset_outcome(ti, outcome: AdSetOutcome, label: str) -> Iterator[None]:
    """Push exactly one outcome for the ad set under XCom ``adset_outcome``, also when the work fails."""

    def record_failure(message: str) -> None:
        outcome.outcome, outcome.error = Outcome.FAILED, message
        ti.xcom_push(key=XComKey.ADSET_OUTCOME, value=outcome.to_dict())
        log.error("Ad set %s failed: %s", label, message)

    with failing_cleanly(record_failure, prefix=f"ad set {label}: "):
        yield
    ti.xcom_push(key=XComKey.ADSET_OUTCOME, value=outcome.to_dict())


def _apply_demand(outcome: AdSetOutcome, planned: PlannedChange, order: WriteOrder, context) -> None:
    outcome.outside_change = planned.outside_change  # reported whatever this ad set's task does now
    if planned.held_note:  # its whole change waits (edited recently): nothing to read or write now
        outcome.outcome, outcome.held, outcome.held_note = Outcome.HELD, planned.held, planned.held_note
        log.warning("Ad set %s: %s (%s)", outcome.adset_id, planned.held_note, ", ".join(planned.held))
        return
    campaign = campaign_of(context)
    hook = facebook_hook(campaign)
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

    stale_guard = StaleGuard(order.fetched_at, context["run_id"], campaign.applied_demand_variable)

    def before_write() -> None:
        check_write_allowed(plan, planned, order.approval)  # exactly the approved change, or one needing none
        stale_guard.claim()

    write_targeting(
        hook,
        outcome,
        context,
        mode=order.mode,
        current=targeting,
        desired=targeting_with_regions(targeting, regions),
        plan=plan,
        kind=ChangeKind.SYNC,
        before_write=before_write,
    )


def write_targeting(
    hook: FacebookAdsHook,
    outcome: AdSetOutcome,
    context,
    *,
    mode: RunMode,
    current: dict,
    desired: dict,
    plan: GeoPlan,
    kind: ChangeKind,
    before_write: Callable[[], None] = lambda: None,
    action: str = "update",
    done: str = "Updated",
    undoes_run_id: str | None = None,
) -> str | None:
    """The one way CLOSRADS changes an ad set's targeting, for the sync and the rollback alike.

    Dry run: Meta validates the would-be write (``execution_options=validate_only``) and nothing
    changes. Live: ``before_write`` may still refuse (the guards), then the write is made and audited.
    Returns when the write was recorded (UTC ISO time), ``None`` in a dry run.
    """
    if mode.dry_run:
        hook.update_targeting(outcome.adset_id, desired, validate_only=True)
        outcome.outcome = Outcome.WOULD_UPDATE
        log.warning("DRY RUN: would %s ad set %s (accepted by Meta): %s", action, outcome.adset_id, plan.describe())
        return None
    before_write()
    hook.update_targeting(outcome.adset_id, desired)
    outcome.outcome = Outcome.UPDATED
    log.info("%s ad set %s: %s", done, outcome.adset_id, plan.describe())
    return record_write(
        context,
        adset_id=outcome.adset_id,
        adset_name=outcome.name,
        kind=kind,
        before=current,
        after=desired,
        plan=plan,
        undoes_run_id=undoes_run_id,
    )


class StaleGuard:
    """The stale re-run guard, claimed just before a write: refuse when a newer run already applied newer
    demand, else record this run's demand as the one applied (unless the record says so already).

    ``applied_at`` is when the run's demand was fetched (a rollback passes the time it writes);
    ``variable`` is the campaign's record. Claiming before the write, not after it, means nothing that
    can fail stands between a write and its audit record: a guard that cannot be read or written fails
    the task before anything reaches Facebook (and Airflow retries it), never after, when the write's
    audit event would be lost with the failed try. A claim whose write then fails still says this run's
    demand is the newest: an older run's cleared task is refused all the same, rightly.
    """

    def __init__(self, applied_at: str, run_id: str, variable: str) -> None:
        self.applied_at, self.run_id, self.variable = datetime.fromisoformat(applied_at), run_id, variable

    def claim(self) -> None:
        applied = _applied_demand(self.variable)
        if applied is not None and applied[0] > self.applied_at:
            raise StaleRunRefused(
                f"refusing to write: this run's demand was fetched at {self.applied_at.isoformat()}, but run "
                f"{applied[1]} already applied newer demand (fetched at {applied[0].isoformat()}); "
                "writing now would replace newer targeting with older demand. Clear the newest run's task, "
                "or clear fetch_demand of this run with its downstream tasks to fetch fresh demand"
            )
        if applied is not None and applied[0] == self.applied_at:
            return  # this run's demand is recorded already (its first write claimed it)
        record = {"fetched_at": self.applied_at.isoformat(), "run_id": self.run_id}
        try:
            Variable.set(self.variable, record, serialize_json=True)
        except Exception as exc:  # noqa: BLE001 - no write without the guard's record
            raise GuardStateUnavailable(
                f"could not record this run's demand in Variable {self.variable} ({type(exc).__name__}); "
                "nothing was written"
            ) from None


def _applied_demand(variable: str) -> tuple[datetime, str] | None:
    """The stale re-run guard's record (when the newest applied demand was fetched, and by which run).

    Fails closed: a record that cannot be read (the API server away, whatever the Task SDK makes of
    it) or cannot be understood is a transient error, never permission to write.
    """
    applied = read_variable(variable, "the stale re-run guard's record", deserialize_json=True)
    if applied is None:
        return None
    try:
        return datetime.fromisoformat(applied["fetched_at"]), str(applied.get("run_id"))
    except (ValueError, TypeError, KeyError) as exc:
        raise GuardStateUnavailable(
            f"could not read the stale re-run guard's record, Variable {variable} "
            f"({type(exc).__name__}); not writing without it"
        ) from None


def report(
    demand: dict[str, Any] | None,
    mapping: dict[str, Any] | None,
    adsets: list[dict[str, Any]] | None,
    outcomes: Sequence[dict],
) -> None:
    """Report what the run did, from what its tasks produced, then fail if anything failed.

    Runs whatever happened upstream (``all_done``): the return value of a task that failed resolves
    to ``None`` and the outcomes of the ad sets that never ran are simply absent, so the report is
    built from what exists and says what is missing. Delivered to the task log, XCom and Slack.
    """
    context = get_current_context()
    ti, run_id, this = context["ti"], context["run_id"], context["task"]
    # Every task before this one, in DAG order: the steps, and the mapped task (one per ad set).
    upstream = [t for t in context["dag"].tasks if t.task_id in this.get_flat_relative_ids(upstream=True)]
    steps = [t.task_id for t in upstream if not t.is_mapped]
    (adset_task,) = [t.task_id for t in upstream if t.is_mapped]
    states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[run_id]).get(run_id, {})

    mode = recorded_mode(ti, steps)
    approval = recorded_approval(ti, steps)
    adset_results = adset_outcomes(adsets or [], list(outcomes[:]), adset_task, states)
    if approval is not None and approval.decision == Decision.REJECTED:
        for outcome in adset_results:
            if outcome.outcome == Outcome.NOT_RUN:
                outcome.outcome = Outcome.REJECTED
    if not mode.dry_run:
        include_earlier_writes(adset_results, run_writes(context))
    policy = policy_of(mapping) if mapping else None
    if not mode.dry_run and policy is not None:
        recheck_uncertain(adset_results, policy, facebook_hook(campaign_of(context)))
    result = SyncReport(
        title=f"CLOSRADS sync{campaign_of(context).title}",
        mode=mode.describe(),
        dry_run=mode.dry_run,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        run_id=run_id,
        demand_states=sorted((demand or {}).get("states") or {}),
        unmapped_states=(mapping or {}).get("unmapped") or [],
        adsets=adset_results,
        steps=step_results(ti, steps, states),
        approval=approval,
        learning_phase=policy.describe() if policy and (policy.rules.enabled or policy.forced) else None,
    )
    deliver_report(context, result, what="run report")
    if not result.succeeded:
        problems = [step.describe() for step in result.unfinished_steps] or [
            f"{result.failed_count} of {len(result.adsets)} ad set(s) failed"
        ]
        raise RunFailedAfterReport(f"CLOSRADS run {result.status}: {'; '.join(problems)}")


def run_writes(context) -> dict[str, list[tuple[int | None, list[str], list[str]]]]:
    """What this run wrote, per ad set and oldest first (``(try, added, removed)``), from the campaign's
    audit trail: the truth about a cleared and re-run ad set, whose last try may
    have found nothing left to do. Reads only the events since the run was queued."""
    run_id, dag_id = context["run_id"], context["dag"].dag_id
    since = context["dag_run"].run_after.isoformat()
    writes: dict[str, list[tuple[int | None, list[str], list[str]]]] = {}
    for event in campaign_events(campaign_of(context)).after(since):
        record = trusted_record(event)
        if record is None or record.run_id != run_id or record.dag_id != dag_id:
            continue
        writes.setdefault(record.adset_id, []).append((record.try_number, record.added, record.removed))
    return writes


def include_earlier_writes(outcomes: list[AdSetOutcome], writes: dict[str, list]) -> None:
    """Each ad set's outcome says what the run did across all its tries, not only the last one."""
    for outcome in outcomes:
        if outcome.adset_id in writes:
            outcome.include_earlier_writes(writes[outcome.adset_id])


def deliver_report(context, result: SyncReport, *, what: str) -> None:
    """Everywhere a report goes: the task log, XCom, the campaign's Slack, and the run's note (its
    one-line summary, shown in the UI's run list and grid)."""
    ti, slack_conn_id = context["ti"], campaign_of(context).slack_conn_id
    log.info("%s (%s)\n%s", result.title, result.summary(), result.render_text())
    # A task that fails stores no return value; the report is pushed under its own key instead.
    ti.xcom_push(key=XComKey.REPORT, value=result.to_dict())
    message = report_message(result, run_url(ti.dag_id, result.run_id))
    delivered = post_to_slack(*message, what=what, conn_id=slack_conn_id)
    if delivered is None:
        why = f"no Airflow Connection '{slack_conn_id}'" if slack_conn_id else "the campaign has no slack_conn_id"
        log.info("Slack is off (%s): the report is in this log only", why)
    AirflowApiHook().set_run_note(ti.dag_id, result.run_id, result.summary())


def recorded_mode(ti, steps: list[str]) -> RunMode:
    """The mode the first step recorded. Pulled by hand: a keyed XComArg that is missing would raise."""
    recorded = [row for row in ti.xcom_pull(task_ids=steps, key=XComKey.RUN_MODE) or [] if row]
    if recorded:
        return RunMode.from_dict(recorded[0])
    return RunMode(True, "the run's mode was never recorded (its first step did not start); nothing was written")


def recorded_approval(ti, steps: list[str]) -> ApprovalResult | None:
    """What the change guard decided, when it decided (``None``: the run stopped before)."""
    recorded = [row for row in ti.xcom_pull(task_ids=steps, key=XComKey.APPROVAL) or [] if row]
    return ApprovalResult.from_dict(recorded[0]) if recorded else None


def step_results(ti, steps: list[str], states: dict[str, Any]) -> list[StepResult]:
    """How each preparation step ended: succeeded, failed (with the message it recorded), or not run."""
    errors = dict(zip(steps, ti.xcom_pull(task_ids=steps, key=XComKey.STEP_ERROR) or [], strict=False))
    results = []
    for step in steps:
        state = _state(states, step)
        if state == TaskInstanceState.SUCCESS:
            results.append(StepResult(step, StepStatus.SUCCEEDED))
        elif state in _NEVER_STARTED:
            results.append(StepResult(step, StepStatus.NOT_RUN))
        else:
            results.append(StepResult(step, StepStatus.FAILED, errors.get(step) or f"did not succeed (state: {state})"))
    return results


def adset_outcomes(
    listed: list[dict[str, Any]], recorded: list[dict], adset_task: str, states: dict[str, Any]
) -> list[AdSetOutcome]:
    """One outcome per listed ad set; an ad set whose task recorded none is "not run" or "unknown"."""
    by_id = {row["adset_id"]: row for row in recorded if isinstance(row, dict) and "adset_id" in row}
    outcomes = []
    for index, adset in enumerate(listed):  # the listing is sorted by id: index i is map index i
        if adset["id"] in by_id:
            outcomes.append(AdSetOutcome.from_dict(by_id[adset["id"]]))
            continue
        state = _state(states, f"{adset_task}_{index}")
        plan = adset.get("plan") or {}
        planned = {
            "added": list(plan.get("added") or []),
            "removed": list(plan.get("removed") or []),
            "held": list(plan.get("held") or []),
            "held_note": plan.get("held_note"),
            "outside_change": plan.get("outside_change") if isinstance(plan.get("outside_change"), dict) else None,
        }
        if state in _NEVER_STARTED:
            outcomes.append(AdSetOutcome(adset["id"], adset["name"], Outcome.NOT_RUN, **planned))
        else:
            outcomes.append(
                AdSetOutcome(
                    adset["id"],
                    adset["name"],
                    Outcome.UNKNOWN,
                    error=f"its update_adset task ended '{state}' without recording an outcome",
                    **planned,
                )
            )
    return outcomes


def _state(states: dict[str, Any], key: str) -> str | None:
    """A task state from ``get_task_states`` as plain text (``None``: no state, never started)."""
    state = states.get(key)
    return None if state is None else str(getattr(state, "value", state))

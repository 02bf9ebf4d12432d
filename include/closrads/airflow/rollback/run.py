"""What the ``closrads_rollback`` tasks do when they run: undo the targeting writes of one ``closrads_sync``
run. :mod:`.tasks` declares the tasks and imports this module only inside them.

``plan_rollback`` reads that run's audit records (asset events, see :mod:`closrads.airflow.audit_trail`),
``rollback_adset`` undoes one ad set's write where the ad set still holds exactly what the run wrote
(:mod:`closrads.core.undo`), and ``report_rollback`` reports like the sync does. Same hooks,
retries, deep copy, per-ad-set isolation, dry run (validated by Meta), write path and audit as the sync.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Variable, get_current_context

from closrads.airflow.audit_trail import campaign_events, trusted_record
from closrads.airflow.run_report import (
    RunTasks,
    assemble_report,
    deliver_report,
    fail_unless_succeeded,
    graph_api_fields,
)
from closrads.airflow.targeting_writes import StaleGuard, write_targeting
from closrads.airflow.task_failures import recording_adset_outcome, recording_step_errors
from closrads.airflow.task_run import TaskRun, announce_mode, decide_mode
from closrads.core.audit import AuditRecord, ChangeKind
from closrads.core.campaigns import Campaign, load_registry
from closrads.core.errors import ClosradsError
from closrads.core.report import AdSetOutcome, Outcome
from closrads.core.run_mode import RunMode
from closrads.core.targeting import targeting_with_regions, usable_targeting
from closrads.core.timestamps import utc_minute
from closrads.core.undo import already_undone, plan_undo, states_before

log = logging.getLogger(__name__)
# How far back plan_rollback reads audit records: undoing a run older than this would overwrite a
# month of daily syncs; it also bounds the read, as the history grows every day.
MAX_RUN_AGE = timedelta(days=35)


class RollbackRefused(ClosradsError):
    """The rollback's request cannot be carried out as asked (no such run, nothing it wrote...)."""


def plan_rollback() -> list[dict[str, Any]]:
    """:func:`.tasks.plan_rollback`: refuses a request it cannot carry out, naming why."""
    context = get_current_context()
    ti = context["ti"]
    mode = decide_mode(context)
    with recording_step_errors(ti):
        run = TaskRun.of(context)
        campaign, params = run.campaign, run.params
        sync_dag_id = campaign.sync_dag_id
        run_id = str(params.get("run_id") or "").strip()
        if not run_id:
            raise RollbackRefused(f"the param run_id is required: the id of the {sync_dag_id} run to undo")
        _refuse_run_of_another_dag(ti, campaign, run_id)
        since = (datetime.now(UTC) - MAX_RUN_AGE).isoformat()
        events = list(campaign_events(campaign).after(since))
        records = _writes_of(run_id, sync_dag_id, events)
        undone_by = _undone_by(run_id, campaign.rollback_dag_id, events)
        wanted = {str(adset_id).strip() for adset_id in params.get("adset_ids") or [] if str(adset_id).strip()}
        if unknown := sorted(wanted - {record.adset_id for record in records}):
            raise RollbackRefused(f"run {run_id} wrote no ad set {', '.join(unknown[:20])}; nothing to undo there")
        records = [record for record in records if not wanted or record.adset_id in wanted]
        if not records:
            raise RollbackRefused(
                f"run {run_id} of {sync_dag_id} wrote no ad set in the last {MAX_RUN_AGE.days} days (no audit "
                "record); nothing to undo"
            )
        if not mode.dry_run and params.get("stop_live_schedule", True):
            # The next scheduled sync would re-apply the same demand before a person looks.
            Variable.set(campaign.dry_run_variable, "true")
            log.warning(
                "Set Variable %s to true: scheduled runs of %s stay dry until a person says so",
                campaign.dry_run_variable,
                sync_dag_id,
            )
        log.info("Undoing run %s on %d ad set(s): %s", run_id, len(records), ", ".join(r.adset_id for r in records))
        return [record.to_extra() | {"undone_by": undone_by.get(record.adset_id)} for record in records]


def _refuse_run_of_another_dag(ti, campaign: Campaign, run_id: str) -> None:
    """A run id that is no run of this campaign's sync is refused by name: run ids repeat across DAGs
    (every campaign has a ``scheduled__2026-12-01T13:00:00+00:00``), so the operator may have picked
    the wrong campaign's rollback, and must be told which one to use."""
    if ti.get_dr_count(dag_id=campaign.sync_dag_id, run_ids=[run_id]):
        return
    others = [
        other
        for other in load_registry().campaigns
        if other.slug != campaign.slug and ti.get_dr_count(dag_id=other.sync_dag_id, run_ids=[run_id])
    ][:3]
    where = "; ".join(f"it is a run of {o.sync_dag_id}: undo it with {o.rollback_dag_id}" for o in others)
    raise RollbackRefused(
        f"{run_id[:120]!r} is not a run of {campaign.sync_dag_id}"
        + (f" ({where})" if where else "")
        + "; nothing to undo"
    )


def _undone_by(run_id: str, rollback_dag_id: str, events) -> dict[str, str]:
    """Per ad set, the latest rollback run that already undid ``run_id`` there ("rollback run <id> at <time>")."""
    undone: dict[str, str] = {}
    for event in events:
        record = trusted_record(event)
        if record is None or record.kind != ChangeKind.ROLLBACK or record.dag_id != rollback_dag_id:
            continue
        if record.undoes_run_id == run_id:
            undone[record.adset_id] = f"rollback run {record.run_id} at {utc_minute(record.written_at)}"
    return undone


def _writes_of(run_id: str, sync_dag_id: str, events) -> list[AuditRecord]:
    by_adset: dict[str, AuditRecord] = {}
    for event in events:
        record = trusted_record(event)  # never an event a person posted: an undo writes what it names
        if record is None or (record.run_id, record.dag_id, record.kind) != (run_id, sync_dag_id, ChangeKind.SYNC):
            continue
        first = by_adset.get(record.adset_id)
        if first is None:
            by_adset[record.adset_id] = record
        else:  # written twice in one run (a clear and re-run): before from the first, after from the last
            by_adset[record.adset_id] = AuditRecord.from_extra(
                record.to_extra() | {"regions_before": first.regions_before}
            )
    return sorted(by_adset.values(), key=lambda record: record.adset_id)


def rollback_adset(change: dict[str, Any], mode: dict) -> None:
    """:func:`.tasks.rollback_adset`: resolves the run once, then :func:`undo_write`, recording one outcome."""
    context = get_current_context()
    record = AuditRecord.from_extra(change)
    ti = context["ti"]
    run_mode = RunMode.from_dict(mode)
    announce_mode(run_mode)
    outcome = AdSetOutcome(record.adset_id, record.adset_name, Outcome.FAILED, tries=int(ti.try_number or 1))
    context["adset_label"] = outcome.label  # rendered by map_index_template: the UI shows "name (id)"
    with recording_adset_outcome(ti, outcome):
        undo_write(TaskRun.of(context), outcome, record, run_mode, change.get("undone_by"))


def undo_write(run: TaskRun, outcome: AdSetOutcome, record: AuditRecord, mode: RunMode, undone_by: str | None) -> None:
    """Put back what the ad set held before ``record``'s write, read fresh, if it holds exactly that write."""
    hook = run.facebook_hook()
    current = hook.get_adset(record.adset_id)
    targeting = usable_targeting(current.get("targeting"))
    plan = plan_undo(targeting, record)  # refuses an ad set changed since that run's write
    outcome.added, outcome.removed = plan.added, plan.removed
    if not plan.needs_write:  # undone already: nothing to do, and nothing wrong
        outcome.outcome, outcome.error = Outcome.SKIPPED, already_undone(record, undone_by)
        log.info("Ad set %s: %s", record.adset_id, outcome.error)
        return
    # The stale guard, claimed with the time of the write: a cleared update_adset of an older sync run
    # must not undo this rollback.
    guard = StaleGuard(datetime.now(UTC).isoformat(), run.run_id, run.campaign.applied_demand_variable)
    write_targeting(
        hook,
        outcome,
        run,
        mode=mode,
        current=targeting,
        desired=targeting_with_regions(targeting, states_before(record)),
        plan=plan,
        kind=ChangeKind.ROLLBACK,
        before_write=guard.claim,
        action=f"undo run {record.run_id} on",
        done=f"Undid run {record.run_id} on",
        undoes_run_id=record.run_id,
    )


def report_rollback(changes: list[dict] | None, outcomes: Sequence[dict]) -> None:
    """:func:`.tasks.report_rollback`, assembled and delivered as the sync's report is."""
    context = get_current_context()
    run, tasks = TaskRun.of(context), RunTasks.before(context)
    result = assemble_report(
        run,
        tasks,
        title=f"CLOSRADS rollback{run.campaign.title} of {str(run.params.get('run_id') or '?')[:80]}",
        listed=[{"id": c["adset_id"], "name": c["adset_name"]} for c in changes or []],
        outcomes=list(outcomes[:]),
        shows_demand=False,
        **graph_api_fields(run, tasks.steps),
    )
    deliver_report(run, result, what="rollback report")
    fail_unless_succeeded(result, "CLOSRADS rollback", [result.summary()])

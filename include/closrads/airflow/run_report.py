"""Assembling and delivering a run's report, for the sync and the rollback alike.

A report task runs whatever happened upstream (``all_done``): the return value of a task that failed
resolves to ``None`` and the outcomes of the ad sets that never ran are simply absent, so the report
is built from what exists (each step's state, the errors and outcomes the tasks recorded) and says
what is missing. It then goes to the task log, XCom, the campaign's Slack and the run's note, and a
run that failed is failed after it was reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from airflow.sdk import TaskInstanceState

from closrads.airflow.exceptions import RunFailedAfterReport
from closrads.airflow.hooks.airflow_api import AirflowApiHook
from closrads.airflow.slack import post_to_slack, run_url
from closrads.airflow.task_run import TaskRun
from closrads.airflow.xcom import XComKey
from closrads.core.api_versions import current_versions
from closrads.core.change_guard import ApprovalResult
from closrads.core.errors import ClosradsError
from closrads.core.messages import report_message
from closrads.core.names import SPEND_TASK_ID
from closrads.core.report import AdSetOutcome, Outcome, StepResult, StepStatus, SyncReport
from closrads.core.run_mode import RunMode
from closrads.core.timestamps import utc_stamp

log = logging.getLogger(__name__)

# Task states in which a mapped task never started: its ad set was certainly not written.
_NEVER_STARTED = {
    None,
    TaskInstanceState.SCHEDULED,
    TaskInstanceState.QUEUED,
    TaskInstanceState.UPSTREAM_FAILED,
    TaskInstanceState.SKIPPED,
    TaskInstanceState.REMOVED,
}


# Tasks that only observe (the spend): how they end never makes a run "aborted"; the report says what they saw.
OBSERVING_TASKS = frozenset({SPEND_TASK_ID})


@dataclass(frozen=True)
class RunTasks:
    """The tasks a report speaks of: the preparation steps, in DAG order, the mapped task (one instance
    per ad set), and how each of them ended (``get_task_states``: ``task_id`` or ``task_id_<index>``)."""

    steps: list[str]
    adset_task: str
    states: dict[str, Any]

    @classmethod
    def before(cls, context) -> RunTasks:
        """Every task upstream of the running one, and their states in this run."""
        ti, this, run_id = context["ti"], context["task"], context["run_id"]
        upstream = [t for t in context["dag"].tasks if t.task_id in this.get_flat_relative_ids(upstream=True)]
        (adset_task,) = [t.task_id for t in upstream if t.is_mapped]
        states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[run_id]).get(run_id, {})
        steps = [t.task_id for t in upstream if not t.is_mapped and t.task_id not in OBSERVING_TASKS]
        return cls(steps, adset_task, states)

    def state(self, key: str) -> str | None:
        """A task state as plain text (``None``: no state, never started)."""
        state = self.states.get(key)
        return None if state is None else str(getattr(state, "value", state))


def assemble_report(
    run: TaskRun,
    tasks: RunTasks,
    *,
    title: str,
    listed: list[dict[str, Any]],
    outcomes: list,
    mode: RunMode | None = None,
    **fields: Any,
) -> SyncReport:
    """The report of a run: its recorded mode, one outcome per ``listed`` ad set (``id``, ``name``, and
    its ``plan`` when it had one) and each step's result; ``mode``: the run's, when the caller read it
    already; ``fields``: the rest of :class:`SyncReport`."""
    return SyncReport(
        title=title,
        mode=mode or recorded_mode(run.ti, tasks.steps),
        generated_at=utc_stamp(),
        run_id=run.run_id,
        adsets=adset_outcomes(listed, outcomes, tasks),
        steps=step_results(run.ti, tasks),
        **fields,
    )


def deliver_report(run: TaskRun, result: SyncReport, *, what: str) -> None:
    """Everywhere a report goes: the task log, XCom, the campaign's Slack, and the run's note (its
    one-line summary, shown in the UI's run list and grid)."""
    slack_conn_id = run.campaign.slack_conn_id
    log.info("%s (%s)\n%s", result.title, result.summary(), result.render_text())
    # A task that fails stores no return value; the report is pushed under its own key instead.
    run.ti.xcom_push(key=XComKey.REPORT, value=result.to_dict())
    message = report_message(result, run_url(run.dag_id, result.run_id))
    delivered = post_to_slack(*message, what=what, conn_id=slack_conn_id)
    if delivered is None:
        why = f"no Airflow Connection '{slack_conn_id}'" if slack_conn_id else "the campaign has no slack_conn_id"
        log.info("Slack is off (%s): the report is in this log only", why)
    AirflowApiHook().set_run_note(run.dag_id, result.run_id, result.summary())


def graph_api_fields(run: TaskRun, steps: list[str]) -> dict[str, Any]:
    """The report's word on the Graph API version: the Facebook Connection's version and its announced
    end, one warning line while that end is near, and one when Meta answered with another version
    (``list_adsets`` noted it). Reads the Connection (no Graph request); without a usable Connection,
    nothing: the step that needed it says why."""
    try:
        settings = run.facebook_hook().settings
    except ClosradsError:
        return {}
    clock = settings.clock()
    notices = [clock.warning()] if clock.warning() else []  # as every message says it (api_clock)
    served = [row for row in run.ti.xcom_pull(task_ids=steps, key=XComKey.API_VERSION_SERVED) or [] if row]
    if served:
        notices.append(
            f"Meta answered with Graph API {served[0]['served']}, not the {served[0]['asked']} that the Facebook "
            f'Connection asks for (Meta upgrades calls to a version it has ended): move its "api_version" to a '
            f"current version ({current_versions()})"
        )
    return {
        "api_version": settings.api_version,
        "api_version_ends": clock.ends.isoformat() if clock.ends else None,
        "notices": notices,
    }


def fail_unless_succeeded(result: SyncReport, what: str, problems: list[str]) -> None:
    """End a reported run that failed as failed (without a second alert: :class:`RunFailedAfterReport`)."""
    if not result.succeeded:
        raise RunFailedAfterReport(f"{what} {result.status}: {'; '.join(problems)}")


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


def step_results(ti, tasks: RunTasks) -> list[StepResult]:
    """How each preparation step ended: succeeded, failed (with the message it recorded), or not run."""
    errors = dict(zip(tasks.steps, ti.xcom_pull(task_ids=tasks.steps, key=XComKey.STEP_ERROR) or [], strict=False))
    results = []
    for step in tasks.steps:
        state = tasks.state(step)
        if state == TaskInstanceState.SUCCESS:
            results.append(StepResult(step, StepStatus.SUCCEEDED))
        elif state in _NEVER_STARTED:
            results.append(StepResult(step, StepStatus.NOT_RUN))
        else:
            results.append(StepResult(step, StepStatus.FAILED, errors.get(step) or f"did not succeed (state: {state})"))
    return results


def adset_outcomes(listed: list[dict[str, Any]], recorded: list, tasks: RunTasks) -> list[AdSetOutcome]:
    """One outcome per listed ad set; an ad set whose task recorded none is "not run" or "unknown"."""
    by_id = {row["adset_id"]: row for row in recorded if isinstance(row, dict) and "adset_id" in row}
    outcomes = []
    for index, adset in enumerate(listed):  # the listing is sorted by id: index i is map index i
        if adset["id"] in by_id:
            outcomes.append(AdSetOutcome.from_dict(by_id[adset["id"]]))
            continue
        state = tasks.state(f"{tasks.adset_task}_{index}")
        plan = adset.get("plan") or {}
        outside = plan.get("outside_change") if isinstance(plan.get("outside_change"), dict) else None
        planned = {
            "added": list(plan.get("added") or []),
            "removed": list(plan.get("removed") or []),
            "held": list(plan.get("held") or []),
            "held_note": plan.get("held_note"),
            "outside_change": outside,
            "learning": plan.get("learning") if isinstance(plan.get("learning"), dict) else None,
        }
        if state in _NEVER_STARTED:
            outcomes.append(AdSetOutcome(adset["id"], adset["name"], Outcome.NOT_RUN, **planned))
        else:
            error = f"its {tasks.adset_task} task ended '{state}' without recording an outcome"
            outcomes.append(AdSetOutcome(adset["id"], adset["name"], Outcome.UNKNOWN, error=error, **planned))
    return outcomes

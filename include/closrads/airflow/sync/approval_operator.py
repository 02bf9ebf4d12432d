"""``approve_changes``: the change guard, through Airflow's human-in-the-loop approval (the operator).

A live run whose plan trips the guard (:mod:`closrads.core.change_guard`) parks this task in Airflow's
``awaiting_input`` state with the plan as its Markdown body; a person answers Approve or Reject in
the UI's "Required actions" or through ``PATCH .../hitlDetails``. Slack is told that the run waits
and where to answer. A run whose plan does not trip the guard, and every dry run, pass at once.

The outcome is this task's XCom ``approval`` (an :class:`~closrads.core.change_guard.ApprovalResult`),
which ``report`` states, and its XCom ``write_order`` (a :class:`~closrads.core.write_order.WriteOrder`:
the decision with the run's mode, regions and demand time), all that each ``update_adset`` reads
besides its own ad set; it writes only what the decision allows. On Reject the operator
skips ``update_adset`` (Airflow's ``ApprovalOperator`` behaviour), so nothing is written; no answer
within the timeout fails the task without a retry, so nothing is written either. What it decides
and reads is in :mod:`.approval`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLOperator
from airflow.sdk import BaseNotifier

from closrads.airflow.xcom import XComKey
from closrads.core.names import REQUIRE_APPROVAL_PARAM
from closrads.core.timestamps import utc_minute

if TYPE_CHECKING:
    from closrads.core.change_guard import ApprovalResult

# The DAG factory imports this module to build each sync DAG; everything the operator needs only when it
# runs (the change guard's rules, the Variables, Slack, the REST API hook) is imported in the methods, so
# parsing the DAG file does not load it (see closrads.airflow.sync).

log = logging.getLogger(__name__)

APPROVE_TASK_ID = "approve_changes"
_REQUEST_KEY = "approval_request"  # what execute asked, for execute_complete (a new process) to decide on


class ApprovalRequestNotifier(BaseNotifier):
    """Tells Slack that a run waits for an approval, what it would change and where to answer it."""

    def notify(self, context) -> None:
        from closrads.airflow.api_clock import version_warning
        from closrads.airflow.slack import airflow_ui_url, post_to_slack
        from closrads.airflow.task_run import campaign_for_dag
        from closrads.core.messages import approval_request_message

        operator: ChangeApprovalOperator = context["task"]
        ti = context["ti"]
        url = operator.generate_link_to_ui(task_instance=ti, base_url=airflow_ui_url())
        campaign = campaign_for_dag(ti.dag_id)
        text, blocks = approval_request_message(
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            reasons=operator.waiting_reasons,
            changing=operator.waiting_count,
            deadline=operator.waiting_deadline,
            url=url,
            notice=version_warning(campaign),
        )
        post_to_slack(text, blocks, what="approval request", conn_id=campaign.slack_conn_id)


class ChangeApprovalOperator(ApprovalOperator):
    """Wait for a person when the run's plan trips the change guard; pass at once otherwise.

    :param planned: the ``list_adsets`` rows (each with its planned change)
    :param mode: the run's mode as ``fetch_demand`` resolved it
    :param mapping: ``map_regions``'s result (the regions every ad set is written to)
    :param demand: ``fetch_demand``'s result (when the demand was fetched: the stale re-run guard)
    """

    template_fields = (*ApprovalOperator.template_fields, "planned", "mode", "mapping", "demand")

    def __init__(self, *, planned: Any, mode: Any, mapping: Any, demand: Any, **kwargs) -> None:
        super().__init__(
            subject="CLOSRADS: approve the live targeting changes of this run?",
            notifiers=[ApprovalRequestNotifier()],
            **kwargs,
        )
        self.planned = planned
        self.mode = mode
        self.mapping = mapping
        self.demand = demand
        self.waiting_reasons: list[str] = []
        self.waiting_count = 0
        self.waiting_deadline = ""

    def execute(self, context) -> None:
        from closrads.airflow.hooks.airflow_api import AirflowApiHook
        from closrads.airflow.sync import approval
        from closrads.airflow.task_run import TaskRun, announce_mode
        from closrads.core.change_guard import ApprovalResult, Decision, PlannedChange, plan_markdown
        from closrads.core.run_mode import RunMode

        run = TaskRun.of(context)
        mode = RunMode.from_dict(self.mode)
        announce_mode(mode)
        plans = [PlannedChange.from_row(row) for row in self.planned or []]
        # A typed boolean param (Airflow validated it); anything but false asks: never skip a person by mistake.
        require = run.params.get(REQUIRE_APPROVAL_PARAM, False) is not False
        outside = approval.outside_change_reasons(plans, self.mapping)
        if mode.dry_run:  # never waits, but says whether the same plan, live, would
            result = approval.dry_run_result(run.campaign, plans, require_approval=require, also=outside)
            return self._decided(run.ti, result)
        guard = approval.read_guard(run.campaign, require_approval=require)
        if guard.warning:
            log.error("Change guard: %s; asking for every change", guard.warning)
        reasons = guard.reasons(plans) + outside
        if not reasons:
            return self._decided(run.ti, approval.no_person_needed(guard, plans))

        started = getattr(context["dag_run"], "start_date", None)
        minutes = approval.wait_minutes(run.campaign, getattr(context["dag"], "dagrun_timeout", None), started)
        deadline = datetime.now(UTC) + timedelta(minutes=minutes)
        self.response_timeout = timedelta(minutes=minutes)
        self.body = plan_markdown(plans, guard, reasons)
        self.waiting_reasons = reasons
        self.waiting_count = sum(1 for plan in plans if plan.size)
        self.waiting_deadline = utc_minute(deadline)
        asked = ApprovalResult(Decision.APPROVED, "; ".join(reasons), guard.threshold, guard.require_approval)
        run.ti.xcom_push(key=_REQUEST_KEY, value={"asked": asked.to_dict(), "minutes": minutes})
        log.warning(
            "Change guard: waiting up to %d minutes for a person to approve this plan (%s)\n%s",
            minutes,
            "; ".join(reasons),
            self.body,
        )
        note = f"{mode.label}: waiting for approval of {self.waiting_count} changes until {self.waiting_deadline}"
        AirflowApiHook().set_run_note(run.dag_id, run.run_id, note)
        super().execute(context)  # records the request, notifies Slack, parks the task

    def execute_complete(self, context, event: dict[str, Any]) -> None:
        from airflow.providers.standard.exceptions import HITLTimeoutError
        from airflow.sdk.exceptions import AirflowFailException

        from closrads.airflow.sync import approval
        from closrads.airflow.task_run import TaskRun
        from closrads.core.change_guard import ApprovalResult

        run = TaskRun.of(context)
        # What was asked, as execute recorded it: the Variables are not read again once a person answered.
        request = run.ti.xcom_pull(task_ids=self.task_id, key=_REQUEST_KEY) or {}
        asked = ApprovalResult.from_dict(request["asked"]) if request.get("asked") else None
        try:
            answer = HITLOperator.execute_complete(self, context, event)  # the answer, validated
        except HITLTimeoutError:
            message = (
                f"no answer within {request.get('minutes', '?')} minutes "
                f"(Variable {run.campaign.approval_timeout_variable}); "
                "nothing was written. Trigger a new run to plan and ask again"
            )
            run.ti.xcom_push(key=XComKey.STEP_ERROR, value=message)
            raise AirflowFailException(f"approval timed out: {message}") from None
        self._decided(run.ti, approval.answered(asked, answer, self.APPROVE))
        # Airflow's ApprovalOperator: on Reject it skips update_adset (by raising, so this comes last).
        super().execute_complete(context, event)

    def _decided(self, ti, result: ApprovalResult) -> None:
        from closrads.airflow.sync.approval import record_decision

        record_decision(ti, result, mode=self.mode, mapping=self.mapping, demand=self.demand)

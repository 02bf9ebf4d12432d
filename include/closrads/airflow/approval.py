"""``approve_changes``: the change guard, through Airflow's human-in-the-loop approval.

A live run whose plan trips the guard (:mod:`closrads.core.approval`) parks this task in Airflow's
``awaiting_input`` state with the plan as its Markdown body; a person answers Approve or Reject in
the UI's "Required actions" or through ``PATCH .../hitlDetails``. Slack is told that the run waits
and where to answer. A run whose plan does not trip the guard, and every dry run, pass at once.

The outcome is this task's XCom ``approval`` (an :class:`~closrads.core.approval.ApprovalResult`),
which ``report`` states, and its XCom ``write_order`` (a :class:`~closrads.core.write_order.WriteOrder`:
the decision with the run's mode, regions and demand time), all that each ``update_adset`` reads
besides its own ad set; it writes only what the decision allows. On Reject the operator
skips ``update_adset`` (Airflow's ``ApprovalOperator`` behaviour), so nothing is written; no answer
within the timeout fails the task without a retry, so nothing is written either.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLOperator
from airflow.sdk import BaseNotifier

from closrads.airflow.xcom import XComKey

if TYPE_CHECKING:
    from closrads.core.approval import ApprovalResult, ChangeGuard

# The DAG factory imports this module to build each sync DAG; everything the operator needs only when it
# runs (the change guard's rules, the Variables, Slack, the REST API hook) is imported in the methods, so
# parsing the DAG file does not load it (see closrads.airflow.tasks).

log = logging.getLogger(__name__)

APPROVE_TASK_ID = "approve_changes"
REQUIRE_APPROVAL_PARAM = "require_approval"
# What the writes after an approval may still need of the run's dagrun_timeout.
_TIME_LEFT_FOR_WRITES = timedelta(minutes=20)


class ApprovalRequestNotifier(BaseNotifier):
    """Tells Slack that a run waits for an approval, what it would change and where to answer it."""

    def notify(self, context) -> None:
        from closrads.airflow.campaign import campaign_of
        from closrads.airflow.slack import airflow_ui_url, post_to_slack
        from closrads.core.messages import approval_request_message

        operator: ChangeApprovalOperator = context["task"]
        ti = context["ti"]
        url = operator.generate_link_to_ui(task_instance=ti, base_url=airflow_ui_url())
        text, blocks = approval_request_message(
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            reasons=operator.waiting_reasons,
            changing=operator.waiting_count,
            deadline=operator.waiting_deadline,
            url=url,
        )
        post_to_slack(text, blocks, what="approval request", conn_id=campaign_of(context).slack_conn_id)


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
        from closrads.airflow.campaign import campaign_of
        from closrads.airflow.hooks.airflow_api import AirflowApiHook
        from closrads.airflow.mode import announce_mode
        from closrads.core.approval import ApprovalResult, Decision, PlannedChange, parse_timeout_minutes, plan_markdown
        from closrads.core.run_mode import RunMode

        mode = RunMode.from_dict(self.mode)
        announce_mode(mode)
        plans = [PlannedChange.from_row(row) for row in self.planned or []]
        if mode.dry_run:  # never waits, but says whether the same plan, live, would
            return self._decided(context, _dry_run_result(context, plans))
        guard = _read_guard(context)
        if guard.warning:
            log.error("Change guard: %s; asking for every change", guard.warning)
        reasons = guard.reasons(plans)
        biggest = max((plan.size for plan in plans), default=0)
        if not reasons:
            why = f"largest change {biggest} states; {guard.describe()}"
            log.info("Change guard: no approval needed (%s)", why)
            return self._decided(
                context, ApprovalResult(Decision.NOT_NEEDED, why, guard.threshold, guard.require_approval)
            )

        campaign = campaign_of(context)
        minutes, warning = parse_timeout_minutes(
            _variable(campaign.approval_timeout_variable),
            limit=_minutes_left(context),
            default=campaign.approval_timeout_minutes,
            variable=campaign.approval_timeout_variable,
        )
        if warning:
            log.warning("Approval timeout: %s", warning)
        deadline = datetime.now(UTC) + timedelta(minutes=minutes)
        self.response_timeout = timedelta(minutes=minutes)
        self.body = plan_markdown(plans, guard, reasons)
        self.waiting_reasons = reasons
        self.waiting_count = sum(1 for plan in plans if plan.size)
        self.waiting_deadline = deadline.strftime("%Y-%m-%d %H:%M UTC")
        asked = ApprovalResult(Decision.APPROVED, "; ".join(reasons), guard.threshold, guard.require_approval)
        ti = context["ti"]
        ti.xcom_push(key=_REQUEST_KEY, value={"asked": asked.to_dict(), "minutes": minutes})
        log.warning(
            "Change guard: waiting up to %d minutes for a person to approve this plan (%s)\n%s",
            minutes,
            "; ".join(reasons),
            self.body,
        )
        note = f"{mode.label}: waiting for approval of {self.waiting_count} changes until {self.waiting_deadline}"
        AirflowApiHook().set_run_note(ti.dag_id, ti.run_id, note)
        super().execute(context)  # records the request, notifies Slack, parks the task

    def execute_complete(self, context, event: dict[str, Any]) -> None:
        from airflow.providers.standard.exceptions import HITLTimeoutError
        from airflow.sdk.exceptions import AirflowFailException

        from closrads.airflow.campaign import campaign_of
        from closrads.core.approval import ApprovalResult, Decision

        # What was asked, as execute recorded it: the Variables are not read again once a person answered.
        request = context["ti"].xcom_pull(task_ids=self.task_id, key=_REQUEST_KEY) or {}
        asked = ApprovalResult.from_dict(request["asked"]) if request.get("asked") else None
        try:
            answer = HITLOperator.execute_complete(self, context, event)  # the answer, validated
        except HITLTimeoutError:
            message = (
                f"no answer within {request.get('minutes', '?')} minutes "
                f"(Variable {campaign_of(context).approval_timeout_variable}); "
                "nothing was written. Trigger a new run to plan and ask again"
            )
            context["ti"].xcom_push(key=XComKey.STEP_ERROR, value=message)
            raise AirflowFailException(f"approval timed out: {message}") from None
        user = answer.get("responded_by_user") or {}
        approved = answer["chosen_options"] == [self.APPROVE]
        responded_at = answer.get("responded_at")
        result = ApprovalResult(
            Decision.APPROVED if approved else Decision.REJECTED,
            asked.reason if asked else "asked",
            asked.threshold if asked else 0,
            asked.require_approval if asked else True,
            by=str(user.get("name") or user.get("id") or "") or None,
            at=responded_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if responded_at else None,
        )
        log.warning("Change guard: %s", result.describe())
        self._decided(context, result)
        # Airflow's ApprovalOperator: on Reject it skips update_adset (by raising, so this comes last).
        super().execute_complete(context, event)

    def _decided(self, context, result: ApprovalResult) -> None:
        """Record the decision for the report, and the run's write order for its ``update_adset`` tasks."""
        from closrads.core.learning_phase import policy_of
        from closrads.core.run_mode import RunMode
        from closrads.core.write_order import WriteOrder

        ti = context["ti"]
        ti.xcom_push(key=XComKey.APPROVAL, value=result.to_dict())
        policy = policy_of(self.mapping)
        order = WriteOrder(RunMode.from_dict(self.mode), policy, self.demand["fetched_at"], result)
        ti.xcom_push(key=XComKey.WRITE_ORDER, value=order.to_dict())


_REQUEST_KEY = "approval_request"  # what execute asked, for execute_complete (a new process) to decide on


def _dry_run_result(context, plans: list) -> ApprovalResult:
    """A dry run is never asked, but its report says when the same plan, live, would wait for a person
    (a guard Variable it cannot read only costs it that sentence: a dry run writes nothing)."""
    from closrads.core.approval import DRY_RUN, ApprovalResult, Decision
    from closrads.core.errors import GuardStateUnavailable

    try:
        guard = _read_guard(context)
    except GuardStateUnavailable as exc:
        log.warning("Dry run: cannot tell whether this plan would need approval live: %s", exc)
        return ApprovalResult(Decision.NOT_ASKED, DRY_RUN)
    reasons = guard.reasons(plans)
    if reasons:
        log.warning("Dry run: no approval asked; live, this plan would wait for a person (%s)", "; ".join(reasons))
        return ApprovalResult(Decision.NOT_ASKED, "; ".join(reasons), guard.threshold, guard.require_approval)
    log.info("Dry run: nothing is written, so no approval is needed (nor would it be live)")
    return ApprovalResult(Decision.NOT_ASKED, DRY_RUN, guard.threshold, guard.require_approval)


def _read_guard(context) -> ChangeGuard:
    """The campaign's guard: its threshold Variable, else the registry's threshold for it."""
    from closrads.airflow.campaign import campaign_of
    from closrads.core.approval import ChangeGuard, parse_threshold
    from closrads.core.run_mode import parse_flag

    campaign = campaign_of(context)
    variable = campaign.approval_threshold_variable
    guard = parse_threshold(_variable(variable), default=campaign.approval_threshold, variable=variable)
    required = context["params"].get(REQUIRE_APPROVAL_PARAM)
    try:
        require = parse_flag(required) if required is not None else False
    except ValueError:
        require = True  # unreadable: ask, never skip the person
    return ChangeGuard(guard.threshold, require, guard.warning, variable)


def _variable(name: str) -> str | None:
    """A guard Variable's raw value. Fails closed: unreadable is a transient error, never "no guard"."""
    from closrads.airflow.guard_state import read_variable

    return read_variable(name, "the change guard's setting")


def _minutes_left(context) -> int:
    """Minutes the approval may take so the run still finishes within its ``dagrun_timeout``."""
    timeout = getattr(context["dag"], "dagrun_timeout", None)
    started = getattr(context["dag_run"], "start_date", None)
    if not timeout or not started:
        return 24 * 60
    left = started + timeout - _TIME_LEFT_FOR_WRITES - datetime.now(UTC)
    return max(int(left.total_seconds() // 60), 1)

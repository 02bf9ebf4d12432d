"""What ``approve_changes`` decides when it runs: whether the plan needs a person, how long to wait, and
what the answer means. :mod:`.approval_operator` is the operator's small surface (Airflow's
``ApprovalOperator``), which imports this module only inside its methods.

The rule is :mod:`closrads.core.change_guard`; here its settings are read (fail closed: a guard
Variable that cannot be read is a transient error, never "no guard") and its outcome recorded: the
decision for the report, and the run's write order for every ``update_adset``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from closrads.airflow.guard_state import read_variable
from closrads.airflow.xcom import XComKey
from closrads.core.campaigns import Campaign
from closrads.core.change_guard import (
    DRY_RUN,
    ApprovalResult,
    ChangeGuard,
    Decision,
    PlannedChange,
    parse_threshold,
    parse_timeout_minutes,
)
from closrads.core.drift import OnOutsideChange, OutsideChange, approval_reasons
from closrads.core.errors import GuardStateUnavailable
from closrads.core.learning_phase import policy_of
from closrads.core.run_mode import RunMode
from closrads.core.timestamps import utc_stamp
from closrads.core.write_order import WriteOrder

log = logging.getLogger(__name__)

# What the writes after an approval may still need of the run's dagrun_timeout.
TIME_LEFT_FOR_WRITES = timedelta(minutes=20)


def read_guard(campaign: Campaign, *, require_approval: bool) -> ChangeGuard:
    """The campaign's guard: its threshold Variable, else the registry's threshold for it."""
    variable = campaign.approval_threshold_variable
    raw = read_variable(variable, "the change guard's setting")
    guard = parse_threshold(raw, default=campaign.approval_threshold, variable=variable)
    return ChangeGuard(guard.threshold, require_approval, guard.warning, variable)


def outside_change_reasons(plans: list[PlannedChange], mapping: dict | None) -> list[str]:
    """Why a live run waits under ``on_outside_change`` = ``approve`` (``mapping``: ``map_regions``'s result,
    which carries the campaign's choice): an ad set it would write over a change made outside CLOSRADS."""
    if (mapping or {}).get("on_outside_change") != OnOutsideChange.APPROVE:
        return []
    changes = []
    for plan in plans:
        change = OutsideChange.from_dict(plan.outside_change)
        if plan.size and change and change.made_outside:
            changes.append((f"{plan.name} ({plan.adset_id})", change))
    return approval_reasons(changes)


def dry_run_result(
    campaign: Campaign, plans: list[PlannedChange], *, require_approval: bool, also: list[str] = ()
) -> ApprovalResult:
    """A dry run is never asked, but its report says when the same plan, live, would wait for a person
    (a guard Variable it cannot read only costs it that sentence: a dry run writes nothing). ``also``:
    further reasons the plan would wait (an outside change under ``approve``)."""
    try:
        guard = read_guard(campaign, require_approval=require_approval)
    except GuardStateUnavailable as exc:
        log.warning("Dry run: cannot tell whether this plan would need approval live: %s", exc)
        return ApprovalResult(Decision.NOT_ASKED, DRY_RUN)
    reasons = guard.reasons(plans) + list(also)
    if reasons:
        log.warning("Dry run: no approval asked; live, this plan would wait for a person (%s)", "; ".join(reasons))
        return ApprovalResult(Decision.NOT_ASKED, "; ".join(reasons), guard.threshold, guard.require_approval)
    log.info("Dry run: nothing is written, so no approval is needed (nor would it be live)")
    return ApprovalResult(Decision.NOT_ASKED, DRY_RUN, guard.threshold, guard.require_approval)


def no_person_needed(guard: ChangeGuard, plans: list[PlannedChange]) -> ApprovalResult:
    """The decision for a live plan that does not trip the guard."""
    biggest = max((plan.size for plan in plans), default=0)
    why = f"largest change {biggest} states; {guard.describe()}"
    log.info("Change guard: no approval needed (%s)", why)
    return ApprovalResult(Decision.NOT_NEEDED, why, guard.threshold, guard.require_approval)


def wait_minutes(campaign: Campaign, dagrun_timeout: timedelta | None, started: datetime | None) -> int:
    """How long to wait for an answer: the campaign's timeout Variable (else its registry default), at
    most what leaves the run time for its writes before its ``dagrun_timeout``."""
    minutes, warning = parse_timeout_minutes(
        read_variable(campaign.approval_timeout_variable, "the change guard's setting"),
        limit=minutes_left(dagrun_timeout, started),
        default=campaign.approval_timeout_minutes,
        variable=campaign.approval_timeout_variable,
    )
    if warning:
        log.warning("Approval timeout: %s", warning)
    return minutes


def minutes_left(dagrun_timeout: timedelta | None, started: datetime | None) -> int:
    """Minutes the approval may take so the run still finishes within its ``dagrun_timeout``."""
    if not dagrun_timeout or not started:
        return 24 * 60
    left = started + dagrun_timeout - TIME_LEFT_FOR_WRITES - datetime.now(UTC)
    return max(int(left.total_seconds() // 60), 1)


def answered(asked: ApprovalResult | None, answer: dict[str, Any], approve_option: str) -> ApprovalResult:
    """What a person's answer (Airflow's validated HITL response) decided, with who and when."""
    user = answer.get("responded_by_user") or {}
    responded_at = answer.get("responded_at")
    result = ApprovalResult(
        Decision.APPROVED if answer["chosen_options"] == [approve_option] else Decision.REJECTED,
        asked.reason if asked else "asked",
        asked.threshold if asked else 0,
        asked.require_approval if asked else True,
        by=str(user.get("name") or user.get("id") or "") or None,
        at=utc_stamp(responded_at) if responded_at else None,
    )
    log.warning("Change guard: %s", result.describe())
    return result


def record_decision(ti, result: ApprovalResult, *, mode: dict, mapping: dict, demand: dict) -> None:
    """Record the decision for the report, and the run's write order for its ``update_adset`` tasks."""
    ti.xcom_push(key=XComKey.APPROVAL, value=result.to_dict())
    order = WriteOrder(RunMode.from_dict(mode), policy_of(mapping), demand["fetched_at"], result)
    ti.xcom_push(key=XComKey.WRITE_ORDER, value=order.to_dict())

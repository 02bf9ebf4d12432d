"""What ``approve_changes`` decides: the guard it reads (failing closed), a dry run's sentence, how long
it waits within the run's timeout, what a person's answer means, and the write order it leaves."""

from datetime import UTC, datetime, timedelta

import pytest

from closrads.airflow.sync import approval
from closrads.core.campaigns import DEFAULT_CAMPAIGN
from closrads.core.change_guard import ApprovalResult, Decision, PlannedChange
from closrads.core.errors import GuardStateUnavailable
from closrads.core.write_order import WriteOrder
from tests.airflow.conftest import FakeTaskInstance

THRESHOLD, TIMEOUT = DEFAULT_CAMPAIGN.approval_threshold_variable, DEFAULT_CAMPAIGN.approval_timeout_variable
BIG = PlannedChange("1", "Core", added=["TX", "OH", "PA"], removed=["FL"])
SMALL = PlannedChange("2", "Mobile", added=["TX"])


def test_the_threshold_variable_decides_and_a_wrong_one_asks_for_every_change(variable):
    variable(by_name={THRESHOLD: "3"})
    guard = approval.read_guard(DEFAULT_CAMPAIGN, require_approval=False)
    assert guard.reasons([BIG, SMALL]) == ["Core (1) would change 4 states, over the threshold of 3"]
    variable(by_name={THRESHOLD: "many"})
    guard = approval.read_guard(DEFAULT_CAMPAIGN, require_approval=False)
    assert guard.threshold == 0 and guard.reasons([SMALL])
    assert approval.read_guard(DEFAULT_CAMPAIGN, require_approval=True).reasons([SMALL]) == [
        "the run was triggered with require_approval=true"
    ]


def test_an_unreadable_guard_fails_a_live_run_and_costs_a_dry_run_one_sentence(variable):
    variable(value=None, keys_error=ConnectionError("API server away"))
    with pytest.raises(GuardStateUnavailable, match=f"Variable {THRESHOLD}"):
        approval.read_guard(DEFAULT_CAMPAIGN, require_approval=False)
    result = approval.dry_run_result(DEFAULT_CAMPAIGN, [BIG], require_approval=False)
    assert (result.decision, result.reason) == (Decision.NOT_ASKED, "dry run")


def test_a_dry_run_says_when_the_same_plan_live_would_wait(variable):
    variable(by_name={THRESHOLD: "3"})
    result = approval.dry_run_result(DEFAULT_CAMPAIGN, [BIG, SMALL], require_approval=False)
    assert result.decision == Decision.NOT_ASKED and "over the threshold of 3" in result.reason
    passed = approval.no_person_needed(approval.read_guard(DEFAULT_CAMPAIGN, require_approval=False), [SMALL])
    assert passed.decision == Decision.NOT_NEEDED and passed.reason.startswith("largest change 1 states")


def test_the_wait_ends_before_the_run_would_time_out(variable):
    variable(by_name={TIMEOUT: "600"})
    started = datetime.now(UTC) - timedelta(minutes=30)
    assert approval.wait_minutes(DEFAULT_CAMPAIGN, timedelta(hours=2), started) in (69, 70)  # 120 - 30 - 20
    variable(by_name={TIMEOUT: "15"})
    assert approval.wait_minutes(DEFAULT_CAMPAIGN, timedelta(hours=2), started) == 15
    assert approval.minutes_left(None, None) == 24 * 60


def test_a_persons_answer_is_the_decision_with_who_and_when():
    asked = ApprovalResult(Decision.APPROVED, "Core (1) would change 4 states", 3)
    answer = {
        "chosen_options": ["Approve"],
        "responded_by_user": {"id": "7", "name": "ops-anna"},
        "responded_at": datetime(2026, 12, 7, 14, 5, 9, tzinfo=UTC),
    }
    result = approval.answered(asked, answer, "Approve")
    assert (result.decision, result.by, result.at, result.threshold) == (
        Decision.APPROVED,
        "ops-anna",
        "2026-12-07 14:05:09 UTC",
        3,
    )
    assert approval.answered(asked, answer | {"chosen_options": ["Reject"]}, "Approve").decision == Decision.REJECTED


def test_the_decision_and_the_runs_write_order_are_recorded_for_the_tasks_after_it():
    ti = FakeTaskInstance()
    mode = {"dry_run": False, "reason": "manual run", "invalid": False}
    mapping = {"regions": [], "unmapped": [], "policy": {"add": ["OH"], "keep": [], "regions": []}}
    result = ApprovalResult(Decision.NOT_NEEDED, "largest change 1 states")
    approval.record_decision(ti, result, mode=mode, mapping=mapping, demand={"fetched_at": "2026-12-07T13:00:00"})
    assert ti.pushed["approval"] == [result.to_dict()]
    (order,) = ti.pushed["write_order"]
    order = WriteOrder.from_dict(order)
    assert (order.mode.dry_run, order.policy.add, order.fetched_at) == (False, ["OH"], "2026-12-07T13:00:00")

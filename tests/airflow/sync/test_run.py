"""One ad set's write, as ``update_adset`` makes it with the run's write order, against the sandbox:
read fresh, compared, written only as the change guard allowed (dry: validated by Meta), guarded by
the stale re-run record and audited. Whole runs are tests/integration's."""

import pytest

from closrads.airflow.sync.run import apply_demand
from closrads.core.change_guard import ApprovalResult, Decision, PlanChangedSinceApproval, PlannedChange
from closrads.core.learning_phase import StatePolicy
from closrads.core.report import AdSetOutcome, Outcome
from closrads.core.run_mode import RunMode
from closrads.core.write_order import WriteOrder
from sandbox import scenario

CORE = "120215550000000001"
WANTED = scenario.demanded_codes(scenario.DEFAULT_DEMAND)
POLICY = StatePolicy(add=WANTED, regions=scenario.regions(*WANTED))
CORE_PLAN = PlannedChange(CORE, "Core", added=["NE", "TX", "WV"], removed=["AK", "MA", "VT"])
NOT_NEEDED = ApprovalResult(Decision.NOT_NEEDED, "largest change 6 states", threshold=10)


def order(dry_run: bool, approval: ApprovalResult = NOT_NEEDED) -> WriteOrder:
    return WriteOrder(RunMode(dry_run, "manual run"), POLICY, "2026-12-07T13:00:00+00:00", approval)


def apply(task_run, planned: PlannedChange, write_order: WriteOrder) -> tuple[AdSetOutcome, object]:
    run = task_run()
    outcome = AdSetOutcome(CORE, "Core", Outcome.FAILED)
    apply_demand(run, outcome, planned, write_order)
    return outcome, run


def test_a_dry_run_has_meta_validate_the_write_and_claims_nothing(sandbox, task_run, variable):
    fake = variable(value=None, keys=[])
    outcome, run = apply(task_run, CORE_PLAN, order(dry_run=True))
    assert (outcome.outcome, outcome.added, outcome.removed) == (
        Outcome.WOULD_UPDATE,
        ["NE", "TX", "WV"],
        ["AK", "MA", "VT"],
    )
    assert len(sandbox.graph_validations()) == 1 and sandbox.graph_writes() == []
    assert fake.written == [] and run.outlet_events.added == []


def test_a_live_write_claims_the_stale_guard_writes_and_is_audited(sandbox, task_run, variable):
    fake = variable(value=None, keys=[])
    outcome, run = apply(task_run, CORE_PLAN, order(dry_run=False))
    assert outcome.outcome == Outcome.UPDATED and sandbox.targeted_states()[CORE] == sorted(WANTED)
    assert fake.written == [
        ("closrads_last_applied_demand", {"fetched_at": "2026-12-07T13:00:00+00:00", "run_id": "manual__1"})
    ]
    ((_, asset, record),) = run.outlet_events.added
    assert asset.name == f"closrads_adset_{CORE}" and record["added"] == ["NE", "TX", "WV"]


def test_a_held_adset_waits_without_a_single_graph_request(sandbox, task_run):
    held = PlannedChange(CORE, "Core", held=["TX"], held_note="held back until 2026-12-08 13:00 UTC: last edited ...")
    outcome, _ = apply(task_run, held, order(dry_run=False))
    assert (outcome.outcome, outcome.held) == (Outcome.HELD, ["TX"])
    assert sandbox.requests("graph") == []


def test_an_adset_paused_since_the_listing_is_left_alone(sandbox, task_run):
    sandbox.update_adset(CORE, effective_status="PAUSED")
    outcome, _ = apply(task_run, CORE_PLAN, order(dry_run=False))
    assert outcome.outcome == Outcome.SKIPPED and "it is PAUSED now" in outcome.error
    assert sandbox.graph_writes() == []


def test_an_approved_plan_is_written_only_as_it_was_approved(sandbox, task_run, variable):
    variable(value=None, keys=[])
    approved = ApprovalResult(Decision.APPROVED, "asked", by="ops-anna")
    other_plan = PlannedChange(CORE, "Core", added=["TX"], removed=[])
    with pytest.raises(PlanChangedSinceApproval, match="the approved change was \\+TX"):
        apply(task_run, other_plan, order(dry_run=False, approval=approved))
    assert sandbox.graph_writes() == []

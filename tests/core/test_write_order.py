"""The write order: what all of a run's ad sets share survives its trip through XCom (JSON) unchanged."""

import json

from closrads.core.change_guard import ApprovalResult, Decision
from closrads.core.learning_phase import LearningPhaseRules, StatePolicy, policy_of
from closrads.core.run_mode import RunMode
from closrads.core.write_order import WriteOrder
from sandbox.scenario import regions


def test_a_write_order_round_trips_through_json():
    order = WriteOrder(
        mode=RunMode(False, "manual run, dry_run param is false"),
        policy=StatePolicy(
            add=["OH"],
            keep=["TX", "FL"],
            regions=regions("OH", "TX", "FL"),
            demand={"TX": 2},
            zero_runs={"FL": 1},
            rules=LearningPhaseRules(48, 3, 2),
        ),
        fetched_at="2026-12-02T13:00:01.123456+00:00",
        approval=ApprovalResult(Decision.APPROVED, "asked", 10, False, by="alice", at="2026-12-02 13:05:00 UTC"),
    )

    assert WriteOrder.from_dict(json.loads(json.dumps(order.to_dict()))) == order


def test_a_dry_write_order_stays_dry():
    order = WriteOrder(
        RunMode(True, "manual run"),
        policy_of({"regions": []}),
        "2026-12-02T13:00:00+00:00",
        ApprovalResult(Decision.NOT_ASKED, "dry run"),
    )

    assert WriteOrder.from_dict(order.to_dict()).mode.dry_run is True


def test_the_order_every_adsets_row_carries_names_its_regions_by_key_only():
    policy = StatePolicy(add=["TX", "OH"], regions=regions("TX", "OH"))
    order = WriteOrder(
        RunMode(False, "manual run"), policy, "2026-12-02T13:00:00+00:00", ApprovalResult(Decision.NOT_NEEDED, "small")
    )
    carried = order.to_dict()
    assert carried["policy"]["region_keys"] == [region["key"] for region in regions("TX", "OH")]
    assert "regions" not in carried["policy"] and "Texas" not in json.dumps(carried)
    assert WriteOrder.from_dict(carried).policy.regions == regions("TX", "OH")  # in the order written

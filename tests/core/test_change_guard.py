"""The change guard's rules: when a run must wait, what the person sees, which writes an answer allows."""

import pytest

from closrads.core.autolinks import WORD_JOINER
from closrads.core.change_guard import (
    ApprovalResult,
    ChangeGuard,
    Decision,
    PlanChangedSinceApproval,
    PlannedChange,
    check_write_allowed,
    md,
    parse_threshold,
    parse_timeout_minutes,
    plan_change,
    plan_markdown,
)
from closrads.core.learning_phase import policy_of
from closrads.core.targeting import GeoPlan
from sandbox.scenario import regions

SMALL = PlannedChange("1", "Core", ["TX"], ["FL"])
LARGE = PlannedChange("2", "Mobile", [f"S{i}" for i in range(11)], [])
NONE = PlannedChange("3", "Matches")


@pytest.mark.parametrize(
    ("guard", "plans", "asks"),
    [
        (ChangeGuard(10), [SMALL, NONE], False),
        (ChangeGuard(10), [SMALL, LARGE], True),  # 11 states > 10
        (ChangeGuard(11), [LARGE], False),  # "more than" the threshold, not "at least"
        (ChangeGuard(0), [SMALL], True),  # 0: any change
        (ChangeGuard(0), [NONE], False),  # nothing changes: nothing to approve
        (ChangeGuard(51, require_approval=True), [SMALL], True),
        (ChangeGuard(51, require_approval=True), [NONE], False),
    ],
)
def test_when_the_guard_asks(guard, plans, asks):
    assert bool(guard.reasons(plans)) is asks


def test_the_reasons_name_the_largest_changes_first():
    plans = [PlannedChange(str(i), f"A{i}", ["X"] * i) for i in range(11, 20)]
    reasons = ChangeGuard(10).reasons(plans)
    assert reasons[0] == "A19 (19) would change 19 states, over the threshold of 10"
    assert reasons[-1] == "... and 4 more ad sets over the threshold"


@pytest.mark.parametrize(
    ("raw", "threshold", "warned"),
    [(None, 10, False), ("", 10, False), (" 25 ", 25, False), ("0", 0, False), ("-1", 0, True), ("ten", 0, True)],
)
def test_an_unusable_threshold_asks_for_every_change(raw, threshold, warned):
    guard = parse_threshold(raw)
    assert guard.threshold == threshold and bool(guard.warning) is warned


@pytest.mark.parametrize(
    ("raw", "limit", "minutes", "warned"),
    [(None, 100, 60, False), ("15", 100, 15, False), ("0", 100, 60, True), ("soon", 100, 60, True),
     ("600", 100, 100, True), (None, 0, 1, True)],
)  # fmt: skip
def test_the_timeout_fits_inside_the_run(raw, limit, minutes, warned):
    got, warning = parse_timeout_minutes(raw, limit=limit)
    assert got == minutes and bool(warning) is warned


def test_planning_from_the_listing_never_raises_and_says_why_it_could_not():
    targeting = {"geo_locations": {"regions": regions("OH", "AK")}}
    exactly = policy_of({"regions": regions("OH", "TX")})  # learning-phase protection off: the demand
    assert plan_change("1", "Core", targeting, exactly) == PlannedChange("1", "Core", ["TX"], ["AK"])
    broken = plan_change("2", "Broken", None, exactly)
    assert broken.size == 0 and "no targeting" in broken.error
    overlap = plan_change("3", "US", {"geo_locations": {"countries": ["US"]}}, exactly)
    assert "whole United States" in overlap.error


def test_a_plan_row_round_trips_through_xcom():
    assert PlannedChange.from_row(SMALL.to_row()) == SMALL
    assert PlannedChange.from_row({"id": "9", "name": "Old"}).error == "no plan was made for it"


def _approved(decision=Decision.APPROVED, **extra):
    return ApprovalResult(decision, "asked", 10, False, by="alice", at="2026-12-02 13:05:00 UTC", **extra)


def test_an_approved_write_must_be_exactly_the_approved_change():
    check_write_allowed(GeoPlan(["TX"], ["FL"]), SMALL, _approved())
    with pytest.raises(PlanChangedSinceApproval) as refused:
        check_write_allowed(GeoPlan(["TX"], []), SMALL, _approved())
    assert str(refused.value) == (
        "not written: the ad set changed since the plan was approved; its change would now be +TX, "
        "but the approved change was +TX -FL. Trigger a new run to plan and approve it again"
    )
    with pytest.raises(PlanChangedSinceApproval, match="could not"):  # unplanned: never approved
        check_write_allowed(GeoPlan(["TX"], []), PlannedChange("4", "X", error="could not plan"), _approved())


def test_without_approval_a_change_that_grew_over_the_threshold_is_not_written():
    not_needed = _approved(Decision.NOT_NEEDED)
    check_write_allowed(GeoPlan(["TX", "OH"], ["FL"]), SMALL, not_needed)  # differs, but small: fine
    with pytest.raises(PlanChangedSinceApproval, match="now needs approval"):
        check_write_allowed(GeoPlan([f"S{i}" for i in range(11)], []), SMALL, not_needed)
    with pytest.raises(PlanChangedSinceApproval, match="rejected by alice"):
        check_write_allowed(GeoPlan(["TX"], ["FL"]), SMALL, _approved(Decision.REJECTED))


def test_the_plan_body_shows_each_change_and_keeps_names_inert():
    hostile = PlannedChange("5", "![x](http://evil.example) | [click](http://evil.example) <b>", ["OH"], ["TX"])
    body = plan_markdown([SMALL, LARGE, hostile, NONE], ChangeGuard(10), ChangeGuard(10).reasons([LARGE]))
    assert "3 of 4 ad sets change; 13 states added and 2 removed in total" in body
    assert body.index("| Mobile | 2 | 11 |") < body.index("| Core | 1 | 2 | TX | FL |")
    shown = body.replace(WORD_JOINER, "")  # reads as the name was written
    assert "\\!\\[x\\](http://evil.example) \\| \\[click\\](http://evil.example) \\<b\\>" in shown
    assert "http://" not in body and "evil.example" not in body  # no bare URL for Markdown to link
    assert "](http" not in body.replace("\\](http", "")  # no live link or image
    assert md("a\nb\tc") == "a b c"  # one line: a name cannot start a heading or a table row


def test_the_decision_reads_well():
    assert _approved().describe() == "approved by alice at 2026-12-02 13:05:00 UTC (asked)"
    rejected = _approved(Decision.REJECTED).describe()
    assert rejected.startswith("REJECTED by alice") and rejected.endswith("nothing was written")
    assert ApprovalResult.from_dict(_approved().to_dict()) == _approved()


def test_a_listing_row_carries_only_what_its_plan_says():
    unchanged = PlannedChange("7", "Steady")
    assert unchanged.to_row() == {"id": "7", "name": "Steady", "plan": {}}  # a plan: nothing to change
    assert PlannedChange.from_row(unchanged.to_row()) == unchanged
    held = PlannedChange("8", "Held", held=["+TX (demand 2, added at 3)"], held_note="held back until ...")
    assert held.to_row()["plan"] == {"held": ["+TX (demand 2, added at 3)"], "held_note": "held back until ..."}
    assert PlannedChange.from_row(held.to_row()) == held

"""Learning-phase protection's rules: which states an ad set gets, keeps or waits for, and what it says."""

from datetime import UTC, datetime, timedelta

import pytest

from closrads.core.change_guard import plan_change
from closrads.core.learning_phase import (
    DemandObservation,
    LearningPhaseRules,
    LearningPhaseSettingError,
    describe_hold,
    earlier_runs,
    edit_hold,
    recorded_history,
    state_policy,
)
from closrads.core.regions import map_states
from sandbox.scenario import regions

T0 = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


def seen(day: int, states: dict[str, int], run: str | None = None) -> DemandObservation:
    return DemandObservation(run or f"run_{day}", (T0 + timedelta(days=day)).isoformat(), states)


def targeting(*codes: str) -> dict:
    return {"age_min": 30, "geo_locations": {"regions": regions(*codes)}}


def policy_for(demand: dict[str, int], earlier=(), rules=None, forced=False):
    rules = rules or LearningPhaseRules()
    wanted = {code: n for code, n in demand.items() if n > 0}
    return state_policy(map_states(wanted).regions, seen(9, wanted), list(earlier), rules, forced=forced)


def test_off_by_default_the_policy_is_exactly_the_demand():
    policy = policy_for({"OH": 1, "TX": 5})
    assert not LearningPhaseRules().enabled and policy.describe() == "off"
    assert policy.regions_for(targeting("FL", "OH")) == map_states(["OH", "TX"]).regions
    assert policy.held_for(targeting("FL")) == []


def test_a_state_is_added_only_at_the_demand_threshold_and_kept_while_it_has_some():
    policy = policy_for({"OH": 5, "TX": 2}, rules=LearningPhaseRules(add_at_demand=3))
    # TX (demand 2) is not added to an ad set without it, and kept where it is targeted
    assert plan_change("1", "New", targeting("OH"), policy).added == []
    assert plan_change("1", "New", targeting("OH"), policy).held == ["+TX (demand 2, added at 3)"]
    kept = plan_change("2", "Has TX", targeting("OH", "TX"), policy)
    assert (kept.added, kept.removed, kept.held) == ([], [], [])


def test_a_state_is_removed_only_after_enough_runs_at_zero():
    rules = LearningPhaseRules(remove_after_zero_runs=3)
    earlier = [seen(8, {"OH": 1}), seen(7, {"OH": 1, "FL": 4})]  # newest first; FL at zero in run 8 and now
    policy = policy_for({"OH": 1}, earlier, rules)
    plan = plan_change("1", "Core", targeting("OH", "FL", "AK"), policy)
    # AK: no recorded run wanted it, so it is not flickering and goes; FL was wanted 2 runs ago and stays
    assert (plan.removed, plan.held) == (["AK"], ["-FL (2 of 3 runs at zero)"])
    three_ago = [seen(8, {"OH": 1}), seen(7, {"OH": 1}), seen(6, {"FL": 4})]
    assert "FL" not in policy_for({"OH": 1}, three_ago, rules).keep  # 3 runs at zero: removed


def test_without_history_a_state_at_zero_goes_as_without_the_rule():
    policy = policy_for({"OH": 1}, [], LearningPhaseRules(remove_after_zero_runs=2))
    plan = plan_change("1", "Core", targeting("OH", "FL"), policy)
    assert (plan.removed, plan.held) == (["FL"], [])


def test_forcing_applies_the_demand_at_once():
    policy = policy_for({"OH": 1, "TX": 2}, [], LearningPhaseRules(24, 3, 3), forced=True)
    plan = plan_change("1", "Core", targeting("FL"), policy)
    assert (plan.added, plan.removed, plan.held) == (["OH", "TX"], ["FL"], [])
    assert policy.interval is None and "ignore_learning_phase=true" in policy.describe()


def test_earlier_runs_count_each_run_once_and_never_this_run_or_a_later_one():
    current = seen(5, {"OH": 1}, run="now")
    recorded = [
        seen(4, {"OH": 1}, run="b").to_extra(),
        seen(3, {"FL": 1}, run="b").to_extra(),  # the same run fetched twice (a clear): its last fetch counts
        seen(2, {"TX": 1}, run="a").to_extra(),
        seen(5, {"OH": 9}, run="now").to_extra(),
        seen(6, {"OH": 9}, run="later").to_extra(),
        {"not": "an observation"},
        None,
    ]
    got = earlier_runs(current, recorded, 5)
    assert [(run.run_id, run.states) for run in got] == [("b", {"OH": 1}), ("a", {"TX": 1})]
    assert earlier_runs(current, recorded, 1) == got[:1]


def test_an_ad_set_edited_recently_waits_until_the_interval_has_passed():
    interval = timedelta(hours=48)
    assert edit_hold(None, interval, T0) is None
    assert edit_hold(T0 - timedelta(hours=49), interval, T0) is None
    until = edit_hold(T0 - timedelta(hours=2), interval, T0)
    assert until == T0 + timedelta(hours=46)
    note = describe_hold(T0 - timedelta(hours=2), until, interval)
    assert (
        note
        == "held back until 2026-12-03 11:00 UTC: last edited 2026-12-01 11:00 UTC, at least 48 h between two edits"
    )
    held = plan_change("1", "Core", targeting("FL"), policy_for({"OH": 1})).hold(note)
    assert (held.size, held.held, held.held_note) == (0, ["+OH", "-FL"], note)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("{", "is not JSON"),
        ("[1]", "must be an object"),
        ("true", "must be an object"),
        ("on", "is not JSON"),
        ('{"add_at": 3}', "unknown field(s) add_at"),
        ('{"add_at_demand": 0}', "'add_at_demand' must be a whole number from 1 (off)"),
        ('{"add_at_demand": 2.5}', "'add_at_demand' must be a whole number"),
        ('{"remove_after_zero_runs": 31}', "'remove_after_zero_runs' must be a whole number from 1 (off) to 30"),
        ('{"min_edit_interval_hours": -1}', "'min_edit_interval_hours' must be from 0 (off) to 720"),
        ('{"min_edit_interval_hours": "soon"}', "'min_edit_interval_hours' must be a number of hours"),
        ('{"min_edit_interval_hours": true}', "'min_edit_interval_hours' must be a number of hours"),
    ],
)
def test_an_unusable_setting_is_refused_naming_where_and_what(raw, problem):
    with pytest.raises(LearningPhaseSettingError) as error:
        LearningPhaseRules.parse(raw, source="Variable closrads_learning_phase")
    assert str(error.value).startswith("Variable closrads_learning_phase") and problem in str(error.value)


def test_a_setting_reads_from_json_or_a_mapping_and_unset_is_off():
    assert LearningPhaseRules.parse(None, source="x") == LearningPhaseRules.parse("  ", source="x")
    for off in ("{}", "off", " OFF ", "false", "null", "none"):
        assert not LearningPhaseRules.parse(off, source="x").enabled, off
    rules = LearningPhaseRules.parse('{"min_edit_interval_hours": 72, "add_at_demand": 3}', source="x")
    assert rules == LearningPhaseRules.parse({"min_edit_interval_hours": 72, "add_at_demand": 3}, source="x")
    assert rules.describe() == "a state is added at a demand of 3 or more; at least 72 h between two edits of an ad set"


def test_the_history_keeps_this_run_and_the_latest_others_once_each_and_is_bounded():
    older = [seen(day, {"OH": day}).to_extra() for day in range(40)]
    current = seen(50, {"OH": 1}, run="run_39")  # the same run again (a clear): replaces its entry
    kept = recorded_history(current, [*older, "junk"])
    assert len(kept) == 30 and kept[0] == current.to_extra()
    assert [entry["run_id"] for entry in kept[1:3]] == ["run_38", "run_37"]


def test_holding_while_meta_reports_learning_is_a_rule_of_its_own():
    rules = LearningPhaseRules.parse('{"hold_while_learning": true}', source="Variable v")
    assert rules.enabled and rules.reads_meta and not rules.hysteresis
    assert rules.describe() == "no edit while Meta reports an ad set learning"
    assert LearningPhaseRules.parse({"min_edit_interval_hours": 24}, source="s").reads_meta
    assert not LearningPhaseRules.parse({"add_at_demand": 3}, source="s").reads_meta
    with pytest.raises(LearningPhaseSettingError, match="field 'hold_while_learning' must be true or false"):
        LearningPhaseRules.parse({"hold_while_learning": "yes"}, source="Variable v")

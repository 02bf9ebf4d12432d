"""What the sync plans before it writes: the learning-phase settings and demand history it reads and
records, the map-length bound, and each ad set's outside change from its audit trail."""

from datetime import UTC, datetime, timedelta

import pytest

from closrads.airflow.sync import planning
from closrads.core.audit import AuditRecord, ChangeKind
from closrads.core.campaigns import DEFAULT_CAMPAIGN
from closrads.core.change_guard import PlannedChange
from closrads.core.drift import OnOutsideChange, OutsideChange, OutsideChangeSettingError
from closrads.core.errors import CampaignTooLarge, GuardStateUnavailable
from closrads.core.learning_phase import DemandObservation, LearningPhaseRules, LearningPhaseSettingError, StatePolicy
from closrads.core.learning_state import LearningState
from sandbox.scenario import regions

SETTING, HISTORY = DEFAULT_CAMPAIGN.learning_phase_variable, DEFAULT_CAMPAIGN.demand_history_variable
TODAY = DemandObservation("manual__3", "2026-12-07T13:00:00+00:00", {"OH": 15})
EARLIER = [
    DemandObservation("scheduled__2", "2026-12-06T13:00:00+00:00", {"OH": 15}).to_extra(),
    DemandObservation("scheduled__1", "2026-12-05T13:00:00+00:00", {"OH": 15, "TX": 4}).to_extra(),
]


def test_the_campaigns_variable_overrides_its_registry_entry(variable):
    variable(by_name={})
    assert planning.learning_phase_rules(DEFAULT_CAMPAIGN) == LearningPhaseRules()  # neither: off
    variable(by_name={SETTING: '{"remove_after_zero_runs": 3}'})
    assert planning.learning_phase_rules(DEFAULT_CAMPAIGN) == LearningPhaseRules(remove_after_zero_runs=3)
    variable(by_name={SETTING: '{"remove_after_zero_runs": "three"}'})
    with pytest.raises(LearningPhaseSettingError, match=f"Variable {SETTING}: field 'remove_after_zero_runs'"):
        planning.learning_phase_rules(DEFAULT_CAMPAIGN)


def test_counting_runs_at_zero_reads_the_history_and_records_this_run(variable):
    fake = variable(by_name={SETTING: '{"remove_after_zero_runs": 3}', HISTORY: EARLIER})
    policy = planning.run_state_policy(DEFAULT_CAMPAIGN, TODAY, regions("OH"), forced=False)
    assert (policy.add, policy.keep) == (["OH"], ["TX"])  # TX at zero for 1 run of 3: kept where targeted
    ((name, history),) = fake.written
    assert name == HISTORY and [row["run_id"] for row in history] == ["manual__3", "scheduled__2", "scheduled__1"]


def test_a_forced_run_applies_the_demand_and_still_records_it(variable):
    fake = variable(by_name={SETTING: '{"remove_after_zero_runs": 3}', HISTORY: EARLIER})
    policy = planning.run_state_policy(DEFAULT_CAMPAIGN, TODAY, regions("OH"), forced=True)
    assert (policy.add, policy.keep, policy.forced) == (["OH"], [], True)
    assert [name for name, _ in fake.written] == [HISTORY]


def test_a_history_that_cannot_be_recorded_fails_the_step_as_transient(variable):
    variable(by_name={SETTING: '{"remove_after_zero_runs": 3}'}, set_error=ConnectionError("away"))
    with pytest.raises(GuardStateUnavailable, match=f"could not record this run's demand in Variable {HISTORY}"):
        planning.run_state_policy(DEFAULT_CAMPAIGN, TODAY, regions("OH"), forced=False)


def test_more_adsets_than_airflow_may_map_are_refused_by_name(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", "5")
    planning.refuse_more_than_airflow_maps(5, "120209876500000001")
    with pytest.raises(CampaignTooLarge, match="has 6 ACTIVE ad sets, more than the 5 task instances"):
        planning.refuse_more_than_airflow_maps(6, "120209876500000001")


def written(regions_after, run_id="scheduled__1"):
    return AuditRecord(
        "1", "Core", ChangeKind.SYNC, "closrads_sync", run_id, "2026-12-06T13:00:00+00:00", regions_after=regions_after
    )


def test_an_adset_changed_since_closrads_wrote_it_carries_the_change_in_its_plan(monkeypatch):
    trail = {"1": [written(regions("OH", "TX"))], "2": [written(regions("OH"))], "3": []}
    monkeypatch.setattr(
        planning, "latest_records_of", lambda campaign, adset_ids, limit: {i: trail[i] for i in adset_ids}
    )
    rows = [
        {"id": "1", "targeting": {"geo_locations": {"regions": regions("OH", "FL")}}},  # a person swapped TX for FL
        {"id": "2", "targeting": {"geo_locations": {"regions": regions("OH")}}},  # as CLOSRADS left it
        {"id": "3", "targeting": {"geo_locations": {"regions": regions("PA")}}},  # never written by CLOSRADS
    ]
    plans = [PlannedChange(row["id"], f"Ad set {row['id']}") for row in rows]
    changed, same, never = planning.note_outside_changes(DEFAULT_CAMPAIGN, rows, plans)
    assert (changed.outside_change["added"], changed.outside_change["removed"]) == (["FL"], ["TX"])
    assert same.outside_change is None and never.outside_change is None


def test_a_trail_that_cannot_be_read_is_never_guessed(monkeypatch):
    def unreachable(campaign, adset_ids, limit):
        raise ConnectionError("API server away")

    monkeypatch.setattr(planning, "latest_records_of", unreachable)
    with pytest.raises(GuardStateUnavailable, match="could not read the audit trail of campaign default"):
        planning.note_outside_changes(DEFAULT_CAMPAIGN, [{"id": "1", "targeting": {}}], [PlannedChange("1", "Core")])


def learning_info(status, hours_ago):
    edit = datetime.now(UTC) - timedelta(hours=hours_ago)
    return LearningState(status, edit.isoformat()).to_dict()


def policy_with(**rules):
    return StatePolicy(add=["OH"], rules=LearningPhaseRules(**rules))


def test_the_minimum_interval_counts_metas_last_significant_edit_too(monkeypatch):
    monkeypatch.setattr(planning, "campaign_events", lambda campaign: FakeTrail([]))  # CLOSRADS never wrote them
    plans = [
        PlannedChange("1", "Edited by a person 2 h ago", ["OH"], learning=learning_info("SUCCESS", 2)),
        PlannedChange("2", "Edited 3 days ago", ["OH"], learning=learning_info("SUCCESS", 72)),
        PlannedChange("3", "Meta reports nothing", ["OH"]),
    ]
    held, edited_long_ago, unreported = planning.hold_recent_edits(
        DEFAULT_CAMPAIGN, plans, policy_with(min_edit_interval_hours=24)
    )
    assert held.is_held and held.added == [] and held.held == ["+OH"]
    assert "(Meta's last significant edit), at least 24 h between two edits" in held.held_note
    assert edited_long_ago == plans[1] and unreported == plans[2]


def test_an_adset_meta_reports_learning_waits_only_when_the_rule_is_on_and_the_run_is_not_forced():
    plans = [
        PlannedChange("1", "Learning", ["OH"], learning=learning_info("LEARNING", 5)),
        PlannedChange("2", "Learnt", ["OH"], learning=learning_info("SUCCESS", 5)),
        PlannedChange("3", "Learning, nothing to change", learning=learning_info("LEARNING", 5)),
    ]
    assert planning.hold_while_learning(plans, policy_with()) == plans  # off by default
    forced = StatePolicy(add=["OH"], rules=LearningPhaseRules(hold_while_learning=True), forced=True)
    assert planning.hold_while_learning(plans, forced) == plans
    held, learnt, unchanged = planning.hold_while_learning(plans, policy_with(hold_while_learning=True))
    assert held.held_note.startswith("held back: Meta reports it in its learning phase since its last significant")
    assert learnt == plans[1] and unchanged == plans[2]


def test_hold_leaves_an_adset_changed_outside_closrads_alone_but_not_a_late_closrads_write():
    outside = OutsideChange("2026-12-06T13:00:00+00:00", "scheduled__1", ["AK"]).to_dict()
    late = OutsideChange("2026-12-06T13:00:00+00:00", "scheduled__2", ["AK"], late_write_of="scheduled__1").to_dict()
    plans = [
        PlannedChange("1", "Edited in Ads Manager", removed=["AK"], outside_change=outside),
        PlannedChange("2", "A late write", removed=["AK"], outside_change=late),
    ]
    assert planning.hold_outside_changes(plans, OnOutsideChange.OVERWRITE) == plans
    held, overwritten = planning.hold_outside_changes(plans, OnOutsideChange.HOLD)
    assert held.held_note.startswith("held back: changed outside CLOSRADS since 2026-12-06 13:00 UTC")
    assert held.outside_change == outside and overwritten == plans[1]


def test_the_campaigns_variable_overrides_its_outside_change_choice(variable):
    name = DEFAULT_CAMPAIGN.on_outside_change_variable
    variable(by_name={})
    assert planning.outside_change_choice(DEFAULT_CAMPAIGN) == OnOutsideChange.OVERWRITE  # the registry's default
    variable(by_name={name: "approve"})
    assert planning.outside_change_choice(DEFAULT_CAMPAIGN) == OnOutsideChange.APPROVE
    variable(by_name={name: "always"})
    with pytest.raises(OutsideChangeSettingError, match=f"Variable {name} is 'always'"):
        planning.outside_change_choice(DEFAULT_CAMPAIGN)
    variable(get_error=ConnectionError("API server away"))
    with pytest.raises(GuardStateUnavailable):
        planning.outside_change_choice(DEFAULT_CAMPAIGN)


class FakeTrail(list):
    def after(self, since):
        return self

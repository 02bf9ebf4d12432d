"""The one write path (dry: Meta validates; live: guards, write, audit record) against the sandbox, and
the stale re-run guard's claim on the record Variable."""

import pytest

from closrads.airflow.hooks.facebook_ads import FacebookAdsHook
from closrads.airflow.targeting_writes import StaleGuard, write_targeting
from closrads.core.audit import ChangeKind
from closrads.core.errors import GuardStateUnavailable, StaleRunRefused
from closrads.core.report import AdSetOutcome, Outcome
from closrads.core.run_mode import RunMode
from closrads.core.targeting import plan_geo_update, targeting_with_regions, usable_targeting
from sandbox.scenario import regions

CORE = "120215550000000001"
LIVE, DRY = RunMode(False, "manual run"), RunMode(True, "manual run")


def write(task_run, mode, before_write=lambda: None):
    hook = FacebookAdsHook()
    current = usable_targeting(hook.get_adset(CORE)["targeting"])
    wanted = regions("OH", "TX")
    outcome = AdSetOutcome(CORE, "Core", Outcome.FAILED)
    run = task_run()
    written_at = write_targeting(
        hook,
        outcome,
        run,
        mode=mode,
        current=current,
        desired=targeting_with_regions(current, wanted),
        plan=plan_geo_update(current, wanted),
        kind=ChangeKind.SYNC,
        before_write=before_write,
    )
    return outcome, run, written_at


def test_a_dry_run_has_meta_validate_the_write_and_changes_nothing(sandbox, task_run):
    outcome, run, written_at = write(task_run, DRY, before_write=pytest.fail)  # no guard is asked either
    assert (outcome.outcome, written_at) == (Outcome.WOULD_UPDATE, None)
    assert len(sandbox.graph_validations()) == 1 and sandbox.graph_writes() == []
    assert run.outlet_events.added == []


def test_a_live_write_is_made_after_the_guards_and_recorded_on_the_adsets_asset(sandbox, task_run):
    asked = []
    outcome, run, written_at = write(task_run, LIVE, before_write=lambda: asked.append(len(sandbox.graph_writes())))
    assert asked == [0]  # the guards ran before anything was written
    assert outcome.outcome == Outcome.UPDATED and sandbox.targeted_states()[CORE] == ["OH", "TX"]
    ((alias, asset, record),) = run.outlet_events.added
    assert (alias.name, asset.name) == ("closrads_targeting_changes", f"closrads_adset_{CORE}")
    assert (record["run_id"], record["try_number"], record["written_at"]) == ("manual__1", 1, written_at)
    assert [r["key"] for r in record["regions_after"]] == [r["key"] for r in regions("OH", "TX")]


def test_a_refusing_guard_stops_the_write(sandbox, task_run):
    def refuse():
        raise StaleRunRefused("refusing to write")

    with pytest.raises(StaleRunRefused):
        write(task_run, LIVE, before_write=refuse)
    assert sandbox.graph_writes() == []


NOW, LATER = "2026-12-07T13:00:00+00:00", "2026-12-08T13:00:00+00:00"


def test_the_first_write_of_a_run_claims_the_record_and_later_ones_find_it_claimed(variable):
    fake = variable(value=None, keys=[])
    StaleGuard(NOW, "manual__1", "closrads_last_applied_demand").claim()
    assert fake.written == [("closrads_last_applied_demand", {"fetched_at": NOW, "run_id": "manual__1"})]
    assert fake.descriptions["closrads_last_applied_demand"].startswith("Kept by CLOSRADS: the stale re-run guard")
    fake = variable(value={"fetched_at": NOW, "run_id": "manual__1"})
    StaleGuard(NOW, "manual__1", "closrads_last_applied_demand").claim()
    assert fake.written == []  # recorded already by this run's first write


def test_an_older_run_is_refused_once_newer_demand_was_applied(variable):
    variable(value={"fetched_at": LATER, "run_id": "scheduled__2"})
    with pytest.raises(StaleRunRefused, match="run scheduled__2 already applied newer demand"):
        StaleGuard(NOW, "manual__1", "closrads_last_applied_demand").claim()


@pytest.mark.parametrize(
    "answers",
    [
        {"value": {"fetched_at": "yesterday"}},  # unreadable
        {"value": None, "keys_error": ConnectionError("API server away")},  # cannot confirm "missing"
        {"value": None, "keys": [], "set_error": ConnectionError("API server away")},  # cannot record
    ],
)
def test_a_guard_that_cannot_be_read_or_recorded_fails_closed(variable, answers):
    variable(**answers)
    with pytest.raises(GuardStateUnavailable) as raised:
        StaleGuard(NOW, "manual__1", "closrads_last_applied_demand").claim()
    assert raised.value.transient and "closrads_last_applied_demand" in str(raised.value)

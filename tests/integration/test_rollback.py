"""``closrads_rollback``: undo one sync run, only where the ad sets still hold what it wrote."""

import json

import pytest

from tests.integration.test_audit import audit_events

pytestmark = pytest.mark.integration

CORE, SPOUSES, MOBILE = "120215550000000001", "120215550000000002", "120215550000000005"
ROLLBACK = "closrads_rollback"


def rollback(run_dag, run_id: str, **conf):
    return run_dag({"run_id": run_id, **conf}, dag_id=ROLLBACK)


def report_of(result) -> dict:
    return result.xcoms[("report_rollback", -1, "closrads_report")]


@pytest.fixture
def live_run(sandbox, run_dag):
    before = {a["id"]: a["targeting"] for a in sandbox.state()["adsets"]}
    result = run_dag({"dry_run": False})
    assert result.state == "success"
    return result, before


def test_rollback_restores_the_states_before_and_keeps_every_other_field(sandbox, run_dag, live_run, monkeypatch):
    sync, before = live_run
    result = rollback(run_dag, sync.run_id, dry_run=False, stop_live_schedule=False)

    assert result.state == "success", result.log[-3000:]
    for adset_id in (CORE, SPOUSES, MOBILE):
        # byte-identical targeting: the rollback restores the regions and touches nothing else
        assert json.dumps(sandbox.adset(adset_id)["targeting"], sort_keys=True) == json.dumps(
            before[adset_id], sort_keys=True
        )
    assert report_of(result)["counts"]["updated"] == 5
    undos = audit_events(result.run_id, dag_id=ROLLBACK)
    assert sorted(r.adset_id for r in undos) == sorted(r.adset_id for r in audit_events(sync.run_id))
    assert all(r.undoes_run_id == sync.run_id and r.run_id == result.run_id for r in undos)


def test_undoing_a_run_twice_says_already_undone_and_succeeds(sandbox, run_dag, live_run):
    sync, before = live_run
    first = rollback(run_dag, sync.run_id, dry_run=False, stop_live_schedule=False)
    assert first.state == "success"
    writes = len(sandbox.graph_writes())

    again = rollback(run_dag, sync.run_id, dry_run=False, stop_live_schedule=False)

    assert again.state == "success", again.log[-3000:]
    assert len(sandbox.graph_writes()) == writes  # nothing written the second time
    assert sandbox.adset(CORE)["targeting"] == before[CORE]
    outcomes = again.outcomes()
    assert {o["outcome"] for o in outcomes.values()} == {"skipped"}
    assert outcomes[CORE]["error"].startswith(f"already undone by rollback run {first.run_id} at ")
    assert "refusing" not in again.log and "clear the task" not in again.log.lower()


def test_an_adset_edited_since_is_refused_and_named(sandbox, run_dag, live_run):
    sync, before = live_run
    targeting = sandbox.adset(CORE)["targeting"]
    targeting["geo_locations"]["regions"].append({"key": "3844", "name": "Alaska", "country": "US"})
    sandbox.update_adset(CORE, targeting=targeting)
    edited = sandbox.adset(CORE)["targeting"]

    result = rollback(run_dag, sync.run_id, dry_run=False, stop_live_schedule=False)

    assert result.state == "failed"
    assert sandbox.adset(CORE)["targeting"] == edited  # not written
    outcome = result.outcomes()[CORE]
    assert (
        outcome["outcome"] == "failed"
        and f"it changed after run {sync.run_id} wrote it (+AK since then)" in (outcome["error"])
    )
    assert sandbox.adset(SPOUSES)["targeting"] == before[SPOUSES]  # the others were undone


def test_a_dry_rollback_writes_nothing_and_meta_validates_each_undo(sandbox, run_dag, live_run):
    sync, _ = live_run
    writes = len(sandbox.graph_writes())
    after_sync = sandbox.targeted_states()
    result = rollback(run_dag, sync.run_id)  # dry_run defaults to true

    assert result.state == "success"
    assert len(sandbox.graph_writes()) == writes and sandbox.targeted_states() == after_sync
    assert len(sandbox.graph_validations()) == 5
    assert report_of(result)["counts"]["would_update"] == 5


def test_a_live_rollback_stops_the_live_schedule_and_an_older_cleared_update_refuses(sandbox, run_dag, live_run):
    from airflow.models.variable import Variable  # the metadata DB, as the UI shows it

    sync, before = live_run
    result = rollback(run_dag, sync.run_id, dry_run=False, adset_ids=[CORE])

    assert result.state == "success"
    assert list(result.outcomes()) == [CORE]
    assert sandbox.adset(CORE)["targeting"] == before[CORE]
    assert Variable.get("closrads_dry_run") == "true"

    from tests.integration.test_rerun import rerun_update

    writes = len(sandbox.graph_writes())
    rerun = rerun_update(sync.run_id, 0)  # the sync's update_adset for CORE, cleared after the rollback
    assert "refusing to write" in rerun.stdout + rerun.stderr
    assert len(sandbox.graph_writes()) == writes and sandbox.adset(CORE)["targeting"] == before[CORE]


def test_a_run_that_wrote_nothing_is_refused_with_a_clear_message(sandbox, run_dag):
    dry = run_dag({"dry_run": True})
    result = rollback(run_dag, dry.run_id, dry_run=False)
    assert result.state == "failed"
    assert f"run {dry.run_id} of closrads_sync wrote no ad set in the last 35 days (no audit record)" in (
        result.step_error("plan_rollback")
    )
    assert sandbox.graph_writes() == []

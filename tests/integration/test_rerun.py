"""Re-running one ``update_adset`` instance of an existing run, as an operator does after a fix.

``airflow tasks test <dag> update_adset <run_id> --map-index N`` runs that instance inside the
existing run (its upstream XComs, its params) in a separate Airflow process.
"""

import os
import subprocess
import sys

import pytest

from tests.helpers import assert_no_secret

pytestmark = pytest.mark.integration

CORE = "120215550000000001"  # map index 0


def rerun_update(run_id: str, map_index: int) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "tasks", "test", "closrads_sync", "update_adset", run_id,
         "--map-index", str(map_index)],
        capture_output=True, text=True, env=os.environ.copy(), timeout=180,
    )  # fmt: skip
    assert_no_secret(result.stdout + result.stderr, "the `airflow tasks test` output")
    return result


def test_rerun_of_the_newest_run_rereads_and_rewrites(sandbox, run_dag):
    run = run_dag({"dry_run": False})
    assert run.state == "success"
    # A human edits the ad set in Ads Manager after the run (adds Alaska, keeps everything else).
    targeting = sandbox.adset(CORE)["targeting"]
    targeting["geo_locations"]["regions"].append({"key": "3844", "name": "Alaska", "country": "US"})
    sandbox.update_adset(CORE, targeting=targeting)
    writes_before = len(sandbox.graph_writes())

    rerun = rerun_update(run.run_id, 0)

    assert "Task failed with exception" not in rerun.stdout + rerun.stderr, rerun.stdout[-3000:]
    assert len(sandbox.graph_writes()) == writes_before + 1
    assert "AK" not in sandbox.targeted_states()[CORE]
    assert "Updated ad set 120215550000000001: -AK" in rerun.stdout + rerun.stderr


def test_rerun_of_an_older_run_is_refused_after_a_newer_run_applied_demand(sandbox, run_dag):
    older = run_dag({"dry_run": False})
    assert older.state == "success"
    sandbox.set_demand({"OH": 5, "TX": 3, "FL": 0})
    newer = run_dag({"dry_run": False})
    assert newer.state == "success"
    assert sandbox.targeted_states()[CORE] == ["OH", "TX"]
    writes_before = len(sandbox.graph_writes())

    rerun = rerun_update(older.run_id, 0)

    output = rerun.stdout + rerun.stderr
    assert "Task failed with exception" in output  # `airflow tasks test` exits 0 either way
    assert "refusing to write: this run's demand was fetched at" in output
    assert f"run {newer.run_id} already applied newer demand" in output
    assert len(sandbox.graph_writes()) == writes_before
    assert sandbox.targeted_states()[CORE] == ["OH", "TX"]


def test_the_stale_guard_fails_closed_when_its_record_cannot_be_read(sandbox, run_dag, monkeypatch):
    from airflow.sdk import Variable

    real_get = Variable.get

    def unreadable_record(key, default=None, **kwargs):
        return "{not json" if key == "closrads_last_applied_demand" else real_get(key, default=default, **kwargs)

    # Patched in this process (dag.test runs the tasks here) rather than set as an AIRFLOW_VAR_
    # environment variable: that one was still read by later runs in the same process after the test
    # removed it, and the record must not outlive this test.
    monkeypatch.setattr(Variable, "get", unreadable_record)
    result = run_dag({"dry_run": False})

    assert result.state == "failed"
    assert sandbox.graph_writes() == []
    errors = {o["error"] for o in result.outcomes().values() if o["outcome"] == "failed"}
    assert len([o for o in result.outcomes().values() if o["outcome"] == "failed"]) == 5  # every would-be write
    assert errors == {
        "could not read the stale re-run guard's record, Variable closrads_last_applied_demand "
        "(JSONDecodeError); not writing without it"
    }

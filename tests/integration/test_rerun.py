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

    def api_server_away(key, default=None, **kwargs):
        if key == "closrads_last_applied_demand":
            raise ConnectionError("the API server is away")
        return real_get(key, default=default, **kwargs)

    monkeypatch.setattr(Variable, "get", api_server_away)  # dag.test runs the tasks in this process
    result = run_dag({"dry_run": False})

    assert result.state == "failed"
    assert sandbox.graph_writes() == []
    failed = [o for o in result.outcomes().values() if o["outcome"] == "failed"]
    assert len(failed) == 5  # every would-be write; the ad set that already matches is skipped
    assert {o["error"] for o in failed} == {
        "could not read the stale re-run guard's record, Variable closrads_last_applied_demand "
        "(ConnectionError); not writing without it"
    }

"""Re-running one ``update_adset`` instance of an existing run, as an operator does after a fix.

``airflow tasks test <dag> update_adset <run_id> --map-index N`` runs that instance inside the
existing run (its upstream XComs, its params) in a separate Airflow process.
"""

import json
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
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:  # the Variables page says who keeps the record
        record = session.query(Variable).filter(Variable.key == "closrads_last_applied_demand").one()
        assert record.description.startswith("Kept by CLOSRADS: the stale re-run guard")

    rerun = rerun_update(older.run_id, 0)

    output = rerun.stdout + rerun.stderr
    assert "Task failed with exception" in output  # `airflow tasks test` exits 0 either way
    assert "refusing to write: this run's demand was fetched at" in output
    assert f"run {newer.run_id} already applied newer demand" in output
    assert len(sandbox.graph_writes()) == writes_before
    assert sandbox.targeted_states()[CORE] == ["OH", "TX"]


@pytest.mark.parametrize(
    ("failing", "why"),
    [
        ({"get"}, "it exists, but could not be read"),  # the SDK answers the failed read with the default
        ({"get", "keys"}, "ConnectError"),  # the listing too (under a real supervisor: AirflowRuntimeError)
    ],
)
def test_the_stale_guard_fails_closed_when_the_api_server_is_away(sandbox, run_dag, monkeypatch, failing, why):
    """The Task SDK answers an unreachable API server with ``Variable.get``'s default, as if nothing
    were recorded. With a newer run's record in place and the transport under the SDK failing, no ad
    set is written and Airflow retries each would-be write."""
    import httpx
    from airflow.models.variable import Variable
    from airflow.sdk.api.client import VariableOperations

    record = "closrads_last_applied_demand"
    newer = {"fetched_at": "2099-01-01T00:00:00+00:00", "run_id": "scheduled__2099-01-01T13:00:00+00:00"}
    Variable.set(record, json.dumps(newer))
    for operation in failing:
        real = getattr(VariableOperations, operation)

        def api_server_away(self, *args, _real=real, **kwargs):
            key = args[0] if args else kwargs.get("key", kwargs.get("prefix"))
            if key == record:
                raise httpx.ConnectError("the API server is away")
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(VariableOperations, operation, api_server_away)
    try:
        result = run_dag({"dry_run": False})
    finally:
        Variable.delete(record)

    assert result.state == "failed"
    assert sandbox.graph_writes() == []  # nothing written while the record could not be read
    failed = [o for o in result.outcomes().values() if o["outcome"] == "failed"]
    assert len(failed) == 5  # every would-be write; the ad set that already matches is skipped
    assert {o["error"] for o in failed} == {
        f"could not read the stale re-run guard's record, Variable {record} ({why}); not writing without it"
    }
    assert all(o["tries"] == 3 for o in failed)  # transient: Airflow retried each, and none ever wrote


def test_a_guard_record_that_cannot_be_written_stops_the_write_before_it_is_sent(sandbox, run_dag, monkeypatch):
    """The guard is claimed before the write: when its record cannot be written, nothing reaches Facebook
    (and no write is left without its audit record by a try that fails after it)."""
    import httpx
    from airflow.sdk.api.client import VariableOperations

    real_set = VariableOperations.set

    def api_server_away(self, key, *args, **kwargs):
        if key == "closrads_last_applied_demand":
            raise httpx.ConnectError("the API server is away")
        return real_set(self, key, *args, **kwargs)

    monkeypatch.setattr(VariableOperations, "set", api_server_away)
    result = run_dag({"dry_run": False})

    assert result.state == "failed"
    assert sandbox.graph_writes() == []
    failed = [o for o in result.outcomes().values() if o["outcome"] == "failed"]
    assert len(failed) == 5 and all(o["tries"] == 3 for o in failed)
    assert {o["error"] for o in failed} == {
        "could not record this run's demand in Variable closrads_last_applied_demand (ConnectError); "
        "nothing was written"
    }

"""A campaign of any size: more ACTIVE ad sets than Airflow may map is refused before any write."""

import pytest

from sandbox.scenario import generated_scenario

pytestmark = pytest.mark.integration


def test_a_campaign_over_airflows_map_limit_is_refused_before_anything_is_written(sandbox, run_dag, monkeypatch):
    # Airflow's default limit, whatever the shell exports (the Makefile ships 4096 for the local Airflow)
    monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", "1024")
    sandbox.reset(generated_scenario(1100))

    result = run_dag({"dry_run": False})

    assert result.state == "failed"
    assert sandbox.graph_writes() == [] and sandbox.graph_validations() == []
    assert len(sandbox.requests("graph", kind="listing")) == 11  # the whole listing, then nothing else
    assert sandbox.requests("graph", kind="adset") == []
    error = result.step_error("list_adsets")
    assert error.startswith("campaign 120209876500000001 has 1100 ACTIVE ad sets, more than the 1024 task instances")
    assert "nothing was written" in error and "AIRFLOW__CORE__MAX_MAP_LENGTH" in error
    report = result.report
    assert report["status"] == "aborted"
    assert "Nothing was changed on Facebook." in result.log
    assert result.task_states["list_adsets"] == "failed"
    assert result.log.count("[DAG TEST] starting task_id=list_adsets") == 1  # a refusal: not retried

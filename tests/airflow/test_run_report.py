"""How a report task turns what the tasks left behind into a report, and where the report goes.

The whole flow runs end to end in tests/integration; these cases (a task that died, a run that
stopped early) are hard to produce there and easy to state here.
"""

import pytest

from closrads.airflow.exceptions import RunFailedAfterReport
from closrads.airflow.run_report import (
    RunTasks,
    adset_outcomes,
    assemble_report,
    deliver_report,
    fail_unless_succeeded,
    step_results,
)
from closrads.core.report import Outcome, StepStatus
from closrads.core.run_mode import RunMode
from tests.airflow.conftest import FakeTaskInstance
from tests.helpers import assert_no_secret

LISTED = [{"id": "1", "name": "Core"}, {"id": "2", "name": "Spouses"}, {"id": "3", "name": "Mobile"}]


def test_each_listed_adset_gets_its_recorded_outcome_or_says_why_not():
    recorded = [{"adset_id": "1", "name": "Core", "outcome": "updated", "added": ["TX"], "removed": []}]
    states = {"update_adset_0": "success", "update_adset_1": "failed", "update_adset_2": "upstream_failed"}
    core, spouses, mobile = adset_outcomes(LISTED, recorded, RunTasks([], "update_adset", states))
    assert (core.outcome, core.added) == (Outcome.UPDATED, ["TX"])
    # its process died (no outcome, state failed): it may have been written
    assert spouses.outcome == Outcome.UNKNOWN and "ended 'failed' without recording an outcome" in spouses.error
    assert "UNKNOWN (its task died; a retry or a clear will re-check it; it may have been written)" in (
        spouses.describe()
    )
    assert mobile.outcome == Outcome.NOT_RUN and mobile.error is None


def test_steps_that_failed_and_steps_that_never_ran():
    steps = ["fetch_demand", "map_regions", "list_adsets"]
    states = {"fetch_demand": "success", "map_regions": "failed", "list_adsets": "upstream_failed"}
    results = step_results(
        FakeTaskInstance(xcom={("map_regions", "step_error"): "nothing maps"}), RunTasks(steps, "update_adset", states)
    )
    assert [(r.name, r.status, r.error) for r in results] == [
        ("fetch_demand", StepStatus.SUCCEEDED, None),
        ("map_regions", StepStatus.FAILED, "nothing maps"),
        ("list_adsets", StepStatus.NOT_RUN, None),
    ]


STEPS = ["fetch_demand", "map_regions", "list_adsets", "approve_changes"]


def test_a_report_states_the_recorded_mode_and_every_listed_adset(task_run):
    run = task_run()
    mode = RunMode(False, "manual run, dry_run param is false")
    run.ti.xcom = {("fetch_demand", "run_mode"): mode.to_dict()}
    outcome = {"adset_id": "1", "name": "Core", "outcome": "updated", "added": ["TX"], "removed": []}
    states = {step: "success" for step in STEPS} | {"update_adset_0": "success", "update_adset_1": "running"}
    result = assemble_report(
        run,
        RunTasks(STEPS, "update_adset", states),
        title="CLOSRADS sync",
        listed=[{"id": "1", "name": "Core"}, {"id": "2", "name": "Spouses", "plan": {"added": ["OH"]}}],
        outcomes=[outcome],
        demand_states=["OH", "TX"],
    )
    assert result.mode == mode and result.run_id == "manual__1"
    core, spouses = result.adsets
    assert (core.outcome, spouses.outcome, spouses.added) == ("updated", "unknown", ["OH"])
    assert spouses.error == "its update_adset task ended 'running' without recording an outcome"
    with pytest.raises(RunFailedAfterReport, match="CLOSRADS run failed: 1 of 2 failed"):
        fail_unless_succeeded(result, "CLOSRADS run", ["1 of 2 failed"])


def test_a_run_whose_first_step_never_ran_is_reported_dry(task_run):
    run = task_run()
    result = assemble_report(run, RunTasks(STEPS, "update_adset", {}), title="CLOSRADS sync", listed=[], outcomes=[])
    assert result.dry_run and "never recorded" in result.mode.reason
    assert [step.status for step in result.steps] == ["not_run"] * 4


def test_a_delivered_report_reaches_xcom_and_slack_without_secrets(sandbox, task_run):
    run = task_run()
    run.ti.xcom = {("fetch_demand", "run_mode"): RunMode(True, "manual run").to_dict()}
    states = {step: "success" for step in STEPS}
    result = assemble_report(
        run, RunTasks(STEPS, "update_adset", states), title="CLOSRADS sync", listed=[], outcomes=[]
    )
    deliver_report(run, result, what="run report")
    (pushed,) = run.ti.pushed["closrads_report"]
    assert (pushed["mode"], pushed["status"]) == ("DRY RUN: manual run", "success")
    (message,) = sandbox.slack_messages()
    assert "CLOSRADS sync - DRY RUN" in message["text"]
    assert_no_secret(str(message), "the Slack message")

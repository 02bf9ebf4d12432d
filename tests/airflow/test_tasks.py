"""How ``report`` turns what the tasks left behind into outcomes and step results.

The whole flow runs end to end in tests/integration; these cases (a task that died, a run that
stopped early) are hard to produce there and easy to state here.
"""

from closrads.airflow.sync import adset_outcomes, step_results
from closrads.core.report import Outcome, StepStatus

LISTED = [{"id": "1", "name": "Core"}, {"id": "2", "name": "Spouses"}, {"id": "3", "name": "Mobile"}]


def test_each_listed_adset_gets_its_recorded_outcome_or_says_why_not():
    recorded = [{"adset_id": "1", "name": "Core", "outcome": "updated", "added": ["TX"], "removed": []}]
    states = {"update_adset_0": "success", "update_adset_1": "failed", "update_adset_2": "upstream_failed"}
    core, spouses, mobile = adset_outcomes(LISTED, recorded, "update_adset", states)
    assert (core.outcome, core.added) == (Outcome.UPDATED, ["TX"])
    # its process died (no outcome, state failed): it may have been written
    assert spouses.outcome == Outcome.UNKNOWN and "ended 'failed' without recording an outcome" in spouses.error
    assert "UNKNOWN (its task died; a retry or a clear will re-check it; it may have been written)" in (
        spouses.describe()
    )
    assert mobile.outcome == Outcome.NOT_RUN and mobile.error is None


class FakeTaskInstance:
    def __init__(self, errors):
        self.errors = errors

    def xcom_pull(self, task_ids, key):
        return [self.errors.get(task_id) for task_id in task_ids]


def test_steps_that_failed_and_steps_that_never_ran():
    steps = ["fetch_demand", "map_regions", "list_adsets"]
    states = {"fetch_demand": "success", "map_regions": "failed", "list_adsets": "upstream_failed"}
    results = step_results(FakeTaskInstance({"map_regions": "nothing maps"}), steps, states)
    assert [(r.name, r.status, r.error) for r in results] == [
        ("fetch_demand", StepStatus.SUCCEEDED, None),
        ("map_regions", StepStatus.FAILED, "nothing maps"),
        ("list_adsets", StepStatus.NOT_RUN, None),
    ]

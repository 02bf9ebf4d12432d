"""Learning-phase protection, run for real: flickering demand over several live runs edits each ad set at
most once; off by default every run applies the demand exactly; what is held back is named in the
report, Slack and the approval plan; an ad set edited recently waits, and a person can force a run.

Each test has a campaign of its own (a registry entry with a fresh slug on the sandbox's default
Connections), so its demand history and audit trail hold only its own runs, whatever other tests of
this worker wrote to the shared metadata DB.
"""

from __future__ import annotations

import json
from collections import Counter
from urllib.parse import quote

import pytest

from sandbox.scenario import DEFAULT_DEMAND
from tests.helpers import block_texts

pytestmark = pytest.mark.integration

# The sandbox's ad sets target yesterday's states; today's demand differs from them by TX, WV, NE
# (added) and AK, MA, VT (removed). NV and WV are the states that flicker in these tests.
FLICKER = [{"NV": 1, "WV": 3}, {"NV": 0, "WV": 0}, {"NV": 1, "WV": 3}, {"NV": 0, "WV": 0}, {"NV": 1, "WV": 3}]


def variable(key: str) -> str | None:
    from airflow.models.variable import Variable

    return Variable.get(key, default_var=None)


def set_variable(key: str, value: object) -> None:
    from airflow.models.variable import Variable

    Variable.set(key, json.dumps(value))


def demand_with(flicker: dict[str, int]) -> dict[str, int]:
    return DEFAULT_DEMAND | flicker


def writes_per_adset(sandbox) -> Counter:
    return Counter(write["object_id"] for write in sandbox.graph_writes())


def test_flickering_demand_over_five_runs_edits_each_adset_at_most_once(sandbox, run_dag, campaign):
    set_variable(campaign.learning_phase_variable, {"add_at_demand": 2, "remove_after_zero_runs": 3})
    adset_ids = sandbox.active_ids()
    targeted = []

    for day, flicker in enumerate(FLICKER):
        sandbox.set_demand(demand_with(flicker))
        run = run_dag({"dry_run": False}, dag_id=campaign.sync_dag_id)
        assert run.state == "success", run.log[-3000:]
        targeted.append(sandbox.targeted_states())
        if day == 0:  # the day's real change is applied (TX, WV in; AK, MA, VT, wanted by no run, out)
            assert all(o["outcome"] == "updated" for o in run.outcomes().values())
            assert all(
                o["added"] == ["TX", "WV"] and o["removed"] == ["AK", "MA", "VT"] for o in run.outcomes().values()
            )
            assert all(o["held"] == ["+NE (demand 1, added at 2)"] for o in run.outcomes().values())  # 1 lead
            assert "Held back: 3 state changes in 3 ad sets" in run.log
        if day == 1:  # NV and WV at zero for one run of three: kept, and the report says so
            assert {o["outcome"] for o in run.outcomes().values()} == {"held"}
            held = ["+NE (demand 1, added at 2)", "-NV (1 of 3 runs at zero)", "-WV (1 of 3 runs at zero)"]
            assert all(o["held"] == held for o in run.outcomes().values())
            assert "held back: +NE (demand 1, added at 2), -NV (1 of 3 runs at zero), -WV (1 of 3" in run.log
            assert run.report["counts"]["held"] == 3

    assert writes_per_adset(sandbox) == Counter(adset_ids)  # one edit each in 5 runs
    assert all(day == targeted[0] for day in targeted)
    history = json.loads(variable(campaign.demand_history_variable))  # survives clears: a Variable
    assert [run["states"].get("WV", 0) for run in history] == [3, 0, 3, 0, 3]  # newest first


def test_off_by_default_every_run_applies_the_demand_exactly(sandbox, run_dag, campaign):
    from airflow.models.variable import Variable

    assert Variable.get(campaign.learning_phase_variable, default_var=None) is None
    adset_ids = sandbox.active_ids()

    for flicker in FLICKER[:2]:
        sandbox.set_demand(demand_with(flicker))
        run = run_dag({"dry_run": False}, dag_id=campaign.sync_dag_id)
        assert run.state == "success", run.log[-3000:]
        wanted = sorted(code for code, n in demand_with(flicker).items() if n > 0)
        assert all(sandbox.targeted_states()[a] == wanted for a in adset_ids)
        assert all("held" not in o and o["outcome"] == "updated" for o in run.outcomes().values())
        assert "learning_phase" not in run.report and "held" not in run.report["counts"]
        assert "Learning-phase" not in run.log

    assert writes_per_adset(sandbox) == {adset_id: 2 for adset_id in adset_ids}  # the flicker edits every run
    assert Variable.get(campaign.demand_history_variable, default_var=None) is None  # off: nothing recorded


def test_the_approval_plan_report_and_slack_show_the_change_after_hysteresis(sandbox, run_dag, campaign):
    set_variable(campaign.learning_phase_variable, {"add_at_demand": 2})
    sandbox.set_demand(demand_with({"WV": 3}))  # NE wants 1 lead: not enough to be added

    run = run_dag({"dry_run": False, "require_approval": True}, dag_id=campaign.sync_dag_id, answer="Approve")

    assert run.state == "success", run.log[-3000:]
    (request,) = run.approvals
    plan, held = request["body"].split("**Held back by learning-phase protection**")
    assert "WV" in plan and "NE" not in plan  # the table: what will be written
    assert held.count("+NE (demand 1, added at 2)") == 3
    assert all("NE" not in states and "WV" in states for states in sandbox.targeted_states().values())
    report_text = block_texts(sandbox.slack_messages()[-1])
    assert "Learning-phase protection:* a state is added at a demand of 2 or more" in report_text
    assert "Held back:* 3 state changes in 3 ad sets" in report_text
    assert report_text.count("held back: +NE (demand 1, added at 2)") == 3


def test_an_adset_edited_recently_waits_dry_runs_show_it_and_forcing_applies_at_once(
    sandbox, run_dag, campaign, airflow_api
):
    set_variable(campaign.learning_phase_variable, {"min_edit_interval_hours": 24})
    adset_ids = sandbox.active_ids()
    first = run_dag({"dry_run": False}, dag_id=campaign.sync_dag_id)
    assert first.state == "success" and writes_per_adset(sandbox) == {a: 1 for a in adset_ids}
    sandbox.set_demand(demand_with({"AK": 4}))  # Alaska wants leads now
    reads_before = len(sandbox.sync_calls(method="GET"))

    for dry_run in (False, True):
        held = run_dag({"dry_run": dry_run}, dag_id=campaign.sync_dag_id)
        assert held.state == "success", held.log[-3000:]
        outcomes = held.outcomes().values()
        assert {o["outcome"] for o in outcomes} == {"held"}
        assert all(o["held"] == ["+AK"] and o["held_note"].startswith("held back until 20") for o in outcomes)
        assert "at least 24 h between two edits" in held.log
        assert held.report["counts"]["held"] == 3
        page = airflow_api.get(f"/closrads/runs/{campaign.sync_dag_id}/{quote(held.run_id)}").text  # the run's tab
        assert page.count('data-status="held back"') == 3
        assert page.count('<span class="entry">+AK</span>; <span class="entry">held back until 20') == 3

    assert writes_per_adset(sandbox) == {a: 1 for a in adset_ids} and sandbox.graph_validations() == []
    listings = 2  # one listing per run; no held ad set is read or validated on its own
    assert len(sandbox.sync_calls(method="GET")) - reads_before == listings

    forced = run_dag({"dry_run": False, "ignore_learning_phase": True}, dag_id=campaign.sync_dag_id)

    assert forced.state == "success", forced.log[-3000:]
    assert writes_per_adset(sandbox) == {a: 2 for a in adset_ids}
    assert all("AK" in states for states in sandbox.targeted_states().values())
    assert "ignored for this run (ignore_learning_phase=true)" in forced.report["learning_phase"]


def test_a_wrong_setting_fails_the_run_by_name_and_writes_nothing(sandbox, run_dag, campaign):
    set_variable(campaign.learning_phase_variable, {"add_at_demand": "three"})

    run = run_dag({"dry_run": False}, dag_id=campaign.sync_dag_id)

    assert run.state == "failed"
    assert sandbox.graph_writes() == [] and sandbox.requests("graph") == []
    assert run.step_error("map_regions") == (
        f"Variable {campaign.learning_phase_variable}: field 'add_at_demand' must be a whole number from 1 (off) "
        "to 1000000"
    )


def test_the_default_campaigns_variable_holds_back_under_airflow_dags_test(sandbox, airflow_db):
    """The single-campaign deployment's names, through the path the scheduler's runs take: a real
    ``airflow dags test`` process; the Variable is removed afterwards (the metadata DB is shared)."""
    import os
    import subprocess
    import sys

    from airflow.models.variable import Variable

    set_variable("closrads_learning_phase", {"add_at_demand": 2})
    try:
        result = subprocess.run(
            [sys.executable, "-m", "airflow", "dags", "test", "closrads_sync", "-c", '{"dry_run": true}'],
            env=os.environ.copy(), capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    finally:
        Variable.delete("closrads_learning_phase")
    output = result.stdout + result.stderr
    assert "Learning-phase protection: a state is added at a demand of 2 or more" in output, output[-3000:]
    assert "held back: +NE (demand 1, added at 2), +WV (demand 1, added at 2)" in output
    assert sandbox.graph_writes() == []  # a dry run: Meta validates, nothing is written
    validated = [json.loads(v["targeting"])["geo_locations"]["regions"] for v in sandbox.graph_validations()]
    assert len(validated) == 5  # the five ad sets whose change is not held back entirely
    assert all("Nebraska" not in json.dumps(r) and "Texas" in json.dumps(r) for r in validated)

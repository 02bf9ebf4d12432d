"""The change guard: a live run with a large change waits in approve_changes for a person, who answers
through Airflow's REST API; Approve writes exactly the plan shown, Reject or no answer writes nothing.

In the default scenario "Veterans - Mobile only" would gain 34 states and "Veterans - Southeast" 33;
the other changing ad sets change 6 states each.
"""

from datetime import timedelta

import pytest

from sandbox.scenario import regions
from tests.helpers import block_texts

pytestmark = pytest.mark.integration

MOBILE = "120215550000000005"
SOUTHEAST = "120215550000000006"
CORE = "120215550000000001"
CHANGING = [CORE, "120215550000000002", MOBILE, SOUTHEAST, "120215550000000008"]
LIVE = {"dry_run": False}


@pytest.fixture
def default_threshold(monkeypatch):
    """The guard as shipped: Variable closrads_approval_threshold unset (10 states)."""
    monkeypatch.delenv("AIRFLOW_VAR_CLOSRADS_APPROVAL_THRESHOLD")


def written_ids(sandbox) -> list[str]:
    return sorted({write["object_id"] for write in sandbox.graph_writes()})


def test_a_large_change_waits_and_approved_through_rest_writes_exactly_the_plan(sandbox, run_dag, default_threshold):
    listed = {a["id"]: a for a in sandbox.state()["adsets"]}
    result = run_dag(LIVE, answer="Approve")

    assert result.state == "success"
    (request,) = result.approvals
    body = request["body"]
    # the plan, as the person saw it: why it waits, then one row per changing ad set, largest first
    assert "Veterans - Mobile only (120215550000000005) would change 34 states, over the threshold of 10" in body
    assert "| Veterans - Mobile only | 120215550000000005 | 34 | AL AR AZ" in body
    assert body.index("Mobile only |") < body.index("Southeast |") < body.index("Core - Broad |")
    assert "5 of 6 ad sets change" in body
    assert request["options"] == ["Approve", "Reject"]
    # exactly the approved plan was written: each changing ad set once, to the demand states
    assert written_ids(sandbox) == CHANGING
    demand = sorted(c for c, v in sandbox.state()["demand"].items() if v > 0)
    assert all(sandbox.targeted_states()[adset_id] == demand for adset_id in CHANGING)
    assert sandbox.adset("120215550000000004") == listed["120215550000000004"]

    approval = result.report["approval"]
    assert approval["decision"] == "approved" and approval["by"]
    assert "Approval: approved by" in result.log
    # Slack: first that the run waits, with the link to where it is answered; then the report
    waiting, report = sandbox.slack_messages()
    text = block_texts(waiting)
    assert "waits for approval" in text and "Ad sets that would change:* 5" in text
    assert f"/dags/closrads_sync/runs/{result.run_id}/tasks/approve_changes/required_actions" in text.replace(
        "%3A", ":"
    ).replace("%2B", "+")
    assert "Approval:* approved by" in block_texts(report)


def test_rejected_writes_nothing_and_the_report_says_who_rejected(sandbox, run_dag, default_threshold):
    result = run_dag(LIVE, answer="Reject")

    assert sandbox.graph_writes() == []
    assert result.state == "success"  # a person decided; nothing failed
    assert result.task_states["approve_changes"] == "success"
    assert {state for task, state in result.task_states.items() if task.startswith("update_adset")} == {"skipped"}
    report = result.report
    assert report["status"] == "rejected"
    assert report["approval"]["decision"] == "rejected"
    outcomes = {a["adset_id"]: a for a in report["adsets"]}
    assert {outcomes[i]["outcome"] for i in CHANGING} == {"rejected"}
    assert outcomes[MOBILE]["added"][:3] == ["AL", "AR", "AZ"]  # what would have been written
    assert "LIVE: plan rejected by" in result.log and "nothing written" in result.log
    assert "Nothing was changed on Facebook." in block_texts(sandbox.slack_messages()[-1])


def test_no_answer_within_the_timeout_writes_nothing_and_is_not_retried(sandbox, run_dag, default_threshold):
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.taskinstance import TaskInstance
    from airflow.sdk import timezone
    from airflow.utils.session import create_session
    from sqlalchemy import select, update

    def the_deadline_passes():
        """What the scheduler does once nobody answered in time (its awaiting-input sweep)."""
        with create_session() as session:
            (deadline,) = session.scalars(
                select(TaskInstance.trigger_timeout).where(
                    TaskInstance.task_id == "approve_changes", TaskInstance.state == "awaiting_input"
                )
            ).all()
            assert timedelta(minutes=59) < deadline - timezone.utcnow() <= timedelta(minutes=60)  # the default
            session.execute(
                update(TaskInstance)
                .where(TaskInstance.task_id == "approve_changes", TaskInstance.state == "awaiting_input")
                .values(trigger_timeout=timezone.utcnow() - timedelta(seconds=1))
            )
        SchedulerJobRunner(job=Job()).check_awaiting_input_timeouts()

    result = run_dag(LIVE, answer=None, before_answer=the_deadline_passes)

    assert sandbox.graph_writes() == []
    assert result.state == "failed"
    assert result.task_states["approve_changes"] == "failed"
    assert result.log.count("Pausing task as AWAITING_INPUT") == 1  # one try: a timeout is not retried
    assert result.report["status"] == "aborted"
    error = result.step_error("approve_changes")
    assert error.startswith("no answer within 60 minutes") and "nothing was written" in error
    report_text = block_texts(sandbox.slack_messages()[-1])
    assert "Nothing was changed on Facebook" in report_text and "no answer within 60 minutes" in report_text


@pytest.mark.parametrize(("threshold", "waits"), [("34", False), ("33", True)])
def test_the_threshold_counts_states_added_and_removed(sandbox, run_dag, monkeypatch, threshold, waits):
    monkeypatch.setenv("AIRFLOW_VAR_CLOSRADS_APPROVAL_THRESHOLD", threshold)
    result = run_dag(LIVE, answer="Approve")

    assert bool(result.approvals) is waits
    assert result.state == "success" and written_ids(sandbox) == CHANGING
    decision = result.report["approval"]["decision"]
    assert decision == ("approved" if waits else "not_needed")
    if not waits:
        assert "no approval needed (largest change 34 states" in result.log


def test_require_approval_waits_for_any_change_and_dry_runs_never_wait(sandbox, run_dag):
    # the autouse threshold (51) never trips: only the param makes it ask
    dry = run_dag({"dry_run": True, "require_approval": True})
    assert dry.report["approval"]["decision"] == "not_asked"
    assert sandbox.graph_writes() == []
    # ... but it says that the same plan, live, would wait (in the report, and so on the map and in Slack)
    assert "Approval: not asked (dry run: nothing is written); live, this run would wait for a person" in dry.log
    assert "require\\_approval" not in dry.report["approval"]["reason"]
    assert "require_approval=true" in dry.report["approval"]["reason"]

    result = run_dag({"dry_run": False, "require_approval": True}, answer="Approve")
    (request,) = result.approvals
    assert "the run was triggered with require\\_approval=true" in request["body"]
    assert written_ids(sandbox) == CHANGING

    # nothing left to change: nothing to approve, even when required
    assert run_dag({"dry_run": False, "require_approval": True}).report["approval"]["decision"] == "not_needed"


def test_an_adset_edited_after_the_approval_is_not_written(sandbox, run_dag, default_threshold):
    def someone_edits_core_in_ads_manager():
        geo = sandbox.adset(CORE)["targeting"]["geo_locations"] | {"regions": regions("OH", "TX")}
        sandbox.update_adset(CORE, targeting=sandbox.adset(CORE)["targeting"] | {"geo_locations": geo})

    result = run_dag(LIVE, answer="Approve", before_answer=someone_edits_core_in_ads_manager)

    assert result.state == "failed"
    assert written_ids(sandbox) == [a for a in CHANGING if a != CORE]
    assert sandbox.targeted_states()[CORE] == ["OH", "TX"]
    error = result.outcomes()[CORE]["error"]
    assert "not written: the ad set changed since the plan was approved" in error
    assert "the approved change was +NE +TX +WV -AK -MA -VT" in error

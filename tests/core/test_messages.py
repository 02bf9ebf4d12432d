"""Slack message rendering: escaping of outside text, Block Kit limits, wording of problems."""

import json

from closrads.core.autolinks import WORD_JOINER
from closrads.core.change_guard import ApprovalResult, Decision
from closrads.core.messages import TaskFailure, approval_request_message, escape, failure_message, report_message
from closrads.core.report import AdSetOutcome, Outcome, StepResult, StepStatus, SyncReport
from closrads.core.run_mode import RunMode
from tests.helpers import block_texts


def _report(adsets, steps=()):
    return SyncReport(
        mode=RunMode(False, "manual run, dry_run param is false"),
        generated_at="2026-11-22 13:00:00 UTC",
        run_id="manual__1",
        demand_states=["OH", "TX"],
        adsets=adsets,
        steps=list(steps) or [StepResult("fetch_demand", StepStatus.SUCCEEDED)],
    )


def test_names_and_errors_from_outside_are_escaped():
    hostile = AdSetOutcome("1", "<!channel> & <https://evil.example|fix now>", Outcome.FAILED, error="<@U123> boom")
    text, blocks = report_message(_report([hostile]), "http://airflow.example/run")
    rendered = json.dumps(blocks) + text
    assert "<!channel>" not in rendered and "<@U123>" not in rendered and "<https://evil" not in rendered
    shown = block_texts({"blocks": blocks}).replace(WORD_JOINER, "")  # reads as the name was written
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|fix now&gt;" in shown
    assert "https://evil.example" not in rendered and "evil.example" not in rendered  # no bare link either
    assert "<http://airflow.example/run|Open run manual__1 in Airflow>" in block_texts({"blocks": blocks})


def test_a_failed_adset_reads_as_not_applied():
    failed = AdSetOutcome("3", "Mobile", Outcome.FAILED, added=["AK"], removed=["TX"], error="Graph error 100")
    _, blocks = report_message(_report([failed]), None)
    assert ":x: *Mobile* (3) | FAILED, not applied: +AK -TX | error: Graph error 100" in block_texts({"blocks": blocks})


def test_aborted_report_names_failed_and_not_run_steps():
    steps = [StepResult("fetch_demand", StepStatus.FAILED, "bad <html>"), StepResult("map_regions", StepStatus.NOT_RUN)]
    _, blocks = report_message(_report([], steps), None)
    texts = block_texts({"blocks": blocks})
    assert "*Nothing was changed on Facebook.*" in texts
    assert "- `fetch_demand`: bad &lt;html&gt;" in texts
    assert "- `map_regions`: not run (an earlier step failed)" in texts


def test_every_text_stays_within_block_kit_limits():
    long_error = "x" * 10_000
    adsets = [AdSetOutcome(str(i), "n" * 300, Outcome.FAILED, error=long_error) for i in range(100)]
    text, blocks = report_message(_report(adsets), "http://a")
    assert len(text) <= 3100 and text.endswith("(the whole report is in the task log)\nRun: http://a")
    for block in blocks:
        for item in [block.get("text", {})] + block.get("fields", []) + block.get("elements", []):
            assert len(item.get("text", "")) <= 3000
    assert len(blocks) <= 50


def test_failure_message_escapes_the_error():
    failure = TaskFailure("closrads_sync", "update_adset [a (1)]", "manual__1", 1, "<!here> failed", None)
    text, blocks = failure_message(failure)
    assert "<!here>" not in text + json.dumps(blocks)
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"


def test_the_approval_request_says_why_by_when_and_where_to_answer():
    text, blocks = approval_request_message(
        dag_id="closrads_sync__acme_roofing",
        run_id="scheduled__1",
        reasons=["<!here> Core (1) would change 34 states, over the threshold of 10"],
        changing=5,
        deadline="2026-12-02 14:00 UTC",
        url="http://airflow.example/dags/closrads_sync/runs/scheduled__1/tasks/approve_changes/required_actions",
    )
    shown = block_texts({"blocks": blocks})
    assert "Ad sets that would change:* 5" in shown and "2026-12-02 14:00 UTC (no answer writes nothing)" in shown
    assert "&lt;!here&gt; Core (1) would change 34 states" in shown and "<!here>" not in json.dumps(blocks) + text
    assert (
        "<http://airflow.example/dags/closrads_sync/runs/scheduled__1/tasks/approve_changes/required_actions|" in shown
    )
    assert "Answer here: http://airflow.example/" in text
    assert text.startswith("CLOSRADS closrads_sync__acme_roofing run scheduled__1 waits for approval")
    assert "*DAG:* closrads_sync__acme_roofing\n*Run:* scheduled__1" in shown  # which campaign, in a shared channel


def test_a_rejected_run_reports_who_rejected_it_and_that_nothing_changed():
    report = _report([AdSetOutcome("1", "Core", Outcome.REJECTED, added=["TX"])])
    report.approval = ApprovalResult(Decision.REJECTED, "asked", by="alice", at="2026-12-02 13:05:00 UTC")
    assert report.succeeded and report.summary() == "LIVE: plan rejected by alice, nothing written"
    text, blocks = report_message(report, None)
    shown = block_texts({"blocks": blocks})
    assert ":no_entry_sign: *Status:* REJECTED" in shown
    assert "*Nothing was changed on Facebook.*\n*Approval:* REJECTED by alice" in shown
    assert "Core* (1) | not written (rejected): +TX" in shown
    assert "Core (1): not written (the plan was rejected) | planned +TX" in text

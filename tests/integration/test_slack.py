"""What the operator sees in Slack, through real Airflow runs and the Slack provider's webhook hook."""

import json

import pytest

from tests.helpers import assert_no_secret, block_texts

pytestmark = pytest.mark.integration

MOBILE = "120215550000000005"


def slack(sandbox) -> list[dict]:
    messages = sandbox.slack_messages()
    assert_no_secret(json.dumps(messages), "a Slack message")
    return messages


def test_live_run_posts_exactly_one_summary(sandbox, run_dag):
    result = run_dag({"dry_run": False})

    assert result.state == "success"
    (message,) = slack(sandbox)
    blocks = block_texts(message)
    assert message["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "CLOSRADS sync - LIVE"}}
    assert "*LIVE*: manual run, dry_run param is false" in blocks
    assert "*Status:* SUCCESS" in blocks and "UTC" in blocks
    assert "*Demand states (37):* AL, AR, AZ" in blocks and "... and 12 more" in blocks
    for count in ("*Ad sets processed:* 6", "*Updated:* 5", "*Skipped:* 1", "*Failed:* 0"):
        assert count in blocks
    assert "*Veterans - Core - Broad* (120215550000000001) | +NE +TX +WV -AK -MA -VT" in blocks
    assert "Veterans - Lookalike 1%" not in blocks  # unchanged ad sets are not listed
    assert f"/dags/closrads_sync/runs/{result.run_id.replace(':', '%3A').replace('+', '%2B')}|Open run" in blocks
    assert message["text"].startswith("CLOSRADS sync - LIVE")  # plain-text fallback = the log report
    assert "Slack: posted the run report" in result.log


def test_dry_run_message_is_marked_and_lists_would_be_changes(sandbox, run_dag):
    run_dag()
    (message,) = slack(sandbox)
    blocks = block_texts(message)
    assert message["blocks"][0]["text"]["text"] == "CLOSRADS sync - DRY RUN"
    assert "*DRY RUN*: manual run, dry_run param is true" in blocks
    assert "*Would update:* 5" in blocks
    assert "*Veterans - Southeast* (120215550000000006) | would update (accepted by Meta): +AR" in blocks


def test_aborted_run_alerts_the_failing_step_and_reports_nothing_changed(sandbox, run_dag):
    sandbox.set_demand({"OH": 0, "TX": 0})
    result = run_dag({"dry_run": False})

    assert result.state == "failed"
    alert, summary = slack(sandbox)
    alert_text = block_texts(alert)
    assert "*Task:* fetch_demand" in alert_text
    assert f"*Run:* {result.run_id}" in alert_text and "*Try:* 1" in alert_text
    assert "demand 0 for all 2 states" in alert_text
    assert "/tasks/fetch_demand" in alert_text and "Open the task log" in alert_text
    summary_text = block_texts(summary)
    assert "*Status:* ABORTED" in summary_text
    assert "*Nothing was changed on Facebook.*" in summary_text
    assert "`fetch_demand`: CLOSRTECH returned demand 0 for all 2 states" in summary_text


def test_one_failing_adset_gives_an_alert_naming_it_and_a_failed_summary(sandbox, run_dag):
    sandbox.add_fault("graph", adset_id=MOBILE, method="POST", code=100, times=5)
    result = run_dag({"dry_run": False})

    assert result.state == "failed"
    alert, summary = slack(sandbox)  # no third message for the report task's own deliberate failure
    alert_text = block_texts(alert)
    assert f"*Task:* update_adset [Veterans - Mobile only ({MOBILE})]" in alert_text
    assert "Graph error 100" in alert_text
    assert "/tasks/update_adset/mapped/3" in alert_text
    summary_text = block_texts(summary)
    assert "*Status:* FAILED" in summary_text and "*Failed:* 1" in summary_text
    assert (
        f":x: *Veterans - Mobile only* ({MOBILE})" in summary_text and "error: updating the targeting" in summary_text
    )


def test_a_slack_failure_is_a_warning_and_never_changes_the_run(sandbox, run_dag):
    """One failure mode end to end; each mode is covered by tests/airflow/test_slack.py."""
    sandbox.add_fault("slack", times=10, status=500, body="internal_error")

    result = run_dag({"dry_run": False})

    assert result.state == "success"
    assert result.task_states["report"] == "success"
    assert len(sandbox.graph_writes()) == 5
    warning = next(line for line in result.log.splitlines() if "Slack: could not post the run report" in line)
    assert "500" in warning


def test_without_a_slack_connection_the_run_works_and_says_so_once(sandbox, run_dag):
    sandbox.set_connection("closrads_slack", None)
    sandbox.add_fault("graph", adset_id=MOBILE, method="POST", code=100, times=5)  # failures, alerts skipped too

    result = run_dag({"dry_run": False})

    assert result.state == "failed"
    assert result.task_states["report"] == "failed"
    assert result.log.count("Slack is off (no Airflow Connection 'closrads_slack')") == 1
    assert sandbox.slack_messages() == []
    assert "CLOSRADS sync (LIVE: 4 updated, 1 skipped, 1 failed)" in result.log

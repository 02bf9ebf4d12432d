"""Slack delivery through the Slack provider's webhook hook, against the sandbox's webhook receiver."""

import json
import logging

import pytest

from closrads.airflow.slack import post_to_slack, run_url, task_log_url
from tests.helpers import WEBHOOK_SECRET, assert_no_secret

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}]


def test_delivers_text_and_blocks(sandbox):
    assert post_to_slack("hello", BLOCKS, what="test message", conn_id="closrads_slack") is True
    (message,) = sandbox.slack_messages()
    assert message == {"text": "hello", "blocks": BLOCKS}


def test_without_the_connection_slack_is_off(sandbox):
    sandbox.set_connection("closrads_slack", None)
    assert post_to_slack("hello", BLOCKS, what="test message", conn_id="closrads_slack") is None
    assert sandbox.requests("slack") == []


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda sb: sb.add_fault("slack", times=10, status=500, body="internal_error"), "500"),
        (lambda sb: sb.add_fault("slack", times=10, delay=2), "timed out"),
        (
            lambda sb: sb.set_connection(
                "closrads_slack",
                {"conn_type": "slackwebhook", "password": f"http://127.0.0.1:9/services/T1/B2/{WEBHOOK_SECRET}"},
            ),
            "Connection refused",
        ),
        (
            lambda sb: sb.set_connection(
                "closrads_slack", {"conn_type": "slackwebhook", "password": f"not a url {WEBHOOK_SECRET}"}
            ),
            "InvalidURL",
        ),
    ],
    ids=["http-500", "timeout", "connection-refused", "invalid-url"],
)
def test_failures_are_warnings_without_the_webhook(sandbox, caplog, setup, reason):
    sandbox.set_connection("closrads_slack", sandbox.connections["closrads_slack"] | {"extra": {"timeout": 1}})
    setup(sandbox)
    with caplog.at_level(logging.DEBUG):
        assert post_to_slack("hello", BLOCKS, what="test message", conn_id="closrads_slack") is False
    warning = next(r.getMessage() for r in caplog.records if "Slack: could not post the test message" in r.getMessage())
    assert reason in warning
    assert_no_secret(warning, "the Slack warning")
    # slack_sdk's own DEBUG/ERROR lines quote the webhook URL: they pass through the masker.
    client_lines = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("closrads.airflow.slack"))
    assert "***" in client_lines  # the lines exist, and the webhook in them is masked
    assert_no_secret(client_lines, "slack_sdk's log lines")


def test_links_point_at_the_airflow_ui(monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/")
    assert run_url("closrads_sync", "manual__2026-11-22T13:00:00+00:00") == (
        "https://airflow.example.com/dags/closrads_sync/runs/manual__2026-11-22T13%3A00%3A00%2B00%3A00"
    )
    assert (
        task_log_url("d", "r", "update_adset", 3)
        == "https://airflow.example.com/dags/d/runs/r/tasks/update_adset/mapped/3"
    )
    assert json.dumps(task_log_url("d", "r", "report", -1)).endswith('/tasks/report"')


def test_a_campaign_without_slack_posts_nothing(sandbox):
    assert post_to_slack("hello", BLOCKS, what="test message", conn_id=None) is None
    assert sandbox.requests("slack") == []


def test_a_campaign_posts_through_its_own_connection(sandbox):
    sandbox.set_connection("closrads_slack", None)  # the deployment's default Slack is not used
    sandbox.set_connection("slack_client_01", sandbox.connections["closrads_slack"])
    assert post_to_slack("hello", BLOCKS, what="test message", conn_id="slack_client_01") is True
    assert len(sandbox.slack_messages()) == 1

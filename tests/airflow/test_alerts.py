"""The failure callbacks, called directly with the contexts Airflow passes (and sparser ones)."""

import json

import pytest

from closrads.airflow.alerts import (
    PROCESS_DIED,
    alert_run_failure,
    alert_task_failure,
    alert_task_retry,
)
from closrads.airflow.exceptions import RunFailedAfterReport
from tests.helpers import assert_no_secret, clear_as_a_user


def slack(sandbox) -> list[dict]:
    messages = sandbox.slack_messages()
    assert_no_secret(json.dumps(messages), "a Slack message")
    return messages


class FakeTaskInstance:
    dag_id, task_id, run_id, map_index, try_number, max_tries = "closrads_sync", "update_adset", "manual__1", 3, 2, 2
    rendered_map_index = "Veterans - Mobile only (120215550000000005)"
    log_url = None


class DeadTaskInstance(FakeTaskInstance):
    """What the DAG processor passes when the task's process died: no rendered label, XCom readable."""

    rendered_map_index = None

    def xcom_pull(self, task_ids):
        assert task_ids == "list_adsets"
        return [{"id": f"12021555000000000{i}", "name": f"Veterans {i}"} for i in range(6)]


@pytest.mark.parametrize(
    "context",
    [{}, {"exception": None}, {"run_id": "manual__x", "exception": ValueError("boom")}, {"ti": object()}],
    ids=["empty", "no-exception", "no-ti", "odd-ti"],
)
def test_task_alert_survives_a_sparse_context(sandbox, context):
    alert_task_failure(context)
    (message,) = slack(sandbox)
    assert message["blocks"][0]["text"]["text"] == "CLOSRADS task failed"


def test_task_alert_names_the_adset_try_and_log(sandbox):
    alert_task_failure({"ti": FakeTaskInstance(), "exception": ValueError("Graph error 100 <!channel>")})
    (message,) = slack(sandbox)
    text = json.dumps(message)
    assert "update_adset [Veterans - Mobile only (120215550000000005)]" in text
    assert "*Try:* 2" in text and "/tasks/update_adset/mapped/3" in text
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text


def test_no_alert_for_the_reports_deliberate_failure(sandbox):
    alert_task_failure({"ti": FakeTaskInstance(), "exception": RunFailedAfterReport("CLOSRADS run failed")})
    assert slack(sandbox) == []


def test_run_alert_speaks_only_when_no_task_failure_explains_the_run(sandbox):
    alert_run_failure({"reason": "task_failure", "run_id": "scheduled__1"})  # alerts + report cover it
    assert slack(sandbox) == []

    alert_run_failure({"reason": "timed_out", "run_id": "scheduled__2026-11-22T13:00:00+00:00"})
    (message,) = slack(sandbox)
    assert message["blocks"][0]["text"]["text"] == "CLOSRADS run failed"
    assert "ran longer than its dagrun_timeout" in message["text"]
    assert "/dags/closrads_sync/runs/scheduled__2026-11-22T13%3A00%3A00%2B00%3A00" in message["text"]

    alert_run_failure({})  # a sparse context still yields a message, never an exception
    assert len(slack(sandbox)) == 2


def test_a_dead_task_process_is_named_as_such_with_its_adset(sandbox):
    alert_task_failure({"ti": DeadTaskInstance()})  # the DAG processor passes no exception
    (message,) = slack(sandbox)
    assert "update_adset [Veterans 3 (120215550000000003)]" in message["text"]
    assert PROCESS_DIED in message["text"]
    assert "the worker running it was lost" in message["text"]
    assert "no exception was passed" not in message["text"]


def test_a_task_a_person_cleared_while_it_ran_says_so_not_that_a_worker_was_lost(
    sandbox, run_dag, api_connection, airflow_api_server
):
    run = run_dag()
    sandbox.reset()  # only the alert's Slack message from here on
    clear_as_a_user(airflow_api_server, run.run_id, only_failed=False, task_ids=[["update_adset", 3]])
    dead = DeadTaskInstance()
    dead.run_id = run.run_id

    alert_task_retry({"ti": dead})  # the DAG processor's callback for the stopped try: no exception

    (message,) = slack(sandbox)
    assert message["blocks"][0]["text"]["text"] == (
        "CLOSRADS task stopped: Anonymous cleared it while it ran"  # the test API: everyone is an admin
    )
    assert "cleared it while it ran (at 20" in message["text"] and "runs the task again" in message["text"]
    assert "Airflow runs it again by itself; nothing to do." in message["text"]
    assert PROCESS_DIED not in message["text"]


def test_a_retried_try_says_airflow_retries_it(sandbox):
    alert_task_retry({"ti": FakeTaskInstance(), "exception": TimeoutError("Graph did not answer")})
    (message,) = slack(sandbox)
    assert message["blocks"][0]["text"]["text"] == "CLOSRADS task failed, Airflow will retry it"
    assert "try 2 of 3" in message["text"] and "Airflow retries it by itself" in message["text"]


def test_one_alert_per_try_even_when_airflow_asks_twice(sandbox):
    dead = DeadTaskInstance()
    alert_task_retry({"ti": dead})
    alert_task_retry({"ti": dead})  # the scheduler's heartbeat check and the executor's event, same try
    assert len(slack(sandbox)) == 1

    dead.try_number = 3
    alert_task_failure({"ti": dead})
    alert_task_failure({"ti": dead})
    texts = [m["text"] for m in slack(sandbox)]
    assert len(texts) == 2 and "try 3 of 3" in texts[1] and "No retry left" in texts[1]


def test_a_marker_folder_others_can_write_never_silences_an_alert(sandbox, alert_markers, monkeypatch):
    """Another local user who can write the markers' folder could pre-create a try's marker."""
    alert_markers.mkdir()
    alert_markers.chmod(0o777)
    dead = DeadTaskInstance()
    alert_task_retry({"ti": dead})
    alert_task_retry({"ti": dead})
    assert len(slack(sandbox)) == 2  # no dedupe without a private folder: a duplicate, never a silence


def test_markers_live_in_airflow_home_private_to_its_user(sandbox, monkeypatch, tmp_path):
    monkeypatch.setattr("closrads.airflow.alerts.SENT_MARKERS", None)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    alert_task_retry({"ti": DeadTaskInstance()})
    markers = tmp_path / "home" / "closrads-alerts"
    assert (markers.stat().st_mode & 0o777) == 0o700 and len(list(markers.iterdir())) == 1


class ClientTaskInstance(FakeTaskInstance):
    dag_id = "closrads_sync__client_01"


def test_a_campaigns_alerts_go_to_its_own_slack(sandbox, campaign_registry):
    campaign_registry(
        [
            {"slug": "client_01", "closrtech_conn_id": "c1", "facebook_conn_id": "f1", "ad_account_id": "act_1",
             "slack_conn_id": "slack_client_01"},
            {"slug": "client_02", "closrtech_conn_id": "c2", "facebook_conn_id": "f2", "ad_account_id": "act_2",
             "slack_conn_id": None},
        ]
    )  # fmt: skip
    sandbox.set_connection("slack_client_01", sandbox.connections["closrads_slack"])
    sandbox.set_connection("closrads_slack", None)  # the deployment's default Slack would be the wrong one

    alert_task_failure({"ti": ClientTaskInstance(), "exception": ValueError("boom")})
    (message,) = slack(sandbox)
    assert "*DAG:* closrads_sync__client_01" in json.dumps(message)

    quiet = type("Quiet", (FakeTaskInstance,), {"dag_id": "closrads_sync__client_02"})
    alert_task_failure({"ti": quiet(), "exception": ValueError("boom")})
    alert_run_failure({"dag": quiet, "run_id": "manual__1", "reason": "timed_out"})
    assert len(slack(sandbox)) == 1  # a campaign without Slack posts nothing


def test_an_alert_of_a_dag_the_registry_lost_still_goes_out(sandbox, campaign_registry):
    campaign_registry(["other"])  # the registry changed since the DAG was parsed
    alert_task_failure({"ti": ClientTaskInstance(), "exception": ValueError("boom")})
    assert len(slack(sandbox)) == 1  # through the deployment's default Slack

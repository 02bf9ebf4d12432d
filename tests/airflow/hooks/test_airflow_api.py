"""AirflowApiHook against Airflow's own REST API over HTTP: the run's note, and failures that stay quiet."""

import pytest

from closrads.airflow.hooks.airflow_api import AirflowApiHook
from tests.helpers import AIRFLOW_API_PASSWORD as PASSWORD
from tests.helpers import assert_no_secret, clear_as_a_user


def test_init_reads_nothing(monkeypatch):
    monkeypatch.setattr("closrads.airflow.hooks.airflow_api.BaseHook.get_connection", pytest.fail)
    AirflowApiHook()


def test_a_dry_run_shows_its_mode_and_result_as_the_runs_note(sandbox, run_dag, api_connection, airflow_api):
    result = run_dag()

    run = airflow_api.get(f"/api/v2/dags/closrads_sync/dagRuns/{result.run_id}").json()
    assert run["note"] == "DRY RUN: 5 would update, 1 skipped"
    assert "Run note set: DRY RUN: 5 would update, 1 skipped" in result.log
    assert_no_secret(result.log, "the log", (PASSWORD,))


def test_without_the_connection_the_note_is_off():
    assert AirflowApiHook().set_run_note("closrads_sync", "manual__x", "LIVE: 1 updated") is None


@pytest.mark.parametrize(
    ("host", "why"),
    [("http://127.0.0.1:9", "Connection refused"), (None, "setting the note: HTTP 404")],
)
def test_a_failure_is_a_warning_that_names_the_step_without_secrets(
    api_connection, airflow_api_server, logs, host, why
):
    api_connection(host or airflow_api_server)
    assert AirflowApiHook().set_run_note("closrads_sync", "no_such_run", "LIVE: 1 updated") is False
    assert "Could not set the run's note through the Airflow API (run unaffected)" in logs.text
    assert why in logs.text
    assert_no_secret(logs.text, "the log", (PASSWORD,))


def test_who_cleared_a_task_is_read_from_airflows_audit_log(sandbox, run_dag, api_connection, airflow_api_server):
    from datetime import UTC, datetime, timedelta

    run = run_dag()
    since = datetime.now(UTC) - timedelta(seconds=5)
    hook = AirflowApiHook()
    assert hook.who_cleared("closrads_sync", run.run_id, "update_adset", since) is None  # nobody yet

    clear_as_a_user(airflow_api_server, run.run_id, only_failed=True, task_ids=["update_adset"])  # never a running task
    clear_as_a_user(airflow_api_server, run.run_id, only_failed=False, task_ids=["fetch_demand"])  # another task
    assert hook.who_cleared("closrads_sync", run.run_id, "update_adset", since) is None

    clear_as_a_user(airflow_api_server, run.run_id, only_failed=False, task_ids=[["update_adset", 2]])
    user, when = hook.who_cleared("closrads_sync", run.run_id, "update_adset", since)
    assert user and datetime.fromisoformat(when.replace("Z", "+00:00")) >= since
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert hook.who_cleared("closrads_sync", run.run_id, "update_adset", later) is None  # only clears after since


def test_who_cleared_without_the_connection_or_the_api_is_unknown(api_connection, logs):
    from datetime import UTC, datetime

    api_connection("http://127.0.0.1:9")
    assert AirflowApiHook().who_cleared("closrads_sync", "manual__x", "update_adset", datetime.now(UTC)) is None
    assert "Could not read Airflow's audit log for clears of update_adset" in logs.text
    assert_no_secret(logs.text, "the log", (PASSWORD,))

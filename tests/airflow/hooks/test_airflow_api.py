"""AirflowApiHook against Airflow's own REST API over HTTP: the run's note, and failures that stay quiet."""

import json
import logging

import pytest

from closrads.airflow.hooks.airflow_api import AirflowApiHook
from tests.helpers import assert_no_secret

PASSWORD = "airflow-api-p4ss-Qw71"


@pytest.fixture
def api_connection(monkeypatch, airflow_api_server):
    def point_at(host: str) -> None:
        conn = {"conn_type": "http", "host": host, "login": "closrads", "password": PASSWORD}
        monkeypatch.setenv("AIRFLOW_CONN_CLOSRADS_AIRFLOW_API", json.dumps(conn))

    point_at(airflow_api_server)
    return point_at


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
    api_connection, airflow_api_server, caplog, host, why
):
    api_connection(host or airflow_api_server)
    with caplog.at_level(logging.DEBUG):
        assert AirflowApiHook().set_run_note("closrads_sync", "no_such_run", "LIVE: 1 updated") is False
    assert "Could not set the run's note through the Airflow API (run unaffected)" in caplog.text
    assert why in caplog.text
    assert_no_secret(caplog.text, "the log", (PASSWORD,))

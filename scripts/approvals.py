"""Answer ``approve_changes`` through Airflow's public REST API, as a person would from a script.

``make demo`` and the tests use it with Airflow's own API app in process (``client`` is a
``fastapi.testclient.TestClient`` over ``airflow.api_fastapi.app.create_app("core")``); against a
running API server the same two calls work with any HTTP client and a bearer token (README,
"Answer an approval").
"""

from __future__ import annotations

APPROVE_TASK = "approve_changes"
APPROVE, REJECT = "Approve", "Reject"
# Every approval request still waiting for an answer, in any run of any DAG.
OPEN_REQUESTS = f"/api/v2/dags/~/dagRuns/~/hitlDetails?task_id={APPROVE_TASK}&response_received=false"


def open_requests(client) -> list[dict]:
    """The approval requests of tasks that wait now (``GET .../hitlDetails``), as the API shows them."""
    response = client.get(OPEN_REQUESTS)
    response.raise_for_status()
    return [row for row in response.json()["hitl_details"] if row["task_instance"]["state"] == "awaiting_input"]


def respond(client, request: dict, option: str):
    """Answer one request (``PATCH .../hitlDetails``) with ``Approve`` or ``Reject``."""
    ti = request["task_instance"]
    return client.patch(
        f"/api/v2/dags/{ti['dag_id']}/dagRuns/{ti['dag_run_id']}/taskInstances/{APPROVE_TASK}/-1/hitlDetails",
        json={"chosen_options": [option], "params_input": {}},
    )


def in_process_api():
    """Airflow's REST API app in this process, on the configured metadata DB (a context manager)."""
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    return TestClient(create_app("core"))

"""What an ad set costs Airflow's execution API (the internal traffic that grows with the campaign).

Each ``update_adset`` reads exactly two values (its ad set's row and the run's write order) and
writes one (its outcome); the stale re-run guard's record is read once per write and written only
by a run's first write, just before it. The rest is Airflow's own per-task traffic.
"""

import json
import re
from collections import Counter

import pytest

from sandbox.scenario import generated_scenario

pytestmark = pytest.mark.integration

_TASK_START = re.compile(r"/task-instances/([0-9a-f-]{36})/run$")


@pytest.fixture
def execution_api_requests(monkeypatch) -> list[tuple[str, str]]:
    """Every request the tasks make to the execution API (``dag.test()`` serves it in process)."""
    import httpx

    seen: list[tuple[str, str]] = []
    original = httpx.WSGITransport.handle_request

    def recording(self, request):
        seen.append((request.method, request.url.path))
        return original(self, request)

    monkeypatch.setattr(httpx.WSGITransport, "handle_request", recording)
    return seen


def by_task_instance(seen: list[tuple[str, str]], run_id: str) -> dict[tuple[str, int], list[str]]:
    """The requests of each task instance: ``dag.test()`` runs one at a time, each starting with its
    ``PATCH .../run``."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        tis = session.execute(
            select(TaskInstance.id, TaskInstance.task_id, TaskInstance.map_index).where(TaskInstance.run_id == run_id)
        ).all()
    names = {str(ti_id): (task_id, map_index) for ti_id, task_id, map_index in tis}
    requests: dict[tuple[str, int], list[str]] = {}
    current = None
    for method, path in seen:
        if started := _TASK_START.search(path):
            current = names.get(started.group(1))
        if current is not None:
            requests.setdefault(current, []).append(f"{method} {_generic(path)}")
    return requests


def _generic(path: str) -> str:
    path = re.sub(r"/task-instances/[0-9a-f-]{36}/", "/task-instances/ID/", path)
    return re.sub(r"/xcoms/closrads_sync/[^/]+/", "/xcoms/closrads_sync/RUN/", path)


def test_each_ad_set_reads_two_values_and_writes_one(sandbox, run_dag, execution_api_requests):
    from airflow.models.variable import Variable

    sandbox.reset(generated_scenario(8))
    # An older run's record, as on any day but the first (a missing record costs one listing to confirm).
    older = {"fetched_at": "2000-01-01T00:00:00+00:00", "run_id": "scheduled__2000-01-01T13:00:00+00:00"}
    Variable.set("closrads_last_applied_demand", json.dumps(older))

    result = run_dag({"dry_run": False})

    assert result.state == "success" and len(sandbox.graph_writes()) == 8
    requests = by_task_instance(execution_api_requests, result.run_id)
    updates = {key: calls for key, calls in requests.items() if key[0] == "update_adset"}
    assert len(updates) == 8
    for calls in updates.values():
        xcom_reads = sorted(call for call in calls if call.startswith("GET /xcoms/"))
        assert xcom_reads == [
            "GET /xcoms/closrads_sync/RUN/approve_changes/write_order",
            "GET /xcoms/closrads_sync/RUN/list_adsets/return_value",
        ]
        assert [call for call in calls if call.startswith("POST /xcoms/")] == [
            "POST /xcoms/closrads_sync/RUN/update_adset/adset_outcome"
        ]
        assert len(calls) <= 11, calls
    # the stale guard: one read before each write; only the run's first write records (claims) it
    guard = Counter(call for calls in updates.values() for call in calls if "/variables/" in call)
    assert guard == {
        "GET /variables/closrads_last_applied_demand": 8,
        "PUT /variables/closrads_last_applied_demand": 1,
    }

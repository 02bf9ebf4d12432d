"""Helpers shared by the tests: the sandbox in a thread, secret checks, and reading a finished run."""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sandbox import scenario as sandbox_scenario
from sandbox.client import SandboxClient, airflow_connections
from sandbox.server import make_server
from scripts import approvals

ROOT = Path(__file__).resolve().parents[1]
DAG_ID = "closrads_sync"
WEBHOOK_SECRET = sandbox_scenario.SLACK_WEBHOOK_PATH.rsplit("/", 1)[-1]
SECRETS = (sandbox_scenario.ACCESS_TOKEN, sandbox_scenario.CLOSRTECH_PASSWORD, WEBHOOK_SECRET)


def assert_no_secret(text: str, where: str, secrets: tuple[str, ...] = SECRETS) -> None:
    for secret in secrets:
        at = text.find(secret)
        if at >= 0:
            context = text[max(0, at - 1500) : at + 300].replace(secret, "<SECRET>")
            pytest.fail(f"a secret leaked into {where}, here:\n{context}")


def raised_text(func) -> str:
    """What ``func`` raises, as text: the message and the whole formatted traceback."""
    with pytest.raises(Exception) as caught:
        func()
    return str(caught.value) + "".join(traceback.format_exception(caught.value))


class Sandbox(SandboxClient):
    """The sandbox client plus the Connections pointing at it, set as ``AIRFLOW_CONN_*`` variables."""

    def __init__(self, base_url: str, monkeypatch) -> None:
        super().__init__(base_url)
        self.monkeypatch = monkeypatch
        self.connections = airflow_connections(base_url)

    def set_connection(self, conn_id: str, conn: dict | None) -> None:
        """Replace (or with ``None`` remove) one Connection for what follows."""
        name = f"AIRFLOW_CONN_{conn_id.upper()}"
        if conn is None:
            self.monkeypatch.delenv(name, raising=False)
        else:
            self.monkeypatch.setenv(name, json.dumps(conn))

    def sync_calls(self, **match) -> list[dict]:
        """The Graph requests of the sync's listing and ad sets, without ``measure_spend``'s (Insights and
        the ad account), which tests of the write path do not count."""
        return [r for r in self.requests("graph", **match) if r.get("kind") not in ("insights", "account")]

    def active_ids(self) -> list[str]:
        return sorted(a["id"] for a in self.state()["adsets"] if a["effective_status"] == "ACTIVE")


@contextmanager
def running_sandbox(state_file: Path) -> Iterator[str]:
    """A sandbox server in a thread on a free port; yields its base URL."""
    server = make_server(port=0, state_file=state_file)
    # A short poll interval: shutdown() waits for it, once per test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def block_texts(message: dict) -> str:
    """Every text of a Slack message's blocks, one per line."""
    parts = []
    for block in message.get("blocks", []):
        if "text" in block:
            parts.append(block["text"]["text"])
        parts.extend(item["text"] for item in block.get("fields", []))
        parts.extend(item["text"] for item in block.get("elements", []))
    return "\n".join(parts)


@dataclass
class RunResult:
    state: str
    run_id: str
    task_states: dict[str, str]  # "fetch_demand", "update_adset[2]", ...
    xcoms: dict[tuple[str, int, str], object] = field(repr=False)
    log: str = field(repr=False)
    approvals: list[dict] = field(default_factory=list, repr=False)  # the approval requests it showed

    @property
    def report(self) -> dict:
        return self.xcoms[("report", -1, "closrads_report")]

    def outcomes(self) -> dict[str, dict]:
        """Ad set id -> the outcome its update_adset instance recorded."""
        return {v["adset_id"]: v for (_, _, key), v in self.xcoms.items() if key == "adset_outcome"}

    def step_error(self, task_id: str) -> str | None:
        return self.xcoms.get((task_id, -1, "step_error"))


def load_dag(dag_id: str = DAG_ID):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert not bag.import_errors, bag.import_errors
    return bag.dags[dag_id]


def without_retry_delay(dag):
    """The DAG with Airflow's task retries kept but their 20 s delay removed, so a test that makes a
    task fail transiently sees every try without waiting (``dag.test()`` honours the delay)."""
    from datetime import timedelta

    for task in dag.tasks:
        task.retry_delay = timedelta(0)
    return dag


def collect_run(run_id: str, log: str, dag_id: str = DAG_ID) -> RunResult:
    """The run's state, task states and XComs, read from the metadata DB."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        dag_run = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)).one()
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
        ).all()
        states = {(ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): str(ti.state) for ti in tis}
        rows = session.scalars(select(XComModel).where(XComModel.dag_id == dag_id, XComModel.run_id == run_id)).all()
        xcoms = {(x.task_id, x.map_index, x.key): XComModel.deserialize_value(x) for x in rows}
        return RunResult(state=str(dag_run.state), run_id=run_id, task_states=states, xcoms=xcoms, log=log)


class Approver:
    """Answers ``approve_changes`` as an operator would, through Airflow's public REST API.

    ``dag.test()`` keeps a run alive while a task awaits input; this thread plays the person: it
    lists the requests still open (``GET .../hitlDetails``), keeps what each showed, and answers
    with ``answer`` (``PATCH .../hitlDetails``), or leaves them open when ``answer`` is ``None``.
    ``before_answer`` runs first (a test edits an ad set "while the person reads the plan").
    The API is Airflow's own FastAPI app, in process, on the test's metadata DB.
    """

    def __init__(self, client, answer: str | None, before_answer=None) -> None:
        self.client = client
        self.answer = answer
        self.before_answer = before_answer
        self.requests: list[dict] = []  # the hitlDetails that were open, as the API showed them
        self.responses: list[dict] = []
        self.gave_up = False  # a request left open was still open a minute later
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Approver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        answered: set[str] = set()
        while not self._stop.wait(0.3):
            for request in approvals.open_requests(self.client):
                ti = request["task_instance"]
                if ti["id"] in answered:
                    continue
                answered.add(ti["id"])
                self.requests.append(request)
                if self.before_answer:
                    self.before_answer()
                if self.answer is not None:
                    self.respond(request, self.answer)
                else:  # left open: should the run still wait after a minute, a test is stuck; end it
                    timer = threading.Timer(60, self._give_up, args=(request,))
                    timer.daemon = True
                    timer.start()

    def respond(self, request: dict, option: str) -> None:
        response = approvals.respond(self.client, request, option)
        self.responses.append({"status": response.status_code, "body": response.json()})

    def _give_up(self, request: dict) -> None:
        still_open = [row["task_instance"]["id"] for row in approvals.open_requests(self.client)]
        if request["task_instance"]["id"] in still_open:
            self.gave_up = True
            self.respond(request, approvals.REJECT)


AIRFLOW_API_PASSWORD = "airflow-api-p4ss-Qw71"  # the closrads_airflow_api Connection's (the api_connection fixture)


def clear_as_a_user(base_url: str, run_id: str, **body) -> None:
    """A clear as the UI makes it: ``POST .../clearTaskInstances`` as a signed-in user (Airflow logs it)."""
    import requests

    token = requests.post(
        f"{base_url}/auth/token", json={"username": "closrads", "password": AIRFLOW_API_PASSWORD}, timeout=10
    )
    answer = requests.post(
        f"{base_url}/api/v2/dags/closrads_sync/clearTaskInstances",
        json={"dry_run": False, "dag_run_id": run_id} | body,
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text

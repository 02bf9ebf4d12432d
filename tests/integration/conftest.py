"""Fixtures for running ``closrads_sync`` through real Airflow against a fresh sandbox.

Every test gets its own sandbox on a free port (default scenario) and the three Connections
pointing at it. ``run_dag`` runs the DAG with ``dag.test()`` (the engine behind
``airflow dags test``), then returns the run's state, task states, XComs and everything the run
logged, and checks that no secret appears in any of it.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sandbox import scenario as sandbox_scenario
from sandbox.client import SandboxClient, airflow_connections
from sandbox.server import make_server

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "closrads_sync"
SECRETS = (
    sandbox_scenario.ACCESS_TOKEN,
    sandbox_scenario.CLOSRTECH_PASSWORD,
    sandbox_scenario.SLACK_WEBHOOK_PATH.rsplit("/", 1)[-1],
)


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        at = text.find(secret)
        if at >= 0:
            context = text[max(0, at - 1500) : at + 300].replace(secret, "<SECRET>")
            pytest.fail(f"a secret leaked into {where}, here:\n{context}")


# Handlers that Airflow configures during one in-process dag.test() keep pointing at that test's
# (later closed) pytest capture stream; each failed write then makes logging.handleError dump the
# exception being handled into the next test's output. A harness artifact, so switch the dumps off.
logging.raiseExceptions = False


@pytest.fixture(scope="session")
def airflow_db():
    """Migrate the throw-away metadata DB once per session (tests/conftest.py chose its location)."""
    result = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


class Sandbox(SandboxClient):
    """The sandbox client plus what tests need to know about the world it started with."""

    def __init__(self, base_url: str, monkeypatch) -> None:
        super().__init__(base_url)
        self.monkeypatch = monkeypatch
        self.connections = airflow_connections(base_url)

    def set_connection(self, conn_id: str, conn: dict | None) -> None:
        """Replace (or with ``None`` remove) one Connection for the runs that follow."""
        name = f"AIRFLOW_CONN_{conn_id.upper()}"
        if conn is None:
            self.monkeypatch.delenv(name, raising=False)
        else:
            self.monkeypatch.setenv(name, json.dumps(conn))

    def active_ids(self) -> list[str]:
        return sorted(a["id"] for a in self.state()["adsets"] if a["effective_status"] == "ACTIVE")


@pytest.fixture
def sandbox(monkeypatch, tmp_path):
    server = make_server(port=0, state_file=tmp_path / "sandbox-state.json")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = Sandbox(f"http://127.0.0.1:{server.server_address[1]}", monkeypatch)
    for conn_id, conn in client.connections.items():
        client.set_connection(conn_id, conn)
    yield client
    server.shutdown()
    server.server_close()


@dataclass
class RunResult:
    state: str
    run_id: str
    task_states: dict[str, str]  # "fetch_demand", "update_adset[2]", ...
    xcoms: dict[tuple[str, int, str], object] = field(repr=False)
    log: str = field(repr=False)

    @property
    def report(self) -> dict:
        return self.xcoms[("report", -1, "closrads_report")]

    def outcomes(self) -> dict[str, dict]:
        """Ad set id -> the outcome its update_adset instance recorded."""
        return {v["adset_id"]: v for (task, _, key), v in self.xcoms.items() if key == "adset_outcome"}

    def step_error(self, task_id: str) -> str | None:
        return self.xcoms.get((task_id, -1, "step_error"))


def load_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert not bag.import_errors, bag.import_errors
    return bag.dags[DAG_ID]


@pytest.fixture
def run_dag(airflow_db, capfd, caplog):
    """Run closrads_sync once, like ``airflow dags test closrads_sync -c CONF``.

    The DAG is parsed afresh for every run: in one process, ``dag.test()`` lets a run's conf
    linger in the DAG object's params, which separate Airflow task processes never share.
    """

    def run(conf: dict | None = None) -> RunResult:
        capfd.readouterr()
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            dag_run = load_dag().test(run_conf=conf)
        captured = capfd.readouterr()
        # Task logs reach Python logging (caplog, with tracebacks) and the terminal (capfd).
        result = collect_run(dag_run.run_id, caplog.text + captured.out + captured.err)
        assert_no_secret(result.log, "the Airflow logs")
        assert_no_secret(json.dumps(list(result.xcoms.values()), default=str), "XCom")
        return result

    return run


def collect_run(run_id: str, log: str) -> RunResult:
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        dag_run = session.scalars(select(DagRun).where(DagRun.dag_id == DAG_ID, DagRun.run_id == run_id)).one()
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == DAG_ID, TaskInstance.run_id == run_id)
        ).all()
        states = {(ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): str(ti.state) for ti in tis}
        rows = session.scalars(select(XComModel).where(XComModel.dag_id == DAG_ID, XComModel.run_id == run_id)).all()
        xcoms = {(x.task_id, x.map_index, x.key): XComModel.deserialize_value(x) for x in rows}
        return RunResult(state=str(dag_run.state), run_id=run_id, task_states=states, xcoms=xcoms, log=log)

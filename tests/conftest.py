"""Test-wide setup: an isolated, throw-away Airflow home configured before Airflow is imported (one
per pytest process, so ``make test``'s two xdist workers never share a database), and the fixtures
most tests share (a fresh sandbox, instant retries, ``run_dag``).

The ``closrads`` package is installed (editable) in the venv; ``sandbox`` and ``tests`` are
importable because pytest puts the repository root on ``sys.path`` for the ``tests`` package.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="closrads-test-airflow-"))

# A developer's shell must not leak real connections into tests, nor settings: `make test` exports the
# local Airflow's (ports, limits, the scheduler's start method), a bare `pytest` does not, and both
# must test the same thing. Tests that need a setting set it themselves.
for name in list(os.environ):
    if name.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_", "AIRFLOW__")):
        del os.environ[name]

os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME}/airflow.db",
        # The in-process REST API (approvals) answers as an admin without a login.
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API_AUTH__JWT_SECRET": "closrads-tests-only-" + "0" * 60,
        # One Fernet key for this process and the Airflow processes tests start (`airflow dags test`,
        # `airflow tasks test`): a Variable one of them encrypts, the others can read.
        "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(b"closrads-tests-only-fernet-key!!").decode(),
        # The default campaign, whatever a developer's include/campaigns.yaml says; tests that are about
        # a registry write their own (the campaign_registry fixture).
        "CLOSRADS_CAMPAIGNS_FILE": "none",
    }
)

from tests.helpers import (  # noqa: E402 - Airflow must see the environment above first
    Approver,
    Sandbox,
    assert_no_secret,
    collect_run,
    load_dag,
    running_sandbox,
    without_retry_delay,
)

# Handlers that Airflow configures during one in-process dag.test() keep pointing at that test's
# (later closed) pytest capture stream; each failed write then makes logging.handleError dump the
# exception being handled into the next test's output. A harness artifact, so switch the dumps off.
logging.raiseExceptions = False


@pytest.fixture
def logs(caplog, capsys):
    """Everything the code under test logged from DEBUG up, as rendered: the standard library's records
    (``caplog``) and what Airflow's structlog printed (a hook's ``self.log``, outside a task)."""
    caplog.set_level(logging.DEBUG)

    class Logs:
        printed = ""

        @property
        def text(self) -> str:
            self.printed += capsys.readouterr().out
            return caplog.text + self.printed

    return Logs()


@pytest.fixture(autouse=True)
def retry_waits(monkeypatch) -> list[float]:
    """In-task retries wait no time in tests; the waits they asked for are recorded here."""
    waits: list[float] = []
    monkeypatch.setattr("closrads.airflow.retrying.pause", waits.append)
    return waits


@pytest.fixture(autouse=True)
def alert_markers(monkeypatch, tmp_path) -> Path:
    """Each test has its own record of the alerts already sent (one per try), not the machine's."""
    markers = tmp_path / "alert-markers"
    monkeypatch.setattr("closrads.airflow.alerts.SENT_MARKERS", markers)
    return markers


@pytest.fixture(autouse=True)
def approval_threshold(monkeypatch) -> None:
    """Tests that are not about the change guard run with it open: no ad set can change more than the
    51 US states, so no run waits. The guard's own tests set or remove the Variable themselves."""
    monkeypatch.setenv("AIRFLOW_VAR_CLOSRADS_APPROVAL_THRESHOLD", "51")


@pytest.fixture
def campaign_registry(monkeypatch, tmp_path):
    """Write a campaign registry and point ``CLOSRADS_CAMPAIGNS_FILE`` at it, for what follows.

    Entries are registry mappings, or slugs that get Connections and an ad account of their own.
    """
    import yaml

    def write(entries: list) -> Path:
        rows = [
            entry
            if isinstance(entry, dict)
            else {
                "slug": entry,
                "closrtech_conn_id": f"closrtech_{entry}",
                "facebook_conn_id": f"facebook_ads_{entry}",
                "ad_account_id": f"act_{9000 + number}",
            }
            for number, entry in enumerate(entries, start=1)
        ]
        path = tmp_path / "campaigns.yaml"
        path.write_text(yaml.safe_dump({"campaigns": rows}, sort_keys=False))
        monkeypatch.setenv("CLOSRADS_CAMPAIGNS_FILE", str(path))
        return path

    return write


@pytest.fixture(scope="session")
def airflow_db():
    """Migrate the throw-away metadata DB once per session."""
    result = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.fixture
def sandbox(monkeypatch, tmp_path):
    """A fresh sandbox (default scenario) on a free port, and the three Connections pointing at it."""
    with running_sandbox(tmp_path / "sandbox-state.json") as base_url:
        client = Sandbox(base_url, monkeypatch)
        for conn_id, conn in client.connections.items():
            client.set_connection(conn_id, conn)
        yield client


@pytest.fixture(scope="session")
def airflow_api(airflow_db):
    """Airflow's public REST API (its own FastAPI app) in process, on the test metadata DB."""
    from scripts.approvals import in_process_api

    with in_process_api() as client:
        yield client


@pytest.fixture(scope="session")
def airflow_api_server(airflow_db):
    """Airflow's REST API served over real HTTP (uvicorn in a thread, a free port); yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn
    from airflow.api_fastapi.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app("core"), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "Airflow's API did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def api_connection(monkeypatch, airflow_api_server):
    """The ``closrads_airflow_api`` Connection, pointing at the real-HTTP API server (or at ``host``)."""
    from tests.helpers import AIRFLOW_API_PASSWORD

    def point_at(host: str) -> None:
        conn = {"conn_type": "http", "host": host, "login": "closrads", "password": AIRFLOW_API_PASSWORD}
        monkeypatch.setenv("AIRFLOW_CONN_CLOSRADS_AIRFLOW_API", json.dumps(conn))

    point_at(airflow_api_server)
    return point_at


NOT_EXPECTED = "not expected"


@pytest.fixture
def fresh_closrads_state(airflow_db) -> None:
    """What CLOSRADS keeps in Airflow starts empty for each test, as its sandbox starts from its scenario:
    no audit events (a write an earlier test recorded for the same ad set id would read as a change
    made outside CLOSRADS) and no stale re-run guard record (one written by another process of an
    earlier test, ``airflow dags test`` say, is not this test's business)."""
    from airflow.models.asset import AssetEvent
    from airflow.models.variable import Variable as VariableModel
    from airflow.utils.session import create_session

    with create_session() as session:
        for event in session.query(AssetEvent).all():
            session.delete(event)
        session.query(VariableModel).filter(VariableModel.key.like("closrads_last_applied_demand%")).delete(
            synchronize_session=False
        )


@contextmanager
def console_handlers_muted():
    """Every standard-library record reaches a run's log once, through ``caplog``. Airflow also gives the
    root logger a plain console handler, bound to whatever ``sys.stdout`` was when it configured logging:
    pytest's own capture in one worker, the captured console of the test running then in another (the
    order of test files decides), where it would add each record to the run's log a second time."""
    emit = logging.StreamHandler.emit

    def console_or_capture(handler, record):
        if type(handler) is not logging.StreamHandler:  # caplog's handler (a subclass) and files keep theirs
            emit(handler, record)

    logging.StreamHandler.emit = console_or_capture
    try:
        yield
    finally:
        logging.StreamHandler.emit = emit


@pytest.fixture
def run_dag(airflow_db, airflow_api, fresh_closrads_state, capfd, caplog):
    """Run closrads_sync once, like ``airflow dags test closrads_sync -c CONF``, with DEBUG logging.

    Every Python logger (CLOSRADS's, urllib3's request lines, slack_sdk's) logs at DEBUG. Returns
    the run's state, task states, XComs and everything that was logged, and fails if a secret
    appears in the console output, in any log record or in any XCom. The DAG is parsed afresh for
    every run: in one process, ``dag.test()`` lets a run's conf linger in the DAG object's params,
    which separate Airflow task processes never share.
    """

    def run(
        conf: dict | None = None, dag_id: str = "closrads_sync", answer: str | None = NOT_EXPECTED, before_answer=None
    ):
        """``answer``: what a person answers if the run waits for approval ("Approve", "Reject", ``None``
        to leave it open); by default a run must not wait, and one that does is rejected and fails the test."""
        capfd.readouterr()
        caplog.clear()
        reply = "Reject" if answer == NOT_EXPECTED else answer
        with (
            caplog.at_level(logging.DEBUG),
            console_handlers_muted(),
            Approver(airflow_api, reply, before_answer) as approver,
        ):
            dag_run = without_retry_delay(load_dag(dag_id)).test(run_conf=conf)
        captured = capfd.readouterr()
        result = collect_run(dag_run.run_id, captured.out + captured.err + caplog.text, dag_id)
        result.approvals = approver.requests
        assert not approver.gave_up, "the run still waited for approval a minute after the test was done with it"
        if answer == NOT_EXPECTED:
            assert not approver.requests, "the run waited for approval, which this test did not expect"
        assert_no_secret(result.log, "the log output (console and records, at DEBUG)")
        assert_no_secret(json.dumps(list(result.xcoms.values()), default=str), "XCom")
        return result

    return run

"""``make demo`` (``python -m scripts.demo`` from the repository root): one live ``closrads_sync``
run against the sandbox, then what it did.

Starts the sandbox when it is not running (and stops it again afterwards), loads the sandbox
Connections into the local Airflow, runs ``airflow dags test closrads_sync -c '{"dry_run": false}'``
and prints the run's report (with Meta's learning state of each ad set and where yesterday's money went:
spend per state against demand, from the sandbox's Insights) and each ad set's targeting
before and after. Then it plays a person who edits an ad set in Ads Manager, and a dry run shows the
change made outside CLOSRADS. When the run waits for
approval (the change guard trips on the default scenario), the demo plays the operator: it prints
the plan and approves it through Airflow's REST API (its app in process). Ad set state persists
in ``.sandbox/state.json``, so a second demo shows every ad set skipped; ``make sandbox-reset``
starts over.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

from closrads.core.report import SyncReport
from sandbox.__main__ import print_comparison
from sandbox.client import SandboxClient, airflow_connections

ROOT = Path(__file__).resolve().parents[1]

DAG_ID = "closrads_sync"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    base_url = f"http://127.0.0.1:{args.port}"
    sandbox = SandboxClient(base_url)
    airflow_home = Path(os.environ["AIRFLOW_HOME"])
    airflow = str(Path(sys.executable).with_name("airflow"))

    started_here = not sandbox.healthy()
    if started_here:
        subprocess.run([sys.executable, "-m", "sandbox", "start", "--port", str(args.port)], check=True, cwd=ROOT)
    try:
        connections = airflow_home / "sandbox-connections.json"
        connections.write_text(json.dumps(airflow_connections(base_url), indent=2))
        subprocess.run(
            [airflow, "connections", "import", "--overwrite", str(connections)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        before = sandbox.targeted_states()

        log_file = airflow_home / "demo-last-run.log"
        returncode = run_sync(airflow, {"dry_run": False}, log_file)
        state, report = latest_run_report()
        print()
        print(SyncReport.from_dict(report).render_text() if report else "(the report task left no report)")
        print()
        print_comparison(sandbox, before)
        print()
        print(f"DAG run state: {state}")
        if returncode != 0 or state != "success":
            return 1
        show_an_outside_edit(airflow, sandbox, airflow_home / "demo-dry-run.log")
        return 0
    finally:
        if started_here:
            subprocess.run([sys.executable, "-m", "sandbox", "stop"], cwd=ROOT, stdout=subprocess.DEVNULL)


# At DEBUG, Airflow 3.3.2's in-process supervisor (``airflow dags test``) logs each request of the task
# with its body; a ``MaskSecret`` request's body is the secret being registered with the masker, and the
# masker does not look inside it. The scheduler's supervisor does not log these bodies.
MASK_REQUEST = b"MaskSecret("


def run_sync(airflow: str, conf: dict, log_file: Path) -> int:
    """``airflow dags test closrads_sync -c <conf>``, its output to ``log_file``, approving what it asks."""
    shown = json.dumps(conf)
    print(f"Running: airflow dags test {DAG_ID} -c '{shown}'  (full log: {log_file})", flush=True)
    with log_file.open("wb") as log:
        run = subprocess.Popen(
            [airflow, "dags", "test", DAG_ID, "-c", shown],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=os.environ | {"CLOSRADS_CAMPAIGNS_FILE": "none"},  # the default campaign, on the sandbox's Connections
        )
        copying = threading.Thread(target=copy_without_mask_requests, args=(run.stdout, log), daemon=True)
        copying.start()
        approve_while_running(run)
        copying.join(timeout=30)
    return run.returncode


def show_an_outside_edit(airflow: str, sandbox: SandboxClient, log_file: Path) -> None:
    """Play a person who edits an ad set in Ads Manager, then show what a dry run sees of it."""
    adset = sandbox.state()["adsets"][0]
    sandbox.edit_adset(adset["id"], add=["AK"])
    print(f"\nA person adds Alaska to {adset['name']} ({adset['id']}) in Ads Manager. A dry run sees it:\n")
    run_sync(airflow, {"dry_run": True}, log_file)
    _, report = latest_run_report()
    if report:
        result = SyncReport.from_dict(report)
        print(result.summary())
        if result.spend_line:
            print(result.spend_line)  # Alaska wants no leads: the money it draws shows as leakage from tomorrow on
        for outcome in result.adsets:
            if outcome.outside_change:
                print(f"  - {outcome.describe()}")
    print("(the next live sync writes over it and says so; a campaign's on_outside_change may hold it or ask a person)")


def copy_without_mask_requests(source, log) -> None:
    """Copy the run's output to the log file, leaving out the lines that quote a ``MaskSecret`` request."""
    for line in iter(source.readline, b""):
        if MASK_REQUEST not in line:
            log.write(line)
    log.flush()


def approve_while_running(run: subprocess.Popen) -> None:
    """Answer each approval the run asks for with Approve, printing the plan first, until it ends."""
    # This process's own API app only (the run was started already): an admin without a login, quiet.
    os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] = "True"
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "ERROR"
    warnings.simplefilter("ignore")
    from scripts.approvals import APPROVE, in_process_api, open_requests, respond

    with in_process_api() as client:
        while run.poll() is None:
            for request in open_requests(client):
                print(f"\nThe run waits for approval: {request['subject']}\n")
                print(request["body"])
                print("\nmake demo approves it for you (an operator answers in Airflow's Required actions).\n")
                respond(client, request, APPROVE).raise_for_status()
            time.sleep(1)


def latest_run_report() -> tuple[str | None, dict | None]:
    """The newest closrads_sync run's state and its report XCom, read from the metadata DB."""
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalars(
            select(DagRun).where(DagRun.dag_id == DAG_ID).order_by(DagRun.run_after.desc()).limit(1)
        ).first()
        if run is None:
            return None, None
        row = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == DAG_ID,
                XComModel.run_id == run.run_id,
                XComModel.task_id == "report",
                XComModel.key == "closrads_report",
            )
        ).first()
        return str(run.state), (XComModel.deserialize_value(row) if row else None)


if __name__ == "__main__":
    sys.exit(main())

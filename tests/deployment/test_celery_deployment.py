"""End to end on the production topology: PostgreSQL, Redis, scheduler, API server, DAG processor
and a Celery worker as separate processes, driven through the REST API v2 like an operator's tools.

    pytest -m deployment          # this test alone (a few minutes on 2 cores)

Uses PostgreSQL and Redis where they already run on localhost, otherwise starts its own from the
installed server binaries. Where neither is possible the test is skipped with what to install,
except under CI=true, where that is a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from closrads.airflow.alerts import PROCESS_DIED
from closrads.core.report import Outcome
from closrads.core.run_map import CHANGE_SYMBOL
from sandbox import scenario as sandbox_scenario
from sandbox.client import SandboxClient, airflow_connections, campaign_connections
from sandbox.scenario import multi_campaign_scenario, sandbox_campaigns
from sandbox.server import make_server
from scripts.native_topology import (
    AirflowDeployment,
    Unavailable,
    airflow_environment,
    find_or_start_postgres,
    find_or_start_redis,
    port_open,
    wait_for,
)
from scripts.overview import campaign_runs

# One stack for the module: its tests run on one xdist worker (`make test` uses --dist loadfile; with
# pytest 9, xdist 3.8's loadgroup no longer groups anything: it renames a node id pytest no longer reads).
# Each test still unpauses what it triggers, so none depends on another having run first.
pytestmark = pytest.mark.deployment

# The scheduler finds a lost worker's tasks after compose's 120 s without a heartbeat; compressed to
# 20 s here so the lost-worker scenario costs the suite under a minute: the behaviour is the same. The
# API-server scenario restarts the scheduler with compose's own values (a 20 s timeout would fail
# healthy tasks during a 45 s outage, which the shipped 120 s exists to prevent).
FAST_LOST_WORKER_DETECTION = {
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
}

DAG = "closrads_sync"
# Debian's Chromium (.ci/run installs it); Playwright drives it, no browser download.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
# A second campaign beside the first, from the campaign registry: its own CLOSRTECH campaign, Facebook
# campaign, ad account and token. The first keeps the single-campaign names (closrads_sync ...).
CLIENT = sandbox_campaigns(1)[0]
CLIENT_DAG = f"closrads_sync__{CLIENT.slug}"
CLIENT_ROLLBACK_DAG = f"closrads_rollback__{CLIENT.slug}"
CORE, MOBILE = "120215550000000001", "120215550000000005"  # map indexes 0 and 3
SECRETS = (sandbox_scenario.ACCESS_TOKEN, sandbox_scenario.CLOSRTECH_PASSWORD, "sandbox-webhook-secret-Kd7")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deployment")
    try:
        postgres = find_or_start_postgres(tmp)
        redis = find_or_start_redis()
    except Unavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"deployment test cannot run under CI: {exc}")
        pytest.skip(str(exc))

    server = make_server(port=0, state_file=tmp / "sandbox.json")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sandbox = SandboxClient(f"http://127.0.0.1:{server.server_address[1]}")
    sandbox.reset(multi_campaign_scenario(1, adsets_per_campaign=5))
    registry = tmp / "campaigns.yaml"
    first = {"slug": "veterans", "legacy_names": True, "closrtech_conn_id": "closrtech_default",
             "facebook_conn_id": "facebook_ads_default", "ad_account_id": sandbox_scenario.AD_ACCOUNT_ID}  # fmt: skip
    registry.write_text(json.dumps({"campaigns": [first, CLIENT.registry_entry(approval_threshold=51)]}))
    # The Connections reach only the API server (tasks get them through its execution API) and the DAG
    # processor (failure callbacks read them through its own in-process one), as compose's connections.env.
    connections = {
        f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn)
        for conn_id, conn in (
            airflow_connections(sandbox.base_url) | campaign_connections(sandbox.base_url, CLIENT)
        ).items()
    }
    database = f"closrads_e2e_{secrets.token_hex(4)}"
    postgres.sql(f"CREATE DATABASE {database}")
    home = tmp / "airflow"
    home.mkdir()
    env = airflow_environment(home, postgres, database, redis, {"CLOSRADS_CAMPAIGNS_FILE": str(registry)})
    given_connections = {"api-server": connections, "dag-processor": connections}
    airflow = AirflowDeployment(home, env, int(env["AIRFLOW__API__PORT"]), secrets=given_connections)
    # The run notes ("LIVE: 5 updated") are written, and the audit log read, through the REST API as this
    # least-privileged user (docs/production.md: the closrads-notes role).
    notes_password = secrets.token_urlsafe(12)
    connections["AIRFLOW_CONN_CLOSRADS_AIRFLOW_API"] = json.dumps(
        {"conn_type": "http", "host": airflow.api_url, "login": NOTES_USER, "password": notes_password}
    )
    try:
        airflow.airflow("db", "migrate")
        airflow.create_pools()
        # Runs ask for approval only when triggered with require_approval (step 2): no ad set can change
        # more than the 51 US states, so the change guard's threshold never trips by itself here.
        airflow.airflow("variables", "set", "closrads_approval_threshold", "51")
        airflow.airflow(
            # --password=...: a generated password may start with "-", which argparse takes for an option
            "users", "create", "--role", "Admin", "--username", airflow.username, f"--password={airflow.password}",
            "--email", "ops@closrads.example", "--firstname", "Ops", "--lastname", "CLOSRADS",
        )  # fmt: skip
        airflow.start("api-server", "api-server")
        airflow.start("scheduler", "scheduler", env=FAST_LOST_WORKER_DETECTION)
        airflow.start("dag-processor", "dag-processor")
        airflow.start("worker", "celery", "worker", "--queues", env["CLOSRADS_E2E_QUEUE"], "--concurrency", "4")
        wait_for(lambda: port_open(airflow.api_port), 120, "the API server")
        wait_for(lambda: _dags_visible(airflow), 180, "the DAG processor to register both campaigns' DAGs")
        create_notes_user(airflow, notes_password, [DAG, CLIENT_DAG, "closrads_rollback", CLIENT_ROLLBACK_DAG])
        yield airflow, sandbox
    finally:
        airflow.stop()
        server.shutdown()
        try:
            postgres.sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        finally:
            postgres.stop()
            redis.stop()


NOTES_USER = "closrads-notes"


def create_notes_user(airflow: AirflowDeployment, password: str, dag_ids: list[str]) -> None:
    """The run-note user with the least it needs, as docs/production.md creates it: edit the CLOSRADS DAGs'
    runs (the note), read the audit log (who cleared a task)."""
    airflow.airflow("sync-perm", "--include-dags")  # the DAG:<id> permissions of the DAGs just registered
    airflow.airflow("roles", "create", "closrads-notes")
    airflow.airflow("roles", "add-perms", "closrads-notes", "-r", "DAG Runs", "-a", "can_read", "can_edit")
    airflow.airflow("roles", "add-perms", "closrads-notes", "-r", "Audit Logs", "-a", "can_read")
    airflow.airflow("roles", "add-perms", "closrads-notes", "-r", *[f"DAG:{d}" for d in dag_ids],
                    "-a", "can_read", "can_edit")  # fmt: skip
    airflow.airflow(
        "users", "create", "--role", "closrads-notes", "--username", NOTES_USER, f"--password={password}",
        "--email", "notes@closrads.example", "--firstname", "Run", "--lastname", "Notes",
    )  # fmt: skip


def _dags_visible(airflow: AirflowDeployment) -> bool:
    airflow.check_alive()
    try:
        return all(airflow.request("GET", f"/api/v2/dags/{dag_id}")["dag_id"] == dag_id for dag_id in (DAG, CLIENT_DAG))
    except RuntimeError:
        return False


def runs(airflow) -> list[dict]:
    return airflow.request("GET", f"/api/v2/dags/{DAG}/dagRuns?limit=100")["dag_runs"]


def wait_finished(airflow, run_id: str, timeout: float = 240, dag_id: str = DAG) -> dict:
    def finished():
        airflow.check_alive()
        run = airflow.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")
        return run if run["state"] in ("success", "failed") else None

    return wait_for(finished, timeout, f"run {run_id} to finish", interval=2)


def trigger(airflow, conf: dict, dag_id: str = DAG) -> str:
    run = airflow.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf})
    return run["dag_run_id"]


def task_instances(airflow, run_id: str, dag_id: str = DAG) -> list[dict]:
    path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances?limit=100"
    return airflow.request("GET", path)["task_instances"]


def task_states(airflow, run_id: str) -> dict[str, str]:
    tis = {"task_instances": task_instances(airflow, run_id)}
    return {
        (ti["task_id"] if ti["map_index"] < 0 else f"{ti['task_id']}[{ti['map_index']}]"): ti["state"]
        for ti in tis["task_instances"]
    }


def clear(airflow, run_id: str, task_id: str, map_index: int) -> None:
    airflow.request(
        "POST",
        f"/api/v2/dags/{DAG}/clearTaskInstances",
        {"dry_run": False, "dag_run_id": run_id, "task_ids": [[task_id, map_index]], "include_downstream": True,
         "only_failed": False, "reset_dag_runs": True},
    )  # fmt: skip


def slack_texts(sandbox) -> list[str]:
    texts = [json.dumps(message) for message in sandbox.slack_messages()]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, "a secret reached Slack"
    return texts


def test_scheduler_ui_trigger_and_clearing_on_celery(stack):
    airflow, sandbox = stack

    # 1. Unpausing with closrads_dry_run unset: the scheduler's run is dry. Nothing is written.
    airflow.request("PATCH", f"/api/v2/dags/{DAG}", {"is_paused": False})
    scheduled = wait_for(lambda: [r for r in runs(airflow) if r["run_type"] == "scheduled"], 120, "a scheduled run")[0]
    assert wait_finished(airflow, scheduled["dag_run_id"])["state"] == "success"
    assert sandbox.graph_writes() == []
    assert any("DRY RUN: scheduled run, Variable closrads_dry_run is not set" in t for t in slack_texts(sandbox))

    # 2. A manual run with {"dry_run": false} (the trigger form's unticked checkbox) writes, once a
    #    person approved its plan through the REST API (it was triggered with require_approval).
    live = trigger(airflow, {"dry_run": False, "require_approval": True})
    request = wait_for(lambda: open_approval(airflow, live), 180, "the run to wait for approval", interval=2)
    assert "| Veterans - Mobile only | 120215550000000005 | 34 |" in request["body"]
    assert sandbox.graph_writes() == []  # nothing is written while it waits
    airflow.request(
        "PATCH",
        f"/api/v2/dags/{DAG}/dagRuns/{quote(live, safe='')}/taskInstances/approve_changes/-1/hitlDetails",
        {"chosen_options": ["Approve"], "params_input": {}},
    )
    finished = wait_finished(airflow, live)
    assert finished["state"] == "success"
    assert finished["note"] == "LIVE: 5 updated, 1 skipped"  # the run list shows mode and result
    assert any("waits for approval" in t and "required_actions" in t for t in slack_texts(sandbox))
    assert len(sandbox.graph_writes()) == 5
    assert task_states(airflow, live)["update_adset[0]"] == "success"
    # One audit record per written ad set, as asset events the REST API serves.
    events = airflow.request("GET", f"/api/v2/assets/events?source_dag_id={DAG}&source_run_id={quote(live)}")
    audited = {event["extra"]["adset_id"]: event for event in events["asset_events"]}
    assert len(audited) == 5 and audited[CORE]["extra"]["added"] and audited[CORE]["extra"]["regions_before"]

    # 2b. Clearing a written ad set (and report) re-runs it: the new try finds nothing left to do, and
    #     the run still says what it did to that ad set, across its tries.
    clear(airflow, live, "update_adset", 0)
    assert wait_finished(airflow, live)["note"] == "LIVE: 5 updated, 1 skipped"
    core = {a["adset_id"]: a for a in run_report(airflow, live)["adsets"]}[CORE]
    assert core["outcome"] == "updated" and core["added"] == audited[CORE]["extra"]["added"]
    assert core["history"].startswith("updated on try 1 (+") and core["history"].endswith("nothing left to do on try 2")
    assert len(sandbox.graph_writes()) == 5

    # 3. One ad set fails permanently: only its mapped instance fails, the run fails. After the
    #    cause is fixed, clearing exactly that instance (and downstream) re-runs and writes it.
    sandbox.set_demand({"OH": 5, "TX": 3, "FL": 2, "CA": 0})
    sandbox.add_fault("graph", adset_id=MOBILE, method="POST", code=100, times=50)
    failing = trigger(airflow, {"dry_run": False})
    assert wait_finished(airflow, failing)["state"] == "failed"
    states = task_states(airflow, failing)
    assert sorted(t for t, s in states.items() if s != "success") == ["report", "update_adset[3]"]
    assert states["update_adset[3]"] == "failed"
    assert sandbox.targeted_states()[CORE] == ["FL", "OH", "TX"]
    assert sandbox.targeted_states()[MOBILE] != ["FL", "OH", "TX"]

    sandbox.clear_faults()
    writes = len(sandbox.graph_writes())
    clear(airflow, failing, "update_adset", 3)
    assert wait_finished(airflow, failing)["state"] == "success"
    assert sandbox.targeted_states()[MOBILE] == ["FL", "OH", "TX"]
    assert len(sandbox.graph_writes()) == writes + 1  # only the cleared ad set was written

    # 4. The stale re-run guard: once a newer run applied newer demand, clearing an older run's
    #    update is refused without a write.
    sandbox.set_demand({"OH": 5, "NY": 4})
    newer = trigger(airflow, {"dry_run": False})
    assert wait_finished(airflow, newer)["state"] == "success"
    assert sandbox.targeted_states()[CORE] == ["NY", "OH"]
    writes = len(sandbox.graph_writes())
    clear(airflow, failing, "update_adset", 0)
    assert wait_finished(airflow, failing)["state"] == "failed"
    assert task_states(airflow, failing)["update_adset[0]"] == "failed"
    assert len(sandbox.graph_writes()) == writes
    assert sandbox.targeted_states()[CORE] == ["NY", "OH"]

    # 5. Slack got the reports and the alerts, without secrets.
    texts = slack_texts(sandbox)
    assert any("Veterans - Mobile only (120215550000000005)" in t and "Graph error 100" in t for t in texts)
    assert any("refusing to write" in t and "update_adset [Veterans - Core - Broad" in t for t in texts)
    # the first campaign of this deployment's registry: its reports name it
    assert sum("CLOSRADS sync veterans - LIVE" in t and "Status: SUCCESS" in t for t in texts) >= 3
    assert any("Status: FAILED" in t for t in texts)

    # 6. Undo the newest run through REST: its ad sets get their states back, the schedule goes dry.
    airflow.request("PATCH", "/api/v2/dags/closrads_rollback", {"is_paused": False})
    undo = trigger(airflow, {"run_id": newer, "dry_run": False}, dag_id="closrads_rollback")
    assert wait_finished(airflow, undo, dag_id="closrads_rollback")["state"] == "success"
    assert sandbox.targeted_states()[CORE] == ["FL", "OH", "TX"]  # what it had before the newer run
    assert airflow.request("GET", "/api/v2/variables/closrads_dry_run")["value"] == "true"


def open_approval(airflow, run_id: str) -> dict | None:
    """The run's approval request while it waits for an answer (GET .../hitlDetails)."""
    rows = airflow.request("GET", f"/api/v2/dags/{DAG}/dagRuns/{quote(run_id, safe='')}/hitlDetails")["hitl_details"]
    waiting = [row for row in rows if row["task_instance"]["state"] == "awaiting_input"]
    return waiting[0] if waiting else None


def trigger_with_writes_in_flight(airflow, sandbox) -> str:
    """Trigger a live run and return once update_adset instances run and a (slowed) write has begun."""
    writes = len(sandbox.graph_writes())
    run_id = trigger(airflow, {"dry_run": False})
    wait_for(
        lambda: len(running_updates(airflow, run_id)) >= 2 and len(sandbox.graph_writes()) > writes,
        120,
        "writes in flight",
    )
    return run_id


def running_updates(airflow, run_id: str) -> list[str]:
    return [t for t, s in task_states(airflow, run_id).items() if t.startswith("update_adset") and s == "running"]


def run_report(airflow, run_id: str, dag_id: str = DAG) -> dict:
    """The run's report (XCom ``closrads_report`` of its ``report`` task), through the REST API."""
    report = airflow.request(
        "GET",
        f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/report/xcomEntries/closrads_report"
        "?deserialize=true",
    )["value"]
    return json.loads(report) if isinstance(report, str) else report


def assert_report_matches_sandbox(airflow, sandbox, run_id: str, wanted: list[str]) -> None:
    """Every ad set holds the demand, and the report says so without a failure."""
    report = run_report(airflow, run_id)
    targeted = sandbox.targeted_states()
    for adset in report["adsets"]:
        assert targeted[adset["adset_id"]] == wanted, adset
        assert adset["outcome"] in ("updated", "skipped"), adset
    assert report["status"] == "success"


def test_a_lost_worker_and_an_absent_api_server_are_retried_without_a_person(stack):
    airflow, sandbox = stack
    slow_writes = {"target": "graph", "method": "POST", "delay": 6, "times": 1000}  # slow but successful

    # 1. The worker dies (SIGKILL, like `docker kill`) while update_adset instances are writing.
    sandbox.clear_faults()
    sandbox.set_demand({"OH": 5, "TX": 3, "GA": 2})
    airflow.request("PATCH", f"/api/v2/dags/{DAG}", {"is_paused": False})
    sandbox.add_fault(**slow_writes)
    alerts_before = len(sandbox.slack_messages())
    run_id = trigger_with_writes_in_flight(airflow, sandbox)
    killed = running_updates(airflow, run_id)
    airflow.kill("worker")
    sandbox.clear_faults()  # the writes in flight still take their time (and land); retries are fast
    airflow.restart("worker")  # the compose restart policy

    assert wait_finished(airflow, run_id, timeout=300)["state"] == "success"
    assert_report_matches_sandbox(airflow, sandbox, run_id, ["GA", "OH", "TX"])

    def alerts_so_far() -> list[str]:
        return [m["text"] for m in sandbox.slack_messages()[alerts_before:] if "CLOSRADS task failed" in m["text"]]

    def alerted_tasks(alerts: list[str]) -> list[str]:
        return [f"update_adset[{a.split('/mapped/')[1].split('?')[0]}]" for a in alerts]

    # Airflow ran again the tasks the worker took with it (one running when we looked may have finished
    # just before the kill; one only handed to the worker never started, and needs no alert).
    rerun = {
        f"update_adset[{ti['map_index']}]"
        for ti in task_instances(airflow, run_id)
        if ti["task_id"] == "update_adset" and ti["try_number"] > 1
    }
    died_running = rerun & set(killed)
    assert died_running, f"no running update_adset was run again after the worker died (running: {killed})"
    # A lost task's alert is its retry callback, which the DAG processor runs on its own time: on a busy
    # machine it may come after the retried task (and the run) already finished.
    with contextlib.suppress(TimeoutError):
        wait_for(lambda: died_running <= set(alerted_tasks(alerts_so_far())), 90, "an alert per lost task", interval=2)
    alerts = alerts_so_far()
    alerted = alerted_tasks(alerts)
    # One alert per task that died running, not two; none for a task that did not die.
    assert len(alerted) == len(set(alerted)) and died_running <= set(alerted) <= rerun, alerts
    assert all("Airflow will retry it" in a and "try 1 of 3" in a and PROCESS_DIED in a for a in alerts)
    assert all("update_adset [Veterans - " in a for a in alerts)  # named by its ad set, from the listing

    # 2. The API server is away for about 45 s while update_adset instances run; the scheduler now
    #    runs with the fault detection compose ships.
    airflow.stop_one("scheduler")
    airflow.restart("scheduler", env={})
    alerts_before = len(sandbox.slack_messages())
    sandbox.set_demand({"OH": 5, "NY": 4})
    sandbox.add_fault(**slow_writes)
    run_id = trigger_with_writes_in_flight(airflow, sandbox)
    airflow.stop_one("api-server")
    sandbox.clear_faults()
    time.sleep(45)
    airflow.restart("api-server")
    wait_for(lambda: port_open(airflow.api_port), 120, "the API server to come back")
    assert wait_finished(airflow, run_id, timeout=300)["state"] == "success"  # nobody cleared anything
    assert_report_matches_sandbox(airflow, sandbox, run_id, ["NY", "OH"])
    # Tasks that did not ride out the outage were retried by Airflow: at most one alert per task and try.
    alerts = [m["text"] for m in sandbox.slack_messages()[alerts_before:] if "CLOSRADS task failed" in m["text"]]
    tries = [(a.split(" | run ")[0], a.split(" | try ")[1].split("\n")[0]) for a in alerts]
    assert len(tries) == len(set(tries)), alerts


def test_two_campaigns_at_once_and_one_waiting_for_approval_delays_nobody(stack):
    """Two campaigns of one registry on Celery: the first waits for a person, the second runs meanwhile
    in its own pool and writes only its own ad sets; then the first is approved and writes its own."""
    airflow, sandbox = stack
    sandbox.clear_faults()
    sandbox.set_demand({"OH": 5, "TX": 3, "FL": 1})  # the first campaign's; the client's has its own
    client_wants = sorted(code for code, value in CLIENT.demand().items() if value)
    client_ids = [a["id"] for a in sandbox.state()["adsets"] if a["campaign_id"] == CLIENT.campaign_id]
    first_before = {k: v for k, v in sandbox.targeted_states().items() if k not in client_ids}
    airflow.request("PATCH", f"/api/v2/dags/{DAG}", {"is_paused": False})
    airflow.request("PATCH", f"/api/v2/dags/{CLIENT_DAG}", {"is_paused": False})  # its scheduled run is dry

    waiting = trigger(airflow, {"dry_run": False, "require_approval": True})
    wait_for(lambda: open_approval(airflow, waiting), 180, "the first campaign to wait for approval", interval=2)
    other = trigger(airflow, {"dry_run": False}, dag_id=CLIENT_DAG)
    finished = wait_finished(airflow, other, dag_id=CLIENT_DAG)

    assert finished["state"] == "success" and finished["note"] == "LIVE: 5 updated", run_report(
        airflow, other, CLIENT_DAG
    )["adsets"]
    assert open_approval(airflow, waiting) is not None  # still waiting: it held up nobody
    rows = {row.dag_id: row for row in campaign_runs(lambda path: airflow.request("GET", path))}
    assert rows[DAG].waiting_for_approval and "waiting for approval" in rows[DAG].line()
    assert not rows[CLIENT_DAG].waiting_for_approval
    targeted = sandbox.targeted_states()
    assert all(targeted[adset_id] == client_wants for adset_id in client_ids)
    assert {k: v for k, v in targeted.items() if k not in client_ids} == first_before  # nothing of the first's
    client_pools = {ti["task_id"]: ti["pool"] for ti in task_instances(airflow, other, CLIENT_DAG)}
    assert client_pools["list_adsets"] == client_pools["update_adset"] == f"closrads_graph__{CLIENT.ad_account_id}"
    events = airflow.request("GET", f"/api/v2/assets/events?source_dag_id={CLIENT_DAG}&source_run_id={quote(other)}")
    assert sorted(e["extra"]["adset_id"] for e in events["asset_events"]) == sorted(client_ids)
    assert {e["uri"].rsplit("/adsets/", 1)[0] for e in events["asset_events"]} == {f"closrads://{CLIENT.ad_account_id}"}

    airflow.request(
        "PATCH",
        f"/api/v2/dags/{DAG}/dagRuns/{quote(waiting, safe='')}/taskInstances/approve_changes/-1/hitlDetails",
        {"chosen_options": ["Approve"], "params_input": {}},
    )
    first_run = wait_finished(airflow, waiting)
    assert first_run["state"] == "success"
    targeted = sandbox.targeted_states()
    assert targeted[CORE] == ["FL", "OH", "TX"]
    assert all(targeted[adset_id] == client_wants for adset_id in client_ids)  # untouched by the first
    first_pools = {ti["task_id"]: ti["pool"] for ti in task_instances(airflow, waiting)}
    assert first_pools["update_adset"] == f"closrads_graph__{sandbox_scenario.AD_ACCOUNT_ID}"

    # The operator's pages (the closrads_ui plugin in the API server) show a client's operator that client's
    # campaign only: Airflow's own access rules (FAB here), as for the REST API.
    viewer = client_viewer(airflow)
    assert viewer(f"/closrads/api/runs/{CLIENT_DAG}/{quote(other, safe='')}")[0] == 200
    assert viewer(f"/closrads/api/runs/{DAG}/{quote(waiting, safe='')}")[0] == 403  # no data, not even a 404
    assert viewer(f"/closrads/adsets/{DAG}/{CORE}")[0] == 403
    status, overview = viewer("/closrads/")
    assert status == 200 and CLIENT_DAG in overview and f'data-dag="{DAG}"' not in overview
    assert anonymous(airflow, f"/closrads/api/runs/{CLIENT_DAG}/{quote(other, safe='')}") in (401, 403)
    # reading a campaign is not undoing its runs: the undo form's trigger needs the right to create a run
    assert viewer(f"/closrads/undo/{CLIENT_DAG}/{quote(other, safe='')}", {"dry_run": "true"})[0] == 403
    admin_view = airflow.request("GET", f"/closrads/api/runs/{DAG}/{quote(waiting, safe='')}")
    assert admin_view["map"]["summary"] == first_run["note"]  # an admin reads both; the map says what the note says

    # Every campaign's last run through the REST API, as `make overview` prints it.
    rows = {row.dag_id: row for row in campaign_runs(lambda path: airflow.request("GET", path))}
    assert rows[CLIENT_DAG].note == "LIVE: 5 updated" and rows[CLIENT_DAG].campaign == CLIENT.slug
    assert (rows[DAG].run_id, rows[DAG].state, rows[DAG].campaign) == (waiting, "success", "veterans")


def client_viewer(airflow):
    """A user whose role may read the second campaign's DAG and its runs, nothing else; GETs as that user."""
    role, user, password = "client01_viewer", "viewer01", secrets.token_urlsafe(12)
    airflow.airflow("roles", "create", role)
    airflow.airflow("roles", "add-perms", role, "-a", "can_read", "-r", "DAG Runs", f"DAG:{CLIENT_DAG}")
    airflow.airflow(
        "users", "create", "--role", role, "--username", user, f"--password={password}",
        "--email", "viewer@closrads.example", "--firstname", "Client", "--lastname", "Viewer",
    )  # fmt: skip
    token = airflow.request("POST", "/auth/token", {"username": user, "password": password}, auth=False)
    return lambda path, form=None: _get(airflow, path, token["access_token"], form)


def anonymous(airflow, path: str) -> int:
    return _get(airflow, path, None)[0]


def _get(airflow, path: str, token: str | None, form: dict | None = None) -> tuple[int, str]:
    """GET ``path`` (POST ``form`` when given) with ``token``: (status, body)."""
    import urllib.error
    import urllib.parse
    import urllib.request

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(f"{airflow.api_url}{path}", data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# The colour of each demand band on the page (docs/design.md, "The operator's pages").
BAND_COLOURS = {
    "none": "rgb(244, 244, 244)",
    "low": "rgb(198, 219, 239)",
    "mid": "rgb(107, 174, 214)",
    "high": "rgb(33, 113, 181)",
    "top": "rgb(8, 48, 107)",
}


def test_the_operator_reads_a_run_on_its_map_in_a_real_browser(stack):
    """Chromium logs in to the Airflow UI, opens a finished run's map, an ad set's history, and follows the
    undo link to the campaign's rollback DAG; screenshots of each page go to test-artifacts/."""
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        missing = f"no Chromium at {CHROMIUM} (Debian's package chromium; .ci/run installs it)"
        pytest.fail(missing) if os.environ.get("CI", "").lower() == "true" else pytest.skip(missing)
    airflow, sandbox = stack
    for adset in CLIENT.adsets(5):  # back to yesterday's states, so this run changes every ad set
        sandbox.update_adset(adset["id"], targeting=adset["targeting"])
    airflow.request("PATCH", f"/api/v2/dags/{CLIENT_DAG}", {"is_paused": False})
    run_id = trigger(airflow, {"dry_run": False}, dag_id=CLIENT_DAG)
    assert wait_finished(airflow, run_id, dag_id=CLIENT_DAG)["state"] == "success"
    report = airflow.request(
        "GET",
        f"/api/v2/dags/{CLIENT_DAG}/dagRuns/{quote(run_id, safe='')}/taskInstances/report/xcomEntries/closrads_report"
        "?deserialize=true",
    )["value"]
    report = json.loads(report) if isinstance(report, str) else report
    demand = {code: value for code, value in CLIENT.demand().items() if value}
    ARTIFACTS.mkdir(exist_ok=True)

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1300})
        page.goto(f"{airflow.api_url}/")
        page.fill("input[name=username]", airflow.username)
        page.fill("input[name=password]", airflow.password)
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/login" not in url, timeout=60_000)

        # The run's map: every state coloured by its demand, the change list as the report says.
        page.goto(f"{airflow.api_url}/closrads/runs/{CLIENT_DAG}/{quote(run_id, safe='')}")
        page.screenshot(path=str(ARTIFACTS / "run-map.png"), full_page=True)
        tiles = page.locator(".tile")
        assert tiles.count() == 51
        for code in ("TX", "AK", "CA", "OH"):
            tile = page.locator(f'.tile[data-state="{code}"]')
            band = tile.get_attribute("data-band")
            assert int(tile.get_attribute("data-demand")) == demand.get(code, 0)
            assert tile.evaluate("t => getComputedStyle(t).backgroundColor") == BAND_COLOURS[band]
        shown = {
            row.get_attribute("data-adset"): row.get_attribute("data-status")
            for row in page.locator("tr[data-adset]").all()
        }
        assert shown == {a["adset_id"]: CHANGE_SYMBOL[Outcome(a["outcome"])] for a in report["adsets"]}
        assert set(shown.values()) == {"changed"}

        # The same map as the run page's "Targeting map" tab in Airflow's UI (the plugin's external view).
        page.goto(f"{airflow.api_url}/dags/{CLIENT_DAG}/runs/{quote(run_id, safe='')}")
        page.get_by_text("Targeting map").first.click()
        page.frame_locator("iframe").locator('.tile[data-state="TX"]').wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "run-tab.png"), full_page=True)

        # The DAG page's "Targeting maps" tab (its latest runs), and every campaign at a glance.
        page.goto(f"{airflow.api_url}/dags/{CLIENT_DAG}")
        page.get_by_text("Targeting maps").first.click()
        page.frame_locator("iframe").locator(f'tr[data-run="{run_id}"]').wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "dag-tab.png"), full_page=True)
        page.goto(f"{airflow.api_url}/closrads/")
        page.wait_for_selector(f'tr[data-dag="{CLIENT_DAG}"]')
        page.screenshot(path=str(ARTIFACTS / "campaigns.png"), full_page=True)
        assert page.locator(f'tr[data-dag="{DAG}"]').count() == 1  # an admin sees both campaigns

        # One ad set's history, then its undo link: the rollback's trigger form, filled in and dry.
        page.goto(f"{airflow.api_url}/closrads/runs/{CLIENT_DAG}/{quote(run_id, safe='')}")
        page.locator("tr[data-adset] a").first.click()
        page.wait_for_selector('[data-testid="history"]')
        page.screenshot(path=str(ARTIFACTS / "adset-history.png"), full_page=True)
        assert page.locator(f'tr[data-run="{run_id}"]').count() == 1
        page.locator(f'tr[data-run="{run_id}"] [data-testid="undo"]').click()
        page.wait_for_selector('[data-testid="undo-form"]')
        assert page.locator('[data-testid="paused"]').count() == 1  # says the rollback would wait
        airflow.request("PATCH", f"/api/v2/dags/closrads_rollback__{CLIENT.slug}", {"is_paused": False})
        page.reload()
        assert page.locator('[data-testid="paused"]').count() == 0
        page.screenshot(path=str(ARTIFACTS / "undo-form.png"), full_page=True)
        assert page.locator("input[name=run_id]").input_value() == run_id
        assert page.locator("input[name=dry_run][type=checkbox]").is_checked()
        page.get_by_role("button", name=f"Trigger closrads_rollback__{CLIENT.slug}").click()
        # Opened on its own (not in its tab), the landing page sends the browser to the run in Airflow's UI.
        page.wait_for_url(f"**/dags/closrads_rollback__{CLIENT.slug}/runs/**/plugin/closrads_map", timeout=60_000)
        undo_run = page.url.rsplit("/runs/", 1)[1].split("/plugin/")[0]
        page.screenshot(path=str(ARTIFACTS / "rollback-run.png"), full_page=True)
        browser.close()
    from urllib.parse import unquote

    finished = wait_finished(airflow, unquote(undo_run), dag_id=f"closrads_rollback__{CLIENT.slug}")
    assert finished["state"] == "success" and finished["note"].startswith("DRY RUN: ")  # Meta-validated, unchanged

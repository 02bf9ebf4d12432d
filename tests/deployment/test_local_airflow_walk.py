"""README's local path, walked as a person does: ``make airflow`` (a real Airflow: scheduler, DAG
processor, API server, triggerer), a real Chromium at 1024 px, the UI's own trigger form and the
operator's pages inside their tab (Airflow's sandboxed iframe), README's REST commands where README
gives them.

- a live run triggered from the form (Dry run unticked, "Unpause on trigger" left as it is) runs,
  waits for approval, is approved and writes; its Targeting map tab fits a 1024 px screen;
- clearing one written ad set (README's ``clearTaskInstances`` command) re-runs it, and its tab still
  says the run updated it, across its tries;
- the undo link, inside the tab: the rollback form submits there, the UI moves to the new rollback run
  (its DAG was paused: the form unpauses it) and that run ends, its tab showing what it restored;
- ``make sandbox-campaigns`` while Airflow runs: the new campaign's DAG appears, its run gets its
  Connections and Graph pool and finishes, without a restart.

    pytest tests/deployment/test_local_airflow_walk.py      # about three minutes on 2 cores
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

from sandbox.client import SandboxClient
from sandbox.scenario import DEFAULT_DEMAND
from scripts.native_topology import wait_for
from tests.deployment.test_celery_deployment import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.helpers import ROOT

pytestmark = pytest.mark.deployment

CORE = "120215550000000001"  # map index 0 of closrads_sync
CLIENT_DAG = "closrads_sync__client_01"
NARROW, WIDE = {"width": 1024, "height": 900}, {"width": 1440, "height": 1000}


def free_port(also: tuple[int, ...] = ()) -> int:
    """A port free now, with ``port + offset`` free too for each offset in ``also``."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + max(also, default=0) < 65000 and all(_free(port + offset) for offset in also):
            return port
    raise RuntimeError("no free port")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


class LocalAirflow:
    """``make airflow`` in a private Airflow home and sandbox folder, on free ports."""

    def __init__(self, tmp: Path) -> None:
        self.port, self.sandbox_port = free_port(also=(713, 714)), free_port()
        self.home = tmp / "airflow"
        self.make_vars = [f"AIRFLOW_PORT={self.port}", f"SANDBOX_PORT={self.sandbox_port}",
                          f"AIRFLOW_HOME={self.home}", f"SANDBOX_DIR={tmp / 'sandbox'}"]  # fmt: skip
        # A person's shell: none of the test harness's Airflow settings or registry choice.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CLOSRADS"))}
        self.url = f"http://127.0.0.1:{self.port}"
        self.sandbox = SandboxClient(f"http://127.0.0.1:{self.sandbox_port}")
        self.process: subprocess.Popen | None = None

    def make(self, *target: str, timeout: float = 120) -> str:
        done = subprocess.run(["make", *target, *self.make_vars], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=timeout)  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done.stdout

    def start(self) -> None:
        log = (self.home.parent / "make-airflow.log").open("w")
        self.process = subprocess.Popen(["make", "airflow", *self.make_vars], cwd=ROOT, env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        wait_for(lambda: "Airflow is ready" in (self.home.parent / "make-airflow.log").read_text(), 240,
                 "make airflow to say it is ready", interval=1)  # fmt: skip
        self.password = json.loads((self.home / "simple_auth_manager_passwords.json.generated").read_text())["admin"]

    def stop(self) -> None:
        subprocess.run(["make", "airflow-stop", *self.make_vars], cwd=ROOT, env=self.env, capture_output=True,
                       timeout=120)  # fmt: skip
        if self.process is not None:
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        """README's REST calls: a token from /auth/token, then the request."""
        token = self._json("POST", "/auth/token", {"username": "admin", "password": self.password})["access_token"]
        return self._json(method, path, body, {"Authorization": f"Bearer {token}"})

    def _json(self, method: str, path: str, body: dict | None, headers: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json", **(headers or {})})  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read() or b"{}")

    def run(self, dag_id: str, run_id: str) -> dict:
        return self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")

    def wait_finished(self, dag_id: str, run_id: str, timeout: float = 240) -> dict:
        return wait_for(lambda: (r := self.run(dag_id, run_id))["state"] in ("success", "failed") and r,
                        timeout, f"{dag_id} run {run_id} to finish", interval=2)  # fmt: skip

    def approve_when_asked(self, dag_id: str, run_id: str) -> None:
        """README's approval through REST, once the run waits, as a person answers: not within the same
        second as the request. (Airflow 3.3 has a race there: an answer that arrives while the task is
        still handing itself over to the triggerer fails that try, and the retry asks again.)"""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}"
        seen: list[bool] = []

        def waiting_twice() -> bool:
            details = self.api("GET", f"{path}/hitlDetails")["hitl_details"]
            seen.append(any(d["task_instance"]["state"] == "awaiting_input" for d in details))
            return seen[-2:] == [True, True]

        wait_for(waiting_twice, 240, f"{run_id} to wait for approval", interval=2)
        self.api("PATCH", f"{path}/taskInstances/approve_changes/-1/hitlDetails",
                 {"chosen_options": ["Approve"], "params_input": {}})  # fmt: skip

    def report(self, dag_id: str, run_id: str) -> dict:
        value = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/report"
                                "/xcomEntries/closrads_report?deserialize=true")["value"]  # fmt: skip
        return json.loads(value) if isinstance(value, str) else value


@pytest.fixture(scope="module")
def local_airflow(tmp_path_factory):
    if not (shutil.which("make") and Path(CHROMIUM).exists()):
        if os.environ.get("CI") == "true":
            pytest.fail(f"the local walk needs make and Chromium at {CHROMIUM} (.ci/run installs it)")
        pytest.skip(f"needs make and Chromium at {CHROMIUM}")
    airflow = LocalAirflow(tmp_path_factory.mktemp("walk"))
    airflow.start()
    try:
        yield airflow
    finally:
        airflow.stop()
        log = airflow.home / "airflow.log"
        if log.exists():
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(log, ARTIFACTS / "local-walk-airflow.log")


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def logged_in(browser, airflow: LocalAirflow, viewport: dict):
    page = browser.new_page(viewport=viewport)
    page.goto(f"{airflow.url}/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", airflow.password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url, timeout=60_000)
    return page


def open_tab(page, airflow: LocalAirflow, dag_id: str, run_id: str, tab: str = "Targeting map"):
    page.goto(f"{airflow.url}/dags/{dag_id}/runs/{quote(run_id, safe='')}")
    page.get_by_text(tab).first.click()
    return page.frame_locator("iframe")


def fits_in_its_frame(page, selector: str) -> bool:
    """Whether the element's right edge is inside the tab's iframe (nothing cut off at this width)."""
    frame = page.frames[-1]
    element = frame.locator(selector).first.bounding_box()
    iframe = page.locator("iframe").bounding_box()
    return element is not None and element["x"] + element["width"] <= iframe["x"] + iframe["width"] + 1


def test_an_operator_walks_readme_in_a_real_browser(local_airflow, browser):
    airflow = local_airflow
    page = logged_in(browser, airflow, NARROW)

    # 1. Trigger from the UI's form: Dry run unticked; "Unpause on trigger" left ticked, as README says.
    page.goto(f"{airflow.url}/dags/closrads_sync")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    dry_run = dialog.locator("input[name=element_dry_run]")
    dry_run.wait_for(state="attached", timeout=30_000)
    assert dry_run.is_checked()  # safe by default
    dry_run.locator("xpath=..").click()
    assert not dry_run.is_checked()
    dialog.get_by_role("button", name="Trigger").click()
    run_id = wait_for(lambda: airflow.api("GET", "/api/v2/dags/closrads_sync/dagRuns?limit=1")["dag_runs"], 30,
                      "the triggered run")[0]["dag_run_id"]  # fmt: skip
    airflow.approve_when_asked("closrads_sync", run_id)  # two ad sets change by more than 10 states
    finished = airflow.wait_finished("closrads_sync", run_id)
    assert finished["state"] == "success" and finished["note"] == "LIVE: 5 updated, 1 skipped"  # the run note too
    assert finished["conf"]["dry_run"] is False

    # 2. Its Targeting map tab, at 1024 px: the map and the ad set table fit the tab.
    tab = open_tab(page, airflow, "closrads_sync", run_id)
    tab.locator('.tile[data-state="TX"]').wait_for(timeout=60_000)
    assert fits_in_its_frame(page, ".grid") and fits_in_its_frame(page, '[data-testid="changes"]')
    # Meta's learning state of each ad set, as the run listed it (the sandbox's ad set 2 is learning)
    assert tab.locator('tr[data-adset="120215550000000002"] [data-testid="learning"]').inner_text() == "Meta: LEARNING"
    # where yesterday's money went: the line, and each state's spend on its tile (spend without demand marked)
    assert tab.locator('[data-testid="run-spend"]').inner_text().startswith("Yesterday $")
    assert tab.locator('.tile[data-state="AK"] .spent.leak').inner_text().startswith("\u26a0$")
    page.screenshot(path=str(ARTIFACTS / "walk-run-tab-1024.png"))

    # 3. Clear the written ad set's update_adset and report (README's REST command): nothing left to do,
    #    and the tab still says this run updated it.
    airflow.api("POST", "/api/v2/dags/closrads_sync/clearTaskInstances",
                {"dry_run": False, "dag_run_id": run_id, "task_ids": [["update_adset", 0]], "include_downstream": True,
                 "only_failed": False, "reset_dag_runs": True})  # fmt: skip
    assert airflow.wait_finished("closrads_sync", run_id)["note"] == "LIVE: 5 updated, 1 skipped"
    tab = open_tab(page, airflow, "closrads_sync", run_id)
    row = tab.locator(f'tr[data-adset="{CORE}"]')
    row.wait_for(timeout=60_000)
    assert row.get_attribute("data-status") == "changed"
    assert row.locator('[data-testid="tries"]').inner_text().endswith("nothing left to do on try 2")
    assert tab.locator('.tile[data-state="TX"]').get_attribute("data-added") != "0"

    # 4. Undo, inside the tab: the ad set's history, its undo link, the rollback form; the form
    #    submits there and Airflow's UI moves to the new rollback run, which runs (the form unpaused it).
    tab.locator(f'tr[data-adset="{CORE}"] a').first.click()
    tab.locator('[data-testid="history"]').wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "walk-history-1024.png"))
    assert fits_in_its_frame(page, '[data-testid="history"]')
    tab.locator(f'tr[data-run="{run_id}"] [data-testid="undo"]').click()
    tab.locator('[data-testid="undo-form"]').wait_for()
    assert tab.locator('[data-testid="paused"]').count() == 1
    assert tab.locator("input[name=dry_run][type=checkbox]").is_checked()
    page.screenshot(path=str(ARTIFACTS / "walk-undo-form-1024.png"))
    tab.get_by_role("button", name="Trigger closrads_rollback").click()
    page.wait_for_url("**/dags/closrads_rollback/runs/**/plugin/closrads_map", timeout=60_000)
    undo_run = unquote(page.url.split("/runs/", 1)[1].split("/plugin/")[0])
    assert airflow.wait_finished("closrads_rollback", undo_run)["state"] == "success"
    tab = open_tab(page, airflow, "closrads_rollback", undo_run)
    tab.get_by_text("What this rollback changed, by state").wait_for(timeout=60_000)
    assert tab.locator('[data-testid="run-summary"]').inner_text() == "DRY RUN: 1 would update"
    page.screenshot(path=str(ARTIFACTS / "walk-rollback-tab-1024.png"))

    # 5. Learning-phase protection holds a new low-demand state back: the tiles and the Held back column
    #    say so, and still fit at 1024 px.
    airflow.sandbox.set_demand(DEFAULT_DEMAND | {"AK": 1})
    airflow.api("POST", "/api/v2/variables", {"key": "closrads_learning_phase", "value": '{"add_at_demand": 2}'})
    try:
        held_run = airflow.api("POST", "/api/v2/dags/closrads_sync/dagRuns", {"logical_date": None, "conf": {}})
        assert airflow.wait_finished("closrads_sync", held_run["dag_run_id"])["state"] == "success"
    finally:
        airflow.api("DELETE", "/api/v2/variables/closrads_learning_phase")
    tab = open_tab(page, airflow, "closrads_sync", held_run["dag_run_id"])
    tab.locator('.tile[data-state="AK"]').wait_for(timeout=60_000)
    assert int(tab.locator('.tile[data-state="AK"]').get_attribute("data-held")) >= 4
    assert "+AK (demand 1, added at 2)" in tab.locator(f'tr[data-adset="{CORE}"] td.held.wide').inner_text()
    assert fits_in_its_frame(page, '[data-testid="changes"]')
    page.screenshot(path=str(ARTIFACTS / "walk-held-back-1024.png"))

    # 5b. A person edits an ad set in Ads Manager: a dry run's tab says so on its row, and still fits.
    mobile = "120215550000000005"
    airflow.sandbox.edit_adset(mobile, remove=["OH"])
    drift_run = airflow.api("POST", "/api/v2/dags/closrads_sync/dagRuns", {"logical_date": None, "conf": {}})
    assert airflow.wait_finished("closrads_sync", drift_run["dag_run_id"])["state"] == "success"
    tab = open_tab(page, airflow, "closrads_sync", drift_run["dag_run_id"])
    line = tab.locator(f'tr[data-adset="{mobile}"] [data-testid="outside-change"]')
    line.wait_for(timeout=60_000)
    assert "changed outside CLOSRADS since" in line.inner_text() and ": -OH (" in line.inner_text()
    assert fits_in_its_frame(page, '[data-testid="changes"]')
    page.screenshot(path=str(ARTIFACTS / "walk-outside-change-1024.png"))

    # 5c. Every campaign's latest share of spend in states with no demand (Browse > CLOSRADS campaigns),
    #     and the campaign's page from there: one bar per run as each report says, fitting the page at
    #     1024 px (beside Airflow's grid, the DAG's own row of tabs is wider than such a screen).
    expected = leak_shares(airflow, "closrads_sync")
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="CLOSRADS campaigns").click()
    overview = page.frame_locator("iframe")
    leak = overview.locator('tr[data-dag="closrads_sync"] [data-testid="leak"]')
    leak.wait_for(timeout=60_000)
    assert leak.get_attribute("data-share") == expected[-1][1] and len(expected) >= 4
    page.screenshot(path=str(ARTIFACTS / "walk-overview-1024.png"))
    overview.locator('tr[data-dag="closrads_sync"] [data-testid="campaign"]').click()
    tab = page.frame_locator("iframe")
    tab.locator('[data-testid="spend-chart"]').wait_for(timeout=60_000)
    assert chart_shares(tab) == expected[-30:]
    assert fits_in_its_frame(page, '[data-testid="spend-chart"]') and fits_in_its_frame(page, '[data-testid="runs"]')
    page.screenshot(path=str(ARTIFACTS / "walk-spend-chart-1024.png"))
    tab.locator(f'a.point[data-run="{drift_run["dag_run_id"]}"]').click()  # a bar opens its run's map
    tab.locator(f'tr[data-adset="{mobile}"] [data-testid="outside-change"]').wait_for(timeout=60_000)

    # 6. The same tabs on a wide screen.
    wide = logged_in(browser, airflow, WIDE)
    tab = open_tab(wide, airflow, "closrads_sync", run_id)
    tab.locator('.tile[data-state="TX"]').wait_for(timeout=60_000)
    wide.screenshot(path=str(ARTIFACTS / "walk-run-tab-wide.png"))
    tab = open_dag_tab(wide, airflow, "closrads_sync")  # the DAG's Targeting maps tab
    assert chart_shares(tab) == expected[-30:] and fits_in_its_frame(wide, '[data-testid="spend-chart"]')
    wide.screenshot(path=str(ARTIFACTS / "walk-spend-chart-wide.png"))
    wide.close()
    page.close()


def open_dag_tab(page, airflow: LocalAirflow, dag_id: str):
    """The DAG's own "Targeting maps" tab (its runs and the spend chart), as a person clicks to it."""
    page.goto(f"{airflow.url}/dags/{dag_id}")
    page.get_by_text("Targeting maps").first.click()
    tab = page.frame_locator("iframe")
    tab.locator('[data-testid="spend-chart"]').wait_for(timeout=60_000)
    return tab


def chart_shares(tab) -> list[tuple[str, str]]:
    """Each bar of the spend chart: its run and the share it draws ("" for a run without a figure)."""
    bars = tab.locator("a.point")
    return [
        (bars.nth(i).get_attribute("data-run"), bars.nth(i).get_attribute("data-share")) for i in range(bars.count())
    ]


def leak_shares(airflow: LocalAirflow, dag_id: str) -> list[tuple[str, str]]:
    """Every run's share of yesterday's spend in states with no demand, as its report says, oldest first."""
    runs = airflow.api("GET", f"/api/v2/dags/{dag_id}/dagRuns?order_by=run_after&limit=100")["dag_runs"]
    shares = []
    for run in runs:
        yesterday = airflow.report(dag_id, run["dag_run_id"])["spend"].get("yesterday")
        share = f"{yesterday['no_demand'] * 100 / yesterday['total']:.1f}" if yesterday else ""
        shares.append((run["dag_run_id"], share))
    return shares


def test_a_campaign_added_while_airflow_runs_can_run_at_once(local_airflow):
    airflow = local_airflow
    out = airflow.make("sandbox-campaigns", "CAMPAIGNS=1")
    assert "Imported connection closrtech_client_01" in out

    def parsed() -> bool:
        try:
            return bool(airflow.api("GET", f"/api/v2/dags/{CLIENT_DAG}"))
        except urllib.error.HTTPError:
            return False

    wait_for(parsed, 120, f"{CLIENT_DAG} to appear", interval=2)
    assert airflow.api("GET", "/api/v2/dags/closrads_sync")["is_stale"] is False  # the default campaign stays
    airflow.api("PATCH", f"/api/v2/dags/{CLIENT_DAG}", {"is_paused": False})
    run_id = airflow.api("POST", f"/api/v2/dags/{CLIENT_DAG}/dagRuns",
                         {"logical_date": None, "conf": {"dry_run": False}})["dag_run_id"]  # fmt: skip
    airflow.approve_when_asked(CLIENT_DAG, run_id)
    assert airflow.wait_finished(CLIENT_DAG, run_id)["state"] == "success"
    assert airflow.report(CLIENT_DAG, run_id)["counts"]["updated"] == 5
    pools = {pool["name"] for pool in airflow.api("GET", "/api/v2/pools")["pools"]}
    assert "closrads_graph__act_7700000001" in pools  # created when its first run started


def test_nothing_listens_beyond_this_machine_and_later_commands_find_the_same_port(local_airflow):
    import psutil

    airflow = local_airflow
    ports = {airflow.port: "UI / API", airflow.port + 713: "worker log server", airflow.port + 714: "trigger logs"}
    listening = {c.laddr.port: c.laddr.ip for c in psutil.net_connections("inet")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port in ports}  # fmt: skip
    assert set(listening) == set(ports), f"not listening: {[ports[p] for p in set(ports) - set(listening)]}"
    assert set(listening.values()) == {"127.0.0.1"}, listening

    # A later make command without AIRFLOW_PORT (make demo, make overview...) keeps this Airflow's port.
    without_port = [var for var in airflow.make_vars if not var.startswith("AIRFLOW_PORT=")]
    done = subprocess.run(["make", "airflow-home", *without_port], cwd=ROOT, env=airflow.env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"export AIRFLOW__API__PORT='{airflow.port}'" in (airflow.home / "env.sh").read_text()

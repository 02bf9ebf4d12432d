"""Every campaign's last run at a glance, read through Airflow's public REST API.

    make overview                                 # the local Airflow of `make airflow`
    python -m scripts.overview --url https://airflow.example.com --user ops   # password: AIRFLOW_PASSWORD

One line per campaign (each ``closrads_sync`` DAG of the campaign registry): its client, whether it
is paused, and its last run: when, how it was started, its state and its note, which says the mode
and the result ("LIVE: 5 updated, 1 failed", "DRY RUN: 6 would update", "LIVE: waiting for approval
of 5 changes until ..."), whether it waits for a person's approval now (also without notes), and its
share of yesterday's spend that went to states with no demand. The same REST calls serve any other
tool: ``GET /api/v2/dags?tags=closrads&dag_id_pattern=closrads_sync``, per DAG
``GET /api/v2/dags/{dag_id}/dagRuns?order_by=-run_after&limit=1`` and that run's
``.../taskInstances/measure_spend/xcomEntries/return_value?deserialize=true``, and the open approvals
``GET /api/v2/dags/~/dagRuns/~/hitlDetails?task_id=approve_changes&response_received=false``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from closrads.core.names import SPEND_TASK_ID, SYNC_DAG_ID
from closrads.core.spend_trend import spend_point
from scripts.approvals import OPEN_REQUESTS

Get = Callable[[str], dict]  # GET a REST path, return its JSON


@dataclass(frozen=True)
class CampaignRun:
    dag_id: str
    campaign: str
    client: str
    paused: bool
    run_id: str | None = None
    run_type: str | None = None
    state: str | None = None
    run_after: str | None = None
    note: str | None = None
    waiting_for_approval: bool = False
    leak: str | None = None  # the last run's share of yesterday's spend in states with no demand, or why none

    def line(self) -> str:
        paused = " (paused)" if self.paused else ""
        if self.run_id is None:
            return f"{self.campaign:<24} {self.client:<16} {self.dag_id}{paused}: no run yet"
        when = (self.run_after or "")[:16].replace("T", " ")
        note = f" | {self.note}" if self.note else ""
        if self.waiting_for_approval and "waiting for approval" not in (self.note or ""):
            note += " | waiting for approval"
        if self.leak:
            note += f" | no-demand spend {self.leak}"
        return f"{self.campaign:<24} {self.client:<16} {when} {self.run_type:<9} {self.state:<8}{note}{paused}"


def campaign_runs(get: Get) -> list[CampaignRun]:
    """The last run of every campaign's sync DAG, by campaign."""
    dags = get(f"/api/v2/dags?tags=closrads&dag_id_pattern={SYNC_DAG_ID}&limit=1000&order_by=dag_id")["dags"]
    waiting = {
        (row["task_instance"]["dag_id"], row["task_instance"]["dag_run_id"])
        for row in get(OPEN_REQUESTS)["hitl_details"]
        if row["task_instance"]["state"] == "awaiting_input"
    }
    rows = []
    for dag in dags:
        if not (dag["dag_id"] == SYNC_DAG_ID or dag["dag_id"].startswith(f"{SYNC_DAG_ID}__")):
            continue
        tags = {tag["name"] if isinstance(tag, dict) else str(tag) for tag in dag.get("tags") or []}
        campaign = _tag(tags, "campaign:") or "default"
        client = _tag(tags, "client:") or "-"
        runs = get(f"/api/v2/dags/{quote(dag['dag_id'], safe='')}/dagRuns?order_by=-run_after&limit=1")["dag_runs"]
        row = CampaignRun(dag["dag_id"], campaign, client, bool(dag.get("is_paused")))
        if runs:
            run = runs[0]
            row = CampaignRun(
                row.dag_id,
                campaign,
                client,
                row.paused,
                run["dag_run_id"],
                run.get("run_type"),
                run.get("state"),
                run.get("run_after"),
                run.get("note"),
                (dag["dag_id"], run["dag_run_id"]) in waiting,
                _leak(get, dag["dag_id"], run["dag_run_id"]),
            )
        rows.append(row)
    return rows


def _leak(get: Get, dag_id: str, run_id: str) -> str:
    """The run's share of yesterday's spend in states with no demand, from ``measure_spend``'s result."""
    path = (
        f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}/taskInstances/"
        f"{SPEND_TASK_ID}/xcomEntries/return_value?deserialize=true"
    )
    try:
        value = get(path).get("value")
        value = json.loads(value) if isinstance(value, str) else value
    except Exception:  # noqa: BLE001 - an optional figure: a run without it (404, say) shows "no figure"
        value = None
    return spend_point(run_id, None, value).share_text


def _tag(tags: set[str], prefix: str) -> str | None:
    return next((tag.removeprefix(prefix) for tag in sorted(tags) if tag.startswith(prefix)), None)


def rest_get(url: str, user: str, password: str) -> Get:
    """A GET against a running API server, with a token from ``POST /auth/token``."""

    def call(method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{url.rstrip('/')}{path}", data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    token = call("POST", "/auth/token", {"username": user, "password": password})["access_token"]
    return lambda path: call("GET", path, token=token)


def _local_password(user: str) -> str:
    """The password ``make airflow``'s simple auth manager generated for ``user`` (none: empty)."""
    generated = Path(os.environ.get("AIRFLOW_HOME", ".airflow")) / "simple_auth_manager_passwords.json.generated"
    try:
        return str(json.loads(generated.read_text()).get(user) or "")
    except (OSError, ValueError):
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.overview", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("AIRFLOW__API__BASE_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--user", default=os.environ.get("AIRFLOW_USER", "admin"))
    args = parser.parse_args(argv)
    try:
        get = rest_get(args.url, args.user, os.environ.get("AIRFLOW_PASSWORD") or _local_password(args.user))
        rows = campaign_runs(get)
    except (urllib.error.URLError, OSError) as exc:
        print(f"could not read Airflow's REST API at {args.url}: {getattr(exc, 'reason', exc)}", file=sys.stderr)
        return 1
    print(f"{'campaign':<24} {'client':<16} last run")
    for row in rows:
        print(row.line())
    if not rows:
        print("no CLOSRADS sync DAG is registered (is the DAG processor running?)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

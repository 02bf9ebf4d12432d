"""``make bench`` (``python -m scripts.bench``): what one live sync costs per ad set, against the sandbox.

For each campaign size N (generated ACTIVE ad sets, every one needing a write; the sandbox answers
each CLOSRTECH/Graph call ``--latency-ms`` late, like a real API), back to back on a fresh scenario:

- ``plain``: the sequential loop the original single script ran, over the project's own hooks
  (fetch demand, map, list, then read + write each ad set): the floor for the external work;
- ``dags-test``: the DAG under ``dag.test()`` (what ``airflow dags test`` runs), in a fresh process;
- ``scheduler``: the DAG triggered on a private Airflow (API server, scheduler with the LocalExecutor
  and ``parallelism`` 8, DAG processor; :mod:`scripts.bench_scheduler`), started once and reused;
- ``airflow-floor``: on that same Airflow, a DAG of the same shape whose N mapped instances do nothing
  (``scripts/bench_dags``): what Airflow itself costs per mapped task, the floor for ``scheduler``;
- ``airflow-mechanisms``: the floor plus the Airflow mechanisms each ad set's task uses by design (the
  trigger form's Params, alert callbacks, the write order's XCom, the stale guard's Variable, the
  outcome's XCom, the mode's log line, the audit record's asset event), with none of CLOSRADS's code:
  ``scheduler`` minus this row is what CLOSRADS's own code costs per ad set;
- ``campaigns``: many campaigns in one deployment (``--campaigns`` of ``--campaign-size`` ad sets, each
  its own CLOSRTECH campaign, ad account and token, from a campaign registry), one run of each DAG
  triggered together on that same Airflow, measured from the first start to the last end. With it, the
  private Airflow runs the registry (the default campaign keeps ``closrads_sync``, ``legacy_names``),
  so the ``scheduler`` rows measure a single campaign beside the registry's DAGs, for comparison.

Printed per N and mode: wall time, ratio to the plain loop, CPU seconds per ad set (the measured
process and its children; for the scheduler modes every Airflow process and what it started),
execution-API requests per ad set (counted at the in-process API's transport for ``dags-test``, from
the API server's access log for the scheduler modes), CLOSRTECH and Graph requests against the
minimum, ``measure_spend``'s Insights requests (the ad account and each page) and its task's duration,
and the peak RSS of the process that ran the tasks (a task process, under the scheduler).
Figures, not a test: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = ("plain", "dags-test", "scheduler", "airflow-floor", "airflow-mechanisms", "campaigns")
YARDSTICKS = {"airflow-floor": "bench_airflow_floor", "airflow-mechanisms": "bench_airflow_mechanisms"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="6,60,300", help="campaign sizes, comma-separated")
    parser.add_argument("--latency-ms", type=float, default=44.0, help="sandbox latency per call")
    parser.add_argument("--modes", default=",".join(MODES[:4]), help="modes to measure (plain is always first)")
    parser.add_argument("--campaigns", type=int, default=30, help="campaigns mode: how many campaigns")
    parser.add_argument("--campaign-size", type=int, default=10, help="campaigns mode: ACTIVE ad sets each")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="an extra setting for every mode (repeatable)"
    )
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    unknown = set(args.modes.split(",")) - set(MODES)
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(sorted(unknown))}; the modes are {', '.join(MODES)}")
    if args.child:
        print(json.dumps(run_child(args.child, args.base_url)))
        return 0

    from sandbox.scenario import generated_scenario
    from sandbox.server import make_server

    home = Path(tempfile.mkdtemp(prefix="closrads-bench-"))
    env = bench_environment(home) | dict(setting.split("=", 1) for setting in args.set)
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True)
    server = make_server(port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    modes = ["plain", *(m for m in args.modes.split(",") if m != "plain")]
    stack, campaign_dags = None, []
    if {"scheduler", "campaigns", *YARDSTICKS} & set(modes):
        from sandbox.client import airflow_connections
        from scripts.bench_scheduler import SchedulerStack

        connections = {f"AIRFLOW_CONN_{c.upper()}": json.dumps(v) for c, v in airflow_connections(base_url).items()}
        if "campaigns" in modes:
            registry_env, campaign_dags = campaign_registry(home, base_url, args.campaigns)
            connections |= registry_env
        stack = SchedulerStack.create(home / "scheduler", env | connections)
        stack.dag_ids |= set(campaign_dags)
        stack.start()
    rows = []
    try:
        for size in [int(n) for n in args.sizes.split(",")]:
            plain_wall = None
            for mode in (m for m in modes if m != "campaigns"):
                server.state.reset(generated_scenario(size, args.latency_ms))
                if mode == "scheduler":
                    figures = stack.run({"dry_run": False})
                elif mode in YARDSTICKS:
                    figures = stack.run({"n": size}, dag_id=YARDSTICKS[mode])
                else:
                    figures = run_in_child(mode, base_url, env)
                rows.append(table_row(size, mode, figures, server.state.requests, plain_wall))
                plain_wall = plain_wall or figures["wall"]
                details = {k: figures[k] for k in ("cpu_by_component",) if k in figures}
                print(json.dumps(rows[-1] | details), file=sys.stderr, flush=True)
        if campaign_dags:
            from sandbox.scenario import generated_scenario, multi_campaign_scenario

            base = generated_scenario(0, args.latency_ms)
            server.state.reset(multi_campaign_scenario(args.campaigns, args.campaign_size, args.latency_ms, base))
            figures = stack.run_together(campaign_dags, {"dry_run": False})
            size = args.campaigns * args.campaign_size
            mode = f"campaigns {args.campaigns}x{args.campaign_size}"
            rows.append(table_row(size, mode, figures, server.state.requests, None, campaigns=args.campaigns))
            print(json.dumps(rows[-1] | {"cpu_by_component": figures["cpu_by_component"]}), file=sys.stderr)
    finally:
        if stack:
            stack.stop()
        server.shutdown()
    print_table(rows, args.latency_ms)
    return 0


def run_in_child(mode: str, base_url: str, env: dict[str, str]) -> dict:
    return json.loads(
        subprocess.run(
            [sys.executable, "-m", "scripts.bench", "--child", mode, "--base-url", base_url],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )


def campaign_registry(home: Path, base_url: str, count: int) -> tuple[dict[str, str], list[str]]:
    """A registry of ``count`` sandbox client campaigns beside the default one (which keeps its single-
    campaign names): the environment that points Airflow at it and at their Connections, and the sync
    DAG ids of the clients."""
    import yaml

    from closrads.core.campaigns import load_registry
    from sandbox import scenario
    from sandbox.client import campaign_connections

    clients = scenario.sandbox_campaigns(count)
    default = {"slug": "single", "legacy_names": True, "closrtech_conn_id": "closrtech_default",
               "facebook_conn_id": "facebook_ads_default", "ad_account_id": scenario.AD_ACCOUNT_ID}  # fmt: skip
    path = home / "campaigns.yaml"
    entries = [default, *(client.registry_entry(approval_threshold=51) for client in clients)]
    path.write_text(yaml.safe_dump({"campaigns": entries}, sort_keys=False))
    env = {"CLOSRADS_CAMPAIGNS_FILE": str(path)}
    for client in clients:
        env |= {f"AIRFLOW_CONN_{c.upper()}": json.dumps(v) for c, v in campaign_connections(base_url, client).items()}
    return env, [campaign.sync_dag_id for campaign in load_registry(path).campaigns[1:]]


def table_row(
    size: int, mode: str, figures: dict, requests: list[dict], plain_wall: float | None, campaigns: int = 1
) -> dict:
    graph = [r for r in requests if r["service"] == "graph" and r.get("kind") in ("listing", "adset")]
    insights = [r for r in requests if r["service"] == "graph" and r.get("kind") in ("insights", "account")]
    external = mode not in YARDSTICKS  # the yardsticks call no external service
    pages = campaigns * math.ceil(size / campaigns / 100)
    return {
        "N": size,
        "mode": mode,
        "wall s": round(figures["wall"], 1),
        "x plain": round(figures["wall"] / plain_wall, 1) if plain_wall else "-" if campaigns > 1 else 1.0,
        "CPU s/ad set": round(figures["cpu"] / size, 3),
        "exec API req/ad set": round(figures["api_requests"] / size, 1) if figures["api_requests"] is not None else "-",
        "CLOSRTECH req (min)": f"{sum(1 for r in requests if r['service'] == 'closrtech')} ({campaigns})"
        if external
        else "-",
        "Graph req (min)": f"{len(graph)} ({pages + 2 * size})" if external else "-",
        "Graph writes": sum(1 for r in graph if r["method"] == "POST") if external else "-",
        "Insights req": len(insights) if external else "-",  # measure_spend: the ad account and the pages
        "spend task s": round(figures["spend_task_s"], 2) if figures.get("spend_task_s") is not None else "-",
        "peak RSS MB": round(figures["max_rss_kb"] / 1024),
    }


def bench_environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_", "AIRFLOW__"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__CORE__MAX_MAP_LENGTH": "4096",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "CLOSRADS_CAMPAIGNS_FILE": "none",  # the campaigns mode sets its own registry
            # the benchmark measures the sync, not a person: the change guard never trips
            "AIRFLOW_VAR_CLOSRADS_APPROVAL_THRESHOLD": "51",
        }
    )
    return env


def run_child(mode: str, base_url: str) -> dict:
    """One measured run in this (fresh) process; the Connections point at the parent's sandbox."""
    from sandbox.client import airflow_connections

    for conn_id, conn in airflow_connections(base_url).items():
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)
    counter = {"n": 0}
    start_wall = time.perf_counter()
    run = counted = None
    if mode == "plain":
        plain_loop()
    else:
        count_execution_api_requests(counter)
        from airflow.dag_processing.dagbag import DagBag

        dag = DagBag(dag_folder=str(ROOT / "dags")).dags["closrads_sync"]
        run = dag.test(run_conf={"dry_run": False})
        assert str(run.state) == "success", run.state
        counted = counter["n"]
    wall = time.perf_counter() - start_wall
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall": wall,
        "cpu": me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime,
        "api_requests": counted,
        "max_rss_kb": max(me.ru_maxrss, children.ru_maxrss),
        "spend_task_s": measure_spend_seconds(run.run_id) if run else None,
    }


def measure_spend_seconds(run_id: str) -> float | None:
    """How long the run's ``measure_spend`` took (its task instance's duration)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from closrads.core.names import SPEND_TASK_ID

    with create_session() as session:
        return session.scalar(
            select(TaskInstance.duration).where(TaskInstance.run_id == run_id, TaskInstance.task_id == SPEND_TASK_ID)
        )


def plain_loop() -> None:
    """The original design's script: one sequential pass over the project's own hooks and rules."""
    from closrads.airflow.hooks.closrtech import ClosrtechHook
    from closrads.airflow.hooks.facebook_ads import FacebookAdsHook
    from closrads.core.demand import states_with_demand
    from closrads.core.regions import map_states
    from closrads.core.targeting import plan_geo_update, targeting_with_regions, usable_targeting

    regions = map_states(states_with_demand(ClosrtechHook().get_demand())).regions
    hook = FacebookAdsHook()
    for row in hook.list_campaign_adsets():
        if row["effective_status"] != "ACTIVE":
            continue
        targeting = usable_targeting(hook.get_adset(row["id"]).get("targeting"))
        if plan_geo_update(targeting, regions).needs_write:
            hook.update_targeting(row["id"], targeting_with_regions(targeting, regions))


def count_execution_api_requests(counter: dict) -> None:
    """Count every request the tasks make to Airflow's execution API (in process: one transport)."""
    import httpx

    original = httpx.WSGITransport.handle_request

    def counting(self, request):
        counter["n"] += 1
        return original(self, request)

    httpx.WSGITransport.handle_request = counting


def print_table(rows: list[dict], latency_ms: float) -> None:
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print(f"\nCLOSRADS live sync, sandbox latency {latency_ms:g} ms per call, every ad set written\n")
    print(" | ".join(c.ljust(widths[c]) for c in columns))
    print("-+-".join("-" * widths[c] for c in columns))
    for row in rows:
        print(" | ".join(str(row[c]).ljust(widths[c]) for c in columns))


if __name__ == "__main__":
    sys.exit(main())

"""``make bench-map`` (``python -m scripts.bench_map [N]``): how long the operator's map of a real run
of N ad sets (default 300) takes to serve, through Airflow's API app with the closrads_ui plugin.

It runs the sync once under ``dag.test()`` against a generated sandbox campaign of N ACTIVE ad sets (a
live run: every ad set written, so every row and tile has a change), in a throw-away Airflow home,
then requests the run's page and its JSON 20 times each through Airflow's own FastAPI app in process
(the same app the API server serves: access check, metadata-DB reads, rendering) and prints the
median and the slowest; then how long Chromium takes to lay the page out and paint it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from scripts.bench import ROOT, bench_environment

REQUESTS = 20


def main() -> int:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    home = Path(tempfile.mkdtemp(prefix="closrads-bench-map-"))
    os.environ.clear()
    os.environ.update(
        bench_environment(home)
        | {
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",  # in process: an admin without a login
            "AIRFLOW__API_AUTH__JWT_SECRET": "closrads-bench-only-" + "0" * 60,
        }
    )
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)

    from sandbox.client import airflow_connections
    from sandbox.scenario import generated_scenario
    from sandbox.server import make_server

    server = make_server(port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    server.state.reset(generated_scenario(size))
    for conn_id, conn in airflow_connections(base_url).items():
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)

    from airflow.api_fastapi.app import create_app
    from airflow.dag_processing.dagbag import DagBag
    from fastapi.testclient import TestClient

    started = time.perf_counter()
    run = DagBag(dag_folder=str(ROOT / "dags")).dags["closrads_sync"].test(run_conf={"dry_run": False})
    print(f"a live run of {size} ad sets under dag.test: {run.state!s} in {time.perf_counter() - started:.0f} s")
    client = TestClient(create_app("core"))
    for what, path in (
        ("page", f"/closrads/runs/closrads_sync/{run.run_id}"),
        ("JSON", f"/closrads/api/runs/closrads_sync/{run.run_id}"),
    ):
        times = []
        for _ in range(REQUESTS):
            start = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200, response.status_code
        print(
            f"the run's {what}: median {statistics.median(times) * 1000:.0f} ms, slowest {max(times) * 1000:.0f} ms "
            f"over {REQUESTS} requests ({len(response.content) // 1024} KB)"
        )
    browser_draw(client.get(f"/closrads/runs/closrads_sync/{run.run_id}").text)
    server.shutdown()
    return 0


def browser_draw(html: str) -> None:
    """How long Debian's Chromium takes to lay out and paint the page (when Playwright and Chromium are here)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("the browser's drawing: not measured (no Playwright)")
        return
    chromium = "/usr/bin/chromium"
    if not Path(chromium).exists():
        print(f"the browser's drawing: not measured (no {chromium})")
        return
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        times = []
        for _ in range(5):
            start = time.perf_counter()
            page.set_content(html, wait_until="load")
            page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
            times.append(time.perf_counter() - start)
        browser.close()
    median = statistics.median(times) * 1000
    print(f"the browser's drawing of the page (Chromium, to the second frame): median {median:.0f} ms")


if __name__ == "__main__":
    sys.exit(main())

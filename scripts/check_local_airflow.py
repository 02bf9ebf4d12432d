"""Scripted check of the local workflow (``make check-local-airflow``; takes a minute or two).

1. Something else holds port 8080 (another Airflow on a shared machine, say).
2. ``make airflow AIRFLOW_PORT=18080`` must come up on 18080: the UI/API answers there.
3. ``make airflow-stop`` must leave no process of it behind; then the same with SIGTERM to ``make``.

Prints what it saw; exits 1 on the first failed expectation.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
PORT = 18080
HOME = ROOT / ".airflow"


def check(condition: bool, what: str) -> None:
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        sys.exit(1)


def ours() -> list[psutil.Process]:
    """Processes of the local Airflow: anything whose environment points at this AIRFLOW_HOME
    (besides this check and the ``make`` processes, which only pass the environment on)."""
    found = []
    for process in psutil.process_iter(["pid", "name"]):
        with contextlib.suppress(psutil.Error):
            if process.pid == os.getpid() or process.info["name"] == "make":
                continue
            if process.environ().get("AIRFLOW_HOME") == str(HOME):
                found.append(process)
    return found


def answers(port: int) -> bool:
    with contextlib.suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health") as r:
        return r.status == 200
    return False


def start_make() -> subprocess.Popen:
    make = subprocess.Popen(["make", "airflow", f"AIRFLOW_PORT={PORT}", "SANDBOX_PORT=18765"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not answers(PORT):
        if make.poll() is not None:
            print(make.stdout.read())
            check(False, "make airflow stayed up")
        time.sleep(2)
    check(answers(PORT), f"make airflow AIRFLOW_PORT={PORT}: the API answers on {PORT}")
    return make


def wait_gone(seconds: float) -> list[psutil.Process]:
    deadline = time.monotonic() + seconds
    while (left := ours()) and time.monotonic() < deadline:
        time.sleep(1)
    return left


def main() -> int:
    check(not ours(), "no local Airflow was running before the check")
    with socket.socket() as other_airflow:
        other_airflow.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            other_airflow.bind(("127.0.0.1", 8080))
            other_airflow.listen()
            print("     (holding 127.0.0.1:8080 like another Airflow would)")
        except OSError:
            print("     (8080 is already held by something else on this machine)")

        make = start_make()
        urls = {p.environ().get("AIRFLOW__CORE__EXECUTION_API_SERVER_URL") for p in ours()}
        check(urls == {f"http://127.0.0.1:{PORT}/execution/"}, f"the tasks' execution API is on {PORT} too: {urls}")
        count = len(ours())
        subprocess.run(["make", "airflow-stop"], cwd=ROOT, check=True, capture_output=True)
        left = wait_gone(40)
        check(not left, f"make airflow-stop: all {count} processes gone ({[p.pid for p in left]} left)")
        make.wait(30)

        make = start_make()
        count = len(ours())
        make.send_signal(signal.SIGTERM)
        left = wait_gone(40)
        check(not left, f"SIGTERM to make: all {count} processes gone ({[p.pid for p in left]} left)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``make airflow`` / ``make airflow-stop``: a local ``airflow standalone`` that is easy to start and to stop.

    python -m scripts.local_airflow start   # foreground; Ctrl-C or SIGTERM stops everything it started
    python -m scripts.local_airflow stop    # stop it from another shell

``start`` also starts the sandbox on ``SANDBOX_PORT`` (when it is not running yet) and loads its
Connections into the local Airflow, so the DAG runs against the local emulators.

The ports come from the environment the Makefile sets from one variable (``AIRFLOW_PORT``):
``AIRFLOW__API__PORT`` (UI, REST API and the execution API the tasks call) and the worker and
triggerer log-server ports. Every one of them is checked before anything starts, so a port another
Airflow holds fails at once with a message that names it, instead of deep inside a log while
standalone prints "ready". ``airflow standalone`` runs in its own process group; stopping it stops
the whole group (scheduler, API server, triggerer, DAG processor and their task processes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

PORT_SETTINGS = {
    "AIRFLOW__API__PORT": "the UI / REST API",
    "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": "the worker log server",
    "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": "the triggerer log server",
}
STOP_TIMEOUT_SECONDS = 20
READY_TIMEOUT_SECONDS = 180


def pid_file() -> Path:
    """Holds the pid of the running ``start`` command, which stops everything it started when signalled."""
    return Path(os.environ["AIRFLOW_HOME"]) / "local-airflow.pid"


def busy_ports() -> list[str]:
    """The configured ports something else already listens on, each with what needs it."""
    busy = []
    for setting, purpose in PORT_SETTINGS.items():
        port = int(os.environ[setting])
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("0.0.0.0", port))
            except OSError:
                busy.append(f"{port} ({purpose}, {setting})")
    return busy


def start() -> int:
    if (running := _running_pid()) is not None:
        print(f"a local Airflow started by `make airflow` is already running (pid {running}); "
              "`make airflow-stop` stops it", file=sys.stderr)  # fmt: skip
        return 1
    if busy := busy_ports():
        print(
            "cannot start Airflow: port(s) in use: " + ", ".join(busy) + ". Pick free ones with "
            "`make airflow AIRFLOW_PORT=18080` (the log-server ports move with it).",
            file=sys.stderr,
        )
        return 1
    sandbox_started = _start_sandbox()
    _create_graph_pool()
    log_path = Path(os.environ["AIRFLOW_HOME"]) / "standalone.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            ["airflow", "standalone"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    pid_file().write_text(str(os.getpid()))
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    url = os.environ.get("AIRFLOW__API__BASE_URL", f"http://127.0.0.1:{os.environ['AIRFLOW__API__PORT']}")
    try:
        if not _wait_ready(process, url):
            print(f"Airflow did not come up; the last lines of {log_path}:", file=sys.stderr)
            print(_tail(log_path), file=sys.stderr)
            return 1
        _connect_run_notes(url)
        print(f"Airflow is ready at {url} (log: {log_path}). Ctrl-C or `make airflow-stop` stops it.", flush=True)
        process.wait()
        print(f"airflow standalone exited with {process.returncode}; see {log_path}", file=sys.stderr)
        return process.returncode or 1
    except KeyboardInterrupt:
        print("stopping the local Airflow ...", flush=True)
        return 0
    finally:
        stop_group(process.pid)
        pid_file().unlink(missing_ok=True)
        if sandbox_started:
            _sandbox("stop")


def stop() -> int:
    pid = _running_pid()
    if pid is None:
        print("no local Airflow started by `make airflow` is running")
        pid_file().unlink(missing_ok=True)
        return 0
    os.kill(pid, signal.SIGTERM)  # `start` stops airflow standalone's process group and its sandbox
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS + 10
    while _running_pid() is not None and time.monotonic() < deadline:
        time.sleep(0.5)
    if _running_pid() is not None:
        stop_group(pid)
    print("stopped the local Airflow")
    return 0


def _sandbox(*args: str) -> subprocess.CompletedProcess:
    port = os.environ.get("SANDBOX_PORT", "8765")
    return subprocess.run([sys.executable, "-m", "sandbox", *args, "--port", port], capture_output=True, text=True)


def _start_sandbox() -> bool:
    """Start the sandbox unless it runs already, and load its Connections. True when started here."""
    started = "already running" not in _sandbox("start").stdout
    connections = Path(os.environ["AIRFLOW_HOME"]) / "sandbox-connections.json"
    _sandbox("connections", str(connections))
    subprocess.run(["airflow", "connections", "import", "--overwrite", str(connections)], capture_output=True)
    return started


def _connect_run_notes(url: str) -> None:
    """The ``closrads_airflow_api`` Connection (each run's note: its mode and result, in the run list,
    the campaign pages and ``make overview``) as the local admin, whose password ``airflow standalone``
    generated. Written to the metadata DB through a file in the Airflow home, which already holds it."""
    passwords = Path(os.environ["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
    try:
        password = json.loads(passwords.read_text())["admin"]
    except (OSError, ValueError, KeyError):
        print(f"no admin password in {passwords}: runs get no notes", file=sys.stderr)
        return
    connection = {"closrads_airflow_api": {"conn_type": "http", "host": url, "login": "admin", "password": password}}
    path = Path(os.environ["AIRFLOW_HOME"]) / "airflow-api-connection.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(connection))
    subprocess.run(["airflow", "connections", "import", "--overwrite", str(path)], capture_output=True)


def _create_graph_pool() -> None:
    """The pools that bound concurrent Graph calls, one per ad account of the campaign registry: tasks in
    a pool that does not exist never run."""
    pools = Path(os.environ["AIRFLOW_HOME"]) / "closrads-pools.json"
    subprocess.run([sys.executable, "-m", "closrads.airflow.pools", str(pools)], check=True)
    subprocess.run(["airflow", "pools", "import", str(pools)], capture_output=True)


def stop_group(pid: int) -> None:
    """SIGTERM the process group and every descendant, then SIGKILL what is left after a grace period."""
    import psutil  # an Airflow dependency

    try:
        parent = psutil.Process(pid)
        processes = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        processes = []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=STOP_TIMEOUT_SECONDS)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def _running_pid() -> int | None:
    try:
        pid = int(pid_file().read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid


def _wait_ready(process: subprocess.Popen, url: str) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=2) as answer:
            if answer.status == 200:
                return True
        time.sleep(1)
    return False


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.local_airflow", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("command", choices=["start", "stop"])
    return {"start": start, "stop": stop}[parser.parse_args(argv).command]()


if __name__ == "__main__":
    sys.exit(main())

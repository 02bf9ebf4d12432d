"""``make airflow`` / ``make airflow-stop``: a local Airflow that is easy to start and to stop.

    python -m scripts.local_airflow start   # foreground; Ctrl-C or SIGTERM stops everything it started
    python -m scripts.local_airflow stop    # stop it from another shell

``start`` runs what ``airflow standalone`` runs (scheduler, DAG processor, API server, triggerer; the
LocalExecutor, SQLite, the simple auth manager and its generated admin password), but as its own
processes, so that nothing listens beyond this machine: the API server on ``[api] host`` (127.0.0.1),
and the worker and triggerer log servers, which Airflow itself binds to every interface, are Airflow's
own log-server app started here on 127.0.0.1 instead (the scheduler and triggerer run with
``--skip-serve-logs``). It also starts the sandbox on ``SANDBOX_PORT`` (when it is not running yet),
loads its Connections and the run-note Connection, so the DAG runs against the local emulators.

The ports come from the environment the Makefile sets from one variable (``AIRFLOW_PORT``):
``AIRFLOW__API__PORT`` (UI, REST API and the execution API the tasks call) and the worker and
triggerer log-server ports. Every one of them is checked before anything starts, so a port another
Airflow holds fails at once with a message that names it. All the processes share one process group;
stopping stops the whole group (and their task processes). One component that exits stops the rest,
naming it, rather than leaving a half-working Airflow.
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
LOG_NAME = "airflow.log"  # in AIRFLOW_HOME: every component's output
HEALTHY = ("metadatabase", "scheduler", "triggerer", "dag_processor")


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
    log_path = Path(os.environ["AIRFLOW_HOME"]) / LOG_NAME
    with log_path.open("ab") as log:
        processes = _start_components(log)
    pid_file().write_text(str(os.getpid()))
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    url = os.environ.get("AIRFLOW__API__BASE_URL", f"http://127.0.0.1:{os.environ['AIRFLOW__API__PORT']}")
    group = next(iter(processes.values())).pid
    try:
        if not _wait_ready(processes, url):
            print(f"Airflow did not come up; the last lines of {log_path}:", file=sys.stderr)
            print(_tail(log_path), file=sys.stderr)
            return 1
        _connect_run_notes(url)
        print(f"Airflow is ready at {url} (log: {log_path}). Ctrl-C or `make airflow-stop` stops it.", flush=True)
        while (exited := _exited(processes)) is None:
            time.sleep(1)
        name, code = exited
        print(f"the {name} exited with {code}; stopping the rest (see {log_path})", file=sys.stderr)
        return code or 1
    except KeyboardInterrupt:
        print("stopping the local Airflow ...", flush=True)
        return 0
    finally:
        stop_group(group)
        pid_file().unlink(missing_ok=True)
        if sandbox_started:
            _sandbox("stop")


def components() -> dict[str, list[str]]:
    """What runs, by name: ``airflow standalone``'s four components, their log servers on 127.0.0.1."""
    log_server = [sys.executable, "-m", "uvicorn", "--factory", "airflow.utils.serve_logs.log_server:get_app",
                  "--host", "127.0.0.1", "--no-access-log", "--log-level", "warning", "--port"]  # fmt: skip
    return {
        "scheduler": ["airflow", "scheduler", "--skip-serve-logs"],
        "DAG processor": ["airflow", "dag-processor"],
        "API server": ["airflow", "api-server"],
        "triggerer": ["airflow", "triggerer", "--skip-serve-logs"],
        "worker log server": [*log_server, os.environ["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"]],
        "triggerer log server": [*log_server, os.environ["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"]],
    }


def _start_components(log) -> dict[str, subprocess.Popen]:
    """Every component in one new process group (the first one's), output to ``log``. The group is not
    the terminal's, so Ctrl-C reaches this script alone, which then stops the group in order."""
    processes: dict[str, subprocess.Popen] = {}
    try:
        for name, command in components().items():
            group = next(iter(processes.values())).pid if processes else 0  # 0: a new group, led by the first
            processes[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, process_group=group)
    except BaseException:
        if processes:
            stop_group(next(iter(processes.values())).pid)
        raise
    return processes


def _exited(processes: dict[str, subprocess.Popen]) -> tuple[str, int] | None:
    for name, process in processes.items():
        if process.poll() is not None:
            return name, process.returncode
    return None


def stop() -> int:
    pid = _running_pid()
    if pid is None:
        print("no local Airflow started by `make airflow` is running")
        pid_file().unlink(missing_ok=True)
        return 0
    os.kill(pid, signal.SIGTERM)  # `start` stops its components' process group and its sandbox
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
    the campaign pages and ``make overview``) as the local admin, whose password the simple auth manager
    generated when the API server started. Written to the metadata DB through a file in the Airflow home,
    which already holds that password."""
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


def _wait_ready(processes: dict[str, subprocess.Popen], url: str) -> bool:
    """Ready when the API server says the scheduler, triggerer and DAG processor are healthy (what
    ``airflow standalone`` waits for); not ready as soon as a component exits."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if _exited(processes) is not None:
            return False
        with (
            contextlib.suppress(OSError, ValueError),
            urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=2) as answer,
        ):
            health = json.loads(answer.read())
            if all((health.get(part) or {}).get("status") == "healthy" for part in HEALTHY):
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

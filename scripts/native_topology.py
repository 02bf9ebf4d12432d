"""The production topology of docker-compose.yaml, started natively (the deployment test, `make bench-scheduler`).

PostgreSQL (metadata DB and Celery results) and Redis (Celery broker) are used where they already
run on localhost (5432 with trust auth, 6379), otherwise started from the installed server
binaries in a temp dir. Then ``airflow api-server``, ``scheduler``, ``dag-processor`` and
``celery worker`` run as separate processes with the CeleryExecutor and the FAB auth manager,
on free ports, with their own database, Redis DB index and Celery queue, so nothing collides with
other Airflows on the machine. Everything started here is stopped again.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Unavailable(Exception):
    """A service this test needs can be neither found nor started; the message says what to install."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")


def stop_started(process: subprocess.Popen | None, timeout: float = 20) -> None:
    """Stop a server this module started (``None``: it was already running, leave it alone)."""
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


# -- PostgreSQL ------------------------------------------------------------------------------


@dataclass
class Postgres:
    port: int
    process: subprocess.Popen | None = None
    data_dir: Path | None = None

    def sql(self, statement: str, dbname: str = "postgres") -> None:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=dbname)
        conn.autocommit = True
        try:
            conn.cursor().execute(statement)
        finally:
            conn.close()

    def stop(self) -> None:
        stop_started(self.process)


def postgres_reachable(port: int) -> bool:
    try:
        Postgres(port).sql("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any failure means "not usable here"
        return False


def find_or_start_postgres(tmp: Path) -> Postgres:
    if postgres_reachable(5432):
        return Postgres(5432)
    binaries = sorted(glob("/usr/lib/postgresql/*/bin/postgres")) or [shutil.which("postgres") or ""]
    server = Path(binaries[-1]) if binaries[-1] else None
    if server is None or not (server.parent / "initdb").exists():
        raise Unavailable(
            "no PostgreSQL on localhost:5432 (trust auth) and no server binaries to start one; "
            "install PostgreSQL (Debian: apt-get install postgresql)"
        )
    data = tmp / "pgdata"
    data.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        if not shutil.which("runuser"):
            raise Unavailable("running as root and cannot switch to the postgres user to start PostgreSQL")
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(data, "postgres")
        shutil.chown(tmp, "postgres")
    subprocess.run([*as_user, str(server.parent / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
                   check=True, capture_output=True)  # fmt: skip
    port = free_port()
    process = subprocess.Popen(
        [*as_user, str(server), "-D", str(data), "-p", str(port), "-k", str(tmp), "-c", "listen_addresses=127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    postgres = Postgres(port, process, data)
    wait_for(lambda: postgres_reachable(port), 60, "the PostgreSQL started for the test")
    return postgres


# -- Redis -----------------------------------------------------------------------------------


@dataclass
class Redis:
    port: int
    process: subprocess.Popen | None = None

    def stop(self) -> None:
        stop_started(self.process)


def _redis_pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def find_or_start_redis() -> Redis:
    if _redis_pong(6379):
        return Redis(6379)
    server = shutil.which("redis-server")
    if not server:
        raise Unavailable(
            "no Redis on localhost:6379 and no redis-server binary; install Redis (apt-get install redis)"
        )
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    redis = Redis(port, process)
    wait_for(lambda: _redis_pong(port), 30, "the Redis started for the test")
    return redis


# -- Airflow ---------------------------------------------------------------------------------


@dataclass
class AirflowDeployment:
    home: Path
    env: dict[str, str]
    api_port: int
    username: str = "admin"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)  # per process: what only it is given
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    commands: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _token: str | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def airflow(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "airflow", *args], env=self.env, capture_output=True,
                                text=True, timeout=timeout)  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args[:2])} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def create_pools(self) -> None:
        """The Graph pools of the campaign registry this Airflow runs, as compose's airflow-init makes them."""
        pools = self.home / "closrads-pools.json"
        subprocess.run([sys.executable, "-m", "closrads.airflow.pools", str(pools)], env=self.env, check=True)
        self.airflow("pools", "import", str(pools))

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> None:
        log = (self.home / f"{name}.log").open("a")
        process_env = self.env | self.secrets.get(name, {}) | (env or {})
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "airflow", *args], env=process_env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True, cwd=self.home,
        )  # fmt: skip
        self.commands[name] = args

    def kill(self, name: str) -> None:
        """SIGKILL the process and everything it started, as ``docker kill`` does to a container."""
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)

    def stop_one(self, name: str) -> None:
        """SIGTERM the process group and wait for it (SIGKILL after 30 s)."""
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def restart(self, name: str, env: dict[str, str] | None = None) -> None:
        """Start a stopped or killed process again with its command, as a restart policy does
        (``env``: settings that differ from the deployment's this time)."""
        self.start(name, *self.commands[name], env=env)

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"airflow {name} exited with {process.returncode}:\n{self.log_tail(name)}")

    def log_tail(self, name: str, chars: int = 4000) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)

    # REST API v2, authenticated like any client: a JWT from /auth/token.
    def request(self, method: str, path: str, body=None, *, auth: bool = True):
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.api_url}{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path} -> HTTP {exc.code}: {exc.read()[:1000]!r}") from None

    def token(self) -> str:
        if self._token is None:
            answer = self.request("POST", "/auth/token", {"username": self.username, "password": self.password},
                                  auth=False)  # fmt: skip
            self._token = answer["access_token"]
        return self._token


def private_airflow_settings() -> dict[str, str]:
    """What an Airflow started beside others on this machine needs of its own: free ports for the API
    server and the log servers, the API and execution-API URLs on that port, and fresh secrets."""
    api_port = free_port()
    return {
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(16),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
    }


def airflow_environment(home: Path, postgres: Postgres, database: str, redis: Redis, extra: dict[str, str]) -> dict:
    db_url = f"postgresql+psycopg2://postgres@127.0.0.1:{postgres.port}/{database}"
    queue = f"closrads-e2e-{secrets.token_hex(4)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
            "AIRFLOW__CORE__FERNET_KEY": _fernet_key(),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis.port}/{secrets.randbelow(14) + 1}",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://postgres@127.0.0.1:{postgres.port}/{database}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "4",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
            **private_airflow_settings(),
            **compose_runtime_settings(),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "CLOSRADS_E2E_QUEUE": queue,
        }
    )
    env.update(extra)
    return env


def compose_runtime_settings() -> dict[str, str]:
    """The fault-detection settings docker-compose.yaml ships (heartbeats, queued timeouts), and its
    task start-up setting (the Celery worker's pre-imports)."""
    import yaml

    env = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())["x-airflow-common"]["environment"]
    prefixes = (
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT",
        "AIRFLOW__SCHEDULER__TASK_QUEUED",
        "AIRFLOW__WORKERS__",
        "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS",  # the worker's pre-imports (task start-up)
    )
    return {key: str(value) for key, value in env.items() if key.startswith(prefixes)}


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()

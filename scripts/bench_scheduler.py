"""The ``scheduler`` mode of ``make bench``: one live run under a real scheduler with the LocalExecutor.

A private Airflow (its own PostgreSQL database when PostgreSQL answers on localhost:5432, SQLite
otherwise) runs ``api-server`` (one worker), ``scheduler`` (LocalExecutor, ``parallelism`` 8) and
``dag-processor`` as separate processes. Cron scheduling is off (``use_job_schedule``), so the only
run is the one the benchmark triggers. Measured from the trigger to the run's end:

- wall time (the run's start to its end, as the metadata database records them);
- CPU seconds of every Airflow process and everything they started (task processes included:
  a finished process's CPU is in its parent's ``children`` times), the start-up excluded;
- execution-API requests, from the API server's access log;
- the peak RSS of a task process (the children of the LocalExecutor's workers, sampled every 50 ms).
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from closrads.core.names import SPEND_TASK_ID
from scripts.local_airflow import stop_group
from scripts.native_topology import Postgres, postgres_reachable, private_airflow_settings, wait_for

ROOT = Path(__file__).resolve().parents[1]
DAG_ID = "closrads_sync"
# Airflow's own cost of a mapped task instance that does nothing (scripts/bench_dags): the yardstick.
# The yardstick DAGs (scripts/bench_dags) only this private Airflow loads.
YARDSTICK_DAG_IDS = ("bench_airflow_floor", "bench_airflow_mechanisms")
PARALLELISM = 8
COMPONENTS = {
    "api-server": ("api-server", "--workers", "1"),
    "scheduler": ("scheduler",),
    "dag-processor": ("dag-processor",),
}
WORKER_TITLE = "LocalExecutor"


@dataclass
class SchedulerStack:
    """A private Airflow: started by :meth:`start`, measured by :meth:`run`, stopped by :meth:`stop`."""

    home: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    database: str | None = None
    # what the DAG processor must have parsed before a run (a campaign registry adds its DAGs)
    dag_ids: set[str] = field(default_factory=lambda: {DAG_ID, *YARDSTICK_DAG_IDS})

    @classmethod
    def create(cls, home: Path, base_env: dict[str, str]) -> SchedulerStack:
        env = dict(base_env)
        dags = home / "dags"  # the sync, and the yardstick DAGs
        dags.mkdir(parents=True)
        (dags / "closrads_sync.py").symlink_to(ROOT / "dags" / "closrads_sync.py")
        for yardstick in YARDSTICK_DAG_IDS:
            (dags / f"{yardstick}.py").symlink_to(ROOT / "scripts" / "bench_dags" / f"{yardstick}.py")
        database = None
        if postgres_reachable(5432):
            database = f"closrads_bench_{secrets.token_hex(4)}"
            Postgres(5432).sql(f'CREATE DATABASE "{database}"')
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}"
        env.update(
            {
                **private_airflow_settings(),
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": str(PARALLELISM),
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                # the access log is how the execution-API requests are counted
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            }
        )
        return cls(home=home, env=local_airflow_task_startup() | env, database=database)

    def airflow(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "airflow", *args], env=self.env, check=True, capture_output=True)

    def create_pools(self) -> None:
        """The Graph pools of the campaign registry this Airflow runs (``CLOSRADS_CAMPAIGNS_FILE`` in its env)."""
        pools = self.home / "pools.json"
        subprocess.run([sys.executable, "-m", "closrads.airflow.pools", str(pools)], env=self.env, check=True)
        self.airflow("pools", "import", str(pools))

    def start(self) -> None:
        self.airflow("db", "migrate")
        self.create_pools()
        for name, args in COMPONENTS.items():
            log = (self.home / f"{name}.log").open("ab")
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "airflow", *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.home,
            )
        wait_for(lambda: self._dags_parsed(), 180, "the DAG processor to parse the DAGs")

    def run(self, conf: dict, dag_id: str = DAG_ID, timeout: float = 3600) -> dict:
        """Trigger one run and measure it (see the module docstring)."""
        return self.run_together([dag_id], conf, timeout)

    def run_together(self, dag_ids: list[str], conf: dict, timeout: float = 3600) -> dict:
        """Trigger one run of each DAG at once (every campaign of a registry, say) and measure them
        together: wall time from the first run's start to the last run's end."""
        access_log = self.home / "api-server.log"
        log_offset = access_log.stat().st_size
        before = self._cpu_by_component()
        peak = PeakTaskRss(self.processes["scheduler"].pid)
        peak.start()
        run_id = f"bench__{secrets.token_hex(4)}"
        # One process triggers them all, back to back (what `airflow dags trigger` does, without an
        # interpreter start per DAG): the scheduler sees them together.
        subprocess.run(
            [sys.executable, "-c", _TRIGGER, run_id, json.dumps(conf), *dag_ids],
            env=self.env,
            check=True,
            capture_output=True,
        )
        for dag_id in dag_ids:
            state = wait_for(lambda d=dag_id: self._finished_state(d, run_id), timeout, f"run {run_id} to finish", 0.5)
            if state != "success":  # figures of a run that failed would measure something else
                logs = f"{self.env['AIRFLOW_HOME']}/logs"
                raise RuntimeError(f"run {run_id} of {dag_id} ended {state}; its task logs are under {logs}")
        ((wall,),) = self._query(
            "SELECT EXTRACT(EPOCH FROM max(end_date) - min(start_date)) FROM dag_run WHERE run_id = :run_id"
            if self.database
            else "SELECT (julianday(max(end_date)) - julianday(min(start_date))) * 86400 FROM dag_run "
            "WHERE run_id = :run_id",
            run_id=run_id,
        )
        ((spend_task,),) = self._query(
            "SELECT max(duration) FROM task_instance WHERE run_id = :run_id AND task_id = :task_id",
            run_id=run_id,
            task_id=SPEND_TASK_ID,
        )
        after = self._cpu_by_component()
        by_component = {name: round(after[name] - before.get(name, 0.0), 1) for name in after}
        peak.stop()
        with access_log.open("rb") as log:
            log.seek(log_offset)
            requests = [line for line in log if b"[http.access]" in line and b" path=/execution/" in line]
        (self.home / f"{run_id}-execution-api.log").write_bytes(b"".join(requests))
        return {
            "wall": float(wall),
            "cpu": sum(by_component.values()),
            "cpu_by_component": by_component,
            "api_requests": len(requests),
            "max_rss_kb": peak.kb,
            "spend_task_s": spend_task,  # the slowest campaign's measure_spend (None: the DAG has none)
            "state": "success",
        }

    def stop(self) -> None:
        """Stop every component with all it started (``make airflow``'s way: a worker still busy when its
        scheduler stops can outlive it, so what is left of each process group is killed)."""
        for process in self.processes.values():
            stop_group(process.pid)
        if self.database:
            with contextlib.suppress(Exception):
                Postgres(5432).sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def _cpu_by_component(self) -> dict[str, float]:
        """CPU seconds so far of each component and everything it started (the scheduler's: its
        LocalExecutor workers and their task processes)."""
        totals = {}
        for name, process in self.processes.items():
            totals[name] = 0.0
            with contextlib.suppress(psutil.Error):
                root = psutil.Process(process.pid)
                for member in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        times = member.cpu_times()
                        totals[name] += times.user + times.system + times.children_user + times.children_system
        return totals

    def _query(self, sql: str, **params):
        import sqlalchemy

        engine = _engine(self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text(sql), params).fetchall()

    def _dags_parsed(self) -> bool:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"airflow {name} exited; see {self.home / (name + '.log')}")
        with contextlib.suppress(Exception):
            rows = self._query("SELECT DISTINCT dag_id FROM serialized_dag")
            return self.dag_ids <= {row[0] for row in rows}
        return False

    def _finished_state(self, dag_id: str, run_id: str) -> str | None:
        rows = self._query(
            "SELECT state FROM dag_run WHERE dag_id = :dag_id AND run_id = :run_id", dag_id=dag_id, run_id=run_id
        )
        state = rows[0][0] if rows else None
        return state if state in ("success", "failed") else None


_TRIGGER = """
import json, sys
from airflow.api.common.trigger_dag import trigger_dag
from airflow.utils.types import DagRunTriggeredByType
for dag_id in sys.argv[3:]:
    trigger_dag(dag_id, triggered_by=DagRunTriggeredByType.CLI, run_id=sys.argv[1], conf=json.loads(sys.argv[2]))
"""


def local_airflow_task_startup() -> dict[str, str]:
    """The task start-up settings the local Airflow ships (the Makefile's ``AIRFLOW__SCHEDULER__MP_*``):
    measured as shipped; ``--set AIRFLOW__SCHEDULER__MP_START_METHOD=fork`` measures without them."""
    exports = re.findall(r"^export (AIRFLOW__SCHEDULER__MP_\w+) := (.+)$", (ROOT / "Makefile").read_text(), re.M)
    return {name: value.strip() for name, value in exports}


class PeakTaskRss(threading.Thread):
    """The largest RSS seen of a task process: a child of one of the LocalExecutor's worker processes
    (children of the scheduler, or of its forkserver when the scheduler uses one)."""

    def __init__(self, scheduler_pid: int) -> None:
        super().__init__(daemon=True)
        self.scheduler_pid, self.kb, self._stop_event = scheduler_pid, 0, threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.05):
            with contextlib.suppress(psutil.Error):
                for worker in psutil.Process(self.scheduler_pid).children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        if WORKER_TITLE not in " ".join(worker.cmdline()):
                            continue
                        for task in worker.children():
                            with contextlib.suppress(psutil.Error):
                                self.kb = max(self.kb, task.memory_info().rss // 1024)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


_ENGINES: dict = {}


def _engine(url: str):
    import sqlalchemy

    if url not in _ENGINES:
        _ENGINES[url] = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    return _ENGINES[url]

"""Print what parsing the CLOSRADS DAG files costs beyond Airflow itself, measured fairly.

    .venv/bin/python scripts/bench_dag_parse.py [runs]

Each sample is a fresh interpreter that first loads what any DAG of this shape pays for anyway
(``airflow.sdk`` and the SDK names and operators used, which Airflow imports lazily on first use),
then times one DAG file. The same is done for a trivial DAG file of the same shape (params, a few
TaskFlow tasks, an approval operator, a mapped task with a label) that imports nothing of CLOSRADS.
The difference is the project's own parse cost: its package imports and module-level work. No
tracemalloc (it slows every allocation down and inflates the time it measures).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

DAGS = Path(__file__).resolve().parents[1] / "dags"

TRIVIAL_DAG = textwrap.dedent(
    """
    import pendulum
    from airflow.providers.standard.operators.hitl import ApprovalOperator
    from airflow.sdk import Param, TriggerRule, dag, task

    @task
    def first():
        return {}

    @task
    def listing(value):
        return []

    @task(map_index_template="{{ label }}")
    def each(item, value):
        return None

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def last(value, items):
        return None

    @dag(schedule="0 13 * * *", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False,
         params={"dry_run": Param(True, type="boolean"), "require_approval": Param(False, type="boolean")})
    def trivial():
        value = first()
        items = listing(value)
        gate = ApprovalOperator(task_id="gate", subject="ok?")
        items >> gate
        done = each.partial(value=value).expand(item=items)
        gate >> done
        last(value, done)

    trivial()
    """
)

PROBE = """
import importlib.util, sys, time
import airflow.sdk
from airflow.sdk import Param, TriggerRule, Variable, dag, task, get_current_context  # lazy SDK names
from airflow.providers.standard.operators.hitl import ApprovalOperator
import pendulum
before = set(sys.modules)
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("probe_dag", {path!r})
spec.loader.exec_module(importlib.util.module_from_spec(spec))
elapsed = time.perf_counter() - start
print(elapsed, len(set(sys.modules) - before), "requests" in sys.modules, "facebook_business" in sys.modules)
"""


def sample(path: Path, runs: int) -> tuple[list[float], int, str, str]:
    times, modules, has_requests, has_fb = [], 0, "", ""
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(path=str(path))], capture_output=True, text=True, check=True
        ).stdout.split()
        times.append(float(out[0]) * 1000)
        modules, has_requests, has_fb = int(out[1]), out[2], out[3]
    return times, modules, has_requests, has_fb


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    with tempfile.TemporaryDirectory() as tmp:
        trivial = Path(tmp) / "trivial_dag.py"
        trivial.write_text(TRIVIAL_DAG)
        baseline, base_modules, _, _ = sample(trivial, runs)
    print(f"Parse time over {runs} fresh interpreters each, Airflow and the SDK names already loaded:")
    print(f"  trivial DAG of the same shape: median {statistics.median(baseline):.1f} ms ({base_modules} new modules)")
    for dag_file in sorted(DAGS.glob("closrads_*.py")):
        times, modules, has_requests, has_fb = sample(dag_file, runs)
        delta = statistics.median(times) - statistics.median(baseline)
        print(
            f"  {dag_file.name}: median {statistics.median(times):.1f} ms, {delta:+.1f} ms against the trivial DAG "
            f"({modules} new modules; requests imported: {has_requests}, facebook_business imported: {has_fb})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Print what parsing the CLOSRADS DAG files costs beyond Airflow itself, measured fairly.

    .venv/bin/python scripts/bench_dag_parse.py [runs]
    .venv/bin/python -m scripts.bench_dag_parse --campaigns 30 [runs]

Each sample is a fresh interpreter that first loads what any DAG of this shape pays for anyway
(``airflow.sdk`` and the SDK names and operators used, which Airflow imports lazily on first use),
then times one DAG file. The same is done for a trivial DAG file of the same shape (params, a few
TaskFlow tasks, an approval operator, a mapped task with a label) that imports nothing of CLOSRADS.
The difference is the project's own parse cost: its package imports and module-level work. No
tracemalloc (it slows every allocation down and inflates the time it measures).

``--campaigns N`` measures the whole DAG folder (both files) without a campaign registry (the default
campaign: two DAGs) and with a registry of N campaigns (2 N DAGs), and prints the cost of each extra
campaign; beside it, what Airflow alone takes for N DAGs of the sync's shape (the trivial DAG, N times).
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
         params={"dry_run": Param(True, type="boolean"), "require_approval": Param(False, type="boolean"),
                 "ignore_learning_phase": Param(False, type="boolean")})
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

# The rollback's shape: four params, a first task, a mapped task with a label, a last task.
TRIVIAL_ROLLBACK_DAG = textwrap.dedent(
    """
    import pendulum
    from airflow.sdk import Param, TriggerRule, dag, task

    @task
    def plan():
        return []

    @task(map_index_template="{{ label }}")
    def undo(item, mode):
        return None

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def done(items, outcomes):
        return None

    @dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False,
         params={"run_id": Param("", type="string", minLength=1), "dry_run": Param(True, type="boolean"),
                 "adset_ids": Param([], type="array", items={"type": "string"}),
                 "stop_live_schedule": Param(True, type="boolean")})
    def trivial_rollback():
        items = plan()
        outcomes = undo.partial(mode=items).expand(item=items)
        done(items, outcomes)

    trivial_rollback()
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


def sample(path: Path, runs: int, env: dict[str, str] | None = None) -> tuple[list[float], int, str, str]:
    times, modules, has_requests, has_fb = [], 0, "", ""
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(path=str(path))], capture_output=True, text=True, check=True, env=env
        ).stdout.split()
        times.append(float(out[0]) * 1000)
        modules, has_requests, has_fb = int(out[1]), out[2], out[3]
    return times, modules, has_requests, has_fb


FOLDER_PROBE = """
import importlib.util, sys, time
import airflow.sdk
from airflow.sdk import Param, TriggerRule, Variable, dag, task, get_current_context  # lazy SDK names
from airflow.providers.standard.operators.hitl import ApprovalOperator
import pendulum
start = time.perf_counter()
for number, path in enumerate({paths!r}):
    spec = importlib.util.spec_from_file_location(f"probe_dag_{{number}}", path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(time.perf_counter() - start)
"""


def sample_folder(paths: list[Path], runs: int, env: dict[str, str]) -> float:
    """Median ms to parse these DAG files together in a fresh interpreter."""
    code = FOLDER_PROBE.format(paths=[str(p) for p in paths])
    times = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout)
        for _ in range(runs)
    ]
    return statistics.median(times) * 1000


def _renamed(source: str, number: int) -> str:
    """The trivial DAGs again under other names (DAG ids come from the function names)."""
    for name in ("trivial_rollback", "trivial"):
        source = source.replace(f"def {name}(", f"def {name}_{number}(").replace(f"{name}()", f"{name}_{number}()")
    return source


def campaigns(count: int, runs: int) -> int:
    """The DAG folder without a registry and with ``count`` campaigns, and Airflow's own cost alongside."""
    import os

    import yaml

    from sandbox.scenario import sandbox_campaigns

    files = sorted(DAGS.glob("closrads_*.py"))
    env = {k: v for k, v in os.environ.items() if k != "CLOSRADS_CAMPAIGNS_FILE"}
    with tempfile.TemporaryDirectory() as tmp:
        registry = Path(tmp) / "campaigns.yaml"
        entries = [campaign.registry_entry() for campaign in sandbox_campaigns(count)]
        registry.write_text(yaml.safe_dump({"campaigns": entries}))
        single = sample_folder(files, runs, env | {"CLOSRADS_CAMPAIGNS_FILE": "none"})
        many = sample_folder(files, runs, env | {"CLOSRADS_CAMPAIGNS_FILE": str(registry)})
        trivial_one, trivial_many = Path(tmp) / "one.py", Path(tmp) / "many.py"
        trivial_one.write_text(TRIVIAL_DAG + TRIVIAL_ROLLBACK_DAG)
        trivial_many.write_text("\n".join(_renamed(TRIVIAL_DAG + TRIVIAL_ROLLBACK_DAG, i) for i in range(count)))
        floor_one, floor_many = sample_folder([trivial_one], runs, env), sample_folder([trivial_many], runs, env)
    per_campaign = (many - single) / (count - 1)
    print(f"DAG folder parse time, median of {runs} fresh interpreters (Airflow and the SDK names already loaded):")
    print(f"  no registry (closrads_sync + closrads_rollback): {single:.1f} ms")
    print(f"  registry of {count} campaigns ({2 * count} DAGs): {many:.1f} ms")
    print(f"  each extra campaign (a sync and a rollback DAG): {per_campaign:.2f} ms")
    print(
        f"  Airflow alone, trivial DAGs of the same two shapes: 1 pair {floor_one:.1f} ms, {count} pairs "
        f"{floor_many:.1f} ms, {(floor_many - floor_one) / (count - 1):.2f} ms each extra pair"
    )
    return 0


def main() -> int:
    if sys.argv[1:2] == ["--campaigns"]:
        return campaigns(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 5)
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    import os

    with tempfile.TemporaryDirectory() as tmp:
        trivial = Path(tmp) / "trivial_dag.py"
        trivial.write_text(TRIVIAL_DAG)
        # Byte-compiled (make install compiles the package), and not: every module the DAG file imports is
        # compiled from source on every parse, as where PYTHONDONTWRITEBYTECODE is set and nothing was
        # compiled at install. The empty cache prefix hides every .pyc, Airflow's too, but Airflow and the
        # SDK are loaded before the clock starts, so only what the DAG file itself imports is compiled.
        conditions = {
            "byte-compiled": None,
            "from source (no .pyc)": os.environ
            | {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(Path(tmp) / "no-pyc")},
        }
        print(f"Parse time over {runs} fresh interpreters each, Airflow and the SDK names already loaded:")
        for condition, env in conditions.items():
            baseline, base_modules, _, _ = sample(trivial, runs, env)
            print(
                f"  {condition}: trivial DAG of the same shape: median {statistics.median(baseline):.1f} ms "
                f"({base_modules} new modules)"
            )
            for dag_file in sorted(DAGS.glob("closrads_*.py")):
                times, modules, has_requests, has_fb = sample(dag_file, runs, env)
                delta = statistics.median(times) - statistics.median(baseline)
                print(
                    f"    {dag_file.name}: median {statistics.median(times):.1f} ms, {delta:+.1f} ms against the "
                    f"trivial DAG ({modules} new modules; requests imported: {has_requests}, facebook_business "
                    f"imported: {has_fb})"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())

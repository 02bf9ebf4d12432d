"""``make bench`` keeps working: its plain and dags-test modes run end to end against a generated
sandbox campaign.

(The figures themselves are not tested: they are for people to read. The DAG modes take minutes.)
"""

import json
import subprocess
import sys

from tests.helpers import ROOT


def test_the_benchmark_prints_its_table_with_the_external_traffic_at_the_minimum():
    result = subprocess.run(
        [sys.executable, "-m", "scripts.bench", "--sizes", "3", "--modes", "plain,dags-test", "--latency-ms", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    header, _, *rows = result.stdout.strip().splitlines()[-4:]
    names = [c.strip() for c in header.split("|")]
    plain, dag = (dict(zip(names, [c.strip() for c in row.split("|")], strict=True)) for row in rows)
    for cells in (plain, dag):
        assert cells["N"] == "3"
        assert cells["CLOSRTECH req (min)"] == "1 (1)"
        assert cells["Graph req (min)"] == "7 (7)"  # one listing page, then a read and a write per ad set
        assert cells["Graph writes"] == "3"
    assert plain["mode"] == "plain" and plain["Insights req"] == "0" and plain["spend task s"] == "-"
    # the DAG measures spend: the ad account, then one Insights page; and how long that task took
    assert dag["mode"] == "dags-test" and dag["Insights req"] == "2" and float(dag["spend task s"]) > 0


def test_the_parse_benchmark_compares_a_registry_of_campaigns_with_the_single_campaign():
    result = subprocess.run(
        [sys.executable, "-m", "scripts.bench_dag_parse", "--campaigns", "3", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[1].startswith("  no registry (closrads_sync + closrads_rollback): ")
    assert lines[2].startswith("  registry of 3 campaigns (6 DAGs): ")
    assert lines[3].startswith("  each extra campaign (a sync and a rollback DAG): ")
    assert "Airflow alone, trivial DAGs of the same two shapes" in lines[4]


def test_the_yardstick_dags_load_with_the_shape_the_sync_is_measured_against():
    code = (
        "import json\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "bag = DagBag(dag_folder='scripts/bench_dags')\n"
        "print(json.dumps({'errors': list(bag.import_errors), 'dags': {d: sorted(t.task_id for t in dag.tasks) "
        "for d, dag in bag.dags.items()}, 'params': sorted(bag.dags['bench_airflow_mechanisms'].params)}))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["errors"] == []
    assert loaded["dags"] == {
        "bench_airflow_floor": ["each_item", "list_items"],
        "bench_airflow_mechanisms": ["each_item", "list_items", "report", "write_order"],
    }
    assert loaded["params"] == ["dry_run", "force", "require_approval"]  # the sync's trigger form, in size

"""The DAG contract (docs/design.md, "The DAG"): names, order, mapping, trigger rule, schedule, params."""

import json
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == ["closrads_rollback", "closrads_sync"]
    return bag


@pytest.fixture(scope="module")
def dag(bag):
    return bag.dags["closrads_sync"]


def test_the_rollback_is_manual_dry_by_default_and_audited(bag):
    rollback = bag.dags["closrads_rollback"]
    assert type(rollback.timetable).__name__ == "NullTimetable"  # manual only (schedule=None)
    assert json.loads(json.dumps(rollback.params.dump())) == {
        "run_id": None,  # no default: the form asks for it
        "dry_run": True,
        "adset_ids": [],
        "stop_live_schedule": True,
    }
    assert rollback.params.get_param("run_id").schema["minLength"] == 1  # the trigger form requires it
    undo = rollback.get_task("rollback_adset")
    assert undo.map_index_template == "{{ adset_label }}" and undo.pool == "closrads_graph"
    assert [outlet.name for outlet in undo.outlets] == ["closrads_targeting_changes"]
    assert rollback.get_task("report_rollback").trigger_rule == "all_done"
    for task in rollback.tasks:
        assert task.retries == 2 and task.retry_delay == timedelta(seconds=20), task.task_id
        assert task.retry_exponential_backoff == 2.0, task.task_id


def test_task_ids_and_order(dag):
    assert sorted(dag.task_ids) == sorted(
        ["fetch_demand", "map_regions", "list_adsets", "approve_changes", "update_adset", "measure_spend", "report"]
    )
    downstream = {task.task_id: sorted(task.downstream_task_ids) for task in dag.tasks}
    assert downstream == {
        "fetch_demand": ["approve_changes", "map_regions", "measure_spend", "report"],
        "map_regions": ["approve_changes", "list_adsets", "measure_spend", "report"],
        "list_adsets": ["approve_changes", "report", "update_adset"],
        # report depends on approve_changes through update_adset only: Airflow's ApprovalOperator
        # skips its direct downstream tasks on Reject, and the report must still run then
        "approve_changes": ["update_adset"],
        "update_adset": ["report"],
        # beside the listing: the spend is read for the report, never upstream of a write
        "measure_spend": ["report"],
        "report": [],
    }


def test_approve_changes_is_airflows_approval_operator_fed_by_the_plan_and_the_mode(dag):
    from airflow.providers.standard.operators.hitl import ApprovalOperator

    approve = dag.get_task("approve_changes")
    assert isinstance(approve, ApprovalOperator)
    assert approve.options == ["Approve", "Reject"]
    assert (approve.planned.operator.task_id, approve.planned.key) == ("list_adsets", "return_value")
    assert (approve.mode.operator.task_id, approve.mode.key) == ("fetch_demand", "run_mode")
    assert (approve.mapping.operator.task_id, approve.mapping.key) == ("map_regions", "return_value")
    assert (approve.demand.operator.task_id, approve.demand.key) == ("fetch_demand", "return_value")
    assert approve.notifiers  # Slack hears that a run waits


def test_update_adset_is_mapped_over_the_listing_and_labelled(dag):
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    update = dag.get_task("update_adset")
    assert isinstance(update, MappedOperator)
    assert update.map_index_template == "{{ adset_label }}"
    expanded = update.op_kwargs_expand_input.value
    assert list(expanded) == ["adset"]
    assert expanded["adset"].operator.task_id == "list_adsets"
    # every ad set gets the run's one write order (its mode, regions, demand time and what the change
    # guard allowed), and nothing else: one read per ad set
    assert {name: (arg.operator.task_id, arg.key) for name, arg in update.partial_kwargs["op_kwargs"].items()} == {
        "order": ("approve_changes", "write_order")
    }


def test_report_receives_what_the_tasks_produced(dag):
    arguments = dag.get_task("report").op_kwargs
    assert {name: (arg.operator.task_id, arg.key) for name, arg in arguments.items()} == {
        "demand": ("fetch_demand", "return_value"),
        "mapping": ("map_regions", "return_value"),
        "adsets": ("list_adsets", "return_value"),
        "outcomes": ("update_adset", "adset_outcome"),
        "spend": ("measure_spend", "return_value"),
    }


def test_report_always_runs(dag):
    assert dag.get_task("report").trigger_rule == "all_done"
    for task_id in ("fetch_demand", "map_regions", "list_adsets", "approve_changes", "update_adset"):
        assert dag.get_task(task_id).trigger_rule == "all_success"


def test_schedule_and_concurrency(dag):
    assert dag.timetable.expression == "0 13 * * *"  # once a day at a fixed UTC time
    assert str(dag.timetable.timezone) == "UTC"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.dagrun_timeout == timedelta(hours=2)
    # No DeadlineAlert: in Airflow 3.3.2 one makes `airflow dags test` crash when a run succeeds
    # (DagRun.update_state looks the SDK's alert objects up as database ids).
    assert not dag.deadline
    assert dag.doc_md and "closrads_dry_run" in dag.doc_md
    for task in dag.tasks:
        # A lost worker or a failed heartbeat is retried by Airflow; refusals fail with AirflowFailException.
        assert task.retries == 2, task.task_id
        assert task.retry_delay == timedelta(seconds=20), task.task_id
        assert task.retry_exponential_backoff == 2.0, task.task_id  # 20 s, then 40 s
    # the spend step holds back only the report, and never for long (its requests have their own bounds)
    assert dag.get_task("measure_spend").execution_timeout == timedelta(minutes=3)


def test_params_dry_run_by_default_approval_and_ignoring_the_learning_phase_on_request(dag):
    param = dag.params.get_param("dry_run")
    assert param.value is True
    assert param.schema["type"] == "boolean"
    assert dag.params.get_param("require_approval").schema["type"] == "boolean"
    assert dag.params.get_param("ignore_learning_phase").schema["type"] == "boolean"
    expected = '{"dry_run": true, "require_approval": false, "ignore_learning_phase": false}'
    assert json.dumps(dag.params.dump()) == expected


# What only a running task needs: the client libraries, the hooks, and what the tasks do (their rules,
# report and messages). Parsing a DAG file, which Airflow repeats all day, must load none of it.
RUN_TIME_ONLY = [
    "requests",
    "facebook_business",
    "closrads.airflow.sync.run",
    "closrads.airflow.sync.approval",
    "closrads.airflow.rollback.run",
    "closrads.airflow.hooks.facebook_ads",
    "closrads.airflow.hooks.closrtech",
    "closrads.core.report",
    "closrads.core.messages",
    "closrads.core.change_guard",
    "closrads.core.targeting",
]


@pytest.mark.parametrize("dag_file", ["closrads_sync.py", "closrads_rollback.py"])
def test_parsing_the_dag_file_imports_only_the_task_declarations(dag_file):
    code = textwrap.dedent(
        f"""
        import importlib.util, json, sys
        import airflow.sdk  # Airflow itself is not the DAG file's cost
        spec = importlib.util.spec_from_file_location("closrads_dag", {str(ROOT / "dags" / dag_file)!r})
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
        roots = ("closrads", "requests", "facebook_business")
        print(json.dumps([name for name in sys.modules if name.split(".")[0] in roots]))
        """
    )
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert "closrads.airflow.sync.tasks" in loaded and "closrads.airflow.rollback.tasks" in loaded  # the declarations
    assert [name for name in RUN_TIME_ONLY if name in loaded] == []


def test_failure_callbacks_are_plain_functions(dag):
    from closrads.airflow.alerts import alert_run_failure, alert_task_failure, alert_task_retry

    # Plain functions, not notifier objects: DAG-level notifiers do not run under `airflow dags test`.
    assert dag.on_failure_callback in (alert_run_failure, [alert_run_failure])
    for task in dag.tasks:
        assert task.on_failure_callback in (alert_task_failure, [alert_task_failure]), task.task_id
        assert task.on_retry_callback in (alert_task_retry, [alert_task_retry]), task.task_id


def test_no_task_declares_an_asset_alias_inlet(bag):
    """Airflow 3.3.2 resolves a task's alias inlets whenever it builds the task's context, DAG-level
    callbacks included (their context is the run's last task's), and the DAG processor cannot answer that
    request: a failed run's callback hung until the processor was killed, and the lost-task alerts queued
    with it never went out. The audit trail is read through ``closrads.airflow.audit_trail.campaign_events``."""
    from airflow.sdk import AssetAlias

    for dag in bag.dags.values():
        for task in dag.tasks:
            assert not [inlet for inlet in task.inlets if isinstance(inlet, AssetAlias)], (dag.dag_id, task.task_id)

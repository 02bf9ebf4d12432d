"""What a running task is: its campaign (from its own DAG id), the hooks of that campaign's Connections,
its typed params, and the run's mode, decided by the first task from the real run type, param and
Variable (Airflow's own objects).

``dag.test()`` always creates manual runs, so scheduled-run resolution is checked here with
Airflow's run types and Variable backend; the deployment test covers a real scheduled run.
"""

from types import SimpleNamespace

import pytest
from airflow.utils.types import DagRunType

from closrads.airflow.task_run import TaskRun, campaign_for_dag, resolve_mode
from closrads.core.campaigns import DEFAULT_CAMPAIGN, RegistryError


def context(run_type, dry_run_param=True, dag_id="closrads_sync"):
    return {
        "dag": SimpleNamespace(dag_id=dag_id),
        "dag_run": SimpleNamespace(run_type=run_type),
        "params": {"dry_run": dry_run_param},
    }


def test_scheduled_run_without_the_variable_is_dry(monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_CLOSRADS_DRY_RUN", raising=False)
    mode = resolve_mode(context(DagRunType.SCHEDULED, dry_run_param=False))
    assert mode.describe() == "DRY RUN: scheduled run, Variable closrads_dry_run is not set"


@pytest.mark.parametrize(("value", "dry"), [("false", False), ("OFF", False), ("true", True), ("banana", True)])
def test_scheduled_run_follows_the_variable(monkeypatch, value, dry):
    monkeypatch.setenv("AIRFLOW_VAR_CLOSRADS_DRY_RUN", value)
    assert resolve_mode(context(DagRunType.SCHEDULED, dry_run_param=not dry)).dry_run is dry


def test_scheduled_run_type_as_plain_text(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_CLOSRADS_DRY_RUN", "false")
    assert resolve_mode(context("scheduled", dry_run_param=True)).dry_run is False


def test_manual_run_ignores_the_variable(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_CLOSRADS_DRY_RUN", "false")
    assert resolve_mode(context(DagRunType.MANUAL, dry_run_param=True)).dry_run is True


def test_a_variable_read_that_fails_keeps_the_run_dry(monkeypatch):
    def unreachable(*args, **kwargs):
        raise ConnectionError("API server away")

    monkeypatch.setattr("closrads.airflow.task_run.Variable.get", unreachable)
    mode = resolve_mode(context(DagRunType.SCHEDULED, dry_run_param=False))
    assert mode.dry_run and mode.invalid
    assert "could not be read (ConnectionError)" in mode.describe()


def test_a_campaigns_scheduled_run_follows_its_own_variable(monkeypatch, campaign_registry):
    campaign_registry(["north", "south"])
    monkeypatch.setenv("AIRFLOW_VAR_CLOSRADS_DRY_RUN", "false")  # the default campaign's: not theirs
    monkeypatch.setenv("AIRFLOW_VAR_CLOSRADS_DRY_RUN__NORTH", "false")
    north = resolve_mode(context(DagRunType.SCHEDULED, dag_id="closrads_sync__north"))
    south = resolve_mode(context(DagRunType.SCHEDULED, dag_id="closrads_sync__south"))
    assert (north.dry_run, south.dry_run) == (False, True)
    assert south.describe() == "DRY RUN: scheduled run, Variable closrads_dry_run__south is not set"


def test_a_dag_the_registry_no_longer_has_stays_dry(campaign_registry):
    campaign_registry(["north"])
    mode = resolve_mode(context(DagRunType.SCHEDULED, dry_run_param=False, dag_id="closrads_sync__gone"))
    assert mode.dry_run and mode.invalid
    assert "closrads_sync__gone" in mode.describe()


def task_context(dag_id: str, **extra) -> dict:
    return {"dag": SimpleNamespace(dag_id=dag_id), "run_id": "manual__1", "ti": SimpleNamespace(try_number=2)} | extra


def test_a_task_of_a_campaigns_dag_gets_that_campaign_and_its_connections(campaign_registry):
    campaign_registry(["north", "south"])
    for dag_id in ("closrads_sync__south", "closrads_rollback__south"):
        assert TaskRun.of(task_context(dag_id)).campaign.slug == "south"
    callback = {"ti": SimpleNamespace(dag_id="closrads_sync__south"), "run_id": "manual__1"}  # no DAG in a callback
    south = TaskRun.of(callback)
    hook = south.facebook_hook()
    assert (hook.facebook_conn_id, hook.ad_account_id) == ("facebook_ads_south", "act_9002")
    assert south.closrtech_hook().closrtech_conn_id == "closrtech_south"


def test_without_a_registry_every_task_is_the_default_campaigns():
    run = TaskRun.of(task_context("closrads_sync"))
    assert run.campaign == DEFAULT_CAMPAIGN and (run.dag_id, run.run_id, run.try_number) == (
        "closrads_sync",
        "manual__1",
        2,
    )
    hook = run.facebook_hook()
    assert (hook.facebook_conn_id, hook.ad_account_id) == ("facebook_ads_default", None)  # the Connection's


def test_a_dag_of_no_campaign_is_named(campaign_registry):
    campaign_registry(["north"])
    with pytest.raises(RegistryError, match="has a DAG 'closrads_sync'"):
        campaign_for_dag("closrads_sync")


def test_typed_boolean_params_are_read_as_airflow_validated_them():
    run = TaskRun.of(task_context("closrads_sync", params={"ignore_learning_phase": True, "require_approval": False}))
    assert run.flag("ignore_learning_phase") is True
    assert run.flag("require_approval") is False
    assert run.flag("not_a_param") is False

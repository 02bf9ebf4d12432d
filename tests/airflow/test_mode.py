"""How the first task decides the run's mode from the real run type, param and Variable (Airflow's own objects).

``dag.test()`` always creates manual runs, so scheduled-run resolution is checked here with
Airflow's run types and Variable backend; the deployment test covers a real scheduled run.
"""

from types import SimpleNamespace

import pytest
from airflow.utils.types import DagRunType

from closrads.airflow.mode import resolve_mode


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

    monkeypatch.setattr("closrads.airflow.mode.Variable.get", unreachable)
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

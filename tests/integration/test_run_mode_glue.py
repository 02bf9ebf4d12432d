"""How a task decides its mode from the real run type, param and Variable (Airflow's own objects).

``dag.test()`` always creates manual runs, so scheduled-run resolution is checked here with
Airflow's run types and Variable backend; the deployment test covers a real scheduled run.
"""

from types import SimpleNamespace

import pytest
from airflow.utils.types import DagRunType

from closrads.steps import run_mode

pytestmark = pytest.mark.integration


def context(run_type, dry_run_param=True):
    return {"dag_run": SimpleNamespace(run_type=run_type), "params": {"dry_run": dry_run_param}}


def test_scheduled_run_without_the_variable_is_dry(monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_CLOSRADS_DRY_RUN", raising=False)
    mode = run_mode(context(DagRunType.SCHEDULED, dry_run_param=False))
    assert mode.describe() == "DRY RUN: scheduled run, Variable closrads_dry_run is not set"


@pytest.mark.parametrize(("value", "dry"), [("false", False), ("OFF", False), ("true", True), ("banana", True)])
def test_scheduled_run_follows_the_variable(monkeypatch, value, dry):
    monkeypatch.setenv("AIRFLOW_VAR_CLOSRADS_DRY_RUN", value)
    assert run_mode(context(DagRunType.SCHEDULED, dry_run_param=not dry)).dry_run is dry


def test_manual_run_ignores_the_variable(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_CLOSRADS_DRY_RUN", "false")
    assert run_mode(context(DagRunType.MANUAL, dry_run_param=True)).dry_run is True

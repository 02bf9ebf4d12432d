"""Missing or incomplete Connections fail the first task that needs them, before any request."""

import pytest

pytestmark = pytest.mark.integration


def test_missing_closrtech_connection(sandbox, run_dag):
    sandbox.set_connection("closrtech_default", None)
    result = run_dag({"dry_run": False})
    assert result.state == "failed"
    assert "Airflow Connection 'closrtech_default' is not defined" in result.step_error("fetch_demand")
    assert sandbox.requests("closrtech") == [] and sandbox.requests("graph") == []


@pytest.mark.parametrize(
    ("conn_id", "field", "task", "message"),
    [
        ("closrtech_default", "password", "fetch_demand", "has no password (the CLOSRTECH account password)"),
        ("closrtech_default", "login", "fetch_demand", "has no login (the CLOSRTECH account email)"),
        ("facebook_ads_default", "password", "list_adsets", "has no password (the System User access token)"),
    ],
)
def test_missing_field_is_named(sandbox, run_dag, conn_id, field, task, message):
    sandbox.set_connection(conn_id, {k: v for k, v in sandbox.connections[conn_id].items() if k != field})
    result = run_dag({"dry_run": False})
    assert result.state == "failed"
    assert f"Airflow Connection '{conn_id}' {message}" in result.step_error(task)
    assert sandbox.graph_writes() == []


def test_missing_campaign_id_extra_is_named(sandbox, run_dag):
    conn = sandbox.connections["facebook_ads_default"]
    extra = {k: v for k, v in conn["extra"].items() if k != "campaign_id"}
    sandbox.set_connection("facebook_ads_default", conn | {"extra": extra})
    result = run_dag({"dry_run": False})
    assert 'has no extra "campaign_id" (the Facebook campaign id)' in result.step_error("list_adsets")
    assert sandbox.requests("graph") == []

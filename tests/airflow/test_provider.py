"""CLOSRADS as an Airflow provider: Airflow lists its two Connection types, its form shows the hooks'
labels, and ``airflow connections test`` runs the hooks' own test against the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from closrads.airflow.provider import CLOSRTECH_CONN_TYPE, FACEBOOK_ADS_CONN_TYPE, get_provider_info
from tests.helpers import assert_no_secret

TYPES = {CLOSRTECH_CONN_TYPE: "CLOSRTECH", FACEBOOK_ADS_CONN_TYPE: "Facebook Ads (CLOSRADS)"}


def test_the_installed_package_declares_a_provider_airflow_accepts():
    from airflow.providers_manager import ProvidersManager

    (entry,) = [e for e in entry_points(group="apache_airflow_provider") if e.dist.name == "closrads"]
    assert entry.load() is get_provider_info
    ProvidersManager()._provider_schema_validator.validate(get_provider_info())  # what Airflow checks at load


def test_every_airflow_process_lists_both_connection_types_with_the_hooks():
    code = (
        "import json\n"
        "from airflow.providers_manager import ProvidersManager\n"
        "pm = ProvidersManager()\n"
        f"hooks = {{t: pm.hooks[t] for t in {sorted(TYPES)!r}}}\n"
        "print(json.dumps({t: [h.hook_name, h.hook_class_name, h.package_name] for t, h in hooks.items()}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    listed = json.loads(result.stdout.strip().splitlines()[-1])
    assert listed == {
        CLOSRTECH_CONN_TYPE: ["CLOSRTECH", "closrads.airflow.hooks.closrtech.ClosrtechHook", "closrads"],
        FACEBOOK_ADS_CONN_TYPE: [
            "Facebook Ads (CLOSRADS)",
            "closrads.airflow.hooks.facebook_ads.FacebookAdsHook",
            "closrads",
        ],
    }


def test_the_connection_forms_metadata_serves_both_types_with_their_labels(airflow_api):
    # What the UI's Connection form reads (Airflow 3.3 serves it from its UI API; /api/v2 has no hook_meta).
    answer = airflow_api.get("/ui/connections/hook_meta")
    assert answer.status_code == 200
    forms = {hook["connection_type"]: hook for hook in answer.json() if hook["connection_type"] in TYPES}
    assert {conn_type: form["hook_name"] for conn_type, form in forms.items()} == TYPES
    closrtech = forms[CLOSRTECH_CONN_TYPE]["standard_fields"]
    assert closrtech["password"]["title"] == "CLOSRTECH password"
    assert closrtech["host"]["title"] == "CLOSRTECH base URL"
    facebook = forms[FACEBOOK_ADS_CONN_TYPE]["standard_fields"]
    assert facebook["password"]["title"] == "System User token"
    assert facebook["host"]["hidden"] and facebook["login"]["hidden"]  # the Graph URL is an extra


def connections_test(conn_id: str, connections: dict[str, dict]) -> subprocess.CompletedProcess:
    """``airflow connections test <conn_id>`` as an operator runs it, the Connections given as env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env |= {f"AIRFLOW_CONN_{name.upper()}": json.dumps(conn) for name, conn in connections.items()}
    env["AIRFLOW__CORE__TEST_CONNECTION"] = "Enabled"
    command = [sys.executable, "-m", "airflow", "connections", "test", conn_id]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize(
    ("conn_id", "system"),
    [("closrtech_default", "closrtech"), ("facebook_ads_default", "graph")],
)
def test_connections_test_succeeds_for_the_sandboxs_connections(sandbox, conn_id, system):
    result = connections_test(conn_id, sandbox.connections)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-2000:]
    assert "Connection success!" in output
    assert len(sandbox.requests(system)) == 1  # the hook's own test: one authenticated request
    assert_no_secret(output, "airflow connections test")


@pytest.mark.parametrize(
    ("conn_id", "field", "says"),
    [
        ("closrtech_default", "password", "rejected the credentials (HTTP 401)"),
        ("facebook_ads_default", "password", "the access token was rejected by Facebook"),
    ],
)
def test_connections_test_fails_for_a_wrong_secret_naming_the_problem(sandbox, conn_id, field, says):
    wrong = sandbox.connections[conn_id] | {field: "not-the-real-secret-123"}
    result = connections_test(conn_id, sandbox.connections | {conn_id: wrong})
    output = result.stdout + result.stderr
    assert "Connection success!" not in output
    assert "Connection failed!" in output and says in output, output[-2000:]
    assert "not-the-real-secret-123" not in output
    assert_no_secret(output, "airflow connections test")


@pytest.mark.parametrize(
    ("conn_id", "older_type", "hook"),
    [("closrtech_default", "http", "ClosrtechHook"), ("facebook_ads_default", "generic", "FacebookAdsHook")],
)
def test_connections_of_the_older_generic_types_keep_working(sandbox, conn_id, older_type, hook):
    from closrads.airflow.hooks.closrtech import ClosrtechHook
    from closrads.airflow.hooks.facebook_ads import FacebookAdsHook

    sandbox.set_connection(conn_id, sandbox.connections[conn_id] | {"conn_type": older_type})
    ok, message = {"ClosrtechHook": ClosrtechHook, "FacebookAdsHook": FacebookAdsHook}[hook]().test_connection()
    assert ok, message

"""No secret in any log, exception, XCom or message: the password travels in a query string and
the token in every Graph request, so every failure path is a chance to leak them.

(``run_dag`` already checks logs and XComs of every integration run; these tests add the raw
exceptions and real ``airflow dags test`` processes, log files included.)
"""

import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from sandbox import scenario
from tests.integration.conftest import assert_no_secret

pytestmark = pytest.mark.integration


def raised_text(func) -> str:
    with pytest.raises(Exception) as caught:
        func()
    return str(caught.value) + "".join(traceback.format_exception(caught.value))


def test_closrtech_failures_never_quote_the_password(sandbox):
    from closrads.hooks.closrtech import ClosrtechHook

    sandbox.set_connection(
        "closrtech_default", sandbox.connections["closrtech_default"] | {"host": "http://127.0.0.1:9"}
    )
    text = raised_text(lambda: ClosrtechHook().get_demand())
    assert "could not reach CLOSRTECH at http://127.0.0.1:9: [Errno 111] Connection refused" in text
    assert_no_secret(text, "a CLOSRTECH network error")

    sandbox.set_connection("closrtech_default", sandbox.connections["closrtech_default"])
    sandbox.add_fault("closrtech", times=4, status=500, body=f"error for pass={scenario.CLOSRTECH_PASSWORD}")
    text = raised_text(lambda: ClosrtechHook().get_demand())
    assert "answered HTTP 500" in text
    assert_no_secret(text, "a CLOSRTECH HTTP error")

    sandbox.add_fault("closrtech", status=200, body=f"<html>bad login {scenario.CLOSRTECH_PASSWORD}</html>")
    text = raised_text(lambda: ClosrtechHook().get_demand())
    assert "invalid JSON" in text
    assert_no_secret(text, "a CLOSRTECH data error that echoes the password")


def test_graph_failures_never_quote_the_token(sandbox):
    from closrads.hooks.facebook_ads import FacebookAdsHook

    conn = sandbox.connections["facebook_ads_default"]
    sandbox.set_connection(
        "facebook_ads_default", conn | {"extra": conn["extra"] | {"graph_url": "http://127.0.0.1:9"}}
    )
    text = raised_text(lambda: FacebookAdsHook().list_campaign_adsets())
    assert "Connection refused" in text
    assert_no_secret(text, "a Graph network error")

    sandbox.set_connection("facebook_ads_default", conn)
    sandbox.add_fault("graph", adset_id="120215550000000001", code=100, message=f"bad token {scenario.ACCESS_TOKEN}")
    text = raised_text(lambda: FacebookAdsHook().get_adset("120215550000000001"))
    assert "Graph error 100" in text
    assert_no_secret(text, "a Graph error that echoes the token")

    sandbox.set_credentials(access_token="another")
    text = raised_text(lambda: FacebookAdsHook().get_adset("120215550000000001"))
    assert "the access token was rejected" in text
    assert_no_secret(text, "an invalid-token error")


def test_hook_reprs_hide_secrets(sandbox):
    from closrads.hooks.closrtech import ClosrtechHook
    from closrads.hooks.facebook_ads import FacebookAdsHook

    assert_no_secret(repr(ClosrtechHook().settings), "repr(ClosrtechSettings)")
    assert_no_secret(repr(FacebookAdsHook().settings), "repr(FacebookSettings)")


def test_airflow_dags_test_logs_no_secret(sandbox, airflow_db, tmp_path):
    """Real `airflow dags test` processes, success and failure paths, log files included.

    At the default INFO level: at DEBUG, Airflow 3.3.2's own supervisor logs the MaskSecret
    messages it exchanges with the task runner, secret values included (not CLOSRADS code; the
    in-process runs of ``run_dag`` capture CLOSRADS's and urllib3's DEBUG lines instead).
    """
    env = os.environ | {"AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO", "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(tmp_path)}
    command = [sys.executable, "-m", "airflow", "dags", "test", "closrads_sync", "-c", '{"dry_run": false}']

    outputs = []
    sandbox.add_fault("graph", adset_id="120215550000000005", method="POST", code=100, times=5)
    sandbox.add_fault("closrtech", status=503, body="down")
    outputs.append(subprocess.run(command, env=env, capture_output=True, text=True, timeout=300))
    sandbox.set_credentials(access_token="rotated")
    outputs.append(subprocess.run(command, env=env, capture_output=True, text=True, timeout=300))

    first, second = (o.stdout + o.stderr for o in outputs)
    assert "Updated ad set 120215550000000001" in first and "Graph error 100" in first
    assert "the access token was rejected" in second
    for text in (first, second):
        assert_no_secret(text, "`airflow dags test` output")
    for log_file in Path(tmp_path).rglob("*"):
        if log_file.is_file():
            assert_no_secret(log_file.read_text(errors="replace"), f"log file {log_file}")

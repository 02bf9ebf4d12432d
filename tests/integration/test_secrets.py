"""No secret in any log, XCom or message of real ``airflow dags test`` processes.

(``run_dag`` already checks the log output and XComs of every in-process run; the hooks' own
exceptions are checked in tests/airflow/hooks.)
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import assert_no_secret

pytestmark = pytest.mark.integration

DAGS_TEST = [sys.executable, "-m", "airflow", "dags", "test", "closrads_sync", "-c", '{"dry_run": false}']


def test_airflow_dags_test_logs_no_secret_at_info_or_debug(sandbox, airflow_db, tmp_path):
    """A real `airflow dags test` process at DEBUG, a failing ad set included.

    urllib3 logs every request line, query string (password, token) included, and slack_sdk the
    webhook URL: both reach the console masked. Every line of the output and the log files is
    checked, except the lines in which Airflow's own in-process supervisor prints the
    ``MaskSecret`` messages it is sent (Airflow 3.3.2 logs those with the secret in clear, whoever
    registers it, Airflow's own Connection handling included). Those are DEBUG lines, so the output
    at the default INFO level (a subset of this one) holds no secret at all.
    """
    env = os.environ | {"AIRFLOW__LOGGING__LOGGING_LEVEL": "DEBUG", "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(tmp_path)}
    sandbox.add_fault("graph", adset_id="120215550000000005", method="POST", code=100, times=5)
    result = subprocess.run(DAGS_TEST, env=env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr

    assert "Updated ad set 120215550000000001" in output and "Graph error 100" in output
    assert '"GET /demand.php?campaign=VND_VETERAN_LEADS&email=ops%40closrads.example&pass=*** HTTP/1.1"' in output
    assert "access_token=***" in output and "Sending a request - url: ***, body:" in output
    airflows_own = [line for line in output.splitlines() if "MaskSecret(" in line]
    assert all("[debug" in line for line in airflows_own), "a MaskSecret line above DEBUG"
    ours = "\n".join(line for line in output.splitlines() if "MaskSecret(" not in line)
    assert_no_secret(ours, "`airflow dags test` output")
    for log_file in Path(tmp_path).rglob("*"):
        if log_file.is_file():
            assert_no_secret(log_file.read_text(errors="replace"), f"log file {log_file}")

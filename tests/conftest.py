"""Test-wide setup: an isolated, throw-away Airflow home configured before Airflow is imported.

Unit tests (tests/unit) never touch it; the integration tests migrate its SQLite database once
per session (see tests/integration/conftest.py).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="closrads-test-airflow-"))

os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME}/airflow.db",
        # Subprocesses (airflow CLI) see the same import layout as pytest's pythonpath.
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")]),
        # Backoff waits shrink to milliseconds; tests that measure the schedule set their own scale.
        "CLOSRADS_RETRY_DELAY_SCALE": "0.01",
    }
)
for name in list(os.environ):  # a developer's shell must not leak real connections into tests
    if name.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_")):
        del os.environ[name]

"""Task start-up: what a CLOSRADS task process needs is imported once, by the process that forks it.

The settings that load :mod:`closrads.airflow.preload` are the Makefile's (LocalExecutor, the scheduler's
forkserver) and docker-compose.yaml's (CeleryExecutor, the worker's ``imports``); ``make bench``
measures what they save.
"""

import json
import os
import re
import subprocess
import sys

import yaml

from tests.helpers import ROOT

TASK_NEEDS = [
    "facebook_business.api",
    "facebook_business.adobjects.adset",
    "airflow.providers.slack.hooks.slack_webhook",
    "airflow.sdk.execution_time.task_runner",
    "closrads.airflow.sync.run",
    "closrads.airflow.rollback.run",
]


def run_python(code: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ | (env or {}), cwd=ROOT
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


def test_the_preload_imports_what_a_task_needs_without_any_io():
    code = (
        "import socket, sys, json\n"
        "def refuse(*a, **k): raise AssertionError('the preload opened a connection')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "import closrads.airflow.preload\n"
        f"print(json.dumps([name for name in {TASK_NEEDS!r} if name not in sys.modules]))"
    )
    assert json.loads(run_python(code)) == []


def test_the_preload_leaves_naming_an_asset_nothing_to_discover():
    """An audit record names its ad set's asset; without the preload, that discovers every provider's
    asset URI handlers in each writing task."""
    code = (
        "import closrads.airflow.preload, json\n"
        "from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime\n"
        "print(json.dumps(ProvidersManagerTaskRuntime()._initialized_cache))"
    )
    assert json.loads(run_python(code)).get("asset_uris") is True


def test_the_local_airflow_preloads_through_the_schedulers_forkserver():
    exports = dict(re.findall(r"^export (AIRFLOW__SCHEDULER__MP_\w+) := (.+)$", (ROOT / "Makefile").read_text(), re.M))
    assert exports["AIRFLOW__SCHEDULER__MP_START_METHOD"] == "forkserver"
    modules = exports["AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD"].split(",")
    assert "closrads.airflow.preload" in modules
    code = "import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules) + "print('ok')"
    assert run_python(code) == "ok"  # a module that failed to import would only be logged by the forkserver


def test_the_celery_worker_imports_the_preload_before_it_forks_its_pool():
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    setting = compose["x-airflow-common"]["environment"]["AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"]
    code = (
        "import json\n"
        "from airflow.providers.celery.executors.celery_executor_utils import app\n"
        "from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG\n"
        "print(json.dumps({'imports': list(app.loader.default_modules),"
        " 'broker': app.conf.broker_url == DEFAULT_CELERY_CONFIG['broker_url']}))"
    )
    loaded = json.loads(
        run_python(
            code, {"AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": setting, "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor"}
        )
    )
    assert "closrads.airflow.preload" in loaded["imports"]
    assert loaded["broker"]  # Airflow's own Celery settings are kept

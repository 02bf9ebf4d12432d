"""Airflow executes every .py under plugins/ as a top-level module in every task process. The package
lives outside plugins/, so no CLOSRADS module ends up registered under a bare file name (``slack``,
``steps``...), where it would shadow a real package such as slack_sdk's ``slack``."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What a task process does before it runs a task: load the plugins, then import the DAG's code.
PROBE = """
import json, sys
from airflow.sdk.plugins_manager import integrate_macros_plugins
integrate_macros_plugins()
import closrads.airflow.tasks
print(json.dumps({name: getattr(module, "__file__", None) for name, module in list(sys.modules.items())}))
"""


def modules_after_loading_plugins(plugins_folder: Path) -> dict[str, str | None]:
    env = os.environ | {"AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_folder)}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_no_package_module_is_registered_under_a_bare_name():
    modules = modules_after_loading_plugins(ROOT / "plugins")
    sources = [ROOT / "include", ROOT / "plugins"]
    ours = {name: path for name, path in modules.items() if path and any(Path(path).is_relative_to(s) for s in sources)}
    assert ours, "the probe imported nothing of the project"
    assert all(name == "closrads" or name.startswith("closrads.") for name in ours), sorted(ours)
    assert "slack" not in modules or "site-packages" in (modules["slack"] or "")


def test_the_probe_sees_a_plain_module_in_a_plugins_folder(tmp_path):
    """The check above can fail: a library file in a plugins folder is registered under its bare name."""
    (tmp_path / "steps.py").write_text("VALUE = 1\n")
    modules = modules_after_loading_plugins(tmp_path)
    assert modules.get("steps") == str(tmp_path / "steps.py")

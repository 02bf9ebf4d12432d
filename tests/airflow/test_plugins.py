"""Airflow executes every .py under plugins/ as a top-level module in every task process. The package
lives outside plugins/, so no CLOSRADS module ends up registered under a bare file name (``slack``,
``steps``...), where it would shadow a real package such as slack_sdk's ``slack``."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What a task process does before it runs a task: load the plugins, then import the DAG's code.
PROBE = """
import json, sys
from airflow.sdk.plugins_manager import integrate_macros_plugins
integrate_macros_plugins()
import closrads.airflow.sync.tasks
print(json.dumps({name: getattr(module, "__file__", None) for name, module in list(sys.modules.items())}))
"""


def modules_after_loading_plugins(plugins_folder: Path) -> dict[str, str | None]:
    """Run the probe outside the repository and without PYTHONPATH: the package must come from the install."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_folder)
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd="/", capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_no_package_module_is_registered_under_a_bare_name(tmp_path):
    # The project's plugins folder as it is, plus a canary: a plain module, which Airflow does register
    # under its bare name. Seeing the canary proves the probe really loaded the folder.
    plugins = tmp_path / "plugins"
    shutil.copytree(ROOT / "plugins", plugins)
    (plugins / "canary_module.py").write_text("VALUE = 1\n")

    modules = modules_after_loading_plugins(plugins)

    assert modules.get("canary_module") == str(plugins / "canary_module.py")
    installed = [ROOT / "include"]
    ours = {
        name: path for name, path in modules.items() if path and any(Path(path).is_relative_to(s) for s in installed)
    }
    assert "closrads.airflow.sync.tasks" in ours, "the probe did not import the package from include/"
    assert all(name == "closrads" or name.startswith("closrads.") for name in ours), sorted(ours)
    project_plugins = {name: path for name, path in modules.items() if path and Path(path).parent == plugins}
    assert "canary_module" in project_plugins
    for name, path in project_plugins.items():  # nothing of the project's own plugins folder is library code
        assert name == "canary_module" or "(AirflowPlugin):" in Path(path).read_text(), name
    # and a task process loading the plugins does not import the UI's web stack
    assert "closrads.airflow.ui.app" not in modules and "fastapi" not in modules
    assert "slack" not in modules or "site-packages" in (modules["slack"] or "")

"""closrads.core is the pure domain: importing all of it must not import Airflow (or the network stack)."""

import pkgutil
import subprocess
import sys

import closrads.core


def test_core_imports_no_airflow():
    modules = [f"closrads.core.{m.name}" for m in pkgutil.iter_modules(closrads.core.__path__)]
    assert len(modules) >= 8
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(loaded & {'airflow', 'requests', 'facebook_business', 'slack_sdk'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

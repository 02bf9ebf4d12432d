"""README's first commands, as a newcomer runs them: ``make demo`` and ``make sandbox-reset``, in a
private Airflow home and sandbox folder, on free ports."""

import os
import subprocess

import pytest

from tests.deployment.test_local_airflow_walk import free_port
from tests.helpers import ROOT, assert_no_secret

pytestmark = pytest.mark.integration


def test_make_demo_runs_one_live_sync_and_sandbox_reset_starts_over(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CLOSRADS"))}
    make_vars = [f"AIRFLOW_HOME={tmp_path / 'airflow'}", f"SANDBOX_DIR={tmp_path / 'sandbox'}",
                 f"SANDBOX_PORT={free_port()}", f"AIRFLOW_PORT={free_port()}"]  # fmt: skip

    def make(*target: str, extra_env: dict | None = None) -> str:
        done = subprocess.run(["make", *target, *make_vars], cwd=ROOT, env=env | (extra_env or {}),
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
        return done.stdout + done.stderr

    make("sandbox")  # kept running between the two commands, as a person's sandbox would be
    try:
        out = make("demo")
        assert "Status: SUCCESS" in out and "Ad sets processed: 6 | Updated: 5 | Skipped: 1 | Failed: 0" in out
        assert "change: +NE +TX +WV -AK -MA -VT" in out and "DAG run state: success" in out
        assert "| Meta: LEARNING, last significant edit 20" in out  # Meta's learning state of each ad set
        # where yesterday's money went: before the sync, AK, MA and VT (no demand) still drew money
        spend = [line for line in out.splitlines() if line.startswith("Yesterday $")]
        assert len(spend) == 2 and all("in states with no demand: " in line for line in spend), spend
        assert all(f"{code} $" in spend[0] for code in ("AK", "MA", "VT"))
        assert "A person adds Alaska to Veterans - Core - Broad" in out
        assert "DRY RUN: 1 would update" in out and ": +AK (CLOSRADS wrote it in run manual__" in out
        assert "sandbox reset to the default scenario" in make("sandbox-reset")
        # Started over: the same changes again, this time with Airflow logging at DEBUG. No secret in any
        # form, on the console or in the run's log (Airflow's in-process supervisor quotes MaskSecret bodies).
        out = make("demo", extra_env={"AIRFLOW__LOGGING__LOGGING_LEVEL": "DEBUG"})
        assert "Updated: 5" in out
        run_log = (tmp_path / "airflow" / "demo-last-run.log").read_text()
        assert "[debug" in run_log  # it really logged at DEBUG
        assert_no_secret(out + run_log, "make demo at DEBUG")
    finally:
        make("sandbox-stop")

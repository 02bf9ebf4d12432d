"""Print how long parsing dags/closrads_sync.py takes, in fresh interpreters, Airflow import excluded.

    .venv/bin/python scripts/bench_dag_parse.py [runs]

Target: well under a second, with no network, Variable/Connection reads or heavy imports
(requests, facebook_business) at module level.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

DAG_FILE = Path(__file__).resolve().parents[1] / "dags" / "closrads_sync.py"
PROBE = f"""
import importlib.util, sys, time, tracemalloc
import airflow.sdk
before = set(sys.modules)
tracemalloc.start()
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("closrads_sync", {str(DAG_FILE)!r})
spec.loader.exec_module(importlib.util.module_from_spec(spec))
elapsed = time.perf_counter() - start
peak = tracemalloc.get_traced_memory()[1]
print(elapsed, peak, len(set(sys.modules) - before), "requests" in sys.modules, "facebook_business" in sys.modules)
"""


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    samples = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
        elapsed, peak, modules, has_requests, has_fb = out.split()
        samples.append((float(elapsed), int(peak), int(modules), has_requests, has_fb))
    times = [s[0] * 1000 for s in samples]
    print(f"parse dags/closrads_sync.py over {runs} fresh interpreters (after `import airflow.sdk`):")
    print(f"  time: median {statistics.median(times):.0f} ms, min {min(times):.0f} ms, max {max(times):.0f} ms")
    print(f"  peak memory allocated while parsing: {max(s[1] for s in samples) / 1024:.0f} KiB")
    print(f"  modules newly imported: {samples[0][2]}")
    print(f"  requests imported: {samples[0][3]}, facebook_business imported: {samples[0][4]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

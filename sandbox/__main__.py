"""``python -m sandbox <command>``: run the local CLOSRTECH/Graph/Slack emulators.

serve        run in the foreground (Ctrl-C stops it)
start        run in the background; waits until it answers; no-op when already running
stop         stop the background sandbox
reset        restore the default scenario (ad set targeting, demand), clear faults and logs
show         print each ad set's status and targeted states
snapshot F   save each ad set's targeted states to F (for a before/after comparison)
compare F    print before (from F) and after (now) for each ad set
connections F  write the Airflow Connections for this sandbox to F (``airflow connections import F``)
fault JSON   queue a fault, e.g. '{"target": "closrtech", "status": 503, "times": 2}'
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sandbox.client import SandboxClient, airflow_connections

STATE_DIR = Path(os.environ.get("CLOSRADS_SANDBOX_DIR", Path(__file__).resolve().parents[1] / ".sandbox"))
DEFAULT_PORT = int(os.environ.get("CLOSRADS_SANDBOX_PORT", "8765"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "command", choices=["serve", "start", "stop", "reset", "show", "snapshot", "compare", "connections", "fault"]
    )
    parser.add_argument("arg", nargs="?")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    base_url = f"http://127.0.0.1:{args.port}"
    client = SandboxClient(base_url)
    pid_file = STATE_DIR / "sandbox.pid"

    if args.command == "serve":
        from sandbox.server import make_server

        server = make_server(port=args.port, state_file=STATE_DIR / "state.json")
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
        print(f"sandbox listening on {base_url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
        return 0
    if args.command == "start":
        if client.healthy():
            print(f"sandbox already running on {base_url}")
            return 0
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        with (STATE_DIR / "sandbox.log").open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "sandbox", "serve", "--port", str(args.port)],
                stdout=log,
                stderr=log,
                start_new_session=True,
                cwd=Path(__file__).resolve().parents[1],
            )
        pid_file.write_text(str(proc.pid))
        for _ in range(100):
            if client.healthy():
                print(f"sandbox started on {base_url} (pid {proc.pid}, state in {STATE_DIR}/state.json)")
                return 0
            time.sleep(0.1)
        print(f"sandbox did not start; see {STATE_DIR}/sandbox.log", file=sys.stderr)
        return 1
    if args.command == "stop":
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGTERM)
                print("sandbox stopped")
            except ProcessLookupError:
                print("sandbox was not running")
            pid_file.unlink()
        else:
            print("sandbox was not running")
        return 0
    if args.command == "connections":
        Path(args.arg).write_text(json.dumps(airflow_connections(base_url), indent=2))
        return 0
    if not client.healthy():
        print(f"no sandbox on {base_url}; run `python -m sandbox start` first", file=sys.stderr)
        return 1
    if args.command == "reset":
        client.reset()
        print("sandbox reset to the default scenario")
    elif args.command == "fault":
        client._call("POST", "faults", json.loads(args.arg))
    elif args.command == "show":
        for adset in client.state()["adsets"]:
            codes = client.targeted_states()[adset["id"]]
            print(
                f"{adset['name']} ({adset['id']}) [{adset['effective_status']}]: {len(codes)} states {' '.join(codes)}"
            )
    elif args.command == "snapshot":
        Path(args.arg).write_text(json.dumps(client.targeted_states()))
    elif args.command == "compare":
        print_comparison(client, json.loads(Path(args.arg).read_text()))
    return 0


def print_comparison(client: SandboxClient, before: dict[str, list[str]]) -> None:
    after = client.targeted_states()
    print("Sandbox ad set targeting, before -> after:")
    for adset in client.state()["adsets"]:
        old, new = before.get(adset["id"], []), after[adset["id"]]
        added, removed = sorted(set(new) - set(old)), sorted(set(old) - set(new))
        change = (
            "unchanged" if not (added or removed) else " ".join([f"+{c}" for c in added] + [f"-{c}" for c in removed])
        )
        print(f"  {adset['name']} ({adset['id']}) [{adset['effective_status']}]")
        print(f"      before ({len(old)}): {' '.join(old) or '-'}")
        print(f"      after  ({len(new)}): {' '.join(new) or '-'}")
        print(f"      change: {change}")


if __name__ == "__main__":
    sys.exit(main())

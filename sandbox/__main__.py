"""``python -m sandbox <command>``: run the local CLOSRTECH/Graph/Slack emulators.

serve          run in the foreground (Ctrl-C stops it)
start          run in the background; waits until it answers; no-op when already running
stop           stop the background sandbox
reset          restore the default scenario (ad set targeting, demand), clear faults and logs
generate N     replace the campaign with N generated ACTIVE ad sets (scale tests, benchmarks)
campaigns N    the default campaign (as it is now) plus N client campaigns (own CLOSRTECH campaign, Facebook
               campaign, ad account and token; 5 ACTIVE ad sets each, --adsets M to change)
registry F     write a campaign registry for this sandbox to F: the default campaign (legacy_names: it keeps
               closrads_sync) and every client campaign (`make sandbox-campaigns` writes .sandbox/campaigns.yaml)
latency MS     answer every CLOSRTECH/Graph request MS milliseconds late (0: at once)
show           print the demand and each ad set's status, targeted states and Meta's learning state
edit ID +FL -TX  edit an ad set's US states as a person in Ads Manager would (Meta records a significant
               edit: its learning state, when it has one, restarts now); the next sync reports the change
demand JSON|F  set CLOSRTECH's demand from JSON or a file, e.g. '{"OH": 15, "TX": 0}'
fault JSON     queue a fault, e.g. '{"target": "closrtech", "status": 503, "times": 2}'
faults         list the queued faults
clear-faults   drop every queued fault (the scenario stays)
release        let every Graph request a "hold" fault holds go on (a write held at Graph lands now)
score JSON     emulate the ad account's rate-limit score, e.g. '{"budget": 30, "window": 60, "block": 60}'
               (reads cost 1, writes 3; past the budget Graph answers error 80004 for ``block`` s); '{}' = off
slack          print the Slack messages the sandbox received
snapshot F     save each ad set's targeted states to F (for a before/after comparison)
compare F      print before (from F) and after (now) for each ad set
connections F  write the Airflow Connections for this sandbox (client campaigns too) to F
               (``airflow connections import F``)

The port is ``--port``, else the environment variable ``SANDBOX_PORT``, else 8765.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from closrads.core.targeting import render_change
from sandbox.client import SandboxClient, airflow_connections, campaign_connections
from sandbox.scenario import (
    default_campaign_only,
    generated_scenario,
    multi_campaign_scenario,
    registry,
    sandbox_campaigns,
)

STATE_DIR = Path(os.environ.get("CLOSRADS_SANDBOX_DIR", Path(__file__).resolve().parents[1] / ".sandbox"))
DEFAULT_PORT = int(os.environ.get("SANDBOX_PORT") or 8765)
COMMANDS = ["serve", "start", "stop", "reset", "generate", "latency", "show", "demand", "fault", "faults",
            "clear-faults", "release", "score", "slack", "snapshot", "compare", "connections", "campaigns",
            "registry", "edit"]  # fmt: skip
NEEDS_ARGUMENT = {"generate", "latency", "demand", "fault", "score", "snapshot", "compare", "connections",
                  "campaigns", "registry", "edit"}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("arg", nargs="?")
    parser.add_argument("changes", nargs="*", help="edit: +CODE adds a state, -CODE removes one")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--adsets", type=int, default=5, help="ACTIVE ad sets per client campaign (campaigns)")
    args, unknown = parser.parse_known_args(argv)  # edit's "-TX" reads as an option to argparse
    if unknown and (args.command != "edit" or not all(re.match(r"^-[A-Za-z]{2}$", arg) for arg in unknown)):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.changes = [*args.changes, *unknown]
    if args.command in NEEDS_ARGUMENT and not args.arg:
        parser.error(f"{args.command} needs an argument (see the command list above)")
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
    running = client.healthy()
    clients = sandbox_campaigns(len(client.state().get("demands") or {})) if running else []
    if args.command == "connections":  # works without a running sandbox: its default Connections
        connections = airflow_connections(base_url)
        for campaign in clients:
            connections |= campaign_connections(base_url, campaign)
        Path(args.arg).write_text(json.dumps(connections, indent=2))
        return 0
    if args.command == "registry":  # without client campaigns (or a sandbox): the default campaign alone
        Path(args.arg).parent.mkdir(parents=True, exist_ok=True)
        Path(args.arg).write_text(yaml.safe_dump(registry(clients), sort_keys=False))
        print(f"wrote a registry of the default campaign and {len(clients)} client campaign(s) to {args.arg}")
        return 0
    if not running:
        print(f"no sandbox on {base_url}; run `python -m sandbox start` first", file=sys.stderr)
        return 1
    if args.command == "reset":
        client.reset()
        print("sandbox reset to the default scenario")
    elif args.command == "generate":
        client.reset(generated_scenario(int(args.arg)))
        print(f"sandbox campaign: {int(args.arg)} generated ACTIVE ad sets")
    elif args.command == "campaigns":
        # The default campaign stays as it is now (its ad sets may have been synced since the last reset).
        current = client.state()
        base = default_campaign_only(current)
        client.reset(multi_campaign_scenario(int(args.arg), args.adsets, current.get("latency_ms", 0), base=base))
        print(f"sandbox: the default campaign plus {int(args.arg)} client campaigns of {args.adsets} ad sets each")
    elif args.command == "latency":
        client.set_latency(float(args.arg))
        print(f"CLOSRTECH and Graph answer {float(args.arg):g} ms late")
    elif args.command == "demand":
        demand = json_argument(args.arg)
        client.set_demand(demand)
        print(f"CLOSRTECH demand is now: {json.dumps(demand)}")
    elif args.command == "fault":
        pending = client.add_fault(**json_argument(args.arg))
        print(f"queued: {json.dumps(pending[-1])}; {len(pending)} fault(s) pending")
    elif args.command == "faults":
        pending = client.faults()
        print("\n".join(json.dumps(fault) for fault in pending) if pending else "no faults queued")
    elif args.command == "clear-faults":
        client.clear_faults()
        print("no faults queued")
    elif args.command == "release":
        client.release_held()
        print("held Graph requests released")
    elif args.command == "score":
        settings = json_argument(args.arg)
        score = client.set_score(settings.get("budget"), settings.get("window", 60.0), settings.get("block", 60.0))
        print(f"ad account score: {json.dumps(score)}" if score["budget"] else "ad account score: off (no limit)")
    elif args.command == "slack":
        messages = client.slack_messages()
        for number, message in enumerate(messages, 1):
            print(f"--- Slack message {number} of {len(messages)}")
            print(message.get("text") or json.dumps(message))
        if not messages:
            print("no Slack messages received")
    elif args.command == "edit":
        add = [change[1:].upper() for change in args.changes if change.startswith("+")]
        remove = [change[1:].upper() for change in args.changes if change.startswith("-")]
        if not add and not remove:
            parser.error("edit needs the changes, e.g. edit 120215550000000001 +FL -TX")
        client.edit_adset(args.arg, add, remove)
        print(f"ad set {args.arg} edited as in Ads Manager: {render_change(add, remove)}")
    elif args.command == "show":
        state = client.state()
        print(f"CLOSRTECH demand: {json.dumps(state['demand'])}")
        targeted = client.targeted_states()
        for adset in state["adsets"]:
            codes = targeted[adset["id"]]
            info = adset.get("learning_stage_info")
            meta = f" (Meta: {info.get('status')})" if isinstance(info, dict) else ""
            print(
                f"{adset['name']} ({adset['id']}) [{adset['effective_status']}]{meta}: "
                f"{len(codes)} states {' '.join(codes)}"
            )
    elif args.command == "snapshot":
        Path(args.arg).write_text(json.dumps(client.targeted_states()))
    elif args.command == "compare":
        print_comparison(client, json.loads(Path(args.arg).read_text()))
    return 0


def json_argument(value: str):
    """JSON given inline, or the path of a file that holds it."""
    path = Path(value)
    text = path.read_text() if not value.lstrip().startswith(("{", "[", '"')) and path.is_file() else value
    try:
        return json.loads(text)
    except ValueError as exc:
        raise SystemExit(f"not JSON (nor a file holding JSON): {value!r}: {exc}") from None


def print_comparison(client: SandboxClient, before: dict[str, list[str]]) -> None:
    after = client.targeted_states()
    print("Sandbox ad set targeting, before -> after:")
    for adset in client.state()["adsets"]:
        old, new = before.get(adset["id"], []), after[adset["id"]]
        added, removed = sorted(set(new) - set(old)), sorted(set(old) - set(new))
        change = render_change(added, removed) if (added or removed) else "unchanged"
        print(f"  {adset['name']} ({adset['id']}) [{adset['effective_status']}]")
        print(f"      before ({len(old)}): {' '.join(old) or '-'}")
        print(f"      after  ({len(new)}): {' '.join(new) or '-'}")
        print(f"      change: {change}")


if __name__ == "__main__":
    sys.exit(main())

"""``python -m sandbox``: the commands README shows, against a running sandbox."""

import json
import os
import subprocess
import sys

import pytest

from sandbox import scenario
from sandbox.__main__ import main
from sandbox.client import SandboxClient
from tests.helpers import ROOT, running_sandbox


@pytest.fixture
def sandbox_port(tmp_path):
    with running_sandbox(tmp_path / "state.json") as base_url:
        yield base_url.rsplit(":", 1)[1]


def cli(capsys, port, *args) -> str:
    assert main([*args, "--port", port]) == 0
    return capsys.readouterr().out


def test_demand_from_json_and_from_a_file(capsys, sandbox_port, tmp_path):
    assert 'CLOSRTECH demand is now: {"OH": 5}' in cli(capsys, sandbox_port, "demand", '{"OH": 5}')
    demand_file = tmp_path / "demand.json"
    demand_file.write_text('{"TX": 3, "FL": 0}')
    cli(capsys, sandbox_port, "demand", str(demand_file))
    assert SandboxClient(f"http://127.0.0.1:{sandbox_port}").state()["demand"] == {"TX": 3, "FL": 0}
    assert 'CLOSRTECH demand: {"TX": 3, "FL": 0}' in cli(capsys, sandbox_port, "show")


def test_fault_confirms_faults_lists_clear_faults_drops(capsys, sandbox_port):
    out = cli(capsys, sandbox_port, "fault", '{"target": "closrtech", "status": 503, "times": 2}')
    assert 'queued: {"times": 2, "target": "closrtech", "status": 503}; 1 fault(s) pending' in out
    assert json.loads(cli(capsys, sandbox_port, "faults"))["status"] == 503
    assert cli(capsys, sandbox_port, "clear-faults").strip() == "no faults queued"
    assert cli(capsys, sandbox_port, "faults").strip() == "no faults queued"


def test_score_turns_the_ad_account_limit_on_and_off(capsys, sandbox_port):
    out = cli(capsys, sandbox_port, "score", '{"budget": 4, "window": 60, "block": 30}')
    assert out.strip() == 'ad account score: {"budget": 4, "window": 60.0, "block": 30.0}'
    graph = f"http://127.0.0.1:{sandbox_port}/v26.0/120215550000000001?access_token=" + scenario.ACCESS_TOKEN
    import urllib.error
    import urllib.request

    for _ in range(4):
        with urllib.request.urlopen(graph) as answer:
            usage = json.loads(answer.headers["X-Ad-Account-Usage"])
    assert usage["acc_id_util_pct"] == 100.0
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(graph)  # the 5th read exceeds the budget: Meta's 80004, with the block's length
    assert json.loads(refused.value.read())["error"]["code"] == 80004
    assert json.loads(refused.value.headers["X-Ad-Account-Usage"])["reset_time_duration"] == 30
    assert cli(capsys, sandbox_port, "score", "{}").strip() == "ad account score: off (no limit)"
    with urllib.request.urlopen(graph) as answer:
        assert json.loads(answer.headers["X-Ad-Account-Usage"])["acc_id_util_pct"] == 1.0


def test_slack_prints_the_messages_received(capsys, sandbox_port):
    assert cli(capsys, sandbox_port, "slack").strip() == "no Slack messages received"
    import urllib.request

    from sandbox.scenario import SLACK_WEBHOOK_PATH

    body = json.dumps({"text": "CLOSRADS sync - LIVE", "blocks": []}).encode()
    urllib.request.urlopen(f"http://127.0.0.1:{sandbox_port}{SLACK_WEBHOOK_PATH}", data=body, timeout=5)
    assert "--- Slack message 1 of 1\nCLOSRADS sync - LIVE" in cli(capsys, sandbox_port, "slack")


def test_bad_json_is_named(capsys, sandbox_port):
    with pytest.raises(SystemExit, match="not JSON"):
        main(["demand", "{oops", "--port", sandbox_port])


def test_sandbox_port_from_the_environment(sandbox_port):
    env = os.environ | {"SANDBOX_PORT": sandbox_port}
    out = subprocess.run([sys.executable, "-m", "sandbox", "show"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "Veterans - Core - Broad (120215550000000001) [ACTIVE]" in out.stdout


def test_generate_makes_a_campaign_of_n_active_adsets_and_latency_slows_every_answer(capsys, sandbox_port):
    import time

    import requests

    base_url = f"http://127.0.0.1:{sandbox_port}"
    assert "1100 generated ACTIVE ad sets" in cli(capsys, sandbox_port, "generate", "1100")
    adsets = SandboxClient(base_url).state()["adsets"]
    assert len({a["id"] for a in adsets if a["effective_status"] == "ACTIVE"}) == 1100

    def answer_time(path: str) -> float:
        start = time.perf_counter()
        requests.get(base_url + path, timeout=5)
        return time.perf_counter() - start

    assert "answer 200 ms late" in cli(capsys, sandbox_port, "latency", "200")
    assert answer_time("/demand.php") >= 0.2
    assert answer_time("/_sandbox/health") < 0.1  # the controls are not slowed
    cli(capsys, sandbox_port, "latency", "0")
    assert answer_time("/demand.php") < 0.1  # and without latency, no Nagle stall either


def test_campaigns_makes_client_campaigns_with_their_registry_and_connections(capsys, sandbox_port, tmp_path):
    from closrads.core.campaigns import load_registry

    sandbox = SandboxClient(f"http://127.0.0.1:{sandbox_port}")
    synced = sandbox.adset("120215550000000001")["targeting"]
    synced["geo_locations"]["regions"] = synced["geo_locations"]["regions"][:2]  # a sync wrote it since the reset
    sandbox.update_adset("120215550000000001", targeting=synced)

    out = cli(capsys, sandbox_port, "campaigns", "3", "--adsets", "2")
    assert out.strip() == "sandbox: the default campaign plus 3 client campaigns of 2 ad sets each"
    state = sandbox.state()
    assert sorted(state["demands"]) == ["VND_CLIENT_01", "VND_CLIENT_02", "VND_CLIENT_03"]
    assert len({a["account_id"] for a in state["adsets"]}) == 4 and len(state["adsets"]) == 8 + 3 * 2
    assert sandbox.adset("120215550000000001")["targeting"] == synced  # the default campaign is left as it was

    cli(capsys, sandbox_port, "registry", str(tmp_path / "campaigns.yaml"))
    registry = load_registry(tmp_path / "campaigns.yaml")
    assert [c.slug for c in registry.campaigns] == ["veterans", "client_01", "client_02", "client_03"]
    assert registry.campaigns[0].sync_dag_id == "closrads_sync"  # the default campaign keeps its DAGs
    cli(capsys, sandbox_port, "connections", str(tmp_path / "connections.json"))
    connections = json.loads((tmp_path / "connections.json").read_text())
    for campaign in registry.campaigns:  # every Connection the registry names is there
        assert {campaign.closrtech_conn_id, campaign.facebook_conn_id} <= set(connections)
    assert {"closrtech_default", "facebook_ads_default", "closrads_slack"} <= set(connections)


def test_a_client_token_reaches_its_own_ad_account_only(capsys, sandbox_port):
    import urllib.error
    import urllib.request

    cli(capsys, sandbox_port, "campaigns", "2", "--adsets", "2")
    one, two = scenario.sandbox_campaigns(2)
    base = f"http://127.0.0.1:{sandbox_port}/v26.0"
    own = f"{base}/{one.campaign_id}/adsets?access_token={one.access_token}"
    with urllib.request.urlopen(own) as response:
        assert [a["id"] for a in json.loads(response.read())["data"]] == [a["id"] for a in one.adsets(2)]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{base}/{two.campaign_id}/adsets?access_token={one.access_token}")
    assert json.loads(refused.value.read())["error"]["code"] == 100

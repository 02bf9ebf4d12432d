"""Two campaigns in one deployment: each run writes only its own ad sets, with its own demand, audit
trail, stale-guard record and mode, and a rollback of one never touches the other.

The sandbox holds the default campaign plus two client campaigns, each with its own CLOSRTECH
campaign, Facebook campaign, ad account and access token (a token that may touch only its account).
"""

from __future__ import annotations

import json

import pytest

from closrads.core.audit import AuditRecord, ChangeKind
from closrads.core.campaigns import Campaign, load_registry
from sandbox.client import campaign_connections
from sandbox.scenario import SandboxCampaign, demanded_codes, multi_campaign_scenario, sandbox_campaigns
from tests.helpers import assert_no_secret

pytestmark = pytest.mark.integration


@pytest.fixture
def two_campaigns(sandbox, campaign_registry) -> tuple[Campaign, Campaign]:
    """The registry's two client campaigns (change guard open: 51 states), their Connections set."""
    sandbox.reset(multi_campaign_scenario(2, adsets_per_campaign=3))
    clients = sandbox_campaigns(2)
    for client in clients:
        for conn_id, conn in campaign_connections(sandbox.base_url, client).items():
            sandbox.set_connection(conn_id, conn)
    campaign_registry([client.registry_entry(approval_threshold=51) for client in clients])
    return tuple(load_registry().campaigns)


def adsets_of(sandbox, client: SandboxCampaign) -> dict[str, list[str]]:
    """The client's ad sets and the states each targets now."""
    targeted = sandbox.targeted_states()
    return {a["id"]: targeted[a["id"]] for a in sandbox.state()["adsets"] if a["campaign_id"] == client.campaign_id}


def audit_records(dag_id: str) -> list[tuple[str, str, AuditRecord]]:
    """The DAG's asset events as the UI and REST API show them: (asset name, asset URI, record)."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetEvent, AssetModel.name, AssetModel.uri)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetEvent.source_dag_id == dag_id)
        ).all()
        return [(name, uri, AuditRecord.from_extra(event.extra)) for event, name, uri in rows]


def variable(key: str):
    from airflow.models.variable import Variable

    return Variable.get(key, default_var=None)


def set_variable(key: str, value: str) -> None:
    from airflow.models.variable import Variable

    Variable.set(key, value)


def test_two_campaigns_each_write_only_their_own_adsets(sandbox, run_dag, two_campaigns):
    north, south = two_campaigns
    client_n, client_s = sandbox_campaigns(2)
    default_before = {a["id"]: a["targeting"] for a in sandbox.state()["adsets"] if a["campaign_id"].startswith("1202")}
    south_before = adsets_of(sandbox, client_s)
    default_guard = variable("closrads_last_applied_demand")  # the metadata DB is shared with other tests

    first = run_dag({"dry_run": False}, dag_id=north.sync_dag_id)

    assert first.state == "success", first.log[-3000:]
    assert set(first.outcomes()) == set(adsets_of(sandbox, client_n))
    assert {w["object_id"] for w in sandbox.graph_writes()} == set(adsets_of(sandbox, client_n))
    assert all(states == demanded_codes(client_n.demand()) for states in adsets_of(sandbox, client_n).values())
    assert adsets_of(sandbox, client_s) == south_before  # untouched
    assert [r["campaign"] for r in sandbox.requests("closrtech")] == [client_n.closrtech_campaign]

    second = run_dag({"dry_run": False}, dag_id=south.sync_dag_id)

    assert second.state == "success", second.log[-3000:]
    writes = [w["object_id"] for w in sandbox.graph_writes()]
    assert set(writes) == set(adsets_of(sandbox, client_n)) | set(adsets_of(sandbox, client_s))
    assert all(states == demanded_codes(client_s.demand()) for states in adsets_of(sandbox, client_s).values())
    assert all(states == demanded_codes(client_n.demand()) for states in adsets_of(sandbox, client_n).values())
    assert demanded_codes(client_n.demand()) != demanded_codes(client_s.demand())  # so this test can tell them apart
    after = {a["id"]: a["targeting"] for a in sandbox.state()["adsets"] if a["campaign_id"].startswith("1202")}
    assert after == default_before  # the default campaign's ad sets, never part of the registry

    # Each campaign's audit trail: its own alias, its ad account in every asset, only its ad sets.
    for campaign, client, run in ((north, client_n, first), (south, client_s, second)):
        records = audit_records(campaign.sync_dag_id)
        assert sorted(r.adset_id for _, _, r in records) == sorted(adsets_of(sandbox, client))
        for name, uri, record in records:
            assert (record.dag_id, record.run_id, record.kind) == (campaign.sync_dag_id, run.run_id, ChangeKind.SYNC)
            assert uri == f"closrads://{client.ad_account_id}/adsets/{record.adset_id}"
            assert name == f"closrads_{client.ad_account_id}_adset_{record.adset_id}"
    # Each campaign's stale-guard record names its own run; the default campaign's is not there.
    assert json.loads(variable(north.applied_demand_variable))["run_id"] == first.run_id
    assert json.loads(variable(south.applied_demand_variable))["run_id"] == second.run_id
    assert variable("closrads_last_applied_demand") == default_guard
    # Each campaign's own token is masked like the default one (run_dag checks the default secrets).
    for run in (first, second):
        assert_no_secret(run.log, "the log of a campaign's run", (client_n.access_token, client_s.access_token))
        assert_no_secret(
            json.dumps(list(run.xcoms.values()), default=str), "XCom", (client_n.access_token, client_s.access_token)
        )
    assert_no_secret(json.dumps(sandbox.slack_messages()), "Slack", (client_n.access_token, client_s.access_token))
    # Each report went to Slack under its campaign's name (one channel may hear several campaigns).
    headers = [m["blocks"][0]["text"]["text"] for m in sandbox.slack_messages()]
    assert headers == ["CLOSRADS sync client_01 (client 01) - LIVE", "CLOSRADS sync client_02 (client 02) - LIVE"]


def test_a_rollback_of_one_campaign_writes_nothing_to_the_other(sandbox, run_dag, two_campaigns):
    north, south = two_campaigns
    client_n, client_s = sandbox_campaigns(2)
    north_before = adsets_of(sandbox, client_n)
    first = run_dag({"dry_run": False}, dag_id=north.sync_dag_id)
    second = run_dag({"dry_run": False}, dag_id=south.sync_dag_id)
    assert (first.state, second.state) == ("success", "success")
    south_after_sync = adsets_of(sandbox, client_s)
    set_variable(north.dry_run_variable, "false")  # the metadata DB is shared with other tests
    set_variable(south.dry_run_variable, "false")
    default_mode = variable("closrads_dry_run")
    writes_before = len(sandbox.graph_writes())

    undo = run_dag({"run_id": first.run_id, "dry_run": False}, dag_id=north.rollback_dag_id)

    assert undo.state == "success", undo.log[-3000:]
    undone = [w["object_id"] for w in sandbox.graph_writes()[writes_before:]]
    assert sorted(undone) == sorted(north_before)
    assert adsets_of(sandbox, client_n) == north_before
    assert adsets_of(sandbox, client_s) == south_after_sync
    # It stopped its own campaign's live schedule, nobody else's.
    assert variable(north.dry_run_variable) == "true"
    assert variable(south.dry_run_variable) == "false" and variable("closrads_dry_run") == default_mode
    assert {r.dag_id for _, _, r in audit_records(north.rollback_dag_id)} == {north.rollback_dag_id}


def test_a_rollback_refuses_a_run_of_another_campaign_by_name(sandbox, run_dag, two_campaigns):
    north, south = two_campaigns
    second = run_dag({"dry_run": False}, dag_id=south.sync_dag_id)
    writes_before = len(sandbox.graph_writes())
    set_variable(north.dry_run_variable, "false")

    undo = run_dag({"run_id": second.run_id, "dry_run": False}, dag_id=north.rollback_dag_id)

    assert undo.state == "failed"
    assert len(sandbox.graph_writes()) == writes_before
    message = undo.step_error("plan_rollback")
    assert f"is not a run of {north.sync_dag_id}" in message
    assert f"it is a run of {south.sync_dag_id}: undo it with {south.rollback_dag_id}" in message
    assert variable(north.dry_run_variable) == "false"  # refused before it stopped any schedule


def run_with_facebook_extra(sandbox, run_dag, campaign: Campaign, client: SandboxCampaign, **extra):
    """A live run of ``campaign`` after its Facebook Connection's extra was changed to ``extra``."""
    conn = campaign_connections(sandbox.base_url, client)[client.facebook_conn_id]
    conn["extra"] |= extra
    sandbox.set_connection(client.facebook_conn_id, conn)
    return run_dag({"dry_run": False}, dag_id=campaign.sync_dag_id)


def test_a_connection_for_another_ad_account_than_the_registry_says_is_refused(sandbox, run_dag, two_campaigns):
    north, _ = two_campaigns
    client_n, client_s = sandbox_campaigns(2)

    result = run_with_facebook_extra(sandbox, run_dag, north, client_n, ad_account_id=client_s.ad_account_id)

    assert result.state == "failed"
    assert sandbox.requests("graph") == []  # refused before any Graph call
    assert (
        f"is for ad account {client_s.ad_account_id}, but the campaign registry says {client_n.ad_account_id}"
        in result.step_error("list_adsets")
    )


def test_a_token_only_reaches_its_own_ad_account(sandbox, run_dag, two_campaigns):
    """The sandbox, like Meta, lets a client's token touch its own ad account only: a Connection that
    names another client's campaign fails the listing and writes nothing."""
    north, _ = two_campaigns
    client_n, client_s = sandbox_campaigns(2)

    result = run_with_facebook_extra(sandbox, run_dag, north, client_n, campaign_id=client_s.campaign_id)

    assert result.state == "failed"
    assert sandbox.graph_writes() == []
    assert "Graph error 100" in result.step_error("list_adsets")


def test_every_campaigns_last_run_is_one_rest_read_away(sandbox, run_dag, two_campaigns, airflow_api):
    """The overview (``make overview``, and the UI page to come) reads only Airflow's public REST API."""
    from scripts.overview import campaign_runs

    north, south = two_campaigns
    first = run_dag({"dry_run": False}, dag_id=north.sync_dag_id)
    second = run_dag({"dry_run": True}, dag_id=south.sync_dag_id)

    rows = {row.campaign: row for row in campaign_runs(lambda path: airflow_api.get(path).raise_for_status().json())}

    assert (rows["client_01"].run_id, rows["client_01"].state) == (first.run_id, "success")
    assert (rows["client_02"].run_id, rows["client_02"].state) == (second.run_id, "success")
    assert rows["client_01"].client == "client 01" and rows["client_01"].dag_id == north.sync_dag_id
    assert "client_01" in rows["client_01"].line() and "success" in rows["client_01"].line()
    yesterday = first.report["spend"]["yesterday"]  # and its share of spend in states with no demand
    share = f"{yesterday['no_demand'] * 100 / yesterday['total']:.1f}%"
    assert rows["client_01"].leak == share and f"| no-demand spend {share}" in rows["client_01"].line()

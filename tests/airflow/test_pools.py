"""The Graph pools a registry needs (one per ad account), made by Airflow's own ``airflow pools import``."""

import json
import subprocess
import sys

from closrads.airflow.pools import GRAPH_POOL_SLOTS, graph_pools
from closrads.core.campaigns import load_registry, parse_registry


def test_one_pool_per_ad_account_shared_by_its_campaigns(campaign_registry):
    registry = parse_registry(
        "campaigns:\n"
        + "".join(
            f"  - {{slug: {slug}, closrtech_conn_id: c_{slug}, facebook_conn_id: f_{slug}, ad_account_id: {account}}}\n"
            for slug, account in (("north", "act_1"), ("south", "act_1"), ("west", "act_2"))
        )
    )
    assert graph_pools(registry) == {
        "closrads_graph__act_1": {
            "slots": GRAPH_POOL_SLOTS,
            "description": "CLOSRADS Graph API calls of ad account act_1: north, south",
            "include_deferred": False,
        },
        "closrads_graph__act_2": {
            "slots": GRAPH_POOL_SLOTS,
            "description": "CLOSRADS Graph API calls of ad account act_2: west",
            "include_deferred": False,
        },
    }


def test_without_a_registry_the_one_pool_is_closrads_graph():
    assert list(graph_pools(load_registry())) == ["closrads_graph"]


def test_the_pools_file_is_what_airflow_pools_import_reads(campaign_registry, airflow_db, tmp_path):
    campaign_registry(["north", "south"])
    pools = tmp_path / "pools.json"
    subprocess.run([sys.executable, "-m", "closrads.airflow.pools", str(pools)], check=True)
    assert sorted(json.loads(pools.read_text())) == ["closrads_graph__act_9001", "closrads_graph__act_9002"]

    subprocess.run([sys.executable, "-m", "airflow", "pools", "import", str(pools)], check=True, capture_output=True)

    from airflow.models.pool import Pool

    assert Pool.get_pool("closrads_graph__act_9001").slots == GRAPH_POOL_SLOTS
    assert Pool.get_pool("closrads_graph__act_9002").slots == GRAPH_POOL_SLOTS


def test_a_campaigns_pool_is_created_when_its_run_starts_if_nobody_created_it(campaign_registry, airflow_db):
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session

    from closrads.airflow.pools import ensure_graph_pool

    campaign_registry(["added_live"])
    with create_session() as session:
        session.query(Pool).filter(Pool.pool == "closrads_graph__act_9001").delete()  # an earlier test's
    with create_session() as session:
        assert ensure_graph_pool("closrads_sync__added_live", session) == "closrads_graph__act_9001"
        assert ensure_graph_pool("closrads_rollback__added_live", session) is None  # exists now: left alone
        assert ensure_graph_pool("some_other_dag", session) is None  # not CLOSRADS's: none created
    pool = Pool.get_pool("closrads_graph__act_9001")
    assert pool.slots == GRAPH_POOL_SLOTS and pool.description.endswith("act_9001: added_live")


def test_the_pools_plugin_registers_the_listener_that_runs_in_the_scheduler():
    from airflow.listeners.listener import get_listener_manager

    from closrads.airflow import listeners

    assert listeners in get_listener_manager().pm.get_plugins()

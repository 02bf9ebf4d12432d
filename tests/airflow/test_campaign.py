"""A running task finds its campaign from its own DAG id, and the hooks that campaign's Connections."""

from types import SimpleNamespace

import pytest

from closrads.airflow.campaign import campaign_of, closrtech_hook, facebook_hook
from closrads.core.campaigns import DEFAULT_CAMPAIGN, RegistryError


def test_a_task_of_a_campaigns_dag_gets_that_campaign_and_its_connections(campaign_registry):
    campaign_registry(["north", "south"])
    for dag_id in ("closrads_sync__south", "closrads_rollback__south"):
        campaign = campaign_of({"dag": SimpleNamespace(dag_id=dag_id)})
        assert campaign.slug == "south"
    south = campaign_of({"ti": SimpleNamespace(dag_id="closrads_sync__south")})  # a callback without the DAG
    hook = facebook_hook(south)
    assert (hook.facebook_conn_id, hook.ad_account_id) == ("facebook_ads_south", "act_9002")
    assert closrtech_hook(south).closrtech_conn_id == "closrtech_south"


def test_without_a_registry_every_task_is_the_default_campaigns():
    assert campaign_of({"dag": SimpleNamespace(dag_id="closrads_sync")}) == DEFAULT_CAMPAIGN
    hook = facebook_hook(DEFAULT_CAMPAIGN)
    assert (hook.facebook_conn_id, hook.ad_account_id) == ("facebook_ads_default", None)  # the Connection's


def test_a_dag_of_no_campaign_is_named(campaign_registry):
    campaign_registry(["north"])
    with pytest.raises(RegistryError, match="has a DAG 'closrads_sync'"):
        campaign_of({"dag": SimpleNamespace(dag_id="closrads_sync")})

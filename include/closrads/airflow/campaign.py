"""Which campaign a running task belongs to: the registry entry of its DAG.

Every campaign's DAGs are generated from the registry (:mod:`closrads.core.campaigns`), so a task
finds its campaign's Connections, Variables and Slack from its own DAG id: the same file the DAG
was parsed from, read once per process. Nothing about a campaign travels through params (a person
triggering a run could change those) or XCom.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from closrads.core.campaigns import Campaign, load_registry

if TYPE_CHECKING:
    from closrads.airflow.hooks.closrtech import ClosrtechHook
    from closrads.airflow.hooks.facebook_ads import FacebookAdsHook


def campaign_for_dag(dag_id: str) -> Campaign:
    """The campaign whose sync or rollback DAG this is."""
    return load_registry().for_dag(dag_id)


def campaign_of(context) -> Campaign:
    """The campaign of the task or callback running with this Airflow ``context``."""
    dag = context.get("dag")
    dag_id = getattr(dag, "dag_id", None) or getattr(context.get("ti"), "dag_id", None)
    return campaign_for_dag(str(dag_id))


def facebook_hook(campaign: Campaign) -> FacebookAdsHook:
    """The campaign's Graph hook: its Connection, held to the ad account the registry names."""
    from closrads.airflow.hooks.facebook_ads import FacebookAdsHook  # run time only: DAG files import this module

    return FacebookAdsHook(facebook_conn_id=campaign.facebook_conn_id, ad_account_id=campaign.ad_account_id)


def closrtech_hook(campaign: Campaign) -> ClosrtechHook:
    from closrads.airflow.hooks.closrtech import ClosrtechHook

    return ClosrtechHook(closrtech_conn_id=campaign.closrtech_conn_id)

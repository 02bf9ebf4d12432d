"""CLOSRADS: daily CLOSRTECH demand -> Facebook ad set geo targeting, one DAG per campaign.

The campaigns are the entries of the campaign registry (``include/campaigns.yaml``, or the file
named by ``CLOSRADS_CAMPAIGNS_FILE``): ``closrads_sync__<slug>`` each. Without a registry this file
defines ``closrads_sync`` on the default Connections. What each DAG does: its Docs tab, or
``closrads.airflow.dag_factory``; the rules behind it: ``docs/design.md``.
"""

from __future__ import annotations

from closrads.airflow.dag_factory import campaigns_to_build, sync_dag

for campaign in campaigns_to_build():
    sync_dag(campaign)

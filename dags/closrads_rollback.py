"""CLOSRADS rollback: undo the targeting changes of one sync run, one DAG per campaign.

``closrads_rollback__<slug>`` for each entry of the campaign registry, or ``closrads_rollback`` for
the default campaign without one. Manual only, dry by default. See ``docs/design.md``, "Undo".
"""

from __future__ import annotations

from closrads.airflow.dag_factory import campaigns_to_build, rollback_dag

for campaign in campaigns_to_build():
    rollback_dag(campaign)

"""The names CLOSRADS's state and settings go by, and their defaults, with nothing else to import.

Every campaign derives its own names from these (:mod:`closrads.core.campaigns`: the default campaign
uses them as they are, another appends ``__<slug>``); the rules and the DAG files import them from
here without loading the registry's models.
"""

# The base names of a campaign's DAGs, Variables, pool and audit alias, and the registry's defaults.
SYNC_DAG_ID = "closrads_sync"
ROLLBACK_DAG_ID = "closrads_rollback"
DRY_RUN_VARIABLE = "closrads_dry_run"
APPROVAL_THRESHOLD_VARIABLE = "closrads_approval_threshold"
APPROVAL_TIMEOUT_VARIABLE = "closrads_approval_timeout_minutes"
APPLIED_DEMAND_VARIABLE = "closrads_last_applied_demand"
GRAPH_POOL = "closrads_graph"
AUDIT_ALIAS = "closrads_targeting_changes"
LEARNING_PHASE_VARIABLE = "closrads_learning_phase"
DEMAND_HISTORY_VARIABLE = "closrads_demand_history"
ON_OUTSIDE_CHANGE_VARIABLE = "closrads_on_outside_change"
SPEND_LEAK_ALERT_VARIABLE = "closrads_spend_leak_alert_percent"
SLACK_CONN_ID = "closrads_slack"
DEFAULT_SCHEDULE = "0 13 * * *"  # 13:00 UTC: morning in the US, after CLOSRTECH refreshes its demand
DEFAULT_APPROVAL_THRESHOLD = 10
DEFAULT_APPROVAL_TIMEOUT_MINUTES = 60
SEPARATOR = "__"  # between a base name and a campaign's slug: closrads_sync__acme_roofing

# The sync's task whose result is the run's spend figures, read by the report, the pages and tools.
SPEND_TASK_ID = "measure_spend"


# The sync's trigger-form params that the rules read.
FORCE_PARAM = "ignore_learning_phase"  # apply every change now: learning-phase protection is ignored
REQUIRE_APPROVAL_PARAM = "require_approval"  # a live run waits for a person whatever the change's size

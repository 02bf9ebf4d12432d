"""Audit records as Airflow asset events: one asset per ad set, events attached through one alias.

Why asset events: they are not tied to a task instance's XCom (clearing and re-running
``update_adset`` keeps them), the Airflow UI lists them per asset (Assets > ``closrads_adset_<id>``),
the REST API serves them (``GET /api/v2/assets/events?source_dag_id=closrads_sync``), and tasks read
them back through their inlets (the rollback). Airflow stores a task's events when the task
succeeds, together with its state.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import Asset, AssetAlias

from closrads.core.audit import AuditRecord, ChangeKind, regions_of
from closrads.core.targeting import GeoPlan

# Every task that writes targeting declares this alias as an outlet; the events land on one asset per ad set.
TARGETING_CHANGES = AssetAlias("closrads_targeting_changes")
ASSET_GROUP = "closrads"


def adset_asset(adset_id: str) -> Asset:
    """The asset that stands for one ad set's targeting in Airflow."""
    return Asset(name=f"closrads_adset_{adset_id}", uri=f"closrads://adsets/{adset_id}", group=ASSET_GROUP)


def record_write(
    context,
    *,
    adset_id: str,
    adset_name: str,
    kind: ChangeKind,
    before: dict,
    after: dict,
    plan: GeoPlan,
    undoes_run_id: str | None = None,
) -> str:
    """Record a write this task just made (targeting ``before`` -> ``after``) as the ad set's asset
    event; Airflow stores it when the task succeeds. Returns the write's UTC time (ISO)."""
    record = AuditRecord(
        adset_id=adset_id,
        adset_name=adset_name,
        kind=kind,
        dag_id=context["dag"].dag_id,
        run_id=context["run_id"],
        written_at=datetime.now(UTC).isoformat(),
        regions_before=regions_of(before),
        regions_after=regions_of(after),
        added=plan.added,
        removed=plan.removed,
        undoes_run_id=undoes_run_id,
    )
    context["outlet_events"][TARGETING_CHANGES].add(adset_asset(adset_id), extra=record.to_extra())
    return record.written_at

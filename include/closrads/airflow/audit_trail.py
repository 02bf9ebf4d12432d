"""Audit records as Airflow asset events: one asset per ad set, events attached through one alias.

Why asset events: they are not tied to a task instance's XCom (clearing and re-running
``update_adset`` keeps them), the Airflow UI lists them per asset (Assets > ``closrads_adset_<id>``),
the REST API serves them (``GET /api/v2/assets/events?source_dag_id=closrads_sync``), and tasks read
them back from the execution API (:func:`campaign_events`: the rollback, the report, learning-phase
protection, the plan's outside changes). Airflow stores a task's events when the task succeeds,
together with its state.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from airflow.sdk import Asset, AssetAlias

from closrads.core.campaigns import Campaign

if TYPE_CHECKING:
    from closrads.airflow.task_run import TaskRun
    from closrads.core.audit import AuditRecord, ChangeKind
    from closrads.core.targeting import GeoPlan


# The tasks that write targeting, and so the only ones whose asset events are audit records.
WRITING_TASKS = {"sync": "update_adset", "rollback": "rollback_adset"}


def trusted_record(event) -> AuditRecord | None:
    """The audit record an asset event holds, when a CLOSRADS task emitted it; else ``None``.

    Any Airflow user allowed to create asset events (FAB's *User* role, through REST) can post an event
    on a campaign's ad set asset, with any ``extra``. Such an event has no source task, or not the one
    its record claims, so it is never read as a write: not on the history page, not by an undo (which
    would otherwise write the regions it names). A malformed record is skipped the same way. Works on
    the metadata DB's events (the pages) and on a task's inlet events alike.
    """
    from closrads.core.audit import AuditRecord  # at run time: the DAG factory imports this module

    try:
        record = AuditRecord.from_extra(getattr(event, "extra", None) or {})
    except ValueError:
        return None
    source = (getattr(event, "source_dag_id", None), getattr(event, "source_run_id", None),
              getattr(event, "source_task_id", None))  # fmt: skip
    if source != (record.dag_id, record.run_id, WRITING_TASKS.get(str(record.kind))):
        return None
    return record


def targeting_changes(campaign: Campaign) -> AssetAlias:
    """The campaign's audit alias: every task of it that writes targeting declares it as an outlet (readers
    use :func:`campaign_events`, never an inlet); the events land on one asset per ad set. One alias per campaign, so
    a campaign's rollback never even sees another campaign's writes."""
    return AssetAlias(campaign.audit_alias)


def adset_asset(campaign: Campaign, adset_id: str) -> Asset:
    """The asset that stands for one ad set's targeting in Airflow. No group: Airflow creates an asset first
    seen through an alias in its own group ``asset``, whatever the event names."""
    name, uri = campaign.adset_asset(adset_id)
    return Asset(name=name, uri=uri)


def campaign_events(campaign: Campaign):
    """The campaign's audit events (all its ad sets): narrow with ``.after()`` / ``.limit()``, then read.

    Read from the execution API directly, not through ``context["inlet_events"]``: declaring the alias as
    a task's inlet makes Airflow 3.3.2 resolve it (``GetAssetsByAlias``) whenever it builds that task's
    context, and the DAG processor cannot answer that request. A DAG failure callback whose last task had
    the inlet (``report``) then hung until the processor was killed, and the lost-task alerts queued with
    it were never sent.
    """
    return _events_accessor(alias_name=campaign.audit_alias)


def latest_records(campaign: Campaign, adset_id: str, limit: int) -> list[AuditRecord]:
    """The ad set's newest CLOSRADS writes (by a sync or a rollback), newest first: one bounded request for
    its asset's newest ``limit`` events, of which only those CLOSRADS's own tasks emitted count.

    Any task may ask the execution API for an asset's events (see :func:`campaign_events`); the per-ad-set
    assets could not be declared as inlets anyway (they are not known at parse time).
    """
    asset = adset_asset(campaign, adset_id)
    events = _events_accessor(asset_name=asset.name, asset_uri=asset.uri).ascending(False).limit(limit)
    return _trusted(events)


def latest_records_of(campaign: Campaign, adset_ids: list[str], limit: int) -> dict[str, list[AuditRecord]]:
    """:func:`latest_records` for many ad sets at once, in one request when it can: the campaign's newest
    ``limit`` events per ad set asked for, read through its alias, newest first.

    Every ad set's events inside that window are its newest ones, so an ad set with ``limit`` of them
    there, or any ad set when the window held the campaign's whole trail, is answered by it. Only when
    the window was full (other ad sets' writes filled it) is an ad set with fewer read on its own, as
    :func:`latest_records` would. A listing of N ad sets costs one request instead of N (each of them a
    round trip through the task's supervisor to the API server), and the window stays bounded.
    """
    if not adset_ids:
        return {}
    window = limit * len(adset_ids)
    by_asset = {adset_asset(campaign, adset_id).name: adset_id for adset_id in adset_ids}
    newest: dict[str, list] = {adset_id: [] for adset_id in adset_ids}
    events = campaign_events(campaign).ascending(False).limit(window)
    for event in events:
        adset_id = by_asset.get(getattr(getattr(event, "asset", None), "name", None))
        if adset_id is not None and len(newest[adset_id]) < limit:
            newest[adset_id].append(event)
    whole_trail = len(events) < window
    return {
        adset_id: _trusted(its) if whole_trail or len(its) == limit else latest_records(campaign, adset_id, limit)
        for adset_id, its in newest.items()
    }


def _trusted(events) -> list[AuditRecord]:
    return [record for record in map(trusted_record, events) if record is not None]


def _events_accessor(**which: str):
    """The Task SDK's lazy reader of asset events (by alias, or by asset name and URI)."""
    from airflow.sdk.execution_time.context import InletEventsAccessor  # at run time, as inlet_events does

    return InletEventsAccessor(**which)


def record_write(
    run: TaskRun,
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
    from closrads.core.audit import AuditRecord, regions_of  # at run time: the DAG factory imports this module

    record = AuditRecord(
        adset_id=adset_id,
        adset_name=adset_name,
        kind=kind,
        dag_id=run.dag_id,
        run_id=run.run_id,
        written_at=datetime.now(UTC).isoformat(),
        regions_before=regions_of(before),
        regions_after=regions_of(after),
        added=plan.added,
        removed=plan.removed,
        undoes_run_id=undoes_run_id,
        try_number=run.try_number,
    )
    alias = targeting_changes(run.campaign)
    run.outlet_events[alias].add(adset_asset(run.campaign, adset_id), extra=record.to_extra())
    return record.written_at

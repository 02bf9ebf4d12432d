"""Audit records as asset events: only what a CLOSRADS writing task emitted counts as a write."""

from types import SimpleNamespace

import pytest

from closrads.airflow.audit_trail import adset_asset, targeting_changes, trusted_record
from closrads.core.audit import AuditRecord, ChangeKind
from closrads.core.campaigns import DEFAULT_CAMPAIGN

RECORD = AuditRecord("1", "Core", ChangeKind.SYNC, "closrads_sync", "manual__1", "2026-12-07T13:00:00+00:00")


def event(extra, dag_id="closrads_sync", run_id="manual__1", task_id="update_adset"):
    return SimpleNamespace(extra=extra, source_dag_id=dag_id, source_run_id=run_id, source_task_id=task_id)


def test_an_event_the_writing_task_emitted_is_its_record():
    assert trusted_record(event(RECORD.to_extra())) == RECORD
    rollback = AuditRecord("1", "Core", ChangeKind.ROLLBACK, "closrads_rollback", "manual__2", "2026-12-07T14:00:00")
    assert trusted_record(event(rollback.to_extra(), "closrads_rollback", "manual__2", "rollback_adset")) == rollback


@pytest.mark.parametrize(
    "posted",
    [
        event(RECORD.to_extra(), dag_id=None, run_id=None, task_id=None),  # posted through REST by a person
        event(RECORD.to_extra(), task_id="report"),  # not the task that writes
        event(RECORD.to_extra(), run_id="manual__9"),  # claims another run
        event({"adset_id": "1", "kind": "sync"}),  # not a record
        event(RECORD.to_extra() | {"added": "TX"}),  # a record of the wrong shape
    ],
)
def test_anything_else_is_never_read_as_a_write(posted):
    assert trusted_record(posted) is None


def test_each_campaign_has_its_own_alias_and_one_asset_per_adset():
    assert targeting_changes(DEFAULT_CAMPAIGN).name == "closrads_targeting_changes"
    asset = adset_asset(DEFAULT_CAMPAIGN, "120215550000000001")
    assert asset.name == "closrads_adset_120215550000000001"

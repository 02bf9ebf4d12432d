"""The audit trail: one asset event per written ad set, with the regions before and after."""

import pytest

from closrads.core.audit import AuditRecord, ChangeKind
from tests.helpers import DAG_ID

pytestmark = pytest.mark.integration

CORE, MOBILE = "120215550000000001", "120215550000000005"


def audit_events(run_id: str | None = None, dag_id: str | None = DAG_ID) -> list[AuditRecord]:
    """What the Airflow UI and ``GET /api/v2/assets/events`` show: asset events and their assets."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetEvent, AssetModel.name)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetEvent.source_dag_id == dag_id if dag_id else AssetEvent.source_dag_id.is_not(None))
        ).all()
        records = []
        for event, asset_name in rows:
            record = AuditRecord.from_extra(event.extra)
            assert asset_name == f"closrads_adset_{record.adset_id}"  # one asset per ad set
            assert event.source_run_id == record.run_id
            if run_id is None or record.run_id == run_id:
                records.append(record)
        return records


def test_every_live_write_leaves_one_record_with_before_and_after(sandbox, run_dag):
    before = {a["id"]: a["targeting"]["geo_locations"]["regions"] for a in sandbox.state()["adsets"]}
    result = run_dag({"dry_run": False})
    assert result.state == "success"

    records = {r.adset_id: r for r in audit_events(result.run_id)}
    written = sorted(o for o, v in result.outcomes().items() if v["outcome"] == "updated")
    assert sorted(records) == written and len(written) == 5  # the skipped ad set wrote nothing
    core = records[CORE]
    assert core.kind == ChangeKind.SYNC and core.dag_id == DAG_ID and core.adset_name == "Veterans - Core - Broad"
    assert core.regions_before == before[CORE]  # full entries, as they were
    assert core.regions_after == sandbox.adset(CORE)["targeting"]["geo_locations"]["regions"]
    assert (core.added, core.removed) == (["NE", "TX", "WV"], ["AK", "MA", "VT"])


def test_a_dry_run_and_a_run_without_changes_leave_no_record(sandbox, run_dag):
    dry = run_dag({"dry_run": True})
    assert audit_events(dry.run_id) == []  # the metadata DB is shared with earlier tests: this run's only
    first = run_dag({"dry_run": False})
    second = run_dag({"dry_run": False})  # nothing left to change
    assert len(audit_events(first.run_id)) == 5 and audit_events(second.run_id) == []


def test_records_survive_clearing_the_task_that_wrote_them(sandbox, run_dag):
    result = run_dag({"dry_run": False})
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance, clear_task_instances
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.run_id == result.run_id, TaskInstance.task_id == "update_adset")
        ).all()
        clear_task_instances(tis, session)  # what "Clear" in the UI does: XComs go, the audit stays
        assert session.scalars(select(DagRun).where(DagRun.run_id == result.run_id)).one()
    assert len(audit_events(result.run_id)) == 5

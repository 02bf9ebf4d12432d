"""What the rollback's tasks do: which writes of a sync run it undoes (its audit trail, read as asset
events), which run ids it refuses by name, and one ad set's undo against the sandbox."""

from types import SimpleNamespace

import pytest

from closrads.airflow.rollback.run import (
    RollbackRefused,
    _refuse_run_of_another_dag,
    _undone_by,
    _writes_of,
    undo_write,
)
from closrads.core.audit import AuditRecord, ChangeKind
from closrads.core.errors import TargetingConflict
from closrads.core.report import AdSetOutcome, Outcome
from closrads.core.run_mode import RunMode
from sandbox import scenario

CORE = "120215550000000001"


def record(adset_id="1", run_id="manual__1", kind=ChangeKind.SYNC, dag_id="closrads_sync", **fields) -> AuditRecord:
    return AuditRecord(adset_id, f"Ad set {adset_id}", kind, dag_id, run_id, "2026-12-07T13:00:00+00:00", **fields)


def event(rec: AuditRecord):
    task = "update_adset" if rec.kind == ChangeKind.SYNC else "rollback_adset"
    return SimpleNamespace(
        extra=rec.to_extra(), source_dag_id=rec.dag_id, source_run_id=rec.run_id, source_task_id=task
    )


def test_an_adset_written_twice_in_the_run_is_undone_to_before_its_first_write():
    first = record(regions_before=scenario.regions("AK"), regions_after=scenario.regions("TX"))
    second = record(regions_before=scenario.regions("TX"), regions_after=scenario.regions("OH"))
    other_run = record("2", run_id="manual__9")
    (undo,) = _writes_of("manual__1", "closrads_sync", [event(first), event(second), event(other_run)])
    assert (undo.regions_before, undo.regions_after) == (scenario.regions("AK"), scenario.regions("OH"))


def test_an_earlier_rollback_of_the_run_is_named():
    undone = record(kind=ChangeKind.ROLLBACK, dag_id="closrads_rollback", run_id="manual__5", undoes_run_id="manual__1")
    assert _undone_by("manual__1", "closrads_rollback", [event(undone)]) == {
        "1": "rollback run manual__5 at 2026-12-07 13:00 UTC"
    }


def test_a_run_of_another_campaign_is_refused_naming_its_rollback(campaign_registry):
    campaign_registry(["north", "south"])
    from closrads.core.campaigns import load_registry

    north = load_registry().for_dag("closrads_sync__north")
    ti = SimpleNamespace(get_dr_count=lambda dag_id, run_ids: 1 if dag_id == "closrads_sync__south" else 0)
    with pytest.raises(
        RollbackRefused, match="it is a run of closrads_sync__south: undo it with closrads_rollback__south"
    ):
        _refuse_run_of_another_dag(ti, north, "scheduled__2026-12-01T13:00:00+00:00")


def core_write(sandbox) -> AuditRecord:
    """The sync write that left the Core ad set as the sandbox holds it now (before it: OH and PA)."""
    now = sandbox.adset(CORE)["targeting"]["geo_locations"]["regions"]
    return record(CORE, regions_before=scenario.regions("OH", "PA"), regions_after=now)


@pytest.mark.parametrize("dry_run", [True, False])
def test_an_undo_puts_back_the_states_from_before_the_write(sandbox, task_run, variable, dry_run):
    fake = variable(value=None, keys=[])
    run = task_run(dag_id="closrads_rollback", run_id="manual__7")
    outcome = AdSetOutcome(CORE, "Core", Outcome.FAILED)
    undo_write(run, outcome, core_write(sandbox), RunMode(dry_run, "manual run"), None)
    if dry_run:
        assert outcome.outcome == Outcome.WOULD_UPDATE and sandbox.graph_writes() == [] and fake.written == []
    else:
        assert outcome.outcome == Outcome.UPDATED and sandbox.targeted_states()[CORE] == ["OH", "PA"]
        ((_, _, audit),) = run.outlet_events.added
        assert (audit["kind"], audit["undoes_run_id"]) == ("rollback", "manual__1")
        assert [name for name, _ in fake.written] == ["closrads_last_applied_demand"]


def test_an_adset_changed_since_the_write_is_refused(sandbox, task_run):
    write = core_write(sandbox)
    sandbox.update_adset(CORE, targeting={"geo_locations": {"regions": scenario.regions("FL")}})
    with pytest.raises(TargetingConflict):
        undo_write(task_run(), AdSetOutcome(CORE, "Core", Outcome.FAILED), write, RunMode(False, "manual run"), None)
    assert sandbox.graph_writes() == []

"""Undoing one recorded write: back to the states before, only where nothing changed since."""

import pytest

from closrads.core.audit import AuditRecord, ChangeKind
from closrads.core.errors import TargetingConflict
from closrads.core.regions import map_states
from closrads.core.undo import already_undone, plan_undo, states_before

ONTARIO = {"key": "533", "name": "Ontario", "country": "CA"}


def record(before: list[str], after: list[str]) -> AuditRecord:
    return AuditRecord(
        adset_id="1",
        adset_name="Core",
        kind=ChangeKind.SYNC,
        dag_id="closrads_sync",
        run_id="scheduled__1",
        written_at="2026-12-01T13:00:05+00:00",
        regions_before=[ONTARIO, *map_states(before).regions],
        regions_after=[ONTARIO, *map_states(after).regions],
    )


def targeting(states: list[str]) -> dict:
    return {"age_min": 30, "geo_locations": {"countries": ["CA"], "regions": [ONTARIO, *map_states(states).regions]}}


def test_undo_puts_back_the_states_before_when_nothing_changed_since():
    plan = plan_undo(targeting(["OH", "TX"]), record(["AK", "OH"], ["OH", "TX"]))
    assert (plan.added, plan.removed) == (["AK"], ["TX"])
    assert [r["key"] for r in states_before(record(["AK", "OH"], ["OH", "TX"]))] == ["3844", "3878"]


def test_undo_is_refused_and_names_what_changed_since():
    with pytest.raises(TargetingConflict, match=r"changed after run scheduled__1 wrote it \(\+FL -TX since then\)"):
        plan_undo(targeting(["FL", "OH"]), record(["AK", "OH"], ["OH", "TX"]))


def test_an_adset_already_back_to_its_states_before_needs_nothing():
    plan = plan_undo(targeting(["AK", "OH"]), record(["AK", "OH"], ["OH", "TX"]))
    assert not plan.needs_write
    assert already_undone(record([], []), "rollback run manual__2 at 2026-12-02 10:00 UTC") == (
        "already undone by rollback run manual__2 at 2026-12-02 10:00 UTC"
    )
    assert already_undone(record([], []), None) == "it already has the US states it had before run scheduled__1"

"""Audit records as asset events: only what a CLOSRADS writing task emitted counts as a write."""

from types import SimpleNamespace

import pytest

from closrads.airflow import audit_trail
from closrads.airflow.audit_trail import adset_asset, latest_records_of, targeting_changes, trusted_record
from closrads.core.audit import AuditRecord, ChangeKind
from closrads.core.campaigns import DEFAULT_CAMPAIGN

RECORD = AuditRecord("1", "Core", ChangeKind.SYNC, "closrads_sync", "manual__1", "2026-12-07T13:00:00+00:00")


def event(extra, dag_id="closrads_sync", run_id="manual__1", task_id="update_adset"):
    asset = SimpleNamespace(name=adset_asset(DEFAULT_CAMPAIGN, extra.get("adset_id", "?")).name)
    return SimpleNamespace(extra=extra, source_dag_id=dag_id, source_run_id=run_id, source_task_id=task_id, asset=asset)


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


def write(adset_id, run_number):
    record = AuditRecord(adset_id, "Core", ChangeKind.SYNC, "closrads_sync", f"manual__{run_number}", "2026-12-07")
    return event(record.to_extra(), run_id=f"manual__{run_number}")


class FakeEvents(list):
    """The Task SDK's asset-event reader over a fixed trail (newest first); records what was asked."""

    asked: list

    def __init__(self, events, asked, **which):
        super().__init__(events)
        self.asked, self.which = asked, which

    def ascending(self, ascending):
        assert ascending is False  # every reader here wants the newest first
        return self

    def limit(self, limit):
        self.asked.append((self.which, limit))
        return FakeEvents(self[:limit], [], **self.which)


@pytest.fixture
def trail(monkeypatch):
    """A campaign trail (newest first) served by a fake reader: by alias, or by one ad set's asset."""
    events, asked = [], []

    def reader(**which):
        if "alias_name" in which:
            return FakeEvents(events, asked, **which)
        return FakeEvents([e for e in events if e.asset.name == which["asset_name"]], asked, **which)

    monkeypatch.setattr(audit_trail, "_events_accessor", reader)
    return SimpleNamespace(events=events, asked=asked)


def test_the_newest_writes_of_every_adset_come_from_one_bounded_read(trail):
    trail.events[:] = [write("1", 4), write("2", 4), write("1", 3), write("1", 2), write("1", 1)]
    records = latest_records_of(DEFAULT_CAMPAIGN, ["1", "2", "3"], 2)
    assert {adset_id: [r.run_id for r in its] for adset_id, its in records.items()} == {
        "1": ["manual__4", "manual__3"],  # its newest two, newest first
        "2": ["manual__4"],
        "3": [],  # never written: the window held the whole trail, so nothing is read for it alone
    }
    assert trail.asked == [({"alias_name": DEFAULT_CAMPAIGN.audit_alias}, 6)]


def test_an_adset_the_full_window_left_short_is_read_on_its_own(trail):
    trail.events[:] = [write("1", 9), write("1", 8), write("1", 7), write("1", 6), write("2", 1)]
    records = latest_records_of(DEFAULT_CAMPAIGN, ["1", "2"], 2)
    assert [r.run_id for r in records["2"]] == ["manual__1"]  # beyond the window of 4: its own read found it
    assert [r.run_id for r in records["1"]] == ["manual__9", "manual__8"]
    assert [limit for _, limit in trail.asked] == [4, 2]
    assert trail.asked[1][0]["asset_name"] == adset_asset(DEFAULT_CAMPAIGN, "2").name


def test_an_event_posted_by_hand_is_counted_but_never_read_as_a_write(trail):
    posted = event(RECORD.to_extra(), dag_id=None, run_id=None, task_id=None)
    trail.events[:] = [posted, write("1", 1)]
    assert [r.run_id for r in latest_records_of(DEFAULT_CAMPAIGN, ["1"], 3)["1"]] == ["manual__1"]

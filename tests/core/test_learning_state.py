"""Meta's learning state as the listing reports it: read when it can be, never guessed."""

from datetime import UTC, datetime

import pytest

from closrads.core.learning_state import LearningState, missing_learning_notice

EDIT = int(datetime(2026, 12, 6, 13, 0, tzinfo=UTC).timestamp())


def test_a_reported_state_reads_as_status_and_utc_time():
    state = LearningState.from_graph({"status": "LEARNING", "last_sig_edit_ts": EDIT, "conversions": 3})
    assert state == LearningState("LEARNING", "2026-12-06T13:00:00+00:00")
    assert state.learning and state.last_edit == datetime(2026, 12, 6, 13, 0, tzinfo=UTC)
    assert state.describe() == "Meta: LEARNING, last significant edit 2026-12-06 13:00 UTC"
    assert LearningState.from_dict(state.to_dict()) == state


@pytest.mark.parametrize("info", [None, "LEARNING", [], {}, {"status": ""}, {"status": "in <b>learning</b>"}])
def test_anything_else_is_no_learning_state(info):
    assert LearningState.from_graph(info) is None


@pytest.mark.parametrize("stamp", [None, "soon", True, -5, 10**14])
def test_an_edit_time_that_is_not_one_is_left_out(stamp):
    state = LearningState.from_graph({"status": "SUCCESS", "last_sig_edit_ts": stamp})
    assert state == LearningState("SUCCESS") and not state.learning
    assert state.describe() == "Meta: SUCCESS" and state.to_dict() == {"status": "SUCCESS"}


def test_the_notice_counts_what_meta_left_out():
    assert missing_learning_notice(2, 5).startswith("Meta reported no learning state for 2 of 5 ad sets")

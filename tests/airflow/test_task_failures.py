"""A failing task records its message for the report first, then fails so that Airflow retries only
what waiting can fix; an ad set's task records exactly one outcome either way."""

import pytest
from airflow.sdk.exceptions import AirflowFailException

from closrads.airflow.task_failures import failing_cleanly, recording_adset_outcome, recording_step_errors
from closrads.core.errors import ClosrtechUnavailable, DemandDataError
from closrads.core.report import AdSetOutcome, Outcome
from tests.airflow.conftest import FakeTaskInstance


def test_bad_data_is_recorded_and_never_retried():
    ti = FakeTaskInstance()
    with pytest.raises(AirflowFailException, match="all 51 states are zero"), recording_step_errors(ti):
        raise DemandDataError("all 51 states are zero")
    assert ti.pushed["step_error"] == ["all 51 states are zero"]


def test_a_transient_error_is_recorded_and_left_to_airflows_retries():
    ti = FakeTaskInstance()
    with pytest.raises(ClosrtechUnavailable), recording_step_errors(ti):
        raise ClosrtechUnavailable("CLOSRTECH answered HTTP 503")
    assert ti.pushed["step_error"] == ["CLOSRTECH answered HTTP 503"]


def test_a_bug_is_recorded_with_its_secrets_masked_and_raised_as_it_is():
    recorded = []
    with pytest.raises(KeyError), failing_cleanly(recorded.append):
        raise KeyError("https://api.example/demand.php?pass=hunter22-secret")
    assert recorded == ["KeyError: 'https://api.example/demand.php?pass=***'"]


def test_an_adset_records_one_outcome_whether_it_succeeds_or_fails():
    ti = FakeTaskInstance()
    done = AdSetOutcome("1", "Core", Outcome.FAILED)
    with recording_adset_outcome(ti, done):
        done.outcome = Outcome.UPDATED
    failed = AdSetOutcome("2", "Mobile", Outcome.FAILED, added=["TX"])
    fails = pytest.raises(AirflowFailException, match=r"^ad set Mobile \(2\): bad targeting")
    with fails, recording_adset_outcome(ti, failed):
        raise DemandDataError("bad targeting")
    assert [(o["adset_id"], o["outcome"], o["error"]) for o in ti.pushed["adset_outcome"]] == [
        ("1", "updated", None),
        ("2", "failed", "bad targeting"),
    ]

"""The guards' Variable reader takes a value, and takes "missing" only once Airflow confirms it.

The transport itself is exercised by tests/integration/test_rerun.py (the Task SDK's client failing
under a real ``dag.test`` run); here ``Variable`` answers what the Task SDK would."""

import pytest

from closrads.airflow.guard_state import read_override, read_variable
from closrads.core.errors import GuardStateUnavailable


def test_a_value_is_taken_without_asking_more(variable):
    fake = variable(value={"fetched_at": "2026-12-01"}, keys_error=ConnectionError("never asked"))
    assert read_variable("closrads_guard", "the guard", deserialize_json=True) == {"fetched_at": "2026-12-01"}
    assert fake.listed == 0


def test_missing_is_believed_only_when_the_listing_confirms_it(variable):
    fake = variable(keys=["closrads_guard_other", "closrads_guardian"])  # same prefix, other Variables
    assert read_variable("closrads_guard", "the guard") is None
    assert fake.listed == 1


def test_a_record_created_between_the_read_and_the_listing_is_read_again(variable):
    """Two ad sets of one run on Celery: the first records the guard while the second reads it."""
    variable(value=[None, {"fetched_at": "2026-12-01"}], keys=["closrads_guard"])
    assert read_variable("closrads_guard", "the guard", deserialize_json=True) == {"fetched_at": "2026-12-01"}


@pytest.mark.parametrize(
    ("fake", "why"),
    [
        ({"keys": ["closrads_guard"]}, "it exists, but could not be read"),  # the read failed, silently
        ({"keys_error": ConnectionError("refused")}, "ConnectionError"),  # the listing failed, loudly
        ({"get_error": TimeoutError("slow")}, "TimeoutError"),
    ],
)
def test_anything_else_means_cannot_verify(variable, fake, why):
    variable(**fake)
    with pytest.raises(GuardStateUnavailable) as refused:
        read_variable("closrads_guard", "the guard")
    assert str(refused.value) == f"could not read the guard, Variable closrads_guard ({why}); not writing without it"
    assert refused.value.transient  # Airflow retries the task


def test_an_override_is_the_variable_a_person_set_and_blank_is_unset(variable):
    variable(by_name={"set": " hold ", "blank": "  "})
    assert read_override("set", "a setting") == " hold "
    assert read_override("blank", "a setting") is None
    assert read_override("unset", "a setting") is None
    variable(get_error=ConnectionError("API server away"))
    with pytest.raises(GuardStateUnavailable):  # unreadable is never "unset"
        read_override("set", "a setting")

"""The guards' Variable reader trusts only a value or Airflow's own "not found"; anything else fails closed.

The real transport is exercised by the integration tests (tests/integration/test_rerun.py); here the
Task SDK's channel to its supervisor answers what the supervisor would."""

import pytest
from airflow.sdk.exceptions import ErrorType
from airflow.sdk.execution_time import task_runner
from airflow.sdk.execution_time.comms import ErrorResponse, VariableResult

from closrads.airflow.guard_state import read_variable
from closrads.core.errors import GuardStateUnavailable


class Supervisor:
    def __init__(self, answer) -> None:
        self.answer = answer

    def send(self, message):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.fixture
def supervisor(monkeypatch):
    def answering(answer):
        monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", Supervisor(answer), raising=False)

    monkeypatch.delenv("AIRFLOW_VAR_CLOSRADS_GUARD", raising=False)
    return answering


def test_a_value_and_airflows_not_found_are_the_only_answers_it_trusts(supervisor):
    supervisor(VariableResult(key="closrads_guard", value='{"fetched_at": "2026-12-01"}'))
    assert read_variable("closrads_guard", "the guard") == '{"fetched_at": "2026-12-01"}'
    supervisor(ErrorResponse(error=ErrorType.VARIABLE_NOT_FOUND, detail={"key": "closrads_guard"}))
    assert read_variable("closrads_guard", "the guard") is None


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (ErrorResponse(error=ErrorType.API_SERVER_ERROR, detail={"status_code": None}), "API_SERVER_ERROR"),
        (ErrorResponse(error=ErrorType.PERMISSION_DENIED, detail={}), "PERMISSION_DENIED"),
        (ConnectionError("refused"), "ConnectionError"),
        ("something else", "str"),
    ],
)
def test_anything_else_means_cannot_verify(supervisor, answer, why):
    supervisor(answer)
    with pytest.raises(GuardStateUnavailable) as refused:
        read_variable("closrads_guard", "the guard")
    assert str(refused.value) == f"could not read the guard, Variable closrads_guard ({why}); not writing without it"
    assert refused.value.transient  # Airflow retries the task


def test_an_environment_variable_comes_first_as_in_airflows_lookup(supervisor, monkeypatch):
    supervisor(ConnectionError("never asked"))
    monkeypatch.setenv("AIRFLOW_VAR_CLOSRADS_GUARD", "7")
    assert read_variable("closrads_guard", "the guard") == "7"

"""Reading the state a safety guard decides by, failing closed whatever the transport does.

``Variable.get(name, default=...)`` cannot tell "this Variable does not exist" from "the API server
could not be asked": the Task SDK's secrets backend turns any error answer into "not found", so a
guard would read an outage as "nothing recorded" and write (seen with the API server killed mid-run).
:func:`read_variable` asks the execution API itself and trusts only two answers: a value, or the API
server's own "not found" (HTTP 404). Anything else is :class:`GuardStateUnavailable`: the task fails
as transient and Airflow retries it; nothing is written without the guard's state.
"""

from __future__ import annotations

import os

from closrads.core.errors import GuardStateUnavailable


def read_variable(name: str, purpose: str) -> str | None:
    """The Variable's raw value, ``None`` only when Airflow answers that it does not exist.

    An ``AIRFLOW_VAR_*`` environment variable comes first, as in Airflow's own lookup order.
    ``purpose`` names the guard in the error ("the stale re-run guard's record").
    """
    from_env = os.environ.get(f"AIRFLOW_VAR_{name.upper()}")
    if from_env is not None:
        return from_env
    from airflow.sdk.exceptions import ErrorType
    from airflow.sdk.execution_time.comms import ErrorResponse, GetVariable, VariableResult
    from airflow.sdk.execution_time.task_runner import SUPERVISOR_COMMS

    try:
        answer = SUPERVISOR_COMMS.send(GetVariable(key=name))
    except Exception as exc:  # noqa: BLE001 - any failure to ask is "cannot verify"
        raise GuardStateUnavailable(
            f"could not read {purpose}, Variable {name} ({type(exc).__name__}); not writing without it"
        ) from None
    if isinstance(answer, VariableResult):
        return answer.value
    if isinstance(answer, ErrorResponse) and answer.error == ErrorType.VARIABLE_NOT_FOUND:
        return None
    why = answer.error.value if isinstance(answer, ErrorResponse) else type(answer).__name__
    raise GuardStateUnavailable(f"could not read {purpose}, Variable {name} ({why}); not writing without it")

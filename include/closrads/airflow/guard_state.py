"""Reading the state a safety guard decides by, failing closed whatever the transport does.

``Variable.get(name, default=...)`` cannot tell "this Variable does not exist" from "the API server
could not be asked": the Task SDK's execution-API secrets backend turns any failure into "not
found", so a guard would read an outage as "nothing recorded" and write (seen with the API server
killed mid-run). :func:`read_variable` therefore never takes "not found" on trust: it confirms it by
listing the Variable's key (``Variable.keys``), which raises on any failure instead of answering
empty. A Variable that exists but read as missing, or a listing that fails, is
:class:`GuardStateUnavailable`: the task fails as transient, Airflow retries it, and nothing is
written without the guard's state. The extra request is made only when a Variable reads as missing.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Variable

from closrads.core.errors import GuardStateUnavailable


def read_variable(name: str, purpose: str, *, deserialize_json: bool = False) -> Any:
    """The Variable's value; ``None`` only when Airflow confirms that it does not exist.

    ``purpose`` names the guard in the error ("the stale re-run guard's record").
    """
    try:
        value = Variable.get(name, default=None, deserialize_json=deserialize_json)
        if value is not None:
            return value
        if name not in list(Variable.keys(prefix=name)):  # raises when Airflow cannot be asked
            return None
        # It exists now: another task (of this run, say) created it between the two requests, or the
        # first read failed. Read it again; a second miss is a read that fails, not a missing record.
        value = Variable.get(name, default=None, deserialize_json=deserialize_json)
    except Exception as exc:  # noqa: BLE001 - any failure to ask is "cannot verify"
        raise _unavailable(name, purpose, type(exc).__name__) from None
    if value is None:
        raise _unavailable(name, purpose, "it exists, but could not be read")
    return value


def read_override(name: str, purpose: str) -> Any:
    """A campaign setting's Variable as written, when a person set it (``None``: unset or blank, so the
    registry's value applies). Fails closed like :func:`read_variable`: unreadable is never "unset"."""
    raw = read_variable(name, purpose)
    return raw if raw is not None and str(raw).strip() else None


def _unavailable(name: str, purpose: str, why: str) -> GuardStateUnavailable:
    return GuardStateUnavailable(f"could not read {purpose}, Variable {name} ({why}); not writing without it")


def write_variable(name: str, value: Any, purpose: str, *, record: str) -> None:
    """Record guard state as a JSON Variable. Fails closed: a record that cannot be written is a transient
    error (Airflow retries the task), never a write made without it.

    ``record`` names the record in the Variable's description, so the Variables page tells an operator
    that CLOSRADS keeps it (their own switches, such as ``closrads_dry_run``, have none).
    """
    description = f"Kept by CLOSRADS: {record}. Do not edit (docs/design.md)."
    try:
        Variable.set(name, value, description=description, serialize_json=True)
    except Exception as exc:  # noqa: BLE001 - no write without the guard's record
        raise GuardStateUnavailable(
            f"could not record {purpose} in Variable {name} ({type(exc).__name__}); nothing was written"
        ) from None

"""Resolve a run's mode (dry or live) from Airflow's run type, the ``dry_run`` param and the Variable.

Called once per run, by its first task; every later task receives the result through XCom, so a
Variable edited mid-run cannot split one run into dry and live halves (docs/design.md, "Dry by default").
"""

from __future__ import annotations

import logging

from airflow.sdk import Variable

from closrads.airflow.campaign import campaign_of
from closrads.core.run_mode import RunMode, resolve_run_mode

log = logging.getLogger(__name__)

# The run type of runs the scheduler creates (Airflow's DagRunType.SCHEDULED; the Task SDK exposes
# the run type as that enum or its string value).
SCHEDULED_RUN_TYPE = "scheduled"


def resolve_mode(context) -> RunMode:
    """The mode of the running DAG run (scheduled runs: its campaign's Variable). Never raises: anything
    unreadable keeps the run dry."""
    try:
        variable_name = campaign_of(context).dry_run_variable
    except Exception as exc:  # noqa: BLE001 - the registry changed since the DAG was parsed: stay dry, say why
        return RunMode(True, f"this DAG's campaign could not be read from the registry ({exc})", invalid=True)
    run_type = getattr(context["dag_run"], "run_type", None)
    scheduled = str(getattr(run_type, "value", run_type)) == SCHEDULED_RUN_TYPE
    variable, error = None, None
    if scheduled:
        try:
            variable = Variable.get(variable_name, default=None)
        except Exception as exc:  # noqa: BLE001 - an unreadable Variable keeps the run dry, and says why
            error = type(exc).__name__
    return resolve_run_mode(
        scheduled=scheduled,
        dry_run_param=context["params"].get("dry_run"),
        dry_run_variable=variable,
        variable_error=error,
        variable_name=variable_name,
    )


def announce_mode(mode: RunMode) -> None:
    """Log the mode and why, as every task that could write does."""
    if mode.invalid:
        log.error("Run mode: %s", mode.describe())
    elif mode.dry_run:
        log.warning("Run mode: %s - nothing will be written to Facebook", mode.describe())
    else:
        log.info("Run mode: %s - ad set targeting will be written to Facebook", mode.describe())

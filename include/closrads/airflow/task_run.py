"""What a running CLOSRADS task is: its campaign, its DAG run and its mode, resolved once at its start.

Every campaign's DAGs are generated from the registry (:mod:`closrads.core.campaigns`), so a task
finds its campaign's Connections, Variables and Slack from its own DAG id: the same file the DAG was
parsed from, read once per process. Nothing about a campaign travels through params (a person
triggering a run could change those) or XCom.

A task body calls :meth:`TaskRun.of` (and, for the first task of a run, :func:`resolve_mode`) with
Airflow's context once, then hands its helpers only the values they use, so the helpers can be
tested without a fake context.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.sdk import Variable

from closrads.airflow.xcom import XComKey
from closrads.core.campaigns import Campaign, load_registry
from closrads.core.run_mode import RunMode, resolve_run_mode

if TYPE_CHECKING:
    from closrads.airflow.hooks.closrtech import ClosrtechHook
    from closrads.airflow.hooks.facebook_ads import FacebookAdsHook

log = logging.getLogger(__name__)

# The run type of runs the scheduler creates (Airflow's DagRunType.SCHEDULED; the Task SDK exposes
# the run type as that enum or its string value).
SCHEDULED_RUN_TYPE = "scheduled"


def campaign_for_dag(dag_id: str) -> Campaign:
    """The campaign whose sync or rollback DAG this is."""
    return load_registry().for_dag(dag_id)


def dag_id_of(context) -> str:
    """The running DAG's id: from the DAG, or from the task instance (a callback may have only that)."""
    dag = context.get("dag")
    return str(getattr(dag, "dag_id", None) or getattr(context.get("ti"), "dag_id", None))


@dataclass(frozen=True)
class TaskRun:
    """One running task of one campaign's DAG run.

    ``ti`` is the Task SDK's task instance (XCom, task states); ``params`` the run's typed params,
    validated by Airflow against their schema when the run was created; ``outlet_events`` where a task
    that writes targeting adds its audit records (:mod:`closrads.airflow.audit_trail`).
    """

    campaign: Campaign
    dag_id: str
    run_id: str
    ti: Any
    params: Mapping[str, Any]
    outlet_events: Any = None

    @classmethod
    def of(cls, context) -> TaskRun:
        dag_id = dag_id_of(context)
        return cls(
            campaign_for_dag(dag_id),
            dag_id,
            str(context["run_id"]),
            context["ti"],
            context.get("params") or {},
            context.get("outlet_events"),
        )

    @property
    def try_number(self) -> int | None:
        return int(getattr(self.ti, "try_number", 0) or 0) or None

    def flag(self, name: str) -> bool:
        """A boolean param of the trigger form, as Airflow validated it (absent: off)."""
        return self.params.get(name) is True

    def facebook_hook(self, timeout: float | None = None) -> FacebookAdsHook:
        """The campaign's Graph hook: its Connection, held to the ad account the registry names
        (``timeout``: seconds per request, where not the hook's default)."""
        from closrads.airflow.hooks.facebook_ads import FacebookAdsHook  # run time only: DAG files import this

        extra = {"timeout": timeout} if timeout is not None else {}
        return FacebookAdsHook(
            facebook_conn_id=self.campaign.facebook_conn_id, ad_account_id=self.campaign.ad_account_id, **extra
        )

    def closrtech_hook(self) -> ClosrtechHook:
        from closrads.airflow.hooks.closrtech import ClosrtechHook

        return ClosrtechHook(closrtech_conn_id=self.campaign.closrtech_conn_id)


def resolve_mode(context) -> RunMode:
    """The mode of the running DAG run, decided by its first task (scheduled runs: the campaign's
    Variable; others: the ``dry_run`` param). Never raises: anything unreadable keeps the run dry."""
    try:
        variable_name = campaign_for_dag(dag_id_of(context)).dry_run_variable
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
        dry_run_param=(context.get("params") or {}).get("dry_run"),
        dry_run_variable=variable,
        variable_error=error,
        variable_name=variable_name,
    )


def decide_mode(context) -> RunMode:
    """What the first task of a run does before anything else: decide the run's mode, record it (XCom
    ``run_mode``) for every later task and the report, which states it even when the task then fails,
    and say it."""
    mode = resolve_mode(context)
    context["ti"].xcom_push(key=XComKey.RUN_MODE, value=mode.to_dict())
    announce_mode(mode)
    return mode


def announce_mode(mode: RunMode) -> None:
    """Log the mode and why, as every task that could write does."""
    if mode.invalid:
        log.error("Run mode: %s", mode.describe())
    elif mode.dry_run:
        log.warning("Run mode: %s - nothing will be written to Facebook", mode.describe())
    else:
        log.info("Run mode: %s - ad set targeting will be written to Facebook", mode.describe())

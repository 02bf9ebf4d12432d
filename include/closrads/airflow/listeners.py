"""CLOSRADS's Airflow listener (registered by the ``closrads_pools`` plugin): it runs in the scheduler.

When a run of a campaign's DAG starts, it makes sure the campaign's Graph pool exists
(:func:`closrads.airflow.pools.ensure_graph_pool`), so a campaign added to the registry of a running
deployment never has a run that waits for ever on a pool nobody created. Nothing else is imported
until a run starts: every Airflow process loads its plugins' listeners.
"""

from __future__ import annotations

import logging

from airflow.listeners import hookimpl

log = logging.getLogger(__name__)


@hookimpl
def on_dag_run_running(dag_run, msg: str) -> None:
    from sqlalchemy.orm import object_session

    from closrads.airflow.pools import ensure_graph_pool

    session = object_session(dag_run)
    if session is None:  # a run not attached to a session (no scheduler here): nothing to do
        return
    try:
        ensure_graph_pool(dag_run.dag_id, session)
    except Exception:  # a listener must never break the scheduler's loop
        log.exception("Could not make sure the Graph pool of %s exists", dag_run.dag_id)

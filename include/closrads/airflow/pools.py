"""The Airflow pools that bound concurrent Graph calls: one per ad account of the campaign registry.

Meta's rate limits are per ad account, and the people in Ads Manager share them with CLOSRADS, so
every task that calls Graph runs in its campaign's pool (``Campaign.graph_pool``): all the campaigns
and rollbacks of one ad account share its slots, and a busy account never holds up another's.
A task in a pool that does not exist is never scheduled (its run would hang until its timeout), so
CLOSRADS creates the pools it owns itself: :func:`ensure_graph_pool` runs in the scheduler when a
run of a campaign's DAG starts (the ``closrads_pools`` plugin's listener), so a campaign added to the
registry of a running deployment gets its pool with its first run, without a restart. The pools of
the whole registry can also be created up front (``make airflow`` and compose's ``airflow-init`` do)::

    python -m closrads.airflow.pools pools.json && airflow pools import pools.json
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from closrads.core.campaigns import Registry, RegistryError, load_registry

GRAPH_POOL_SLOTS = 4
log = logging.getLogger(__name__)


def graph_pools(registry: Registry) -> dict[str, dict]:
    """The pools the registry's campaigns need, in ``airflow pools import`` form."""
    campaigns_of: dict[str, list[str]] = {}
    accounts: dict[str, str | None] = {}
    for campaign in registry.campaigns:
        campaigns_of.setdefault(campaign.graph_pool, []).append(campaign.slug)
        accounts[campaign.graph_pool] = campaign.ad_account_id
    return {
        pool: {
            "slots": GRAPH_POOL_SLOTS,
            "description": f"CLOSRADS Graph API calls of ad account {accounts[pool] or '(one ad account)'}: "
            + ", ".join(slugs),
            "include_deferred": False,
        }
        for pool, slugs in campaigns_of.items()
    }


def ensure_graph_pool(dag_id: str, session) -> str | None:
    """Create the Graph pool of the campaign that owns ``dag_id`` unless it exists (``session``: the
    scheduler's, so the pool is committed with the run it starts). Returns the pool it created."""
    from airflow.models.pool import Pool
    from sqlalchemy import select

    try:
        registry = load_registry()
        pool = registry.for_dag(dag_id).graph_pool
    except RegistryError:
        return None  # not a CLOSRADS DAG (or a registry that cannot be read: its DAGs fail parsing anyway)
    if session.scalar(select(Pool.pool).where(Pool.pool == pool)) is not None:
        return None
    settings = graph_pools(registry)[pool]
    session.add(Pool(pool=pool, slots=settings["slots"], description=settings["description"], include_deferred=False))
    session.flush()
    log.warning("Created the Airflow pool %s (%d slots) for %s: it did not exist yet", pool, settings["slots"], dag_id)
    return pool


def main(argv: list[str] | None = None) -> int:
    """Write the pools file (``airflow pools import`` reads it); without a path, print it."""
    args = sys.argv[1:] if argv is None else argv
    text = json.dumps(graph_pools(load_registry()), indent=2)
    if args:
        Path(args[0]).write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

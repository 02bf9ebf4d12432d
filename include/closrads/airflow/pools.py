"""The Airflow pools that bound concurrent Graph calls: one per ad account of the campaign registry.

Meta's rate limits are per ad account, and the people in Ads Manager share them with CLOSRADS, so
every task that calls Graph runs in its campaign's pool (``Campaign.graph_pool``): all the campaigns
and rollbacks of one ad account share its slots, and a busy account never holds up another's.
A task in a pool that does not exist is never scheduled, so the pools are created with the
deployment and again whenever the registry changes::

    python -m closrads.airflow.pools pools.json && airflow pools import pools.json

(``make airflow``, the compose file's ``airflow-init`` and the deployment test do exactly that.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from closrads.core.campaigns import Registry, load_registry

GRAPH_POOL_SLOTS = 4


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

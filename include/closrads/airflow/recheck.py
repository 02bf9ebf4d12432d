"""The report's second look: re-read the ad sets whose recorded outcome may not be the whole truth.

An ``update_adset`` whose process died recorded nothing; one that ran more than once recorded only
its last try, and an earlier try's write may have landed after that try read the ad set. Before the
report says what the run did, it reads those ad sets once more and compares their US states with the
demand, so the operator never reads "skipped" or "unknown" for an ad set that holds something else.
"""

from __future__ import annotations

import logging

from closrads.airflow.hooks.facebook_ads import FacebookAdsHook
from closrads.core.errors import ClosradsError
from closrads.core.learning_phase import StatePolicy
from closrads.core.report import AdSetOutcome
from closrads.core.targeting import plan_geo_update, usable_targeting

log = logging.getLogger(__name__)


def recheck_uncertain(adsets: list[AdSetOutcome], policy: StatePolicy, hook: FacebookAdsHook) -> None:
    """Re-read every ad set that :attr:`~AdSetOutcome.needs_recheck` and record whether its regions are
    what the run's ``policy`` asks of it."""
    uncertain = [adset for adset in adsets if adset.needs_recheck]
    if not uncertain:
        return
    log.info("Re-reading %d ad set(s) whose task died or ran more than once", len(uncertain))
    for adset in uncertain:
        try:
            targeting = usable_targeting(hook.get_adset(adset.adset_id).get("targeting"))
            plan = plan_geo_update(targeting, policy.regions_for(targeting))
        except ClosradsError as exc:
            adset.recheck_failed(str(exc))
        else:
            if plan.needs_write:
                adset.contradict(plan.describe())
            else:
                adset.confirm()
        log.info("Ad set %s: %s", adset.adset_id, adset.recheck)

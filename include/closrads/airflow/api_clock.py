"""The one warning line every CLOSRADS Slack message carries while the campaign's Graph API version
nears its end (:mod:`closrads.core.api_versions`): the reports, the approval requests, the alerts."""

from __future__ import annotations

import logging

from closrads.core.campaigns import Campaign

log = logging.getLogger(__name__)


def version_warning(campaign: Campaign) -> str | None:
    """The warning while the campaign's Facebook Connection pins a version that ends within
    :data:`~closrads.core.api_versions.WARN_DAYS` days; ``None`` otherwise. Reads the Connection, makes no
    request; a Connection that cannot be read gives no warning (the task that needs it says why)."""
    from closrads.airflow.hooks.facebook_ads import FacebookAdsHook  # at run time: DAG files import callers

    try:
        settings = FacebookAdsHook(campaign.facebook_conn_id, ad_account_id=campaign.ad_account_id).settings
    except Exception as exc:  # noqa: BLE001 - a message goes out without the line rather than not at all
        log.debug("No Graph API version warning: %s", type(exc).__name__)
        return None
    return settings.clock().warning()

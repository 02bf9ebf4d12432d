"""Fixtures shared by the integration tests."""

from __future__ import annotations

import uuid

import pytest

from closrads.core.campaigns import Campaign, load_registry
from sandbox.scenario import AD_ACCOUNT_ID, generated_scenario


@pytest.fixture
def campaign(sandbox, campaign_registry) -> Campaign:
    """A campaign of 3 ACTIVE ad sets (each needing a 6-state change), of its own: a registry entry with a
    fresh slug on the sandbox's default Connections, so its Variables and audit trail hold only its own
    runs, whatever other tests of this worker wrote to the shared metadata DB. Change guard open (51)."""
    sandbox.reset(generated_scenario(3))
    campaign_registry(
        [
            {
                "slug": f"c_{uuid.uuid4().hex[:10]}",
                "closrtech_conn_id": "closrtech_default",
                "facebook_conn_id": "facebook_ads_default",
                "ad_account_id": AD_ACCOUNT_ID,
                "schedule": None,
                "approval_threshold": 51,
            }
        ]
    )
    (entry,) = load_registry().campaigns
    return entry

"""The default sandbox world: a realistic campaign and a realistic day of CLOSRTECH demand.

Credentials are obviously fake; the tests still check that none of them leaks into logs.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

from closrads.core.regions import load_region_keys

REGION_KEYS = load_region_keys()

CLOSRTECH_EMAIL = "ops@closrads.example"
CLOSRTECH_PASSWORD = "sandbox-closrtech-p4ss-Zq81"
CLOSRTECH_CAMPAIGN = "VND_VETERAN_LEADS"
ACCESS_TOKEN = "sandbox-graph-token-Xv93LmQ2"
AD_ACCOUNT_ID = "act_1029384756"
CAMPAIGN_ID = "120209876500000001"
SLACK_WEBHOOK_PATH = "/slack/services/T0SANDBOX/B0SANDBOX/sandbox-webhook-secret-Kd7"

# All 51 codes, as CLOSRTECH lists them: some states want nothing today.
DEFAULT_DEMAND = {
    "AL": 6, "AK": 0, "AZ": 9, "AR": 3, "CA": 22, "CO": 7, "CT": 0, "DE": 0, "DC": 1, "FL": 18,
    "GA": 11, "HI": 0, "ID": 2, "IL": 10, "IN": 5, "IA": 0, "KS": 3, "KY": 4, "LA": 5, "ME": 0,
    "MD": 6, "MA": 0, "MI": 8, "MN": 4, "MS": 2, "MO": 5, "MT": 0, "NE": 1, "NV": 6, "NH": 0,
    "NJ": 7, "NM": 3, "NY": 12, "NC": 13, "ND": 0, "OH": 15, "OK": 4, "OR": 3, "PA": 9, "RI": 0,
    "SC": 6, "SD": 0, "TN": 8, "TX": 24, "UT": 2, "VT": 0, "VA": 10, "WA": 5, "WV": 1, "WI": 3,
    "WY": 0,
}  # fmt: skip


def regions(*codes: str) -> list[dict]:
    """Region objects as Graph returns them in targeting."""
    return [region_entry(code) for code in codes]


def region_entry(code: str) -> dict:
    return {"key": REGION_KEYS[code]["key"], "name": REGION_KEYS[code]["name"], "country": "US"}


def state_of(region: dict) -> str | None:
    """The USPS code of a targeting region entry (``None``: not a US state)."""
    return next((code for code, entry in REGION_KEYS.items() if entry["key"] == str(region.get("key"))), None)


def learning(status: str, days_ago: float) -> dict:
    """``learning_stage_info`` as Meta reports it: a status and the last significant edit (Unix seconds)."""
    return {"status": status, "last_sig_edit_ts": int(time.time() - days_ago * 86400), "conversions": 12}


def demanded_codes(demand: dict) -> list[str]:
    return sorted(code for code, value in demand.items() if int(value) > 0)


def _targeting(codes, **extra) -> dict:
    base = {
        "age_min": 35,
        "age_max": 65,
        "genders": [1, 2],
        "geo_locations": {"regions": regions(*codes), "location_types": ["home", "recent"]},
        "publisher_platforms": ["facebook", "instagram"],
        "facebook_positions": ["feed", "marketplace", "video_feeds"],
        "instagram_positions": ["stream", "story"],
        "device_platforms": ["mobile", "desktop"],
        "targeting_automation": {"advantage_audience": 0},
    }
    base.update(extra)
    return base


def _adset(
    num: int,
    name: str,
    status: str,
    targeting: dict,
    account: str = AD_ACCOUNT_ID,
    campaign_id: str = CAMPAIGN_ID,
    id_prefix: str = "12021555",
    learning: dict | None = None,
) -> dict:
    adset = {
        "id": f"{id_prefix}000000{num:04d}",
        "name": name,
        "effective_status": status,
        "status": "ACTIVE" if status == "CAMPAIGN_PAUSED" else status,
        "account_id": account.removeprefix("act_"),
        "campaign_id": campaign_id,
        "targeting": targeting,
    }
    if learning is not None:  # Meta's learning state; absent: Meta reports none for this ad set
        adset["learning_stage_info"] = learning
    return adset


def default_scenario() -> dict:
    """A campaign of 8 ad sets (3 pages of 3), 6 ACTIVE: most need new states, one already matches. Meta
    reports a learning state for three of them (one still learning since yesterday), none for the rest."""
    wanted = demanded_codes(DEFAULT_DEMAND)
    yesterday = [c for c in wanted if c not in ("TX", "WV", "NE")] + ["AK", "MA", "VT"]
    adsets = [
        _adset(1, "Veterans - Core - Broad", "ACTIVE", _targeting(yesterday), learning=learning("SUCCESS", 12)),
        _adset(
            2,
            "Veterans - Spouses 45+",
            "ACTIVE",
            _targeting(
                yesterday,
                age_min=45,
                genders=[2],
                interests=[{"id": "6003139266461", "name": "Military"}, {"id": "6003020834693", "name": "Veterans"}],
            ),
            learning=learning("LEARNING", 1),  # edited yesterday: Meta is still learning it
        ),
        _adset(
            3,
            "Veterans - Lookalike 1%",
            "ACTIVE",
            _targeting(
                wanted,
                custom_audiences=[{"id": "23850000000000001", "name": "Lookalike (US, 1%) - Converted leads"}],
                excluded_custom_audiences=[{"id": "23850000000000002", "name": "Existing customers"}],
            ),
        ),
        _adset(4, "Veterans - Retargeting 30d", "PAUSED", _targeting(["OH", "TX"])),
        _adset(
            5,
            "Veterans - Mobile only",
            "ACTIVE",
            _targeting(
                ["OH", "PA", "NY"],
                device_platforms=["mobile"],
                user_os=["iOS", "Android"],
                flexible_spec=[{"behaviors": [{"id": "6002714895372", "name": "Veterans (US)"}]}],
            ),
            learning=learning("SUCCESS", 30),
        ),
        _adset(
            6,
            "Veterans - Southeast",
            "ACTIVE",
            _targeting(
                ["FL", "GA", "AL", "SC"],
                geo_locations={
                    "regions": regions("FL", "GA", "AL", "SC"),
                    "location_types": ["home"],
                    "excluded_zips": [
                        {"key": "US:32801", "name": "32801", "primary_city_id": 2421836, "region_id": 3852}
                    ],
                },
            ),
        ),
        _adset(7, "Veterans - Old test (archived)", "ARCHIVED", _targeting(["CA"])),
        _adset(
            8,
            "Veterans - Canada cross-border",
            "ACTIVE",
            _targeting(
                yesterday,
                geo_locations={
                    "regions": regions(*yesterday),
                    "countries": ["CA"],
                    "location_types": ["home", "recent"],
                },
                locales=[6, 24],
            ),
        ),
    ]
    return {"demand": dict(DEFAULT_DEMAND), "adsets": adsets, "page_size": 3}


def generated_scenario(count: int, latency_ms: float = 0) -> dict:
    """A campaign of ``count`` ACTIVE ad sets (pages of 100, as Graph allows), for scale tests and the
    benchmark. Every ad set targets yesterday's states, so a live run changes each one by 6 states
    (under the change guard's default threshold); ``latency_ms`` delays every CLOSRTECH/Graph answer.
    """
    wanted = demanded_codes(DEFAULT_DEMAND)
    yesterday = [c for c in wanted if c not in ("TX", "WV", "NE")] + ["AK", "MA", "VT"]
    adsets = [_adset(num, f"Generated {num:05d}", "ACTIVE", _targeting(yesterday)) for num in range(1, count + 1)]
    return {"demand": dict(DEFAULT_DEMAND), "adsets": adsets, "page_size": 100, "latency_ms": latency_ms}


@dataclass(frozen=True)
class SandboxCampaign:
    """One more campaign of a multi-campaign sandbox: a CLOSRTECH campaign of its own, a Facebook
    campaign in an ad account of its own, and an access token that may touch only that account."""

    number: int  # 1, 2, ...

    @property
    def slug(self) -> str:
        return f"client_{self.number:02d}"

    @property
    def closrtech_campaign(self) -> str:
        return f"VND_CLIENT_{self.number:02d}"

    @property
    def ad_account_id(self) -> str:
        return f"act_77{self.number:08d}"

    @property
    def campaign_id(self) -> str:
        return f"1203{self.number:04d}00000001"

    @property
    def access_token(self) -> str:
        return f"sandbox-graph-token-client-{self.number:02d}-Rk5"

    @property
    def closrtech_conn_id(self) -> str:
        return f"closrtech_{self.slug}"

    @property
    def facebook_conn_id(self) -> str:
        return f"facebook_ads_{self.slug}"

    def demand(self) -> dict[str, int]:
        """Each campaign wants a different set of states: today's default demand, less every state whose
        position in the list is a multiple of (its number + 1)."""
        demand = {
            code: 0 if position % (self.number + 1) == 0 else wanted
            for position, (code, wanted) in enumerate(DEFAULT_DEMAND.items(), start=1)
        }
        return demand | {"TX": 5}  # never all zero

    def adsets(self, count: int) -> list[dict]:
        yesterday = [c for c in demanded_codes(DEFAULT_DEMAND) if c not in ("TX", "WV", "NE")] + ["AK", "MA", "VT"]
        return [
            _adset(
                num,
                f"Client {self.number:02d} - ad set {num}",
                "ACTIVE",
                _targeting(yesterday),
                account=self.ad_account_id,
                campaign_id=self.campaign_id,
                id_prefix=f"1204{self.number:04d}",
            )
            for num in range(1, count + 1)
        ]

    def registry_entry(self, **fields) -> dict:
        """Its entry in a campaign registry (``include/campaigns.yaml``)."""
        return {
            "slug": self.slug,
            "client": f"client {self.number:02d}",
            "closrtech_conn_id": self.closrtech_conn_id,
            "facebook_conn_id": self.facebook_conn_id,
            "ad_account_id": self.ad_account_id,
        } | fields


# The default campaign's registry entry: it keeps closrads_sync, its Connections and history (legacy_names).
DEFAULT_REGISTRY_ENTRY = {
    "slug": "veterans",
    "legacy_names": True,
    "closrtech_conn_id": "closrtech_default",
    "facebook_conn_id": "facebook_ads_default",
    "ad_account_id": AD_ACCOUNT_ID,
}


def registry(campaigns: list[SandboxCampaign]) -> dict:
    """A campaign registry for this sandbox: the default campaign (still ``closrads_sync``) and each client."""
    return {"campaigns": [dict(DEFAULT_REGISTRY_ENTRY), *(campaign.registry_entry() for campaign in campaigns)]}


def default_campaign_only(scenario: dict) -> dict:
    """A scenario with only the default campaign's ad sets, as they are now (a base for new client campaigns)."""
    default_campaign = default_scenario()["adsets"][0]["campaign_id"]
    return clone(scenario) | {"adsets": [a for a in scenario["adsets"] if a["campaign_id"] == default_campaign]}


def sandbox_campaigns(count: int) -> list[SandboxCampaign]:
    return [SandboxCampaign(number) for number in range(1, count + 1)]


def multi_campaign_scenario(
    count: int, adsets_per_campaign: int, latency_ms: float = 0, base: dict | None = None
) -> dict:
    """The default scenario (or ``base``) plus ``count`` client campaigns of ``adsets_per_campaign`` ACTIVE
    ad sets each, every one with its own CLOSRTECH demand, Facebook campaign, ad account and access token."""
    scenario = clone(base) if base is not None else default_scenario()
    campaigns = sandbox_campaigns(count)
    for campaign in campaigns:
        scenario["adsets"] += campaign.adsets(adsets_per_campaign)
    scenario["demands"] = {campaign.closrtech_campaign: campaign.demand() for campaign in campaigns}
    scenario["tokens"] = {campaign.access_token: [campaign.ad_account_id] for campaign in campaigns}
    scenario["latency_ms"] = latency_ms
    return scenario


def clone(scenario: dict) -> dict:
    return copy.deepcopy(scenario)

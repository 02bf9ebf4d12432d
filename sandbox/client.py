"""A small client for the sandbox control API, shared by the tests, the demo and the CLI."""

from __future__ import annotations

import json
import urllib.request

from closrads.core.regions import state_for_key
from sandbox import scenario as defaults
from sandbox.scenario import SandboxCampaign


class SandboxClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _call(self, method: str, route: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}/_sandbox/{route}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    # reads
    def healthy(self) -> bool:
        try:
            return bool(self._call("GET", "health")["ok"])
        except OSError:
            return False

    def state(self) -> dict:
        return self._call("GET", "state")

    def requests(self, service: str | None = None, **match) -> list[dict]:
        rows = self._call("GET", "requests")
        return [
            r
            for r in rows
            if (service is None or r["service"] == service) and all(r.get(k) == v for k, v in match.items())
        ]

    def graph_writes(self) -> list[dict]:
        """Graph requests that could change something (POSTs that are not ``validate_only``)."""
        return [r for r in self.requests("graph", method="POST") if not r.get("validate_only")]

    def graph_validations(self) -> list[dict]:
        """Updates sent with ``execution_options=["validate_only"]``: Meta checks them, nothing changes."""
        return self.requests("graph", method="POST", validate_only=True)

    def slack_messages(self) -> list[dict]:
        return self._call("GET", "slack")

    def adset(self, adset_id: str) -> dict:
        return next(a for a in self.state()["adsets"] if a["id"] == adset_id)

    def targeted_states(self) -> dict[str, list[str]]:
        """Ad set id -> the USPS codes its targeting holds now."""
        return {
            a["id"]: sorted(state_for_key(r["key"]) for r in a["targeting"].get("geo_locations", {}).get("regions", []))
            for a in self.state()["adsets"]
        }

    # changes
    def reset(self, scenario: dict | None = None) -> None:
        self._call("POST", "reset", scenario)

    def add_fault(self, target: str, times: int = 1, **details) -> list[dict]:
        """``target``: closrtech | listing | graph | slack. See SandboxState.take_fault. Returns the queue."""
        return self._call("POST", "faults", {"target": target, "times": times, **details})["pending"]

    def release_held(self) -> None:
        """Let the Graph requests held by a ``hold`` fault go on (a write held at Graph lands now)."""
        self._call("POST", "release", {})

    def faults(self) -> list[dict]:
        return self._call("GET", "faults")

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def set_latency(self, milliseconds: float) -> None:
        """Answer every CLOSRTECH/Graph request this late (a real API's round trip; 0: at once)."""
        self._call("POST", "scenario", {"latency_ms": milliseconds})

    def set_demand(self, demand) -> None:
        self._call("POST", "demand", demand)

    def update_scenario(self, **fields) -> None:
        """Set scenario fields, e.g. ``upgraded_versions=["v25.0"], upgrade_to="v26.0"``."""
        self._call("POST", "scenario", fields)

    def update_adset(self, adset_id: str, **fields) -> dict:
        return self._call("POST", f"adsets/{adset_id}", fields)

    def edit_adset(self, adset_id: str, add: list[str] = (), remove: list[str] = ()) -> dict:
        """Edit an ad set's US states as a person in Ads Manager would: Meta records a significant edit."""
        return self._call("POST", f"adsets/{adset_id}/edit", {"add": list(add), "remove": list(remove)})

    def set_score(self, budget: int | None, window: float = 60.0, block: float = 60.0) -> dict:
        """Emulate the ad account's rate-limit score (reads cost 1, writes 3); ``budget=None`` turns it off."""
        return self._call("POST", "score", {"budget": budget, "window": window, "block": block})

    def set_credentials(self, **credentials) -> None:
        self._call("POST", "credentials", credentials)


def airflow_connections(base_url: str) -> dict[str, dict]:
    """The three sandbox Connections, in the JSON form ``airflow connections import`` and
    ``AIRFLOW_CONN_<ID>`` environment variables both accept."""
    return {
        "closrtech_default": {
            "conn_type": "closrtech",  # CLOSRADS's own Connection types: the form's Test button runs the hooks'
            "host": base_url,
            "login": defaults.CLOSRTECH_EMAIL,
            "password": defaults.CLOSRTECH_PASSWORD,
            "extra": {"campaign": defaults.CLOSRTECH_CAMPAIGN},
        },
        "facebook_ads_default": {
            "conn_type": "closrads_facebook_ads",
            "password": defaults.ACCESS_TOKEN,
            "extra": {
                "ad_account_id": defaults.AD_ACCOUNT_ID,
                "campaign_id": defaults.CAMPAIGN_ID,
                "graph_url": base_url,
            },
        },
        "closrads_slack": {
            "conn_type": "slackwebhook",
            "password": f"{base_url}{defaults.SLACK_WEBHOOK_PATH}",
        },
    }


def campaign_connections(base_url: str, campaign: SandboxCampaign) -> dict[str, dict]:
    """The two Connections of one client campaign of a multi-campaign sandbox (same CLOSRTECH account,
    its own CLOSRTECH campaign; its own Facebook token and ad account). Slack: the shared ``closrads_slack``."""
    return {
        campaign.closrtech_conn_id: {
            "conn_type": "closrtech",
            "host": base_url,
            "login": defaults.CLOSRTECH_EMAIL,
            "password": defaults.CLOSRTECH_PASSWORD,
            "extra": {"campaign": campaign.closrtech_campaign},
        },
        campaign.facebook_conn_id: {
            "conn_type": "closrads_facebook_ads",
            "password": campaign.access_token,
            "extra": {"campaign_id": campaign.campaign_id, "graph_url": base_url},
        },
    }

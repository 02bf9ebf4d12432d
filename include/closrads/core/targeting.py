"""Decide whether an ad set's geo targeting must change, and build the new targeting safely.

CLOSRADS owns exactly one field: ``targeting.geo_locations.regions``. A Graph API update replaces
the whole targeting object, so the new targeting is a deep copy of the current one with only that
field replaced (docs/design.md, "Deep copy"); anything else would silently wipe ages, audiences,
placements or exclusions that a human configured.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from closrads.core.errors import TargetingConflict
from closrads.core.regions import state_for_key


@dataclass(frozen=True)
class GeoPlan:
    """What replacing the regions would change, expressed in USPS codes for people to read."""

    added: list[str]
    removed: list[str]

    @property
    def needs_write(self) -> bool:
        return bool(self.added or self.removed)

    def describe(self) -> str:
        return render_change(self.added, self.removed)


def render_change(added: list[str], removed: list[str]) -> str:
    """The one way CLOSRADS writes a change of states: ``+NE +TX -AK`` (``no change`` when empty)."""
    return " ".join([f"+{code}" for code in added] + [f"-{code}" for code in removed]) or "no change"


def current_region_keys(targeting: dict | None) -> set[str]:
    """The region keys the ad set targets now, as strings (Facebook identifies regions by key)."""
    regions = ((targeting or {}).get("geo_locations") or {}).get("regions") or []
    return {str(region["key"]) for region in regions if isinstance(region, dict) and "key" in region}


def plan_geo_update(targeting: dict | None, desired_regions: list[dict]) -> GeoPlan:
    """Compare current and desired regions as sets of keys (docs/design.md, "Set comparison").

    Raises :class:`TargetingConflict` when the ad set also targets the whole United States: adding
    states on top of ``countries: ["US"]`` would overlap, and Facebook rejects or mis-spends it.
    """
    check_no_us_overlap(targeting)
    current = current_region_keys(targeting)
    desired = {str(region["key"]) for region in desired_regions}
    return GeoPlan(
        added=sorted(state_for_key(key) for key in desired - current),
        removed=sorted(state_for_key(key) for key in current - desired),
    )


def check_no_us_overlap(targeting: dict | None) -> None:
    countries = ((targeting or {}).get("geo_locations") or {}).get("countries") or []
    if "US" in {str(country).upper() for country in countries}:
        raise TargetingConflict(
            "the ad set targets the whole United States (geo_locations.countries contains US); "
            "adding state regions would overlap it, so CLOSRADS will not change it. "
            "Remove US from its countries in Ads Manager, then re-run this ad set"
        )


def targeting_with_regions(targeting: dict | None, regions: list[dict]) -> dict:
    """A deep copy of ``targeting`` whose ``geo_locations.regions`` is exactly ``regions``.

    Deep, not shallow: ``geo_locations`` is nested, and mutating a shared reference would also
    change the caller's "current" targeting and corrupt the comparison.
    """
    updated = copy.deepcopy(targeting) if targeting else {}
    geo = updated.setdefault("geo_locations", {})
    geo["regions"] = [{"key": str(region["key"])} | _extra_region_fields(region) for region in regions]
    return updated


def _extra_region_fields(region: dict) -> dict:
    return {field: region[field] for field in ("name", "country") if field in region}

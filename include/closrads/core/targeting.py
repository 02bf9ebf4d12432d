"""Decide whether an ad set's geo targeting must change, and build the new targeting safely.

CLOSRADS owns exactly the US-state entries of ``targeting.geo_locations.regions``. A Graph API
update replaces the whole targeting object, so the new targeting is a deep copy of the current one
with only those entries replaced (docs/design.md, "Deep copy"); anything else would silently wipe
ages, audiences, placements, exclusions or other countries' regions that a person configured.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from closrads.core.errors import TargetingConflict, UnusableTargeting
from closrads.core.regions import state_for_key, us_state_keys


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


def usable_targeting(targeting: object) -> dict:
    """The ad set's targeting as read, or an error when it cannot be the base of a write.

    A read without a ``targeting`` object (missing, null, not an object) or without
    ``geo_locations`` is incomplete: a write built on it would wipe every field a person configured.
    """
    if not isinstance(targeting, dict):
        kind = type(targeting).__name__
        what = "no targeting" if targeting is None else f"a targeting that is a {kind}, not an object"
        raise UnusableTargeting(f"the ad set was read with {what}; refusing to write a targeting built from nothing")
    geo = targeting.get("geo_locations")
    if not isinstance(geo, dict):
        raise UnusableTargeting(
            "the ad set's targeting was read without a geo_locations object; refusing to write a targeting "
            "built from an incomplete read"
        )
    if not isinstance(geo.get("regions", []), list):
        raise UnusableTargeting("the ad set's geo_locations.regions is not a list; refusing to change it")
    return targeting


def current_state_keys(targeting: dict) -> set[str]:
    """The region keys of the US states the ad set targets now, as strings (Facebook identifies regions
    by key). Regions that are not US states (a Canadian province, say) are not CLOSRADS's to change."""
    return {str(region["key"]) for region in _regions(targeting) if is_us_state(region)}


def is_us_state(region: object) -> bool:
    return isinstance(region, dict) and str(region.get("key")) in us_state_keys()


def plan_geo_update(targeting: dict, desired_regions: list[dict]) -> GeoPlan:
    """Compare current and desired US-state regions as sets of keys (docs/design.md, "Set comparison").

    Raises :class:`UnusableTargeting` for an incomplete read and :class:`TargetingConflict` when the ad
    set also targets the whole United States: adding states on top of ``countries: ["US"]`` would
    overlap, and Facebook rejects or mis-spends it.
    """
    usable_targeting(targeting)
    check_no_us_overlap(targeting)
    current = current_state_keys(targeting)
    desired = {str(region["key"]) for region in desired_regions}
    return GeoPlan(
        added=sorted(state_for_key(key) for key in desired - current),
        removed=sorted(state_for_key(key) for key in current - desired),
    )


def check_no_us_overlap(targeting: dict) -> None:
    countries = targeting["geo_locations"].get("countries") or []
    if "US" in {str(country).upper() for country in countries}:
        raise TargetingConflict(
            "the ad set targets the whole United States (geo_locations.countries contains US); "
            "adding state regions would overlap it, so CLOSRADS will not change it. "
            "Remove US from its countries in Ads Manager, then re-run this ad set"
        )


def targeting_with_regions(targeting: dict, regions: list[dict]) -> dict:
    """A deep copy of ``targeting`` in which only the US-state entries of ``geo_locations.regions`` are
    replaced by ``regions``; every other region entry stays exactly as it was, in its place.

    Deep, not shallow: ``geo_locations`` is nested, and mutating a shared reference would also
    change the caller's "current" targeting and corrupt the comparison.
    """
    updated = copy.deepcopy(usable_targeting(targeting))
    geo = updated["geo_locations"]
    others = [region for region in _regions(updated) if not is_us_state(region)]
    geo["regions"] = others + [{"key": str(region["key"])} | _extra_region_fields(region) for region in regions]
    return updated


def _regions(targeting: dict) -> list:
    return targeting["geo_locations"].get("regions") or []


def _extra_region_fields(region: dict) -> dict:
    return {field: region[field] for field in ("name", "country") if field in region}

"""Translate USPS state codes into the Facebook region keys that ad set targeting needs.

Facebook does not accept ``OH`` in targeting; it wants its own numeric region key (``3878``).
The 51 keys (50 states and DC) are public, stable identifiers, so they ship with the project in
``fb_region_keys.json`` instead of costing 51 API calls a day (docs/design.md, "Region keys"). The same module
also rebuilds that file from a Graph API region search, for the rare day Meta changes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from closrads.core.demand import shown_code

REGION_KEYS_FILE = Path(__file__).with_name("fb_region_keys.json")

# USPS code -> the state's name as Facebook's region search spells it. Facebook calls DC
# "Washington D. C." (with the spaces); "District of Columbia" is accepted as well.
STATE_NAMES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "Washington D. C.",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
}  # fmt: skip
_NAME_ALIASES = {"district of columbia": "DC"}


@dataclass(frozen=True)
class RegionMapping:
    """The outcome of mapping demand states: what Facebook gets, and what had to be dropped."""

    regions: list[dict[str, str]]  # [{"key": "3878", "name": "Ohio", "country": "US"}, ...] sorted by code
    states: list[str]  # the USPS codes that mapped, sorted
    unmapped: list[str]  # codes with no Facebook region (PR, GU, typos), sorted, as messages show them


@cache
def load_region_keys(path: Path = REGION_KEYS_FILE) -> dict[str, dict[str, str]]:
    """USPS code -> region object, read from disk once per process."""
    with path.open(encoding="utf-8") as handle:
        mapping = json.load(handle)
    if not isinstance(mapping, dict) or not mapping:
        raise ValueError(f"{path} holds no region keys")
    return mapping


def map_states(codes: list[str] | dict[str, int]) -> RegionMapping:
    """Map USPS codes (normalised, so ``" oh "`` works) to Facebook region objects."""
    keys = load_region_keys()
    regions, states, unmapped = [], [], []
    for code in sorted({str(raw).strip().upper() for raw in codes}):
        region = keys.get(code)
        if region is None:
            unmapped.append(shown_code(code))
            continue
        states.append(code)
        regions.append({"key": str(region["key"]), "name": region["name"], "country": region["country"]})
    return RegionMapping(regions=regions, states=states, unmapped=unmapped)


def regions_for_keys(keys: list[str]) -> list[dict]:
    """The region entries of these US-state region keys, in the order given (as :func:`map_states` makes them)."""
    codes = [state_for_key(str(key)) for key in keys]
    mapping = map_states(codes)
    by_code = dict(zip(mapping.states, mapping.regions, strict=True))
    return [by_code[code] for code in codes if code in by_code]


def state_for_key(key: str) -> str:
    """The USPS code of a Facebook region key, or the key itself when it is not a US state we know."""
    return _codes_by_key().get(str(key), str(key))


def us_state_keys() -> frozenset[str]:
    """The region keys of the 50 states and DC: the only region entries CLOSRADS changes."""
    return frozenset(_codes_by_key())


@cache
def _codes_by_key() -> dict[str, str]:
    return {str(region["key"]): code for code, region in load_region_keys().items()}


def region_keys_from_search(results: list[dict]) -> dict[str, dict[str, str]]:
    """Build the contents of ``fb_region_keys.json`` from Graph's ``adgeolocation`` region search.

    Raises ``ValueError`` naming the states that the search did not return, so a partial answer
    never silently shrinks the file.
    """
    by_name = {name.lower(): code for code, name in STATE_NAMES.items()} | _NAME_ALIASES
    mapping: dict[str, dict[str, str]] = {}
    for result in results:
        if result.get("type", "region") != "region" or result.get("country_code", "US") != "US":
            continue
        code = by_name.get(str(result.get("name", "")).strip().lower())
        if code is not None:
            mapping[code] = {"key": str(result["key"]), "name": result["name"], "country": "US"}
    missing = sorted(set(STATE_NAMES) - set(mapping))
    if missing:
        raise ValueError(f"the region search did not return {len(missing)} state(s): {', '.join(missing)}")
    return dict(sorted(mapping.items()))


def diff_region_keys(old: dict[str, dict], new: dict[str, dict]) -> list[str]:
    """Human-readable differences between two region key files; empty when they agree."""
    lines = []
    for code in sorted(set(old) | set(new)):
        before, after = old.get(code), new.get(code)
        if before == after:
            continue
        if before is None:
            lines.append(f"+ {code}: {after['key']} ({after['name']})")
        elif after is None:
            lines.append(f"- {code}: {before['key']} ({before['name']})")
        else:
            lines.append(f"~ {code}: {before['key']} ({before['name']}) -> {after['key']} ({after['name']})")
    return lines

import json

import pytest

from closrads.core.regions import (
    REGION_KEYS_FILE,
    STATE_NAMES,
    diff_region_keys,
    load_region_keys,
    map_states,
    region_keys_from_search,
    state_for_key,
)


def test_key_file_holds_the_50_states_and_dc():
    keys = load_region_keys()
    assert sorted(keys) == sorted(STATE_NAMES)
    assert len(keys) == 51
    assert keys["AL"] == {"key": "3843", "name": "Alabama", "country": "US"}
    assert keys["WY"]["key"] == "3893"
    assert keys["OH"]["key"] == "3878"
    assert keys["DC"] == {"key": "3851", "name": "Washington D. C.", "country": "US"}
    assert len({region["key"] for region in keys.values()}) == 51


def test_file_is_read_once_per_process(monkeypatch):
    load_region_keys()
    monkeypatch.setattr("pathlib.Path.open", lambda *a, **k: pytest.fail("region keys re-read from disk"))
    assert map_states(["OH"]).states == ["OH"]


def test_maps_normalised_codes_and_drops_unknown_ones():
    mapping = map_states({" oh ": 15, "tx": 4, "PR": 2, "GU": 1, "XX": 3})
    assert mapping.states == ["OH", "TX"]
    assert mapping.regions == [
        {"key": "3878", "name": "Ohio", "country": "US"},
        {"key": "3886", "name": "Texas", "country": "US"},
    ]
    assert mapping.unmapped == ["GU", "PR", "XX"]


def test_nothing_mappable_gives_no_regions():
    assert map_states(["PR", "GU"]).regions == []


def test_state_for_key_falls_back_to_the_key():
    assert state_for_key("3878") == "OH"
    assert state_for_key("999999") == "999999"


def _search_results():
    keys = json.loads(REGION_KEYS_FILE.read_text())
    results = [{"key": r["key"], "name": r["name"], "type": "region", "country_code": "US"} for r in keys.values()]
    return results + [{"key": "4031", "name": "Puerto Rico", "type": "region", "country_code": "PR"}]


def test_regenerating_from_the_region_search_reproduces_the_shipped_file():
    assert region_keys_from_search(_search_results()) == json.loads(REGION_KEYS_FILE.read_text())


def test_regeneration_refuses_a_partial_search():
    results = [r for r in _search_results() if r["name"] not in ("Ohio", "Washington D. C.")]
    with pytest.raises(ValueError, match="did not return 2 state"):
        region_keys_from_search(results)


def test_diff_names_every_change():
    old = json.loads(REGION_KEYS_FILE.read_text())
    new = json.loads(REGION_KEYS_FILE.read_text())
    new["OH"] = {"key": "9999", "name": "Ohio", "country": "US"}
    del new["WY"]
    assert diff_region_keys(old, new) == ["~ OH: 3878 (Ohio) -> 9999 (Ohio)", "- WY: 3893 (Wyoming)"]
    assert diff_region_keys(old, old) == []

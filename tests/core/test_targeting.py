import copy

import pytest

from closrads.core.errors import TargetingConflict, UnusableTargeting
from closrads.core.targeting import current_state_keys, plan_geo_update, targeting_with_regions

OH = {"key": "3878", "name": "Ohio", "country": "US"}
TX = {"key": "3886", "name": "Texas", "country": "US"}
FL = {"key": "3852", "name": "Florida", "country": "US"}


def rich_targeting(*regions):
    return {
        "age_min": 35,
        "age_max": 65,
        "genders": [2],
        "geo_locations": {
            "regions": list(regions),
            "location_types": ["home"],
            "countries": ["CA"],
            "excluded_zips": [{"key": "US:32801"}],
        },
        "interests": [{"id": "6003139266461", "name": "Military"}],
        "custom_audiences": [{"id": "1"}],
        "excluded_custom_audiences": [{"id": "2"}],
        "publisher_platforms": ["facebook"],
    }


def test_keys_compare_as_strings_regardless_of_names_or_types():
    targeting = rich_targeting({"key": 3878, "name": "OHIO (renamed)"}, TX)
    assert current_state_keys(targeting) == {"3878", "3886"}
    assert not plan_geo_update(targeting, [TX, OH]).needs_write


def test_plan_reports_added_and_removed_states():
    plan = plan_geo_update(rich_targeting(OH, FL), [OH, TX])
    assert (plan.added, plan.removed, plan.needs_write) == (["TX"], ["FL"], True)


@pytest.mark.parametrize(
    ("targeting", "message"),
    [
        (None, "read with no targeting"),
        ("[]", "a targeting that is a str, not an object"),
        ({}, "without a geo_locations object"),
        ({"age_min": 35, "geo_locations": None}, "without a geo_locations object"),
        ({"geo_locations": {"regions": "3878"}}, "regions is not a list"),
    ],
)
def test_an_incomplete_read_is_never_the_base_of_a_write(targeting, message):
    with pytest.raises(UnusableTargeting, match=message):
        plan_geo_update(targeting, [OH])
    with pytest.raises(UnusableTargeting):
        targeting_with_regions(targeting, [OH])


ONTARIO = {"key": "533", "name": "Ontario", "country": "CA"}


def test_regions_of_other_countries_are_kept_exactly_and_not_planned():
    current = rich_targeting(ONTARIO, OH, FL)
    plan = plan_geo_update(current, [OH, TX])
    assert (plan.added, plan.removed) == (["TX"], ["FL"])
    updated = targeting_with_regions(current, [OH, TX])
    assert updated["geo_locations"]["regions"] == [ONTARIO, OH, TX]
    assert not plan_geo_update(rich_targeting(ONTARIO, OH, TX), [TX, OH]).needs_write


def test_new_targeting_replaces_only_regions_and_leaves_the_original_untouched():
    current = rich_targeting(OH, FL)
    snapshot = copy.deepcopy(current)
    updated = targeting_with_regions(current, [OH, TX])

    assert current == snapshot  # deep copy: the caller's targeting is not mutated
    assert updated["geo_locations"]["regions"] == [OH, TX]
    updated_without_regions = copy.deepcopy(updated)
    del updated_without_regions["geo_locations"]["regions"]
    del snapshot["geo_locations"]["regions"]
    assert updated_without_regions == snapshot
    updated["geo_locations"]["location_types"].append("recent")
    assert current["geo_locations"]["location_types"] == ["home"]


@pytest.mark.parametrize("countries", [["US"], ["us", "CA"]])
def test_whole_us_targeting_is_refused(countries):
    targeting = rich_targeting(OH)
    targeting["geo_locations"]["countries"] = countries
    with pytest.raises(TargetingConflict, match="targets the whole United States"):
        plan_geo_update(targeting, [OH, TX])

import pytest

from closrads.core.graph_errors import blamed_field, is_transient, outside_regions


@pytest.mark.parametrize("code", [1, 2, 4, 17, 341, 613, 80000, 80004, 80014])
def test_transient_codes(code):
    assert is_transient(code)


@pytest.mark.parametrize("code", [10, 100, 190, 200, 299, 80015])
def test_permanent_codes(code):
    assert not is_transient(code)


def test_is_transient_flag_and_bare_gateway_errors():
    assert is_transient(100, flagged_transient=True)
    assert is_transient(None, http_status=502)
    assert is_transient(None, http_status=429)
    assert not is_transient(None, http_status=404)


@pytest.mark.parametrize(
    ("error", "field"),
    [
        (
            {"error_data": {"blame_field_specs": [["targeting", "instagram_positions"]]}},
            "targeting.instagram_positions",
        ),
        (
            {"error_data": '{"blame_field_specs": [["targeting", "geo_locations", "regions"]]}'},
            "targeting.geo_locations.regions",
        ),
        ({"error_data": {"blame_field": "targeting"}}, "targeting"),
        ({"error_data": {"blame_field_specs": [["targeting", "<script>"]]}}, None),
        ({"error_data": "not json"}, None),
        ({}, None),
        ("error", None),
    ],
)
def test_the_blamed_field_is_read_when_meta_names_one(error, field):
    assert blamed_field(error) == field


@pytest.mark.parametrize(
    ("field", "outside"),
    [
        ("targeting.instagram_positions", True),
        ("targeting.geo_locations.excluded_zips", True),
        ("targeting.geo_locations.regions", False),
        ("targeting.geo_locations", False),  # might be the regions: not said to be another field
        ("targeting", False),
        (None, False),
    ],
)
def test_only_a_field_other_than_the_regions_is_outside_what_closrads_writes(field, outside):
    assert outside_regions(field) is outside

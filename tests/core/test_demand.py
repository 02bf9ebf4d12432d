import json

import pytest

from closrads.core.demand import parse_demand, states_with_demand
from closrads.core.errors import DemandDataError


def test_parses_and_normalises_codes_and_numeric_strings():
    assert parse_demand('{" oh ": 15, "tx": "4", "FL": 0, "CA": 3.0}') == {"OH": 15, "TX": 4, "FL": 0, "CA": 3}


def test_keeps_only_states_that_want_leads_sorted():
    assert states_with_demand({"TX": 4, "FL": 0, "OH": 15}) == {"OH": 15, "TX": 4}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html><body>502 Bad Gateway</body></html>", "invalid JSON"),
        ('{"OH": 15', "invalid JSON"),
        ("", "invalid JSON"),
        ("[1, 2]", "JSON list, expected an object"),
        ("null", "JSON null, expected an object"),
        ('{"OH": -3}', "OH is negative (-3)"),
        ('{"OH": "lots"}', "demand for OH is 'lots', expected a whole number"),
        ('{"OH": "-3"}', "demand for OH"),
        ('{"OH": 1.5}', "demand for OH is 1.5, expected"),
        ('{"OH": true}', "OH is a boolean"),
        ('{"OH": null}', "demand for OH is null, expected"),
        ('{"OH": [1]}', "demand for OH is a list of 1 item(s)"),
        ('{"OH": {"a": 1}}', "demand for OH is an object of 1 field(s)"),
        ('{"OH": 1, " oh": 2}', "OH more than once"),
        ('{"error": "Invalid campaign"}', "returned an error object"),
    ],
)
def test_bad_bodies_are_refused_with_a_message_naming_the_problem(body, message):
    with pytest.raises(DemandDataError) as caught:
        parse_demand(body)
    assert message in str(caught.value)


def test_a_bad_body_is_described_never_quoted():
    with pytest.raises(DemandDataError) as caught:
        parse_demand("<html>Bad login for pass=hunter22</html>" + "x" * 5000)
    message = str(caught.value)
    assert "hunter22" not in message and "<html>" not in message
    assert message == "CLOSRTECH returned invalid JSON (5040 bytes, looks like an HTML page)"


def test_a_byte_order_mark_before_valid_json_is_accepted():
    assert parse_demand('\ufeff{"OH": 3}') == {"OH": 3}


def test_empty_response_is_refused():
    with pytest.raises(DemandDataError, match=r"no states at all \(empty response \{\}\)"):
        states_with_demand(parse_demand("{}"))


def test_all_zero_response_is_refused():
    demand = parse_demand(json.dumps({"OH": 0, "TX": "0", "FL": 0}))
    with pytest.raises(DemandDataError, match="demand 0 for all 3 states"):
        states_with_demand(demand)


def test_a_long_value_or_code_is_described_never_quoted_in_part():
    echoed = "Bad login for pass=hunter22 and more text after it"
    for body in ({"OH": echoed}, {echoed: 3}, {"OH": " " * 70 + "pass=hunter22"}):
        with pytest.raises(DemandDataError) as caught:
            parse_demand(json.dumps(body))
        assert "hunter" not in str(caught.value) and "pass" not in str(caught.value)
        assert "characters" in str(caught.value)


def test_codes_with_invisible_characters_are_shown_escaped():
    from closrads.core.demand import shown_code
    from closrads.core.regions import map_states

    assert shown_code("TX") == "TX"
    assert shown_code("TX\u200b") == "'TX\\u200b'"
    assert shown_code("X" * 5000) == "<a text of 5000 characters>"
    assert map_states({"TX\u200b": 3, "OH": 1}).unmapped == ["'TX\\u200b'"]
    with pytest.raises(DemandDataError, match=r"demand for 'TX\\u200b' is negative"):
        parse_demand('{"TX\\u200b": -1}')


def test_an_absurdly_long_answer_is_refused():
    from closrads.core.demand import MAX_CODES

    many = {f"X{i}": 1 for i in range(MAX_CODES + 1)}
    with pytest.raises(DemandDataError, match=f"listed {MAX_CODES + 1} state codes"):
        parse_demand(json.dumps(many))
    with pytest.raises(DemandDataError, match="a state code of 5000 characters"):
        parse_demand(json.dumps({"O" * 5000: 1}))
    assert len(parse_demand(json.dumps({f"X{i}": 1 for i in range(MAX_CODES)}))) == MAX_CODES


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"OH": 10000001}', "CLOSRTECH demand for OH is 10000001, more than any real lead count (at most 1000000)"),
        ('{"OH": 1e300}', "CLOSRTECH demand for OH is a number of 301 digits, more than any real lead count"),
        ('{"OH": "\\u0663"}', "CLOSRTECH demand for OH is '\\u0663', expected a whole number >= 0"),  # Arabic-Indic 3
        ('{"OH": "' + "9" * 5000 + '"}', "CLOSRTECH demand for OH is a text of 5000 characters"),
        ("[" * 100_000 + "]" * 100_000, "CLOSRTECH returned JSON nested too deep (200000 bytes)"),
        ('{"OH": ' + "9" * 5000 + "}", "CLOSRTECH returned invalid JSON (5008 bytes)"),
    ],
)
def test_hostile_values_fail_as_bad_data_naming_the_problem(body, message):
    with pytest.raises(DemandDataError) as refused:
        parse_demand(body)
    assert str(refused.value).startswith(message)


def test_only_ascii_letters_fold_into_state_codes():
    demand = parse_demand('{"\\u0131l": 3, "\\u017fc": 2, " oh ": 1}')  # dotless i, long s
    assert demand == {"\u0131l": 3, "\u017fc": 2, "OH": 1}  # not IL or SC: map_regions drops them by name

"""Reading Meta's usage headers: the highest usage, how long a block lasts, how long to pace."""

import json

import pytest

from closrads.core.graph_usage import (
    MAX_THROTTLE_WAIT_SECONDS,
    parse_usage,
    throttle_wait,
)


def headers(**values) -> dict[str, str]:
    names = {"account": "X-Ad-Account-Usage", "business": "X-Business-Use-Case-Usage", "app": "X-App-Usage"}
    return {names[key]: json.dumps(value) for key, value in values.items()}


def test_the_highest_usage_of_any_header_counts():
    usage = parse_usage(
        headers(
            account={"acc_id_util_pct": 12.5, "reset_time_duration": 0},
            business={"123": [{"type": "ads_management", "call_count": 91, "total_cputime": 3, "total_time": 4}]},
            app={"call_count": 40, "total_cputime": 5, "total_time": 5},
        )
    )
    assert (usage.percent, usage.limit, usage.regain_seconds) == (91, "ads_management business use case", 0)
    assert usage.is_high and usage.pacing_seconds() == 1.0


@pytest.mark.parametrize(("percent", "pace"), [(0, 0), (74.9, 0), (89, 0), (90, 0), (95, 5), (100, 10), (250, 10)])
def test_pacing_starts_at_90_percent_and_is_bounded(percent, pace):
    assert parse_usage(headers(account={"acc_id_util_pct": percent})).pacing_seconds() == pace


def test_a_blocked_account_reports_how_long_the_block_lasts():
    blocked = parse_usage(
        headers(
            account={"acc_id_util_pct": 100, "reset_time_duration": 45},
            business={"1": [{"type": "ads_management", "call_count": 100, "estimated_time_to_regain_access": 2}]},
        )
    )
    assert blocked.regain_seconds == 120  # Meta's minutes, the longer of the two
    assert "Meta blocks calls for about 120 s" in blocked.describe()
    assert throttle_wait(80004, blocked) == 120


@pytest.mark.parametrize(
    ("code", "usage_headers", "wait"),
    [
        (80004, {}, None),  # throttled, but Meta said nothing: the retry schedule applies
        (80004, headers(account={"acc_id_util_pct": 100, "reset_time_duration": 60}), 60),
        (17, headers(account={"acc_id_util_pct": 100, "reset_time_duration": 9999}), MAX_THROTTLE_WAIT_SECONDS),
        (2, headers(account={"acc_id_util_pct": 100, "reset_time_duration": 30}), None),  # not a rate limit
        (None, {}, None),
    ],
)
def test_throttle_waits_are_meta_s_estimate_within_a_bound(code, usage_headers, wait):
    assert throttle_wait(code, parse_usage(usage_headers)) == wait


@pytest.mark.parametrize(
    "garbage",
    [
        {"X-Ad-Account-Usage": "<html>"},
        {"X-Ad-Account-Usage": "null"},
        {"X-App-Usage": "[1, 2]"},
        {"X-Business-Use-Case-Usage": '{"1": "no list"}'},
        {"X-Ad-Account-Usage": '{"acc_id_util_pct": "NaN"}', "X-App-Usage": '{"call_count": -5}'},
        {},
        None,
    ],
)
def test_unreadable_headers_are_ignored_never_fatal(garbage):
    usage = parse_usage(garbage)
    assert usage is None or (usage.percent == 0 and usage.pacing_seconds() == 0)


def test_header_names_are_case_insensitive():
    assert parse_usage({"x-app-usage": json.dumps({"call_count": 80})}).percent == 80

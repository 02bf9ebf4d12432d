"""The Insights reader against the sandbox's Graph API: the ad account's clock, one campaign-level request
for both periods, its pages, and its throttle header."""

from datetime import date

import pytest

from closrads.airflow.hooks import facebook_insights
from closrads.airflow.hooks.facebook_ads import FacebookAdsHook
from closrads.airflow.hooks.facebook_insights import account_clock, periods, spend_by_region, throttle_percent
from closrads.core.errors import GraphError


def test_the_periods_are_the_last_complete_day_and_week():
    assert periods(date(2026, 12, 7)) == {
        "yesterday": (date(2026, 12, 6), date(2026, 12, 6)),
        "last_7_days": (date(2026, 11, 30), date(2026, 12, 6)),
    }


def test_the_accounts_currency_and_time_zone(sandbox):
    clock = account_clock(FacebookAdsHook())
    assert (clock.currency, clock.timezone) == ("USD", "America/New_York")
    sandbox.update_scenario(spend={"currency": "dollars"})
    with pytest.raises(GraphError, match="has no readable currency"):
        account_clock(FacebookAdsHook())


def test_one_request_for_both_periods_and_every_page(sandbox):
    sandbox.update_scenario(spend={"page_size": 25})
    rows = spend_by_region(FacebookAdsHook(), periods(date(2026, 12, 7)))
    assert len(rows["yesterday"]) == len(rows["last_7_days"]) > 25
    (first, *pages) = sandbox.requests("graph", kind="insights")
    assert first["after"] is None and len(pages) == 3 and all(page["after"] for page in pages)
    assert {row["date_start"] for row in rows["last_7_days"]} == {"2026-11-30"}


def test_a_reading_near_the_insights_limit_stops_before_the_next_page(sandbox):
    sandbox.update_scenario(spend={"page_size": 25, "throttle": 95})
    with pytest.raises(GraphError, match="Insights limit for this ad account is at 95%; stopped before page 2"):
        spend_by_region(FacebookAdsHook(), periods(date(2026, 12, 7)))
    assert len(sandbox.requests("graph", kind="insights")) == 1


def test_a_refused_call_is_tried_once(sandbox, retry_waits):
    sandbox.add_fault("insights", code=2, times=5)  # transient for the writes; spend does not wait for it
    with pytest.raises(GraphError, match="reading the spend per region of campaign"):
        spend_by_region(FacebookAdsHook(), periods(date(2026, 12, 7)))
    assert retry_waits == [] and len(sandbox.requests("graph", kind="insights")) == 1


@pytest.mark.parametrize(
    ("header", "percent"),
    [
        ('{"app_id_util_pct": 12, "acc_id_util_pct": 40.5}', 40.5),
        ("nonsense", None),
        ('{"acc_id_util_pct": true}', None),
    ],
)
def test_the_throttle_header_is_read_or_ignored(header, percent):
    assert throttle_percent({facebook_insights.THROTTLE_HEADER: header}) == percent

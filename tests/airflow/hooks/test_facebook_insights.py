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


def test_insights_that_take_too_long_stop_before_the_next_page(sandbox, monkeypatch):
    monkeypatch.setattr(facebook_insights, "INSIGHTS_BUDGET_SECONDS", 0.0)  # shipped: 90 s for every page
    sandbox.update_scenario(spend={"page_size": 25})
    with pytest.raises(GraphError, match="took longer than 0 s; stopped before page 2"):
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


def _insights_page(rows, after: str | None = None) -> str:
    import json

    body = {"data": rows}
    if after:
        body["paging"] = {"cursors": {"after": after}, "next": "http://sandbox/next"}
    return json.dumps(body)


YESTERDAY = {"date_start": "2026-12-06", "date_stop": "2026-12-06"}


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"status": 200, "body": "<html>not json</html>", "content_type": "text/html"},
         "a body that is not Graph JSON"),
        ({"status": 200, "body": '{"data": {"region": "Ohio"}}', "content_type": "application/json"},
         "has no data list"),
        ({"status": 200, "body": _insights_page([{"id": str(n)} for n in range(200)])},
         "a body larger than 1000 bytes"),
        ({"cut": 30, "body": _insights_page([YESTERDAY | {"region": "Ohio", "spend": "1.00"}] * 3)},
         "an answer that ended after 30 bytes"),
        ({"content_encoding": "gzip", "body": _insights_page([])}, "a body that cannot be decoded"),
        ({"drip": 0.2, "body": _insights_page([])}, "still sending its body at the deadline"),
        ({"delay": 2.5}, "reading the spend per region of campaign"),
    ],
)  # fmt: skip
def test_a_hostile_insights_answer_is_refused_once_by_name(sandbox, retry_waits, monkeypatch, fault, message):
    monkeypatch.setattr("closrads.airflow.hooks.facebook_ads.MAX_GRAPH_BODY_BYTES", 1000)
    sandbox.add_fault("insights", times=5, **fault)
    with pytest.raises(GraphError) as refused:
        spend_by_region(FacebookAdsHook(timeout=1.0), periods(date(2026, 12, 7)))
    assert message in str(refused.value)
    assert retry_waits == [] and len(sandbox.requests("graph", kind="insights")) == 1  # tried once, no wait

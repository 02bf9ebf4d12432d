"""A campaign's spend per region from Meta's Insights API, through the Facebook hook's own SDK object.

As few requests as Meta allows: the ad account's currency and time zone (one read), then one Insights
request at campaign level for every period at once (``time_ranges``), every page of it, bounded like
the listing. Insights has its own rate limit, reported in ``x-fb-ads-insights-throttle``; a reading
near it stops this step instead of spending the ad account's Insights budget. Each call is tried once:
spend is a report's figure, never worth a wait the writes might need (docs/design.md, "Spend").
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from closrads.airflow.hooks.graph_listing import next_cursor
from closrads.core.errors import GraphError

if TYPE_CHECKING:
    from closrads.airflow.hooks.facebook_ads import FacebookAdsHook

INSIGHTS_FIELDS = ("spend", "impressions", "clicks")
INSIGHTS_PAGE_SIZE = 500
# 51 states and a few other regions per period: two pages at most in practice; a bound on a paging loop.
MAX_INSIGHTS_PAGES = 10
THROTTLE_HEADER = "x-fb-ads-insights-throttle"
# At this share of either Insights limit (the app's, the ad account's), no further Insights request is sent.
THROTTLE_STOP_PERCENT = 90
# Past this many seconds since the first page was asked for, no further page is: a slow Insights costs
# the report its spend line, never its time (each request has its own timeout besides).
INSIGHTS_BUDGET_SECONDS = 90.0


@dataclass(frozen=True)
class AccountClock:
    currency: str
    timezone: str
    today: date


def periods(today: date) -> dict[str, tuple[date, date]]:
    """The last complete day and the last 7 complete days, in the ad account's calendar."""
    yesterday = today - timedelta(days=1)
    return {"yesterday": (yesterday, yesterday), "last_7_days": (today - timedelta(days=7), yesterday)}


def account_clock(hook: FacebookAdsHook) -> AccountClock:
    """The ad account's currency and time zone (one read), and today's date there."""
    account = hook.settings.ad_account_id
    body = hook.call(
        f"reading ad account {account}",
        lambda: hook.api.call("GET", (account,), params={"fields": "currency,timezone_name"}).json(),
        retry=False,
    )
    body = body if isinstance(body, dict) else {}
    currency = str(body.get("currency") or "")
    if not currency.isalpha() or len(currency) != 3:
        raise GraphError(f"ad account {account} has no readable currency")
    name = str(body.get("timezone_name") or "UTC")
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        name, zone = "UTC", UTC
    return AccountClock(currency.upper(), name, datetime.now(zone).date())


def spend_by_region(hook: FacebookAdsHook, ranges: dict[str, tuple[date, date]]) -> dict[str, list[dict]]:
    """Insights rows (``region``, ``spend``) per named period, from one campaign-level request and its pages."""
    campaign = hook.settings.campaign_id
    by_range = {(start.isoformat(), end.isoformat()): name for name, (start, end) in ranges.items()}
    params = {
        "level": "campaign",
        "breakdowns": "region",
        "fields": ",".join(INSIGHTS_FIELDS),
        "time_ranges": json.dumps([{"since": start, "until": end} for start, end in by_range]),
        "limit": INSIGHTS_PAGE_SIZE,
    }
    rows: dict[str, list[dict]] = {name: [] for name in ranges}
    seen_cursors: set[str] = set()
    started = time.monotonic()
    for page in range(1, MAX_INSIGHTS_PAGES + 1):
        if page > 1 and time.monotonic() - started > INSIGHTS_BUDGET_SECONDS:
            raise GraphError(
                f"the Insights of campaign {campaign} took longer than {INSIGHTS_BUDGET_SECONDS:g} s; "
                f"stopped before page {page}"
            )
        response = hook.call(
            f"reading the spend per region of campaign {campaign}",
            lambda params=params: hook.api.call("GET", (campaign, "insights"), params=params),
            retry=False,
        )
        body = response.json()
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise GraphError(f"page {page} of the Insights of campaign {campaign} has no data list")
        for row in data:
            name = by_range.get((row.get("date_start"), row.get("date_stop"))) if isinstance(row, dict) else None
            if name is not None:
                rows[name].append(row)
        cursor = next_cursor(body)
        if cursor is None:
            return rows
        if cursor in seen_cursors:
            raise GraphError(f"the Insights of campaign {campaign} repeated a paging cursor (page {page}); stopped")
        seen_cursors.add(cursor)
        usage = throttle_percent(response.headers())
        if usage is not None and usage >= THROTTLE_STOP_PERCENT:
            raise GraphError(
                f"Meta's Insights limit for this ad account is at {usage:g}%; stopped before page {page + 1}"
            )
        params = params | {"after": cursor}
    raise GraphError(f"the Insights of campaign {campaign} did not end within {MAX_INSIGHTS_PAGES} pages; stopped")


def throttle_percent(headers) -> float | None:
    """The higher of the two Insights limits' use (the app's, the ad account's), in percent, when Meta says."""
    raw = (headers or {}).get(THROTTLE_HEADER)
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    readings = []
    for key in ("app_id_util_pct", "acc_id_util_pct"):
        value = data.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            readings.append(float(value))
    return max(readings) if readings else None

"""Meta's rate-limit usage headers, read so CLOSRADS slows down before Meta blocks the ad account.

Every Graph answer can carry three JSON headers:

- ``X-App-Usage``: ``{"call_count": 28, "total_cputime": 25, "total_time": 25}`` (percent of the app's limit);
- ``X-Ad-Account-Usage``: ``{"acc_id_util_pct": 9.67, "reset_time_duration": 0, ...}`` (percent of the ad
  account's score; seconds until its window resets);
- ``X-Business-Use-Case-Usage``: ``{"<id>": [{"type": "ads_management", "call_count": 95, "total_cputime": 20,
  "total_time": 20, "estimated_time_to_regain_access": 0}]}`` (percent; minutes until a block ends).

The ad account's score is shared with the people working in Ads Manager: exhausting it throttles them
too. So CLOSRADS logs high usage, paces its calls when usage is high, and when it is throttled anyway
waits as long as Meta says it needs, within a bound. Headers that cannot be parsed are ignored: they
are advice, never a reason to fail.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from closrads.core.graph_errors import THROTTLING_CODES

WARN_AT_PERCENT = 75.0  # log a warning from here on
SLOW_AT_PERCENT = 90.0  # pace the calls from here on ...
MAX_PACING_SECONDS = 10.0  # ... up to this long before each call at 100 %
# A throttled call waits what Meta says the block lasts (an exhausted ad account score: about a
# minute), never longer than this per attempt. When Meta says nothing, the retry schedule applies.
MAX_THROTTLE_WAIT_SECONDS = 300.0
# In the order a tie is named: the ad account's score is the limit people in Ads Manager share.
USAGE_HEADERS = ("X-Ad-Account-Usage", "X-Business-Use-Case-Usage", "X-App-Usage")


@dataclass(frozen=True)
class GraphUsage:
    """The highest usage any header reports, which limit it is, and how long Meta says a block lasts."""

    percent: float
    limit: str  # "ad account score", "app", "ads_management business use case"...
    regain_seconds: float = 0.0

    @property
    def is_high(self) -> bool:
        return self.percent >= WARN_AT_PERCENT

    def pacing_seconds(self) -> float:
        """How long to wait before the next call: 0 below 90 %, rising to 10 s at 100 %.

        A block itself (``regain_seconds``) comes with a throttling error, whose retry waits for it.
        """
        if self.percent < SLOW_AT_PERCENT:
            return 0.0
        share = min(1.0, (self.percent - SLOW_AT_PERCENT) / (100.0 - SLOW_AT_PERCENT))
        return round(MAX_PACING_SECONDS * share, 3)

    def describe(self) -> str:
        text = f"{self.percent:g}% of the {self.limit} limit used"
        if self.regain_seconds > 0:
            text += f"; Meta blocks calls for about {self.regain_seconds:g} s"
        return text


def parse_usage(headers: Mapping[str, str] | None) -> GraphUsage | None:
    """The usage the headers report (``None`` when there are none or none can be read)."""
    if not headers:
        return None
    lower = {str(name).lower(): value for name, value in headers.items()}
    readings: list[GraphUsage] = []
    for name in USAGE_HEADERS:
        raw = lower.get(name.lower())
        if raw is None:
            continue
        try:
            readings.extend(_readings(name, json.loads(raw)))
        except (ValueError, TypeError, AttributeError):
            continue
    if not readings:
        return None
    worst = max(readings, key=lambda usage: usage.percent)
    regain = max(usage.regain_seconds for usage in readings)
    return GraphUsage(percent=worst.percent, limit=worst.limit, regain_seconds=regain)


def throttle_wait(code: int | None, usage: GraphUsage | None) -> float | None:
    """How long Meta says a call refused with ``code`` must wait (``None``: not throttled, or Meta did not say)."""
    if code is None or int(code) not in THROTTLING_CODES or usage is None or usage.regain_seconds <= 0:
        return None
    return min(usage.regain_seconds, MAX_THROTTLE_WAIT_SECONDS)


def _readings(header: str, data: object) -> list[GraphUsage]:
    if header == "X-Ad-Account-Usage" and isinstance(data, dict):
        percent = _number(data.get("acc_id_util_pct"))
        reset = _number(data.get("reset_time_duration"))
        return [GraphUsage(percent, "ad account score", reset if percent >= 100 else 0.0)]
    if header == "X-App-Usage" and isinstance(data, dict):
        return [GraphUsage(_highest(data), "app")]
    if header == "X-Business-Use-Case-Usage" and isinstance(data, dict):
        readings = []
        for entries in data.values():
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict):
                    limit = f"{entry.get('type') or 'business'} business use case"
                    regain = _number(entry.get("estimated_time_to_regain_access")) * 60  # minutes
                    readings.append(GraphUsage(_highest(entry), str(limit)[:60], regain))
        return readings
    return []


def _highest(entry: dict) -> float:
    return max(_number(entry.get(key)) for key in ("call_count", "total_cputime", "total_time"))


def _number(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return min(number, 1e6) if number == number and number >= 0 else 0.0  # NaN and negatives read as 0

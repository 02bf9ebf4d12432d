"""How CLOSRADS writes a moment for people: UTC, to the second in reports, to the minute in sentences.

Records and XCom keep ISO 8601 (``datetime.isoformat()``), which tools parse; these are the forms a
person reads in a report, a Slack message or a hold note.
"""

from __future__ import annotations

from datetime import UTC, datetime

SECOND_FORMAT = "%Y-%m-%d %H:%M:%S UTC"
MINUTE_FORMAT = "%Y-%m-%d %H:%M UTC"


def utc_stamp(when: datetime | None = None) -> str:
    """``2026-12-07 16:25:21 UTC`` (now, unless ``when`` is given)."""
    return (when or datetime.now(UTC)).astimezone(UTC).strftime(SECOND_FORMAT)


def utc_minute(when: datetime | str) -> str:
    """``2026-12-07 16:25 UTC``, from a time or an ISO 8601 text (naive times are UTC)."""
    moment = datetime.fromisoformat(when) if isinstance(when, str) else when
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(MINUTE_FORMAT)

"""The Marketing API's clock: when each Graph API version stops working.

Every Marketing API version has an end date. A call pinned to an ended version fails, or Meta
silently upgrades it to a newer version (and says so in a response header), whose rules the
targeting CLOSRADS writes was never checked against. So a Connection pinned to an ended version
stops before its first request, and one whose version ends within :data:`WARN_DAYS` says so in every
report. The table holds Meta's announced dates; add a line when Meta announces the next one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

# Meta's announced end dates ("available until"); None: no end announced yet.
END_DATES: dict[str, date | None] = {
    "v24.0": date(2026, 11, 10),
    "v25.0": date(2027, 2, 23),
    "v26.0": None,
    "v27.0": None,
}
# Within this many days of a version's end, every report and Slack message carries a warning line.
WARN_DAYS = 30

_VERSION = re.compile(r"^v(\d+)\.(\d+)$")


def _number(version: str) -> tuple[int, int] | None:
    match = _VERSION.match(version)
    return (int(match[1]), int(match[2])) if match else None


_OLDEST = min(END_DATES, key=_number)


@dataclass(frozen=True)
class VersionClock:
    """What the table says of one version on one day."""

    version: str  # "v25.0"
    ends: date | None  # its end date, when known
    ended: bool
    days_left: int | None  # until its end (None: no end known, or it has ended)

    @property
    def ends_soon(self) -> bool:
        return self.days_left is not None and self.days_left <= WARN_DAYS

    def ended_message(self, conn_id: str) -> str:
        when = f"on {self.ends.isoformat()}" if self.ends else f"before {_OLDEST} did ({END_DATES[_OLDEST]})"
        return (
            f"Airflow Connection '{conn_id}' pins Graph API {self.version}, which Meta ended {when}; nothing was "
            f'sent to Facebook. Set its extra "api_version" to a current version ({current_versions()}), or '
            "leave it out for the SDK's own"
        )

    def warning(self) -> str | None:
        """One line for every report while the end is near (``None`` otherwise)."""
        if not self.ends_soon:
            return None
        days = f"in {self.days_left} day{'s' if self.days_left != 1 else ''}"
        return (
            f"Graph API {self.version} ends on {self.ends.isoformat()} ({days}): move the Facebook Connection's "
            f'"api_version" to a newer version before then'
        )


def version_clock(version: str, today: date) -> VersionClock:
    """The table's word on ``version`` (``"v25.0"``) on ``today``. A version older than the table's
    oldest has ended; one newer than its newest has no end announced."""
    number = _number(version)
    if version in END_DATES:
        ends = END_DATES[version]
    elif number is not None and number < _number(_OLDEST):
        return VersionClock(version, None, True, None)
    else:
        ends = None
    ended = ends is not None and today >= ends
    days_left = (ends - today).days if ends is not None and not ended else None
    return VersionClock(version, ends, ended, days_left)


def current_versions() -> str:
    """The table's versions with no end announced, for messages: ``v26.0, v27.0``."""
    return ", ".join(version for version, ends in END_DATES.items() if ends is None)

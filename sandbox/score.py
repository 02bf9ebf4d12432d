"""The ad account's rate-limit score, as Meta keeps it, at a scale tests can reach.

Meta gives every ad account a budget of "score" per time window: a read costs 1, a write 3. Past
the budget, calls are refused with error 80004 for a while, and every answer reports the usage in the
``X-Ad-Account-Usage`` and ``X-Business-Use-Case-Usage`` headers. Off by default (every answer reports
1 % usage); ``POST /_sandbox/score {"budget": 30, "window": 10, "block": 2}`` turns it on.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field

READ_COST, WRITE_COST = 1, 3
THROTTLED_CODE = 80004  # "There have been too many calls to this ad-account"


@dataclass
class AccountScore:
    budget: int | None = None  # score per window; None: no limit (the usage headers say 1 %)
    window: float = 60.0  # seconds
    block: float = 60.0  # seconds calls are refused once the budget is spent
    spent: list[tuple[float, int]] = field(default_factory=list)
    blocked_until: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def configure(self, settings: dict | None) -> dict:
        with self.lock:
            settings = settings or {}
            self.budget = int(settings["budget"]) if settings.get("budget") else None
            self.window = float(settings.get("window", 60.0))
            self.block = float(settings.get("block", 60.0))
            self.spent, self.blocked_until = [], 0.0
            return self.describe()

    def describe(self) -> dict:
        return {"budget": self.budget, "window": self.window, "block": self.block}

    def charge(self, method: str) -> float:
        """Count one call; the seconds it is refused for (0: it goes through)."""
        now = time.monotonic()
        with self.lock:
            if self.budget is None:
                return 0.0
            if now < self.blocked_until:
                return self.blocked_until - now
            self.spent = [(at, cost) for at, cost in self.spent if at > now - self.window]
            self.spent.append((now, WRITE_COST if method == "POST" else READ_COST))
            if sum(cost for _, cost in self.spent) > self.budget:
                self.blocked_until = now + self.block
                self.spent = []  # the block is the penalty: afterwards the score starts afresh
                return self.block
            return 0.0

    def headers(self, account_id: str) -> dict[str, str]:
        """The usage headers Meta sends with every answer."""
        now = time.monotonic()
        with self.lock:
            if self.budget is None:
                percent, regain = 1.0, 0.0
            else:
                used = sum(cost for at, cost in self.spent if at > now - self.window)
                regain = max(0.0, self.blocked_until - now)
                percent = 100.0 if regain else round(min(100.0, 100.0 * used / self.budget), 2)
        business = {
            account_id: [
                {
                    "type": "ads_management",
                    "call_count": percent,
                    "total_cputime": 1,
                    "total_time": 1,
                    "estimated_time_to_regain_access": math.ceil(regain / 60),  # minutes, as Meta counts
                }
            ]
        }
        account = {"acc_id_util_pct": percent, "reset_time_duration": math.ceil(regain)}
        return {"X-Business-Use-Case-Usage": json.dumps(business), "X-Ad-Account-Usage": json.dumps(account)}

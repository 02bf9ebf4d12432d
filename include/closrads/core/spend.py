"""Where the money went: a campaign's spend per US state, against the states that wanted leads.

Targeting is not spend. ``location_types`` that include people recently in a state, Advantage+
location expansion, a late sync, a failed ad set or an edit outside CLOSRADS all let money flow to
states that want no leads. Meta's Insights API breaks a campaign's spend down by region
(``breakdowns=region``), naming regions by name ("Ohio", "Washington, District of Columbia",
"Unknown"), not by key. This module maps those names to state codes through the shipped region table
and sums the spend: in total, in states with no demand (the leakage), per state, and outside the US
states (other countries, "Unknown"), which is its own figure, never dropped.

Pure logic: :mod:`closrads.airflow.spend` reads Insights and the ad account.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache

from closrads.core.errors import ClosradsError
from closrads.core.regions import load_region_keys

WINDOWS = ("yesterday", "last_7_days")
# How many no-demand states the Slack line names (the biggest spenders first).
NAMED_STATES = 5
# Meta's spellings of the District beside the region table's ("Washington D. C.").
_ALIASES = {
    "washington district of columbia": "DC",
    "district of columbia": "DC",
    "washington dc": "DC",
    "dc": "DC",
}


def _folded(name: str) -> str:
    """A region name as compared: accents and punctuation gone, case and spaces folded."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain.lower()).split())


@cache
def _codes_by_name() -> dict[str, str]:
    names = {_folded(entry["name"]): code for code, entry in load_region_keys().items()}
    return names | _ALIASES


def state_for_region_name(name: object) -> str | None:
    """The USPS code of a region as Insights names it (``None``: not a US state, or "Unknown")."""
    return _codes_by_name().get(_folded(str(name))) if isinstance(name, str) else None


# No campaign spends this much in a day or a week: a figure above it is not a spend (and would overflow
# the cents the report keeps).
MAX_AMOUNT = Decimal(10) ** 12


def amount(value: object) -> Decimal:
    """A recorded amount (the report's own figures) as a number; anything else is 0."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)
    return number if number.is_finite() and 0 <= number < MAX_AMOUNT else Decimal(0)


def insights_amount(value: object, where: str) -> Decimal:
    """Insights' spend (a decimal string, in the account's currency) as a number. Missing is 0 (Insights
    leaves out a metric that has no value); anything else makes the figures wrong, so it is refused by
    ``where`` (the answer itself is never quoted)."""
    if value is None:
        return Decimal(0)
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        try:
            number = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            number = None
        if number is not None and number.is_finite() and 0 <= number < MAX_AMOUNT:
            return number
    raise ClosradsError(f"Insights sent a spend that is not an amount ({where}); the figures would be wrong")


@dataclass
class SpendWindow:
    """One period's spend: in total, in states with no demand, per state, and outside the US states."""

    total: Decimal = Decimal(0)
    no_demand: Decimal = Decimal(0)
    by_state: dict[str, Decimal] = field(default_factory=dict)
    other: Decimal = Decimal(0)

    def add(self, region: object, spent: Decimal, wanted: set[str]) -> None:
        code = state_for_region_name(region)
        self.total += spent
        if code is None:
            self.other += spent
            return
        self.by_state[code] = self.by_state.get(code, Decimal(0)) + spent
        if code not in wanted:
            self.no_demand += spent

    @property
    def no_demand_share(self) -> float | None:
        """The share of the spend that went to states with no demand, in percent (``None``: nothing spent)."""
        return float(self.no_demand * 100 / self.total) if self.total else None

    def leaking_states(self, wanted: set[str]) -> list[tuple[str, Decimal]]:
        """The states with no demand that spent money, the biggest first."""
        leaks = [(code, spent) for code, spent in self.by_state.items() if code not in wanted and spent > 0]
        return sorted(leaks, key=lambda leak: (-leak[1], leak[0]))

    def to_dict(self) -> dict:
        return {
            "total": _json(self.total),
            "no_demand": _json(self.no_demand),
            "by_state": {code: _json(spent) for code, spent in sorted(self.by_state.items())},
            "other": _json(self.other),
        }

    @classmethod
    def from_dict(cls, data: dict) -> SpendWindow:
        return cls(
            amount(data.get("total")),
            amount(data.get("no_demand")),
            {str(code): amount(spent) for code, spent in (data.get("by_state") or {}).items()},
            amount(data.get("other")),
        )


def _json(value: Decimal) -> float:
    return float(round(value, 2))


@dataclass
class SpendSummary:
    """A run's spend figures (report field ``spend``), or why there are none (``unavailable``)."""

    currency: str = ""
    windows: dict[str, SpendWindow] = field(default_factory=dict)
    wanted: list[str] = field(default_factory=list)  # the states with demand the figures were read against
    unavailable: str | None = None
    alert_percent: float | None = None  # the campaign's leak alert threshold (spend_leak_alert_percent), if set
    alert_problem: str | None = None  # why the threshold could not be used this run

    def to_dict(self) -> dict:
        if self.unavailable is not None:
            return {"unavailable": self.unavailable}
        data = {"currency": self.currency, **{name: window.to_dict() for name, window in self.windows.items()}}
        if self.alert_percent is not None:
            data["alert_percent"] = self.alert_percent
        if self.alert_problem is not None:
            data["alert_problem"] = self.alert_problem
        return data

    def leak_alert(self) -> str | None:
        """Said plainly when yesterday's share of spend in states with no demand is above the threshold."""
        if self.alert_problem:
            return f"the spend leak alert is off this run: {self.alert_problem}"
        yesterday = self.windows.get("yesterday")
        share = yesterday.no_demand_share if yesterday else None
        if self.alert_percent is None or share is None or share <= self.alert_percent:
            return None
        return (
            f"Spend leak: {share:.1f}% of yesterday's spend ({money(yesterday.no_demand, self.currency)}) went to "
            f"states with no demand, above this campaign's alert threshold of {self.alert_percent:g}%"
        )

    @classmethod
    def from_dict(cls, data: object, wanted: list[str] | None = None) -> SpendSummary | None:
        if not isinstance(data, dict):
            return None
        if data.get("unavailable") is not None:
            return cls(unavailable=str(data["unavailable"]))
        windows = {name: SpendWindow.from_dict(data[name]) for name in WINDOWS if isinstance(data.get(name), dict)}
        alert = data.get("alert_percent")
        alert = float(alert) if isinstance(alert, int | float) and not isinstance(alert, bool) else None
        problem = str(data["alert_problem"]) if data.get("alert_problem") else None
        return cls(str(data.get("currency") or ""), windows, list(wanted or []), None, alert, problem)

    def line(self) -> str:
        """One line for the report and Slack: ``Yesterday $1,204.50 spent, $96.20 (8.0%) in states with no
        demand: TX $60.00, WA $36.20``, or why spend is unavailable."""
        if self.unavailable is not None:
            return f"Spend unavailable: {self.unavailable}"
        yesterday = self.windows.get("yesterday")
        if yesterday is None:
            return "Spend unavailable: Insights returned no figures"
        if not yesterday.total:
            return "Yesterday nothing was spent"
        share = yesterday.no_demand_share or 0.0
        text = (
            f"Yesterday {money(yesterday.total, self.currency)} spent, {money(yesterday.no_demand, self.currency)} "
            f"({share:.1f}%) in states with no demand"
        )
        leaks = yesterday.leaking_states(set(self.wanted))
        if leaks:
            named = ", ".join(f"{code} {money(spent, self.currency)}" for code, spent in leaks[:NAMED_STATES])
            more = f" and {len(leaks) - NAMED_STATES} more" if len(leaks) > NAMED_STATES else ""
            text += f": {named}{more}"
        if yesterday.other:
            text += f"; {money(yesterday.other, self.currency)} outside the US states (other regions, unknown)"
        return text


_SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "EUR": "€", "GBP": "£"}


def money(value: Decimal, currency: str) -> str:
    """An amount as the operator reads it: ``$1,204.50`` (USD), ``1,204.50 MXN`` (a currency without a sign here)."""
    figure = f"{value:,.2f}"
    symbol = _SYMBOLS.get(currency.upper())
    return f"{symbol}{figure}" if symbol else f"{figure} {currency.upper()[:3]}".rstrip()


def money_compact(value: Decimal, currency: str) -> str:
    """An amount short enough for a map tile: ``$12``, ``$1.2k`` (whole units; the table has the cents)."""
    symbol = _SYMBOLS.get(currency.upper(), "")
    figure = f"{value / 1000:.1f}k" if value >= 1000 else f"{value:.0f}"
    return f"{symbol}{figure}"


def parse_alert_percent(raw: object, *, source: str) -> float | None:
    """The leak alert threshold as written (a Variable's text, a registry number): unset is no alert;
    anything but a number from 0 to 100 raises, naming ``source``."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = float(str(raw).strip())
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise ClosradsError(f"{source} must be a share of spend in percent, from 0 to 100 (unset: no alert)")
    return value


def summarize(rows: dict[str, list[dict]], wanted: list[str], currency: str) -> SpendSummary:
    """The run's figures from Insights rows per window (``{"yesterday": [{region, spend}, ...], ...}``)."""
    states = set(wanted)
    windows = {}
    for name in WINDOWS:
        window = SpendWindow()
        for number, row in enumerate(rows.get(name) or [], start=1):
            if not isinstance(row, dict):
                raise ClosradsError(f"Insights sent a row that is not an object ({name}, row {number})")
            window.add(row.get("region"), insights_amount(row.get("spend"), f"{name}, row {number}"), states)
        windows[name] = window
    return SpendSummary(currency, windows, sorted(states))

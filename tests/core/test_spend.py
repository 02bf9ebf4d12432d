"""Spend per state from Insights rows: region names to codes, the leakage, and the line people read."""

from decimal import Decimal

import pytest

from closrads.core.errors import ClosradsError
from closrads.core.spend import SpendSummary, money, parse_alert_percent, state_for_region_name, summarize


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Ohio", "OH"),
        ("washington", "WA"),
        ("Washington, District of Columbia", "DC"),
        ("Washington D. C.", "DC"),
        ("District of Columbia", "DC"),
        ("New  York", "NY"),
        ("Unknown", None),
        ("Ontario", None),
        (None, None),
        (42, None),
    ],
)
def test_meta_region_names_map_to_state_codes_through_the_region_table(name, code):
    assert state_for_region_name(name) == code


ROWS = {
    "yesterday": [
        {"region": "Ohio", "spend": "60.00"},
        {"region": "Texas", "spend": "25.50"},
        {"region": "Washington", "spend": "10.25"},
        {"region": "Unknown", "spend": "4.25"},
        {"region": "Ontario"},  # Insights leaves out a metric without a value: 0
    ],
    "last_7_days": [{"region": "Ohio", "spend": "420"}],
}


def test_the_figures_split_total_no_demand_states_and_other_regions():
    summary = summarize(ROWS, wanted=["OH"], currency="USD")
    yesterday = summary.windows["yesterday"]
    assert (yesterday.total, yesterday.no_demand, yesterday.other) == (
        Decimal("100.00"),
        Decimal("35.75"),
        Decimal("4.25"),
    )
    assert yesterday.by_state == {"OH": Decimal("60.00"), "TX": Decimal("25.50"), "WA": Decimal("10.25")}
    assert summary.to_dict()["yesterday"]["no_demand"] == 35.75
    assert summary.line() == (
        "Yesterday $100.00 spent, $35.75 (35.8%) in states with no demand: TX $25.50, WA $10.25; "
        "$4.25 outside the US states (other regions, unknown)"
    )
    again = SpendSummary.from_dict(summary.to_dict(), ["OH"])
    assert again.line() == summary.line()


def test_unavailable_and_nothing_spent_say_so():
    assert SpendSummary(unavailable="Insights refused").line() == "Spend unavailable: Insights refused"
    assert SpendSummary.from_dict({"unavailable": "x"}).to_dict() == {"unavailable": "x"}
    assert summarize({}, ["OH"], "USD").line() == "Yesterday nothing was spent"


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [(Decimal("1204.5"), "USD", "$1,204.50"), (Decimal("3"), "EUR", "€3.00"), (Decimal("99.999"), "MXN", "100.00 MXN")],
)
def test_amounts_are_shown_in_the_accounts_currency(value, currency, shown):
    assert money(value, currency) == shown


def test_the_leak_alert_speaks_only_above_its_threshold():
    summary = summarize(ROWS, wanted=["OH"], currency="USD")  # 35.75 % of 100.00 to states without demand
    assert summary.leak_alert() is None  # no threshold: no alert
    summary.alert_percent = 40
    assert summary.leak_alert() is None
    summary.alert_percent = 10
    assert summary.leak_alert() == (
        "Spend leak: 35.8% of yesterday's spend ($35.75) went to states with no demand, above this campaign's "
        "alert threshold of 10%"
    )
    assert SpendSummary.from_dict(summary.to_dict(), ["OH"]).leak_alert() == summary.leak_alert()


@pytest.mark.parametrize(("raw", "value"), [(None, None), ("", None), ("12.5", 12.5), (0, 0.0), ("100", 100.0)])
def test_the_threshold_as_written(raw, value):
    assert parse_alert_percent(raw, source="Variable v") == value


@pytest.mark.parametrize("raw", ["lots", "-1", "101", "nan"])
def test_a_threshold_that_is_not_a_share_is_refused_by_name(raw):
    with pytest.raises(ClosradsError, match=r"^Variable v must be a share of spend in percent, from 0 to 100"):
        parse_alert_percent(raw, source="Variable v")


@pytest.mark.parametrize("spend", ["abc", "", True, "-3.00", "NaN", "Infinity", "1e30", [1], {"v": 1}])
def test_a_spend_that_is_not_an_amount_is_refused_by_row_never_counted_as_zero(spend):
    rows = {"yesterday": [{"region": "Ohio", "spend": "1.00"}, {"region": "Texas", "spend": spend}]}
    with pytest.raises(ClosradsError, match=r"Insights sent a spend that is not an amount \(yesterday, row 2\)"):
        summarize(rows, ["OH"], "USD")


def test_a_row_that_is_not_an_object_is_refused_and_an_odd_region_is_other():
    with pytest.raises(ClosradsError, match=r"a row that is not an object \(last_7_days, row 1\)"):
        summarize({"last_7_days": ["Ohio"]}, ["OH"], "USD")
    summary = summarize({"yesterday": [{"region": 42, "spend": "2"}, {"spend": 3}]}, ["OH"], "USD")
    assert summary.windows["yesterday"].other == 5 and summary.windows["yesterday"].total == 5

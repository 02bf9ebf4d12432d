"""The Marketing API's clock: ended versions, a near end, and versions the table does not list."""

from datetime import date

import pytest

from closrads.core.api_versions import END_DATES, WARN_DAYS, current_versions, version_clock


def test_meta_announced_dates_are_in_the_table():
    assert END_DATES["v24.0"] == date(2026, 11, 10) and END_DATES["v25.0"] == date(2027, 2, 23)
    assert END_DATES["v26.0"] is None and END_DATES["v27.0"] is None
    assert current_versions() == "v26.0, v27.0"


@pytest.mark.parametrize(
    ("version", "today", "ended"),
    [
        ("v24.0", date(2026, 11, 9), False),
        ("v24.0", date(2026, 11, 10), True),  # its end date is the first day it no longer works
        ("v23.0", date(2026, 1, 1), True),  # older than the table's oldest: ended
        ("v28.0", date(2030, 1, 1), False),  # newer than the table's newest: no end announced
    ],
)
def test_ended(version, today, ended):
    assert version_clock(version, today).ended is ended


def test_the_message_names_the_connection_the_version_and_the_date():
    message = version_clock("v24.0", date(2026, 12, 7)).ended_message("facebook_ads_acme")
    assert message.startswith(
        "Airflow Connection 'facebook_ads_acme' pins Graph API v24.0, which Meta ended on 2026-11-10"
    )
    assert "(v26.0, v27.0)" in message
    assert "ended before v24.0 did (2026-11-10)" in version_clock("v21.0", date(2026, 12, 7)).ended_message("c")


def test_a_warning_only_within_the_last_days():
    assert version_clock("v25.0", date(2027, 2, 23) - date.resolution * (WARN_DAYS + 1)).warning() is None
    near = version_clock("v25.0", date(2027, 2, 13))
    assert near.days_left == 10 and near.warning().startswith("Graph API v25.0 ends on 2027-02-23 (in 10 days)")
    assert "(in 1 day)" in version_clock("v25.0", date(2027, 2, 22)).warning()
    assert version_clock("v25.0", date(2027, 2, 23)).warning() is None  # ended: refused, not warned of
    assert version_clock("v26.0", date(2027, 2, 13)).warning() is None  # no end announced

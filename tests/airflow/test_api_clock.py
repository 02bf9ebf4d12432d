"""The Graph API version's warning line, read from the campaign's Facebook Connection (sandbox)."""

from datetime import date, timedelta

from closrads.airflow.api_clock import version_warning
from closrads.core import api_versions
from closrads.core.campaigns import DEFAULT_CAMPAIGN


def test_a_warning_only_while_the_end_is_near(sandbox, monkeypatch):
    assert version_warning(DEFAULT_CAMPAIGN) is None  # v26.0: no end announced
    ends = date.today() + timedelta(days=3)
    monkeypatch.setitem(api_versions.END_DATES, "v26.0", ends)
    assert version_warning(DEFAULT_CAMPAIGN).startswith(f"Graph API v26.0 ends on {ends.isoformat()} (in 3 days)")
    assert sandbox.requests("graph") == []  # the Connection only


def test_a_connection_that_cannot_be_read_gives_no_line(sandbox):
    sandbox.set_connection("facebook_ads_default", None)
    assert version_warning(DEFAULT_CAMPAIGN) is None

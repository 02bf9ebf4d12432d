import pytest

from include.graph_errors import is_transient
from include.redaction import scrub
from include.report import FAILED, SKIPPED, UPDATED, WOULD_UPDATE, AdSetOutcome, SyncReport, decide_status


@pytest.mark.parametrize("code", [1, 2, 4, 17, 341, 613, 80000, 80004, 80014])
def test_transient_codes(code):
    assert is_transient(code)


@pytest.mark.parametrize("code", [10, 100, 190, 200, 299, 80015])
def test_permanent_codes(code):
    assert not is_transient(code)


def test_is_transient_flag_and_bare_gateway_errors():
    assert is_transient(100, flagged_transient=True)
    assert is_transient(None, http_status=502)
    assert is_transient(None, http_status=429)
    assert not is_transient(None, http_status=404)


def test_scrub_removes_plain_and_url_encoded_secrets():
    text = "GET /demand.php?pass=p%40ss+w%2Frd&x=1 failed for p@ss w/rd"
    assert scrub(text, "p@ss w/rd", None, "") == "GET /demand.php?pass=***&x=1 failed for ***"


def _report(**overrides):
    fields = dict(
        mode="LIVE: manual run, dry_run param is false",
        dry_run=False,
        status="success",
        generated_at="2026-11-22 13:00:00 UTC",
        run_id="manual__1",
        demand_states=["OH", "TX"],
        adsets=[
            AdSetOutcome("1", "Core", UPDATED, added=["TX"], removed=["FL"]),
            AdSetOutcome("2", "Spouses", SKIPPED),
            AdSetOutcome("3", "Mobile", FAILED, error="Graph error 100 (HTTP 400): Invalid parameter"),
        ],
    )
    return SyncReport(**(fields | overrides))


def test_text_report_lists_counts_and_each_adset():
    text = _report().render_text()
    assert "Ad sets processed: 3 | Updated: 1 | Skipped: 1 | Failed: 1" in text
    assert "Core (1): updated | +TX -FL" in text
    assert "Mobile (3): FAILED | error: Graph error 100" in text
    assert "Demand states (2): OH, TX" in text


def test_dry_report_counts_would_updates():
    report = _report(dry_run=True, adsets=[AdSetOutcome("1", "Core", WOULD_UPDATE, added=["TX"])])
    assert "Would update: 1" in report.render_text()
    assert report.to_dict()["counts"]["would_update"] == 1


def test_report_round_trips_through_xcom_json():
    report = _report()
    assert SyncReport.from_dict(report.to_dict()).render_text() == report.render_text()


def test_status():
    ok = [AdSetOutcome("1", "a", SKIPPED)]
    assert decide_status({}, ok) == "success"
    assert decide_status({}, ok + [AdSetOutcome("2", "b", FAILED)]) == "failed"
    assert decide_status({"fetch_demand": "boom"}, []) == "aborted"
    report = _report(status="aborted", adsets=[], step_errors={"fetch_demand": "CLOSRTECH returned invalid JSON"})
    assert "Nothing was changed on Facebook." in report.render_text()

"""Graph API failures: transient ones are retried, permanent ones fail one ad set, not the others."""

import json

import pytest

pytestmark = pytest.mark.integration

MOBILE = "120215550000000005"  # map index 3 (active ad sets sorted by id)


def writes_to(sandbox, adset_id):
    return sandbox.requests("graph", method="POST", object_id=adset_id)


@pytest.mark.parametrize("code", [2, 17, 80004])
def test_transient_error_is_retried_then_the_write_succeeds(sandbox, run_dag, code):
    sandbox.add_fault("graph", adset_id=MOBILE, method="POST", code=code, times=1)
    result = run_dag({"dry_run": False})

    assert result.state == "success"
    assert len(writes_to(sandbox, MOBILE)) == 2
    assert result.outcomes()[MOBILE]["outcome"] == "updated"
    assert f"Graph error {code}" in result.log and "retrying in" in result.log


@pytest.mark.parametrize("code", [100, 200])
def test_permanent_error_fails_only_that_adset_after_one_attempt(sandbox, run_dag, code):
    sandbox.add_fault("graph", adset_id=MOBILE, method="POST", code=code, times=5)
    result = run_dag({"dry_run": False})

    assert result.state == "failed"
    assert result.task_states["update_adset[3]"] == "failed"
    assert [s for t, s in result.task_states.items() if t.startswith("update_adset") and s != "success"] == ["failed"]
    assert len(writes_to(sandbox, MOBILE)) == 1  # never retried
    for other in ("120215550000000001", "120215550000000002", "120215550000000006", "120215550000000008"):
        assert len(writes_to(sandbox, other)) == 1
    assert sandbox.targeted_states()[MOBILE] == ["NY", "OH", "PA"]  # unchanged

    outcome = result.outcomes()[MOBILE]
    assert outcome["outcome"] == "failed"
    assert f"Graph error {code}" in outcome["error"]
    assert result.report["status"] == "failed"
    assert result.report["counts"]["failed"] == 1 and result.report["counts"]["updated"] == 4
    assert f"Veterans - Mobile only ({MOBILE}): FAILED" in result.log


def test_invalid_token_aborts_at_listing_with_a_clear_message(sandbox, run_dag):
    sandbox.set_credentials(access_token="the-token-facebook-knows-now")
    result = run_dag({"dry_run": False})

    assert result.state == "failed"
    assert result.task_states["list_adsets"] == "failed"
    error = result.step_error("list_adsets")
    assert "the access token was rejected by Facebook (Graph error 190/463" in error
    assert "facebook_ads_default" in error
    assert len(sandbox.sync_calls()) == 1  # 190 is permanent: not retried
    assert result.report["status"] == "aborted"
    assert sandbox.graph_writes() == []


def test_listing_gateway_error_is_retried(sandbox, run_dag):
    sandbox.add_fault("listing", status=502, body="<html>502 Bad Gateway</html>", times=1)
    result = run_dag({"dry_run": False})
    assert result.state == "success"
    assert len(sandbox.requests("graph", kind="listing")) == 4  # 1 failed + 3 pages


def test_graph_unreachable_aborts_without_writes(sandbox, run_dag):
    conn = sandbox.connections["facebook_ads_default"]
    sandbox.set_connection(
        "facebook_ads_default", conn | {"extra": conn["extra"] | {"graph_url": "http://127.0.0.1:9"}}
    )
    result = run_dag({"dry_run": False})
    assert result.state == "failed"
    assert "could not reach the Graph API at http://127.0.0.1:9 ([Errno 111] Connection refused)" in (
        result.step_error("list_adsets")
    )
    assert result.report["status"] == "aborted"


def test_us_overlap_is_refused_for_that_adset_only(sandbox, run_dag):
    targeting = sandbox.adset(MOBILE)["targeting"]
    targeting["geo_locations"]["countries"] = ["US"]
    sandbox.update_adset(MOBILE, targeting=targeting)

    result = run_dag({"dry_run": False})

    assert result.state == "failed"
    assert writes_to(sandbox, MOBILE) == []
    assert "targets the whole United States" in result.outcomes()[MOBILE]["error"]
    assert len(sandbox.graph_writes()) == 4


def test_a_campaign_of_another_ad_account_is_refused(sandbox, run_dag):
    sandbox.update_adset("120215550000000002", account_id="999999")
    result = run_dag({"dry_run": False})
    assert result.state == "failed"
    assert "in ad account act_999999, not the configured act_1029384756" in result.step_error("list_adsets")
    assert sandbox.graph_writes() == []


def test_transient_error_that_never_clears_is_retried_by_airflow_then_fails_that_adset(sandbox, run_dag):
    sandbox.add_fault("graph", adset_id=MOBILE, method="POST", code=2, times=50)
    result = run_dag({"dry_run": False})

    assert result.state == "failed"
    # Each of the 3 Airflow tries (1 + 2 retries) makes 4 attempts: 1 + in-task retries after 5, 10, 20 s.
    assert len(writes_to(sandbox, MOBILE)) == 3 * 4
    assert result.task_states["update_adset[3]"] == "failed"
    assert "Graph error 2" in result.outcomes()[MOBILE]["error"]
    assert len(sandbox.graph_writes()) == 12 + 4  # the four other changed ad sets were written once each

    alerts = [m["text"] for m in sandbox.slack_messages() if m["text"].startswith("CLOSRADS task failed")]
    assert [a.split(" | try ")[1].split("\n")[0] for a in alerts] == ["1 of 3", "2 of 3", "3 of 3"]
    assert all("Airflow will retry it" in a for a in alerts[:2]) and "No retry left" in alerts[2]
    assert all("update_adset [Veterans - Mobile only (120215550000000005)]" in a for a in alerts)


def test_a_write_that_landed_before_its_try_failed_is_skipped_by_the_retry_and_confirmed(sandbox, run_dag):
    # Every attempt of the first try writes, but its answer is lost (a transient error after the change).
    sandbox.add_fault("graph", adset_id=MOBILE, method="POST", code=2, lands=True, times=4)
    result = run_dag({"dry_run": False})

    assert result.state == "success"
    assert result.task_states["update_adset[3]"] == "success"
    assert len(writes_to(sandbox, MOBILE)) == 4  # only the first try wrote; the retry re-read and skipped
    assert "TX" in sandbox.targeted_states()[MOBILE]
    (mobile,) = [a for a in result.report["adsets"] if a["adset_id"] == MOBILE]
    assert (mobile["outcome"], mobile["tries"]) == ("skipped", 2)
    assert (
        "re-read after the run: its US states match the demand (an earlier try of this run may have written"
        in (mobile["recheck"])
    )
    alerts = [m["text"] for m in sandbox.slack_messages() if m["text"].startswith("CLOSRADS task failed")]
    assert len(alerts) == 1 and "Airflow will retry it" in alerts[0]


def test_a_write_undone_after_the_last_try_is_flagged_by_the_report(sandbox, run_dag, monkeypatch):
    # The retry finds the ad set already right; then a late write restores the old states before report.
    sandbox.add_fault("graph", adset_id=MOBILE, method="POST", code=2, lands=True, times=4)
    before = sandbox.adset(MOBILE)["targeting"]
    from closrads.airflow import recheck

    real = recheck.recheck_uncertain

    def late_write_then_recheck(adsets, regions, hook):
        sandbox.update_adset(MOBILE, targeting=before)
        real(adsets, regions, hook)

    monkeypatch.setattr("closrads.airflow.sync.run.recheck_uncertain", late_write_then_recheck)
    result = run_dag({"dry_run": False})

    assert result.state == "failed"
    (mobile,) = [a for a in result.report["adsets"] if a["adset_id"] == MOBILE]
    assert mobile["outcome"] == "failed" and "differ from the demand" in mobile["recheck"]
    assert "Clear its update_adset to re-apply the demand" in result.log


def test_a_refusal_is_never_retried_by_airflow(sandbox, run_dag):
    sandbox.add_fault("graph", adset_id=MOBILE, method="POST", code=100, times=50)
    result = run_dag({"dry_run": False})

    assert len(writes_to(sandbox, MOBILE)) == 1
    alerts = [m["text"] for m in sandbox.slack_messages() if m["text"].startswith("CLOSRADS task failed")]
    assert len(alerts) == 1 and "try 1 of 3" in alerts[0] and "No retry left" in alerts[0]
    assert result.task_states["update_adset[3]"] == "failed"


def test_adset_paused_after_listing_is_left_alone(sandbox, run_dag):
    # The listing still shows ad set 5 ACTIVE, but a human paused it before its update read it.
    mobile = sandbox.adset(MOBILE)
    listing = {"data": [{"id": MOBILE, "name": mobile["name"], "effective_status": "ACTIVE",
                         "account_id": mobile["account_id"]}]}  # fmt: skip
    sandbox.add_fault("listing", status=200, body=json.dumps(listing), content_type="application/json")
    sandbox.update_adset(MOBILE, effective_status="PAUSED")

    result = run_dag({"dry_run": False})

    assert result.state == "success"
    assert writes_to(sandbox, MOBILE) == []
    assert result.outcomes()[MOBILE]["outcome"] == "skipped"
    assert "is PAUSED now (it was ACTIVE when listed); leaving it alone" in result.log


@pytest.mark.parametrize(
    "read",
    [
        {"id": MOBILE, "name": "Veterans - Mobile only", "effective_status": "ACTIVE"},
        {"id": MOBILE, "name": "Veterans - Mobile only", "effective_status": "ACTIVE", "targeting": None},
    ],
    ids=["targeting-missing", "targeting-null"],
)
def test_a_read_without_targeting_is_never_written_over(sandbox, run_dag, read):
    sandbox.add_fault(
        "graph", adset_id=MOBILE, method="GET", status=200, body=json.dumps(read), content_type="application/json"
    )
    before = sandbox.adset(MOBILE)["targeting"]

    result = run_dag({"dry_run": False})

    assert result.state == "failed"
    assert writes_to(sandbox, MOBILE) == []
    assert sandbox.adset(MOBILE)["targeting"] == before
    assert "refusing to write a targeting built from nothing" in result.outcomes()[MOBILE]["error"]
    assert len(sandbox.graph_writes()) == 4  # the other changed ad sets


def test_regions_of_other_countries_are_kept(sandbox, run_dag):
    cross_border = "120215550000000008"
    targeting = sandbox.adset(cross_border)["targeting"]
    ontario = {"key": "533", "name": "Ontario", "country": "CA"}
    targeting["geo_locations"]["regions"].insert(0, ontario)
    sandbox.update_adset(cross_border, targeting=targeting)

    result = run_dag({"dry_run": False})

    assert result.state == "success"
    regions = sandbox.adset(cross_border)["targeting"]["geo_locations"]["regions"]
    assert regions[0] == ontario and sum(r["key"] == "533" for r in regions) == 1
    outcome = result.outcomes()[cross_border]
    assert (outcome["added"], outcome["removed"]) == (["NE", "TX", "WV"], ["AK", "MA", "VT"])


def test_a_listing_that_repeats_itself_aborts_the_run_without_writes(sandbox, run_dag):
    page = {"data": [], "paging": {"cursors": {"after": "c2FtZQ=="}, "next": "http://127.0.0.1/next"}}
    sandbox.add_fault("listing", times=1000, status=200, body=json.dumps(page), content_type="application/json")
    result = run_dag({"dry_run": False})
    assert result.state == "failed" and result.report["status"] == "aborted"
    assert "repeated a paging cursor (page 2)" in result.step_error("list_adsets")
    assert len(sandbox.requests("graph", kind="listing")) == 2 and sandbox.graph_writes() == []


def test_an_ad_account_near_its_rate_limit_is_paced_and_a_throttled_call_waits_then_succeeds(
    sandbox, run_dag, retry_waits, monkeypatch
):
    import time

    # Waits really happen here (capped at 1.2 s) so the sandbox's 1 s block ends; what was asked is recorded.
    monkeypatch.setattr("closrads.airflow.retrying.pause", lambda s: (retry_waits.append(s), time.sleep(min(s, 1.2))))
    # 3 listing pages + 6 reads + 5 writes x 3 = 24 score points; a budget of 20 runs out near the end.
    sandbox.set_score(budget=20, window=600, block=1)
    result = run_dag({"dry_run": False})

    assert result.state == "success"
    assert result.report["counts"]["updated"] == 5
    # The minimum is 3 listing pages + 6 reads + 5 writes; the call the exhausted score refused came again.
    assert len(sandbox.sync_calls()) == 3 + 6 + 5 + 1
    assert "Facebook: high API usage:" in result.log
    assert "Graph error 80004" in result.log and "rate limited: Meta needs about 60 s" in result.log
    assert 60.0 in retry_waits  # Meta's estimate (whole minutes) over the schedule's 5 s

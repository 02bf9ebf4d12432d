"""FacebookAdsHook against the sandbox's Graph API, through the real facebook-business SDK."""

import json
import re
from datetime import UTC, datetime

import pytest

from closrads.airflow.hooks.facebook_ads import FacebookAdsHook
from closrads.core.errors import ConnectionConfigError, GraphError, InvalidAccessToken
from sandbox import scenario
from tests.helpers import assert_no_secret, raised_text

CORE = "120215550000000001"


def test_init_reads_nothing_and_imports_no_sdk(monkeypatch):
    monkeypatch.setattr("closrads.airflow.hooks.connections.BaseHook.get_connection", pytest.fail)
    FacebookAdsHook()


def test_lists_every_page_of_the_campaign(sandbox):
    rows = FacebookAdsHook().list_campaign_adsets()
    assert [row["id"] for row in rows] == [a["id"] for a in sandbox.state()["adsets"]]
    assert {row["effective_status"] for row in rows} == {"ACTIVE", "PAUSED", "ARCHIVED"}
    # the targeting comes with the listing, so a live run can plan its changes before it writes
    assert [row["targeting"] for row in rows] == [a["targeting"] for a in sandbox.state()["adsets"]]
    assert len(sandbox.requests("graph", kind="listing")) == 3  # 8 ad sets, 3 per page


def test_reads_and_replaces_targeting(sandbox):
    hook = FacebookAdsHook()
    current = hook.get_adset(CORE)
    assert current["targeting"] == sandbox.adset(CORE)["targeting"]
    changed = current["targeting"] | {"age_min": 40}
    hook.update_targeting(CORE, changed)
    (write,) = sandbox.graph_writes()
    assert json.loads(write["targeting"]) == changed
    assert sandbox.adset(CORE)["targeting"]["age_min"] == 40


def test_validate_only_is_checked_by_meta_and_changes_nothing(sandbox):
    hook = FacebookAdsHook()
    before = sandbox.adset(CORE)["targeting"]
    hook.update_targeting(CORE, before | {"age_min": 40}, validate_only=True)
    (validation,) = sandbox.graph_validations()
    assert json.loads(validation["targeting"])["age_min"] == 40
    assert sandbox.graph_writes() == [] and sandbox.adset(CORE)["targeting"] == before
    with pytest.raises(GraphError, match=r"validating the targeting of ad set \d+: Graph error 100"):
        hook.update_targeting(CORE, {"age_min": 40}, validate_only=True)  # Meta's own validation still runs


def test_transient_errors_are_retried_after_5_10_20_seconds(sandbox, retry_waits):
    sandbox.add_fault("graph", adset_id=CORE, code=2, times=50)
    with pytest.raises(GraphError, match="Graph error 2") as caught:
        FacebookAdsHook().get_adset(CORE)
    assert caught.value.transient and retry_waits == [5.0, 10.0, 20.0]


def test_permanent_errors_fail_at_once(sandbox, retry_waits):
    sandbox.add_fault("graph", adset_id=CORE, method="POST", code=100, times=5)
    with pytest.raises(GraphError, match=r"Graph error 100/1487756 \(HTTP 400\): Invalid parameter"):
        FacebookAdsHook().update_targeting(CORE, {"geo_locations": {"regions": []}})
    assert retry_waits == []


def test_a_gateway_page_is_an_error_not_a_success(sandbox):
    sandbox.add_fault("graph", adset_id=CORE, method="POST", status=502, body="<html>Bad gateway</html>", times=10)
    with pytest.raises(GraphError, match="answered HTTP 502 with a body that is not Graph JSON"):
        FacebookAdsHook().update_targeting(CORE, {"geo_locations": {"regions": []}})


def test_an_invalid_token_names_itself(sandbox):
    sandbox.set_credentials(access_token="the-token-facebook-knows-now")
    with pytest.raises(InvalidAccessToken, match=r"the access token was rejected by Facebook.*facebook_ads_default"):
        FacebookAdsHook().list_campaign_adsets()


def test_missing_campaign_id_is_named_before_any_request(sandbox):
    conn = sandbox.connections["facebook_ads_default"]
    sandbox.set_connection("facebook_ads_default", conn | {"extra": {"ad_account_id": "act_1"}})
    with pytest.raises(ConnectionConfigError, match='has no extra "campaign_id"'):
        FacebookAdsHook().list_campaign_adsets()
    assert sandbox.requests("graph") == []


def test_failures_never_quote_the_token(sandbox):
    conn = sandbox.connections["facebook_ads_default"]
    sandbox.set_connection(
        "facebook_ads_default", conn | {"extra": conn["extra"] | {"graph_url": "http://127.0.0.1:9"}}
    )
    text = raised_text(lambda: FacebookAdsHook().list_campaign_adsets())
    assert "Connection refused" in text
    assert_no_secret(text, "a Graph network error")

    sandbox.set_connection("facebook_ads_default", conn)
    sandbox.add_fault("graph", adset_id=CORE, code=100, message=f"bad token {scenario.ACCESS_TOKEN}")
    text = raised_text(lambda: FacebookAdsHook().get_adset(CORE))
    assert "Graph error 100" in text
    assert_no_secret(text, "a Graph error that echoes the token")

    sandbox.set_credentials(access_token="another")
    text = raised_text(lambda: FacebookAdsHook().get_adset(CORE))
    assert "the access token was rejected" in text
    assert_no_secret(text, "an invalid-token error")


def test_settings_repr_hides_the_token(sandbox):
    assert_no_secret(repr(FacebookAdsHook().settings), "repr(FacebookSettings)")


@pytest.mark.parametrize(("configured", "used"), [("25.0", "v25.0"), ("v27.0", "v27.0"), ("26", "v26.0")])
def test_api_version_is_normalised(sandbox, configured, used):
    conn = sandbox.connections["facebook_ads_default"]
    sandbox.set_connection("facebook_ads_default", conn | {"extra": conn["extra"] | {"api_version": configured}})
    FacebookAdsHook().get_adset(CORE)
    (read,) = sandbox.requests("graph")
    assert read["path"].startswith(f"/{used}/")


def test_api_version_defaults_to_the_sdks_own(sandbox):
    from facebook_business import apiconfig

    conn = sandbox.connections["facebook_ads_default"]
    extra = {k: v for k, v in conn["extra"].items() if k != "api_version"}
    sandbox.set_connection("facebook_ads_default", conn | {"extra": extra})
    assert FacebookAdsHook().settings.api_version == apiconfig.ads_api_config["API_VERSION"] == "v26.0"


def test_an_unreadable_api_version_is_a_named_field(sandbox):
    conn = sandbox.connections["facebook_ads_default"]
    sandbox.set_connection("facebook_ads_default", conn | {"extra": conn["extra"] | {"api_version": "latest"}})
    with pytest.raises(ConnectionConfigError, match=r"facebook_ads_default' has an unreadable extra \"api_version\""):
        FacebookAdsHook().list_campaign_adsets()
    assert sandbox.requests("graph") == []


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ('{"success": false}', "application/json", "answered HTTP 200 without confirming it (no success, no error)"),
        (
            "<html>Service temporarily overloaded</html>",
            "text/html",
            "answered HTTP 200 with a body that is not Graph JSON",
        ),
    ],
    ids=["success-false", "html-200"],
)
def test_a_write_graph_does_not_confirm_is_a_failure(sandbox, retry_waits, body, content_type, message):
    sandbox.add_fault("graph", adset_id=CORE, method="POST", status=200, body=body, content_type=content_type)
    with pytest.raises(GraphError, match=re.escape(message)) as caught:
        FacebookAdsHook().update_targeting(CORE, {"geo_locations": {"regions": []}})
    assert not caught.value.transient and retry_waits == []
    assert "Overloaded" not in str(caught.value)


def test_a_slow_but_successful_call_succeeds(sandbox, retry_waits):
    sandbox.add_fault("graph", adset_id=CORE, method="GET", delay=0.3)
    assert FacebookAdsHook().get_adset(CORE)["id"] == CORE
    assert retry_waits == []


def _listing_page(rows, cursor="c2FtZQ==") -> str:
    return json.dumps({"data": rows, "paging": {"cursors": {"after": cursor}, "next": "http://127.0.0.1/next"}})


def test_a_listing_that_repeats_its_cursor_is_stopped(sandbox):
    sandbox.add_fault("listing", times=1000, status=200, body=_listing_page([]), content_type="application/json")
    with pytest.raises(GraphError, match=r"repeated a paging cursor \(page 2\)"):
        FacebookAdsHook().list_campaign_adsets()
    assert len(sandbox.requests("graph", kind="listing")) == 2


def test_a_listing_that_repeats_an_adset_is_stopped(sandbox):
    row = {"id": CORE, "name": "Core", "effective_status": "ACTIVE"}
    sandbox.add_fault("listing", status=200, body=_listing_page([row], "YQ=="), content_type="application/json")
    sandbox.add_fault("listing", status=200, body=_listing_page([row], "Yg=="), content_type="application/json")
    with pytest.raises(GraphError, match=f"returned ad set {CORE} twice"):
        FacebookAdsHook().list_campaign_adsets()


def test_a_listing_longer_than_the_page_cap_is_stopped(sandbox, monkeypatch):
    monkeypatch.setattr("closrads.airflow.hooks.graph_listing.MAX_LISTING_PAGES", 2)  # the sandbox has 3 pages
    with pytest.raises(GraphError, match="did not end within 2 pages"):
        FacebookAdsHook().list_campaign_adsets()
    assert len(sandbox.requests("graph", kind="listing")) == 2


@pytest.mark.parametrize(
    ("fault", "message", "transient"),
    [
        # a page past the size cap (here 1 KB; shipped: 16 MB) is refused as it arrives, never retried
        ({"status": 200, "body": _listing_page([{"id": str(n)} for n in range(200)])}, "a body larger than 1000 bytes",
         False),
        ({"cut": 40, "body": _listing_page([])}, "an answer that ended after 40 bytes", False),
        ({"content_encoding": "gzip", "body": _listing_page([])}, "a body that cannot be decoded", False),
        # a body that trickles in past the hook's timeout: the network's fault, retried
        ({"drip": 0.2, "body": _listing_page([])}, "still sending its body at the deadline", True),
    ],
)  # fmt: skip
def test_a_listing_page_is_read_within_a_size_cap_and_a_deadline(sandbox, retry_waits, monkeypatch, fault, message,
                                                                   transient):  # fmt: skip
    monkeypatch.setattr("closrads.airflow.hooks.facebook_ads.MAX_GRAPH_BODY_BYTES", 1000)
    sandbox.add_fault("listing", times=10, **fault)
    with pytest.raises(GraphError) as refused:
        FacebookAdsHook(timeout=1.0).list_campaign_adsets()
    assert message in str(refused.value) and str(refused.value).startswith("the Graph API at http://127.0.0.1:")
    assert refused.value.transient is transient
    assert len(sandbox.requests("graph", kind="listing")) == (4 if transient else 1)  # retried 5, 10, 20 s, or not
    assert sandbox.graph_writes() == []


# -- Meta's rate limits (the sandbox emulates the ad account's score: reads cost 1, writes 3) ---------


def test_high_usage_is_logged_and_slows_the_next_calls(sandbox, retry_waits, logs):
    sandbox.set_score(budget=20, window=60, block=60)
    hook = FacebookAdsHook()
    for _ in range(14):
        hook.get_adset("120215550000000001")  # 14 of 20: quiet
    assert retry_waits == [] and "high API usage" not in logs.text
    for _ in range(4):
        hook.get_adset("120215550000000001")  # 18 of 20: 90 %
    assert "Facebook: high API usage: 90% of the ad account score limit used" in logs.text
    assert retry_waits == []  # below 90 % before each of these calls: no pacing yet
    hook.get_adset("120215550000000001")  # paced 0 s at 90 %; 95 % after
    hook.get_adset("120215550000000001")  # paced 5 s at 95 %; 100 % after
    assert retry_waits == [5.0]
    assert "Facebook: waiting 5 s before reading ad set 120215550000000001 (95% of the ad account score" in (logs.text)


def test_a_throttled_call_waits_what_meta_says_then_succeeds(sandbox, retry_waits, monkeypatch):
    import time

    # Really wait (briefly) so the sandbox's 2 s block ends; record what was asked for.
    monkeypatch.setattr("closrads.airflow.retrying.pause", lambda s: (retry_waits.append(s), time.sleep(min(s, 2.2))))
    sandbox.set_score(budget=5, window=60, block=2)
    hook = FacebookAdsHook()
    for _ in range(5):
        hook.get_adset("120215550000000001")
    retry_waits.clear()
    adset = hook.get_adset("120215550000000001")  # the 6th read exceeds the budget: blocked 2 s, then served

    assert adset["id"] == "120215550000000001"
    throttled = [r for r in sandbox.requests("graph") if r.get("object_id") == "120215550000000001"]
    assert len(throttled) == 7  # 5 reads, the refused one, the retry
    # Paced 10 s at 100 % usage, then refused: the business use case header says "1 minute" (Meta counts
    # whole minutes; the ad account header says 2 s): the longer wins over the schedule's 5 s.
    assert retry_waits == [10.0, 60.0]


def test_throttle_waits_follow_meta_when_it_asks_for_longer(sandbox, retry_waits):
    sandbox.set_score(budget=1, window=60, block=120)
    hook = FacebookAdsHook()
    with pytest.raises(GraphError) as caught:
        hook.update_targeting("120215550000000001", sandbox.adset("120215550000000001")["targeting"])
    assert caught.value.code == 80004 and caught.value.transient
    assert "rate limited: Meta needs about 120 s before the next call" in str(caught.value)
    assert retry_waits == [120.0, 120.0, 120.0]  # Meta's 120 s over the schedule's 5, 10, 20 s


def test_the_registrys_ad_account_fills_in_for_the_connections(sandbox):
    conn = sandbox.connections["facebook_ads_default"]
    conn["extra"].pop("ad_account_id")
    sandbox.set_connection("facebook_ads_default", conn)
    hook = FacebookAdsHook(ad_account_id=scenario.AD_ACCOUNT_ID)
    assert hook.settings.ad_account_id == scenario.AD_ACCOUNT_ID
    assert len(hook.list_campaign_adsets()) == len(sandbox.state()["adsets"])
    with pytest.raises(ConnectionConfigError, match='has no extra "ad_account_id"'):
        FacebookAdsHook().settings  # noqa: B018 - neither the Connection nor the registry names one


def test_a_connection_for_another_ad_account_than_the_registrys_is_refused_before_any_call(sandbox):
    with pytest.raises(ConnectionConfigError) as caught:
        FacebookAdsHook(ad_account_id="act_555").list_campaign_adsets()
    assert str(caught.value) == (
        f"Airflow Connection 'facebook_ads_default' is for ad account {scenario.AD_ACCOUNT_ID}, but the campaign "
        "registry says act_555; fix whichever is wrong"
    )
    assert sandbox.requests("graph") == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"extra": {"graph_url": "http://graph.example.com"}}, ': its extra "graph_url" is not https'),
        ({"password": "tok"}, " has a password of fewer than 5 characters"),
    ],
)
def test_the_token_never_travels_in_clear_nor_unmaskable(sandbox, change, message):
    conn = sandbox.connections["facebook_ads_default"]
    sandbox.set_connection("facebook_ads_default", conn | change | {"extra": conn["extra"] | change.get("extra", {})})
    with pytest.raises(ConnectionConfigError, match=f"Connection 'facebook_ads_default'{message}"):
        FacebookAdsHook().list_campaign_adsets()
    assert sandbox.requests("graph") == []


def test_the_connection_test_reads_the_campaign_once_and_says_so(sandbox):
    ok, message = FacebookAdsHook().test_connection()
    assert ok and message.startswith(f"Graph answered: campaign {scenario.CAMPAIGN_ID} of {scenario.AD_ACCOUNT_ID}")
    assert len(sandbox.requests("graph", kind="listing")) == 1 and sandbox.graph_writes() == []


def test_the_connection_test_names_a_rejected_token_without_it(sandbox, retry_waits):
    sandbox.add_fault("listing", code=190, times=5)
    ok, message = FacebookAdsHook().test_connection()
    assert not ok and message.startswith(f"reading campaign {scenario.CAMPAIGN_ID}: the access token was rejected")
    assert "put a valid System User token in the password of Connection 'facebook_ads_default'" in message
    assert scenario.ACCESS_TOKEN not in message and retry_waits == []  # one request, no retries


@pytest.mark.parametrize("account", ["act_1029384756", "1029384756", " act_1029384756 "])
@pytest.mark.parametrize("conn_type", ["closrads_facebook_ads", "generic"])
def test_the_ad_account_reads_the_same_in_every_shape(sandbox, account, conn_type):
    conn = sandbox.connections["facebook_ads_default"]
    sandbox.set_connection(
        "facebook_ads_default", conn | {"conn_type": conn_type, "extra": conn["extra"] | {"ad_account_id": account}}
    )
    assert FacebookAdsHook().settings.ad_account_id == "act_1029384756"
    assert FacebookAdsHook().list_campaign_adsets()  # and its campaign's ad sets are that account's


def test_the_listing_carries_metas_learning_state_where_meta_reports_one(sandbox):
    rows = {row["id"]: row for row in FacebookAdsHook().list_campaign_adsets()}
    listed = sandbox.requests("graph", kind="listing")
    assert all("learning_stage_info" in request["fields"] for request in listed)  # same call, no extra request
    core, spouses, lookalike = (rows[f"12021555000000000{n}"] for n in (1, 2, 3))
    assert core["learning"]["status"] == "SUCCESS" and spouses["learning"]["status"] == "LEARNING"
    edit = sandbox.adset(spouses["id"])["learning_stage_info"]["last_sig_edit_ts"]
    assert spouses["learning"]["last_significant_edit"] == datetime.fromtimestamp(edit, UTC).isoformat()
    assert lookalike["learning"] is None  # Meta reports none for it
    assert rows["120215550000000004"]["learning"] is None  # nor for a paused one


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ({"status": "learning", "last_sig_edit_ts": 1765000000}, {"status": "LEARNING"}),
        ({"status": "<script>", "last_sig_edit_ts": 1765000000}, None),  # not a status: no learning info
        ({"status": "SUCCESS", "last_sig_edit_ts": "soon"}, {"status": "SUCCESS"}),  # an unreadable time is left out
        ({"status": "SUCCESS", "last_sig_edit_ts": 99999999999999}, {"status": "SUCCESS"}),
        ("LEARNING", None),
    ],
)
def test_a_learning_state_of_an_unknown_shape_is_never_guessed(sandbox, info, expected):
    sandbox.update_adset(CORE, learning_stage_info=info)
    (core,) = [row for row in FacebookAdsHook().list_campaign_adsets() if row["id"] == CORE]
    learning = core["learning"]
    assert (learning if learning is None else {"status": learning["status"]}) == expected


def test_a_connection_pinned_to_an_ended_version_fails_before_any_request(sandbox):
    conn = sandbox.connections["facebook_ads_default"]
    sandbox.set_connection("facebook_ads_default", conn | {"extra": conn["extra"] | {"api_version": "v24.0"}})
    with pytest.raises(ConnectionConfigError) as caught:
        FacebookAdsHook().list_campaign_adsets()
    assert str(caught.value).startswith(
        "Airflow Connection 'facebook_ads_default' pins Graph API v24.0, which Meta ended on 2026-11-10"
    )
    assert sandbox.requests("graph") == []
    ok, message = FacebookAdsHook().test_connection()
    assert not ok and "ended on 2026-11-10" in message and sandbox.requests("graph") == []


def test_a_version_older_than_the_table_has_ended_too(sandbox):
    conn = sandbox.connections["facebook_ads_default"]
    sandbox.set_connection("facebook_ads_default", conn | {"extra": conn["extra"] | {"api_version": "v19.0"}})
    with pytest.raises(ConnectionConfigError, match=r"pins Graph API v19.0, which Meta ended before v24.0 did"):
        FacebookAdsHook().get_adset(CORE)
    assert sandbox.requests("graph") == []


def test_an_answer_in_another_version_is_noted_once_without_quoting_meta(sandbox, logs):
    sandbox.update_scenario(upgraded_versions=["v26.0"], upgrade_to="v27.0")
    hook = FacebookAdsHook()
    hook.list_campaign_adsets()
    hook.get_adset(CORE)
    assert hook.served_version == "v27.0"
    warning = (
        "Facebook: Meta answered with Graph API v27.0, not the v26.0 that Connection 'facebook_ads_default' asks "
        'for; move its "api_version" to a current version'
    )
    assert logs.text.count(warning) == 1  # once, for four answers
    assert "auto-upgraded" not in logs.text  # Meta's header text is not quoted


def test_a_write_refused_for_a_field_closrads_does_not_change_says_so_and_changes_nothing(sandbox, retry_waits):
    targeting = sandbox.adset(CORE)["targeting"] | {"instagram_positions": ["stream", "explore"]}
    sandbox.update_adset(CORE, targeting=targeting)
    for validate_only in (False, True):
        with pytest.raises(GraphError) as caught:
            FacebookAdsHook().update_targeting(CORE, targeting | {"age_min": 40}, validate_only=validate_only)
        message = str(caught.value)
        assert message.startswith(
            f"Meta refused the targeting of ad set {CORE} because of targeting.instagram_positions, a field "
            "CLOSRADS does not change"
        )
        assert "fix it in Ads Manager" in message and not caught.value.transient
    assert sandbox.adset(CORE)["targeting"] == targeting and retry_waits == []


def test_the_mutation_rate_limit_is_waited_out(sandbox, retry_waits):
    sandbox.add_fault("graph", adset_id=CORE, method="POST", code=613, times=1)
    hook = FacebookAdsHook()
    hook.update_targeting(CORE, sandbox.adset(CORE)["targeting"] | {"age_min": 40})
    assert retry_waits == [5.0] and sandbox.adset(CORE)["targeting"]["age_min"] == 40

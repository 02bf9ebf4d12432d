"""The normal day: live and dry runs against the default sandbox scenario."""

import copy
import json

import pytest

pytestmark = pytest.mark.integration


def _without_regions(targeting: dict) -> dict:
    other = copy.deepcopy(targeting)
    other["geo_locations"].pop("regions", None)
    return other


def test_live_run_writes_only_differing_active_adsets_and_preserves_everything_else(sandbox, run_dag):
    before = {a["id"]: a for a in sandbox.state()["adsets"]}
    demand = sorted(code for code, value in sandbox.state()["demand"].items() if value > 0)

    result = run_dag({"dry_run": False})

    assert result.state == "success"
    written = sorted({w["object_id"] for w in sandbox.graph_writes()})
    # ad set 3 already targets exactly the demand states; 4 is PAUSED and 7 ARCHIVED
    assert written == ["120215550000000001", "120215550000000002", "120215550000000005",
                       "120215550000000006", "120215550000000008"]  # fmt: skip
    assert len(sandbox.graph_writes()) == len(written)  # one write per changed ad set
    after = {a["id"]: a for a in sandbox.state()["adsets"]}
    targeted = sandbox.targeted_states()
    for adset_id in written + ["120215550000000003"]:
        assert targeted[adset_id] == demand
        assert _without_regions(after[adset_id]["targeting"]) == _without_regions(before[adset_id]["targeting"])
    for untouched in ("120215550000000004", "120215550000000007"):
        assert after[untouched] == before[untouched]
        assert not sandbox.requests("graph", kind="adset", object_id=untouched)

    report = result.report
    assert report["status"] == "success"
    assert report["counts"] == {"processed": 6, "updated": 5, "would_update": 0, "skipped": 1, "failed": 0}
    assert report["demand_states"] == demand
    assert "Mode: LIVE: manual run, dry_run param is false" in result.log
    assert "Veterans - Core - Broad (120215550000000001): updated | +NE +TX +WV -AK -MA -VT" in result.log
    # the UI labels each mapped instance with the ad set's name and id
    assert result.task_states["update_adset[0]"] == "success"


def test_write_sends_the_full_deep_copied_targeting(sandbox, run_dag):
    before = sandbox.adset("120215550000000006")["targeting"]
    run_dag({"dry_run": False})

    (write,) = sandbox.requests("graph", method="POST", object_id="120215550000000006")
    sent = json.loads(write["targeting"])
    assert _without_regions(sent) == _without_regions(before)
    assert sent["geo_locations"]["excluded_zips"] == before["geo_locations"]["excluded_zips"]


def test_dry_run_is_the_default_writes_nothing_and_reports_would_be_changes(sandbox, run_dag):
    before = sandbox.state()["adsets"]

    result = run_dag()  # no conf: the dry_run param defaults to true

    assert result.state == "success"
    assert sandbox.graph_writes() == []
    assert sandbox.state()["adsets"] == before
    assert result.report["dry_run"] is True
    assert result.report["counts"]["would_update"] == 5
    assert result.report["counts"]["updated"] == 0
    assert "DRY RUN: manual run, dry_run param is true" in result.log
    assert "Veterans - Southeast (120215550000000006): would update (accepted by Meta) | +AR" in result.log
    # every active ad set was still read, so the report reflects real targeting
    assert len(sandbox.requests("graph", kind="adset", method="GET")) == 6
    # and every would-be write was sent to Meta for validation only: the full deep-copied targeting
    validations = sandbox.graph_validations()
    assert sorted(v["object_id"] for v in validations) == sorted(
        a for a, o in result.outcomes().items() if o["outcome"] == "would_update"
    )
    assert all(json.loads(v["targeting"])["age_min"] for v in validations)


def test_a_dry_run_names_the_error_meta_finds_in_a_would_be_write(sandbox, run_dag):
    mobile = "120215550000000005"
    sandbox.add_fault("graph", adset_id=mobile, method="POST", code=100, message="Invalid targeting spec", times=5)
    result = run_dag({"dry_run": True})

    assert result.state == "failed"
    assert sandbox.graph_writes() == [] and len(sandbox.graph_validations()) == 4 + 1
    outcome = result.outcomes()[mobile]
    assert outcome["outcome"] == "failed"
    assert "validating the targeting of ad set 120215550000000005: Graph error 100" in outcome["error"]
    assert "Invalid targeting spec" in outcome["error"]
    assert result.report["counts"]["would_update"] == 4
    assert "DRY RUN: 4 would update, 1 skipped, 1 failed" in result.log


def test_second_live_run_is_idempotent(sandbox, run_dag):
    assert run_dag({"dry_run": False}).state == "success"
    writes_after_first = len(sandbox.graph_writes())

    second = run_dag({"dry_run": False})

    assert second.state == "success"
    assert len(sandbox.graph_writes()) == writes_after_first
    assert second.report["counts"] == {"processed": 6, "updated": 0, "would_update": 0, "skipped": 6, "failed": 0}


def test_listing_follows_every_page_and_keeps_only_active(sandbox, run_dag):
    result = run_dag({"dry_run": False})

    pages = sandbox.requests("graph", kind="listing")
    assert [p["after"] is not None for p in pages] == [False, True, True]  # 8 ad sets, 3 per page
    assert "effective_status" in pages[0]["fields"]
    listed = result.xcoms[("list_adsets", -1, "return_value")]
    assert [a["id"] for a in listed] == sandbox.active_ids()  # sorted by id, ACTIVE only
    assert "Veterans - Retargeting 30d (PAUSED)" in result.log

import pytest

from closrads.core.report import AdSetOutcome, Outcome, RunStatus, StepResult, StepStatus, SyncReport
from closrads.core.run_mode import RunMode
from closrads.core.targeting import render_change


def _report(**overrides):
    fields = dict(
        mode=RunMode(False, "manual run, dry_run param is false"),
        generated_at="2026-11-22 13:00:00 UTC",
        run_id="manual__1",
        demand_states=["OH", "TX"],
        adsets=[
            AdSetOutcome("1", "Core", Outcome.UPDATED, added=["TX"], removed=["FL"]),
            AdSetOutcome("2", "Spouses", Outcome.SKIPPED),
            AdSetOutcome("3", "Mobile", Outcome.FAILED, error="Graph error 100 (HTTP 400): Invalid parameter"),
        ],
        steps=[StepResult(name, StepStatus.SUCCEEDED) for name in ("fetch", "map", "list")],
    )
    return SyncReport(**(fields | overrides))


def test_text_report_lists_counts_and_each_adset():
    text = _report().render_text()
    assert "Ad sets processed: 3 | Updated: 1 | Skipped: 1 | Failed: 1" in text
    assert "Core (1): updated | +TX -FL" in text
    assert "Mobile (3): FAILED | error: Graph error 100" in text
    assert "Demand states (2): OH, TX" in text


def test_a_failed_adset_shows_its_change_as_intended_not_applied():
    failed = AdSetOutcome("3", "Mobile", Outcome.FAILED, added=["AK"], removed=["TX"], error="Graph error 100")
    assert failed.describe() == "Mobile (3): FAILED | intended +AK -TX, not applied | error: Graph error 100"


def test_adsets_without_an_outcome_are_unknown_or_not_run():
    unknown = AdSetOutcome("4", "Gone", Outcome.UNKNOWN, error="its task ended 'failed'")
    assert "UNKNOWN" in unknown.describe() and "it may have been written" in unknown.describe()
    assert AdSetOutcome("5", "Later", Outcome.NOT_RUN).describe() == "Later (5): not run (an earlier step failed)"
    report = _report(adsets=[unknown, AdSetOutcome("5", "Later", Outcome.NOT_RUN)])
    assert report.failed_count == 2 and report.status == RunStatus.FAILED


def test_dry_report_counts_would_updates():
    report = _report(
        mode=RunMode(True, "manual run"), adsets=[AdSetOutcome("1", "Core", Outcome.WOULD_UPDATE, added=["TX"])]
    )
    assert "Would update: 1" in report.render_text()
    assert report.to_dict()["counts"]["would_update"] == 1
    assert report.summary() == "DRY RUN: 1 would update"


def test_summary_for_the_run_list():
    assert _report().summary() == "LIVE: 1 updated, 1 skipped, 1 failed"


def test_report_round_trips_through_xcom_json():
    report = _report()
    data = report.to_dict()
    assert data["status"] == "failed" and data["adsets"][0]["outcome"] == "updated"
    assert SyncReport.from_dict(data).render_text() == report.render_text()


def test_status():
    ok = [AdSetOutcome("1", "a", Outcome.SKIPPED)]
    assert _report(adsets=ok).status == RunStatus.SUCCESS
    assert _report(adsets=ok + [AdSetOutcome("2", "b", Outcome.FAILED)]).status == RunStatus.FAILED
    steps = [
        StepResult("fetch_demand", StepStatus.FAILED, "CLOSRTECH returned invalid JSON"),
        StepResult("map_regions", StepStatus.NOT_RUN),
    ]
    aborted = _report(adsets=[], steps=steps)
    assert aborted.status == RunStatus.ABORTED
    text = aborted.render_text()
    assert "Nothing was changed on Facebook." in text
    assert "Step fetch_demand failed: CLOSRTECH returned invalid JSON" in text
    assert "Step map_regions: not run (an earlier step failed)" in text
    assert "map_regions failed" not in text


@pytest.mark.parametrize(
    ("added", "removed", "text"),
    [(["NE", "TX"], ["AK"], "+NE +TX -AK"), ([], ["AK"], "-AK"), ([], [], "no change")],
)
def test_one_renderer_for_a_change(added, removed, text):
    assert render_change(added, removed) == text
    assert AdSetOutcome("1", "a", Outcome.UPDATED, added=added, removed=removed).change == text


def test_a_recheck_confirms_or_flags_what_the_outcome_alone_cannot_say():
    retried = AdSetOutcome("1", "Core", Outcome.SKIPPED, tries=2)
    died = AdSetOutcome("2", "Spouses", Outcome.UNKNOWN)
    overwritten = AdSetOutcome("3", "Mobile", Outcome.UPDATED, added=["TX"], tries=3)
    assert [a.needs_recheck for a in (retried, died, overwritten, AdSetOutcome("4", "x", Outcome.UPDATED))] == [
        True,
        True,
        True,
        False,
    ]
    retried.confirm()
    died.confirm()
    overwritten.contradict("+TX -AK")
    assert "(an earlier try of this run may have written them)" in retried.describe()
    assert died.outcome == Outcome.UNKNOWN and "match the demand" in died.describe()  # still a dead task
    assert overwritten.outcome == Outcome.FAILED  # the run did not leave what it wanted
    assert "differ from the demand (+TX -AK still to do)" in overwritten.describe()
    assert "something wrote after this run's last read" in overwritten.describe()
    report = _report(adsets=[retried, died, overwritten])
    assert report.status == "failed" and report.failed_count == 2


def test_a_failed_adset_whose_change_is_still_to_do_is_not_blamed_on_someone_else():
    failed = AdSetOutcome("1", "Core", Outcome.FAILED, error="could not read the guard", tries=3)
    failed.contradict("+TX -AK")
    assert failed.outcome == Outcome.FAILED
    assert failed.recheck == (
        "re-read after the run: its US states differ from the demand (+TX -AK still to do). "
        "Clear its update_adset to re-apply the demand"
    )


def test_a_cleared_adset_that_found_nothing_left_to_do_still_says_the_run_updated_it():
    rerun = AdSetOutcome("1", "Core", Outcome.SKIPPED, tries=2)
    rerun.include_earlier_writes([(1, ["NE", "TX"], ["AK"])])
    assert rerun.outcome == Outcome.UPDATED
    assert (rerun.added, rerun.removed) == (["NE", "TX"], ["AK"])
    assert rerun.describe() == (
        "Core (1): updated | +NE +TX -AK | updated on try 1 (+NE +TX -AK); nothing left to do on try 2"
    )
    report = _report(adsets=[rerun])
    assert report.count(Outcome.UPDATED) == 1 and report.summary() == "LIVE: 1 updated"
    assert report.to_dict()["adsets"][0]["history"].endswith("nothing left to do on try 2")


def test_a_later_try_that_failed_keeps_its_failure_and_names_the_earlier_write():
    failed = AdSetOutcome("3", "Mobile", Outcome.FAILED, error="Graph error 100", tries=2)
    failed.include_earlier_writes([(1, ["TX"], [])])
    assert failed.outcome == Outcome.FAILED
    assert failed.history == "updated on try 1 (+TX); try 2 failed"


def test_the_last_tries_own_write_is_no_earlier_write():
    updated = AdSetOutcome("1", "Core", Outcome.UPDATED, added=["TX"], tries=1)
    updated.include_earlier_writes([(1, ["TX"], [])])
    assert updated.history is None
    assert "history" not in updated.to_dict()  # one try: the usual shape


def test_the_mode_travels_as_a_value_and_reads_back_from_old_reports():
    stored = _report().to_dict()
    assert (stored["mode"], stored["dry_run"]) == ("LIVE: manual run, dry_run param is false", False)
    assert SyncReport.from_dict(stored).mode == RunMode(False, "manual run, dry_run param is false")
    older = {k: v for k, v in stored.items() if k != "run_mode"}  # stored before the report carried run_mode
    assert SyncReport.from_dict(older).mode == RunMode(False, "manual run, dry_run param is false")

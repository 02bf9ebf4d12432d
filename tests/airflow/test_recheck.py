"""The report's re-read of uncertain ad sets, against the sandbox's Graph over HTTP."""

from closrads.airflow.hooks.facebook_ads import FacebookAdsHook
from closrads.airflow.recheck import recheck_uncertain
from closrads.core.learning_phase import policy_of
from closrads.core.regions import map_states
from closrads.core.report import AdSetOutcome, Outcome

CORE, SPOUSES, LOOKALIKE = "120215550000000001", "120215550000000002", "120215550000000003"


def test_uncertain_adsets_are_re_read_and_flagged_when_they_differ(sandbox):
    wanted = sandbox.targeted_states()[LOOKALIKE]  # what one ad set already holds: the "demand" here
    regions = map_states(dict.fromkeys(wanted, 5)).regions
    certain = AdSetOutcome(CORE, "Core", Outcome.UPDATED)  # one try, recorded: not re-read
    retried = AdSetOutcome(LOOKALIKE, "Lookalike", Outcome.SKIPPED, tries=2)
    died = AdSetOutcome(SPOUSES, "Spouses", Outcome.UNKNOWN)

    recheck_uncertain([certain, retried, died], policy_of({"regions": regions}), FacebookAdsHook())

    assert [r["object_id"] for r in sandbox.requests("graph", method="GET") if r.get("object_id")] == [
        LOOKALIKE,
        SPOUSES,
    ]
    assert certain.recheck is None
    assert retried.outcome == Outcome.SKIPPED and "match the demand" in retried.recheck
    assert died.outcome == Outcome.UNKNOWN and "differ from the demand" in died.recheck
    assert sandbox.graph_writes() == []


def test_a_re_read_that_fails_says_so_and_changes_nothing(sandbox):
    sandbox.add_fault("graph", adset_id=CORE, method="GET", code=100, times=5)
    retried = AdSetOutcome(CORE, "Core", Outcome.UPDATED, tries=2)
    recheck_uncertain([retried], policy_of({"regions": map_states({"OH": 1}).regions}), FacebookAdsHook())
    assert retried.outcome == Outcome.UPDATED
    assert retried.recheck.startswith("could not re-read it after the run: reading ad set") and "Graph error 100" in (
        retried.recheck
    )

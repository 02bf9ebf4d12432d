"""The operator's map of one run says what the run's report says: demand per state, each ad set's change."""

from closrads.core.report import AdSetOutcome, Outcome, SyncReport
from closrads.core.run_map import DEMAND_BANDS, band_for, run_map
from closrads.core.run_mode import RunMode


def report(*adsets: AdSetOutcome, dry_run: bool = False) -> dict:
    return SyncReport(mode=RunMode(dry_run, "manual run"), generated_at="2026-12-03 13:00:00 UTC", run_id="manual__1",
                      demand_states=["OH", "TX"], adsets=list(adsets)).to_dict()  # fmt: skip


def test_states_carry_their_demand_and_what_the_run_changed():
    core = AdSetOutcome("1", "Core", Outcome.UPDATED, added=["TX"], removed=["AK"])
    south = AdSetOutcome("2", "South", Outcome.UPDATED, added=["TX", "OH"], removed=[])
    failed = AdSetOutcome("3", "Mobile", Outcome.FAILED, added=["OH"], removed=["PA"], error="Graph error 100")
    skipped = AdSetOutcome("4", "Look", Outcome.SKIPPED)

    shown = run_map(report(core, south, failed, skipped), {"OH": 15, "TX": 24})

    assert len(shown.states) == 51 and shown.summary == "LIVE: 2 updated, 1 skipped, 1 failed"
    tx, oh, ak, pa = (shown.state(code) for code in ("TX", "OH", "AK", "PA"))
    assert (tx.demand, tx.band.key, tx.added_to, tx.removed_from) == (24, "top", 2, 0)
    assert (oh.demand, oh.band.key, oh.added_to) == (15, "high", 1)  # the failed ad set's change is not counted
    assert (ak.demand, ak.band.key, ak.removed_from) == (0, "none", 1)
    assert pa.removed_from == 0
    assert tx.describe() == "TX: 24 leads wanted; added to 2 ad set(s)"
    assert ak.describe() == "AK: no leads wanted; removed from 1 ad set(s)"
    assert [(a.name, a.status) for a in shown.adsets] == [
        ("Core", "changed"),
        ("South", "changed"),
        ("Mobile", "failed"),
        ("Look", "unchanged"),
    ]
    assert shown.adsets[2].error == "Graph error 100"


def test_a_dry_run_shows_what_would_change():
    shown = run_map(report(AdSetOutcome("1", "Core", Outcome.WOULD_UPDATE, added=["TX"]), dry_run=True), {"TX": 3})
    assert shown.state("TX").added_to == 1 and shown.adsets[0].status == "would change"
    assert shown.mode.startswith("DRY RUN")


def test_a_run_that_stopped_before_demand_still_draws_every_state():
    shown = run_map(report(), None)
    assert {state.band.key for state in shown.states} == {"none"}
    assert all(state.added_to == state.removed_from == 0 for state in shown.states)


def test_every_demand_falls_in_exactly_one_band():
    for demand in (0, 1, 4, 5, 9, 10, 19, 20, 10_000):
        assert sum(b.low <= demand and (b.high is None or demand <= b.high) for b in DEMAND_BANDS) == 1
    assert band_for(20).label == "20 or more leads"


def test_tiles_show_the_states_learning_phase_protection_held_back():
    partly = AdSetOutcome(
        "1", "Core", Outcome.UPDATED, added=["TX"], held=["+NE (demand 1, added at 2)", "-WV (1 of 3 runs at zero)"]
    )
    waiting = AdSetOutcome(
        "2", "South", Outcome.HELD, held=["+NE", "-AK"], held_note="held back until 2026-12-05 13:00 UTC"
    )

    shown = run_map(report(partly, waiting), {"TX": 3, "NE": 1})

    assert (shown.state("NE").held_in, shown.state("WV").held_in, shown.state("AK").held_in) == (2, 1, 1)
    assert shown.state("NE").added_to == 0  # held back: not counted as a change
    assert shown.state("NE").describe() == "NE: 1 leads wanted; its change held back in 2 ad set(s)"
    assert shown.adsets[1].held_states == ("NE", "AK")


def test_a_cleared_adset_shows_what_the_run_did_across_its_tries():
    rerun = AdSetOutcome("1", "Core", Outcome.SKIPPED, tries=2)
    rerun.include_earlier_writes([(1, ["TX"], ["AK"])])
    shown = run_map(report(rerun), {"TX": 3})
    assert shown.state("TX").added_to == 1 and shown.adsets[0].status == "changed"
    assert shown.adsets[0].history == "updated on try 1 (+TX -AK); nothing left to do on try 2"

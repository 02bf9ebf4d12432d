"""What the operator's map of one run shows: demand per state on the tile grid, and each ad set's change.

Built from what the run itself recorded (its report, and the demand ``fetch_demand`` returned), so the
map says exactly what the report says. Pure: the page that draws it reads those values through
Airflow and renders this model; colour is never the only carrier of meaning (every tile has its code,
its demand and its change counts as text, and :meth:`StateOnMap.describe` is its text alternative).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from closrads.core.report import Outcome, SyncReport
from closrads.core.spend import SpendSummary, money, money_compact
from closrads.core.state_grid import TILES


@dataclass(frozen=True)
class DemandBand:
    """A range of leads wanted, drawn in one colour and named in the legend."""

    key: str  # a CSS-safe name
    label: str
    low: int  # inclusive
    high: int | None  # inclusive; None: no upper bound


DEMAND_BANDS = (
    DemandBand("none", "no leads wanted", 0, 0),
    DemandBand("low", "1-4 leads", 1, 4),
    DemandBand("mid", "5-9 leads", 5, 9),
    DemandBand("high", "10-19 leads", 10, 19),
    DemandBand("top", "20 or more leads", 20, None),
)


def band_for(demand: int) -> DemandBand:
    return next(b for b in DEMAND_BANDS if demand >= b.low and (b.high is None or demand <= b.high))


# Outcomes whose change was (or, in a dry run, would have been) applied, and those that were not.
APPLIED = {Outcome.UPDATED, Outcome.WOULD_UPDATE}
CHANGE_SYMBOL = {
    Outcome.UPDATED: "changed",
    Outcome.WOULD_UPDATE: "would change",
    Outcome.SKIPPED: "unchanged",
    Outcome.FAILED: "failed",
    Outcome.UNKNOWN: "unknown",
    Outcome.NOT_RUN: "not run",
    Outcome.REJECTED: "rejected",
    Outcome.HELD: "held back",
}


@dataclass(frozen=True)
class StateOnMap:
    code: str
    row: int
    column: int
    demand: int  # leads wanted (0: none)
    band: DemandBand
    added_to: int  # ad sets this run added the state to (or would, in a dry run)
    removed_from: int
    held_in: int = 0  # ad sets in which learning-phase protection held this state's change back
    spent: str = ""  # yesterday's spend there, as shown ("$1,204.50"); "": none, or not measured
    spent_short: str = ""  # the same, short enough for the tile ("$1.2k")
    leak: bool = False  # money was spent there yesterday although it wants no leads

    def describe(self) -> str:
        """The tile's text alternative: ``"OH: 15 leads wanted; added to 2 ad sets"``."""
        wanted = f"{self.demand} leads wanted" if self.demand else "no leads wanted"
        changes = (
            [f"added to {self.added_to} ad set(s)"] * bool(self.added_to)
            + [f"removed from {self.removed_from} ad set(s)"] * bool(self.removed_from)
            + [f"its change held back in {self.held_in} ad set(s)"] * bool(self.held_in)
            + [f"{self.spent} spent yesterday{' with no demand' if self.leak else ''}"] * bool(self.spent)
        )
        return f"{self.code}: {wanted}" + (f"; {', '.join(changes)}" if changes else "")


@dataclass(frozen=True)
class AdSetOnMap:
    adset_id: str
    name: str
    outcome: Outcome
    added: list[str]
    removed: list[str]
    error: str | None = None
    held: str = ""  # what learning-phase protection held back, and until when
    held_states: tuple[str, ...] = ()  # the state codes whose change it held back
    held_entries: tuple[str, ...] = ()  # ``held`` one entry at a time (each state's hold, then the note)
    history: str = ""  # what the run did across its tries ("updated on try 1; nothing left to do on try 2")
    learning: str = ""  # Meta's learning status when the run listed it ("LEARNING"), "" when Meta reported none
    learning_note: str = ""  # the same in words, with the last significant edit
    outside_change: str = ""  # what changed it since CLOSRADS last wrote it, in words

    @property
    def status(self) -> str:
        return CHANGE_SYMBOL[self.outcome]

    @property
    def applied(self) -> bool:
        return self.outcome in APPLIED


@dataclass(frozen=True)
class RunMap:
    title: str
    run_id: str
    mode: str
    status: str
    summary: str
    states: list[StateOnMap]
    adsets: list[AdSetOnMap] = field(default_factory=list)
    approval: str | None = None  # what the change guard decided (a dry run: whether live would wait)
    shows_demand: bool = True  # False for a rollback: it applies no demand, its map shows what it restored
    learning_phase: str | None = None
    notices: list[str] = field(default_factory=list)  # run-level warnings (the API's clock, Meta's learning info)
    spend: str | None = None  # where yesterday's money went, in one line (None: the run did not measure it)

    def state(self, code: str) -> StateOnMap:
        return next(state for state in self.states if state.code == code)


def held_states(held: list[str]) -> tuple[str, ...]:
    """The state codes of held-back changes (``"+NE (demand 1, added at 2)"``, ``"-WV (...)"``, ``"+TX"``)."""
    return tuple(entry[1:3] for entry in held if len(entry) >= 3 and entry[0] in "+-" and entry[1:3].isalpha())


def run_map(report: dict, demand: dict[str, int] | None) -> RunMap:
    """The map of one run from its report (``SyncReport.to_dict``) and its wanted demand (``{code: leads}``).

    A state counts as added to or removed from an ad set when that ad set's change was applied (or
    would have been, in a dry run); a failed, rejected or not-run change is listed with its ad set but
    not counted on the map, which shows what the run did.
    """
    result = SyncReport.from_dict(report)
    wanted = {str(code): int(value) for code, value in (demand or {}).items()}
    adsets = [
        AdSetOnMap(
            a.adset_id,
            a.name,
            Outcome(a.outcome),
            list(a.added),
            list(a.removed),
            a.error,
            held="; ".join(filter(None, [", ".join(a.held), a.held_note])),
            held_states=held_states(a.held),
            held_entries=tuple(filter(None, [*a.held, a.held_note])),
            history=a.history or "",
            learning=a.learning_state.status if a.learning_state else "",
            learning_note=a.learning_note or "",
            outside_change=a.outside_change_note or "",
        )
        for a in result.adsets
    ]
    applied = [adset for adset in adsets if adset.applied]
    spend = SpendSummary.from_dict(report.get("spend"), result.demand_states)
    spent = spend.windows["yesterday"].by_state if spend and "yesterday" in spend.windows else {}
    currency = spend.currency if spend else ""
    states = [
        StateOnMap(
            tile.code,
            tile.row,
            tile.column,
            wanted.get(tile.code, 0),
            band_for(wanted.get(tile.code, 0)),
            sum(tile.code in adset.added for adset in applied),
            sum(tile.code in adset.removed for adset in applied),
            sum(tile.code in adset.held_states for adset in adsets),
            money(spent[tile.code], currency) if spent.get(tile.code) else "",
            money_compact(spent[tile.code], currency) if spent.get(tile.code) else "",
            bool(spent.get(tile.code)) and not wanted.get(tile.code, 0),
        )
        for tile in TILES
    ]
    return RunMap(
        result.title,
        result.run_id,
        result.mode.describe(),
        str(result.status),
        result.summary(),
        states,
        adsets,
        approval=result.approval.describe() if result.approval else None,
        shows_demand=result.shows_demand,
        learning_phase=result.learning_phase,
        notices=list(result.notices),
        spend=spend.line() if spend else None,
    )

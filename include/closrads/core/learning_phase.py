"""Learning-phase protection: trade a little precision for fewer edits of each ad set.

A targeting edit is a significant edit to Meta: the ad set may go back into its learning phase, where
delivery is unstable and costs more. Demand that flickers (a state at 1 lead one day, 0 the next) would
make a daily sync edit the same ad sets every day and keep them learning. Three optional rules, all off
by default, hold such edits back (docs/design.md, "Learning phase"):

- ``add_at_demand`` N: a state is added only when its demand is at least N (a targeted state with less
  demand than N, but some, stays: only zero demand removes it);
- ``remove_after_zero_runs`` M: a targeted state that one of the last M - 1 runs wanted is removed only
  after M consecutive runs at zero (the runs' demand is the campaign's demand history, a Variable,
  which survives clears); a state no recorded run wanted goes at once, as without the rule;
- ``min_edit_interval_hours`` H: an ad set edited less than H hours ago is not written again until
  then; its whole change waits. Its last edit is the later of CLOSRADS's last write (its audit trail)
  and Meta's last significant edit (by anyone: a person in Ads Manager, Meta's own adjustments), when
  Meta reports one (:mod:`closrads.core.learning_state`);
- ``hold_while_learning``: an ad set Meta reports in its learning phase is not written; its whole
  change waits until Meta reports it out of learning. Where Meta reports nothing, it does not apply.

What these rules hold back is never silent: every ad set says which states were held and until when.
They never hold back a fail-safe (bad or all-zero demand is refused as before) or the change guard
(which judges the change that will be written), and a person can switch them off for one run.

Pure logic: :mod:`closrads.airflow.sync.planning` reads the settings, the demand history and the audit trail.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from closrads.core.errors import ClosradsError
from closrads.core.names import FORCE_PARAM
from closrads.core.regions import map_states, regions_for_keys, state_for_key, us_state_keys
from closrads.core.targeting import current_state_keys
from closrads.core.timestamps import utc_minute

# Bounds on the settings: each bounds how much history a run reads, too.
MAX_EDIT_INTERVAL_HOURS = 30 * 24
MAX_ZERO_RUNS = 30
MAX_ADD_AT_DEMAND = 1_000_000


class LearningPhaseSettingError(ClosradsError):
    """The learning-phase setting cannot be used as written; the message names where it is and the field."""


@dataclass(frozen=True)
class LearningPhaseRules:
    """A campaign's learning-phase protection. The defaults are "off": every change applies at once."""

    min_edit_interval_hours: float = 0
    add_at_demand: int = 1
    remove_after_zero_runs: int = 1
    hold_while_learning: bool = False

    @property
    def enabled(self) -> bool:
        return self != LearningPhaseRules()

    @property
    def hysteresis(self) -> bool:
        return self.add_at_demand > 1 or self.remove_after_zero_runs > 1

    def describe(self) -> str:
        if not self.enabled:
            return "off"
        parts = []
        if self.add_at_demand > 1:
            parts.append(f"a state is added at a demand of {self.add_at_demand} or more")
        if self.remove_after_zero_runs > 1:
            parts.append(f"removed after {self.remove_after_zero_runs} runs in a row at zero")
        if self.min_edit_interval_hours:
            parts.append(f"at least {_hours(self.min_edit_interval_hours)} between two edits of an ad set")
        if self.hold_while_learning:
            parts.append("no edit while Meta reports an ad set learning")
        return "; ".join(parts)

    @property
    def reads_meta(self) -> bool:
        """Whether these rules go by Meta's learning state (when Meta reports it)."""
        return bool(self.min_edit_interval_hours) or self.hold_while_learning

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> LearningPhaseRules:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in (data or {})})

    @classmethod
    def parse(cls, raw: object, *, source: str) -> LearningPhaseRules:
        """Rules from a setting as written (a Variable's JSON text, or a registry mapping). ``None``, empty,
        ``{}``, ``off``, ``false``, ``null``: off. Anything unusable raises :class:`LearningPhaseSettingError`
        naming ``source``."""
        if raw is None or (isinstance(raw, str) and raw.strip().lower() in _OFF):
            return cls()
        if isinstance(raw, LearningPhaseRules):
            return raw
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                message = f"{source} is not JSON; expected an object such as {_EXAMPLE}"
                raise LearningPhaseSettingError(message) from None
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise LearningPhaseSettingError(f"{source} must be an object such as {_EXAMPLE}")
        unknown = sorted(str(key)[:40] for key in raw if key not in cls.__dataclass_fields__)
        if unknown:
            raise LearningPhaseSettingError(
                f"{source}: unknown field(s) {', '.join(unknown)}; the fields are {', '.join(cls.__dataclass_fields__)}"
            )
        interval = raw.get("min_edit_interval_hours", 0)
        if isinstance(interval, bool) or not isinstance(interval, int | float) or not math.isfinite(interval):
            raise LearningPhaseSettingError(f"{source}: field 'min_edit_interval_hours' must be a number of hours")
        if not 0 <= interval <= MAX_EDIT_INTERVAL_HOURS:
            raise LearningPhaseSettingError(
                f"{source}: field 'min_edit_interval_hours' must be from 0 (off) to {MAX_EDIT_INTERVAL_HOURS}"
            )
        hold_while_learning = raw.get("hold_while_learning", False)
        if not isinstance(hold_while_learning, bool):
            raise LearningPhaseSettingError(f"{source}: field 'hold_while_learning' must be true or false")
        return cls(
            min_edit_interval_hours=interval,
            add_at_demand=_whole(raw, "add_at_demand", MAX_ADD_AT_DEMAND, source),
            remove_after_zero_runs=_whole(raw, "remove_after_zero_runs", MAX_ZERO_RUNS, source),
            hold_while_learning=hold_while_learning,
        )


_OFF = {"", "off", "false", "none", "null"}  # what a person may write to switch it off (so may {})
_EXAMPLE = (
    '{"min_edit_interval_hours": 72, "add_at_demand": 3, "remove_after_zero_runs": 3, "hold_while_learning": true}'
)


def _whole(raw: dict, name: str, limit: int, source: str) -> int:
    value = raw.get(name, 1)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise LearningPhaseSettingError(f"{source}: field '{name}' must be a whole number from 1 (off) to {limit}")
    return value


def _hours(hours: float) -> str:
    return f"{hours:g} h"


@dataclass(frozen=True)
class DemandObservation:
    """One run's demand as the campaign's demand history keeps it: the states that wanted leads."""

    run_id: str
    fetched_at: str  # UTC ISO
    states: dict[str, int]

    def to_extra(self) -> dict:
        return asdict(self)

    @classmethod
    def from_extra(cls, extra: object) -> DemandObservation | None:
        """The observation an asset event's ``extra`` holds, or ``None`` when it is not one."""
        if not isinstance(extra, dict):
            return None
        try:
            states = {str(code): int(value) for code, value in dict(extra["states"]).items()}
            return cls(str(extra["run_id"]), str(datetime.fromisoformat(str(extra["fetched_at"])).isoformat()), states)
        except (KeyError, TypeError, ValueError):
            return None


def recorded_history(current: DemandObservation, recorded: Iterable[object]) -> list[dict]:
    """The demand history to keep after this run: its own demand and the latest other runs (a run that
    ran again replaces its entry), newest first, at most :data:`MAX_ZERO_RUNS` runs."""
    others = {}
    for extra in recorded:
        seen = DemandObservation.from_extra(extra)
        if seen is not None and seen.run_id != current.run_id:
            others[seen.run_id] = seen
    runs = sorted([current, *others.values()], key=lambda seen: seen.fetched_at, reverse=True)
    return [seen.to_extra() for seen in runs[:MAX_ZERO_RUNS]]


def earlier_runs(current: DemandObservation, recorded: Iterable[object], count: int) -> list[DemandObservation]:
    """The ``count`` runs before ``current`` (newest first) from the recorded demand history:
    one per run (a run whose fetch_demand was cleared and ran again counts once, with its last demand),
    only runs that fetched before this one, never this run itself."""
    before = datetime.fromisoformat(current.fetched_at)
    latest: dict[str, DemandObservation] = {}
    for extra in recorded:
        seen = DemandObservation.from_extra(extra)
        if seen is None or seen.run_id == current.run_id or datetime.fromisoformat(seen.fetched_at) >= before:
            continue
        if seen.run_id not in latest or seen.fetched_at > latest[seen.run_id].fetched_at:
            latest[seen.run_id] = seen
    return sorted(latest.values(), key=lambda seen: seen.fetched_at, reverse=True)[:count]


@dataclass
class StatePolicy:
    """Which US states the ad sets of one run are to target: the same rule for every ad set of the run.

    ``add``: states every ad set is to target. ``keep``: states an ad set keeps if it targets them, and is
    not given if it does not (their demand is under ``add_at_demand``, or at zero for fewer runs than
    ``remove_after_zero_runs``). Everything else is removed. ``regions`` are the region entries of the
    states in ``add`` and ``keep``, in the order a write lists them. Off (or forced): ``add`` is every
    state with demand and ``keep`` is empty, which is exactly the demand.
    """

    add: list[str]
    keep: list[str] = field(default_factory=list)
    regions: list[dict] = field(default_factory=list)
    demand: dict[str, int] = field(default_factory=dict)  # of the states in keep that have some demand
    zero_runs: dict[str, int] = field(default_factory=dict)  # of the states in keep at zero: runs so far
    rules: LearningPhaseRules = field(default_factory=LearningPhaseRules)
    forced: bool = False

    @property
    def interval(self) -> timedelta | None:
        """The minimum time between two edits of an ad set, when this run holds to one."""
        if self.forced or not self.rules.min_edit_interval_hours:
            return None
        return timedelta(hours=self.rules.min_edit_interval_hours)

    def describe(self) -> str:
        if self.forced:
            return f"ignored for this run ({FORCE_PARAM}=true): every change applies now"
        return self.rules.describe()

    def regions_for(self, targeting: dict) -> list[dict]:
        """The US-state regions this ad set is to target, given what it targets now."""
        if not self.keep:
            return self.regions
        wanted = set(self.add) | (_current_codes(targeting) & set(self.keep))
        return [region for region in self.regions if state_for_key(str(region["key"])) in wanted]

    def held_for(self, targeting: dict) -> list[str]:
        """What this rule holds back from this ad set, one entry per state: ``+TX (demand 2, added at 3)``,
        ``-FL (1 of 3 runs at zero)``."""
        current = _current_codes(targeting)
        held = []
        for code in self.keep:
            if code in self.zero_runs and code in current:
                runs, needed = self.zero_runs[code], self.rules.remove_after_zero_runs
                held.append(f"-{code} ({runs} of {needed} runs at zero)")
            elif code in self.demand and code not in current:
                held.append(f"+{code} (demand {self.demand[code]}, added at {self.rules.add_at_demand})")
        return held

    def to_dict(self, *, compact: bool = False) -> dict:
        """The JSON form. ``compact``: the regions by key only (every ad set's row carries the policy, so
        its size counts N times); :meth:`from_dict` rebuilds their entries from the region table."""
        data = asdict(self) | {"rules": self.rules.to_dict()}
        if compact:
            data["region_keys"] = [str(region["key"]) for region in data.pop("regions")]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> StatePolicy:
        fields = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        fields["rules"] = LearningPhaseRules.from_dict(data.get("rules"))
        if "regions" not in data and data.get("region_keys"):
            fields["regions"] = regions_for_keys(data["region_keys"])
        return cls(**fields)


def policy_of(mapping: dict) -> StatePolicy:
    """The run's policy from ``map_regions``'s result (a result without one: the demand, exactly)."""
    if mapping.get("policy"):
        return StatePolicy.from_dict(mapping["policy"])
    regions = list(mapping.get("regions") or [])
    return StatePolicy(add=[state_for_key(str(region["key"])) for region in regions], regions=regions)


def _current_codes(targeting: dict) -> set[str]:
    return {state_for_key(key) for key in current_state_keys(targeting)}


def state_policy(
    regions: list[dict],
    current: DemandObservation,
    earlier: list[DemandObservation],
    rules: LearningPhaseRules,
    *,
    forced: bool = False,
) -> StatePolicy:
    """The run's :class:`StatePolicy` from its demand (``current``; ``regions``: the mapped regions of
    its states with demand, in order) and the runs before it (``earlier``, newest first)."""
    if forced or not rules.hysteresis:
        codes = [state_for_key(str(region["key"])) for region in regions]
        return StatePolicy(add=codes, regions=regions, rules=rules, forced=forced)
    mapped = {state_for_key(str(region["key"])): region for region in regions}
    add = [code for code in mapped if current.states.get(code, 0) >= rules.add_at_demand]
    low = {code: current.states.get(code, 0) for code in mapped if code not in add}
    zero_runs = {}
    for code in sorted(_every_state() - set(mapped)):
        # Kept while one of the last M - 1 recorded runs wanted it: the silence may not last. A state no
        # recorded run wanted (or none is recorded yet) is not flickering: it goes, as without the rule.
        last_wanted = next((i for i, seen in enumerate(earlier) if seen.states.get(code, 0) > 0), None)
        if last_wanted is not None and 1 + last_wanted < rules.remove_after_zero_runs:
            zero_runs[code] = 1 + last_wanted
    zero_regions = map_states(sorted(zero_runs)).regions
    return StatePolicy(
        add=add,
        keep=sorted(low) + sorted(zero_runs),
        regions=list(regions) + zero_regions,
        demand=low,
        zero_runs=zero_runs,
        rules=rules,
    )


def _every_state() -> set[str]:
    return {state_for_key(key) for key in us_state_keys()}


def edit_hold(last_write: datetime | None, interval: timedelta | None, now: datetime) -> datetime | None:
    """Until when an ad set last written at ``last_write`` must not be edited again (``None``: it may)."""
    if interval is None or last_write is None or last_write + interval <= now:
        return None
    return last_write + interval


def describe_hold(last_write: datetime, until: datetime, interval: timedelta, *, by_meta: bool = False) -> str:
    """Why an ad set's whole change waits for the minimum interval; ``by_meta``: its last edit is Meta's
    last significant edit (someone else's, or Meta's own), later than CLOSRADS's last write."""
    who = " (Meta's last significant edit)" if by_meta else ""
    return (
        f"held back until {utc_minute(until)}: last edited {utc_minute(last_write)}{who}, "
        f"at least {_hours(interval.total_seconds() / 3600)} between two edits"
    )


def describe_learning_hold(last_edit: datetime | None) -> str:
    """Why an ad set's whole change waits while Meta reports it learning (``hold_while_learning``)."""
    since = f" since its last significant edit {utc_minute(last_edit)}" if last_edit else ""
    return f"held back: Meta reports it in its learning phase{since}; it is edited once Meta reports it out"

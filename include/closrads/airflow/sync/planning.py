"""What the sync plans before it writes: the states it asks of its ad sets and each ad set's change.

``map_regions`` turns the demand into the run's state policy (the demand after the campaign's
learning-phase protection, which reads and records the recent runs' demand); ``list_adsets`` plans
each ad set's change from it, holds back ad sets CLOSRADS edited recently and notes what changed an
ad set since CLOSRADS last wrote it. The rules are :mod:`closrads.core.learning_phase`,
:mod:`closrads.core.change_guard` and :mod:`closrads.core.drift`; this module reads what they decide by.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime

from airflow.sdk import conf

from closrads.airflow.audit_trail import campaign_events, latest_records_of, trusted_record
from closrads.airflow.guard_state import read_override, read_variable, write_variable
from closrads.core.campaigns import Campaign
from closrads.core.change_guard import PlannedChange
from closrads.core.drift import (
    RECORDS_PER_ADSET,
    OnOutsideChange,
    OutsideChange,
    hold_note,
    outside_change,
    parse_on_outside_change,
)
from closrads.core.errors import CampaignTooLarge, ClosradsError, GuardStateUnavailable
from closrads.core.learning_phase import (
    FORCE_PARAM,
    DemandObservation,
    LearningPhaseRules,
    StatePolicy,
    describe_hold,
    describe_learning_hold,
    earlier_runs,
    edit_hold,
    recorded_history,
    state_policy,
)
from closrads.core.learning_state import LearningState
from closrads.core.targeting import usable_targeting

log = logging.getLogger(__name__)


def learning_phase_rules(campaign: Campaign) -> LearningPhaseRules:
    """The campaign's learning-phase protection: its Variable when set, else its registry entry (off).
    Fails closed: an unreadable Variable is a transient error; a wrong one fails the run, naming it."""
    variable = campaign.learning_phase_variable
    raw = read_override(variable, "the learning-phase setting")
    if raw is not None:
        return LearningPhaseRules.parse(raw, source=f"Variable {variable}")
    return LearningPhaseRules.from_dict(campaign.learning_phase)


def run_state_policy(
    campaign: Campaign, current: DemandObservation, regions: list[dict], *, forced: bool
) -> StatePolicy:
    """The states this run asks of its ad sets: the demand (``current``, this run's), after the campaign's
    learning-phase protection, which counts runs at zero from the demand history it keeps."""
    rules = learning_phase_rules(campaign)
    earlier: list[DemandObservation] = []
    if rules.remove_after_zero_runs > 1:  # counting runs at zero: read the recent runs, add this one
        variable = campaign.demand_history_variable
        history = read_variable(variable, "the learning-phase demand history", deserialize_json=True)
        history = history if isinstance(history, list) else []
        if not forced:
            earlier = earlier_runs(current, history, rules.remove_after_zero_runs - 1)
        history = recorded_history(current, history)
        write_variable(variable, history, "this run's demand", record="the learning-phase demand history")
    policy = state_policy(regions, current, earlier, rules, forced=forced)
    if forced and rules.enabled:
        log.warning("Learning-phase protection (%s) is ignored for this run: %s=true", rules.describe(), FORCE_PARAM)
    elif rules.enabled:
        log.info(
            "Learning-phase protection: %s. Added: %s; kept where targeted, not added: %s (%d earlier runs read)",
            rules.describe(),
            ", ".join(policy.add) or "none",
            ", ".join(policy.keep) or "none",
            len(earlier),
        )
    return policy


def refuse_more_than_airflow_maps(count: int, campaign_id: str) -> None:
    """One ``update_adset`` per ad set needs ``count`` mapped task instances; Airflow refuses to expand
    more than ``[core] max_map_length``, and would only say so after the listing, in its own words."""
    limit = conf.getint("core", "max_map_length", fallback=1024)
    if count > limit:
        raise CampaignTooLarge(
            f"campaign {campaign_id} has {count} ACTIVE ad sets, more than the {limit} task instances Airflow "
            f"may map (one update_adset per ad set; [core] max_map_length); nothing was written. Raise it on "
            "every Airflow component (AIRFLOW__CORE__MAX_MAP_LENGTH; the shipped compose file sets 4096), then "
            "re-run"
        )


def hold_recent_edits(campaign: Campaign, plans: list[PlannedChange], policy: StatePolicy) -> list[PlannedChange]:
    """Hold back the whole change of every ad set edited less than the minimum interval ago: its last
    edit is the later of CLOSRADS's last write (the campaign's audit trail, by a sync or a rollback; only
    that window is read) and Meta's last significant edit by anyone, when Meta reported one."""
    interval = policy.interval
    if interval is None or not any(plan.size for plan in plans):
        return plans
    now = datetime.now(UTC)
    last_write: dict[str, datetime] = {}
    for event in campaign_events(campaign).after((now - interval).isoformat()):
        record = trusted_record(event)  # a hand-posted event cannot hold an ad set back
        try:
            written = datetime.fromisoformat(record.written_at) if record else None
        except ValueError:
            written = None
        if written is None:
            continue
        last_write[record.adset_id] = max(written, last_write.get(record.adset_id, written))
    held = []
    for plan in plans:
        ours = last_write.get(plan.adset_id)
        state = LearningState.from_dict(plan.learning)
        metas = state.last_edit if state else None
        last = max(edit for edit in (ours, metas) if edit is not None) if ours or metas else None
        until = edit_hold(last, interval, now) if plan.size and not plan.is_held else None
        if until:
            plan = plan.hold(describe_hold(last, until, interval, by_meta=last != ours))
        held.append(plan)
    return held


def hold_while_learning(plans: list[PlannedChange], policy: StatePolicy) -> list[PlannedChange]:
    """``hold_while_learning``: the whole change of an ad set Meta reports learning waits (not when the
    run ignores learning-phase protection, nor where Meta reported nothing)."""
    if policy.forced or not policy.rules.hold_while_learning:
        return plans
    held = []
    for plan in plans:
        state = LearningState.from_dict(plan.learning)
        if state and state.learning and plan.size and not plan.is_held:
            plan = plan.hold(describe_learning_hold(state.last_edit))
        held.append(plan)
    return held


def outside_change_choice(campaign: Campaign) -> OnOutsideChange:
    """What the campaign's sync does with an ad set changed outside CLOSRADS: its Variable when set, else
    its registry entry (``overwrite`` by default). Fails closed: an unreadable Variable is a transient
    error; a wrong value fails the run, naming it."""
    variable = campaign.on_outside_change_variable
    raw = read_override(variable, "the outside-change setting")
    if raw is not None:
        return parse_on_outside_change(raw, source=f"Variable {variable}")
    return parse_on_outside_change(campaign.on_outside_change, source="the registry's on_outside_change")


def hold_outside_changes(plans: list[PlannedChange], choice: OnOutsideChange) -> list[PlannedChange]:
    """``on_outside_change`` = ``hold``: an ad set changed outside CLOSRADS (not a late CLOSRADS write)
    is left alone this run, and says so."""
    if choice != OnOutsideChange.HOLD:
        return plans
    held = []
    for plan in plans:
        change = OutsideChange.from_dict(plan.outside_change)
        if change and change.made_outside and plan.size and not plan.is_held:
            plan = plan.hold(hold_note(change))
        held.append(plan)
    return held


def note_outside_changes(campaign: Campaign, rows: list[dict], plans: list[PlannedChange]) -> list[PlannedChange]:
    """Note on each plan what changed its ad set since CLOSRADS last wrote it (a person, another tool,
    or a write of an earlier try that landed late): the sync still applies the demand, and says so.
    One bounded request to Airflow for the whole listing (:func:`~closrads.airflow.audit_trail.latest_records_of`),
    none to Graph."""
    try:
        trails = latest_records_of(campaign, [plan.adset_id for plan in plans], RECORDS_PER_ADSET)
    except Exception as exc:  # noqa: BLE001 - any failure to read the trail: retry, never guess
        raise GuardStateUnavailable(
            f"could not read the audit trail of campaign {campaign.slug} ({type(exc).__name__})"
        ) from None
    noted = []
    for row, plan in zip(rows, plans, strict=True):
        try:
            change = outside_change(usable_targeting(row["targeting"]), trails[plan.adset_id])
        except ClosradsError:
            change = None  # a targeting that cannot be read: its plan already says why
        if change is not None:
            log.warning("Ad set %s (%s): %s", plan.name, plan.adset_id, change.describe())
            plan = replace(plan, outside_change=change.to_dict())
        noted.append(plan)
    return noted

"""Undo one sync run's write to one ad set, but only where nobody has changed the ad set since.

The audit record of the write holds the ad set's full region entries before and after. The undo
puts back the US-state entries it had before; every other field, and every region of another
country, stays as the ad set has it now (the same deep-copy rule as a sync write). If the ad set's
US states are no longer exactly what that run wrote (a person, or a later run, changed them), the
undo would destroy that newer change, so it is refused and the difference is named.
"""

from __future__ import annotations

from closrads.core.audit import AuditRecord
from closrads.core.errors import TargetingConflict
from closrads.core.targeting import GeoPlan, is_us_state, plan_geo_update, render_change


def states_before(record: AuditRecord) -> list[dict]:
    """The US-state region entries the ad set had before the recorded write."""
    return [region for region in record.regions_before if is_us_state(region)]


def plan_undo(current_targeting: dict, record: AuditRecord) -> GeoPlan:
    """What undoing ``record`` changes now; refuses when the ad set changed after that write.

    An ad set that already has the US states it had before the write (an earlier rollback undid it, or
    someone put them back) needs nothing: the plan is empty, never a refusal.
    """
    restore = plan_geo_update(current_targeting, states_before(record))
    if not restore.needs_write:
        return restore
    written = [region for region in record.regions_after if is_us_state(region)]
    back = plan_geo_update(current_targeting, written)  # from now back to what that run wrote
    if back.needs_write:
        changed = render_change(back.removed, back.added)  # what was added and removed after the write
        raise TargetingConflict(
            f"it changed after run {record.run_id} wrote it ({changed} since then); "
            "refusing to undo over a newer change"
        )
    return restore


def already_undone(record: AuditRecord, undone_by: str | None) -> str:
    """Why an undo has nothing to do: the rollback run that undid the write, when one did."""
    if undone_by:
        return f"already undone by {undone_by}"
    return f"it already has the US states it had before run {record.run_id}"

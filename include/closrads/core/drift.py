"""Whether an ad set still holds what CLOSRADS last wrote to it, and if not, what changed since.

CLOSRADS knows what it wrote (the audit trail), not what happened to an ad set since. When an ad
set's US states differ from the after-state of the last write recorded for it (by a sync or a
rollback, whichever run made it), something else changed them: a person in Ads Manager, another
tool, or CLOSRADS itself late: a try killed while Graph held its write (a cleared task, a lost
worker) cannot recall that request, and when it lands after a newer run's write it puts older
demand back with both runs green. The sync would silently overwrite any of these; it reports them
instead. When the ad set holds exactly what an earlier CLOSRADS write left, the change is named as
that write landing late.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum

from closrads.core.audit import AuditRecord
from closrads.core.errors import ClosradsError
from closrads.core.regions import state_for_key
from closrads.core.targeting import current_state_keys, render_change
from closrads.core.timestamps import utc_minute

# How many of an ad set's newest audit events are read to find its last write (one is enough unless
# events not written by CLOSRADS's tasks sit on top), and to recognise a late write of an earlier one.
RECORDS_PER_ADSET = 3


@dataclass(frozen=True)
class OutsideChange:
    """What changed an ad set's US states since CLOSRADS last wrote them (USPS codes)."""

    since: str  # when CLOSRADS last wrote the ad set (UTC ISO)
    run_id: str  # the run that made that write
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    late_write_of: str | None = None  # a run whose earlier write the ad set holds again
    late_write_at: str | None = None

    def describe(self) -> str:
        change = render_change(self.added, self.removed)
        if self.late_write_of:
            return (
                f"changed since CLOSRADS last wrote it ({self.since_text}, run {self.run_id}): {change}; it holds "
                f"again what run {self.late_write_of} wrote at {self.late_write_at}, a write that landed late (a try "
                "killed or cleared while Graph held its request)"
            )
        return f"changed outside CLOSRADS since {self.since_text}: {change} (CLOSRADS wrote it in run {self.run_id})"

    @property
    def since_text(self) -> str:
        """When CLOSRADS last wrote the ad set, as people read it (``2026-12-06 13:00 UTC``)."""
        try:
            return utc_minute(datetime.fromisoformat(self.since))
        except ValueError:
            return self.since[:40]

    @property
    def made_outside(self) -> bool:
        """A change CLOSRADS did not make (not an earlier CLOSRADS write landing late)."""
        return self.late_write_of is None

    def to_dict(self) -> dict:
        data = asdict(self)
        if self.late_write_of is None:
            del data["late_write_of"], data["late_write_at"]
        return data

    @classmethod
    def from_dict(cls, data: dict | None) -> OutsideChange | None:
        if not isinstance(data, dict):
            return None
        return cls(
            since=str(data.get("since")),
            run_id=str(data.get("run_id")),
            added=[str(code) for code in data.get("added") or []],
            removed=[str(code) for code in data.get("removed") or []],
            late_write_of=data.get("late_write_of"),
            late_write_at=data.get("late_write_at"),
        )


def outside_change(targeting: dict, records: list[AuditRecord]) -> OutsideChange | None:
    """What changed ``targeting``'s US states since the newest of ``records`` (the ad set's CLOSRADS
    writes, newest first); ``None`` when it still holds them, or CLOSRADS never wrote it."""
    if not records:
        return None
    last, earlier = records[0], records[1:]
    now = current_state_keys(targeting)
    written = _us_keys(last)
    if now == written:
        return None
    late = next((record for record in earlier if _us_keys(record) == now), None)
    return OutsideChange(
        since=last.written_at,
        run_id=last.run_id,
        added=sorted(state_for_key(key) for key in now - written),
        removed=sorted(state_for_key(key) for key in written - now),
        late_write_of=late.run_id if late else None,
        late_write_at=late.written_at if late else None,
    )


def _us_keys(record: AuditRecord) -> set[str]:
    return current_state_keys({"geo_locations": {"regions": record.regions_after}})


class OnOutsideChange(StrEnum):
    """What a campaign's sync does with an ad set changed outside CLOSRADS since its last write."""

    OVERWRITE = "overwrite"  # apply the demand as usual, and report the outside change (the default)
    HOLD = "hold"  # leave that ad set alone this run, and say so
    APPROVE = "approve"  # a live run waits for a person, whose plan shows the outside change


class OutsideChangeSettingError(ClosradsError):
    """The ``on_outside_change`` setting is not one of its three values; the message names where it is."""


def parse_on_outside_change(raw: object, *, source: str) -> OnOutsideChange:
    """The choice as written (a Variable's text, a registry value); anything else raises, naming ``source``."""
    # A Variable set as JSON ("hold", quotes included) reads as the word it quotes.
    text = str(raw).strip().strip("\"'").strip().lower() if isinstance(raw, str) else None
    try:
        return OnOutsideChange(text)
    except ValueError:
        shown = str(raw)[:40]
        values = ", ".join(choice.value for choice in OnOutsideChange)
        raise OutsideChangeSettingError(f"{source} is {shown!r}; it must be one of {values}") from None


def hold_note(change: OutsideChange) -> str:
    """Why an ad set is left alone under ``on_outside_change`` = ``hold``."""
    return (
        f"held back: changed outside CLOSRADS since {change.since_text} (on_outside_change is hold); "
        "left as it is this run: look at it in Ads Manager"
    )


def approval_reasons(changes: list[tuple[str, OutsideChange]]) -> list[str]:
    """Why a live run waits under ``on_outside_change`` = ``approve`` (``changes``: the ad sets, labelled
    ``name (id)``, that the run would write over a change made outside CLOSRADS)."""
    reasons = [
        f"{label} was changed outside CLOSRADS since {change.since_text} "
        f"({render_change(change.added, change.removed)}); on_outside_change is approve"
        for label, change in changes[:5]
    ]
    if len(changes) > 5:
        reasons.append(f"... and {len(changes) - 5} more ad sets changed outside CLOSRADS")
    return reasons

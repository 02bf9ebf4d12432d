"""The change guard: when a live run must wait for a person before it writes, and what the person sees.

A plausible-but-wrong demand (CLOSRTECH suddenly wanting 3 states instead of 37) passes every data
check, and a targeting write has no undo on Facebook's side. So before a live run writes, it plans
every ad set's change from the listing, and a change bigger than the threshold (the Variable
``closrads_approval_threshold``, default 10 states; 0 means any change) or a run triggered with
``require_approval`` waits for an Approve. The approved plan is then binding: an ad set whose change
differs from it when its turn to write comes is not written (docs/design.md, "Change guard").

Pure logic: :mod:`closrads.airflow.sync.approval` reads the Variables and talks to Airflow.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum

from closrads.core.autolinks import defuse_links
from closrads.core.drift import OutsideChange
from closrads.core.errors import ClosradsError
from closrads.core.learning_phase import StatePolicy
from closrads.core.learning_state import LearningState
from closrads.core.names import (
    APPROVAL_THRESHOLD_VARIABLE,
    APPROVAL_TIMEOUT_VARIABLE,
    DEFAULT_APPROVAL_THRESHOLD,
    DEFAULT_APPROVAL_TIMEOUT_MINUTES,
)
from closrads.core.targeting import GeoPlan, plan_geo_update, render_change, usable_targeting

# The approval body lists at most this many ad sets (the largest changes first); the rest are counted.
MAX_PLAN_ROWS = 200
# Markdown that could turn an ad set name into a link, an image, a heading or a broken table.
_MARKDOWN_SPECIAL = set("\\`*_[]<>#!|~")


class Decision(StrEnum):
    """What became of the change guard in one run."""

    NOT_ASKED = "not_asked"  # a dry run writes nothing, so it never waits
    NOT_NEEDED = "not_needed"  # no change was over the threshold and approval was not required
    APPROVED = "approved"
    REJECTED = "rejected"


# Why a dry run was not asked when its plan would not wait live either.
DRY_RUN = "dry run"


_ROW_KEYS = ("adset_id", "name")  # a row carries them once, as "id" and "name"


class PlanChangedSinceApproval(ClosradsError):
    """The write an ad set needs now is not the one the run planned (and a person may have approved)."""


@dataclass(frozen=True)
class PlannedChange:
    """One ad set's change as planned from the listing: US states added and removed (USPS codes).

    ``error`` says why no plan could be made (its targeting cannot be written on, say); its
    ``update_adset`` then meets the same problem and fails with it, unless the ad set was fixed since.
    ``held`` is what learning-phase protection holds back from it (``+TX (demand 2, added at 3)``);
    ``held_note`` says why and until when the whole change waits (the minimum interval between edits),
    and then ``added`` and ``removed`` are empty: the run writes nothing to it.
    """

    adset_id: str
    name: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    error: str | None = None
    held: list[str] = field(default_factory=list)
    held_note: str | None = None
    outside_change: dict | None = None  # what changed it since CLOSRADS last wrote it (OutsideChange.to_dict)
    learning: dict | None = None  # Meta's learning state when listed (LearningState.to_dict); None: not reported

    @property
    def size(self) -> int:
        return len(self.added) + len(self.removed)

    def matches(self, plan: GeoPlan) -> bool:
        return self.error is None and (sorted(self.added), sorted(self.removed)) == (plan.added, plan.removed)

    def to_row(self) -> dict:
        """The ``list_adsets`` row: what ``update_adset`` is expanded over. Only the fields that say
        something: every ad set's task fetches the whole listing (Airflow's Task SDK reads the list a
        mapped task is expanded over whole), so each byte of a row is paid once per ad set."""
        plan = {name: value for name, value in asdict(self).items() if name not in _ROW_KEYS and value}
        return {"id": self.adset_id, "name": self.name, "plan": plan}

    @classmethod
    def from_row(cls, row: dict) -> PlannedChange:
        planned = isinstance(row.get("plan"), dict)  # an empty plan is a plan: nothing to change
        plan = row["plan"] if planned else {}
        return cls(
            adset_id=str(row["id"]),
            name=str(row.get("name") or ""),
            added=list(plan.get("added") or []),
            removed=list(plan.get("removed") or []),
            error=plan.get("error") if planned else "no plan was made for it",
            held=list(plan.get("held") or []),
            held_note=plan.get("held_note"),
            outside_change=plan.get("outside_change") if isinstance(plan.get("outside_change"), dict) else None,
            learning=plan.get("learning") if isinstance(plan.get("learning"), dict) else None,
        )

    @property
    def is_held(self) -> bool:
        """Whether its whole change waits (``held_note``): nothing is written to it this run."""
        return self.held_note is not None

    def hold(self, note: str) -> PlannedChange:
        """The whole change waits (``note``: why, until when): nothing is written to the ad set."""
        change = render_change(self.added, self.removed).split()
        return replace(self, added=[], removed=[], held=change + self.held, held_note=note)


def plan_change(
    adset_id: str, name: str, targeting: object, policy: StatePolicy, learning: dict | None = None
) -> PlannedChange:
    """Plan one ad set's change from the targeting the listing returned and the run's state policy
    (learning-phase protection included); never raises for a bad targeting. ``learning``: Meta's
    learning state from the same listing, carried along for the plan, the report and the holds."""
    try:
        current = usable_targeting(targeting)
        plan = plan_geo_update(current, policy.regions_for(current))
    except ClosradsError as exc:
        return PlannedChange(adset_id, name, error=str(exc), learning=learning)
    return PlannedChange(adset_id, name, plan.added, plan.removed, held=policy.held_for(current), learning=learning)


@dataclass(frozen=True)
class ChangeGuard:
    """When a live run has to wait for a person."""

    threshold: int = DEFAULT_APPROVAL_THRESHOLD
    require_approval: bool = False
    warning: str | None = None  # the threshold Variable was unusable, so the guard asks for any change
    variable: str = APPROVAL_THRESHOLD_VARIABLE  # the campaign's threshold Variable, named in messages

    def trips_for(self, size: int) -> bool:
        if size == 0:
            return False
        return self.require_approval or self.threshold == 0 or size > self.threshold

    def reasons(self, plans: list[PlannedChange]) -> list[str]:
        """Why this plan needs a person (empty: it does not)."""
        changing = [plan for plan in plans if plan.size]
        if not changing:
            return []
        if self.require_approval:
            return ["the run was triggered with require_approval=true"]
        if self.threshold == 0:
            return [f"{self.variable} is 0: every change needs approval" + self._because()]
        over = [plan for plan in changing if self.trips_for(plan.size)]
        return [
            f"{plan.name} ({plan.adset_id}) would change {plan.size} states, over the threshold of {self.threshold}"
            for plan in sorted(over, key=lambda plan: (-plan.size, plan.adset_id))[:5]
        ] + ([f"... and {len(over) - 5} more ad sets over the threshold"] if len(over) > 5 else [])

    def describe(self) -> str:
        if self.require_approval:
            return "require_approval=true: any change waits for a person"
        if self.threshold == 0:
            return "threshold 0: any change waits for a person" + self._because()
        return f"a change of more than {self.threshold} states in one ad set waits for a person"

    def _because(self) -> str:
        return f" ({self.warning})" if self.warning else ""


def parse_threshold(
    raw: object, *, default: int = DEFAULT_APPROVAL_THRESHOLD, variable: str = APPROVAL_THRESHOLD_VARIABLE
) -> ChangeGuard:
    """The guard for a raw Variable value: unset -> ``default`` (the campaign's); unusable -> 0 (ask
    for every change)."""
    if raw is None or not str(raw).strip():
        return ChangeGuard(default, variable=variable)
    try:
        threshold = int(str(raw).strip())
        if threshold < 0:
            raise ValueError
    except ValueError:
        return ChangeGuard(0, warning=f"Variable {variable} is not a whole number >= 0", variable=variable)
    return ChangeGuard(threshold, variable=variable)


def parse_timeout_minutes(
    raw: object,
    *,
    limit: int,
    default: int = DEFAULT_APPROVAL_TIMEOUT_MINUTES,
    variable: str = APPROVAL_TIMEOUT_VARIABLE,
) -> tuple[int, str | None]:
    """Minutes to wait for an answer (unset: ``default``, the campaign's), at most ``limit`` (what is
    left of the run's timeout), at least 1."""
    warning = None
    minutes = default
    if raw is not None and str(raw).strip():
        try:
            minutes = int(str(raw).strip())
            if minutes < 1:
                raise ValueError
        except ValueError:
            minutes = default
            warning = f"Variable {variable} is not a whole number >= 1; using {minutes} minutes"
    if minutes > limit:
        warning = f"{minutes} minutes would outlast the run's timeout; waiting {max(limit, 1)} minutes"
        minutes = limit
    return max(minutes, 1), warning


@dataclass(frozen=True)
class ApprovalResult:
    """What ``approve_changes`` decided; ``report`` reads it from XCom, ``update_adset`` within its write order."""

    decision: Decision
    reason: str  # why it asked, or why it did not
    threshold: int = DEFAULT_APPROVAL_THRESHOLD
    require_approval: bool = False
    by: str | None = None  # who answered
    at: str | None = None  # when (UTC ISO)

    @property
    def guard(self) -> ChangeGuard:
        return ChangeGuard(self.threshold, self.require_approval)

    def describe(self) -> str:
        match self.decision:
            case Decision.NOT_ASKED if self.reason != DRY_RUN:
                return (
                    "not asked (dry run: nothing is written); live, this run would wait for a person to approve it "
                    f"({self.reason})"
                )
            case Decision.NOT_ASKED:
                return "not asked (dry run: nothing is written)"
            case Decision.NOT_NEEDED:
                return f"not needed ({self.reason})"
            case Decision.APPROVED:
                return f"approved by {self.by or 'an unknown user'} at {self.at} ({self.reason})"
            case Decision.REJECTED:
                return f"REJECTED by {self.by or 'an unknown user'} at {self.at} ({self.reason}); nothing was written"

    def to_dict(self) -> dict:
        return asdict(self) | {"decision": str(self.decision)}

    @classmethod
    def from_dict(cls, data: dict) -> ApprovalResult:
        fields = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**fields | {"decision": Decision(fields["decision"])})


def check_write_allowed(plan: GeoPlan, planned: PlannedChange, approval: ApprovalResult) -> None:
    """Refuse a live write that the change guard did not allow.

    Approved: the write must be exactly the approved change for this ad set. Not needed: the change
    must still be one the guard lets through without a person (the ad set may have been edited since
    the listing). Rejected: nothing is written.
    """
    now = render_change(plan.added, plan.removed)
    if approval.decision == Decision.REJECTED:
        raise PlanChangedSinceApproval(f"not written: this run's changes were rejected by {approval.by}")
    if approval.decision == Decision.APPROVED and not planned.matches(plan):
        shown = planned.error or render_change(planned.added, planned.removed)
        raise PlanChangedSinceApproval(
            f"not written: the ad set changed since the plan was approved; its change would now be {now}, "
            f"but the approved change was {shown}. Trigger a new run to plan and approve it again"
        )
    if approval.decision == Decision.NOT_NEEDED and approval.guard.trips_for(len(plan.added) + len(plan.removed)):
        raise PlanChangedSinceApproval(
            f"not written: the ad set changed since it was listed, and its change ({now}) now needs approval "
            f"({approval.guard.describe()}). Trigger a new run to ask for it"
        )


def plan_markdown(plans: list[PlannedChange], guard: ChangeGuard, reasons: list[str]) -> str:
    """The approval body: why it asks, then the plan, one row per ad set that changes (largest first)."""
    changing = sorted((plan for plan in plans if plan.size), key=lambda plan: (-plan.size, plan.adset_id))
    unplannable = [plan for plan in plans if plan.error]
    held = [plan for plan in plans if plan.held]
    added = sum(len(plan.added) for plan in changing)
    removed = sum(len(plan.removed) for plan in changing)
    lines = [
        "**Why this run waits:**",
        *[f"- {md(reason)}" for reason in reasons],
        "",
        f"**Plan:** {len(changing)} of {len(plans)} ad sets change; {added} states added and {removed} removed "
        f"in total. Rule: {md(guard.describe())}.",
        "Approve writes exactly this plan; an ad set that changed since is not written. Reject writes nothing.",
        "",
        "| ad set | id | states | added | removed | Meta |",
        "|---|---|---:|---|---|---|",
    ]
    for plan in changing[:MAX_PLAN_ROWS]:
        state = LearningState.from_dict(plan.learning)
        lines.append(
            f"| {md(plan.name)} | {md(plan.adset_id)} | {plan.size} | "
            f"{' '.join(plan.added) or '-'} | {' '.join(plan.removed) or '-'} | {md(state.status) if state else '-'} |"
        )
    if len(changing) > MAX_PLAN_ROWS:
        lines.append(f"\n... and {len(changing) - MAX_PLAN_ROWS} more ad sets; the list_adsets log lists every one.")
    if held:
        lines.append(
            f"\n**Held back by learning-phase protection** (not in the plan above; not written by this run), "
            f"{len(held)} ad set(s):"
        )
        lines.extend(
            f"- {md(plan.name)} ({md(plan.adset_id)}): {md(', '.join(plan.held))}"
            + (f"; {md(plan.held_note)}" if plan.held_note else "")
            for plan in held[:MAX_PLAN_ROWS]
        )
        if len(held) > MAX_PLAN_ROWS:
            lines.append(f"- ... and {len(held) - MAX_PLAN_ROWS} more; the list_adsets log lists every one.")
    outside = [(plan, OutsideChange.from_dict(plan.outside_change)) for plan in plans if plan.outside_change]
    if outside:
        lines.append(f"\n**Changed since CLOSRADS last wrote them**, {len(outside)} ad set(s):")
        lines.extend(
            f"- {md(plan.name)} ({md(plan.adset_id)}): {md(change.describe())}" for plan, change in outside[:50]
        )
        if len(outside) > 50:
            lines.append(f"- ... and {len(outside) - 50} more; the list_adsets log lists every one.")
    if unplannable:
        lines.append(
            f"\n{len(unplannable)} ad set(s) could not be planned and will not be written: "
            + ", ".join(f"{md(plan.name)} ({md(plan.adset_id)})" for plan in unplannable[:20])
        )
    return "\n".join(lines)


def md(text: object) -> str:
    """Text from outside (an ad set name) made inert in Markdown: shown, never a link, image or table cell."""
    flat = defuse_links(" ".join(str(text).split()))
    return "".join(f"\\{char}" if char in _MARKDOWN_SPECIAL else char for char in flat)

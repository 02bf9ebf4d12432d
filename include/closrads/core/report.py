"""The run report: one structure that the task log, the XCom and Slack all render from.

The report must tell the truth about the run even when the run went badly, so it is assembled
from whatever the tasks left behind (their outcomes and errors), not from what was planned. It
knows nothing about Airflow: the task layer says which preparation steps ran and how they ended.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum

from closrads.core.change_guard import ApprovalResult, Decision
from closrads.core.drift import OutsideChange
from closrads.core.learning_state import LearningState
from closrads.core.run_mode import RunMode
from closrads.core.spend import SpendSummary
from closrads.core.targeting import render_change


class Outcome(StrEnum):
    """What happened to one ad set."""

    UPDATED = "updated"
    WOULD_UPDATE = "would_update"
    SKIPPED = "skipped"
    FAILED = "failed"
    # Its task left no outcome although it started (the process died): it may have been written.
    UNKNOWN = "unknown"
    # Its task never started (an earlier step failed, or the run stopped first).
    NOT_RUN = "not_run"
    # Not written because a person rejected the run's plan at approve_changes.
    REJECTED = "rejected"
    # Its whole change is held back by learning-phase protection (closrads.core.learning_phase).
    HELD = "held"


# What a held-back ad set says when no minimum interval holds it: only some states wait (listed beside).
HELD_MEANS = "held back, otherwise matches demand"
# What an unknown outcome means for the operator.
UNKNOWN_MEANS = "its task died; a retry or a clear will re-check it; it may have been written"

# Outcomes that make the run fail: the operator has to look at these ad sets.
PROBLEM_OUTCOMES = frozenset({Outcome.FAILED, Outcome.UNKNOWN, Outcome.NOT_RUN})


class StepStatus(StrEnum):
    """How one preparation step (before any ad set is touched) ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    NOT_RUN = "not_run"


class RunStatus(StrEnum):
    SUCCESS = "success"
    FAILED = "failed"  # some ad sets (or the report's inputs) failed; others may have been written
    ABORTED = "aborted"  # a preparation step failed: nothing was written
    REJECTED = "rejected"  # a person rejected the plan: nothing was written, as they decided


@dataclass
class AdSetOutcome:
    """What happened to one ad set. Small and JSON-friendly: it travels through XCom."""

    adset_id: str
    name: str
    outcome: Outcome
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    error: str | None = None
    tries: int = 1  # the Airflow try that recorded this outcome; more than 1: an earlier try may have written
    recheck: str | None = None  # what the report found when it re-read the ad set after the run
    held: list[str] = field(default_factory=list)  # what learning-phase protection held back, per state
    held_note: str | None = None  # why and until when its whole change waits (the minimum edit interval)
    history: str | None = None  # what the run did across its tries, when it ran more than once and wrote
    outside_change: dict | None = None  # what changed it since CLOSRADS last wrote it (OutsideChange.to_dict)
    learning: dict | None = None  # Meta's learning state when the run listed it (LearningState.to_dict)

    def __post_init__(self) -> None:
        self.outcome = Outcome(self.outcome)

    @property
    def label(self) -> str:
        """``Core (123)``: how the logs, the UI's map index and failure messages name the ad set."""
        return f"{self.name} ({self.adset_id})"

    @property
    def needs_recheck(self) -> bool:
        """Whether what this outcome says may not be the whole truth about the ad set.

        A task that died left no outcome, and a task that ran more than once reports only its last
        try, while an earlier try's write may have landed (even late, after the last try read it).
        """
        return self.outcome == Outcome.UNKNOWN or self.tries > 1

    def confirm(self) -> None:
        """The re-read found the regions this run wanted."""
        self.recheck = "re-read after the run: its US states match the demand"
        if self.outcome == Outcome.SKIPPED and self.tries > 1:
            self.recheck += " (an earlier try of this run may have written them)"

    def contradict(self, still_to_do: str) -> None:
        """The re-read found other regions than this run wanted: the ad set needs a person or a clear.

        For an ad set the run reported as done, that means something wrote after the run's last read;
        for one that failed or left no outcome, only that the change is still to do.
        """
        cause = ""
        if self.outcome not in PROBLEM_OUTCOMES:
            cause = "; something wrote after this run's last read, such as a late write of an earlier try or a person"
            self.outcome = Outcome.FAILED
        self.recheck = (
            f"re-read after the run: its US states differ from the demand ({still_to_do} still to do){cause}. "
            "Clear its update_adset to re-apply the demand"
        )

    def include_earlier_writes(self, writes: list[tuple[int | None, list[str], list[str]]]) -> None:
        """Account for what earlier tries of this run wrote (its audit trail: ``(try, added, removed)``
        per write, oldest first), so a cleared and re-run ad set still says what the run did to it.

        A later try that found nothing left to do does not make the run's write disappear: the outcome
        stays "updated", with the change that try made and "updated on try 1; nothing left to do on try 2".
        """
        earlier = [write for write in writes if write[0] != self.tries or self.outcome != Outcome.UPDATED]
        if not earlier:
            return
        done = "; ".join(
            (f"updated on try {on_try}" if on_try else "updated on an earlier try")
            + (f" ({render_change(added, removed)})" if added or removed else "")
            for on_try, added, removed in earlier
        )
        match self.outcome:
            case Outcome.UPDATED:
                self.history = f"{done}; updated again on try {self.tries}"
            case Outcome.SKIPPED | Outcome.HELD if not self.error:
                _, added, removed = earlier[-1]
                self.outcome, self.added, self.removed = Outcome.UPDATED, list(added), list(removed)
                self.history = f"{done}; nothing left to do on try {self.tries}"
            case Outcome.FAILED | Outcome.UNKNOWN:
                ended = "failed" if self.outcome == Outcome.FAILED else "left no outcome"
                self.history = f"{done}; try {self.tries} {ended}"
            case _:
                self.history = f"{done}; then {self.outcome.replace('_', ' ')} on try {self.tries}"

    def recheck_failed(self, reason: str) -> None:
        self.recheck = f"could not re-read it after the run: {reason}"

    def to_dict(self) -> dict:
        data = asdict(self) | {"outcome": str(self.outcome)}
        if not self.held and not self.held_note:  # learning-phase protection held nothing: the usual shape
            del data["held"], data["held_note"]
        if self.history is None:  # one try, or nothing written before the last: the usual shape
            del data["history"]
        if self.outside_change is None:  # it held what CLOSRADS last wrote (or CLOSRADS never wrote it)
            del data["outside_change"]
        if self.learning is None:  # Meta reported no learning state for it
            del data["learning"]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> AdSetOutcome:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})

    @property
    def change(self) -> str:
        return render_change(self.added, self.removed)

    @property
    def outside_change_note(self) -> str | None:
        """What changed the ad set since CLOSRADS last wrote it, in words (``None``: nothing did)."""
        change = OutsideChange.from_dict(self.outside_change)
        return change.describe() if change else None

    @property
    def learning_state(self) -> LearningState | None:
        """Meta's learning state when the run listed it (``None``: Meta reported none)."""
        return LearningState.from_dict(self.learning)

    @property
    def learning_note(self) -> str | None:
        """Meta's learning state, in words (``None``: Meta reported none)."""
        return self.learning_state.describe() if self.learning_state else None

    @property
    def has_change(self) -> bool:
        return bool(self.added or self.removed)

    def describe(self) -> str:
        """One line for the task log: ``Core (1): updated | +TX -FL``."""
        head = f"{self.name} ({self.adset_id}): "
        match self.outcome:
            case Outcome.UPDATED:
                parts = [head + "updated", self.change]
            case Outcome.WOULD_UPDATE:
                parts = [head + "would update (accepted by Meta)", self.change]
            case Outcome.SKIPPED:
                parts = [head + "skipped (already matches demand)" if not self.error else head + "skipped"]
            case Outcome.FAILED:
                parts = [head + "FAILED"]
                if self.has_change:
                    parts.append(f"intended {self.change}, not applied")
            case Outcome.UNKNOWN:
                parts = [head + f"UNKNOWN ({UNKNOWN_MEANS})"]
            case Outcome.NOT_RUN:
                parts = [head + "not run (an earlier step failed)"]
                if self.has_change:
                    parts.append(f"intended {self.change}, not applied")
            case Outcome.REJECTED:
                parts = [head + "not written (the plan was rejected)", f"planned {self.change}"]
            case Outcome.HELD:
                parts = [head + (self.held_note or HELD_MEANS)]
        if self.held:
            parts.append(f"held back: {', '.join(self.held)}")
        if self.outside_change_note:
            parts.append(self.outside_change_note)
        if self.learning_note:
            parts.append(self.learning_note)
        if self.error:
            parts.append(("note: " if self.outcome == Outcome.SKIPPED else "error: ") + self.error)
        if self.history:
            parts.append(self.history)
        if self.recheck:
            parts.append(self.recheck)
        return " | ".join(parts)


@dataclass
class StepResult:
    """A preparation step as the report sees it: its name, how it ended, and why it failed."""

    name: str
    status: StepStatus
    error: str | None = None

    def __post_init__(self) -> None:
        self.status = StepStatus(self.status)

    def describe(self) -> str:
        if self.status == StepStatus.NOT_RUN:
            return f"Step {self.name}: not run (an earlier step failed)"
        return f"Step {self.name} failed: {self.error or 'no error was recorded'}"


@dataclass
class SyncReport:
    mode: RunMode  # dry or live, and why
    generated_at: str  # UTC, utc_stamp()
    run_id: str
    demand_states: list[str] = field(default_factory=list)
    unmapped_states: list[str] = field(default_factory=list)
    adsets: list[AdSetOutcome] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)
    title: str = "CLOSRADS sync"  # "CLOSRADS rollback of <run id>" for an undo
    shows_demand: bool = True  # a rollback applies no demand: its report has no demand line
    approval: ApprovalResult | None = None  # what the change guard decided (None: it did not decide)
    learning_phase: str | None = None  # learning-phase protection, when it is on (or ignored for the run)
    api_version: str | None = None  # the Graph API version the Facebook Connection pins (None: unknown)
    api_version_ends: str | None = None  # its announced end date (ISO), when Meta announced one
    notices: list[str] = field(default_factory=list)  # run-level warnings, each said once (the API's clock, ...)
    spend: dict | None = None  # where the money went (SpendSummary.to_dict), for a sync; None: not measured

    @classmethod
    def from_dict(cls, data: dict) -> SyncReport:
        fields = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        fields["mode"] = RunMode.from_report(data)
        fields["adsets"] = [AdSetOutcome.from_dict(row) for row in data.get("adsets", [])]
        fields["steps"] = [StepResult(**row) for row in data.get("steps", [])]
        if data.get("approval"):
            fields["approval"] = ApprovalResult.from_dict(data["approval"])
        return cls(**fields)

    @property
    def rejected(self) -> bool:
        return self.approval is not None and self.approval.decision == Decision.REJECTED

    @property
    def dry_run(self) -> bool:
        return self.mode.dry_run

    @property
    def label(self) -> str:
        return self.mode.label

    @property
    def changed_outcome(self) -> Outcome:
        """The outcome that counts as "changed" in this mode."""
        return Outcome.WOULD_UPDATE if self.dry_run else Outcome.UPDATED

    @property
    def changed_label(self) -> str:
        return "Would update" if self.dry_run else "Updated"

    def count(self, outcome: Outcome) -> int:
        return sum(1 for adset in self.adsets if adset.outcome == outcome)

    @property
    def failed_count(self) -> int:
        return sum(1 for adset in self.adsets if adset.outcome in PROBLEM_OUTCOMES)

    @property
    def held_state_count(self) -> int:
        """State changes that learning-phase protection held back, over every ad set."""
        return sum(len(adset.held) for adset in self.adsets)

    def describe_held(self) -> str:
        """``12 state changes in 3 ad sets (2 wait entirely)``."""
        adsets = sum(1 for adset in self.adsets if adset.held)
        waiting = self.count(Outcome.HELD)
        return f"{self.held_state_count} state changes in {adsets} ad sets" + (
            f" ({waiting} wait entirely)" if waiting else ""
        )

    @property
    def spend_line(self) -> str | None:
        """Where the money went yesterday, in one line (``None``: the run does not measure spend)."""
        summary = SpendSummary.from_dict(self.spend, self.demand_states)
        return summary.line() if summary else None

    @property
    def spend_alert(self) -> str | None:
        """The campaign's spend leak alert, when yesterday's leakage is above its threshold."""
        summary = SpendSummary.from_dict(self.spend, self.demand_states)
        return summary.leak_alert() if summary else None

    @property
    def unfinished_steps(self) -> list[StepResult]:
        return [step for step in self.steps if step.status != StepStatus.SUCCEEDED]

    @property
    def status(self) -> RunStatus:
        if self.unfinished_steps:
            return RunStatus.ABORTED
        if self.rejected:
            return RunStatus.REJECTED
        if self.failed_count:
            return RunStatus.FAILED
        return RunStatus.SUCCESS

    @property
    def succeeded(self) -> bool:
        """Whether the run did what it was asked to: a rejection is a person's decision, not a failure."""
        return self.status in (RunStatus.SUCCESS, RunStatus.REJECTED)

    def to_dict(self) -> dict:
        data = asdict(self)
        # The mode as people and tools read it ("DRY RUN: <why>", dry_run), and as the pages read it back.
        data["mode"], data["dry_run"], data["run_mode"] = self.mode.describe(), self.dry_run, self.mode.to_dict()
        data["adsets"] = [adset.to_dict() for adset in self.adsets]
        data["steps"] = [{"name": s.name, "status": str(s.status), "error": s.error} for s in self.steps]
        data["approval"] = self.approval.to_dict() if self.approval else None
        data["status"] = str(self.status)
        data["counts"] = {
            "processed": len(self.adsets),
            Outcome.UPDATED.value: self.count(Outcome.UPDATED),
            Outcome.WOULD_UPDATE.value: self.count(Outcome.WOULD_UPDATE),
            Outcome.SKIPPED.value: self.count(Outcome.SKIPPED),
            Outcome.FAILED.value: self.failed_count,
        }
        for name in ("api_version", "api_version_ends", "spend"):
            if data[name] is None:
                del data[name]
        if self.learning_phase is None:  # protection off: the report has its usual shape
            del data["learning_phase"]
        else:
            data["counts"] |= {Outcome.HELD.value: self.count(Outcome.HELD), "held_back_states": self.held_state_count}
        return data

    def summary(self) -> str:
        """One line: ``LIVE: 5 updated, 1 failed`` / ``DRY RUN: 6 would update``."""
        if self.status == RunStatus.ABORTED:
            return f"{self.label}: aborted, nothing changed"
        if self.status == RunStatus.REJECTED:
            return f"{self.label}: plan rejected by {self.approval.by or 'an unknown user'}, nothing written"
        parts = [f"{self.count(self.changed_outcome)} {self.changed_outcome.replace('_', ' ')}"]
        parts += [f"{self.count(Outcome.SKIPPED)} skipped"] if self.count(Outcome.SKIPPED) else []
        parts += [f"{self.count(Outcome.HELD)} held back"] if self.count(Outcome.HELD) else []
        parts += [f"{self.failed_count} failed"] if self.failed_count else []
        return f"{self.label}: {', '.join(parts)}"

    def render_text(self) -> str:
        """The report as plain text: readable on its own in a task log or a terminal."""
        lines = [
            f"{self.title} - {self.label} | {self.generated_at} | run {self.run_id}",
            f"Mode: {self.mode.describe()}",
            f"Status: {self.status.upper()}",
        ]
        if self.status in (RunStatus.ABORTED, RunStatus.REJECTED):
            lines.append("Nothing was changed on Facebook.")
        lines.extend(f"Warning: {notice}" for notice in self.notices)
        if self.spend_alert:
            lines.append(f"ALERT: {self.spend_alert}")
        if self.approval:
            lines.append(f"Approval: {self.approval.describe()}")
        if self.shows_demand:
            lines.append(f"Demand states ({len(self.demand_states)}): {', '.join(self.demand_states) or 'none'}")
        if self.unmapped_states:
            lines.append(f"Dropped, no Facebook region: {', '.join(self.unmapped_states)}")
        if self.learning_phase:
            lines.append(f"Learning-phase protection: {self.learning_phase}")
        lines.append(
            f"Ad sets processed: {len(self.adsets)} | {self.changed_label}: {self.count(self.changed_outcome)} | "
            f"Skipped: {self.count(Outcome.SKIPPED)} | Failed: {self.failed_count}"
            + (f" | Held back: {self.describe_held()}" if self.held_state_count else "")
        )
        if self.spend_line:
            lines.append(self.spend_line)
        lines.extend(f"  - {adset.describe()}" for adset in self.adsets)
        lines.extend(step.describe() for step in self.unfinished_steps)
        if not self.unfinished_steps and not self.failed_count:
            lines.append("Errors: none")
        return "\n".join(lines)

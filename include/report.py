"""The run report: one structure that the task log, the XCom and Slack all render from.

The report must tell the truth about the run even when the run went badly, so it is assembled
from whatever the tasks left behind (their outcomes and errors), not from what was planned.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

UPDATED = "updated"
WOULD_UPDATE = "would_update"
SKIPPED = "skipped"
FAILED = "failed"
NOT_RUN = "not_run"

STATUS_SUCCESS = "success"
STATUS_FAILED = "failed"
STATUS_ABORTED = "aborted"

# The steps before any ad set is touched; if one of them fails, nothing was changed.
PREPARATION_STEPS = ("fetch_demand", "map_regions", "list_adsets")


@dataclass
class AdSetOutcome:
    """What happened to one ad set. Small and JSON-friendly: it travels through XCom."""

    adset_id: str
    name: str
    outcome: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> AdSetOutcome:
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__ if name in data})

    def describe(self) -> str:
        words = {
            UPDATED: "updated",
            WOULD_UPDATE: "would update",
            SKIPPED: "skipped (already matches demand)",
            FAILED: "FAILED",
            NOT_RUN: "NOT RUN",
        }
        parts = [f"{self.name} ({self.adset_id}): {words.get(self.outcome, self.outcome)}"]
        changes = [f"+{code}" for code in self.added] + [f"-{code}" for code in self.removed]
        if changes and self.outcome != SKIPPED:
            parts.append(" ".join(changes))
        if self.error:
            parts.append(f"error: {self.error}")
        return " | ".join(parts)


@dataclass
class SyncReport:
    mode: str  # "DRY RUN: manual run, dry_run param is true"
    dry_run: bool
    status: str
    generated_at: str  # UTC, ISO 8601
    run_id: str
    demand_states: list[str] = field(default_factory=list)
    unmapped_states: list[str] = field(default_factory=list)
    adsets: list[AdSetOutcome] = field(default_factory=list)
    step_errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict) -> SyncReport:
        fields = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        fields["adsets"] = [AdSetOutcome.from_dict(row) for row in data.get("adsets", [])]
        return cls(**fields)

    def count(self, outcome: str) -> int:
        return sum(1 for adset in self.adsets if adset.outcome == outcome)

    @property
    def failed_count(self) -> int:
        return self.count(FAILED) + self.count(NOT_RUN)

    @property
    def succeeded(self) -> bool:
        return self.status == STATUS_SUCCESS

    def to_dict(self) -> dict:
        data = asdict(self)
        data["counts"] = {
            "processed": len(self.adsets),
            UPDATED: self.count(UPDATED),
            WOULD_UPDATE: self.count(WOULD_UPDATE),
            SKIPPED: self.count(SKIPPED),
            FAILED: self.failed_count,
        }
        return data

    def render_text(self) -> str:
        """The report as plain text: readable on its own in a task log or a terminal."""
        label = "DRY RUN" if self.dry_run else "LIVE"
        lines = [
            f"CLOSRADS sync - {label} | {self.generated_at} | run {self.run_id}",
            f"Mode: {self.mode}",
            f"Status: {self.status.upper()}",
        ]
        if self.status == STATUS_ABORTED:
            lines.append("Nothing was changed on Facebook.")
        states = ", ".join(self.demand_states) or "none"
        lines.append(f"Demand states ({len(self.demand_states)}): {states}")
        if self.unmapped_states:
            lines.append(f"Dropped, no Facebook region: {', '.join(self.unmapped_states)}")
        changed = WOULD_UPDATE if self.dry_run else UPDATED
        changed_label = "Would update" if self.dry_run else "Updated"
        lines.append(
            f"Ad sets processed: {len(self.adsets)} | {changed_label}: {self.count(changed)} | "
            f"Skipped: {self.count(SKIPPED)} | Failed: {self.failed_count}"
        )
        lines.extend(f"  - {adset.describe()}" for adset in self.adsets)
        for step, error in self.step_errors.items():
            lines.append(f"Step {step} failed: {error}")
        if not self.step_errors and not self.failed_count:
            lines.append("Errors: none")
        return "\n".join(lines)


def decide_status(step_errors: dict[str, str], adsets: list[AdSetOutcome]) -> str:
    if any(step in step_errors for step in PREPARATION_STEPS):
        return STATUS_ABORTED
    if step_errors or any(adset.outcome in (FAILED, NOT_RUN) for adset in adsets):
        return STATUS_FAILED
    return STATUS_SUCCESS

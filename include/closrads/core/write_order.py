"""What every ``update_adset`` of one run needs, decided once per run and handed over as one value.

The run's mode, the states its demand asks for (a :class:`~closrads.core.learning_phase.StatePolicy`:
the regions, after learning-phase protection), when that demand was fetched (for the stale re-run
guard) and what the change guard decided are the same for all of a run's ad sets. ``approve_changes``,
the last step before the writes, puts them together, so each ad set's task reads one value instead
of one per step (at 300 ad sets that is 900 fewer requests to Airflow's API per run). Every ad set's
task fetches it, so it travels compact: the regions by key, their entries rebuilt from the region table.
"""

from __future__ import annotations

from dataclasses import dataclass

from closrads.core.change_guard import ApprovalResult
from closrads.core.learning_phase import StatePolicy
from closrads.core.run_mode import RunMode


@dataclass(frozen=True)
class WriteOrder:
    mode: RunMode
    policy: StatePolicy
    fetched_at: str  # UTC ISO time the run's demand was fetched
    approval: ApprovalResult

    def to_dict(self) -> dict:
        return {
            "mode": self.mode.to_dict(),
            "policy": self.policy.to_dict(compact=True),
            "fetched_at": self.fetched_at,
            "approval": self.approval.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> WriteOrder:
        return cls(
            mode=RunMode.from_dict(data["mode"]),
            policy=StatePolicy.from_dict(data["policy"]),
            fetched_at=str(data["fetched_at"]),
            approval=ApprovalResult.from_dict(data["approval"]),
        )

"""What every ``update_adset`` of one run needs, decided once per run and handed over with its ad set.

The run's mode, the states its demand asks for (a :class:`~closrads.core.learning_phase.StatePolicy`:
the regions, after learning-phase protection), when that demand was fetched (for the stale re-run
guard) and what the change guard decided are the same for all of a run's ad sets. ``approve_changes``,
the last step before the writes, puts them together and hands each ad set's task its own row with the
order in it, so the task reads one value from Airflow's API, as a mapped task that does nothing does.
The order travels compact (regions by key), as it is copied into every row.
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

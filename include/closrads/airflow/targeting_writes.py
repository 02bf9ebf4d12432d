"""The one way CLOSRADS changes an ad set's targeting, for the sync and the rollback alike, and the stale
re-run guard that every write claims first.

Dry run: Meta validates the would-be write (``execution_options=validate_only``) and nothing changes.
Live: the guards may still refuse, then the write is made and recorded in the audit trail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from closrads.airflow.audit_trail import record_write
from closrads.airflow.guard_state import read_variable, write_variable
from closrads.airflow.hooks.facebook_ads import FacebookAdsHook
from closrads.airflow.task_run import TaskRun
from closrads.core.audit import ChangeKind
from closrads.core.errors import GuardStateUnavailable, StaleRunRefused
from closrads.core.report import AdSetOutcome, Outcome
from closrads.core.run_mode import RunMode
from closrads.core.targeting import GeoPlan

log = logging.getLogger(__name__)


def write_targeting(
    hook: FacebookAdsHook,
    outcome: AdSetOutcome,
    run: TaskRun,
    *,
    mode: RunMode,
    current: dict,
    desired: dict,
    plan: GeoPlan,
    kind: ChangeKind,
    before_write: Callable[[], None] = lambda: None,
    action: str = "update",
    done: str = "Updated",
    undoes_run_id: str | None = None,
) -> str | None:
    """Write ``desired`` over ``current`` (or, dry, have Meta validate it) and record the outcome.

    ``before_write`` runs just before a live write and may refuse it (the guards). Returns when the write
    was recorded (UTC ISO time), ``None`` in a dry run.
    """
    if mode.dry_run:
        hook.update_targeting(outcome.adset_id, desired, validate_only=True)
        outcome.outcome = Outcome.WOULD_UPDATE
        log.warning("DRY RUN: would %s ad set %s (accepted by Meta): %s", action, outcome.adset_id, plan.describe())
        return None
    before_write()
    hook.update_targeting(outcome.adset_id, desired)
    outcome.outcome = Outcome.UPDATED
    log.info("%s ad set %s: %s", done, outcome.adset_id, plan.describe())
    return record_write(
        run,
        adset_id=outcome.adset_id,
        adset_name=outcome.name,
        kind=kind,
        before=current,
        after=desired,
        plan=plan,
        undoes_run_id=undoes_run_id,
    )


class StaleGuard:
    """The stale re-run guard, claimed just before a write: refuse when a newer run already applied newer
    demand, else record this run's demand as the one applied (unless the record says so already).

    ``applied_at`` is when the run's demand was fetched (a rollback passes the time it writes);
    ``variable`` is the campaign's record. Claiming before the write, not after it, means nothing that
    can fail stands between a write and its audit record: a guard that cannot be read or written fails
    the task before anything reaches Facebook (and Airflow retries it), never after, when the write's
    audit event would be lost with the failed try. A claim whose write then fails still says this run's
    demand is the newest: an older run's cleared task is refused all the same, rightly.
    """

    def __init__(self, applied_at: str, run_id: str, variable: str) -> None:
        self.applied_at, self.run_id, self.variable = datetime.fromisoformat(applied_at), run_id, variable

    def claim(self) -> None:
        applied = self.applied()
        if applied is not None and applied[0] > self.applied_at:
            raise StaleRunRefused(
                f"refusing to write: this run's demand was fetched at {self.applied_at.isoformat()}, but run "
                f"{applied[1]} already applied newer demand (fetched at {applied[0].isoformat()}); "
                "writing now would replace newer targeting with older demand. Clear the newest run's task, "
                "or clear fetch_demand of this run with its downstream tasks to fetch fresh demand"
            )
        if applied is not None and applied[0] == self.applied_at:
            return  # this run's demand is recorded already (its first write claimed it)
        record = {"fetched_at": self.applied_at.isoformat(), "run_id": self.run_id}
        write_variable(
            self.variable, record, "this run's demand", record="the stale re-run guard's newest applied demand"
        )

    def applied(self) -> tuple[datetime, str] | None:
        """The record (when the newest applied demand was fetched, and by which run).

        Fails closed: a record that cannot be read (the API server away, whatever the Task SDK makes of
        it) or cannot be understood is a transient error, never permission to write.
        """
        applied = read_variable(self.variable, "the stale re-run guard's record", deserialize_json=True)
        if applied is None:
            return None
        try:
            return datetime.fromisoformat(applied["fetched_at"]), str(applied.get("run_id"))
        except (ValueError, TypeError, KeyError) as exc:
            raise GuardStateUnavailable(
                f"could not read the stale re-run guard's record, Variable {self.variable} "
                f"({type(exc).__name__}); not writing without it"
            ) from None

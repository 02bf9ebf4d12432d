"""The bodies of the ``closrads_sync`` tasks. The DAG file only wires them together.

Each step takes small JSON values and returns small JSON values (XCom), fails with a message an
operator can act on, and records that message under the XCom key ``step_error`` so the ``report`` task
can say why a run stopped. Errors that waiting cannot fix raise ``AirflowFailException``, so
Airflow never retries bad data, a rejected token or a permanent Graph error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import Variable
from airflow.sdk.exceptions import AirflowFailException
from airflow.sdk.log import redact

from closrads.errors import ClosradsError, RunFailedAfterReport
from closrads.hooks.closrtech import ClosrtechHook
from closrads.hooks.facebook_ads import FacebookAdsHook
from closrads.slack import SLACK_CONN_ID, post_to_slack, run_url
from include.demand import DemandDataError, states_with_demand
from include.regions import map_states
from include.report import (
    FAILED,
    NOT_RUN,
    PREPARATION_STEPS,
    SKIPPED,
    UPDATED,
    WOULD_UPDATE,
    AdSetOutcome,
    SyncReport,
    decide_status,
)
from include.run_mode import DRY_RUN_VARIABLE, RunMode, resolve_run_mode
from include.slack_message import report_message
from include.targeting import TargetingConflict, plan_geo_update, targeting_with_regions

log = logging.getLogger(__name__)

ERROR_KEY = "step_error"
OUTCOME_KEY = "adset_outcome"
REPORT_KEY = "closrads_report"
# Live runs record here the demand they applied, so a cleared task of an older run cannot
# overwrite newer targeting with older demand (the stale re-run guard).
APPLIED_DEMAND_VARIABLE = "closrads_last_applied_demand"


class StaleRunRefused(ClosradsError):
    """A newer run already applied newer demand; writing this run's demand would undo it."""


# -- helpers ---------------------------------------------------------------------------------


def run_mode(context) -> RunMode:
    """The mode of this run (see include.run_mode); read at run time, never at parse time."""
    dag_run = context["dag_run"]
    scheduled = str(getattr(dag_run, "run_type", "")).lower().endswith("scheduled")
    variable = Variable.get(DRY_RUN_VARIABLE, default=None) if scheduled else None
    return resolve_run_mode(
        scheduled=scheduled, dry_run_param=context["params"].get("dry_run"), dry_run_variable=variable
    )


def announce_mode(context) -> RunMode:
    mode = run_mode(context)
    if mode.invalid:
        log.error("Run mode: %s", mode.describe())
    elif mode.dry_run:
        log.warning("Run mode: %s - nothing will be written to Facebook", mode.describe())
    else:
        log.info("Run mode: %s - ad set targeting will be written to Facebook", mode.describe())
    return mode


@contextmanager
def failing_cleanly(record: Callable[[str], None], prefix: str = "") -> Iterator[None]:
    """Record a failing step's message for the report (``record``), then fail the task.

    The hooks' own errors (``ClosradsError``, ``DemandDataError``, ``TargetingConflict``) carry clean,
    secret-free messages; unless they are transient they fail with ``AirflowFailException``, so
    Airflow never retries them. Anything else is a bug: recorded with secrets masked, re-raised.
    """
    try:
        yield
    except (ClosradsError, DemandDataError, TargetingConflict) as exc:
        record(str(exc))
        if getattr(exc, "transient", False):
            raise
        raise AirflowFailException(f"{prefix}{exc}") from None
    except Exception as exc:
        record(unexpected_error(exc))
        raise


def recording_errors(context):
    """``failing_cleanly`` for the preparation steps: the message goes to XCom ``step_error``."""
    return failing_cleanly(lambda message: context["ti"].xcom_push(key=ERROR_KEY, value=message))


def unexpected_error(exc: Exception) -> str:
    """A message for an error the hooks did not anticipate (a bug, say), with Airflow's secret masking."""
    return str(redact(f"{type(exc).__name__}: {exc}"))


# -- fetch_demand ----------------------------------------------------------------------------


def fetch_demand(context) -> dict[str, Any]:
    """Fetch, validate and filter CLOSRTECH demand: ``{"states": {"OH": 15, ...}, "fetched_at": ...}``."""
    with recording_errors(context):
        fetched_at = datetime.now(UTC).isoformat()
        demand = ClosrtechHook().get_demand()
        wanted = states_with_demand(demand)
        zero = sorted(code for code, value in demand.items() if value == 0)
        log.info(
            "CLOSRTECH demand: %d of %d states want leads (%s); %d at zero (%s)",
            len(wanted),
            len(demand),
            ", ".join(wanted),
            len(zero),
            ", ".join(zero) or "none",
        )
        return {"states": wanted, "zero_states": zero, "fetched_at": fetched_at}


# -- map_regions -----------------------------------------------------------------------------


def map_regions(demand: dict[str, Any], context) -> dict[str, Any]:
    """USPS codes -> Facebook regions; aborts the run when nothing maps (Facebook is never called)."""
    with recording_errors(context):
        mapping = map_states(demand["states"])
        if mapping.unmapped:
            log.warning(
                "Dropping %d state code(s) with no Facebook region: %s",
                len(mapping.unmapped),
                ", ".join(mapping.unmapped),
            )
        if not mapping.regions:
            raise DemandDataError(
                f"none of the demand states ({', '.join(mapping.unmapped)}) has a Facebook region; "
                "refusing to clear the targeting of every ad set"
            )
        log.info("Mapped %d states to Facebook regions: %s", len(mapping.states), ", ".join(mapping.states))
        return {"regions": mapping.regions, "states": mapping.states, "unmapped": mapping.unmapped}


# -- list_adsets -----------------------------------------------------------------------------


def list_adsets(context) -> list[dict[str, str]]:
    """The campaign's ACTIVE ad sets, sorted by id so map indexes stay stable between retries."""
    with recording_errors(context):
        hook = FacebookAdsHook()
        rows = hook.list_campaign_adsets()
        active = sorted(
            ({"id": row["id"], "name": row["name"]} for row in rows if row["effective_status"] == "ACTIVE"),
            key=lambda row: row["id"],
        )
        others = [f"{row['name']} ({row['effective_status']})" for row in rows if row["effective_status"] != "ACTIVE"]
        log.info(
            "Campaign %s: %d ad sets, %d ACTIVE; left alone: %s",
            hook.settings.campaign_id,
            len(rows),
            len(active),
            ", ".join(others) or "none",
        )
        return active


# -- update_adset ----------------------------------------------------------------------------


def update_adset(adset: dict[str, str], mapping: dict[str, Any], demand: dict[str, Any], context) -> dict:
    """Bring one ad set's regions in line with demand, reading its targeting fresh first.

    Always records an outcome under XCom key ``adset_outcome`` (also when failing), so the report can
    list every ad set with what happened to it.
    """
    context["adset_label"] = f"{adset['name']} ({adset['id']})"
    ti = context["ti"]
    mode = announce_mode(context)
    outcome = AdSetOutcome(adset_id=adset["id"], name=adset["name"], outcome=FAILED)

    def record_failure(message: str) -> None:
        outcome.outcome, outcome.error = FAILED, message
        ti.xcom_push(key=OUTCOME_KEY, value=outcome.to_dict())
        log.error("Ad set %s failed: %s", context["adset_label"], message)

    with failing_cleanly(record_failure, prefix=f"ad set {context['adset_label']}: "):
        _apply_demand(outcome, mapping["regions"], demand["fetched_at"], mode, context)
    ti.xcom_push(key=OUTCOME_KEY, value=outcome.to_dict())
    return outcome.to_dict()


def _apply_demand(outcome: AdSetOutcome, regions: list[dict], fetched_at: str, mode: RunMode, context) -> None:
    hook = FacebookAdsHook()
    current = hook.get_adset(outcome.adset_id)
    outcome.name = str(current.get("name") or outcome.name)
    status = current.get("effective_status")
    if status and status != "ACTIVE":
        outcome.outcome = SKIPPED
        outcome.error = None
        log.warning("Ad set %s is %s now (it was ACTIVE when listed); leaving it alone", outcome.adset_id, status)
        return

    targeting = current.get("targeting") or {}
    plan = plan_geo_update(targeting, regions)  # raises TargetingConflict on a US overlap
    outcome.added, outcome.removed = plan.added, plan.removed
    if not plan.needs_write:
        outcome.outcome = SKIPPED
        log.info("Ad set %s already targets exactly the %d demand states; no write", outcome.adset_id, len(regions))
        if not mode.dry_run:
            _record_applied_demand(fetched_at, context)
        return
    change = " ".join([f"+{c}" for c in plan.added] + [f"-{c}" for c in plan.removed])
    if mode.dry_run:
        outcome.outcome = WOULD_UPDATE
        log.warning("DRY RUN: would update ad set %s: %s", outcome.adset_id, change)
        return
    _refuse_if_stale(fetched_at, context)
    hook.update_targeting(outcome.adset_id, targeting_with_regions(targeting, regions))
    outcome.outcome = UPDATED
    log.info("Updated ad set %s: %s", outcome.adset_id, change)
    _record_applied_demand(fetched_at, context)


def _refuse_if_stale(fetched_at: str, context) -> None:
    applied = Variable.get(APPLIED_DEMAND_VARIABLE, default=None, deserialize_json=True)
    if not isinstance(applied, dict) or "fetched_at" not in applied:
        return
    if _as_time(applied["fetched_at"]) > _as_time(fetched_at):
        raise StaleRunRefused(
            f"refusing to write: this run's demand was fetched at {fetched_at}, but run "
            f"{applied.get('run_id')} already applied newer demand (fetched at {applied['fetched_at']}); "
            "writing now would replace newer targeting with older demand. Clear the newest run's task, "
            "or clear fetch_demand of this run with its downstream tasks to fetch fresh demand"
        )


def _record_applied_demand(fetched_at: str, context) -> None:
    applied = Variable.get(APPLIED_DEMAND_VARIABLE, default=None, deserialize_json=True)
    if isinstance(applied, dict) and _as_time(applied.get("fetched_at", fetched_at)) > _as_time(fetched_at):
        return
    Variable.set(APPLIED_DEMAND_VARIABLE, {"fetched_at": fetched_at, "run_id": context["run_id"]}, serialize_json=True)


def _as_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


# -- report ----------------------------------------------------------------------------------


def report(context) -> dict:
    """Assemble the report from what the tasks left behind, log it, and fail if anything failed."""
    ti, run_id = context["ti"], context["run_id"]
    mode = run_mode(context)
    states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[run_id]).get(run_id, {})

    step_errors = {}
    for step in PREPARATION_STEPS:
        state = states.get(step)
        if state != "success":
            step_errors[step] = ti.xcom_pull(task_ids=step, key=ERROR_KEY) or f"did not succeed (state: {state})"

    demand = ti.xcom_pull(task_ids="fetch_demand") or {}
    mapping = ti.xcom_pull(task_ids="map_regions") or {}
    listed = ti.xcom_pull(task_ids="list_adsets") or []
    # One outcome per map index; the listing is sorted by id, so index i is listed[i].
    recorded = ti.xcom_pull(task_ids="update_adset", key=OUTCOME_KEY, map_indexes=list(range(len(listed))))
    recorded = recorded if isinstance(recorded, list) else [recorded]
    adsets = []
    for index, adset in enumerate(listed):
        row = recorded[index] if index < len(recorded) else None
        if isinstance(row, dict):
            outcome = AdSetOutcome.from_dict(row)
        else:
            state = states.get(f"update_adset_{index}", "not started")
            outcome = AdSetOutcome(
                adset_id=adset["id"],
                name=adset["name"],
                outcome=NOT_RUN,
                error=f"update_adset recorded no outcome (task state: {state})",
            )
        adsets.append(outcome)

    result = SyncReport(
        mode=mode.describe(),
        dry_run=mode.dry_run,
        status=decide_status(step_errors, adsets),
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        run_id=run_id,
        demand_states=sorted((demand.get("states") or {}).keys()),
        unmapped_states=mapping.get("unmapped") or [],
        adsets=adsets,
        step_errors=step_errors,
    )
    log.info("CLOSRADS report\n%s", result.render_text())
    # Also under its own key: a failing task's return value is not stored, this is.
    ti.xcom_push(key=REPORT_KEY, value=result.to_dict())
    delivered = post_to_slack(*report_message(result, run_url(ti.dag_id, run_id)), what="run report")
    if delivered is None:
        log.info("Slack is off (no Airflow Connection '%s'): the report is in this log only", SLACK_CONN_ID)
    if not result.succeeded:
        counts = (
            f"{result.failed_count} of {len(adsets)} ad set(s) failed"
            if not step_errors
            else ("; ".join(f"{step}: {error}" for step, error in step_errors.items()))
        )
        raise RunFailedAfterReport(f"CLOSRADS run {result.status}: {counts}")
    return result.to_dict()

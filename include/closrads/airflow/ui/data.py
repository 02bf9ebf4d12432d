"""What the operator's pages show, read from Airflow's own models (the API server's metadata DB).

Only values CLOSRADS's runs recorded themselves: the run's report and demand (XCom), its state and
note, the audit trail (asset events). Who may see them is checked before any of this is called
(:mod:`closrads.airflow.ui.app`, with Airflow's own access rules); nothing here reads a Connection,
a Variable or the network. The one write: unpausing a rollback DAG from the undo form.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from closrads.airflow.audit_trail import trusted_record
from closrads.airflow.sync.approval_operator import APPROVE_TASK_ID
from closrads.airflow.xcom import XComKey
from closrads.core.audit import AuditRecord
from closrads.core.campaigns import Campaign
from closrads.core.names import SPEND_TASK_ID
from closrads.core.run_map import RunMap, run_map
from closrads.core.spend_trend import TREND_RUNS, SpendPoint, spend_point

# One ad set's history shows at most this many writes, newest first (the audit trail grows daily).
MAX_HISTORY = 200
AWAITING_INPUT = "awaiting_input"


@dataclass(frozen=True)
class RunView:
    dag_id: str
    run_id: str
    state: str
    note: str | None
    waiting_for_approval: bool
    map: RunMap | None  # None: the run has no report yet (it is still running, or never got there)
    rollback: bool = False  # a rollback run: its map shows what it restored
    paused: bool = False  # its DAG is paused: a queued run waits until someone unpauses it


def _xcom(session: Session, dag_id: str, run_id: str, task_id: str, key: str):
    from airflow.models.xcom import XComModel

    row = session.scalars(
        select(XComModel).where(
            XComModel.dag_id == dag_id,
            XComModel.run_id == run_id,
            XComModel.task_id == task_id,
            XComModel.key == key,
            XComModel.map_index == -1,
        )
    ).first()
    return XComModel.deserialize_value(row) if row is not None else None


def _waiting_for_approval(session: Session, dag_id: str, run_id: str) -> bool:
    """Whether the run's ``approve_changes`` waits for a person now."""
    from airflow.models.taskinstance import TaskInstance

    state = session.scalar(
        select(TaskInstance.state).where(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id, TaskInstance.task_id == APPROVE_TASK_ID
        )
    )
    return str(getattr(state, "value", state)) == AWAITING_INPUT


# The task that pushes each DAG's report (XCom ``closrads_report``).
REPORT_TASK = {False: "report", True: "report_rollback"}


def run_view(session: Session, dag_id: str, run_id: str, *, rollback: bool = False) -> RunView | None:
    """One sync run as its map shows it, or one rollback run (what it restored); ``None`` when the DAG
    has no such run."""
    from airflow.models.dagrun import DagRun

    run = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)).first()
    if run is None:
        return None
    report = _xcom(session, dag_id, run_id, REPORT_TASK[rollback], XComKey.REPORT)
    demand = None if rollback else _xcom(session, dag_id, run_id, "fetch_demand", "return_value")
    wanted = demand.get("states") if isinstance(demand, dict) else None
    return RunView(
        dag_id,
        run_id,
        str(getattr(run.state, "value", run.state)),
        run.note,
        not rollback and _waiting_for_approval(session, dag_id, run_id),
        run_map(report, wanted) if isinstance(report, dict) else None,
        rollback=rollback,
        paused=dag_paused(session, dag_id),
    )


@dataclass(frozen=True)
class HistoryEntry:
    record: AuditRecord
    timestamp: str


def adset_history(session: Session, campaign: Campaign, adset_id: str) -> list[HistoryEntry]:
    """Every recorded write of one of the campaign's ad sets (by its sync or its rollback), newest first."""
    from airflow.models.asset import AssetEvent, AssetModel

    _, uri = campaign.adset_asset(adset_id)
    events = session.scalars(
        select(AssetEvent)
        .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
        .where(AssetModel.uri == uri)
        .order_by(AssetEvent.timestamp.desc())
        .limit(MAX_HISTORY)
    ).all()
    entries = []
    for event in events:
        record = trusted_record(event)  # an event someone posted by hand, or malformed: not history
        if record is not None and campaign.owns_dag(record.dag_id) and record.adset_id == adset_id:
            entries.append(HistoryEntry(record, event.timestamp.isoformat()))
    return entries


@dataclass(frozen=True)
class LastSeen:
    """What the campaign's latest reported sync run saw of one ad set: Meta's learning state and a
    change made since CLOSRADS last wrote it (empty: none)."""

    run_id: str
    learning: str
    outside_change: str


def last_seen(session: Session, campaign: Campaign, adset_id: str) -> LastSeen | None:
    """The ad set as the campaign's latest sync report saw it (one XCom read; ``None``: no report lists it)."""
    from airflow.models.xcom import XComModel

    from closrads.core.report import AdSetOutcome

    row = session.scalars(
        select(XComModel)
        .where(
            XComModel.dag_id == campaign.sync_dag_id,
            XComModel.task_id == REPORT_TASK[False],
            XComModel.key == XComKey.REPORT,
        )
        .order_by(XComModel.timestamp.desc())
        .limit(1)
    ).first()
    report = XComModel.deserialize_value(row) if row is not None else None
    adsets = report.get("adsets") if isinstance(report, dict) else None
    found = next((a for a in adsets or [] if isinstance(a, dict) and a.get("adset_id") == adset_id), None)
    if found is None:
        return None
    outcome = AdSetOutcome.from_dict(found)
    return LastSeen(
        str(report.get("run_id") or row.run_id), outcome.learning_note or "", outcome.outside_change_note or ""
    )


@dataclass(frozen=True)
class CampaignRow:
    dag_id: str
    campaign: str
    client: str
    paused: bool
    run_id: str | None
    state: str | None
    note: str | None
    waiting: bool
    spend: SpendPoint | None = None  # the newest point with a share (of spend in no-demand states)
    spend_missing: SpendPoint | None = None  # the newest run's point, when it has no figure


def campaign_rows(session: Session, campaigns: list[Campaign], readable: set[str] | None) -> list[CampaignRow]:
    """Each campaign's sync DAG the user may read (``readable``; ``None``: every DAG), with its last run."""
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun

    rows = []
    for campaign in campaigns:
        dag_id = campaign.sync_dag_id
        if readable is not None and dag_id not in readable:
            continue
        dag = session.scalars(select(DagModel).where(DagModel.dag_id == dag_id)).first()
        if dag is None:
            continue  # not parsed yet
        run = session.scalars(
            select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.run_after.desc()).limit(1)
        ).first()
        rows.append(
            CampaignRow(
                dag_id,
                "default" if campaign.is_default else campaign.slug,
                campaign.client or "-",
                bool(dag.is_paused),
                run.run_id if run else None,
                str(getattr(run.state, "value", run.state)) if run else None,
                run.note if run else None,
                run is not None and _waiting_for_approval(session, dag_id, run.run_id),
                *latest_spend(session, dag_id),
            )
        )
    return rows


def _spend_xcoms(session: Session, dag_id: str, run_ids: list[str] | None = None, limit: int = TREND_RUNS):
    """``measure_spend``'s results of the DAG's runs (``run_ids``; ``None``: the newest), newest first:
    (run_id, when it was recorded, the value)."""
    from airflow.models.xcom import XComModel

    query = select(XComModel).where(
        XComModel.dag_id == dag_id,
        XComModel.task_id == SPEND_TASK_ID,  # its result is small; a report is not
        XComModel.key == "return_value",
        XComModel.map_index == -1,
    )
    if run_ids is not None:
        query = query.where(XComModel.run_id.in_(run_ids))
    rows = session.scalars(query.order_by(XComModel.timestamp.desc()).limit(limit)).all()
    return [(row.run_id, row.timestamp, XComModel.deserialize_value(row)) for row in rows]


def latest_spend(session: Session, dag_id: str) -> tuple[SpendPoint | None, SpendPoint | None]:
    """The DAG's newest spend figure, and the newest run's point when that run has none (Insights was
    unavailable): the overview keeps showing the last known leakage, and says the latest run has none."""
    points = [spend_point(*found) for found in _spend_xcoms(session, dag_id)]
    measured = next((point for point in points if point.share is not None), None)
    newest = points[0] if points and points[0] is not measured else None
    return measured, newest


def spend_trend(session: Session, dag_id: str, limit: int = TREND_RUNS) -> list[SpendPoint]:
    """The leakage of the DAG's last ``limit`` runs, oldest first; a run that recorded no figure is a
    point without one (a gap on the chart, never a zero)."""
    from airflow.models.dagrun import DagRun

    runs = session.execute(
        select(DagRun.run_id, DagRun.run_after)
        .where(DagRun.dag_id == dag_id)
        .order_by(DagRun.run_after.desc())
        .limit(limit)
    ).all()
    spent = {run_id: value for run_id, _, value in _spend_xcoms(session, dag_id, [r.run_id for r in runs], limit)}
    return [spend_point(run.run_id, run.run_after, spent.get(run.run_id)) for run in reversed(runs)]


def run_writes(session: Session, campaign: Campaign, run_id: str) -> list[HistoryEntry]:
    """The writes one run of the campaign's sync recorded (what an undo would put back), by ad set id."""
    from airflow.models.asset import AssetEvent

    events = session.scalars(
        select(AssetEvent)
        .where(AssetEvent.source_dag_id == campaign.sync_dag_id, AssetEvent.source_run_id == run_id)
        .order_by(AssetEvent.timestamp)
        .limit(MAX_HISTORY * 10)
    ).all()
    entries = {}
    for event in events:
        record = trusted_record(event)
        if record is None or record.run_id != run_id:
            continue
        entries.setdefault(record.adset_id, HistoryEntry(record, event.timestamp.isoformat()))
    return [entries[adset_id] for adset_id in sorted(entries)]


def dag_paused(session: Session, dag_id: str) -> bool:
    """Whether a DAG is paused (a run triggered then waits until someone unpauses it)."""
    from airflow.models.dag import DagModel

    return bool(session.scalar(select(DagModel.is_paused).where(DagModel.dag_id == dag_id)))


def unpause(session: Session, dag_id: str) -> None:
    """Unpause a DAG, as its toggle in the UI does (the caller checked the user may)."""
    from airflow.models.dag import DagModel

    session.execute(update(DagModel).where(DagModel.dag_id == dag_id).values(is_paused=False))
    session.commit()


@dataclass(frozen=True)
class RunRow:
    run_id: str
    run_type: str
    state: str
    note: str | None
    waiting: bool


def recent_runs(session: Session, dag_id: str, limit: int = TREND_RUNS) -> list[RunRow]:
    """A DAG's latest runs, newest first (as many as the spend chart draws: each bar has its row)."""
    from airflow.models.dagrun import DagRun

    runs = session.scalars(
        select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.run_after.desc()).limit(limit)
    ).all()
    return [
        RunRow(
            run.run_id,
            str(getattr(run.run_type, "value", run.run_type)),
            str(getattr(run.state, "value", run.state)),
            run.note,
            _waiting_for_approval(session, dag_id, run.run_id),
        )
        for run in runs
    ]

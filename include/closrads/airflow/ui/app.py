"""The operator's pages: a FastAPI app that Airflow's API server mounts under ``/closrads`` (the
``plugins/closrads_ui.py`` plugin), shown inside the Airflow UI as external views.

- ``/closrads/runs/{dag_id}/{run_id}``: one sync run's map (demand per state on a tile grid, each ad
  set's change) and its result; ``/closrads/api/runs/...`` the same as JSON.
- ``/closrads/adsets/{dag_id}/{adset_id}``: one ad set's history from the audit trail, each sync run
  with an undo link to ``/closrads/undo/{dag_id}/{run_id}``: the campaign's rollback trigger form with
  the run (and the ad set) filled in, dry by default. (Airflow 3.3's own trigger form cannot be
  pre-filled from a URL; this form triggers the rollback with the user's own permission to.)
- ``/closrads/dags/{dag_id}``: a campaign's latest runs, each linking to its map, and a chart of the
  last runs' share of spend in states with no demand; ``/closrads/api/dags/{dag_id}/spend`` the
  chart's figures as JSON.
- ``/closrads/``: every campaign the user may read, with its last run and its latest leakage.

Access is Airflow's own: the same user (the UI's session cookie or a bearer token) and the same rules
as the REST API (``requires_access_dag``: reading a DAG's runs), so nobody sees a run of a DAG they
cannot read. Pages are rendered on the server from Jinja templates with inline CSS: no JavaScript
build, nothing loaded from the internet.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from urllib.parse import quote

from airflow.api.common.trigger_dag import trigger_dag
from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from airflow.utils.types import DagRunTriggeredByType
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from closrads.airflow.ui.data import (
    adset_history,
    campaign_rows,
    dag_paused,
    last_seen,
    recent_runs,
    run_view,
    run_writes,
    spend_trend,
    unpause,
)
from closrads.core.audit import AuditRecord
from closrads.core.campaigns import Campaign, RegistryError, load_registry
from closrads.core.regions import state_for_key, us_state_keys
from closrads.core.run_map import DEMAND_BANDS
from closrads.core.spend_trend import spend_chart
from closrads.core.state_grid import COLUMNS

URL_PREFIX = "/closrads"
RUN_TAB_ROUTE = "closrads_map"  # the url_route of the run page's tab (plugins/closrads_ui.py)
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")), autoescape=select_autoescape(["html"])
)
READ_RUNS = Depends(requires_access_dag("GET", DagAccessEntity.RUN))


class NotClosradsDag(HTTPException):
    """The tab of a DAG that is no CLOSRADS sync or rollback: a page that says so, not an error."""

    def __init__(self, dag_id: str, *, rollback_too: bool) -> None:
        what = "sync or rollback DAG" if rollback_too else "sync DAG"
        super().__init__(404, f"{dag_id[:100]} is not a CLOSRADS {what}")
        self.dag_id, self.what = dag_id[:100], what


def _campaign(dag_id: str, *, rollback_too: bool = False) -> Campaign:
    """The campaign this DAG belongs to: its sync, or (``rollback_too``) its rollback; any other DAG has
    no map (a 404 page that says so, shown in the tab every DAG run has)."""
    try:
        campaign = load_registry().for_dag(dag_id)
    except RegistryError:
        campaign = None
    if campaign is None or not (dag_id == campaign.sync_dag_id or (rollback_too and campaign.owns_dag(dag_id))):
        raise NotClosradsDag(dag_id, rollback_too=rollback_too)
    return campaign


def _sync_campaign(dag_id: str) -> Campaign:
    return _campaign(dag_id)


class Links:
    """Where the pages link to, relative to where Airflow mounted this app (and Airflow's own UI)."""

    def __init__(self, request: Request) -> None:
        self.root = request.scope.get("root_path", "").rstrip("/")
        self.ui = self.root.removesuffix(URL_PREFIX)

    def run(self, dag_id: str, run_id: str) -> str:
        return f"{self.root}/runs/{quote(dag_id, safe='')}/{quote(run_id, safe='')}"

    def dag(self, dag_id: str) -> str:
        return f"{self.root}/dags/{quote(dag_id, safe='')}"

    def history(self, dag_id: str, adset_id: str) -> str:
        return f"{self.root}/adsets/{quote(dag_id, safe='')}/{quote(adset_id, safe='')}"

    def undo(self, dag_id: str, run_id: str, adset_id: str | None = None) -> str:
        url = f"{self.root}/undo/{quote(dag_id, safe='')}/{quote(run_id, safe='')}"
        return f"{url}?adset_id={quote(adset_id, safe='')}" if adset_id else url

    def ui_run(self, dag_id: str, run_id: str) -> str:
        return f"{self.ui}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"

    def ui_run_tab(self, dag_id: str, run_id: str) -> str:
        """The run in Airflow's UI, on its Targeting map tab (``plugins/closrads_ui.py``'s url_route)."""
        return f"{self.ui_run(dag_id, run_id)}/plugin/{RUN_TAB_ROUTE}"


# Pages may be framed by Airflow's own UI (same origin) only: another site cannot frame the undo form.
FRAME_POLICY = {"Content-Security-Policy": "frame-ancestors 'self'", "X-Frame-Options": "SAMEORIGIN"}


def _page(template: str, **values) -> HTMLResponse:
    return HTMLResponse(_TEMPLATES.get_template(template).render(columns=COLUMNS, **values), headers=FRAME_POLICY)


def create_app() -> FastAPI:
    app = FastAPI(title="CLOSRADS", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(NotClosradsDag)
    async def not_closrads(request: Request, exc: NotClosradsDag):
        """JSON for the JSON routes; for a page (the tab every DAG run and DAG has), a page that says
        what the tab shows and where CLOSRADS's runs are."""
        if request.url.path.startswith(f"{request.scope.get('root_path', '')}/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=404)
        page = _page("not_closrads.html", page_title="not CLOSRADS", dag_id=exc.dag_id, what=exc.what,
                     overview_url=f"{Links(request).root}/")  # fmt: skip
        page.status_code = 404
        return page

    def run_or_404(session, dag_id: str, run_id: str):
        campaign = _campaign(dag_id, rollback_too=True)
        view = run_view(session, dag_id, run_id, rollback=dag_id == campaign.rollback_dag_id)
        if view is None:
            raise HTTPException(404, "no such run")
        return view

    @app.get("/api/runs/{dag_id}/{run_id}", dependencies=[READ_RUNS])
    def run_json(dag_id: str, run_id: str, session: SessionDep) -> dict:
        return json.loads(json.dumps(asdict(run_or_404(session, dag_id, run_id)), default=str))

    @app.get("/api/dags/{dag_id}/spend", dependencies=[READ_RUNS])
    def spend_json(dag_id: str, session: SessionDep) -> dict:
        """The campaign's chart as data: each of its last runs' share of yesterday's spend in states with
        no demand, oldest first (``share`` null: no figure, ``text`` says why)."""
        _sync_campaign(dag_id)
        points = spend_trend(session, dag_id)
        return {"dag_id": dag_id, "runs": [asdict(point) | {"above_alert": point.above_alert} for point in points]}

    @app.get("/runs/{dag_id}/{run_id}", response_class=HTMLResponse, dependencies=[READ_RUNS])
    def run_page(
        dag_id: str, run_id: str, request: Request, session: SessionDep, triggered: bool = False
    ) -> HTMLResponse:
        """A sync run's map, or what a rollback run restored. ``triggered``: the page the undo form lands
        on in its tab, which moves Airflow's UI (the top window) to the new run."""
        view = run_or_404(session, dag_id, run_id)
        links = Links(request)
        sync_dag_id = _campaign(dag_id, rollback_too=True).sync_dag_id
        return _page(
            "run.html",
            page_title=f"{dag_id} {run_id}",
            view=view,
            map=view.map,
            bands=DEMAND_BANDS,
            history_url=lambda adset_id: links.history(sync_dag_id, adset_id),
            overview_url=f"{links.root}/",
            ui_run_url=links.ui_run_tab(dag_id, run_id),
            triggered=triggered,
            refresh=view.state in ("queued", "running") and not view.waiting_for_approval,
        )

    @app.get("/adsets/{dag_id}/{adset_id}", response_class=HTMLResponse, dependencies=[READ_RUNS])
    def history_page(dag_id: str, adset_id: str, request: Request, session: SessionDep) -> HTMLResponse:
        campaign = _sync_campaign(dag_id)
        links = Links(request)
        return _page(
            "history.html",
            page_title=f"ad set {adset_id}",
            campaign=campaign,
            adset_id=adset_id,
            entries=adset_history(session, campaign, adset_id),
            seen=last_seen(session, campaign, adset_id),
            run_url=lambda run_id: links.run(dag_id, run_id),
            rollback_url=lambda run_id: links.run(campaign.rollback_dag_id, run_id),
            undo_url=lambda run_id: links.undo(dag_id, run_id, adset_id),
            states_after=_states_after,
            overview_url=f"{links.root}/",
        )

    @app.get("/dags/{dag_id}", response_class=HTMLResponse, dependencies=[READ_RUNS])
    def dag_page(dag_id: str, request: Request, session: SessionDep) -> HTMLResponse:
        campaign = _campaign(dag_id, rollback_too=True)
        rollback = dag_id == campaign.rollback_dag_id
        points = [] if rollback else spend_trend(session, dag_id)  # a rollback measures no spend
        links = Links(request)
        return _page(
            "dag.html",
            page_title=dag_id,
            dag_id=dag_id,
            rollback=rollback,
            campaign=campaign,
            runs=recent_runs(session, dag_id),
            chart=spend_chart(points),
            points_by_run={point.run_id: point for point in points},
            run_url=lambda run_id: links.run(dag_id, run_id),
            overview_url=f"{links.root}/",
        )

    @app.get("/undo/{dag_id}/{run_id}", response_class=HTMLResponse, dependencies=[READ_RUNS])
    def undo_form(dag_id: str, run_id: str, request: Request, session: SessionDep, adset_id: str = "") -> HTMLResponse:
        campaign = _sync_campaign(dag_id)
        links = Links(request)
        records = [
            e.record for e in run_writes(session, campaign, run_id) if not adset_id or e.record.adset_id == adset_id
        ]
        return _page(
            "undo.html",
            page_title=f"undo {run_id}",
            campaign=campaign,
            run_id=run_id,
            adset_id=adset_id,
            records=records,
            paused=dag_paused(session, campaign.rollback_dag_id),
            action=links.undo(dag_id, run_id),
            overview_url=f"{links.root}/",
        )

    @app.post("/undo/{dag_id}/{run_id}", dependencies=[READ_RUNS])
    async def undo_trigger(
        dag_id: str, run_id: str, request: Request, user: GetUserDep, session: SessionDep
    ) -> RedirectResponse:
        """Trigger the campaign's rollback as the user, who must be allowed to trigger it (Airflow's own
        rule for creating a DAG run), from this app's own form (the session cookie is SameSite=Lax, and
        a request from another origin is refused besides).

        The form lives in Airflow's sandboxed iframe (the run's tab), which may not navigate the top
        window: it posts to itself and lands on the new rollback run's page in the same tab, which then
        moves Airflow's UI to that run. A paused rollback DAG (its runs would stay queued) is unpaused
        first when the form asks for it and the user may edit the DAG: it has no schedule of its own.
        """
        campaign = _sync_campaign(dag_id)
        _refuse_other_origins(request)
        rollback = DagDetails(id=campaign.rollback_dag_id)
        auth = get_auth_manager()
        if not auth.is_authorized_dag(method="POST", access_entity=DagAccessEntity.RUN, details=rollback, user=user):
            raise HTTPException(403, f"you may not trigger {campaign.rollback_dag_id}")
        form = await request.form()
        if form.get("unpause") and dag_paused(session, campaign.rollback_dag_id):
            if not auth.is_authorized_dag(method="PUT", details=rollback, user=user):
                raise HTTPException(403, f"you may not unpause {campaign.rollback_dag_id}: ask someone who may")
            unpause(session, campaign.rollback_dag_id)
        conf = {
            "run_id": run_id,
            "adset_ids": [str(form["only_adset"])] if form.get("only_adset") else [],
            "dry_run": _ticked(form.getlist("dry_run")),
            "stop_live_schedule": _ticked(form.getlist("stop_live_schedule")),
        }
        run = trigger_dag(
            campaign.rollback_dag_id,
            triggered_by=DagRunTriggeredByType.UI,
            triggering_user_name=user.get_name(),
            conf=conf,
        )
        landing = Links(request).run(campaign.rollback_dag_id, run.run_id)
        return RedirectResponse(f"{landing}?triggered=true", status_code=303)

    @app.get("/", response_class=HTMLResponse)
    def overview_page(request: Request, user: GetUserDep, session: SessionDep) -> HTMLResponse:
        readable = get_auth_manager().get_authorized_dag_ids(user=user, method="GET", session=session)
        links = Links(request)
        return _page(
            "overview.html",
            page_title="campaigns",
            rows=campaign_rows(session, load_registry().campaigns, readable),
            run_url=links.run,
            dag_url=links.dag,
        )

    return app


def _ticked(values: list) -> bool:
    """A checkbox of the undo form, safe by default: the form sends a hidden ``false`` and, when ticked,
    ``true``; only an explicit ``false`` without ``true`` unticks it (a request without the field, or a
    form that lost it, stays dry and stops the live schedule)."""
    return "true" in values or "false" not in values


def _refuse_other_origins(request: Request) -> None:
    """Only CLOSRADS's own form may trigger a rollback: a browser's POST carries its page's ``Origin``,
    which must be this server as the request reached it, or Airflow's configured ``[api] base_url``
    (the address operators use, also when a TLS proxy in front rewrites scheme and host). A request
    without ``Origin`` is not a browser's form post and is refused too."""
    origin = (request.headers.get("origin") or "").rstrip("/")
    if not origin or origin not in _allowed_origins(request):
        raise HTTPException(403, "a rollback is triggered from CLOSRADS's own undo form only")


def _allowed_origins(request: Request) -> set[str]:
    from urllib.parse import urlsplit

    from airflow.configuration import conf

    allowed = {f"{request.url.scheme}://{request.url.netloc}"}
    base = urlsplit(conf.get("api", "base_url", fallback="") or "")
    if base.scheme in ("http", "https") and base.netloc:
        allowed.add(f"{base.scheme}://{base.netloc}")
    return allowed


def _states_after(record: AuditRecord) -> list[str]:
    """The US states an ad set targeted after a write, from the region entries the record keeps."""
    us_states = us_state_keys()
    return sorted(state_for_key(key) for key in (str(r.get("key")) for r in record.regions_after) if key in us_states)

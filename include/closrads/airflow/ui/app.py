"""The operator's pages: a FastAPI app that Airflow's API server mounts under ``/closrads`` (the
``plugins/closrads_ui.py`` plugin), shown inside the Airflow UI as external views.

- ``/closrads/runs/{dag_id}/{run_id}``: one sync run's map (demand per state on a tile grid, each ad
  set's change) and its result; ``/closrads/api/runs/...`` the same as JSON.
- ``/closrads/adsets/{dag_id}/{adset_id}``: one ad set's history from the audit trail, with a link
  that opens the campaign's rollback form with the run filled in.
- ``/closrads/``: every campaign the user may read, with its last run.

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

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from closrads.airflow.ui.data import adset_history, campaign_rows, run_view
from closrads.core.audit import AuditRecord
from closrads.core.campaigns import Campaign, RegistryError, load_registry
from closrads.core.regions import state_for_key, us_state_keys
from closrads.core.run_map import DEMAND_BANDS
from closrads.core.state_grid import COLUMNS

URL_PREFIX = "/closrads"
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")), autoescape=select_autoescape(["html"])
)
READ_RUNS = Depends(requires_access_dag("GET", DagAccessEntity.RUN))


def _sync_campaign(dag_id: str) -> Campaign:
    """The campaign whose sync DAG this is; any other DAG has no map (404, not an error page)."""
    try:
        campaign = load_registry().for_dag(dag_id)
    except RegistryError:
        campaign = None
    if campaign is None or campaign.sync_dag_id != dag_id:
        raise HTTPException(404, f"{dag_id[:100]} is not a CLOSRADS sync DAG")
    return campaign


class Links:
    """Where the pages link to, relative to where Airflow mounted this app (and Airflow's own UI)."""

    def __init__(self, request: Request) -> None:
        self.root = request.scope.get("root_path", "").rstrip("/")
        self.ui = self.root.removesuffix(URL_PREFIX)

    def run(self, dag_id: str, run_id: str) -> str:
        return f"{self.root}/runs/{quote(dag_id, safe='')}/{quote(run_id, safe='')}"

    def history(self, dag_id: str, adset_id: str) -> str:
        return f"{self.root}/adsets/{quote(dag_id, safe='')}/{quote(adset_id, safe='')}"

    def undo(self, campaign: Campaign) -> str:
        """The campaign's rollback DAG in Airflow's UI, where its Trigger form is. (Airflow 3.3's UI cannot
        pre-fill that form from a URL; the history page shows the run id to paste beside the link.)"""
        return f"{self.ui}/dags/{quote(campaign.rollback_dag_id, safe='')}"


def _page(template: str, **values) -> HTMLResponse:
    return HTMLResponse(_TEMPLATES.get_template(template).render(columns=COLUMNS, **values))


def create_app() -> FastAPI:
    app = FastAPI(title="CLOSRADS", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/api/runs/{dag_id}/{run_id}", dependencies=[READ_RUNS])
    def run_json(dag_id: str, run_id: str, session: SessionDep) -> dict:
        _sync_campaign(dag_id)
        view = run_view(session, dag_id, run_id)
        if view is None:
            raise HTTPException(404, "no such run")
        return json.loads(json.dumps(asdict(view), default=str))

    @app.get("/runs/{dag_id}/{run_id}", response_class=HTMLResponse, dependencies=[READ_RUNS])
    def run_page(dag_id: str, run_id: str, request: Request, session: SessionDep) -> HTMLResponse:
        _sync_campaign(dag_id)
        view = run_view(session, dag_id, run_id)
        if view is None:
            raise HTTPException(404, "no such run")
        links = Links(request)
        return _page(
            "run.html",
            page_title=f"{dag_id} {run_id}",
            view=view,
            map=view.map,
            bands=DEMAND_BANDS,
            history_url=lambda adset_id: links.history(dag_id, adset_id),
            overview_url=f"{links.root}/",
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
            run_url=lambda run_id: links.run(dag_id, run_id),
            undo_url=links.undo(campaign),
            states_after=_states_after,
            overview_url=f"{links.root}/",
        )

    @app.get("/", response_class=HTMLResponse)
    def overview_page(request: Request, user: GetUserDep, session: SessionDep) -> HTMLResponse:
        readable = get_auth_manager().get_authorized_dag_ids(user=user, method="GET", session=session)
        links = Links(request)
        return _page(
            "overview.html",
            page_title="campaigns",
            rows=campaign_rows(session, load_registry().campaigns, readable),
            run_url=links.run,
        )

    return app


def _states_after(record: AuditRecord) -> list[str]:
    """The US states an ad set targeted after a write, from the region entries the record keeps."""
    us_states = us_state_keys()
    return sorted(state_for_key(key) for key in (str(r.get("key")) for r in record.regions_after) if key in us_states)

"""CLOSRADS in the Airflow UI: the operator's pages (a run's targeting map, an ad set's history, every
campaign at a glance), served by the API server under /closrads and opened from the UI.

Only the plugin's definition lives here (Airflow executes this file in every process); the pages are
``closrads.airflow.ui``, imported only where Airflow asks for the app: the API server.
"""

from __future__ import annotations

from functools import cached_property

from airflow.plugins_manager import AirflowPlugin


class ClosradsUiPlugin(AirflowPlugin):
    name = "closrads_ui"
    external_views = [
        {
            "name": "Targeting map",
            "href": "closrads/runs/{DAG_ID}/{RUN_ID}",
            "destination": "dag_run",
            "url_route": "closrads_map",  # the run page's tab (plugin/closrads_map)
        },
        {
            "name": "Targeting maps",
            "href": "closrads/dags/{DAG_ID}",
            "destination": "dag",
            "url_route": "closrads_runs",  # the DAG page's tab: its latest runs, each to its map
        },
        {
            "name": "CLOSRADS campaigns",
            "href": "closrads/",
            "destination": "nav",
            "url_route": "closrads",
            "category": "browse",
        },
    ]

    @cached_property
    def fastapi_apps(self) -> list[dict]:
        from closrads.airflow.ui.app import URL_PREFIX, create_app

        return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "CLOSRADS"}]

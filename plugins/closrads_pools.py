"""CLOSRADS creates the Airflow pools it owns: each campaign's Graph pool, when a run of it starts.

Only the plugin's definition lives here (Airflow executes this file in every process); the listener
is ``closrads.airflow.listeners``.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from closrads.airflow import listeners


class ClosradsPoolsPlugin(AirflowPlugin):
    name = "closrads_pools"
    listeners = [listeners]

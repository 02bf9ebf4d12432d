"""CLOSRADS: keep the US-state geo targeting of a Facebook campaign's ad sets in line with CLOSRTECH demand.

Two layers (see docs/design.md):

- :mod:`closrads.core`: the pure domain rules. No Airflow, no network, no database.
- :mod:`closrads.airflow`: hooks, task functions, Slack delivery and alerts, built on :mod:`closrads.core`.
"""

"""The ``closrads_rollback`` DAG of each campaign: undo the targeting writes of one sync run.

Laid out like :mod:`closrads.airflow.sync`: :mod:`.tasks` declares the tasks (parsed with the DAG
file), :mod:`.run` is what they do when they run, imported inside the tasks only. It shares the
write path, the stale guard and the report with the sync, not the sync's own task bodies.
"""

"""The ``closrads_sync`` DAG of each campaign: its task declarations and what they do.

Airflow's "top-level code" practice, as two modules: :mod:`.tasks` and :mod:`.approval_operator`
declare the tasks (what the DAG factory imports to build the DAG, light enough to parse every 30
seconds); :mod:`.run`, :mod:`.planning` and :mod:`.approval` are what the tasks do when they run,
imported inside the tasks only. Importing this package imports neither.
"""

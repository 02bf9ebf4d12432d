"""CLOSRADS Airflow code: the CLOSRTECH and Facebook hooks and the task bodies of ``closrads_sync``.

Lives in ``plugins/`` because Airflow puts that folder on ``sys.path`` for every component
(scheduler, DAG processor, workers), so the DAG file can import it without packaging.
"""

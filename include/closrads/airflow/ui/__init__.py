"""The operator's pages inside the Airflow UI: a FastAPI app the ``plugins/closrads_ui.py`` plugin mounts."""

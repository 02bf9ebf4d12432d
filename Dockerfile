# The Airflow image for CLOSRADS: the official image of the Airflow version pinned in
# requirements.txt, with the project's locked dependencies baked in at build time (not
# _PIP_ADDITIONAL_REQUIREMENTS, which reinstalls on every container start and is meant for trials).
# dags/, plugins/ and include/ are mounted by docker-compose.yaml, so code changes need no rebuild.
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11
FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}

COPY --chown=airflow:root requirements.lock /opt/closrads/requirements.lock
RUN pip install --no-cache-dir -r /opt/closrads/requirements.lock

# include/ is imported as a top-level package from /opt/airflow; plugins/ holds the closrads package.
ENV PYTHONPATH=/opt/airflow:/opt/airflow/plugins

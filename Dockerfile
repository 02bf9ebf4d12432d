# The Airflow image for CLOSRADS: the official image of the Airflow version pinned in
# requirements.txt, with the project's locked dependencies baked in at build time (not
# _PIP_ADDITIONAL_REQUIREMENTS, which reinstalls on every container start and is meant for trials).
# dags/ and include/ are mounted by docker-compose.yaml, so code changes need no rebuild.
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11
FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}

COPY --chown=airflow:root requirements.lock /opt/closrads/requirements.lock
# Every package pinned and checked against the hash in the lock (make lock writes them).
RUN pip install --no-cache-dir --require-hashes -r /opt/closrads/requirements.lock

# The closrads package (include/closrads), installed editable from /opt/airflow: every Airflow process
# imports it without any PYTHONPATH setting, and the include/ that docker-compose.yaml mounts over
# /opt/airflow/include is the code that runs.
COPY --chown=airflow:root pyproject.toml /opt/airflow/pyproject.toml
COPY --chown=airflow:root include /opt/airflow/include
RUN pip install --no-cache-dir --no-deps -e /opt/airflow

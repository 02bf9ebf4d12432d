"""What a CLOSRADS task process needs imported, loaded once by the process that forks the task processes.

Airflow runs every task instance in a process forked from a worker process, and that task process
first imports the DAG file and everything it uses. With one ``update_adset`` per ad set, those imports
(the Facebook SDK and ``requests``, the Slack provider, Airflow's DAG loading and TaskFlow operator,
CLOSRADS itself) cost every ad set's task again: measured by ``make bench``, 0.3 CPU-seconds per ad
set where nothing is byte-compiled, still about 0.06 where it is. Imported here once, in the process
the task processes are forked from, they are inherited instead.

Deployment settings that load this module (docs/design.md, "Task start-up"):

- LocalExecutor (``make airflow``): the scheduler's workers come from a ``forkserver`` that imports it::

      AIRFLOW__SCHEDULER__MP_START_METHOD=forkserver
      AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD=airflow.executors.local_executor,closrads.airflow.preload

- CeleryExecutor (``docker-compose.yaml``): the Celery worker imports it before it forks its pool,
  through :data:`closrads.airflow.celery_config.CELERY_CONFIG`.

Importing this module makes no request and reads no Connection or Variable; it reads only the
installed packages (their code, and the providers' metadata).
"""

from __future__ import annotations

# Airflow's side of a task process (loading the DAG file, running a TaskFlow task, the HITL operator)
# and the Slack provider (alerts and reports).
import airflow.dag_processing.dagbag
import airflow.providers.slack.hooks.slack_webhook
import airflow.providers.standard.decorators.python
import airflow.providers.standard.operators.hitl
import airflow.sdk.definitions.asset.metadata
import airflow.sdk.execution_time.cache
import airflow.sdk.execution_time.task_runner
import airflow.sdk.providers_manager_runtime

# The Facebook SDK (the hooks import it lazily, so the DAG file parses fast), and the object classes
# it imports while it parses a response.
import facebook_business.adobjects.ad
import facebook_business.adobjects.adpreview
import facebook_business.adobjects.adset
import facebook_business.adobjects.campaign
import facebook_business.adobjects.targeting
import facebook_business.adobjects.targetinggeolocation
import facebook_business.adobjects.targetinggeolocationregion
import facebook_business.api
import facebook_business.exceptions  # noqa: F401

# Jinja's extensions, which every task's template environment (the map-index label) loads.
import jinja2.ext  # noqa: F401

# CLOSRADS: what both DAG files import (the factory and the task declarations), what the tasks do when
# they run (the DAG files do not import that), and the registry's parser.
import closrads.airflow.dag_factory
import closrads.airflow.hooks.airflow_api
import closrads.airflow.hooks.closrtech
import closrads.airflow.hooks.facebook_ads
import closrads.airflow.rollback.run
import closrads.airflow.sync.approval
import closrads.airflow.sync.run
import closrads.core.campaigns
import closrads.core.messages  # noqa: F401

# An audit record is an asset event, and naming its asset makes the Task SDK discover every installed
# provider's asset URI handlers (reading their package metadata, importing their asset modules): about
# 11 ms of every writing task. Discovered once here, the task processes inherit the result.
airflow.sdk.providers_manager_runtime.ProvidersManagerTaskRuntime().initialize_providers_asset_uri_resources()

"""``make bench``'s yardstick: Airflow's own cost of one mapped task instance, doing nothing.

The same shape as ``closrads_sync``'s per-ad-set work (one step lists N items, one mapped instance
per item, labelled by ``map_index_template``, in the Graph pool, with an asset-alias outlet), minus
everything CLOSRADS does in it. Measured under the same scheduler, its wall time, CPU and
execution-API requests per instance are the floor the sync's per-ad-set figures are compared with.
Not a CLOSRADS DAG: the benchmark's private Airflow alone loads it.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import AssetAlias, dag, get_current_context, task


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, max_active_runs=1)
def bench_airflow_floor():
    @task
    def list_items() -> list[dict]:
        count = int(get_current_context()["dag_run"].conf["n"])
        return [{"id": str(i), "name": f"item {i}"} for i in range(count)]

    @task(map_index_template="{{ item_label }}", pool="closrads_graph", outlets=[AssetAlias("bench_floor")])
    def each_item(item: dict) -> None:
        get_current_context()["item_label"] = item["name"]

    each_item.expand(item=list_items())


bench_airflow_floor()

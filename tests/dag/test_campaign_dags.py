"""A campaign registry parses into one sync DAG and one rollback DAG per campaign, each with the whole
contract of ``closrads_sync``; a bad registry fails parsing with a message naming the entry and field."""

import json

import pytest

from tests.dag.test_dag_integrity import ROOT

REGISTRY = [
    {
        "slug": "veterans",
        "client": "acme",
        "closrtech_conn_id": "closrtech_veterans",
        "facebook_conn_id": "facebook_veterans",
        "ad_account_id": "act_111",
    },
    {
        "slug": "roofing",
        "client": "acme",
        "closrtech_conn_id": "closrtech_roofing",
        "facebook_conn_id": "facebook_roofing",
        "slack_conn_id": "slack_acme_roofing",
        "ad_account_id": "act_111",  # the same ad account as veterans: one pool for both
        "schedule": "30 14 * * *",
        "approval_threshold": 4,
    },
    {
        "slug": "solar",
        "client": "sunco",
        "description": "Solar leads, Texas only",
        "closrtech_conn_id": "closrtech_solar",
        "facebook_conn_id": "facebook_solar",
        "ad_account_id": "act_333",
        "enabled": False,
    },
]


def parse_dags():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def structure(dag) -> dict:
    """What a DAG is made of, without its names: tasks, dependencies, params, retries, trigger rules."""
    return {
        "downstream": {task.task_id: sorted(task.downstream_task_ids) for task in dag.tasks},
        "params": json.loads(json.dumps(dag.params.dump())),
        "tasks": {
            task.task_id: (type(task).__name__, task.trigger_rule, task.retries, task.map_index_template)
            for task in dag.tasks
        },
        "settings": (dag.catchup, dag.max_active_runs, dag.dagrun_timeout, dag.on_failure_callback),
    }


def test_a_registry_of_three_campaigns_parses_into_three_syncs_and_their_rollbacks(campaign_registry):
    default = parse_dags()
    campaign_registry(REGISTRY)
    bag = parse_dags()

    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == sorted(
        [f"closrads_sync__{c['slug']}" for c in REGISTRY] + [f"closrads_rollback__{c['slug']}" for c in REGISTRY]
    )
    for entry in REGISTRY:
        slug = entry["slug"]
        sync, rollback = bag.dags[f"closrads_sync__{slug}"], bag.dags[f"closrads_rollback__{slug}"]
        # the whole contract of closrads_sync and closrads_rollback, under the campaign's names
        assert structure(sync) == structure(default.dags["closrads_sync"])
        assert structure(rollback) == structure(default.dags["closrads_rollback"])
        pool = f"closrads_graph__{entry['ad_account_id']}"
        assert {t.task_id: t.pool for t in sync.tasks if t.pool != "default_pool"} == {
            "list_adsets": pool,
            "update_adset": pool,
            "measure_spend": pool,
            "report": pool,
        }
        assert rollback.get_task("rollback_adset").pool == pool
        alias = f"closrads_targeting_changes__{slug}"
        assert [o.name for o in sync.get_task("update_adset").outlets] == [alias]
        assert [o.name for o in rollback.get_task("rollback_adset").outlets] == [alias]
        for dag in (sync, rollback):
            assert {"closrads", f"campaign:{slug}", f"client:{entry['client']}"} <= set(dag.tags)
        assert f"closrads_dry_run__{slug}" in sync.doc_md and entry["closrtech_conn_id"] in sync.doc_md
        assert f"closrads_rollback__{slug}" in sync.doc_md  # where to undo a run
        assert f"closrads_sync__{slug}" in rollback.doc_md
        assert type(rollback.timetable).__name__ == "NullTimetable"

    assert bag.dags["closrads_sync__veterans"].timetable.expression == "0 13 * * *"
    assert bag.dags["closrads_sync__roofing"].timetable.expression == "30 14 * * *"
    assert "slack_acme_roofing" in bag.dags["closrads_sync__roofing"].doc_md
    assert "(default 4; 0: any change)" in bag.dags["closrads_sync__roofing"].doc_md
    solar = bag.dags["closrads_sync__solar"]
    assert type(solar.timetable).__name__ == "NullTimetable"  # disabled: no scheduled runs, history kept
    assert "disabled" in solar.tags and "Disabled in the campaign registry" in solar.doc_md
    assert solar.description == "Solar leads, Texas only"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda rows: rows.append(dict(rows[0], facebook_conn_id="fb_other")),
            "entries 1 and 4 ('veterans') both use slug 'veterans'",
        ),
        (lambda rows: rows[1].update(colour="blue"), "entry 2 ('roofing'): field 'colour': unknown field"),
        (
            lambda rows: rows[2].pop("closrtech_conn_id"),
            "entry 3 ('solar'): field 'closrtech_conn_id': missing (required)",
        ),
    ],
)
def test_a_bad_registry_fails_parsing_naming_the_entry(campaign_registry, change, message):
    rows = [dict(row) for row in REGISTRY]
    change(rows)
    path = campaign_registry(rows)

    bag = parse_dags()

    assert bag.dag_ids == []  # nothing half-registered
    assert sorted(bag.import_errors) == sorted(
        str(ROOT / "dags" / f) for f in ("closrads_rollback.py", "closrads_sync.py")
    )
    for error in bag.import_errors.values():
        assert f"RegistryError: {path}, {message}" in error


def test_a_task_process_builds_only_its_own_campaigns_dag(campaign_registry):
    """Airflow's parsing context names the DAG a task process parses the file for: the other campaigns'
    DAGs are not built, so a task costs the same with 30 campaigns as with one."""
    from airflow.sdk.definitions._internal.dag_parsing_context import _airflow_parsing_context_manager

    campaign_registry(REGISTRY)
    with _airflow_parsing_context_manager(dag_id="closrads_sync__roofing", task_id="update_adset"):
        bag = parse_dags()
    assert bag.import_errors == {}
    # the rollback file yields its roofing DAG too: a task process only ever parses its own DAG's file
    assert sorted(bag.dag_ids) == ["closrads_rollback__roofing", "closrads_sync__roofing"]

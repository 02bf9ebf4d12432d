"""docker-compose.yaml and Dockerfile, checked structurally (no Docker engine runs here).

Stands in for `docker compose config`: YAML with anchors and merge keys resolved, the services and
shared settings the production topology needs, the image pinned to requirements.txt's Airflow,
and every interpolated variable documented in .env.example.
"""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server --proxy-headers",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-worker": "celery worker",
    "airflow-triggerer": "triggerer",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def airflow_pin() -> str:
    return re.search(r"^apache-airflow==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)


def test_services(compose):
    assert set(compose["services"]) == {"postgres", "redis", "airflow-init", *AIRFLOW_SERVICES}
    for name, command in AIRFLOW_SERVICES.items():
        assert compose["services"][name]["command"] == command


def test_every_airflow_service_shares_the_common_settings(compose):
    common = compose["x-airflow-common"]
    for name in [*AIRFLOW_SERVICES, "airflow-init"]:
        service = compose["services"][name]
        assert service["image"] == common["image"], name
        assert service["volumes"] == common["volumes"], name
        for key, value in common["environment"].items():
            assert service["environment"][key] == value, f"{name}: {key}"


def test_celery_postgres_redis_wiring(compose):
    env = compose["x-airflow-common"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://airflow:")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres/airflow")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
    assert (
        env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
        and "@redis:6379" in env["AIRFLOW__CELERY__BROKER_URL"]
    )
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
    assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "true"
    assert "PYTHONPATH" not in env  # the image installs the closrads package instead
    for secret in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"):
        assert env[secret].startswith(f"${{{secret}:?"), f"{secret} must come from .env and be required"


def test_project_code_is_mounted(compose):
    mounts = {volume.rsplit(":", 1)[1] for volume in compose["x-airflow-common"]["volumes"]}
    assert {"/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/include"} <= mounts


def test_dependencies_and_healthchecks(compose):
    services = compose["services"]
    for name, service in services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
            else:
                assert rule["condition"] == "service_completed_successfully"
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"
    init_env = services["airflow-init"]["environment"]
    assert init_env["_AIRFLOW_DB_MIGRATE"] == "true" and init_env["_AIRFLOW_WWW_USER_CREATE"] == "true"


def test_image_is_built_from_the_dockerfile_pinned_to_requirements(compose):
    pin = airflow_pin()
    common = compose["x-airflow-common"]
    assert common["build"]["context"] == "."
    assert common["build"]["args"]["AIRFLOW_VERSION"] == pin
    assert pin in common["image"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"ARG AIRFLOW_VERSION={pin}" in dockerfile
    assert re.search(r"^FROM apache/airflow:\$\{AIRFLOW_VERSION\}-python", dockerfile, re.M)
    assert "pip install --no-cache-dir --require-hashes -r /opt/closrads/requirements.lock" in dockerfile
    assert "pip install --no-cache-dir --no-deps -e /opt/airflow" in dockerfile
    assert not re.search(r"^ENV PYTHONPATH", dockerfile, re.M)
    assert (
        "_PIP_ADDITIONAL_REQUIREMENTS"
        not in (ROOT / "docker-compose.yaml").read_text().replace("# Secrets", "").split("x-airflow-common", 1)[1]
    )


def test_every_interpolated_variable_is_documented_and_env_is_ignored():
    text = (ROOT / "docker-compose.yaml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))  # $${X} is a literal, not a variable
    documented = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    optional_with_default = {"AIRFLOW_PROJ_DIR", "CLOSRADS_IMAGE"}
    assert {"AIRFLOW_API_BIND", "FORWARDED_ALLOW_IPS", "AIRFLOW__FAB__COOKIE_SECURE"} <= documented
    assert used - documented - optional_with_default == set()
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    assert "env_file" in yaml.safe_load(text)["x-airflow-common"]


def test_resilience_settings(compose):
    """What keeps a fault from costing a person or many minutes (docs/design.md, "Infrastructure failures")."""
    services = compose["services"]
    for name in ["postgres", "redis", *AIRFLOW_SERVICES]:
        assert services[name]["restart"] == "always", f"{name} must come back after it exits"
    assert "--appendonly" in services["redis"]["command"] and "redis-data:/data" in services["redis"]["volumes"]
    assert "redis-data" in compose["volumes"]
    assert services["airflow-worker"]["stop_grace_period"] == "10m"  # a running update_adset is not cut
    env = compose["x-airflow-common"]["environment"]
    makefile = (ROOT / "Makefile").read_text()
    for key in (
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL",
        "AIRFLOW__WORKERS__MAX_FAILED_HEARTBEATS",
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT",
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL",
        "AIRFLOW__CORE__MAX_MAP_LENGTH",
    ):
        assert f"export {key} := {env[key]}\n" in makefile, f"the local Airflow must use the same {key}"
    assert int(env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"]) <= 120  # Airflow's default: 300
    assert int(env["AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT"]) <= 180  # Airflow's default: 600
    assert int(env["AIRFLOW__CORE__MAX_MAP_LENGTH"]) > 1024  # campaigns larger than Airflow's default
    init = "\n".join(services["airflow-init"]["command"])
    # tasks in a missing pool never run: one Graph pool per ad account of the registry, made at every start
    assert "python -m closrads.airflow.pools /tmp/closrads-pools.json" in init
    assert "airflow pools import /tmp/closrads-pools.json" in init


def test_the_api_server_serves_this_host_only_and_trusts_its_tls_proxy(compose):
    """Plain HTTP on the network by default was a finding: the UI and REST API listen on 127.0.0.1 unless
    the operator says otherwise, take the scheme from the TLS proxy in front, and the session cookie is Secure."""
    api = compose["services"]["airflow-apiserver"]
    assert api["ports"] == ["${AIRFLOW_API_BIND:-127.0.0.1}:8080:8080"]
    assert "--proxy-headers" in api["command"].split()
    assert api["environment"]["FORWARDED_ALLOW_IPS"] == "${FORWARDED_ALLOW_IPS:-127.0.0.1}"
    assert api["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"  # the common settings, merged
    assert (
        compose["x-airflow-common"]["environment"]["AIRFLOW__FAB__COOKIE_SECURE"]
        == "${AIRFLOW__FAB__COOKIE_SECURE:-true}"
    )


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_locked_package_is_pinned_with_its_hashes(lock):
    """Installs (make install, .ci/run, the image) use --require-hashes: a lock line without a hash fails them."""
    text = (ROOT / lock).read_text()
    pins = [line for line in text.splitlines() if re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*==", line)]
    assert len(pins) > 100
    assert all(line.endswith(" \\") for line in pins)  # each pin continues with its hashes
    assert text.count("--hash=sha256:") >= len(pins)


def test_only_the_api_server_and_the_dag_processor_are_given_the_connections(compose):
    """Per-service secrets: the Connections (token, password, webhook) live in connections.env, read by the API
    server (tasks get them through its execution API) and the DAG processor (failure callbacks); the deployment
    test gives them to those two processes alone and every run, alert and note still works."""
    with_connections = [{"path": ".env", "required": True}, {"path": "connections.env", "required": False}]
    for name, service in compose["services"].items():
        files = service.get("env_file") or []
        if name in ("airflow-apiserver", "airflow-dag-processor"):
            assert files == with_connections, name
        else:
            assert all("connections.env" not in str(f) for f in files), name
    assert "AIRFLOW_CONN_" not in (ROOT / ".env.example").read_text()
    assert "AIRFLOW_CONN_FACEBOOK_ADS_DEFAULT=" in (ROOT / "connections.env.example").read_text()
    assert "connections.env" in (ROOT / ".gitignore").read_text().split()

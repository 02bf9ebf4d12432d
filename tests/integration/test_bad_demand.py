"""CLOSRTECH answers that must never reach Facebook: the run aborts, nothing is written."""

import pytest

pytestmark = pytest.mark.integration


def assert_aborted_at(result, sandbox, step: str, message: str) -> None:
    assert result.state == "failed"
    assert result.task_states[step] == "failed"
    assert message in result.step_error(step)
    assert result.task_states["report"] == "failed"  # the report ran, delivered, and failed the run
    assert result.report["status"] == "aborted"
    assert "Nothing was changed on Facebook." in result.log
    assert sandbox.requests("graph") == []  # Facebook never called


@pytest.mark.parametrize(
    ("demand", "message"),
    [
        ({"OH": 0, "TX": 0, "FL": 0}, "demand 0 for all 3 states"),
        ({}, "no states at all (empty response {})"),
        ({"OH": 15, "TX": -2}, "demand for TX is negative (-2)"),
        ({"OH": 15, "TX": "lots"}, "demand for TX is 'lots', expected a whole number"),
        ("[]", "JSON list, expected an object"),
        ({f"Z{i:05d}": 1 for i in range(20_000)} | {"OH": 5}, "listed 20001 state codes"),
    ],
    ids=["all-zero", "empty", "negative", "non-numeric", "not-an-object", "enormous"],
)
def test_bad_demand_aborts_before_facebook(sandbox, run_dag, demand, message):
    sandbox.set_demand(demand)
    result = run_dag({"dry_run": False})
    assert_aborted_at(result, sandbox, "fetch_demand", message)
    assert len(sandbox.requests("closrtech")) == 1  # bad data is never retried


@pytest.mark.parametrize(
    "body",
    ["<html><head><title>Maintenance</title></head><body>Back soon</body></html>", '{"OH": 15, "TX": '],
    ids=["html-200", "truncated-json"],
)
def test_invalid_json_is_refused_after_exactly_one_request(sandbox, run_dag, body):
    sandbox.add_fault("closrtech", status=200, body=body)
    result = run_dag({"dry_run": False})
    assert_aborted_at(result, sandbox, "fetch_demand", "CLOSRTECH returned invalid JSON")
    assert len(sandbox.requests("closrtech")) == 1


def test_server_errors_are_retried_then_the_run_succeeds(sandbox, run_dag):
    sandbox.add_fault("closrtech", times=2, status=503, body="<html>Service Unavailable</html>")
    result = run_dag({"dry_run": False})
    assert result.state == "success"
    assert len(sandbox.requests("closrtech")) == 3
    assert "CLOSRTECH demand request failed (attempt 1 of 4)" in result.log
    assert "answered HTTP 503" in result.log


def test_retries_follow_the_4_8_16_second_schedule_then_airflow_retries_then_fail(sandbox, run_dag, retry_waits):
    sandbox.add_fault("closrtech", times=100, status=502, body="Bad Gateway")
    result = run_dag({"dry_run": False})

    # 3 Airflow tries (1 + 2 retries) of 4 attempts each: 1 + in-task retries after 4, 8, 16 s.
    assert len(sandbox.requests("closrtech")) == 3 * 4
    assert retry_waits == [4.0, 8.0, 16.0] * 3  # asked of the (instant, in tests) wait between attempts
    assert_aborted_at(result, sandbox, "fetch_demand", "answered HTTP 502")


def test_wrong_credentials_fail_at_once_with_a_clear_message(sandbox, run_dag):
    sandbox.set_credentials(password="rotated-by-the-vendor")
    result = run_dag({"dry_run": False})
    assert_aborted_at(result, sandbox, "fetch_demand", "rejected the credentials (HTTP 401)")
    assert len(sandbox.requests("closrtech")) == 1


def test_unknown_and_lowercase_codes(sandbox, run_dag):
    sandbox.set_demand({"oh": 5, " tx ": "3", "PR": 2, "GU": 1, "fl": 0})
    result = run_dag({"dry_run": False})

    assert result.state == "success"
    assert set(sandbox.targeted_states()["120215550000000001"]) == {"OH", "TX"}
    assert "Dropping 2 state code(s) with no Facebook region: GU, PR" in result.log
    assert result.report["unmapped_states"] == ["GU", "PR"]
    assert result.report["demand_states"] == ["GU", "OH", "PR", "TX"]


def test_nothing_mappable_aborts_before_facebook(sandbox, run_dag):
    sandbox.set_demand({"PR": 3, "GU": 2, "VI": 0})
    result = run_dag({"dry_run": False})
    assert_aborted_at(result, sandbox, "map_regions", "none of the demand states (GU, PR) has a Facebook region")
    assert result.task_states["list_adsets"] == "upstream_failed"

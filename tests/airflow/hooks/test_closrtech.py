"""ClosrtechHook against the sandbox over HTTP: the Connection, retries, refusals and secrets."""

import pytest

from closrads.airflow.hooks.closrtech import ClosrtechHook
from closrads.core.errors import ClosrtechRejected, ClosrtechUnavailable, ConnectionConfigError, DemandDataError
from sandbox import scenario
from tests.helpers import assert_no_secret, raised_text


def test_init_reads_nothing(monkeypatch):
    monkeypatch.setattr("closrads.airflow.hooks.connections.BaseHook.get_connection", pytest.fail)
    ClosrtechHook()  # the Connection is read on first use, never in __init__


def test_fetches_every_state_with_its_demand(sandbox):
    demand = ClosrtechHook().get_demand()
    assert demand == scenario.DEFAULT_DEMAND
    (call,) = sandbox.requests("closrtech")
    assert call["campaign"] == "VND_VETERAN_LEADS" and call["auth_ok"]


def test_transient_errors_are_retried_after_4_8_16_seconds(sandbox, retry_waits):
    sandbox.add_fault("closrtech", times=2, status=503, body="down")
    assert ClosrtechHook().get_demand()["OH"] == 15
    assert retry_waits == [4.0, 8.0]

    retry_waits.clear()
    sandbox.add_fault("closrtech", times=10, status=502, body="Bad Gateway")
    with pytest.raises(ClosrtechUnavailable, match="answered HTTP 502"):
        ClosrtechHook().get_demand()
    assert retry_waits == [4.0, 8.0, 16.0]
    assert len(sandbox.requests("closrtech")) == 3 + 4


def test_wrong_credentials_are_not_retried(sandbox, retry_waits):
    sandbox.set_credentials(password="rotated-by-the-vendor")
    with pytest.raises(ClosrtechRejected, match=r"rejected the credentials \(HTTP 401\).*closrtech_default"):
        ClosrtechHook().get_demand()
    assert retry_waits == [] and len(sandbox.requests("closrtech")) == 1


def test_bad_data_is_not_retried(sandbox, retry_waits):
    sandbox.add_fault("closrtech", status=200, body="<html>Maintenance</html>")
    with pytest.raises(DemandDataError, match="invalid JSON"):
        ClosrtechHook().get_demand()
    assert retry_waits == []


@pytest.mark.parametrize(
    ("field", "message"),
    [("password", "has no password"), ("login", "has no login"), ("host", "has no host")],
)
def test_missing_fields_are_named_before_any_request(sandbox, field, message):
    conn = {k: v for k, v in sandbox.connections["closrtech_default"].items() if k != field}
    sandbox.set_connection("closrtech_default", conn)
    with pytest.raises(ConnectionConfigError, match=f"Connection 'closrtech_default' {message}"):
        ClosrtechHook().get_demand()
    assert sandbox.requests("closrtech") == []


def test_failures_never_quote_the_password(sandbox):
    sandbox.set_connection(
        "closrtech_default", sandbox.connections["closrtech_default"] | {"host": "http://127.0.0.1:9"}
    )
    text = raised_text(lambda: ClosrtechHook().get_demand())
    assert "could not reach CLOSRTECH at http://127.0.0.1:9: [Errno 111] Connection refused" in text
    assert_no_secret(text, "a CLOSRTECH network error")

    sandbox.set_connection("closrtech_default", sandbox.connections["closrtech_default"])
    sandbox.add_fault("closrtech", times=4, status=500, body=f"error for pass={scenario.CLOSRTECH_PASSWORD}")
    text = raised_text(lambda: ClosrtechHook().get_demand())
    assert "answered HTTP 500" in text
    assert_no_secret(text, "a CLOSRTECH HTTP error")

    sandbox.add_fault("closrtech", status=200, body=f"<html>bad login {scenario.CLOSRTECH_PASSWORD}</html>")
    text = raised_text(lambda: ClosrtechHook().get_demand())
    assert "invalid JSON" in text
    assert_no_secret(text, "a CLOSRTECH data error that echoes the password")


def test_settings_repr_hides_the_password(sandbox):
    assert_no_secret(repr(ClosrtechHook().settings), "repr(ClosrtechSettings)")


def test_a_body_that_trickles_in_is_cut_at_the_attempt_deadline(sandbox, retry_waits):
    # every byte arrives well within requests' per-read timeout, the whole body only after 3 s
    sandbox.add_fault("closrtech", body='{"OH": 5, "TX": 3}', drip=0.15)
    assert ClosrtechHook(timeout=1.0).get_demand() == scenario.DEFAULT_DEMAND  # the second attempt
    assert retry_waits == [4.0]  # the first attempt was cut at 1 s, as transient


def test_the_deadline_error_names_the_timeout(sandbox):
    sandbox.add_fault("closrtech", times=4, body='{"OH": 5, "TX": 3}', drip=0.15)
    with pytest.raises(ClosrtechUnavailable, match=r"did not finish answering within 0\.5 s"):
        ClosrtechHook(timeout=0.5).get_demand()


def test_an_absurdly_large_body_is_refused_without_retry(sandbox, retry_waits):
    sandbox.add_fault("closrtech", status=200, body='{"OH": 5, "X": "' + "x" * 1_200_000 + '"}')
    with pytest.raises(DemandDataError, match="larger than 1 MB"):
        ClosrtechHook().get_demand()
    assert retry_waits == []


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            {"cut": 20, "body": '{"OH": 15, "TX": 4, "FL": 0, "CA": 7}'},
            "sent an answer that ended after 20 bytes, before the length it announced; refusing it",
        ),
        ({"content_encoding": "gzip", "body": '{"OH": 15}'}, "sent a body that cannot be decoded"),
        ({"status": 200, "content_type": "application/json", "body": "[" * 50_000 + "]" * 50_000}, "nested too deep"),
    ],
)
def test_broken_bodies_fail_as_bad_data_once_with_a_clear_message(sandbox, retry_waits, fault, message):
    sandbox.add_fault("closrtech", **fault)
    with pytest.raises(DemandDataError, match=message) as refused:
        ClosrtechHook().get_demand()
    assert retry_waits == [] and len(sandbox.requests("closrtech")) == 1  # bad data: never retried
    assert_no_secret(raised_text(lambda: (_ for _ in ()).throw(refused.value)), "the error")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"host": "http://closrtech.example.com"}, ": its host is not https \\(http:// to a host\\)"),
        ({"host": "http://10.0.0.7:8080"}, ": its host is not https"),
        ({"host": "ftp://127.0.0.1"}, ": its host is not https \\(ftp://"),
        ({"password": "abcd"}, " has a password of fewer than 5 characters"),
    ],
)
def test_the_password_never_travels_in_clear_nor_unmaskable(sandbox, change, message):
    sandbox.set_connection("closrtech_default", sandbox.connections["closrtech_default"] | change)
    with pytest.raises(ConnectionConfigError, match=f"Connection 'closrtech_default'{message}"):
        ClosrtechHook().get_demand()
    assert sandbox.requests("closrtech") == []  # refused before any request


def test_http_to_this_machine_is_the_sandbox_and_allowed(sandbox):
    local = sandbox.connections["closrtech_default"]["host"].replace("127.0.0.1", "localhost")
    sandbox.set_connection("closrtech_default", sandbox.connections["closrtech_default"] | {"host": local})
    assert ClosrtechHook().get_demand()["OH"] == 15


def test_the_connection_test_asks_closrtech_once_and_says_what_it_found(sandbox):
    ok, message = ClosrtechHook().test_connection()
    assert ok and message == "CLOSRTECH answered for campaign VND_VETERAN_LEADS: 37 of 51 states want leads"
    assert len(sandbox.requests("closrtech")) == 1


def test_the_connection_test_names_what_is_wrong_without_the_secret(sandbox):
    from sandbox import scenario

    sandbox.set_credentials(password="another-password-9")
    ok, message = ClosrtechHook().test_connection()
    assert not ok and "rejected the credentials (HTTP 401)" in message
    assert scenario.CLOSRTECH_PASSWORD not in message and len(sandbox.requests("closrtech")) == 1  # no retries


@pytest.mark.parametrize("conn_type", ["closrtech", "http"])
@pytest.mark.parametrize("shape", ["url", "host and port fields"])
def test_every_shape_of_the_connection_reaches_closrtech(sandbox, conn_type, shape):
    conn = sandbox.connections["closrtech_default"] | {"conn_type": conn_type}
    if shape == "host and port fields":  # as the form or `airflow connections add --conn-port` keeps it
        host, port = conn["host"].removeprefix("http://").rsplit(":", 1)
        conn |= {"host": host, "port": int(port), "schema": "http"}
    sandbox.set_connection("closrtech_default", conn)
    assert ClosrtechHook().get_demand() == scenario.DEFAULT_DEMAND

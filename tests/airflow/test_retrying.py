import logging

import pytest

from closrads.airflow.retrying import call_with_backoff
from closrads.core.errors import ClosradsError, ClosrtechUnavailable

log = logging.getLogger(__name__)


def failing(errors: list[Exception]):
    def call():
        if errors:
            raise errors.pop(0)
        return "ok"

    return call


def test_transient_errors_are_retried_on_the_schedule(retry_waits, caplog):
    call = failing([ClosrtechUnavailable("down"), ClosrtechUnavailable("down")])
    assert call_with_backoff(call, delays=(4.0, 8.0, 16.0), what="demand", log=log) == "ok"
    assert retry_waits == [4.0, 8.0]
    assert "demand failed (attempt 1 of 4): down; retrying in 4 s" in caplog.text


def test_gives_up_after_the_last_delay(retry_waits):
    call = failing([ClosrtechUnavailable("down")] * 10)
    with pytest.raises(ClosrtechUnavailable):
        call_with_backoff(call, delays=(5.0, 10.0, 20.0), what="x", log=log)
    assert retry_waits == [5.0, 10.0, 20.0]


@pytest.mark.parametrize("error", [ClosradsError("bad data"), ValueError("a bug")])
def test_other_errors_are_not_retried(retry_waits, error):
    with pytest.raises(type(error)):
        call_with_backoff(failing([error]), delays=(4.0,), what="x", log=log)
    assert retry_waits == []

import pytest

from closrads.core.graph_errors import is_transient


@pytest.mark.parametrize("code", [1, 2, 4, 17, 341, 613, 80000, 80004, 80014])
def test_transient_codes(code):
    assert is_transient(code)


@pytest.mark.parametrize("code", [10, 100, 190, 200, 299, 80015])
def test_permanent_codes(code):
    assert not is_transient(code)


def test_is_transient_flag_and_bare_gateway_errors():
    assert is_transient(100, flagged_transient=True)
    assert is_transient(None, http_status=502)
    assert is_transient(None, http_status=429)
    assert not is_transient(None, http_status=404)

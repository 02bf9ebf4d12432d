"""How a Graph answer becomes a result or a :class:`GraphError` whose message an operator can act on.

The ``facebook-business`` SDK counts a body that is not JSON as a success and raises its own
exception types, whose text may carry the request; :class:`~closrads.airflow.hooks.facebook_ads.FacebookAdsHook`
installs :func:`reject_non_graph_errors` as a response hook and turns every SDK error into a
:class:`GraphError` with :func:`graph_error`: Meta's code, subcode and message (masked), whether
waiting helps, how long Meta asks to wait, never the token.
"""

from __future__ import annotations

import re

from closrads.airflow.masking import redacted
from closrads.core.errors import GraphError, InvalidAccessToken
from closrads.core.graph_errors import INVALID_TOKEN_CODE, blamed_field, is_transient
from closrads.core.graph_usage import parse_usage, throttle_wait

# Meta's answer when it served another version than the one asked for (an ended version, upgraded).
VERSION_WARNING_HEADER = "x-ad-api-version-warning"
SERVED_VERSION_HEADER = "facebook-api-version"
_VERSION = re.compile(r"^v\d{1,3}\.\d{1,3}$")


def served_instead(headers, asked: str) -> str | None:
    """The Graph API version Meta answered with when it is not the one ``asked`` for (its version header
    differs, or its version-warning header says it upgraded the call); ``None`` otherwise. Only a
    version is taken from the headers, never their text."""
    served = str(headers.get(SERVED_VERSION_HEADER) or "").strip()
    if _VERSION.match(served) and served != asked:
        return served
    return "another version" if VERSION_WARNING_HEADER in headers and served != asked else None


class NonGraphHttpError(Exception):
    """An HTTP answer that is not Graph's: no JSON body, or an error status without a Graph error."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def reject_non_graph_errors(response, *args, **kwargs):
    """``requests`` response hook: a body that is not JSON (a gateway's HTML page, whatever its status)
    and an HTTP error without a Graph JSON error body must fail the call. The SDK alone counts a
    non-JSON body as a success."""
    try:
        body = response.json()
    except ValueError:
        raise NonGraphHttpError(response.status_code) from None
    if response.status_code >= 400 and not (isinstance(body, dict) and "error" in body):
        raise NonGraphHttpError(response.status_code)
    return response


def graph_error(exc, what: str, conn_id: str) -> GraphError:
    """The SDK's ``FacebookRequestError`` for the call ``what`` as a clean :class:`GraphError`."""
    code = exc.api_error_code()
    message = redacted(exc.api_error_message() or "no error message")
    status = exc.http_status()
    body = exc.body()
    if code is None and isinstance(body, dict) and "error" not in body:
        # {"success": false}: Graph neither confirmed the change nor said why
        return GraphError(f"{what}: Graph answered HTTP {status} without confirming it (no success, no error)")
    if code is None and not isinstance(body, dict):
        detail = f"HTTP {status} with a body that is not Graph JSON"
    else:
        detail = f"Graph error {code}"
        if exc.api_error_subcode():
            detail += f"/{exc.api_error_subcode()}"
        detail += f" (HTTP {status}): {message}"
    if code == INVALID_TOKEN_CODE:
        return InvalidAccessToken(
            f"{what}: the access token was rejected by Facebook ({detail}); put a valid System User "
            f"token in the password of Connection '{conn_id}'",
            code=code,
        )
    transient = is_transient(code, flagged_transient=bool(exc.api_transient_error()), http_status=status)
    wait = throttle_wait(code, parse_usage(exc.http_headers()))
    if wait is not None:
        detail += f" (rate limited: Meta needs about {wait:g} s before the next call)"
    blamed = blamed_field(body.get("error")) if isinstance(body, dict) else None
    return GraphError(f"{what}: {detail}", code=code, transient=transient, retry_after=wait, blamed_field=blamed)


def refused_field_not_ours(error: GraphError, adset_id: str) -> GraphError:
    """A targeting write Meta refused because of a field CLOSRADS does not change (a value Meta has since
    retired, say): said so, for a person to fix in Ads Manager. CLOSRADS never strips or changes it."""
    return GraphError(
        f"Meta refused the targeting of ad set {adset_id} because of {error.blamed_field}, a field CLOSRADS does "
        f"not change (only the US regions); CLOSRADS leaves it as it is: fix it in Ads Manager, then clear this "
        f"ad set's task. Meta said: {error}",
        code=error.code,
        blamed_field=error.blamed_field,
    )

"""Keep secrets out of every message CLOSRADS produces.

The CLOSRTECH password travels in a query string and the Facebook token in every Graph request,
so library exceptions routinely carry them (a ``requests`` error quotes the full URL). Airflow
masks connection secrets in task logs, but exception texts also reach XCom and Slack, so each
hook scrubs its own secrets from any text it lets out.
"""

from __future__ import annotations

from urllib.parse import quote, quote_plus

MASK = "***"


def scrub(text: object, *secrets: str | None) -> str:
    """``text`` with every secret (and its URL-encoded forms) replaced by ``***``."""
    result = str(text)
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            result = result.replace(form, MASK)
    return result

"""Keep secrets out of everything CLOSRADS lets out, with one mechanism: Airflow's secrets masker.

- :func:`mask_secret_forms` registers a secret, where its Connection is read, in every form it can
  travel in (raw, URL-encoded either way, HTML-escaped).
- Text that leaves a task (XCom, Slack, exception messages) goes through Airflow's ``redact``, and
  the value of a secret-bearing query parameter (``pass``, ``access_token``) is scrubbed by name too.
- Task logs written by Airflow's supervisor are masked by Airflow. The console of ``airflow dags
  test`` (and ``dag.test()``) is not: Airflow applies no masking there. The request lines urllib3
  logs at DEBUG quote the CLOSRTECH password and the Graph token, and slack_sdk logs the webhook URL,
  so those loggers (:func:`masked_logger`) pass their records through the same masker.
"""

from __future__ import annotations

import html
import logging
import re
from urllib.parse import quote, quote_plus

from airflow.sdk.log import mask_secret, redact

# urllib3 logs every request line, query string included, at DEBUG.
REQUEST_LINE_LOGGER = "urllib3.connectionpool"


def mask_secret_forms(secret: str | None) -> None:
    """Register a secret with Airflow's secrets masker in every form it can travel in.

    Airflow masks a Connection's password as it is, but the CLOSRTECH password and the Graph token
    travel in query strings and form bodies (URL-encoded, ``+`` or ``%20`` for a space), and a vendor
    error page may echo them HTML-escaped.
    """
    if not secret:
        return
    masked_logger(REQUEST_LINE_LOGGER)
    for value in {secret, secret.strip()}:  # the hooks send the stripped value
        for form in {
            value,
            quote(value, safe=""),
            quote(value),
            quote_plus(value),
            html.escape(value),
            html.escape(value, quote=False),
        }:
            mask_secret(form)


# Query parameters that carry a secret in CLOSRADS's requests (CLOSRTECH's ``pass``, Graph's
# ``access_token``): scrubbed by name as well, so even a value the masker does not know (too short to
# register, or not read through a Connection) never shows in a request line or an error.
_SECRET_QUERY_VALUE = re.compile(r"(?<=[?&])(pass|password|access_token|token)=[^&\s\"'#]*", re.IGNORECASE)


def redacted(text: object) -> str:
    """``text`` as a string with every registered secret, and every secret query parameter's value,
    replaced by ``***``."""
    return _SECRET_QUERY_VALUE.sub(r"\1=***", str(redact(str(text))))


class _MaskRecords(logging.Filter):
    """Pass a log record through Airflow's masker before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redacted(record.getMessage()), None
        return True


def masked_logger(name: str) -> logging.Logger:
    """The stdlib logger ``name``, whose records are masked (the filter is added once per process)."""
    logger = logging.getLogger(name)
    if not any(isinstance(existing, _MaskRecords) for existing in logger.filters):
        logger.addFilter(_MaskRecords())
    return logger

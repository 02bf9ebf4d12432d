"""Keep request URLs out of the logs.

Both APIs carry a secret in the query string (CLOSRTECH's ``pass``, Graph's ``access_token``),
and urllib3 logs every request line, query string included, at DEBUG. Airflow masks connection
secrets in task logs, but an operator who turns on DEBUG logging should not have to rely on that
alone, so the hooks raise urllib3's request logger to INFO before they make a request.
"""

from __future__ import annotations

import logging

_REQUEST_LOGGER = "urllib3.connectionpool"


def keep_urls_out_of_logs() -> None:
    logger = logging.getLogger(_REQUEST_LOGGER)
    if logger.getEffectiveLevel() < logging.INFO:
        logger.setLevel(logging.INFO)

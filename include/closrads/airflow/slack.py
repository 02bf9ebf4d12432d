"""Deliver CLOSRADS messages to Slack through the official Slack provider's webhook hook.

Slack is optional and secondary: without the ``closrads_slack`` Connection it is simply off, and
a Slack failure (HTTP error, timeout, refused connection, malformed URL) is a logged warning that
never changes the run's result. The webhook URL is a secret: its path is registered with Airflow's
secrets masker next to the URL itself, so neither slack_sdk's own log lines nor a warning show it
(see :mod:`closrads.airflow.masking`).
"""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

from airflow.sdk import BaseHook, conf
from airflow.sdk.exceptions import AirflowNotFoundException

from closrads.airflow.masking import mask_secret_forms, masked_logger, redacted

log = logging.getLogger(__name__)

SLACK_TIMEOUT_SECONDS = 15  # default; the Connection's extra "timeout" overrides it
DEFAULT_UI_URL = "http://localhost:8080"
_CLIENT_LOG = f"{__name__}.client"


def post_to_slack(text: str, blocks: list[dict], *, what: str, conn_id: str | None) -> bool | None:
    """Post one message through Connection ``conn_id`` (a campaign's; ``None``: it has no Slack).
    ``True`` delivered, ``False`` failed (warning logged), ``None`` Slack is off."""
    if conn_id is None:
        return None
    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
    mask_webhook(conn.password)
    try:
        from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

        timeout = int(conn.extra_dejson.get("timeout") or SLACK_TIMEOUT_SECONDS)
        # slack_sdk logs the webhook URL (DEBUG request lines, ERROR for a malformed URL) to the logger
        # it is given: a masked one.
        hook = SlackWebhookHook(slack_webhook_conn_id=conn_id, timeout=timeout, logger=masked_logger(_CLIENT_LOG))
        hook.send(text=text, blocks=blocks)
    except Exception as exc:  # noqa: BLE001 - any Slack problem is a warning, never the run's result
        failure = redacted(f"{type(exc).__name__}: {exc}")[:500]
    else:
        failure = None
    # Logged outside the except block: a failing log handler would otherwise print the original
    # exception as the context of its own error.
    if failure is not None:
        log.warning("Slack: could not post the %s (the run's result is unaffected): %s", what, failure)
        return False
    log.info("Slack: posted the %s", what)
    return True


def mask_webhook(webhook: str | None) -> None:
    """The webhook URL (or token) and, for a URL, its path: the secret part of a Slack webhook.

    The host (hooks.slack.com) is not a secret and stays readable.
    """
    if not webhook:
        return
    mask_secret_forms(webhook)
    path = urlsplit(webhook).path.strip("/")
    if path and path != webhook:
        mask_secret_forms(path)


def airflow_ui_url() -> str:
    """The Airflow UI's public address, from Airflow's own ``[api] base_url``."""
    return (conf.get("api", "base_url", fallback=None) or DEFAULT_UI_URL).rstrip("/")


def run_url(dag_id: str, run_id: str) -> str:
    return f"{airflow_ui_url()}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def task_log_url(dag_id: str, run_id: str, task_id: str, map_index: int | None) -> str:
    url = f"{run_url(dag_id, run_id)}/tasks/{quote(task_id, safe='')}"
    if map_index is not None and map_index >= 0:
        url += f"/mapped/{map_index}"
    return url

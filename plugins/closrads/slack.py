"""Deliver CLOSRADS messages to Slack through the official Slack provider's webhook hook.

Slack is optional and secondary: without the ``closrads_slack`` Connection it is simply off, and
a Slack failure (HTTP error, timeout, refused connection, malformed URL) is a logged warning that
never changes the run's result. The webhook URL is a secret and never appears in a warning.
"""

from __future__ import annotations

import logging
import traceback
from urllib.parse import quote, urlsplit

from airflow.sdk import BaseHook, conf
from airflow.sdk.exceptions import AirflowNotFoundException

from include.redaction import scrub

log = logging.getLogger(__name__)
client_log = logging.getLogger(f"{__name__}.client")

SLACK_CONN_ID = "closrads_slack"
SLACK_TIMEOUT_SECONDS = 15  # default; the Connection's extra "timeout" overrides it
DEFAULT_UI_URL = "http://localhost:8080"


def post_to_slack(text: str, blocks: list[dict], *, what: str) -> bool | None:
    """Post one message. ``True`` delivered, ``False`` failed (warning logged), ``None`` Slack is off."""
    try:
        conn = BaseHook.get_connection(SLACK_CONN_ID)
    except AirflowNotFoundException:
        return None
    secrets = _webhook_secrets(conn.password)  # the host (hooks.slack.com) is not a secret
    try:
        from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

        timeout = int(conn.extra_dejson.get("timeout") or SLACK_TIMEOUT_SECONDS)
        # slack_sdk logs the webhook URL (DEBUG request lines; ERROR for a malformed URL), so
        # the client gets a logger of ours that scrubs it.
        scrubber = _ScrubSecrets(secrets)
        client_log.addFilter(scrubber)
        try:
            hook = SlackWebhookHook(slack_webhook_conn_id=SLACK_CONN_ID, timeout=timeout, logger=client_log)
            hook.send(text=text, blocks=blocks)
        finally:
            client_log.removeFilter(scrubber)
    except Exception as exc:  # noqa: BLE001 - any Slack problem is a warning, never the run's result
        failure = scrub(f"{type(exc).__name__}: {exc}", *secrets)[:500]
    else:
        failure = None
    # Logged outside the except block: a failing log handler would otherwise print the original
    # exception (which may quote the webhook URL) as the context of its own error.
    if failure is not None:
        log.warning("Slack: could not post the %s (the run's result is unaffected): %s", what, failure)
        return False
    log.info("Slack: posted the %s", what)
    return True


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


class _ScrubSecrets(logging.Filter):
    """Replace the webhook URL in any record logged through the Slack hook's logger."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:  # the traceback may quote the URL too: render it here, scrubbed
            message += "\n" + "".join(traceback.format_exception(*record.exc_info))
            record.exc_info, record.exc_text = None, None
        record.msg, record.args = scrub(message, *self.secrets), None
        return True


def _webhook_secrets(password: str | None) -> list[str]:
    """The webhook URL (or token) and, for a URL, its path: the secret part of a Slack webhook."""
    if not password:
        return []
    path = urlsplit(password).path.strip("/")
    return [password, path] if path and path != password else [password]

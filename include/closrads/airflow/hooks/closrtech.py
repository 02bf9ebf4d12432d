"""Hook for CLOSRTECH's ``demand.php``: how many leads the vendor still wants per US state."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property

from airflow.sdk import BaseHook

from closrads.airflow.hooks.bodies import BodyBroken, BodyProblem, BodyTooLarge, BodyTooSlow, read_bounded
from closrads.airflow.hooks.connections import base_url, extras, load_connection, require, require_https, require_secret
from closrads.airflow.masking import mask_secret_forms, redacted
from closrads.airflow.provider import CLOSRTECH_CONN_TYPE
from closrads.airflow.retrying import CLOSRTECH_BACKOFF, call_with_backoff
from closrads.core.demand import parse_demand
from closrads.core.errors import ClosradsError, ClosrtechRejected, ClosrtechUnavailable, DemandDataError, network_reason

# A real answer is a few KB (51 states); anything near this is not demand.
MAX_BODY_BYTES = 1_000_000


@dataclass(frozen=True)
class ClosrtechSettings:
    base_url: str
    email: str
    password: str
    campaign: str

    def __repr__(self) -> str:  # never print the password, even in a debugger or a traceback
        return f"ClosrtechSettings(base_url={self.base_url!r}, email={self.email!r}, campaign={self.campaign!r})"


class ClosrtechHook(BaseHook):
    """Fetch CLOSRTECH demand with in-task retries of transient failures.

    The password travels in the query string (CLOSRTECH's design, not ours): the hook registers it
    in every encoding with Airflow's secrets masker as soon as it reads the Connection, and never
    lets a URL, a ``requests`` exception text, a response body or the settings object into an error.

    :param closrtech_conn_id: a CLOSRTECH Connection (or an ``http`` one): host = base URL, login = account email,
        password = account password, extra ``{"campaign": "VND_VETERAN_LEADS"}``.
    :param timeout: seconds per HTTP attempt, the whole body included.
    """

    conn_name_attr = "closrtech_conn_id"
    default_conn_name = "closrtech_default"
    conn_type = CLOSRTECH_CONN_TYPE  # registered by closrads.airflow.provider; http Connections work too
    hook_name = "CLOSRTECH"

    def __init__(self, closrtech_conn_id: str = default_conn_name, timeout: float = 30.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.closrtech_conn_id = closrtech_conn_id
        self.timeout = timeout

    @cached_property
    def settings(self) -> ClosrtechSettings:
        conn = load_connection(
            self.closrtech_conn_id,
            'type CLOSRTECH, host = CLOSRTECH base URL, login = email, password, extra {"campaign": "..."}',
        )
        mask_secret_forms(conn.password)
        host = require(conn, conn.host, "host", "the CLOSRTECH base URL, e.g. https://api.closrtech.com")
        return ClosrtechSettings(
            base_url=require_https(conn, base_url(conn, host, "https"), "host"),
            email=require(conn, conn.login, "login", "the CLOSRTECH account email"),
            password=require_secret(conn, conn.password, "password", "the CLOSRTECH account password"),
            campaign=require(conn, extras(conn).get("campaign"), 'extra "campaign"', "the CLOSRTECH campaign code"),
        )

    def test_connection(self) -> tuple[bool, str]:
        """Airflow's Connection *Test*: one authenticated demand request, no retries. The message says what
        is wrong (the field, the answer), never a secret."""
        try:
            demand = parse_demand(self._request_demand())
        except ClosradsError as exc:
            return False, redacted(str(exc))
        wanted = sum(1 for value in demand.values() if value)
        return (
            True,
            f"CLOSRTECH answered for campaign {self.settings.campaign}: {wanted} of {len(demand)} states want leads",
        )

    def get_demand(self) -> dict[str, int]:
        """Every state CLOSRTECH lists with its validated demand (zeros included).

        Raises :class:`~closrads.core.errors.DemandDataError` for bad data (never retried),
        :class:`ClosrtechRejected` for 4xx answers, :class:`ClosrtechUnavailable` once retries
        of network errors, timeouts and 5xx/429 are exhausted.
        """
        _ = self.settings  # validates the Connection (and masks its secrets) before any network call
        body = call_with_backoff(
            self._request_demand, delays=CLOSRTECH_BACKOFF, what="CLOSRTECH demand request", log=self.log
        )
        return parse_demand(body)

    def _request_demand(self) -> str:
        import requests  # heavy; imported when a task runs, never when the DAG file is parsed

        settings = self.settings
        where = f"CLOSRTECH at {settings.base_url}"
        started = time.monotonic()
        try:
            response = requests.get(
                f"{settings.base_url}/demand.php",
                params={"campaign": settings.campaign, "email": settings.email, "pass": settings.password},
                timeout=self.timeout,
                headers={"Accept": "application/json"},
                stream=True,  # the body is read below, against a deadline and a size cap
            )
            with response:
                self._check_status(response.status_code, where)
                body = self._read_body(response, started, where)
        except requests.Timeout:
            raise ClosrtechUnavailable(f"{where} did not answer within {self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise ClosrtechUnavailable(f"could not reach {where}: {network_reason(exc)}") from None
        return body.decode("utf-8", errors="replace")  # JSON is UTF-8 (RFC 8259), whatever the header says

    def _read_body(self, response, started: float, where: str) -> bytes:
        """The body, within a size cap and the attempt's deadline (:mod:`closrads.airflow.hooks.bodies`)."""
        try:
            return read_bounded(response, max_bytes=MAX_BODY_BYTES, deadline=started + self.timeout)
        except BodyTooLarge:
            raise DemandDataError(
                f"{where} sent a body larger than {MAX_BODY_BYTES // 1_000_000} MB (a real answer is a few KB); "
                "refusing it"
            ) from None
        except BodyTooSlow:
            raise ClosrtechUnavailable(f"{where} did not finish answering within {self.timeout:g} s") from None
        except BodyBroken as exc:
            if exc.silent:
                raise ClosrtechUnavailable(f"{where} went silent in the middle of its answer") from None
            raise ClosrtechUnavailable(f"{where} sent {exc}") from None
        except BodyProblem as exc:  # cut short, or not decodable: bad data, never retried
            raise DemandDataError(f"{where} sent {exc}; refusing it") from None

    def _check_status(self, status: int, where: str) -> None:
        if status >= 500 or status == 429:
            raise ClosrtechUnavailable(f"{where} answered HTTP {status}")
        if status in (401, 403):
            raise ClosrtechRejected(
                f"{where} rejected the credentials (HTTP {status}); check the login and password "
                f"of Connection '{self.closrtech_conn_id}'"
            )
        if status >= 400:
            raise ClosrtechRejected(
                f"{where} answered HTTP {status} for demand.php (campaign {self.settings.campaign!r}); "
                f"check the host and campaign of Connection '{self.closrtech_conn_id}'"
            )

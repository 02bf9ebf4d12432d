"""Hook for the Facebook Marketing API (Graph), through Meta's official ``facebook-business`` SDK.

The Airflow Facebook provider only covers insights reporting and initialises the SDK's global
default API, so CLOSRADS keeps its own small hook: one ``FacebookAdsApi`` object per hook (never
``FacebookAdsApi.init()``, which sets a process-wide default and installs a crash reporter), a
timeout on every request, and errors translated into messages that never carry the token.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from closrads.airflow import retrying
from closrads.airflow.hooks.bodies import BodyProblem, read_bounded
from closrads.airflow.hooks.connections import extras, load_connection, require, require_https, require_secret
from closrads.airflow.hooks.graph_listing import all_listing_pages
from closrads.airflow.hooks.graph_responses import (
    NonGraphHttpError,
    graph_error,
    refused_field_not_ours,
    reject_non_graph_errors,
    served_instead,
)
from closrads.airflow.masking import mask_secret_forms, redacted
from closrads.airflow.provider import FACEBOOK_ADS_CONN_TYPE
from closrads.airflow.retrying import GRAPH_BACKOFF, call_with_backoff
from closrads.core.api_versions import VersionClock, version_clock
from closrads.core.errors import ClosradsError, ConnectionConfigError, GraphError, network_reason
from closrads.core.graph_errors import is_transient, outside_regions
from closrads.core.graph_usage import GraphUsage, parse_usage
from closrads.core.learning_state import LearningState

if TYPE_CHECKING:
    from facebook_business.api import FacebookAdsApi


# "v26.0", "26.0", "26": the Graph API version, normalised to "v26.0".
_API_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?$")
DEFAULT_GRAPH_URL = "https://graph.facebook.com"
# targeting too: a live run plans every change from the listing before the change guard decides; and
# Meta's learning state, which the same call returns at no extra request (closrads.core.learning_state).
LISTING_FIELDS = ("id", "name", "effective_status", "account_id", "targeting", "learning_stage_info")
# A listing page of 100 ad sets with their targeting is well under 2 MB; a body past this is not Graph's.
MAX_GRAPH_BODY_BYTES = 16_000_000
READ_FIELDS = ("id", "name", "effective_status", "targeting")


@dataclass(frozen=True)
class FacebookSettings:
    access_token: str
    ad_account_id: str  # "act_..."
    campaign_id: str
    api_version: str
    graph_url: str

    def __repr__(self) -> str:  # never print the token
        return (
            f"FacebookSettings(ad_account_id={self.ad_account_id!r}, campaign_id={self.campaign_id!r}, "
            f"api_version={self.api_version!r}, graph_url={self.graph_url!r})"
        )

    def clock(self, today=None) -> VersionClock:
        """What Meta's announced dates say of this Connection's API version today (UTC)."""
        return version_clock(self.api_version, today or datetime.now(UTC).date())


class FacebookAdsHook(BaseHook):
    """List a campaign's ad sets and read/replace their targeting.

    :param facebook_conn_id: a Facebook Ads (CLOSRADS) Connection (or a ``generic`` one): password =
        System User access token, extra ``{"ad_account_id": "act_...", "campaign_id": "...", "api_version": "v26.0",
        "graph_url": "https://graph.facebook.com"}`` (the last two optional; the version defaults to
        the pinned facebook-business SDK's own).
    :param timeout: seconds per HTTP request.
    :param ad_account_id: the ad account the campaign registry says this Connection is for; the
        Connection's ``ad_account_id`` may then be left out, and one that differs is refused (a
        Connection pasted from another client must not write to that client's account).
    """

    conn_name_attr = "facebook_conn_id"
    default_conn_name = "facebook_ads_default"
    conn_type = FACEBOOK_ADS_CONN_TYPE  # registered by closrads.airflow.provider; generic Connections work too
    hook_name = "Facebook Ads (CLOSRADS)"

    def __init__(
        self,
        facebook_conn_id: str = default_conn_name,
        timeout: float = 60.0,
        ad_account_id: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.facebook_conn_id = facebook_conn_id
        self.timeout = timeout
        self.ad_account_id = ad_account_id
        self.usage: GraphUsage | None = None  # from the usage headers of the last Graph answer
        self.served_version: str | None = None  # set when Meta answered with another version than asked

    @cached_property
    def settings(self) -> FacebookSettings:
        conn = load_connection(
            self.facebook_conn_id,
            'type Facebook Ads (CLOSRADS), password = System User access token, extra {"ad_account_id": "act_...", '
            '"campaign_id": "..."}',
        )
        mask_secret_forms(conn.password)
        extra = extras(conn)
        configured = extra.get("ad_account_id") or self.ad_account_id
        account = require(conn, configured, 'extra "ad_account_id"', "the ad account, act_...")
        if not account.startswith("act_"):
            account = f"act_{account}"
        if self.ad_account_id and account != self.ad_account_id:
            raise ConnectionConfigError(
                f"Airflow Connection '{self.facebook_conn_id}' is for ad account {account[:40]}, but the campaign "
                f"registry says {self.ad_account_id}; fix whichever is wrong"
            )
        return FacebookSettings(
            access_token=require_secret(conn, conn.password, "password", "the System User access token"),
            ad_account_id=account,
            campaign_id=require(conn, extra.get("campaign_id"), 'extra "campaign_id"', "the Facebook campaign id"),
            api_version=self._api_version(extra.get("api_version")),
            graph_url=require_https(
                conn, str(extra.get("graph_url") or DEFAULT_GRAPH_URL).strip().rstrip("/"), 'extra "graph_url"'
            ),
        )

    def _api_version(self, configured: object) -> str:
        """The configured Graph API version (``24.0`` reads as ``v24.0``), by default the pinned SDK's own."""
        if configured is None or not str(configured).strip():
            from facebook_business import apiconfig

            return str(apiconfig.ads_api_config["API_VERSION"])
        match = _API_VERSION.match(str(configured).strip())
        if not match:
            raise ConnectionConfigError(
                f"Airflow Connection '{self.facebook_conn_id}' has an unreadable extra \"api_version\" "
                f"({str(configured)[:40]!r}); use the form v26.0, or leave it out for the SDK's version"
            )
        return f"v{match[1]}.{match[2] or 0}"

    @cached_property
    def api(self) -> FacebookAdsApi:
        """This hook's own SDK API object; created on first use, so ``__init__`` stays I/O-free. Refuses a
        Connection pinned to an API version Meta has ended, before any request: Meta would fail the
        call, or upgrade it to a version whose rules CLOSRADS's writes were never checked against."""
        from facebook_business.api import FacebookAdsApi
        from facebook_business.session import FacebookSession

        settings = self.settings
        clock = settings.clock()
        if clock.ended:
            raise ConnectionConfigError(clock.ended_message(self.facebook_conn_id))
        session = FacebookSession(access_token=settings.access_token, timeout=self.timeout)
        session.GRAPH = settings.graph_url  # instance attribute: other hooks keep the real Graph URL
        session.requests.hooks["response"].extend(
            [self._read_body, self._note_usage, self._note_served_version, reject_non_graph_errors]
        )
        return FacebookAdsApi(session, api_version=settings.api_version)

    def get_conn(self) -> FacebookAdsApi:
        """The hook's own SDK API object (never the process-wide default)."""
        return self.api

    def test_connection(self) -> tuple[bool, str]:
        """Airflow's Connection *Test*: read the campaign's first ad set, no retries; check its ad account.
        The message says what is wrong (the token, the campaign, the account), never a secret."""
        try:
            settings = self.settings
            what = f"reading campaign {settings.campaign_id}"
            params = {"fields": "id,account_id", "limit": 1}
            body = self._translated(
                what, lambda: self.api.call("GET", (settings.campaign_id, "adsets"), params=params).json()
            )
        except ClosradsError as exc:
            return False, redacted(str(exc))
        rows = body.get("data") if isinstance(body, dict) else None
        account = settings.ad_account_id.removeprefix("act_")
        if rows and isinstance(rows[0], dict) and str(rows[0].get("account_id") or account) != account:
            return False, (
                f"campaign {settings.campaign_id} belongs to ad account act_{rows[0].get('account_id')}, not the "
                f"configured {settings.ad_account_id}"
            )
        return (
            True,
            f"Graph answered: campaign {settings.campaign_id} of {settings.ad_account_id} is readable with this token",
        )

    # -- calls -------------------------------------------------------------------------------

    def list_campaign_adsets(self) -> list[dict[str, str]]:
        """Every ad set of the configured campaign over all pages: ``[{id, name, effective_status, targeting,
        learning}]`` (``targeting`` as Graph returned it, unchecked, ``None`` when absent; ``learning``: Meta's
        learning state (:class:`~closrads.core.learning_state.LearningState` as a dict), ``None`` when absent).

        Refuses a campaign whose ad sets belong to another ad account than the configured one:
        that is a mis-typed id, and writing to it would spend someone else's budget.
        """
        settings = self.settings
        rows = self.call(
            f"listing the ad sets of campaign {settings.campaign_id}",
            lambda: all_listing_pages(self.api, settings.campaign_id, LISTING_FIELDS),
        )
        expected_account = settings.ad_account_id.removeprefix("act_")
        adsets = []
        for row in rows:
            account = str(row.get("account_id") or expected_account)
            if account != expected_account:
                raise GraphError(
                    f"campaign {settings.campaign_id} has ad set {row.get('id')} in ad account act_{account}, "
                    f"not the configured {settings.ad_account_id}; check Connection '{self.facebook_conn_id}'"
                )
            learning = LearningState.from_graph(row.get("learning_stage_info"))
            adsets.append(
                {
                    "id": str(row["id"]),
                    "name": str(row.get("name") or ""),
                    "effective_status": str(row.get("effective_status")),
                    "targeting": row.get("targeting"),
                    "learning": learning.to_dict() if learning else None,
                }
            )
        return adsets

    def get_adset(self, adset_id: str) -> dict[str, Any]:
        """One ad set as Graph returns it now: ``{id, name, effective_status, targeting}``, unchecked
        (whether its targeting can be written on is :func:`closrads.core.targeting.usable_targeting`'s call)."""
        from facebook_business.adobjects.adset import AdSet

        def read() -> dict[str, Any]:
            return AdSet(adset_id, api=self.api).api_get(fields=list(READ_FIELDS)).export_all_data()

        return self.call(f"reading ad set {adset_id}", read)

    def update_targeting(self, adset_id: str, targeting: dict[str, Any], *, validate_only: bool = False) -> None:
        """Replace the ad set's whole targeting object (callers pass a full, deep-copied one).

        ``validate_only``: send it with ``execution_options=["validate_only"]``: Meta runs its whole
        validation and answers as for a write, but changes nothing (what a dry run does).
        """
        from facebook_business.adobjects.adset import AdSet

        params: dict[str, Any] = {AdSet.Field.targeting: targeting}
        if validate_only:
            params["execution_options"] = ["validate_only"]
        what = f"{'validating' if validate_only else 'updating'} the targeting of ad set {adset_id}"
        try:
            self.call(what, lambda: AdSet(adset_id, api=self.api).api_update(params=params))
        except GraphError as exc:
            if not exc.transient and outside_regions(exc.blamed_field):
                raise refused_field_not_ours(exc, adset_id) from None
            raise

    # -- Meta's rate limits ------------------------------------------------------------------

    def _read_body(self, response, *args, **kwargs):
        """``requests`` response hook, first of all: read the body within ``MAX_GRAPH_BODY_BYTES`` and this
        hook's timeout for the whole body (``requests`` bounds each socket read only). A body too large or
        broken is bad data, failed once; one too slow or cut off by the network is worth a retry."""
        if response._content_consumed:
            return response
        where = f"the Graph API at {self.settings.graph_url}"
        try:
            body = read_bounded(response, max_bytes=MAX_GRAPH_BODY_BYTES, deadline=time.monotonic() + self.timeout)
        except BodyProblem as exc:
            raise GraphError(f"{where} sent {exc}; not using it", transient=not exc.bad_data) from None
        finally:
            response.close()
        response._content, response._content_consumed = body, True
        return response

    def _note_usage(self, response, *args, **kwargs):
        """``requests`` response hook: remember (and, when high, log) the usage Meta reports."""
        usage = parse_usage(response.headers)
        if usage is not None:
            self.usage = usage
            if usage.is_high:
                self.log.warning("Facebook: high API usage: %s", usage.describe())
        return response

    def _note_served_version(self, response, *args, **kwargs):
        """``requests`` response hook: Meta answered in another API version than the Connection asks for
        (it upgrades calls to a version it has ended); logged once per hook, without Meta's own words."""
        served = None if self.served_version else served_instead(response.headers, self.settings.api_version)
        if served:
            self.served_version = served
            self.log.warning(
                "Facebook: Meta answered with Graph API %s, not the %s that Connection '%s' asks for; move its "
                '"api_version" to a current version',
                served,
                self.settings.api_version,
                self.facebook_conn_id,
            )
        return response

    def _pace(self, what: str) -> None:
        """Slow down before Meta blocks: the closer the last answer's usage is to 100 %, the longer the wait."""
        wait = self.usage.pacing_seconds() if self.usage is not None else 0.0
        if wait > 0:
            self.log.warning("Facebook: waiting %g s before %s (%s)", wait, what, self.usage.describe())
            retrying.pause(wait)  # looked up at call time: the tests' replacement applies

    # -- error handling ----------------------------------------------------------------------

    def call(self, what: str, func, *, retry: bool = True):
        """Run one Graph call (``func``, through :attr:`api`) as every call of this hook runs: paced by the
        ad account's usage, transient failures retried (``retry=False``: tried once), every failure a
        :class:`GraphError` whose message names ``what`` and never the token."""
        if not retry:
            return self._translated(what, func)
        return call_with_backoff(
            lambda: self._translated(what, func), delays=GRAPH_BACKOFF, what=f"Facebook: {what}", log=self.log
        )

    def _translated(self, what: str, func):
        """Run one SDK call, turning every failure into a :class:`GraphError` with a clean message."""
        import requests
        from facebook_business.exceptions import FacebookError, FacebookRequestError

        where = f"the Graph API at {self.settings.graph_url}"
        self._pace(what)
        try:
            return func()
        except FacebookRequestError as exc:
            error = graph_error(exc, what, self.facebook_conn_id)
            if error.retry_after:
                self.usage = None  # the retry waits for the block itself; no pacing on top of it
            raise error from None
        except NonGraphHttpError as exc:
            raise GraphError(
                f"{what}: {where} answered HTTP {exc.status} with a body that is not Graph JSON",
                transient=is_transient(None, http_status=exc.status),
            ) from None
        except requests.Timeout:
            raise GraphError(f"{what}: {where} did not answer within {self.timeout:g} s", transient=True) from None
        except requests.RequestException as exc:
            reason = redacted(network_reason(exc))
            raise GraphError(f"{what}: could not reach {where} ({reason})", transient=True) from None
        except (FacebookError, ValueError, KeyError, TypeError) as exc:
            raise GraphError(f"{what}: unexpected response from {where}: {redacted(exc)[:300]}") from None

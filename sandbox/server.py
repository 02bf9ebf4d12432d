"""The sandbox HTTP server: CLOSRTECH, Graph API and Slack webhook on one local port.

Routes
  GET  /demand.php?campaign=&email=&pass=      CLOSRTECH demand
  GET  /<version>/<campaign_id>/adsets         Graph: ad sets of a campaign, cursor paging
  GET  /<version>/<adset_id>                   Graph: read one ad set
  POST /<version>/<adset_id>[/]                Graph: update (form field ``targeting`` = JSON); a write is a
                                               significant edit (``learning_stage_info``), and a targeting
                                               that still holds a retired value is refused (error 100)
  GET  /<version>/search?type=adgeolocation    Graph: region search
  GET  /<version>/act_<id>?fields=currency,...  Graph: the ad account (currency, time zone)
  GET  /<version>/<campaign_id>/insights        Graph Insights: spend per region (breakdowns=region) for
                                               each of ``time_ranges``, following each ad set's targeting
  POST /slack/...                              Slack incoming webhook receiver
  /_sandbox/...                                control API for tests and the demo (see ``_control``)
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sandbox import scenario as defaults
from sandbox.score import THROTTLED_CODE, AccountScore

# Graph error catalogue: code -> (type, HTTP status, is_transient, subcode, message), as Meta sends them.
GRAPH_ERRORS = {
    1: ("OAuthException", 500, True, None, "An unknown error occurred"),
    2: ("OAuthException", 503, True, None, "An unexpected error has occurred. Please retry your request later."),
    4: ("OAuthException", 400, False, None, "Application request limit reached"),
    17: ("OAuthException", 400, False, 2446079, "User request limit reached"),
    80004: (
        "OAuthException",
        400,
        False,
        2446079,
        "There have been too many calls to this ad-account. Wait a bit and try again.",
    ),
    100: ("OAuthException", 400, False, 1487756, "Invalid parameter"),
    190: ("OAuthException", 401, False, 463, "Error validating access token: The session is invalid."),
    200: ("OAuthException", 403, False, None, "(#200) Permissions error"),
    # Meta's mutation-rate limit per ad account (Marketing API v26): too many edits in a short time.
    613: ("OAuthException", 400, True, 5044001, "(#613) Calls to this api have exceeded the rate limit."),
}
# Targeting values Meta has retired: an ad set may still carry one, but a write (or a validation) of a
# targeting that holds it is refused, whatever else the write changes (v26: the Instagram Explore placement).
RETIRED_TARGETING = {"instagram_positions": ("explore", "Instagram Explore")}
_ID = re.compile(r"^\d+$")


class SandboxState:
    """Scenario (demand, ad sets), pending faults, the request log and received Slack messages."""

    def __init__(self, state_file: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.state_file = state_file
        self.credentials = {
            "email": defaults.CLOSRTECH_EMAIL,
            "password": defaults.CLOSRTECH_PASSWORD,
            "campaign": defaults.CLOSRTECH_CAMPAIGN,
            "access_token": defaults.ACCESS_TOKEN,
        }
        self.scenario = defaults.default_scenario()
        if state_file and state_file.exists():
            self.scenario = json.loads(state_file.read_text())
        self.faults: list[dict] = []
        self.requests: list[dict] = []
        self.slack: list[dict] = []
        self.score = AccountScore()
        self.held = threading.Event()  # what a ``hold`` fault waits for: ``POST /_sandbox/release``

    def release_held(self) -> None:
        """Let every request a ``hold`` fault is holding go on (a new event holds the next ones)."""
        held, self.held = self.held, threading.Event()
        held.set()

    def reset(self, scenario: dict | None = None) -> None:
        with self.lock:
            self.scenario = scenario or defaults.default_scenario()
            self.faults, self.requests, self.slack = [], [], []
            self.score.configure(None)
            self.save()

    def save(self) -> None:
        if self.state_file:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.scenario, indent=2))
            tmp.replace(self.state_file)

    def adset(self, adset_id: str) -> dict | None:
        return next((a for a in self.scenario["adsets"] if a["id"] == adset_id), None)

    def token_accounts(self, token: str | None) -> str | list[str] | None:
        """The ad accounts an access token may touch: ``"*"`` for the default token, the listed ones for a
        client's token (a multi-campaign sandbox), ``None`` for anything else."""
        if token == self.credentials["access_token"]:
            return "*"
        with self.lock:
            accounts = (self.scenario.get("tokens") or {}).get(token) if token else None
        return list(accounts) if accounts is not None else None

    def may_touch(self, accounts: str | list[str] | None, object_id: str) -> bool:
        """Whether a token with ``accounts`` may read or write an ad set, or list a campaign (by its ad sets)."""
        if accounts == "*":
            return True
        with self.lock:
            owners = {
                f"act_{a['account_id']}" for a in self.scenario["adsets"] if object_id in (a["id"], a["campaign_id"])
            }
        return not owners or owners <= set(accounts or [])

    def take_fault(self, target: str, adset_id: str | None = None, method: str | None = None) -> dict | None:
        """The first pending fault for this call; consumes one of its ``times``."""
        with self.lock:
            for fault in self.faults:
                if fault["target"] != target:
                    continue
                if fault.get("adset_id") not in (None, adset_id):
                    continue
                if fault.get("method") not in (None, method):
                    continue
                fault["times"] -= 1
                if fault["times"] <= 0:
                    self.faults.remove(fault)
                return fault
        return None


class SandboxHandler(BaseHTTPRequestHandler):
    server_version = "closrads-sandbox/1"
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: headers and body go out as separate writes, and with Nagle's algorithm the body
    # waits for the client's delayed ACK (about 40 ms per answer), which a benchmark would measure.
    disable_nagle_algorithm = True
    state: SandboxState  # set on the subclass by make_server()

    # -- plumbing ----------------------------------------------------------------------------

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        self.raw_body = self.rfile.read(length) if length else b""
        self.form = {}
        if "application/x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
            self.form = {k: v[-1] for k, v in parse_qs(self.raw_body.decode(), keep_blank_values=True).items()}
        parts = [p for p in url.path.split("/") if p]
        try:
            if parts[:1] == ["_sandbox"]:
                return self._control(method, parts[1:])
            self._emulate_latency()
            if parts == ["demand.php"] and method == "GET":
                return self._closrtech()
            if parts[:1] == ["slack"] and method == "POST":
                return self._slack(url.path)
            if parts and re.match(r"^v\d+\.\d+$", parts[0]):
                return self._graph(method, parts[1:])
            self._send(404, {"error": f"no such sandbox route: {method} {url.path}"})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a deadline, a test's timeout)

    def _emulate_latency(self) -> None:
        """The scenario's ``latency_ms``: a real API's round trip, for benchmarks (0: answer at once)."""
        with self.state.lock:
            latency = float(self.state.scenario.get("latency_ms") or 0)
        if latency > 0:
            time.sleep(latency / 1000)

    def _record(self, service: str, **details) -> None:
        entry = {
            "time": time.time(),
            "service": service,
            "method": self.command,
            "path": urlsplit(self.path).path,
        } | details
        with self.state.lock:
            self.state.requests.append(entry)

    def _send(self, status: int, payload, content_type: str = "application/json", headers: dict | None = None):
        body = (
            payload
            if isinstance(payload, bytes)
            else (payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
        )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json_headers(self, length: int) -> None:
        """A 200 JSON answer's headers, announcing ``length`` bytes of body."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def _drip(self, body: str, pause: float) -> None:
        data = body.encode()
        self._json_headers(len(data))
        for byte in data:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(pause)

    def _cut(self, body: str, length: int) -> None:
        data = body.encode()
        self._json_headers(len(data))
        self.wfile.write(data[:length])
        self.wfile.flush()
        self.close_connection = True

    # -- CLOSRTECH ---------------------------------------------------------------------------

    def _closrtech(self) -> None:
        creds = self.state.credentials
        ok = self.query.get("email") == creds["email"] and self.query.get("pass") == creds["password"]
        self._record("closrtech", campaign=self.query.get("campaign"), auth_ok=ok)
        fault = self.state.take_fault("closrtech")
        if fault:
            time.sleep(fault.get("delay", 0))
            if self._broken_body(fault):
                return None
            if _answers(fault):
                return self._send(
                    fault.get("status", 200),
                    fault.get("body", ""),
                    fault.get("content_type", "text/html; charset=utf-8"),
                )
        if not ok:
            return self._send(401, {"error": "Invalid credentials"})
        with self.state.lock:
            campaign = self.query.get("campaign")
            if campaign == creds["campaign"]:
                demand = self.state.scenario["demand"]
            elif campaign in (self.state.scenario.get("demands") or {}):  # a multi-campaign sandbox
                demand = self.state.scenario["demands"][campaign]
            else:
                return self._send(404, {"error": "Unknown campaign"})
        if isinstance(demand, str):  # a scenario may hold a raw body, e.g. "[]" or "null"
            return self._send(200, demand)
        self._send(200, demand)

    def _broken_body(self, fault: dict) -> bool:
        """Answer with a body that is broken on the wire, when the fault asks for one (any service)."""
        if "drip" in fault:  # headers at once, then the body byte by byte, ``drip`` seconds apart
            self._drip(fault.get("body", ""), float(fault["drip"]))
        elif "cut" in fault:  # the whole body's Content-Length, then only ``cut`` bytes and a closed connection
            self._cut(fault.get("body", ""), int(fault["cut"]))
        elif "content_encoding" in fault:  # e.g. "gzip" over bytes that are not gzip
            self._send(200, fault.get("body", ""), headers={"Content-Encoding": fault["content_encoding"]})
        else:
            return False
        return True

    # -- Slack -------------------------------------------------------------------------------

    def _slack(self, path: str) -> None:
        try:
            message = json.loads(self.raw_body or b"{}")
        except ValueError:
            message = {"raw": self.raw_body.decode(errors="replace")}
        self._record("slack", path="/slack/<webhook path, a secret>")
        fault = self.state.take_fault("slack")
        if fault:
            time.sleep(fault.get("delay", 0))
            if _answers(fault):
                return self._send(fault.get("status", 500), fault.get("body", "internal_error"), "text/plain")
        if path != defaults.SLACK_WEBHOOK_PATH:
            return self._send(404, "no_service", "text/plain")
        with self.state.lock:
            self.state.slack.append(message)
        self._send(200, "ok", "text/plain")

    # -- Graph -------------------------------------------------------------------------------

    def _graph(self, method: str, parts: list[str]) -> None:
        token = self.query.get("access_token") or self.form.get("access_token")
        accounts = self.state.token_accounts(token)  # None: not a token; "*": every ad account
        token_ok = accounts is not None
        adset_id = parts[0] if len(parts) == 1 else None
        kind = (
            "listing"
            if parts[-1:] == ["adsets"]
            else "insights"
            if parts[-1:] == ["insights"]
            else "account"
            if len(parts) == 1 and parts[0].startswith("act_")
            else "search"
            if parts == ["search"]
            else "adset"
        )
        self._record(
            "graph",
            kind=kind,
            object_id=parts[0] if parts else None,
            token_ok=token_ok,
            fields=self.query.get("fields"),
            after=self.query.get("after"),
            targeting=self.form.get("targeting"),
            validate_only=self._validate_only(),
        )
        self.api_version = self.path.split("/")[1]  # what the answer's version headers speak of
        target = kind if kind in ("listing", "insights") else "graph"
        fault = self.state.take_fault(target, adset_id, method)
        if fault:
            if fault.get("hold"):  # held "at Graph" until released (at most ``delay`` s), then answered as usual
                self.state.held.wait(fault.get("delay", 60))
            else:
                time.sleep(fault.get("delay", 0))
            if (
                fault.get("lands")
                and kind == "adset"
                and method == "POST"
                and token_ok
                and adset_id
                and not (self._validate_only())
            ):
                self._land_write(adset_id)  # the change is made, but the answer that follows is the fault
            if self._broken_body(fault):
                return None
            if "code" in fault:
                return self._graph_error(fault["code"], fault.get("message"))
            if _answers(fault):
                return self._send(
                    fault.get("status", 500),
                    fault.get("body", "<html>Bad gateway</html>"),
                    fault.get("content_type", "text/html"),
                )
        if not token_ok:
            return self._graph_error(190)
        if kind in ("listing", "adset") and self.state.score.charge(method) > 0:
            return self._graph_error(THROTTLED_CODE)  # the ad account's score is spent: Meta blocks it a while
        if kind in ("listing", "adset") and parts and not self.state.may_touch(accounts, parts[0]):
            return self._graph_error(
                100,
                f"Unsupported {method.lower()} request. Object with ID '{parts[0]}' does not exist, cannot be "
                "loaded due to missing permissions, or does not support this operation",
            )
        if kind == "listing" and method == "GET":
            return self._list_adsets(parts[0])
        if kind == "insights" and method == "GET":
            return self._insights(parts[0])
        if kind == "account" and method == "GET":
            return self._read_account(parts[0])
        if kind == "search" and method == "GET":
            return self._search()
        if kind == "adset" and len(parts) == 1 and _ID.match(parts[0]):
            adset = self.state.adset(parts[0])
            if adset is None:
                return self._graph_error(100, f"Unsupported get request. Object with ID '{parts[0]}' does not exist")
            return self._read_adset(adset) if method == "GET" else self._update_adset(adset)
        self._graph_error(100, f"Unknown path components: /{'/'.join(parts)}")

    def _graph_error(self, code: int, message: str | None = None) -> None:
        err_type, status, transient, subcode, default_message = GRAPH_ERRORS.get(
            code, ("OAuthException", 400, False, None, "Graph error")
        )
        error = {
            "message": message or default_message,
            "type": err_type,
            "code": code,
            "is_transient": transient,
            "fbtrace_id": secrets.token_urlsafe(8),
        }
        if subcode:
            error["error_subcode"] = subcode
        headers = {"WWW-Authenticate": 'OAuth "Facebook Platform"'} | self._usage_headers()
        self._send(status, {"error": error}, headers=headers)

    def _usage_headers(self) -> dict:
        """The headers of every Graph answer: the ad account's usage, and the version Meta served. A version
        the scenario lists in ``upgraded_versions`` is answered as the newer ``upgrade_to``, with Meta's
        version-warning header (what Meta does with calls to a version it has ended)."""
        headers = self.state.score.headers(defaults.AD_ACCOUNT_ID.removeprefix("act_"))
        asked = getattr(self, "api_version", None)
        with self.state.lock:
            upgraded = asked in (self.state.scenario.get("upgraded_versions") or [])
            served = self.state.scenario.get("upgrade_to", "v26.0") if upgraded else asked
        if served:
            headers["facebook-api-version"] = served
        if upgraded:
            headers["x-ad-api-version-warning"] = (
                f"The call has been auto-upgraded to {served} as {asked} has been deprecated."
            )
        return headers

    def _fields(self, obj: dict, default: tuple[str, ...] = ("id",)) -> dict:
        wanted = [f for f in (self.query.get("fields") or ",".join(default)).split(",") if f]
        fields = {f: obj[f] for f in wanted if f in obj}
        if obj.get("effective_status") != "ACTIVE":  # Meta reports learning only for active ad sets
            fields.pop("learning_stage_info", None)
        return fields

    def _list_adsets(self, campaign_id: str) -> None:
        with self.state.lock:
            scenario = self.state.scenario
            rows = [a for a in scenario["adsets"] if a["campaign_id"] == campaign_id]
            page_size = min(int(self.query.get("limit") or 25), int(scenario.get("page_size", 25)))
        start = int(base64.b64decode(self.query["after"]).decode()) if self.query.get("after") else 0
        page = rows[start : start + page_size]
        body: dict = {"data": [self._fields(a) for a in page]}
        if page:
            cursors = {
                "before": base64.b64encode(str(start).encode()).decode(),
                "after": base64.b64encode(str(start + len(page)).encode()).decode(),
            }
            body["paging"] = {"cursors": cursors}
            if start + len(page) < len(rows):
                host = self.headers.get("Host", "127.0.0.1")
                body["paging"]["next"] = (
                    f"http://{host}{urlsplit(self.path).path}?limit={page_size}&after={cursors['after']}"
                )
        self._send(200, body, headers=self._usage_headers())

    def _read_account(self, account: str) -> None:
        with self.state.lock:
            spend = spend_settings(self.state.scenario)
        body = {"id": account, "currency": spend["currency"], "timezone_name": spend["timezone"]}
        self._send(200, self._fields(body, ("id",)) | {"id": account}, headers=self._usage_headers())

    def _insights(self, campaign_id: str) -> None:
        """Spend per region, as Insights reports it (``level=campaign&breakdowns=region``), per time range."""
        try:
            ranges = json.loads(self.query.get("time_ranges") or "[]")
            ranges = [(date.fromisoformat(r["since"]), date.fromisoformat(r["until"])) for r in ranges]
        except (ValueError, KeyError, TypeError):
            return self._graph_error(100, "(#100) Param time_ranges must be an array of {since, until}")
        with self.state.lock:
            settings = spend_settings(self.state.scenario)
            adsets = [a for a in self.state.scenario["adsets"] if a["campaign_id"] == campaign_id]
            daily = daily_spend_by_region(adsets, settings)
        rows = []
        for since, until in ranges:
            days = (until - since).days + 1
            for region, spent in sorted(daily.items()):
                rows.append(
                    {
                        "region": region,
                        "spend": f"{spent * days:.2f}",
                        "impressions": str(int(spent * days * 90)),
                        "clicks": str(int(spent * days * 2)),
                        "date_start": since.isoformat(),
                        "date_stop": until.isoformat(),
                    }
                )
        start = int(base64.b64decode(self.query["after"]).decode()) if self.query.get("after") else 0
        page_size = min(int(self.query.get("limit") or 25), int(settings["page_size"]))
        page = rows[start : start + page_size]
        body: dict = {"data": page}
        if start + len(page) < len(rows):
            after = base64.b64encode(str(start + len(page)).encode()).decode()
            body["paging"] = {"cursors": {"after": after}, "next": f"http://sandbox/insights?after={after}"}
        throttle = {"app_id_util_pct": settings["throttle"], "acc_id_util_pct": settings["throttle"]}
        headers = self._usage_headers() | {"x-fb-ads-insights-throttle": json.dumps(throttle)}
        self._send(200, body, headers=headers)

    def _read_adset(self, adset: dict) -> None:
        with self.state.lock:
            self._send(200, self._fields(adset), headers=self._usage_headers())

    def _update_adset(self, adset: dict) -> None:
        raw = self.form.get("targeting")
        if raw is None:
            return self._graph_error(100, "(#100) No fields to update were given")
        try:
            targeting = json.loads(raw)
        except ValueError:
            return self._graph_error(100, "(#100) Param targeting must be a JSON object")
        if not isinstance(targeting, dict) or not targeting.get("geo_locations"):
            return self._graph_error(100, "(#100) Targeting spec must include geo_locations")
        for field, (value, what) in RETIRED_TARGETING.items():
            if value in (targeting.get(field) or []):  # validate_only too: Meta validates the whole write
                return self._retired_value_error(field, what)
        if not self._validate_only():  # Meta validates the update and answers as usual, but changes nothing
            with self.state.lock:
                adset["targeting"] = targeting
                significant_edit(adset)
                self.state.save()
        self._send(200, {"success": True}, headers=self._usage_headers())

    def _retired_value_error(self, field: str, what: str) -> None:
        """Meta's refusal of a write whose targeting holds a retired value, blaming that field."""
        error = {
            "message": "Invalid parameter",
            "type": "OAuthException",
            "code": 100,
            "error_subcode": 1885316,
            "is_transient": False,
            "error_user_title": f"{what} placement is no longer available",
            "error_user_msg": f"The {what} placement is no longer available. Remove it from the ad set.",
            "error_data": {"blame_field_specs": [["targeting", field]]},
            "fbtrace_id": secrets.token_urlsafe(8),
        }
        self._send(400, {"error": error}, headers=self._usage_headers())

    def _validate_only(self) -> bool:
        """``execution_options=["validate_only"]``: the SDK sends the list JSON-encoded in the form."""
        return "validate_only" in (self.form.get("execution_options") or self.query.get("execution_options") or "")

    def _land_write(self, adset_id: str) -> None:
        """Apply a well-formed targeting update without answering it (a write whose answer was lost)."""
        try:
            targeting = json.loads(self.form.get("targeting") or "null")
        except ValueError:
            return
        adset = self.state.adset(adset_id)
        if adset is not None and isinstance(targeting, dict) and targeting.get("geo_locations"):
            with self.state.lock:
                adset["targeting"] = targeting
                significant_edit(adset)
                self.state.save()

    def _search(self) -> None:
        data = [
            {
                "key": r["key"],
                "name": r["name"],
                "type": "region",
                "country_code": "US",
                "country_name": "United States",
                "supports_region": True,
                "supports_city": True,
            }
            for r in defaults.REGION_KEYS.values()
        ]
        data.append({"key": "4031", "name": "Puerto Rico", "type": "region", "country_code": "PR"})
        self._send(200, {"data": sorted(data, key=lambda r: int(r["key"]))})

    # -- control API -------------------------------------------------------------------------

    def _control(self, method: str, parts: list[str]) -> None:
        """Test/demo controls. JSON in, JSON out.

        GET  health | state | requests | slack | faults
        POST reset [scenario]  | faults {target, times, ...} | demand {...} | adsets/<id> {fields to set}
        POST adsets/<id>/edit {add: [codes], remove: [codes]} (a person's edit in Ads Manager)
        POST credentials {...} | scenario {partial scenario fields}
        POST score {budget, window, block} (the ad account's rate-limit score; {} turns it off)
        POST release (every Graph request a ``hold`` fault holds goes on)
        """
        state = self.state
        body = json.loads(self.raw_body or b"null") if method == "POST" else None
        route = "/".join(parts)
        with state.lock:
            if method == "GET" and route == "health":
                return self._send(200, {"ok": True})
            if method == "GET" and route == "state":
                return self._send(200, state.scenario)
            if method == "GET" and route == "requests":
                return self._send(200, state.requests)
            if method == "GET" and route == "slack":
                return self._send(200, state.slack)
            if method == "GET" and route == "faults":
                return self._send(200, state.faults)
            if method == "POST" and route == "reset":
                state.reset(body)
                return self._send(200, {"ok": True})
            if method == "POST" and route == "faults":
                for fault in body if isinstance(body, list) else [body]:
                    state.faults.append({"times": 1} | fault)
                return self._send(200, {"pending": state.faults})
            if method == "DELETE" and route == "faults":
                state.faults.clear()
                return self._send(200, {"pending": []})
            if method == "POST" and route == "demand":
                state.scenario["demand"] = body
                state.save()
                return self._send(200, {"ok": True})
            if method == "POST" and route == "scenario":
                state.scenario.update(body)
                state.save()
                return self._send(200, {"ok": True})
            if method == "POST" and route == "score":
                return self._send(200, state.score.configure(body))
            if method == "POST" and route == "release":
                state.release_held()
                return self._send(200, {"ok": True})
            if method == "POST" and route == "credentials":
                state.credentials.update(body)
                return self._send(200, {"ok": True})
            if method == "POST" and len(parts) == 3 and parts[0] == "adsets" and parts[2] == "edit":
                adset = state.adset(parts[1])
                if adset is None:
                    return self._send(404, {"error": f"no ad set {parts[1]}"})
                edit_in_ads_manager(adset, (body or {}).get("add") or [], (body or {}).get("remove") or [])
                state.save()
                return self._send(200, adset)
            if method == "POST" and len(parts) == 2 and parts[0] == "adsets":
                adset = state.adset(parts[1])
                if adset is None:
                    return self._send(404, {"error": f"no ad set {parts[1]}"})
                adset.update(body)
                state.save()
                return self._send(200, adset)
        self._send(404, {"error": f"no control route {method} /_sandbox/{route}"})


# What the sandbox's campaigns spend, unless the scenario's ``spend`` says otherwise: each ACTIVE ad set
# spends ``daily_per_adset`` a day, shared by the US states it targets, but for ``leak_percent`` of it that
# goes to ``leak_states`` it does not target (people recently there, location expansion), and ``unknown``
# a day that Insights cannot place.
SPEND_DEFAULTS = {
    "currency": "USD",
    "timezone": "America/New_York",
    "daily_per_adset": 40.0,
    "leak_percent": 5.0,
    "leak_states": ["AK", "VT"],
    "unknown": 1.5,
    "page_size": 100,  # rows per Insights page (two periods of ~41 regions: one page; 25: four)
    "throttle": 4,
}
# Insights names the District as Meta spells it, not as the region table does.
INSIGHTS_NAMES = {"DC": "Washington, District of Columbia"}


def spend_settings(scenario: dict) -> dict:
    return SPEND_DEFAULTS | (scenario.get("spend") or {})


def daily_spend_by_region(adsets: list[dict], settings: dict) -> dict[str, float]:
    """One day's spend per Insights region name, following each ACTIVE ad set's targeting."""
    spent: dict[str, float] = {}

    def add(code: str | None, value: float) -> None:
        name = INSIGHTS_NAMES.get(code) or (defaults.REGION_KEYS[code]["name"] if code else "Unknown")
        spent[name] = spent.get(name, 0.0) + value

    for adset in adsets:
        if adset.get("effective_status") != "ACTIVE":
            continue
        regions = adset["targeting"].get("geo_locations", {}).get("regions", [])
        targeted = sorted({code for code in map(defaults.state_of, regions) if code})
        leaks = [code for code in settings["leak_states"] if code not in targeted]
        budget = float(settings["daily_per_adset"])
        leak = budget * float(settings["leak_percent"]) / 100 if leaks and targeted else 0.0
        for code in targeted:
            add(code, (budget - leak) / len(targeted))
        for code in leaks if leak else []:
            add(code, leak / len(leaks))
    if adsets and settings["unknown"]:
        add(None, float(settings["unknown"]))
    return spent


def significant_edit(adset: dict) -> None:
    """A targeting edit, by anyone, is a significant edit to Meta: an ad set Meta reports learning for
    goes back into learning from now (an ad set Meta reports nothing for stays so)."""
    info = adset.get("learning_stage_info")
    if isinstance(info, dict):
        info.update(status="LEARNING", last_sig_edit_ts=int(time.time()))


def edit_in_ads_manager(adset: dict, add: list[str], remove: list[str]) -> None:
    """What a person's edit in Ads Manager does: the ad set's US states change (``add``/``remove``: USPS
    codes), and Meta records a significant edit."""
    regions = [r for r in adset["targeting"]["geo_locations"].get("regions", []) if defaults.state_of(r) not in remove]
    have = {defaults.state_of(r) for r in regions}
    regions += [defaults.region_entry(code) for code in add if code not in have]
    adset["targeting"]["geo_locations"]["regions"] = regions
    significant_edit(adset)


def _answers(fault: dict) -> bool:
    """Whether a fault replaces the answer. A fault with only a ``delay`` is a slow but normal call."""
    return any(field in fault for field in ("status", "body", "code"))


class SandboxServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that hung up (a deadline, a killed task) is normal here, not a traceback on stderr."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def make_server(host: str = "127.0.0.1", port: int = 0, state_file: Path | None = None) -> ThreadingHTTPServer:
    """A ready-to-serve sandbox (port 0 picks a free port: read ``server.server_address``)."""
    handler = type("BoundSandboxHandler", (SandboxHandler,), {"state": SandboxState(state_file)})
    server = SandboxServer((host, port), handler)
    server.daemon_threads = True
    server.state = handler.state  # type: ignore[attr-defined]
    return server

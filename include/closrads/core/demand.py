"""Validate CLOSRTECH's per-state demand before anything is allowed to reach Facebook.

CLOSRTECH answers ``demand.php`` with a JSON object such as ``{"OH": 15, "TX": 4, "FL": 0}``. Every
check here guards against a vendor-side bug turning into a costly targeting change: a response
that is not that shape, or that says "no demand anywhere", is refused rather than applied
(docs/design.md, "Fail-safes").
"""

from __future__ import annotations

import json
import re

from closrads.core.errors import DemandDataError

# How much of a bad *value* to quote in an error. Bodies are never quoted: a vendor error page may
# echo the request, password included, so a bad body is described (size, "looks like HTML") instead.
_NUMERIC_STRING = re.compile(r"^\s*[0-9]{1,12}\s*$", re.ASCII)  # ASCII digits: "٣" is no lead count
_BYTE_ORDER_MARK = "\ufeff"
_PLAIN_CODE = re.compile(r"^[A-Z0-9]{1,10}$")
# Bounds on what an answer may hold, so no list from outside grows without limit in XCom, a log line
# or Slack: 51 states and DC plus a few territories and typos fit many times over.
MAX_CODES = 100
MAX_CODE_LENGTH = 16
# No vendor wants more leads than this in one state; a larger number is a bug (or an overflow).
MAX_DEMAND = 1_000_000


def parse_demand(body: str) -> dict[str, int]:
    """Turn the raw ``demand.php`` body into ``{USPS code: demand}`` for every state it lists.

    Codes are normalised (``" oh "`` -> ``OH``); values must be non-negative integers, numeric
    strings such as ``"15"`` and whole floats such as ``15.0`` included. Zero values are kept:
    :func:`states_with_demand` decides what they mean.
    """
    try:
        payload = json.loads(body.removeprefix(_BYTE_ORDER_MARK))
    except ValueError:
        raise DemandDataError(f"CLOSRTECH returned invalid JSON ({describe_body(body)})") from None
    except RecursionError:  # JSON nested thousands deep: no demand object looks like that
        raise DemandDataError(f"CLOSRTECH returned JSON nested too deep ({describe_body(body)})") from None
    if not isinstance(payload, dict):
        kind = "null" if payload is None else type(payload).__name__
        raise DemandDataError(f"CLOSRTECH returned JSON {kind}, expected an object of state: demand")

    if isinstance(payload.get("error"), (str, dict)):
        # Some vendor APIs answer 200 with {"error": "..."}; say so instead of "demand for ERROR is ...".
        raise DemandDataError(
            'CLOSRTECH returned an error object ({"error": ...}) instead of demand; '
            "check the campaign and the account of the CLOSRTECH Connection"
        )

    if len(payload) > MAX_CODES:
        raise DemandDataError(
            f"CLOSRTECH listed {len(payload)} state codes (a real answer lists about 51, at most {MAX_CODES}); "
            "refusing it"
        )
    demand: dict[str, int] = {}
    for raw_code, raw_value in payload.items():
        code = str(raw_code).strip()
        code = code.upper() if code.isascii() else code  # dotless i + L must not fold into IL
        if not code:
            raise DemandDataError("CLOSRTECH returned an empty state code")
        if len(code) > MAX_CODE_LENGTH:
            raise DemandDataError(f"CLOSRTECH returned a state code of {len(code)} characters; refusing it")
        value = _demand_value(code, raw_value)
        if code in demand:
            raise DemandDataError(f"CLOSRTECH listed state {shown_code(code)} more than once")
        demand[code] = value
    return demand


def states_with_demand(demand: dict[str, int]) -> dict[str, int]:
    """Keep the states that want leads, refusing the two answers that would empty the targeting.

    An empty object and an object where every state is 0 are both almost certainly vendor bugs,
    not an instruction to stop advertising everywhere.
    """
    if not demand:
        raise DemandDataError("CLOSRTECH returned no states at all (empty response {}); refusing to apply it")
    wanted = {code: value for code, value in sorted(demand.items()) if value > 0}
    if not wanted:
        raise DemandDataError(
            f"CLOSRTECH returned demand 0 for all {len(demand)} states; "
            "this looks like a vendor-side error, refusing to apply it"
        )
    return wanted


def shown_code(code: str) -> str:
    """A state code as a message shows it: plain codes as they are, anything else quoted with its
    invisible characters escaped (``'TX\\u200b'``, which would otherwise read as TX). A longer text
    is no code: only its length is shown, never a piece of it (it may be an echoed secret)."""
    if _PLAIN_CODE.match(code):
        return code
    return ascii(code) if len(code) <= MAX_CODE_LENGTH else f"<a text of {len(code)} characters>"


def describe_body(body: str) -> str:
    """What a bad body looks like, without quoting it: its size and whether it is an HTML page."""
    text = str(body)
    if not text.strip():
        return "an empty body"
    size = f"{len(text.encode('utf-8', 'replace'))} bytes"
    return f"{size}, looks like an HTML page" if text.lstrip().startswith("<") else size


def _demand_value(code: str, raw: object) -> int:
    shown = shown_code(code)
    # bool is an int subclass in Python; `true` is not a lead count.
    if isinstance(raw, bool):
        raise DemandDataError(f"CLOSRTECH demand for {shown} is a boolean ({raw!r}), expected a whole number >= 0")
    if isinstance(raw, int):
        value = raw
    elif (isinstance(raw, float) and raw.is_integer()) or (isinstance(raw, str) and _NUMERIC_STRING.match(raw)):
        value = int(raw)
    else:
        raise DemandDataError(f"CLOSRTECH demand for {shown} is {_described(raw)}, expected a whole number >= 0")
    if value < 0:
        raise DemandDataError(f"CLOSRTECH demand for {shown} is negative ({value}), expected a whole number >= 0")
    if value > MAX_DEMAND:
        number = str(value) if value < 10**16 else f"a number of {len(str(value))} digits"
        raise DemandDataError(
            f"CLOSRTECH demand for {shown} is {number}, more than any real lead count (at most {MAX_DEMAND})"
        )
    return value


def _described(raw: object) -> str:
    """A bad demand value as a message shows it: short texts and numbers as they are, anything longer
    by its kind and size, never a piece of it (a vendor page echoing the request may hold the password)."""
    if raw is None:
        return "null"
    if isinstance(raw, float):
        return repr(raw)
    if isinstance(raw, str):
        return ascii(raw) if len(raw) <= MAX_CODE_LENGTH else f"a text of {len(raw)} characters"
    if isinstance(raw, list):
        return f"a list of {len(raw)} item(s)"
    if isinstance(raw, dict):
        return f"an object of {len(raw)} field(s)"
    return f"a JSON {type(raw).__name__}"

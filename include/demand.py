"""Validate CLOSRTECH's per-state demand before anything is allowed to reach Facebook.

CLOSRTECH answers ``demand.php`` with a JSON object such as ``{"OH": 15, "TX": 4, "FL": 0}``. Every
check here guards against a vendor-side bug turning into a costly targeting change: a response
that is not that shape, or that says "no demand anywhere", is refused rather than applied.
"""

from __future__ import annotations

import json
import re

# How much of a bad body to quote in an error: enough to recognise an HTML error page, not a dump.
_SNIPPET_CHARS = 80
_NUMERIC_STRING = re.compile(r"^\s*\d+\s*$")


class DemandDataError(ValueError):
    """CLOSRTECH answered, but with data that must not be applied. Retrying will not fix it."""


def parse_demand(body: str) -> dict[str, int]:
    """Turn the raw ``demand.php`` body into ``{USPS code: demand}`` for every state it lists.

    Codes are normalised (``" oh "`` -> ``OH``); values must be non-negative integers, numeric
    strings such as ``"15"`` included. Zero values are kept: :func:`states_with_demand` decides
    what they mean.
    """
    try:
        payload = json.loads(body)
    except ValueError:
        raise DemandDataError(
            f"CLOSRTECH returned invalid JSON (is the API returning an error page?): {_snippet(body)}"
        ) from None
    if not isinstance(payload, dict):
        raise DemandDataError(f"CLOSRTECH returned JSON {type(payload).__name__}, expected an object of state: demand")

    if isinstance(payload.get("error"), (str, dict)):
        # Some vendor APIs answer 200 with {"error": "..."}; say so instead of "demand for ERROR is ...".
        raise DemandDataError(
            f"CLOSRTECH returned an error instead of demand: {_snippet(json.dumps(payload['error']))}"
        )

    demand: dict[str, int] = {}
    for raw_code, raw_value in payload.items():
        code = str(raw_code).strip().upper()
        if not code:
            raise DemandDataError("CLOSRTECH returned an empty state code")
        value = _demand_value(code, raw_value)
        if code in demand:
            raise DemandDataError(f"CLOSRTECH listed state {code} more than once")
        demand[code] = value
    return demand


def states_with_demand(demand: dict[str, int]) -> dict[str, int]:
    """Keep the states that want leads, refusing the two answers that would empty the targeting.

    An empty object and an object where every state is 0 are both almost certainly vendor bugs,
    not an instruction to stop advertising everywhere (design decision D02).
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


def _demand_value(code: str, raw: object) -> int:
    # bool is an int subclass in Python; `true` is not a lead count.
    if isinstance(raw, bool):
        raise DemandDataError(f"CLOSRTECH demand for {code} is a boolean ({raw!r}), expected a whole number >= 0")
    if isinstance(raw, int):
        value = raw
    elif (isinstance(raw, float) and raw.is_integer()) or (isinstance(raw, str) and _NUMERIC_STRING.match(raw)):
        value = int(raw)
    else:
        raise DemandDataError(
            f"CLOSRTECH demand for {code} is {_snippet(json.dumps(raw))}, expected a whole number >= 0"
        )
    if value < 0:
        raise DemandDataError(f"CLOSRTECH demand for {code} is negative ({value}), expected a whole number >= 0")
    return value


def _snippet(text: str) -> str:
    flat = " ".join(str(text).split())
    if len(flat) > _SNIPPET_CHARS:
        flat = flat[:_SNIPPET_CHARS] + "..."
    return repr(flat)

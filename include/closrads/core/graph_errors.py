"""Sort Graph API errors into "wait and retry" and "retrying cannot help".

Retrying a permanent error (bad parameter, rejected token, missing permission) only burns quota
and delays the alert; not retrying a throttle turns a busy minute into a failed day. The codes
follow Meta's Marketing API error reference.
"""

from __future__ import annotations

import json
import re

# Rate limits: 4 app, 17 user, 341 app, 613 calls, 80000-80014 business use cases (ads management,
# the ad account's score, insights, ...). Waiting is the cure; how long, Meta says (graph_usage).
THROTTLING_CODES = frozenset({4, 17, 341, 613, *range(80000, 80015)})
# Plus 1 unknown and 2 service errors: the same call may simply work a moment later.
TRANSIENT_CODES = frozenset({1, 2}) | THROTTLING_CODES
INVALID_TOKEN_CODE = 190


def is_transient(code: int | None, *, flagged_transient: bool = False, http_status: int | None = None) -> bool:
    """True when the same call may succeed if repeated after a pause."""
    if flagged_transient:
        return True
    if code is None:
        # No Graph error body at all: a gateway hiccup (5xx, 429) is transient, the rest are not.
        return http_status is not None and (http_status >= 500 or http_status == 429)
    return int(code) in TRANSIENT_CODES


# A field path Meta may blame, as CLOSRADS shows it: names of letters, digits and underscores.
_FIELD_NAME = re.compile(r"^[A-Za-z0-9_]{1,60}$")


def blamed_field(error: object) -> str | None:
    """The field a Graph error blames (its ``error_data``: ``blame_field_specs`` or ``blame_field``), as
    ``targeting.instagram_positions``; ``None`` when it names none that can be shown."""
    data = error.get("error_data") if isinstance(error, dict) else None
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return None
    if not isinstance(data, dict):
        return None
    specs = data.get("blame_field_specs")
    path = specs[0] if isinstance(specs, list) and specs and isinstance(specs[0], list) else None
    if path is None and isinstance(data.get("blame_field"), str):
        path = data["blame_field"].split(".")
    names = [str(name) for name in path or []]
    if not names or len(names) > 6 or not all(_FIELD_NAME.match(name) for name in names):
        return None
    return ".".join(names)


def outside_regions(field: str | None) -> bool:
    """Whether a blamed field is one a targeting write by CLOSRADS never changes: anything but the US
    regions it writes (``targeting``, or its ``geo_locations``, blamed as a whole might be them)."""
    if not field:
        return False
    return field not in ("targeting", "targeting.geo_locations") and not field.startswith(
        "targeting.geo_locations.regions"
    )

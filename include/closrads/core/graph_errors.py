"""Sort Graph API errors into "wait and retry" and "retrying cannot help".

Retrying a permanent error (bad parameter, rejected token, missing permission) only burns quota
and delays the alert; not retrying a throttle turns a busy minute into a failed day. The codes
follow Meta's Marketing API error reference.
"""

from __future__ import annotations

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

"""Reading an HTTP answer's body within a size cap and a deadline: one rule for every hook.

``requests``' timeout bounds each socket read, not the answer: a body that trickles in holds a task
for hours, and a body as large as a server cares to send fills the worker's memory. Each hook reads
its bodies here and turns the outcome into its own error (bad data is never retried; a slow or broken
connection is). ``read1`` returns what has arrived (``iter_content`` would wait for whole chunks), so
an answer ends within the deadline plus at most one socket read timeout.
"""

from __future__ import annotations

import http.client
import time

from closrads.core.errors import network_reason


class BodyProblem(Exception):
    """Why a body was not read whole. ``bad_data``: the server's answer itself is wrong (never retried)."""

    bad_data = True


class BodyTooLarge(BodyProblem):
    pass


class BodyUndecodable(BodyProblem):
    """Its Content-Encoding (gzip, deflate) does not match its bytes."""


class BodyCut(BodyProblem):
    """The server closed the connection before the length it announced."""


class BodyTooSlow(BodyProblem):
    bad_data = False


class BodyBroken(BodyProblem):
    """The connection broke mid-body (reset, went silent): the network, worth a retry."""

    bad_data = False

    def __init__(self, message: str, *, silent: bool = False) -> None:
        super().__init__(message)
        self.silent = silent


def read_bounded(response, *, max_bytes: int, deadline: float) -> bytes:
    """The whole body of a ``requests`` response opened with ``stream=True`` (or not yet consumed), at most
    ``max_bytes`` of it, read before ``deadline`` (a ``time.monotonic()`` value); else a :class:`BodyProblem`
    whose message says how much was read (never the body itself)."""
    from urllib3.exceptions import DecodeError, IncompleteRead, ProtocolError, ReadTimeoutError

    body = bytearray()
    try:
        while chunk := response.raw.read1(65536, decode_content=True):
            body += chunk
            if len(body) > max_bytes:
                raise BodyTooLarge(f"a body larger than {_size(max_bytes)}")
            if time.monotonic() > deadline:
                raise BodyTooSlow(f"still sending its body at the deadline ({_size(len(body))} so far)")
    except DecodeError:
        raise BodyUndecodable("a body that cannot be decoded (its Content-Encoding does not match its bytes)") from None
    except ReadTimeoutError:
        raise BodyBroken("silence in the middle of its body", silent=True) from None
    except ProtocolError as exc:
        # urllib3 wraps "fewer bytes than its Content-Length" (the server closed early) in a ProtocolError
        if isinstance(exc, IncompleteRead) or any(isinstance(arg, http.client.IncompleteRead) for arg in exc.args):
            raise BodyCut(f"an answer that ended after {len(body)} bytes, before the length it announced") from None
        raise BodyBroken(f"a connection broken in the middle of its body ({network_reason(exc)})") from None
    return bytes(body)


def _size(count: int) -> str:
    return f"{count / 1_000_000:g} MB" if count >= 1_000_000 else f"{count} bytes"

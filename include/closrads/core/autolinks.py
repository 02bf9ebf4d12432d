"""Keeping text from outside (an ad set name, an error) from turning into a link where it is shown.

Slack turns a bare ``https://...``, ``www.example.com`` or ``example.com`` in a message into a link, and
so does the GitHub-flavoured Markdown of Airflow's approval page: escaping ``<``, ``>`` and ``&`` or
backslash-escaping Markdown does not stop it. A WORD JOINER (U+2060, invisible, no width) after the
dot of each ``name.tld`` and after the colon of ``scheme:`` leaves the text readable as it was and
gives neither a link to follow. CLOSRADS's own links (the run, the log) are built apart and untouched.
"""

from __future__ import annotations

import re

WORD_JOINER = "\u2060"
_DOT_BEFORE_A_NAME = re.compile(r"(?<=[^\W_])\.(?=[^\W\d_])")  # "example.com", "www.x" (not "26.786935")
_SCHEME_COLON = re.compile(r"(?<=[A-Za-z]):(?=//)")  # "https://"


def defuse_links(text: str) -> str:
    """``text`` as it reads, with nothing in it that Slack or Markdown would make a link of."""
    return _SCHEME_COLON.sub(":" + WORD_JOINER, _DOT_BEFORE_A_NAME.sub("." + WORD_JOINER, text))

"""Outside text never becomes a link in Slack or in the approval page's Markdown, and reads as written."""

import re

import pytest

from closrads.core.autolinks import WORD_JOINER, defuse_links


@pytest.mark.parametrize(
    "name",
    ["Veterans https://evil.example/x", "see www.evil.example", "evil.example promo", "mailto:x@evil.example"],
)
def test_a_url_or_domain_in_a_name_is_defused_and_reads_the_same(name):
    defused = defuse_links(name)
    assert defused != name and defused.replace(WORD_JOINER, "") == name
    assert "://" not in defused and not re.search(r"\w\.\w", defused)  # no "name.tld" for a linkifier


@pytest.mark.parametrize(
    "text", ["Veterans - Core - Broad", "manual__2026-12-07T14:03:26.786935+00:00", "Lookalike 1.5%", "+TX -AK"]
)
def test_ordinary_text_and_run_ids_are_left_exactly_as_they_are(text):
    assert defuse_links(text) == text

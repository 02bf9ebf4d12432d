"""A write that lands late undoes a newer run; the next run says so (and puts the demand back).

The race: a try of an older run is killed (cleared, or its worker lost) while Graph holds its write;
a newer run then writes newer demand; the held write lands last and puts the older demand back.
CLOSRADS cannot recall a request Meta already holds, but the next run compares each ad set with the
last write CLOSRADS recorded for it and reports the difference. The sandbox's ``hold`` fault keeps
the older write at "Graph" until the test releases it.
"""

import json
import threading
import urllib.parse
import urllib.request

import pytest

from closrads.core.timestamps import utc_minute
from sandbox import scenario as defaults
from tests.helpers import block_texts

pytestmark = pytest.mark.integration

CORE = "120215550000000001"


def graph_write(base_url: str, adset_id: str, targeting: dict) -> None:
    """The held request of a killed try: the same Graph update CLOSRADS sends, sent on its own."""
    body = urllib.parse.urlencode({"access_token": defaults.ACCESS_TOKEN, "targeting": json.dumps(targeting)})
    request = urllib.request.Request(f"{base_url}/v25.0/{adset_id}", data=body.encode(), method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()


def test_a_late_write_that_undid_a_newer_run_is_reported_by_the_next_run(sandbox, run_dag):
    older = run_dag({"dry_run": False})
    assert older.state == "success"
    older_targeting = sandbox.adset(CORE)["targeting"]
    older_states = sandbox.targeted_states()[CORE]

    # A try of the older run sends its write again, and Graph holds it (the try is killed meanwhile).
    sandbox.add_fault("graph", adset_id=CORE, method="POST", hold=True, delay=120)
    held = threading.Thread(target=graph_write, args=(sandbox.base_url, CORE, older_targeting))
    held.start()
    sandbox.set_demand({"OH": 5, "TX": 3, "FL": 0})
    newer = run_dag({"dry_run": False})
    assert newer.state == "success"
    assert newer.outcomes()[CORE]["outcome"] == "updated"
    assert "outside_change" not in newer.outcomes()[CORE]  # it held what the older run wrote
    sandbox.release_held()
    held.join(timeout=30)
    assert sandbox.targeted_states()[CORE] == older_states  # the late write undid the newer run, silently

    following = run_dag({"dry_run": False})

    assert following.state == "success"
    outcome = following.outcomes()[CORE]
    change = outcome["outside_change"]
    assert change["run_id"] == newer.run_id and change["late_write_of"] == older.run_id
    # what the late write put back on top of the newer run's two states
    assert (change["added"], change["removed"]) == (sorted(set(older_states) - {"OH", "TX"}), [])
    note = next(a for a in following.report["adsets"] if a["adset_id"] == CORE)
    assert note["outside_change"] == change
    text = block_texts(sandbox.slack_messages()[-1])
    assert f"changed since CLOSRADS last wrote it ({utc_minute(change['since'])}, run {newer.run_id})" in text
    assert f"it holds again what run {older.run_id} wrote at" in text
    assert "a write that landed late" in text
    assert outcome["outcome"] == "updated"  # and the demand is back
    assert sandbox.targeted_states()[CORE] == ["OH", "TX"]
    # The other ad sets held what the newer run wrote: nothing to report for them.
    assert [o for o in following.outcomes().values() if "outside_change" in o] == [outcome]


def test_an_edit_made_outside_closrads_is_reported_and_a_never_written_adset_has_none(sandbox, run_dag):
    first = run_dag({"dry_run": False})
    assert first.state == "success"
    never_written = [i for i, o in first.outcomes().items() if o["outcome"] == "skipped"]
    targeting = sandbox.adset(CORE)["targeting"]
    targeting["geo_locations"]["regions"].append({"key": "3844", "name": "Alaska", "country": "US"})
    sandbox.update_adset(CORE, targeting=targeting)  # a person, in Ads Manager

    second = run_dag({"dry_run": True})

    change = second.outcomes()[CORE]["outside_change"]
    assert (change["added"], change["removed"], change["run_id"]) == (["AK"], [], first.run_id)
    assert "late_write_of" not in change
    assert (
        f"changed outside CLOSRADS since {utc_minute(change['since'])}: +AK (CLOSRADS wrote it in run {first.run_id})"
        in (block_texts(sandbox.slack_messages()[-1]))
    )
    assert never_written and all("outside_change" not in second.outcomes()[i] for i in never_written)

"""What Meta sees, run for real: its learning state, edits made outside CLOSRADS under each of the
campaign's three choices, the Marketing API's clock, and a refusal of a field CLOSRADS does not change.

Each test has a campaign of its own (a registry entry with a fresh slug on the sandbox's default
Connections), so its audit trail and Variables hold only its own runs.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from closrads.core import api_versions
from closrads.core.timestamps import utc_minute
from sandbox.scenario import learning
from tests.helpers import block_texts

pytestmark = pytest.mark.integration

A, B, C = "120215550000000001", "120215550000000002", "120215550000000003"


def set_variable(key: str, value: object) -> None:
    from airflow.models.variable import Variable

    Variable.set(key, value if isinstance(value, str) else json.dumps(value))


def graph_writes_to(sandbox, adset_id: str) -> int:
    return sum(1 for write in sandbox.graph_writes() if write["object_id"] == adset_id)


@pytest.mark.parametrize("choice", ["overwrite", "hold", "approve"])
def test_an_adset_edited_outside_closrads_is_reported_under_each_choice_and_written_only_under_overwrite(
    sandbox, run_dag, campaign, choice
):
    first = run_dag({"dry_run": False}, dag_id=campaign.sync_dag_id)
    assert first.state == "success", first.log[-3000:]
    sandbox.edit_adset(A, add=["AK"])  # a person adds Alaska in Ads Manager
    set_variable(campaign.on_outside_change_variable, choice)
    writes = len(sandbox.graph_writes())

    second = run_dag({"dry_run": False}, dag_id=campaign.sync_dag_id, answer="Reject" if choice == "approve" else None)

    reported = {row["adset_id"]: row for row in second.report["adsets"]}
    outcome = reported[A]
    change = outcome["outside_change"]
    assert (change["added"], change["removed"], change["run_id"]) == (["AK"], [], first.run_id)
    line = f"changed outside CLOSRADS since {utc_minute(change['since'])}: +AK"
    assert line in second.log and line in block_texts(sandbox.slack_messages()[-1])
    assert all("outside_change" not in reported[other] for other in (B, C))
    if choice == "overwrite":
        assert second.state == "success" and outcome["outcome"] == "updated" and outcome["removed"] == ["AK"]
        assert "AK" not in sandbox.targeted_states()[A] and len(sandbox.graph_writes()) == writes + 1
    elif choice == "hold":
        assert second.state == "success" and outcome["outcome"] == "held"
        assert outcome["held_note"].startswith(
            f"held back: changed outside CLOSRADS since {utc_minute(change['since'])}"
        )
        assert "AK" in sandbox.targeted_states()[A] and len(sandbox.graph_writes()) == writes
    else:
        (request,) = second.approvals
        assert "on\\_outside\\_change is approve" in request["body"] and line in request["body"]  # Markdown-escaped
        assert outcome["outcome"] == "rejected"  # the person said no: nothing was written
        assert "AK" in sandbox.targeted_states()[A] and len(sandbox.graph_writes()) == writes


def test_a_wrong_outside_change_setting_fails_map_regions_by_name_and_calls_no_graph(sandbox, run_dag, campaign):
    set_variable(campaign.on_outside_change_variable, "ignore")

    run = run_dag({"dry_run": False}, dag_id=campaign.sync_dag_id)

    assert run.state == "failed"
    (step,) = [s for s in run.report["steps"] if s["status"] == "failed"]
    assert step["name"] == "map_regions"
    assert step["error"] == (
        f"Variable {campaign.on_outside_change_variable} is 'ignore'; it must be one of overwrite, hold, approve"
    )
    assert sandbox.requests("graph") == []


def test_protection_goes_by_metas_last_significant_edit_and_says_where_meta_reports_none(sandbox, run_dag, campaign):
    set_variable(campaign.learning_phase_variable, {"min_edit_interval_hours": 24})
    sandbox.update_adset(A, learning_stage_info=learning("SUCCESS", 2 / 24))  # a person edited it 2 h ago
    sandbox.update_adset(B, learning_stage_info=learning("SUCCESS", 3))  # 3 days ago
    # C: Meta reports no learning state for it, and CLOSRADS never wrote it

    run = run_dag({"dry_run": False}, dag_id=campaign.sync_dag_id)

    assert run.state == "success", run.log[-3000:]
    held, written, unreported = (run.outcomes()[i] for i in (A, B, C))
    assert held["outcome"] == "held" and "(Meta's last significant edit)" in held["held_note"]
    assert held["learning"]["status"] == "SUCCESS"
    assert written["outcome"] == "updated" and unreported["outcome"] == "updated" and "learning" not in unreported
    notice = (
        "Meta reported no learning state for 1 of 3 ad sets (Meta does not report it for every ad account); "
        "for them, learning-phase protection went by CLOSRADS's own writes only"
    )
    assert run.report["notices"] == [notice]
    assert block_texts(sandbox.slack_messages()[-1]).count(notice) == 1
    assert graph_writes_to(sandbox, A) == 0


def test_an_adset_meta_reports_learning_waits_when_the_rule_is_on_and_a_forced_run_writes_it(
    sandbox, run_dag, campaign
):
    sandbox.update_adset(A, learning_stage_info=learning("LEARNING", 1))
    sandbox.update_adset(B, learning_stage_info=learning("SUCCESS", 1))

    off = run_dag({"dry_run": True}, dag_id=campaign.sync_dag_id)  # off by default: nothing held
    assert {o["outcome"] for o in off.outcomes().values()} == {"would_update"}
    assert (off.outcomes()[A]["learning"]["status"] == "LEARNING" and "notices" not in off.report) or not off.report[
        "notices"
    ]
    assert "Meta: LEARNING" in block_texts(sandbox.slack_messages()[-1])

    set_variable(campaign.learning_phase_variable, {"hold_while_learning": True})
    on = run_dag({"dry_run": False}, dag_id=campaign.sync_dag_id)
    assert on.state == "success", on.log[-3000:]
    assert on.outcomes()[A]["outcome"] == "held"
    assert on.outcomes()[A]["held_note"].startswith("held back: Meta reports it in its learning phase")
    assert on.outcomes()[B]["outcome"] == "updated" and graph_writes_to(sandbox, A) == 0

    forced = run_dag({"dry_run": False, "ignore_learning_phase": True}, dag_id=campaign.sync_dag_id)
    assert forced.outcomes()[A]["outcome"] == "updated" and graph_writes_to(sandbox, A) == 1


def test_an_ended_api_version_writes_nothing_and_names_the_connection_version_and_date(sandbox, run_dag, campaign):
    conn = sandbox.connections["facebook_ads_default"]
    sandbox.set_connection("facebook_ads_default", conn | {"extra": conn["extra"] | {"api_version": "v24.0"}})

    run = run_dag({"dry_run": False}, dag_id=campaign.sync_dag_id)

    assert run.state == "failed"
    (step,) = [s for s in run.report["steps"] if s["status"] == "failed"]
    assert step["name"] == "list_adsets"
    assert step["error"].startswith(
        "Airflow Connection 'facebook_ads_default' pins Graph API v24.0, which Meta ended on 2026-11-10"
    )
    assert (run.report["api_version"], run.report["api_version_ends"]) == ("v24.0", "2026-11-10")
    assert sandbox.requests("graph") == []
    assert "Nothing was changed on Facebook" in block_texts(sandbox.slack_messages()[-1])


def test_a_version_near_its_end_warns_once_in_the_report_and_slack(sandbox, run_dag, campaign, monkeypatch):
    ends = date.today() + timedelta(days=10)
    monkeypatch.setitem(api_versions.END_DATES, "v26.0", ends)

    run = run_dag({"dry_run": True}, dag_id=campaign.sync_dag_id)

    assert run.state == "success", run.log[-3000:]
    warning = (
        f'Graph API v26.0 ends on {ends.isoformat()} (in 10 days): move the Facebook Connection\'s "api_version" '
        "to a newer version before then"
    )
    assert run.report["notices"] == [warning]
    assert (run.report["api_version"], run.report["api_version_ends"]) == ("v26.0", ends.isoformat())
    assert block_texts(sandbox.slack_messages()[-1]).count(warning) == 1
    assert f"Warning: {warning}" in run.log

    # Every Slack message says it: the approval request and a failure alert too.
    sandbox.add_fault("graph", adset_id=A, method="POST", code=100, times=5)
    live = run_dag({"dry_run": False, "require_approval": True}, dag_id=campaign.sync_dag_id, answer="Approve")
    assert live.state == "failed" and live.outcomes()[A]["outcome"] == "failed"
    messages = [block_texts(message) for message in sandbox.slack_messages()[1:]]
    assert len(messages) == 3  # the approval request, the alert for A, the report
    assert all(text.count(warning) == 1 for text in messages), messages


def test_metas_answer_in_another_version_is_reported_once(sandbox, run_dag, campaign):
    sandbox.update_scenario(upgraded_versions=["v26.0"], upgrade_to="v27.0")

    run = run_dag({"dry_run": True}, dag_id=campaign.sync_dag_id)

    assert run.state == "success", run.log[-3000:]
    (notice,) = run.report["notices"]
    assert notice.startswith("Meta answered with Graph API v27.0, not the v26.0 that the Facebook Connection asks")
    assert "auto-upgraded" not in json.dumps(run.report)  # Meta's own header text is not quoted


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_retired_value_in_a_field_closrads_does_not_change_fails_that_adset_only(sandbox, run_dag, campaign, dry_run):
    targeting = sandbox.adset(A)["targeting"] | {"instagram_positions": ["stream", "explore"]}
    sandbox.update_adset(A, targeting=targeting)

    run = run_dag({"dry_run": dry_run}, dag_id=campaign.sync_dag_id)

    assert run.state == "failed"
    refused = run.outcomes()[A]
    assert refused["outcome"] == "failed"
    assert refused["error"].startswith(
        f"Meta refused the targeting of ad set {A} because of targeting.instagram_positions, a field CLOSRADS does "
        "not change"
    )
    assert "fix it in Ads Manager" in refused["error"]
    done = "would_update" if dry_run else "updated"
    assert run.outcomes()[B]["outcome"] == done and run.outcomes()[C]["outcome"] == done
    assert sandbox.adset(A)["targeting"]["instagram_positions"] == ["stream", "explore"]  # never stripped
    assert "a field CLOSRADS does not change" in block_texts(sandbox.slack_messages()[-1])

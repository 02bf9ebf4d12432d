"""Where the money went, run for real: the report's spend per state equals the sandbox's, spend in states
without demand is named, and a failing Insights call changes nothing else and says why."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from closrads.core.spend import state_for_region_name
from sandbox.scenario import ACCESS_TOKEN
from sandbox.server import SPEND_DEFAULTS, daily_spend_by_region
from tests.helpers import block_texts

pytestmark = pytest.mark.integration
# The days Insights is asked about, in the sandbox ad account's calendar (New York): a run near midnight
# UTC may see another day there, so a hostile row is sent for each that could be yesterday.
DAYS = [(date.today() - timedelta(days=n)).isoformat() for n in (0, 1, 2)]


def sandbox_spend_by_state(sandbox, days: int = 1) -> dict[str, float]:
    """``days`` of spend per state, as the sandbox's Insights computes it from the ad sets' targeting now."""
    daily = daily_spend_by_region(sandbox.state()["adsets"], SPEND_DEFAULTS)
    return {state_for_region_name(name): round(spent * days, 2) for name, spent in daily.items() if name != "Unknown"}


@pytest.mark.parametrize(("page_size", "pages"), [(100, 1), (25, 4)])
def test_the_reports_spend_per_state_is_the_sandboxs_and_no_demand_states_are_named(sandbox, run_dag, page_size, pages):
    sandbox.update_scenario(spend={"page_size": page_size})
    expected, expected_week = sandbox_spend_by_state(sandbox), sandbox_spend_by_state(sandbox, 7)
    run = run_dag({"dry_run": True})  # a dry run reads spend too (and writes nothing that would move it)

    assert run.state == "success", run.log[-3000:]
    spend = run.report["spend"]
    assert spend["currency"] == "USD"
    yesterday, week = spend["yesterday"], spend["last_7_days"]
    assert yesterday["by_state"] == pytest.approx(expected)
    assert week["by_state"] == pytest.approx(expected_week)
    assert "DC" in yesterday["by_state"]  # Insights says "Washington, District of Columbia"
    assert yesterday["other"] == pytest.approx(SPEND_DEFAULTS["unknown"])
    wanted = set(run.report["demand_states"])
    leaked = {code: spent for code, spent in expected.items() if code not in wanted}
    assert set(leaked) >= {"AK", "MA", "VT"}  # yesterday's states, still targeted, plus the leak
    assert yesterday["no_demand"] == pytest.approx(sum(leaked.values()))
    assert yesterday["total"] == pytest.approx(sum(expected.values()) + SPEND_DEFAULTS["unknown"])
    line = next(text for text in block_texts(sandbox.slack_messages()[-1]).split("\n") if "Yesterday $" in text)
    assert "in states with no demand: " in line and "AK $" in line and "VT $" in line
    insights = sandbox.requests("graph", kind="insights")
    assert len(insights) == pages and len(sandbox.requests("graph", kind="account")) == 1  # a handful per run


HOSTILE_ROWS = json.dumps(
    {"data": [{"date_start": day, "date_stop": day, "region": "Ohio", "spend": f"NaN {ACCESS_TOKEN}"} for day in DAYS]}
)


@pytest.mark.parametrize(
    ("fault", "why"),
    [
        ({"status": 503, "body": "<html>down</html>"}, "reading the spend per region of campaign"),
        ({"code": 80004}, "reading the spend per region of campaign"),  # throttled
        ({"code": 100, "message": f"Invalid parameter for token {ACCESS_TOKEN}"}, "reading the spend per region"),
        ({"delay": 3}, "reading the spend per region of campaign"),  # past the step's timeout (here 1 s), once
        ({"status": 200, "body": HOSTILE_ROWS, "content_type": "application/json"},
         "Insights sent a spend that is not an amount (yesterday, row 1)"),
    ],
)  # fmt: skip
def test_a_failing_insights_call_changes_nothing_else_and_says_why(sandbox, run_dag, monkeypatch, fault, why):
    monkeypatch.setattr("closrads.airflow.sync.spend.SPEND_REQUEST_TIMEOUT_SECONDS", 1.0)  # shipped: 30
    sandbox.add_fault("insights", **fault, times=5)

    run = run_dag({"dry_run": False})

    assert run.state == "success", run.log[-3000:]
    assert {o["outcome"] for o in run.outcomes().values()} == {"updated", "skipped"}
    assert len(sandbox.graph_writes()) == 5
    reason = run.report["spend"]["unavailable"]
    assert reason.startswith(why)
    text = block_texts(sandbox.slack_messages()[-1])
    assert f"Spend unavailable: {why}" in text
    assert ACCESS_TOKEN not in text + reason + run.log
    assert len(sandbox.requests("graph", kind="insights")) == 1  # tried once: never a wait for a figure


def test_a_leak_above_the_campaigns_threshold_is_said_plainly_in_slack(sandbox, run_dag, monkeypatch):
    from airflow.models.variable import Variable

    Variable.set("closrads_spend_leak_alert_percent", "1")
    try:
        run = run_dag({"dry_run": True})
        assert run.state == "success", run.log[-3000:]
        share = run.report["spend"]["yesterday"]["no_demand"] * 100 / run.report["spend"]["yesterday"]["total"]
        assert run.report["spend"]["alert_percent"] == 1.0
        text = block_texts(sandbox.slack_messages()[-1])
        assert f"Spend leak: {share:.1f}% of yesterday's spend" in text and "alert threshold of 1%" in text

        Variable.set("closrads_spend_leak_alert_percent", "lots")  # costs the alert, never the figures
        wrong = run_dag({"dry_run": True})
        assert "total" in wrong.report["spend"]["yesterday"]
        assert "the spend leak alert is off this run: Variable closrads_spend_leak_alert_percent must be" in (
            block_texts(sandbox.slack_messages()[-1])
        )
    finally:
        Variable.delete("closrads_spend_leak_alert_percent")
    unset = run_dag({"dry_run": True})
    assert "alert_percent" not in unset.report["spend"] and "Spend leak:" not in block_texts(
        sandbox.slack_messages()[-1]
    )


def test_the_runs_map_shows_each_states_spend_and_marks_spend_without_demand(sandbox, run_dag, airflow_api):
    from urllib.parse import quote

    run = run_dag({"dry_run": True})
    html = airflow_api.get(f"/closrads/runs/closrads_sync/{quote(run.run_id)}").text
    yesterday = run.report["spend"]["yesterday"]["by_state"]
    assert 'data-testid="run-spend">Yesterday $' in html
    ak = html.split('data-state="AK"', 1)[1].split("</div>", 1)[0]  # no demand, targeted and leaked into
    assert f'data-spent="${yesterday["AK"]:,.2f}" data-leak="yes"' in ak and "&#9888;$" in ak
    assert "spent yesterday with no demand" in ak  # the tile's text alternative: readable without colour
    oh = html.split('data-state="OH"', 1)[1].split("</div>", 1)[0]
    assert f'data-spent="${yesterday["OH"]:,.2f}" data-leak="no"' in oh and "&#9888;" not in oh


def test_the_campaigns_page_charts_each_runs_share_and_the_overview_shows_the_latest(
    sandbox, run_dag, campaign, airflow_api
):
    """Leakage falls once CLOSRADS goes live and rises when someone puts a state back in Ads Manager; a
    run without a figure is a gap, and the overview keeps the last known share."""
    import re

    dag_id = campaign.sync_dag_id
    before = run_dag({"dry_run": True}, dag_id=dag_id)  # the ad sets still target AK, MA, VT
    live = run_dag({"dry_run": False}, dag_id=dag_id)
    after = run_dag({"dry_run": True}, dag_id=dag_id)  # now only the leak reaches them
    sandbox.edit_adset(sandbox.active_ids()[0], add=["MA"])  # a person puts a no-demand state back
    edited = run_dag({"dry_run": True}, dag_id=dag_id)
    sandbox.add_fault("insights", status=503, body="<html>down</html>", times=5)
    blind = run_dag({"dry_run": True}, dag_id=dag_id)
    runs = [before, live, after, edited, blind]
    assert all(run.state == "success" for run in runs)

    def share(run) -> str:
        yesterday = run.report["spend"].get("yesterday")
        return f"{yesterday['no_demand'] * 100 / yesterday['total']:.1f}" if yesterday else ""

    html = airflow_api.get(f"/closrads/dags/{dag_id}").text
    bars = re.findall(r'class="point" data-run="([^"]+)" data-share="([^"]*)"', html)
    assert bars == [(run.run_id, share(run)) for run in runs]  # oldest first, as each report says
    assert float(share(after)) < float(share(before)) and float(share(after)) < float(share(edited))
    heights = [
        float(h) for h in re.findall(r'<rect class="bar" x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)"', html)
    ]
    assert len(heights) == 4 and heights[0] / heights[2] == pytest.approx(
        float(share(before)) / float(share(after)), 0.05
    )
    assert html.count('class="gap"') == 1 and "spend unavailable: reading the spend per region" in html
    assert 'role="img"' in html and "5 of the last 5 runs" not in html and "4 of the last 5 runs measured spend" in html
    assert "<script" not in html and not re.search(r'(src|href)="(https?:)?//', html)  # nothing from outside
    cell = html.split(f'<tr data-run="{after.run_id}">', 1)[1].split("</tr>", 1)[0]
    assert f">{share(after)}%<" in cell  # the runs table says each share in words too

    shown = airflow_api.get(f"/closrads/api/dags/{dag_id}/spend").json()["runs"]  # the same figures for tools
    assert [(p["run_id"], f"{p['share']:.1f}" if p["share"] is not None else "") for p in shown] == bars
    assert shown[-1]["text"].startswith("spend unavailable: reading the spend per region of campaign")

    overview = airflow_api.get("/closrads/").text.split(f'<tr data-dag="{dag_id}">', 1)[1].split("</tr>", 1)[0]
    assert f'data-share="{share(edited)}"' in overview and f">{share(edited)}%</a>" in overview
    assert 'data-testid="leak-missing"' in overview  # the latest run has no figure, and it says so

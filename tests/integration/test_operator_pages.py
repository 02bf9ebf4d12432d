"""The operator's pages (the closrads_ui plugin's app, mounted by Airflow's API server) say what the
run's report says: tested through Airflow's own API app in process, after real runs against the sandbox.
(The browser, the UI's own frames and a user without access are the next step of issue 17.)"""

import re
from types import SimpleNamespace
from urllib.parse import quote

import pytest

pytestmark = pytest.mark.integration

CORE = "120215550000000001"
SAME_ORIGIN = {"Origin": "http://testserver"}  # what a browser sends with the form, from the in-process app


@pytest.fixture
def live_run(sandbox, run_dag):
    result = run_dag({"dry_run": False})
    assert result.state == "success"
    return result


def test_the_run_map_says_what_the_report_says(live_run, airflow_api):
    report = live_run.report
    shown = airflow_api.get(f"/closrads/api/runs/closrads_sync/{live_run.run_id}").json()

    assert shown["state"] == "success" and not shown["waiting_for_approval"]
    assert shown["map"]["summary"] == "LIVE: 5 updated, 1 skipped"
    states = {s["code"]: s for s in shown["map"]["states"]}
    assert len(states) == 51
    demand = live_run.xcoms[("fetch_demand", -1, "return_value")]["states"]
    assert {code for code, s in states.items() if s["demand"]} == set(demand) == set(report["demand_states"])
    updated = [a for a in report["adsets"] if a["outcome"] == "updated"]
    for code in ("TX", "AK", "OH"):
        assert states[code]["added_to"] == sum(code in a["added"] for a in updated)
        assert states[code]["removed_from"] == sum(code in a["removed"] for a in updated)
    assert states["TX"]["added_to"] >= 1 and states["AK"]["removed_from"] >= 1
    assert [(a["adset_id"], a["outcome"]) for a in shown["map"]["adsets"]] == [
        (a["adset_id"], a["outcome"]) for a in report["adsets"]
    ]


def test_the_run_page_draws_every_state_and_lists_every_change(live_run, airflow_api):
    page = airflow_api.get(f"/closrads/runs/closrads_sync/{live_run.run_id}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert len(re.findall(r'class="tile band-', html)) == 51
    assert 'data-state="TX" data-band="top" data-demand="24"' in html
    assert 'aria-label="TX: 24 leads wanted; added to' in html  # readable without colour
    rows = dict(re.findall(r'<tr data-adset="(\d+)" data-status="([^"]+)">', html))
    assert rows == {
        a["adset_id"]: {"updated": "changed", "skipped": "unchanged"}[a["outcome"]] for a in live_run.report["adsets"]
    }
    assert f'href="/closrads/adsets/closrads_sync/{CORE}"' in html
    assert "http://" not in html.replace("http://localhost", "") and "<script" not in html  # nothing from outside


def test_an_adsets_history_links_to_a_filled_rollback_form(live_run, airflow_api):
    html = airflow_api.get(f"/closrads/adsets/closrads_sync/{CORE}").text

    runs = re.findall(r'<tr data-run="([^"]+)" data-kind="sync">', html)
    assert runs[0] == live_run.run_id  # newest first (the metadata DB holds earlier tests' runs too)
    text = re.sub(r"<[^>]+>", "", html)
    assert "+NE +TX +WV" in text and "&minus;AK &minus;MA &minus;VT" in text
    undo = re.findall(r'data-testid="undo" href="([^"]+)"', html)[0]
    assert undo == f"/closrads/undo/closrads_sync/{quote(live_run.run_id, safe='')}?adset_id={CORE}"

    # The undo link: the rollback's trigger form, filled in, dry by default; submitting it triggers it.
    form = airflow_api.get(undo).text
    assert f'name="run_id" value="{live_run.run_id}" readonly' in form
    assert f'name="only_adset" value="{CORE}" checked' in form and 'name="dry_run" value="true" checked' in form
    assert f'<tr data-adset="{CORE}">' in form  # what the run wrote there, to be put back
    answer = airflow_api.post(
        undo.split("?")[0],
        data={"run_id": live_run.run_id, "only_adset": CORE, "dry_run": "true", "stop_live_schedule": "true"},
        headers=SAME_ORIGIN,
        follow_redirects=False,
    )
    # It lands, in the same (sandboxed) tab, on the new rollback run's page, which moves Airflow's UI to it.
    landing = answer.headers["location"]
    assert answer.status_code == 303 and landing.startswith("/closrads/runs/closrads_rollback/")
    assert landing.endswith("?triggered=true")
    rollback = rollback_run(new_run_id(landing))
    assert rollback.conf == {
        "run_id": live_run.run_id,
        "adset_ids": [CORE],
        "dry_run": True,
        "stop_live_schedule": True,
    }
    assert rollback.triggered_by.value == "ui"
    # A request without the checkboxes stays dry and stops the live schedule; only an explicit untick is live.
    bare = airflow_api.post(undo.split("?")[0], data={}, headers=SAME_ORIGIN, follow_redirects=False)
    assert rollback_run(new_run_id(bare.headers["location"])).conf["dry_run"] is True
    live = airflow_api.post(undo.split("?")[0], data={"dry_run": "false"}, headers=SAME_ORIGIN, follow_redirects=False)
    assert rollback_run(new_run_id(live.headers["location"])).conf["dry_run"] is False
    foreign = airflow_api.post(undo.split("?")[0], data={}, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert airflow_api.post(undo.split("?")[0], data={}).status_code == 403  # no Origin: not a browser's form


def new_run_id(location: str) -> str:
    return location.split("?")[0].rsplit("/", 1)[1]


def rollback_run(run_id: str):
    from urllib.parse import unquote

    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:  # read it, then remove it: no scheduler here would ever run it
        run = session.scalars(
            select(DagRun).where(DagRun.dag_id == "closrads_rollback", DagRun.run_id == unquote(run_id))
        ).one()
        conf, triggered_by = dict(run.conf), run.triggered_by
        session.delete(run)
    return SimpleNamespace(conf=conf, triggered_by=triggered_by)


def test_the_overview_lists_the_campaign_with_its_last_run(live_run, airflow_api):
    html = airflow_api.get("/closrads/").text
    assert '<tr data-dag="closrads_sync">' in html and live_run.run_id in html


def test_other_dags_and_unknown_runs_have_no_page(sandbox, airflow_api):
    assert airflow_api.get("/closrads/runs/closrads_rollback/x").status_code == 404
    assert airflow_api.get("/closrads/runs/closrads_sync/no-such-run").status_code == 404
    assert airflow_api.get("/closrads/api/runs/some_other_dag/x").json() == {
        "detail": "some_other_dag is not a CLOSRADS sync or rollback DAG"
    }
    # The tab every DAG run has: a page that says what it shows, not raw JSON.
    page = airflow_api.get("/closrads/runs/some_other_dag/x")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "<code>some_other_dag</code> is not a CLOSRADS sync or rollback DAG" in page.text
    assert "text/html" in airflow_api.get("/closrads/dags/some_other_dag").headers["content-type"]


def test_a_rollback_runs_tab_shows_what_it_restored(live_run, run_dag, airflow_api):
    undo = run_dag(
        {"run_id": live_run.run_id, "dry_run": False, "stop_live_schedule": False}, dag_id="closrads_rollback"
    )
    assert undo.state == "success"

    shown = airflow_api.get(f"/closrads/api/runs/closrads_rollback/{undo.run_id}").json()["map"]
    assert shown["summary"] == "LIVE: 5 updated" and not shown["shows_demand"]
    states = {s["code"]: s for s in shown["states"]}
    synced = live_run.report["adsets"]
    for code in ("AK", "TX"):  # what the sync changed, the other way round
        assert states[code]["added_to"] == sum(code in a["removed"] for a in synced)
        assert states[code]["removed_from"] == sum(code in a["added"] for a in synced)
    assert states["AK"]["added_to"] and states["TX"]["removed_from"]
    html = airflow_api.get(f"/closrads/runs/closrads_rollback/{quote(undo.run_id, safe='')}").text
    assert "What this rollback changed, by state" in html and "Leads wanted:" not in html
    assert f'href="/closrads/adsets/closrads_sync/{CORE}"' in html  # the ad set's history is the campaign's


def test_a_campaigns_page_lists_its_runs_each_to_its_map(live_run, airflow_api):
    html = airflow_api.get("/closrads/dags/closrads_sync").text
    assert f'<tr data-run="{live_run.run_id}">' in html
    assert f'href="/closrads/runs/closrads_sync/{quote(live_run.run_id, safe="")}"' in html
    assert airflow_api.get("/closrads/dags/closrads_rollback").status_code == 200  # the rollback's runs too


def set_paused(dag_id: str, paused: bool) -> None:
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import update

    with create_session() as session:
        session.execute(update(DagModel).where(DagModel.dag_id == dag_id).values(is_paused=paused))


def test_a_paused_rollback_says_why_its_run_waits_and_the_form_can_unpause_it(live_run, airflow_api):
    from airflow.utils.session import create_session

    from closrads.airflow.ui.data import dag_paused

    undo = f"/closrads/undo/closrads_sync/{quote(live_run.run_id, safe='')}"
    set_paused("closrads_rollback", True)
    assert 'name="unpause" value="true" checked' in airflow_api.get(undo).text  # offered while paused

    waiting = airflow_api.post(undo, data={"dry_run": "true"}, headers=SAME_ORIGIN, follow_redirects=False)
    waiting = waiting.headers["location"]
    page = airflow_api.get(waiting).text
    assert '<b data-testid="run-state">queued</b>' in page
    assert "This run waits because <code>closrads_rollback</code> is paused" in page
    rollback_run(new_run_id(waiting))

    ticked = airflow_api.post(
        undo, data={"dry_run": "true", "unpause": "true"}, headers=SAME_ORIGIN, follow_redirects=False
    )
    with create_session() as session:
        assert not dag_paused(session, "closrads_rollback")
    assert "is paused" not in airflow_api.get(ticked.headers["location"]).text
    rollback_run(new_run_id(ticked.headers["location"]))


def test_asset_events_posted_through_rest_are_no_closrads_writes(live_run, airflow_api, run_dag, sandbox):
    """Any user allowed to create asset events can post one on an ad set's asset: a forged record shows
    nowhere as a write and cannot steer an undo, and a malformed one breaks no page."""
    from airflow.models.asset import AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        asset_id = session.scalar(select(AssetModel.id).where(AssetModel.uri == f"closrads://adsets/{CORE}"))
    events = airflow_api.get("/api/v2/assets/events", params={"asset_id": asset_id, "limit": 100}).json()
    real = next(e for e in events["asset_events"] if e["source_run_id"] == live_run.run_id)["extra"]
    forged = real | {"run_id": "manual__forged", "regions_before": [], "added": ["HI"]}
    spoofed = real | {"regions_before": [{"key": "3855", "name": "Hawaii", "country": "US"}]}  # claims the real run
    malformed = real | {"run_id": "manual__malformed", "regions_after": "not a list", "written_at": 7}
    for extra in (forged, spoofed, malformed, {"adset_id": CORE}):
        posted = airflow_api.post("/api/v2/assets/events", json={"asset_id": asset_id, "extra": extra})
        assert posted.status_code == 200, posted.text

    page = airflow_api.get(f"/closrads/adsets/closrads_sync/{CORE}")
    assert page.status_code == 200
    shown = re.findall(r'<tr data-run="([^"]+)" data-kind', page.text)  # earlier tests' writes too
    assert shown.count(live_run.run_id) == 1 and "manual__malformed" not in shown  # the real write, once
    assert "manual__forged" not in page.text and "Hawaii" not in page.text

    # The undo of the real run restores what the real run replaced, not what the spoofed event claims.
    undo = run_dag({"run_id": live_run.run_id, "dry_run": False, "adset_ids": [CORE], "stop_live_schedule": False},
                   dag_id="closrads_rollback")  # fmt: skip
    assert undo.state == "success"
    assert "HI" not in sandbox.targeted_states()[CORE] and "AK" in sandbox.targeted_states()[CORE]


def test_the_undo_form_behind_a_proxy_is_accepted_from_the_configured_address_and_cannot_be_framed(
    live_run, airflow_api, monkeypatch
):
    """Behind a TLS proxy the request reaches Airflow as http://airflow:8080 while the browser's page is
    https://airflow.example.com: Airflow's [api] base_url names the address operators use."""
    undo = f"/closrads/undo/closrads_sync/{quote(live_run.run_id, safe='')}"
    proxied = {"Origin": "https://airflow.example.com"}
    assert airflow_api.post(undo, data={}, headers=proxied, follow_redirects=False).status_code == 403
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/")
    answer = airflow_api.post(undo, data={}, headers=proxied, follow_redirects=False)
    assert answer.status_code == 303
    rollback_run(new_run_id(answer.headers["location"]))
    form = airflow_api.get(undo)
    assert form.headers["content-security-policy"] == "frame-ancestors 'self'"


def test_the_run_page_and_the_history_show_metas_learning_state_and_an_outside_change(sandbox, run_dag, airflow_api):
    spouses = "120215550000000002"  # Meta reports it learning since yesterday (the sandbox's scenario)
    first = run_dag({"dry_run": False})
    sandbox.edit_adset(CORE, add=["AK"])  # a person, in Ads Manager
    second = run_dag({"dry_run": True})
    assert first.state == second.state == "success"

    html = airflow_api.get(f"/closrads/runs/closrads_sync/{quote(second.run_id)}").text
    row = re.search(rf'<tr data-adset="{CORE}".*?</tr>', html, re.S).group(0)
    assert 'data-testid="outside-change">&#9888; changed outside CLOSRADS since' in row and ": +AK (" in row
    assert re.search(rf'<tr data-adset="{spouses}".*?data-testid="learning"[^>]*>Meta: LEARNING<', html, re.S)

    history = airflow_api.get(f"/closrads/adsets/closrads_sync/{CORE}").text
    banner = re.search(r'data-testid="last-seen">(.*?)</p>', history, re.S).group(1)
    assert second.run_id in banner and "changed outside CLOSRADS since" in banner and ": +AK (" in banner
    assert "Meta: LEARNING" in banner  # the first run's write put it back into learning

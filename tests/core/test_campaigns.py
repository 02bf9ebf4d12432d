"""The campaign registry: what a valid file gives, what each campaign's names are, and the message a
bad file gets (naming the entry and the field)."""

import pytest

from closrads.core.campaigns import (
    DEFAULT_CAMPAIGN,
    REGISTRY_FILE_ENV,
    Campaign,
    RegistryError,
    load_registry,
    parse_registry,
)

ENTRY = """
  - slug: {slug}
    closrtech_conn_id: closrtech_{slug}
    facebook_conn_id: facebook_{slug}
    ad_account_id: {account}
"""


def registry(*entries: str) -> str:
    return "campaigns:\n" + "".join(entries)


def entry(slug: str, account: str = "act_100", **extra) -> str:
    text = ENTRY.format(slug=slug, account=account)
    return text + "".join(f"    {key}: {value}\n" for key, value in extra.items())


def test_a_registry_of_three_campaigns_with_their_own_names():
    parsed = parse_registry(
        registry(entry("veterans", client="acme"), entry("roofing", "2222", schedule='"30 14 * * *"'), entry("solar"))
    )
    veterans, roofing, solar = parsed.campaigns
    assert [c.slug for c in parsed.campaigns] == ["veterans", "roofing", "solar"]
    assert (veterans.sync_dag_id, veterans.rollback_dag_id) == (
        "closrads_sync__veterans",
        "closrads_rollback__veterans",
    )
    assert veterans.dry_run_variable == "closrads_dry_run__veterans"
    assert veterans.approval_threshold_variable == "closrads_approval_threshold__veterans"
    assert veterans.approval_timeout_variable == "closrads_approval_timeout_minutes__veterans"
    assert veterans.applied_demand_variable == "closrads_last_applied_demand__veterans"
    assert veterans.audit_alias == "closrads_targeting_changes__veterans"
    assert veterans.tags == ["closrads", "facebook-ads", "campaign:veterans", "client:acme"]
    assert veterans.adset_asset("42") == ("closrads_act_100_adset_42", "closrads://act_100/adsets/42")
    # Graph is bounded per ad account: two campaigns in one account share a pool
    assert veterans.graph_pool == solar.graph_pool == "closrads_graph__act_100"
    assert roofing.ad_account_id == "act_2222" and roofing.graph_pool == "closrads_graph__act_2222"
    assert roofing.scheduled == "30 14 * * *" and veterans.scheduled == "0 13 * * *"
    assert (veterans.approval_threshold, veterans.approval_timeout_minutes, veterans.slack_conn_id) == (
        10,
        60,
        "closrads_slack",
    )
    assert parsed.for_dag("closrads_rollback__roofing") is roofing


def test_a_campaign_that_keeps_the_single_campaign_names_beside_others():
    """A deployment that grows a registry keeps its first campaign's DAG, Variables and audit history."""
    first, second = parse_registry(registry(entry("veterans", legacy_names="true"), entry("roofing"))).campaigns
    assert (first.sync_dag_id, first.dry_run_variable, first.audit_alias) == (
        "closrads_sync",
        "closrads_dry_run",
        "closrads_targeting_changes",
    )
    assert first.adset_asset("42") == ("closrads_adset_42", "closrads://adsets/42")
    # but its Graph pool is its ad account's, shared with every other campaign there
    assert first.graph_pool == second.graph_pool == "closrads_graph__act_100"
    assert "campaign:veterans" in first.tags
    assert second.sync_dag_id == "closrads_sync__roofing"


def test_a_disabled_campaign_keeps_its_dags_without_a_schedule():
    (campaign,) = parse_registry(registry(entry("paused", enabled="false"))).campaigns
    assert campaign.scheduled is None and "disabled" in campaign.tags


def test_the_default_campaign_keeps_the_single_campaign_names():
    c = DEFAULT_CAMPAIGN
    assert (c.sync_dag_id, c.rollback_dag_id, c.dry_run_variable) == (
        "closrads_sync",
        "closrads_rollback",
        "closrads_dry_run",
    )
    assert (c.approval_threshold_variable, c.applied_demand_variable, c.graph_pool, c.audit_alias) == (
        "closrads_approval_threshold",
        "closrads_last_applied_demand",
        "closrads_graph",
        "closrads_targeting_changes",
    )
    assert (c.closrtech_conn_id, c.facebook_conn_id, c.slack_conn_id) == (
        "closrtech_default",
        "facebook_ads_default",
        "closrads_slack",
    )
    assert c.adset_asset("42") == ("closrads_adset_42", "closrads://adsets/42")
    assert c.tags == ["closrads", "facebook-ads"]


def test_no_registry_file_is_the_default_campaign_alone(monkeypatch, tmp_path):
    monkeypatch.delenv(REGISTRY_FILE_ENV, raising=False)
    monkeypatch.setattr("closrads.core.campaigns.DEFAULT_REGISTRY_FILE", tmp_path / "campaigns.yaml")
    assert load_registry().campaigns == [DEFAULT_CAMPAIGN]


def test_none_means_the_default_campaign_whatever_include_holds(monkeypatch, tmp_path):
    present = tmp_path / "campaigns.yaml"
    present.write_text(registry(entry("acme")))
    monkeypatch.setattr("closrads.core.campaigns.DEFAULT_REGISTRY_FILE", present)
    monkeypatch.setenv(REGISTRY_FILE_ENV, "none")
    assert load_registry().campaigns == [DEFAULT_CAMPAIGN]
    monkeypatch.delenv(REGISTRY_FILE_ENV)
    assert [c.slug for c in load_registry().campaigns] == ["acme"]


def test_a_registry_file_named_but_missing_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv(REGISTRY_FILE_ENV, str(tmp_path / "nope.yaml"))
    with pytest.raises(RegistryError, match=r"nope\.yaml, which does not exist"):
        load_registry()


def test_an_edited_file_is_read_again(monkeypatch, tmp_path):
    path = tmp_path / "campaigns.yaml"
    path.write_text(registry(entry("one")))
    monkeypatch.setenv(REGISTRY_FILE_ENV, str(path))
    assert [c.slug for c in load_registry().campaigns] == ["one"]
    path.write_text(registry(entry("one"), entry("two")))
    assert [c.slug for c in load_registry().campaigns] == ["one", "two"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            registry(entry("acme"), entry("other"), entry("acme", "act_200")),
            r"entries 1 and 3 \('acme'\) both use slug 'acme'",
        ),
        (
            registry(entry("acme"), entry("acme_two", colour="blue")),
            r"entry 2 \('acme_two'\): field 'colour': unknown field",
        ),
        (
            registry(entry("acme"), "  - slug: beta\n    facebook_conn_id: fb_beta\n    ad_account_id: act_1\n"),
            r"entry 2 \('beta'\): field 'closrtech_conn_id': missing \(required\)",
        ),
        (registry(entry("acme", "act_12ab")), r"entry 1 \('acme'\): field 'ad_account_id': .*act_ followed by digits"),
        (registry(entry("Acme-Roofing")), r"entry 1 \('Acme-Roofing'\): field 'slug'"),
        (registry(entry("acme", approval_threshold=-1)), r"field 'approval_threshold'"),
        (registry(entry("acme", schedule="every day")), r"field 'schedule': .*cron expression of 5 fields"),
        (registry(entry("acme", schedule='"@once"')), r"field 'schedule'"),
        (registry(entry("acme"), "  - just a string\n"), "entry 2: must be a mapping of fields"),
        (
            registry(entry("one"), entry("two").replace("facebook_two", "facebook_one")),
            "entries 1 and 2 \\('two'\\) both use facebook_conn_id 'facebook_one'",
        ),
        (
            registry(entry("one", legacy_names="true"), entry("two", legacy_names="true")),
            r"entries 1 and 2 \('two'\) both use the DAG id closrads_sync \(legacy_names: true\)",
        ),
        ("campaigns: []\n", "lists no campaign"),
        ("campaign:\n  - slug: x\n", "a list under 'campaigns:'"),
        ("campaigns:\n  - slug: [unclosed\n", "not valid YAML at line"),
    ],
)
def test_a_bad_registry_names_the_entry_and_field(text, message):
    with pytest.raises(RegistryError, match=message):
        parse_registry(text, source="campaigns.yaml")


def test_a_message_never_quotes_a_long_value():
    text = registry(entry("x" * 5000))
    with pytest.raises(RegistryError) as caught:
        parse_registry(text)
    assert len(str(caught.value)) < 400


def test_campaign_is_frozen():
    campaign = parse_registry(registry(entry("acme"))).campaigns[0]
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        campaign.slug = "other"  # type: ignore[misc]
    assert isinstance(campaign, Campaign)


def test_the_shipped_example_registry_is_valid():
    from closrads.core.campaigns import DEFAULT_REGISTRY_FILE

    example = load_registry(DEFAULT_REGISTRY_FILE.with_name("campaigns.example.yaml"))
    legacy, roofing = example.campaigns
    assert (legacy.sync_dag_id, roofing.sync_dag_id) == ("closrads_sync", "closrads_sync__acme_roofing")
    assert roofing.slack_conn_id == "slack_acme" and roofing.approval_threshold == 5
    assert roofing.learning_phase == {
        "min_edit_interval_hours": 72,
        "add_at_demand": 3,
        "remove_after_zero_runs": 3,
        "hold_while_learning": False,
    }
    assert legacy.learning_phase is None  # off unless a campaign sets it
    assert (legacy.learning_phase_variable, roofing.learning_phase_variable) == (
        "closrads_learning_phase",
        "closrads_learning_phase__acme_roofing",
    )
    assert (legacy.demand_history_variable, roofing.demand_history_variable) == (
        "closrads_demand_history",
        "closrads_demand_history__acme_roofing",
    )


def test_a_wrong_learning_phase_setting_names_its_entry_and_field(campaign_registry):
    campaign_registry([{"slug": "alpha", "closrtech_conn_id": "a", "facebook_conn_id": "f", "ad_account_id": "act_1",
                        "learning_phase": {"remove_after_zero_runs": 0}}])  # fmt: skip
    with pytest.raises(RegistryError) as error:
        load_registry()
    assert "entry 1 ('alpha'): field 'learning_phase': field 'remove_after_zero_runs' must be a whole number" in str(
        error.value
    )


def _chained_merge_keys(levels: int) -> str:
    text = "a0: &a0 {x: 1}\n"
    for n in range(1, levels):
        text += f"a{n}: &a{n}\n  <<: [*a{n - 1}, *a{n - 1}]\n"
    return text + "campaigns: []\n"


DUPLICATE_KEY = registry(entry("one"), entry("two")) + "    facebook_conn_id: facebook_one\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (DUPLICATE_KEY, r"is not valid YAML at line 12: a key appears twice \('facebook_conn_id'\)"),
        (_chained_merge_keys(30), "is not valid YAML at line 1: anchors, aliases and merge keys are not used"),
        ("campaigns:\n" + "- " * 20_000 + "x\n", "nested too deep|not valid YAML"),
        ("campaigns: [" + "[" * 20_000 + "]" * 20_000 + "]\n", "nested too deep|not valid YAML"),
    ],
    ids=["duplicate-key", "merge-keys", "nested-block", "nested-flow"],
)
def test_a_hostile_registry_fails_fast_naming_the_file_and_problem(text, message):
    import time

    started = time.monotonic()
    with pytest.raises(RegistryError, match=message) as refused:
        parse_registry(text, source="campaigns.yaml")
    assert str(refused.value).startswith("campaigns.yaml ")
    assert time.monotonic() - started < 2


def test_a_bad_registry_file_is_read_once_not_at_every_page_or_parse(tmp_path, monkeypatch):
    from closrads.core import campaigns

    bad = tmp_path / "campaigns.yaml"
    bad.write_text("campaigns: [}\n")
    monkeypatch.setenv(REGISTRY_FILE_ENV, str(bad))
    calls = []
    real_parse = campaigns.parse_registry
    monkeypatch.setattr(campaigns, "parse_registry", lambda *a, **k: calls.append(1) or real_parse(*a, **k))
    for _ in range(3):
        with pytest.raises(RegistryError, match="is not valid YAML at line 1"):
            load_registry()
    assert len(calls) == 1

import pytest

from closrads.core.run_mode import parse_flag, resolve_run_mode


@pytest.mark.parametrize("value", ["true", "TRUE", " 1 ", "yes", "On", True])
def test_true_spellings(value):
    assert parse_flag(value) is True


@pytest.mark.parametrize("value", ["false", "False", "0", "no", "OFF", False])
def test_false_spellings(value):
    assert parse_flag(value) is False


@pytest.mark.parametrize("value", ["", "maybe", "2", "tru"])
def test_other_values_are_errors(value):
    with pytest.raises(ValueError):
        parse_flag(value)


def test_scheduled_run_without_variable_is_dry_and_says_why():
    mode = resolve_run_mode(scheduled=True, dry_run_param=False, dry_run_variable=None)
    assert mode.dry_run
    assert mode.describe() == "DRY RUN: scheduled run, Variable closrads_dry_run is not set"


def test_scheduled_run_follows_the_variable_not_the_param():
    mode = resolve_run_mode(scheduled=True, dry_run_param=True, dry_run_variable="false")
    assert not mode.dry_run
    assert mode.describe() == "LIVE: scheduled run, Variable closrads_dry_run='false'"


def test_unreadable_variable_keeps_the_run_dry_and_is_flagged():
    mode = resolve_run_mode(scheduled=True, dry_run_param=False, dry_run_variable="nope")
    assert mode.dry_run and mode.invalid
    assert "'nope' is not a recognised true/false value" in mode.reason


def test_manual_run_follows_the_param():
    assert not resolve_run_mode(scheduled=False, dry_run_param=False, dry_run_variable="true").dry_run
    assert resolve_run_mode(scheduled=False, dry_run_param=None, dry_run_variable="false").dry_run


def test_a_variable_that_cannot_be_read_keeps_the_scheduled_run_dry():
    mode = resolve_run_mode(scheduled=True, dry_run_param=False, dry_run_variable=None, variable_error="TimeoutError")
    assert mode.dry_run and mode.invalid
    assert "could not be read (TimeoutError)" in mode.reason


def test_mode_round_trips_through_xcom_json():
    from closrads.core.run_mode import RunMode

    mode = resolve_run_mode(scheduled=False, dry_run_param=False, dry_run_variable=None)
    assert RunMode.from_dict(mode.to_dict()) == mode

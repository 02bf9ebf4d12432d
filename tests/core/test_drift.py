"""What changed an ad set since CLOSRADS last wrote it, and what a campaign chooses to do then."""

import pytest

from closrads.core.drift import (
    OnOutsideChange,
    OutsideChange,
    OutsideChangeSettingError,
    approval_reasons,
    hold_note,
    parse_on_outside_change,
)

CHANGE = OutsideChange("2026-12-06T13:00:00+00:00", "scheduled__1", added=["FL"], removed=["TX"])


def test_an_outside_change_reads_as_the_operator_expects():
    assert (
        CHANGE.describe()
        == "changed outside CLOSRADS since 2026-12-06 13:00 UTC: +FL -TX (CLOSRADS wrote it in run scheduled__1)"
    )
    assert CHANGE.made_outside and OutsideChange.from_dict(CHANGE.to_dict()) == CHANGE
    late = OutsideChange(CHANGE.since, "scheduled__2", ["FL"], [], late_write_of="scheduled__1", late_write_at="x")
    assert not late.made_outside and "a write that landed late" in late.describe()


@pytest.mark.parametrize(("raw", "choice"), [("hold", "hold"), (" Approve ", "approve"), ('"overwrite"', "overwrite")])
def test_the_three_choices_as_a_person_writes_them(raw, choice):
    assert parse_on_outside_change(raw, source="Variable v") == OnOutsideChange(choice)


@pytest.mark.parametrize("raw", ["ignore", "", None, 1, "hold it"])
def test_anything_else_is_refused_by_name(raw):
    with pytest.raises(
        OutsideChangeSettingError, match=r"^Variable v is .*; it must be one of overwrite, hold, approve$"
    ):
        parse_on_outside_change(raw, source="Variable v")


def test_what_hold_and_approve_say():
    assert hold_note(CHANGE).startswith("held back: changed outside CLOSRADS since 2026-12-06 13:00 UTC")
    reasons = approval_reasons([(f"Ad set {n} ({n})", CHANGE) for n in range(7)])
    assert reasons[0] == (
        "Ad set 0 (0) was changed outside CLOSRADS since 2026-12-06 13:00 UTC (+FL -TX); on_outside_change is approve"
    )
    assert len(reasons) == 6 and reasons[-1] == "... and 2 more ad sets changed outside CLOSRADS"

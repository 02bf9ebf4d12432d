"""What Meta says about an ad set's learning phase: its status and its last significant edit.

Every targeting edit is a significant edit to Meta, whoever makes it: CLOSRADS, a person in Ads
Manager, or one of Meta's automatic adjustments. Meta reports per ad set ``learning_stage_info``
(``status``: LEARNING, SUCCESS or FAIL; ``last_sig_edit_ts``: the last significant edit, in Unix
seconds) in the same listing call CLOSRADS already makes, at no extra request. It is not returned for
every ad set: not for ad accounts Meta does not report it for, nor for ad sets that are not active.
Then CLOSRADS knows only its own writes (the audit trail), and says so.

Pure logic: the hook asks for the field, :mod:`closrads.airflow.sync.planning` holds back by it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from closrads.core.timestamps import utc_minute

LEARNING = "LEARNING"
# A status is Meta's word, shown as it is: bounded, and only letters and underscores (never markup).
_STATUS = re.compile(r"^[A-Z_]{1,30}$")
# Meta's edit times are Unix seconds; anything before the Marketing API existed, or far in the
# future, is not one.
_EARLIEST, _LATEST = datetime(2010, 1, 1, tzinfo=UTC).timestamp(), datetime(2100, 1, 1, tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class LearningState:
    """One ad set's learning phase as Meta reported it when the run listed the ad sets."""

    status: str  # LEARNING, SUCCESS, FAIL (or a status Meta adds later, shown as it is)
    last_significant_edit: str | None = None  # UTC ISO time of the last significant edit, by anyone

    @property
    def learning(self) -> bool:
        return self.status == LEARNING

    @property
    def last_edit(self) -> datetime | None:
        return datetime.fromisoformat(self.last_significant_edit) if self.last_significant_edit else None

    def describe(self) -> str:
        """``Meta: LEARNING, last significant edit 2026-12-06 13:00 UTC``."""
        edit = f", last significant edit {utc_minute(self.last_edit)}" if self.last_edit else ""
        return f"Meta: {self.status}{edit}"

    def to_dict(self) -> dict:
        data = {"status": self.status}
        if self.last_significant_edit:
            data["last_significant_edit"] = self.last_significant_edit
        return data

    @classmethod
    def from_dict(cls, data: object) -> LearningState | None:
        """The state a report or plan row holds (``None``: none, or not one)."""
        if not isinstance(data, dict) or not isinstance(data.get("status"), str):
            return None
        edit = data.get("last_significant_edit")
        return cls(str(data["status"]), str(edit) if edit else None)

    @classmethod
    def from_graph(cls, info: object) -> LearningState | None:
        """The state in a listing row's ``learning_stage_info`` as Graph sent it; ``None`` when it has none
        that can be read (an unknown shape is no learning info, never a guess)."""
        if not isinstance(info, dict):
            return None
        status = str(info.get("status") or "").strip().upper()
        if not _STATUS.match(status):
            return None
        stamp = info.get("last_sig_edit_ts")
        edit = None
        if isinstance(stamp, int | float | str) and not isinstance(stamp, bool):
            try:
                seconds = float(stamp)
            except ValueError:
                seconds = None
            if seconds is not None and _EARLIEST <= seconds <= _LATEST:
                edit = datetime.fromtimestamp(int(seconds), UTC).isoformat()
        return cls(status, edit)


def missing_learning_notice(missing: int, total: int) -> str:
    """The report's one line when learning-phase protection goes by Meta's learning state and Meta
    reported none for some ad sets: for those, only CLOSRADS's own writes count."""
    return (
        f"Meta reported no learning state for {missing} of {total} ad sets (Meta does not report it for every "
        "ad account); for them, learning-phase protection went by CLOSRADS's own writes only"
    )

"""The audit record of one targeting write: what an ad set's regions were, what they became, who did it.

Every live write, by the sync or by a rollback, leaves one record per ad set. It must outlive the
task that made it (clearing a task deletes its XCom), be readable per ad set by a person in the
Airflow UI and by tools through the REST API, and hold enough to undo the write: the full region
entries before and after, not just the state codes. :mod:`closrads.airflow.audit_trail` stores it as the
``extra`` of an Airflow asset event, one asset per ad set.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from enum import StrEnum


class ChangeKind(StrEnum):
    SYNC = "sync"  # closrads_sync applied CLOSRTECH demand
    ROLLBACK = "rollback"  # closrads_rollback restored what a sync run had replaced


@dataclass(frozen=True)
class AuditRecord:
    adset_id: str
    adset_name: str
    kind: ChangeKind
    dag_id: str
    run_id: str
    written_at: str  # UTC ISO time of the write
    regions_before: list[dict] = field(default_factory=list)  # geo_locations.regions, every entry
    regions_after: list[dict] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # US states, USPS codes
    removed: list[str] = field(default_factory=list)
    undoes_run_id: str | None = None  # for a rollback: the sync run it undid
    try_number: int | None = None  # the Airflow try of the task that wrote (None: recorded before it was kept)

    def to_extra(self) -> dict:
        return asdict(self) | {"kind": str(self.kind)}

    @classmethod
    def from_extra(cls, extra: dict) -> AuditRecord:
        """The record an event's ``extra`` holds. Raises ``ValueError`` for anything that is not exactly
        such a record (a missing field, a wrong type), so a reader can skip what CLOSRADS did not write."""
        if not isinstance(extra, dict):
            raise ValueError("an audit record is a JSON object")
        fields = {name: copy.deepcopy(extra[name]) for name in cls.__dataclass_fields__ if name in extra}
        try:
            fields["kind"] = ChangeKind(fields["kind"])
            record = cls(**fields)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not an audit record ({type(exc).__name__})") from None
        record._check_types()
        return record

    def _check_types(self) -> None:
        texts = (self.adset_id, self.adset_name, self.dag_id, self.run_id, self.written_at)
        if not all(isinstance(text, str) for text in texts):
            raise ValueError("an audit record's ids, name and time are text")
        if not all(isinstance(r, dict) for r in (*self.regions_before, *self.regions_after)) or not all(
            isinstance(x, list) for x in (self.regions_before, self.regions_after, self.added, self.removed)
        ):
            raise ValueError("an audit record's regions are lists of objects")
        if not all(isinstance(code, str) for code in (*self.added, *self.removed)):
            raise ValueError("an audit record's states are text")
        if self.undoes_run_id is not None and not isinstance(self.undoes_run_id, str):
            raise ValueError("an audit record's undone run id is text")
        if self.try_number is not None and (isinstance(self.try_number, bool) or not isinstance(self.try_number, int)):
            raise ValueError("an audit record's try is a whole number")


def regions_of(targeting: dict) -> list[dict]:
    """The full ``geo_locations.regions`` entries of a targeting (a copy), as the record keeps them."""
    return copy.deepcopy((targeting.get("geo_locations") or {}).get("regions") or [])

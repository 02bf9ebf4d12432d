"""The XCom keys of the CLOSRADS tasks, in a module of their own: the DAG factory wires tasks together by
these keys at parse time, without importing what the tasks do."""

from __future__ import annotations

from enum import StrEnum


class XComKey(StrEnum):
    """The XCom keys CLOSRADS pushes besides ``return_value``; each has exactly one reader."""

    RUN_MODE = "run_mode"  # fetch_demand -> approve_changes, report
    STEP_ERROR = "step_error"  # a failed preparation step -> report
    APPROVAL = "approval"  # approve_changes: what the change guard decided -> report
    WRITE_ORDER = "write_order"  # approve_changes: all the run's ad sets share (a WriteOrder) -> update_adset
    ADSET_OUTCOME = "adset_outcome"  # update_adset (also when it fails) -> report
    API_VERSION_SERVED = "api_version_served"  # list_adsets: Meta answered with another Graph version -> report
    REPORT = "closrads_report"  # report -> people and tools (pushed before report fails the run)

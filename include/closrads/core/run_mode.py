"""Decide whether a run may write to Facebook, and say why in words an operator understands.

Dry run is the default everywhere (docs/design.md, "Dry by default"): manual runs follow their ``dry_run``
param (default true) and scheduled runs follow the Variable ``closrads_dry_run`` (absent means
true). A value nobody can read is treated as "stay dry", never as "go live".
"""

from __future__ import annotations

from dataclasses import dataclass

from closrads.core.names import DRY_RUN_VARIABLE

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@dataclass(frozen=True)
class RunMode:
    dry_run: bool
    reason: str
    # True when the configured value could not be read: the run stays dry, and that is an error to fix.
    invalid: bool = False

    @property
    def label(self) -> str:
        return "DRY RUN" if self.dry_run else "LIVE"

    def describe(self) -> str:
        """``"DRY RUN: scheduled run, Variable closrads_dry_run is not set"``."""
        return f"{self.label}: {self.reason}"

    def to_dict(self) -> dict:
        """The JSON form carried in XCom from the task that resolved the mode to every later task."""
        return {"dry_run": self.dry_run, "reason": self.reason, "invalid": self.invalid}

    @classmethod
    def from_dict(cls, data: dict) -> RunMode:
        return cls(dry_run=bool(data["dry_run"]), reason=str(data["reason"]), invalid=bool(data.get("invalid")))

    @classmethod
    def from_report(cls, report: dict) -> RunMode:
        """The mode of a stored report (its ``run_mode``; a report stored before it had one states its
        mode only as ``"<label>: <why>"`` beside ``dry_run``)."""
        if isinstance(report.get("run_mode"), dict):
            return cls.from_dict(report["run_mode"])
        described = str(report.get("mode") or "")
        label = f"{'DRY RUN' if report.get('dry_run', True) else 'LIVE'}: "
        return cls(bool(report.get("dry_run", True)), described.removeprefix(label))


def parse_flag(value: object) -> bool:
    """Parse true/1/yes/on and false/0/no/off (case-insensitive); anything else raises ValueError."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{value!r} is not one of {sorted(_TRUE | _FALSE)}")


def resolve_run_mode(
    *,
    scheduled: bool,
    dry_run_param: object,
    dry_run_variable: str | None,
    variable_error: str | None = None,
    variable_name: str = DRY_RUN_VARIABLE,
) -> RunMode:
    """The mode of one run.

    ``scheduled`` runs read ``dry_run_variable`` (the Variable's raw value, ``None`` when unset;
    ``variable_error`` says why it could not be read at all; ``variable_name`` is the campaign's);
    every other run (UI form, REST, CLI, ``dags test``) reads the ``dry_run`` param.
    """
    if scheduled and variable_error:
        return RunMode(
            True,
            f"scheduled run, Variable {variable_name} could not be read ({variable_error}), so the run stays dry",
            invalid=True,
        )
    if scheduled:
        if dry_run_variable is None or not str(dry_run_variable).strip():
            return RunMode(True, f"scheduled run, Variable {variable_name} is not set")
        try:
            dry = parse_flag(dry_run_variable)
        except ValueError:
            return RunMode(
                True,
                f"scheduled run, Variable {variable_name}={dry_run_variable!r} is not a recognised "
                "true/false value, so the run stays dry",
                invalid=True,
            )
        return RunMode(dry, f"scheduled run, Variable {variable_name}={dry_run_variable!r}")

    if dry_run_param is None:
        return RunMode(True, "manual run, dry_run param not given (default true)")
    try:
        dry = parse_flag(dry_run_param)
    except ValueError:
        return RunMode(
            True,
            f"manual run, dry_run param {dry_run_param!r} is not a true/false value, so the run stays dry",
            invalid=True,
        )
    return RunMode(dry, f"manual run, dry_run param is {str(dry).lower()}")

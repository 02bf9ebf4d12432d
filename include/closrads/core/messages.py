"""Slack messages (Block Kit plus a plain-text fallback) for the run report and task failures.

Pure functions: they only format. The operator reads these on a phone, so the important facts
come first (mode, status, counts) and long lists are shortened; the task log has everything.
Every text that comes from outside (ad set names, error texts) is escaped for Slack, so a name
such as ``<!channel>`` is shown, not executed.
"""

from __future__ import annotations

from dataclasses import dataclass

from closrads.core.autolinks import defuse_links
from closrads.core.report import (
    HELD_MEANS,
    PROBLEM_OUTCOMES,
    UNKNOWN_MEANS,
    AdSetOutcome,
    Outcome,
    RunStatus,
    SyncReport,
)

MAX_STATES_SHOWN = 25
MAX_ADSET_LINES = 30
# The plain-text fallback (notifications, clients without Block Kit); the blocks carry the details.
MAX_FALLBACK_CHARS = 3000
_SECTION_LIMIT = 2900  # Slack rejects section texts over 3000 characters
_STATUS_ICON = {
    RunStatus.SUCCESS: ":white_check_mark:",
    RunStatus.FAILED: ":x:",
    RunStatus.ABORTED: ":no_entry:",
    RunStatus.REJECTED: ":no_entry_sign:",
}


@dataclass(frozen=True)
class TaskFailure:
    dag_id: str
    task_label: str  # "update_adset [Veterans - Core (1202...)]"
    run_id: str
    try_number: int | str
    error: str
    log_url: str | None
    max_tries: int | None = None  # retries + 1; None when unknown
    will_retry: bool = False  # Airflow retries it by itself: the operator need not act yet
    cleared_by: str | None = None  # the user who cleared it while it ran (Airflow's audit log): not a failure
    notice: str | None = None  # a warning every message carries (the Graph API version's end is near)

    @property
    def tries(self) -> str:
        return f"{self.try_number} of {self.max_tries}" if self.max_tries else str(self.try_number)

    @property
    def headline(self) -> str:
        if self.cleared_by:
            return f"CLOSRADS task stopped: {self.cleared_by} cleared it while it ran"
        if self.will_retry:
            return "CLOSRADS task failed, Airflow will retry it"
        return "CLOSRADS task failed"


def escape(text: object) -> str:
    """Slack's mrkdwn escaping (``&``, ``<``, ``>``) and no bare URL or domain Slack would link: what an
    outsider wrote is shown, never a ping or a link."""
    return defuse_links(str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def shorten(items: list[str], limit: int = MAX_STATES_SHOWN) -> str:
    if not items:
        return "none"
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} ... and {len(items) - limit} more"


def report_message(report: SyncReport, run_url: str | None) -> tuple[str, list[dict]]:
    """``(fallback text, blocks)`` for the run report."""
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(f"{report.title} - {report.label}", 150)}},
        _section(
            f"*{report.label}*: {escape(report.mode.reason)}\n"
            f"{_STATUS_ICON[report.status]} *Status:* {report.status.upper()}   *Time:* {report.generated_at}"
        ),
    ]
    if report.status == RunStatus.ABORTED:
        reasons = "\n".join(f"- `{step.name}`: {escape(_step_text(step))}" for step in report.unfinished_steps)
        blocks.append(_section(f"*Nothing was changed on Facebook.*\n{reasons}"))
    if report.spend_alert:
        blocks.append(_section(f":rotating_light: *{escape(report.spend_alert)}*"))
    if report.notices:
        blocks.append(_section("\n".join(f":warning: {escape(notice)}" for notice in report.notices[:5])))
    if report.approval:
        nothing = "*Nothing was changed on Facebook.*\n" if report.status == RunStatus.REJECTED else ""
        blocks.append(_section(f"{nothing}*Approval:* {escape(report.approval.describe())}"))
    if report.learning_phase:
        blocks.append(_section(f"*Learning-phase protection:* {escape(report.learning_phase)}"))
    if report.shows_demand:
        blocks.append(
            _section(f"*Demand states ({len(report.demand_states)}):* {escape(shorten(report.demand_states))}")
            | (
                {}
                if not report.unmapped_states
                else {"fields": [_mrkdwn(f"*Dropped, no Facebook region:* {escape(shorten(report.unmapped_states))}")]}
            )
        )
    blocks.append(
        {
            "type": "section",
            "fields": [
                _mrkdwn(f"*Ad sets processed:* {len(report.adsets)}"),
                _mrkdwn(f"*{report.changed_label}:* {report.count(report.changed_outcome)}"),
                _mrkdwn(f"*Skipped:* {report.count(Outcome.SKIPPED)}"),
                _mrkdwn(f"*Failed:* {report.failed_count}"),
            ]
            + ([_mrkdwn(f"*Held back:* {report.describe_held()}")] if report.held_state_count else []),
        }
    )
    if report.spend_line:
        blocks.append(_section(f":moneybag: {escape(report.spend_line)}"))
    shown = {Outcome.UPDATED, Outcome.WOULD_UPDATE, Outcome.REJECTED, Outcome.HELD, *PROBLEM_OUTCOMES}
    lines = [_adset_line(adset) for adset in report.adsets if adset.outcome in shown or adset.held]
    if len(lines) > MAX_ADSET_LINES:
        lines = lines[:MAX_ADSET_LINES] + [f"... and {len(lines) - MAX_ADSET_LINES} more ad sets (see the task log)"]
    blocks.extend(_section(chunk) for chunk in _chunks(lines))
    if run_url:
        blocks.append(_context(f"<{run_url}|Open run {escape(report.run_id)} in Airflow>"))
    fallback = _cut(escape(report.render_text()), MAX_FALLBACK_CHARS, "\n... (the whole report is in the task log)")
    return fallback + (f"\nRun: {run_url}" if run_url else ""), blocks


def failure_message(failure: TaskFailure) -> tuple[str, list[dict]]:
    """``(fallback text, blocks)`` for one failed try of a task (retried by Airflow, or final)."""
    if failure.cleared_by:
        next_step = "Airflow runs it again by itself; nothing to do."
    elif failure.will_retry:
        next_step = "Airflow retries it by itself; nothing to do unless the last try fails too."
    else:
        next_step = "No retry left: clear the task in Airflow once the cause is fixed."
    text = escape(
        f"{failure.headline}: {failure.dag_id}.{failure.task_label} | run {failure.run_id} | "
        f"try {failure.tries}\nError: {failure.error}\n{next_step}"
    )
    if failure.log_url:
        text += f"\nLog: {failure.log_url}"
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": failure.headline}},
        {
            "type": "section",
            "fields": [
                _mrkdwn(f"*DAG:* {escape(failure.dag_id)}"),
                _mrkdwn(f"*Task:* {escape(failure.task_label)}"),
                _mrkdwn(f"*Run:* {escape(failure.run_id)}"),
                _mrkdwn(f"*Try:* {failure.tries}"),
            ],
        },
        _section(f"*Error:* {escape(failure.error)}"),
        _section(next_step),
    ]
    if failure.notice:
        blocks.append(_section(f":warning: {escape(failure.notice)}"))
        text += f"\nWarning: {escape(failure.notice)}"
    if failure.log_url:
        blocks.append(_context(f"<{failure.log_url}|Open the task log>"))
    return _cut(text, MAX_FALLBACK_CHARS), blocks


def approval_request_message(
    *, dag_id: str, run_id: str, reasons: list[str], changing: int, deadline: str, url: str, notice: str | None = None
) -> tuple[str, list[dict]]:
    """``(fallback text, blocks)`` for a live run that waits for a person to approve its plan (``dag_id``
    says which campaign, when one Slack channel hears several)."""
    why = "\n".join(f"- {escape(reason)}" for reason in reasons[:6])
    text = escape(
        f"CLOSRADS {dag_id} run {run_id} waits for approval: {changing} ad set(s) would change; "
        f"nothing is written until someone answers (by {deadline}; no answer writes nothing)."
    )
    text += f"\nAnswer here: {url}"
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "CLOSRADS run waits for approval"}},
        _section(
            f"*DAG:* {escape(dag_id)}\n*Run:* {escape(run_id)}\n*Ad sets that would change:* {changing}\n"
            f"*Answer by:* {escape(deadline)} (no answer writes nothing)"
        ),
        _section(f"*Why it asks:*\n{why}"),
        *([_section(f":warning: {escape(notice)}")] if notice else []),
        _context(f"<{url}|Review the plan and Approve or Reject in Airflow>"),
    ]
    if notice:
        text += f"\nWarning: {escape(notice)}"
    return _cut(text, MAX_FALLBACK_CHARS), blocks


def run_failure_message(dag_id: str, run_id: str, reason: str, run_url: str | None) -> tuple[str, list[dict]]:
    """``(fallback text, blocks)`` for a run that failed without a task failure (a timeout, say)."""
    explanation = {
        "timed_out": "it ran longer than its dagrun_timeout and was stopped",
    }.get(reason, f"Airflow reports: {reason}")
    text = escape(
        f"CLOSRADS run failed: {dag_id} run {run_id}: {explanation}. The report may not have been sent; "
        "an ad set whose update_adset did not finish may or may not have been written: check the run."
    )
    if run_url:
        text += f"\nRun: {run_url}"
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "CLOSRADS run failed"}},
        _section(f"*Run:* {escape(run_id)}\n*Why:* {escape(explanation)}"),
        _section(
            "The report may not have been sent. An ad set whose `update_adset` did not finish may or may not "
            "have been written: check the run, or clear its `update_adset` to re-check it."
        ),
    ]
    if run_url:
        blocks.append(_context(f"<{run_url}|Open run {escape(run_id)} in Airflow>"))
    return text, blocks


def _adset_line(adset: AdSetOutcome) -> str:
    problem = adset.outcome in PROBLEM_OUTCOMES
    icon = ":x:" if problem else ":hourglass:" if adset.outcome == Outcome.HELD else ":pencil2:"
    parts = [f"{icon} *{escape(adset.name)}* ({escape(adset.adset_id)})"]
    if adset.outcome == Outcome.FAILED and adset.has_change:
        parts.append(f"FAILED, not applied: {adset.change}")
    elif adset.outcome == Outcome.UNKNOWN:
        parts.append(f"UNKNOWN ({UNKNOWN_MEANS})")
    elif problem:
        parts.append(adset.outcome.replace("_", " ").upper())
    elif adset.outcome == Outcome.WOULD_UPDATE:
        parts.append(f"would update (accepted by Meta): {adset.change}")
    elif adset.outcome == Outcome.REJECTED:
        parts.append(f"not written (rejected): {adset.change}")
    elif adset.outcome == Outcome.HELD:
        parts.append(escape(adset.held_note or HELD_MEANS))
    elif adset.outcome != Outcome.SKIPPED:
        parts.append(adset.change)
    if adset.held:
        parts.append(f"held back: {escape(', '.join(adset.held))}")
    if adset.outside_change_note:
        parts.append(f":warning: {escape(adset.outside_change_note)}")
    if adset.learning_state:  # compact: the status only (the report and the map have the edit's time)
        parts.append(f"Meta: {escape(adset.learning_state.status)}")
    if adset.error:
        parts.append(f"error: {escape(adset.error)}")
    if adset.history:
        parts.append(escape(adset.history))
    if adset.recheck:
        parts.append(escape(adset.recheck))
    return " | ".join(parts)


def _step_text(step) -> str:
    return step.error or "not run (an earlier step failed)"


def _chunks(lines: list[str]) -> list[str]:
    chunks, current = [], ""
    for line in lines:
        line = _cut(line)
        if current and len(current) + len(line) + 1 > _SECTION_LIMIT:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    return chunks + ([current] if current else [])


def _cut(text: str, limit: int = _SECTION_LIMIT, marker: str = "...") -> str:
    """Within ``limit`` characters; cut before an escape sequence rather than through it."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(marker)]
    amp = cut.rfind("&")
    if amp > len(cut) - 5:
        cut = cut[:amp]
    return cut + marker


def _mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": _cut(text)}


def _section(text: str) -> dict:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [_mrkdwn(text)]}

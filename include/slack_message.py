"""Slack messages (Block Kit plus a plain-text fallback) for the run report and task failures.

Pure functions: they only format. The operator reads these on a phone, so the important facts
come first (mode, status, counts) and long lists are shortened; the task log has everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from include.report import FAILED, NOT_RUN, STATUS_ABORTED, STATUS_SUCCESS, UPDATED, WOULD_UPDATE, SyncReport

MAX_STATES_SHOWN = 25
MAX_ADSET_LINES = 30
_SECTION_LIMIT = 2900  # Slack rejects section texts over 3000 characters
_STATUS_ICON = {STATUS_SUCCESS: ":white_check_mark:", "failed": ":x:", STATUS_ABORTED: ":no_entry:"}


@dataclass(frozen=True)
class TaskFailure:
    dag_id: str
    task_label: str  # "update_adset [Veterans - Core (1202...)]"
    run_id: str
    try_number: int | str
    error: str
    log_url: str | None


def shorten(items: list[str], limit: int = MAX_STATES_SHOWN) -> str:
    if not items:
        return "none"
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} ... and {len(items) - limit} more"


def report_message(report: SyncReport, run_url: str | None) -> tuple[str, list[dict]]:
    """``(fallback text, blocks)`` for the daily report."""
    label = "DRY RUN" if report.dry_run else "LIVE"
    changed_key = WOULD_UPDATE if report.dry_run else UPDATED
    changed_label = "Would update" if report.dry_run else "Updated"
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"CLOSRADS sync - {label}"}},
        _section(
            f"*{label}*: {_reason(report.mode)}\n"
            f"{_STATUS_ICON.get(report.status, '')} *Status:* {report.status.upper()}   *Time:* {report.generated_at}"
        ),
    ]
    if report.status == STATUS_ABORTED:
        reasons = "\n".join(f"- `{step}`: {error}" for step, error in report.step_errors.items())
        blocks.append(_section(f"*Nothing was changed on Facebook.*\n{reasons}"))
    blocks.append(
        _section(f"*Demand states ({len(report.demand_states)}):* {shorten(report.demand_states)}")
        | (
            {}
            if not report.unmapped_states
            else {"fields": [_mrkdwn(f"*Dropped, no Facebook region:* {', '.join(report.unmapped_states)}")]}
        )
    )
    blocks.append(
        {
            "type": "section",
            "fields": [
                _mrkdwn(f"*Ad sets processed:* {len(report.adsets)}"),
                _mrkdwn(f"*{changed_label}:* {report.count(changed_key)}"),
                _mrkdwn(f"*Skipped:* {report.count('skipped')}"),
                _mrkdwn(f"*Failed:* {report.failed_count}"),
            ],
        }
    )
    lines = [_adset_line(a) for a in report.adsets if a.outcome in (UPDATED, WOULD_UPDATE, FAILED, NOT_RUN)]
    if len(lines) > MAX_ADSET_LINES:
        lines = lines[:MAX_ADSET_LINES] + [f"... and {len(lines) - MAX_ADSET_LINES} more ad sets (see the task log)"]
    blocks.extend(_section(chunk) for chunk in _chunks(lines))
    if report.step_errors and report.status != STATUS_ABORTED:
        blocks.append(_section("\n".join(f"- `{step}` failed: {error}" for step, error in report.step_errors.items())))
    if run_url:
        blocks.append(_context(f"<{run_url}|Open run {report.run_id} in Airflow>"))
    return report.render_text() + (f"\nRun: {run_url}" if run_url else ""), blocks


def failure_message(failure: TaskFailure) -> tuple[str, list[dict]]:
    """``(fallback text, blocks)`` for one failed task."""
    text = (
        f"CLOSRADS task failed: {failure.dag_id}.{failure.task_label} | run {failure.run_id} | "
        f"try {failure.try_number}\nError: {failure.error}"
    )
    if failure.log_url:
        text += f"\nLog: {failure.log_url}"
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "CLOSRADS task failed"}},
        {
            "type": "section",
            "fields": [
                _mrkdwn(f"*DAG:* {failure.dag_id}"),
                _mrkdwn(f"*Task:* {failure.task_label}"),
                _mrkdwn(f"*Run:* {failure.run_id}"),
                _mrkdwn(f"*Try:* {failure.try_number}"),
            ],
        },
        _section(f"*Error:* {failure.error[:_SECTION_LIMIT]}"),
    ]
    if failure.log_url:
        blocks.append(_context(f"<{failure.log_url}|Open the task log>"))
    return text, blocks


def _adset_line(adset) -> str:
    icon = ":x:" if adset.outcome in (FAILED, NOT_RUN) else ":pencil2:"
    parts = [f"{icon} *{adset.name}* ({adset.adset_id})"]
    if adset.added:
        parts.append(f"+{' +'.join(adset.added)}")
    if adset.removed:
        parts.append(f"-{' -'.join(adset.removed)}")
    if adset.error:
        parts.append(f"error: {adset.error}")
    return " | ".join(parts)


def _reason(mode: str) -> str:
    return mode.split(": ", 1)[1] if ": " in mode else mode


def _chunks(lines: list[str]) -> list[str]:
    chunks, current = [], ""
    for line in lines:
        line = line[:_SECTION_LIMIT]
        if current and len(current) + len(line) + 1 > _SECTION_LIMIT:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    return chunks + ([current] if current else [])


def _mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> dict:
    return {"type": "section", "text": _mrkdwn(text[:_SECTION_LIMIT])}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def run_failure_message(dag_id: str, run_id: str, reason: str, run_url: str | None) -> tuple[str, list[dict]]:
    """``(fallback text, blocks)`` for a run that failed without a task failure (a timeout, say)."""
    explanation = {
        "timed_out": "it ran longer than its dagrun_timeout and was stopped",
    }.get(reason, f"Airflow reports: {reason}")
    text = (
        f"CLOSRADS run failed: {dag_id} run {run_id}: {explanation}. The report may not have been sent; "
        "ad sets whose update_adset did not finish were not changed by this run."
    )
    if run_url:
        text += f"\nRun: {run_url}"
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "CLOSRADS run failed"}},
        _section(f"*Run:* {run_id}\n*Why:* {explanation}"),
        _section("The report may not have been sent; ad sets whose `update_adset` did not finish were not changed."),
    ]
    if run_url:
        blocks.append(_context(f"<{run_url}|Open run {run_id} in Airflow>"))
    return text, blocks

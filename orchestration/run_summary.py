"""What a terminal shows of a finished run: counts per asset, checks, and why steps failed."""
from __future__ import annotations

from typing import Iterable, Optional

from core.io.disk_full import DiskFullError, disk_full_errno, written_path

# How Dagster names the error class in a message, as the UI shows it.
DISK_FULL_ERROR = f"{DiskFullError.__module__}.{DiskFullError.__qualname__}"


def user_error_message(error) -> str:
    """The message of the error the asset raised, not Dagster's wrapper around it.

    Dagster wraps an asset's exception in DagsterExecutionStepExecutionError; the first error of
    the cause chain that is not Dagster's is the one that says what went wrong (its own causes are
    lower-level, e.g. the ENOENT behind "no warc listing for ...").
    """
    current: Optional[object] = error
    while current is not None:
        if not (current.cls_name or "").startswith("Dagster"):
            return current.message.strip()
        current = current.cause
    return error.message.strip()


def _chain_text(error) -> str:
    """Every message of an error's cause and context chain (a Py4J message holds the Java trace)."""
    parts, pending = [], [error]
    while pending:
        current = pending.pop()
        if current is None:
            continue
        parts.append(current.message or "")
        pending += [current.cause, current.context]
    return "\n".join(parts)


def disk_full_reason(error) -> Optional[str]:
    """A full disk said in one line, when a write that did not say it clearly hit one.

    Writes through spark_jobs.delta_io and gpu_jobs.delta_io raise DiskFullError themselves; this
    catches the others (a shard file, a report, a write of another helper) whose error is a Java
    trace or an OSError deep in a cause chain.
    """
    text = _chain_text(error)
    code = disk_full_errno(text)
    if code is None:
        return None
    return f"{DISK_FULL_ERROR}: {DiskFullError(code, written_path(text) or 'the lake root')}"


def step_failure_messages(events: Iterable) -> list[tuple[str, str]]:
    """(step key, reason) of every failed step, in order."""
    failures = []
    for event in events:
        if not event.is_step_failure:
            continue
        data = event.event_specific_data
        user = getattr(data, "user_failure_data", None)
        if user is not None and user.description:
            reason = user.description
        elif data.error is not None:
            reason = user_error_message(data.error)
            if not reason.startswith(DISK_FULL_ERROR):
                reason = disk_full_reason(data.error) or reason
        else:
            reason = "failed without an error (see the run in the UI)"
        failures.append((event.step_key, reason))
    return failures


def _numbers(metadata) -> dict:
    return {k: v.value for k, v in metadata.items()
            if isinstance(v.value, (int, float)) and not isinstance(v.value, bool)}


def summary_lines(result) -> list[str]:
    """Materializations with their numbers, check outcomes, then failed steps with the reason."""
    lines = []
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        lines.append(f"  {mat.asset_key.to_user_string()}: {_numbers(mat.metadata)}")
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            check = event.event_specific_data
            lines.append(f"  check {check.check_name}: {'passed' if check.passed else 'FAILED'}")
    for step, reason in step_failure_messages(result.all_events):
        lines.append(f"  failed {step}: {reason}")
    return lines

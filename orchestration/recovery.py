"""Runs whose process died: marked failed, their pool slots freed, before a new run starts.

A run that `refinery run` executes lives in the CLI process. When that process is killed (SIGKILL,
OOM killer, a closed laptop), the run stays STARTED in the instance and keeps the `spark` pool slot
its step had claimed, so the next run waits forever ("Step blocked by limit for pool spark"). No
daemon watches these runs, so every CLI command that starts runs calls `recover_dead_runs` first:

- a run the CLI started (tags of `orchestration.run_process`) whose process is gone is marked
  failed with a message saying so, which the UI shows as the run's failure, and its slots are
  freed;
- slots still held by runs that have finished (a run the UI's code server marked failed while no
  daemon ran to free them) are freed;
- runs started on another host cannot be checked from here and are only reported.

Runs launched from the UI are watched by Dagster itself: the code server marks a run whose worker
process died as failed, and the daemon's run monitoring frees its slots (`dagster.yaml`).
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from orchestration.run_process import is_alive, is_local, process_from_tags

# Statuses of a run that has not finished; a CLI run whose process is gone can be in any of them.
UNFINISHED = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED,
              DagsterRunStatus.CANCELING]


@dataclass(frozen=True)
class RecoveryReport:
    failed: list[str]  # one message per run marked failed
    freed: list[str]  # one message per finished run whose slots were freed
    unchecked: list[str]  # runs on another host

    def lines(self) -> list[str]:
        return self.failed + self.freed + self.unchecked


@contextmanager
def _recovery_lock(instance: DagsterInstance):
    """One recovery at a time per instance, so two CLIs starting together report a run once."""
    path = Path(instance.root_directory) / ".refinery-recovery.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _cli_runs(instance: DagsterInstance):
    """(run, process) of every unfinished run the CLI started."""
    for record in instance.get_run_records(filters=RunsFilter(statuses=UNFINISHED)):
        run = record.dagster_run
        process = process_from_tags(run.run_id, run.tags)
        if process is not None:
            yield run, process


def _mark_dead_run_failed(instance: DagsterInstance, run, process) -> str | None:
    current = instance.get_run_by_id(run.run_id)
    if current is None or current.is_finished:
        return None  # finished meanwhile (another CLI recovered it, or it just ended)
    message = (f"run {run.run_id} ({process.describe()}) died without finishing; marked failed "
               f"by refinery (pid {os.getpid()}), its pool slots freed")
    instance.report_run_failed(current, message=message)
    instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return message


def _free_slots_of_finished_runs(instance: DagsterInstance) -> list[str]:
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    freed = []
    for run_id in sorted(storage.get_concurrency_run_ids()):
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            storage.free_concurrency_slots_for_run(run_id)
            status = run.status.value if run is not None else "deleted"
            freed.append(f"freed the pool slots still held by run {run_id} ({status})")
    return freed


def recover_dead_runs(instance: DagsterInstance) -> RecoveryReport:
    """Mark the instance's CLI runs whose process is gone as failed and free stale pool slots."""
    failed, unchecked = [], []
    with _recovery_lock(instance):
        for run, process in _cli_runs(instance):
            if not is_local(process):
                unchecked.append(f"run {run.run_id} is {run.status.value} on another host "
                                 f"({process.describe()}): not checked from here")
            elif not is_alive(process):
                message = _mark_dead_run_failed(instance, run, process)
                if message:
                    failed.append(message)
        freed = _free_slots_of_finished_runs(instance)
    return RecoveryReport(failed, freed, unchecked)

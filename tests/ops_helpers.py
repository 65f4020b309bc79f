"""Helpers of the operations tests: `refinery` in a subprocess with its own Dagster home and lake,
waiting on a run's events in the instance, and every Delta table of a lake read for comparison."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Columns that legitimately differ between two runs that produce the same data.
VOLATILE_COLUMNS = {"manifest": {"updated_at"}}  # when a file's status was written


@dataclass(frozen=True)
class Workspace:
    """One test's Dagster home, lake and crawl source (a mirror of the shared fixtures)."""

    root: Path
    mirror: Path

    @property
    def home(self) -> Path:
        return self.root / "dagster-home"

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("SPARK_MASTER", "SPARK_REMOTE", "RAY_ADDRESS")}
        env.update(DAGSTER_HOME=str(self.home), REFINERY_LAKE_ROOT=str(self.lake),
                   REFINERY_CC_BASE=str(self.mirror), REFINERY_SAMPLE_DIR=str(self.root / "sample"),
                   SPARK_MASTER="local[2]", PYTHONPATH=str(REPO))
        return env

    def start(self, *args: str, log_name: str) -> subprocess.Popen:
        """`refinery ARGS` in its own process group, output to ROOT/LOG_NAME.log."""
        self.root.mkdir(parents=True, exist_ok=True)
        log = open(self.root / f"{log_name}.log", "w")
        return subprocess.Popen([sys.executable, "-m", "orchestration.cli", *args], cwd=REPO,
                                env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text()

    def instance(self):
        from dagster import DagsterInstance

        return DagsterInstance.from_config(str(self.home))


def finish(process: subprocess.Popen, timeout: float) -> int:
    """Wait for a CLI process; on timeout (or pytest-timeout's) kill its whole group and fail."""
    try:
        return process.wait(timeout=timeout)
    except BaseException:
        kill_group(process)
        raise


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL a process group we started (the CLI, its JVM, its Python workers)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=60)


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"waited {timeout:.0f}s for {what}")


def run_of_pid(instance, pid: int):
    """The run the CLI process `pid` executes (its refinery/pid tag), or None yet."""
    from dagster import RunsFilter

    from orchestration.run_process import PID_TAG

    records = instance.get_run_records(filters=RunsFilter(tags={PID_TAG: str(pid)}))
    return records[0].dagster_run if records else None


def step_events(instance, run_id: str, event_type) -> list:
    """(step key, timestamp) of a run's events of one type, in order."""
    return [(e.step_key, e.timestamp) for e in instance.all_logs(run_id, of_type=event_type)]


def step_failures(instance, run_id: str) -> list[tuple[str, str]]:
    from orchestration.run_summary import step_failure_messages

    return step_failure_messages(e.dagster_event for e in instance.all_logs(run_id)
                                 if e.dagster_event is not None)


def delta_tables(lake: Path) -> list[str]:
    """Every Delta table under a lake, as paths relative to it."""
    return sorted(str(log.parent.relative_to(lake)) for log in lake.rglob("_delta_log"))


def _row_key(row: dict) -> str:
    return json.dumps(row, sort_keys=True, default=str)


def table_rows(lake: Path, table: str, snapshot: str | None = None) -> list[dict]:
    """A table's rows (of one crawl, when given), volatile columns dropped, in a stable order."""
    from deltalake import DeltaTable

    data = DeltaTable(str(lake / table)).to_pyarrow_table()
    if snapshot is not None:
        if "snapshot" not in data.column_names:
            raise ValueError(f"{table} has no snapshot column: cannot take one crawl's rows")
        data = data.filter(data.column("snapshot").to_numpy(zero_copy_only=False) == snapshot)
    keep = [c for c in data.column_names if c not in VOLATILE_COLUMNS.get(table, set())]
    return sorted(data.select(keep).to_pylist(), key=_row_key)


def table_versions(lake: Path) -> dict[str, int]:
    from deltalake import DeltaTable

    return {table: DeltaTable(str(lake / table)).version() for table in delta_tables(lake)}


def lake_contents(lake: Path, snapshot: str | None = None) -> dict[str, list[dict]]:
    return {table: table_rows(lake, table, snapshot) for table in delta_tables(lake)}


def duplicate_doc_ids(rows: list[dict]) -> list[str]:
    seen, duplicates = set(), []
    for row in rows:
        if "doc_id" in row:
            if row["doc_id"] in seen:
                duplicates.append(row["doc_id"])
            seen.add(row["doc_id"])
    return duplicates

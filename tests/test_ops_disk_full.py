"""A full disk under the lake root (issue 12): `refinery run`, as a user runs it, with the lake on a
small tmpfs that fills up while bronze runs.

The tmpfs lives in a user + mount namespace (`unshare -rm`, which needs no root: the kernel's
unprivileged user namespaces) held open by a `sleep`; each `refinery` joins it with `nsenter` and
the test reads the lake through /proc/<holder>/root. When the bronze step starts, a filler file
takes every free byte of the tmpfs (as another program would); Spark's own temporary files go to
spark.local.dir (/tmp by default, not the lake's disk), so only the lake writes meet the full disk.

Asserted: the run fails; the CLI and the run's step failure (what the UI shows) say that the disk
under the lake root is full, naming the table, in one line instead of a Java trace; the manifest
committed before is unchanged (version and rows) and bronze has no commit; once the filler is
deleted, the same command completes.
"""
from __future__ import annotations

import errno
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest
from dagster import DagsterEventType, DagsterRunStatus

from core.io.disk_full import disk_full_errno, disk_full_error, written_path
from orchestration.run_summary import DISK_FULL_ERROR, disk_full_reason
from tests.conftest import WHIRLWIND_WARC, make_mirror
from tests.ops_helpers import (
    REPO, Workspace, finish, kill_group, lake_contents, run_of_pid, step_events, step_failures,
    table_rows, table_versions, wait_for,
)

CRAWL = "CC-MAIN-2024-22"
RUN = ("run", "--crawl", CRAWL, "--selection", "first", "--files", "1",
       "--until", "bronze_documents")
RUN_TIMEOUT = 1200  # manifest + bronze of one small file: 2 to 3 minutes on a loaded 2-core box
DISK_SIZE = "64m"
pytestmark = pytest.mark.timeout(3 * RUN_TIMEOUT)


class NamespacedDisk:
    """A tmpfs of DISK_SIZE at `mount_point`, visible only in a user + mount namespace."""

    def __init__(self, mount_point: Path):
        self.mount_point = mount_point
        mount_point.mkdir(parents=True)
        script = 'mount -t tmpfs -o size="$1" tmpfs "$0" && echo mounted && exec sleep 3600'
        try:
            self.holder = subprocess.Popen(
                ["unshare", "-rm", "sh", "-c", script, str(mount_point), DISK_SIZE],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                start_new_session=True)
        except FileNotFoundError:
            pytest.fail("`unshare` (util-linux) is missing: the full-disk test needs it to mount "
                        "a tmpfs in a user namespace")
        said = self.holder.stdout.readline()
        if said.strip() != "mounted":
            rest = said + self._stop()
            pytest.fail("cannot mount a tmpfs in a user namespace (`unshare -rm` + `mount -t "
                        "tmpfs`); the full-disk test needs unprivileged user namespaces "
                        f"(sysctl kernel.unprivileged_userns_clone=1) or root. It said: {rest}")

    def _stop(self) -> str:
        kill_group(self.holder)
        return self.holder.stdout.read()

    def close(self) -> None:
        self._stop()

    def outside(self, path: Path) -> Path:
        """`path` inside the namespace, as this process sees it."""
        return Path(f"/proc/{self.holder.pid}/root") / path.relative_to("/")

    def copy(self, path: Path, target: Path) -> Path:
        """A copy of a directory inside the namespace, for readers that resolve /proc/<pid>/root
        to this namespace's / (delta-rs does)."""
        shutil.copytree(self.outside(path), target)
        return target

    def command(self, *argv: str) -> list[str]:
        return ["nsenter", "-t", str(self.holder.pid), "-U", "-m", "--preserve-credentials",
                *argv]

    def fill(self, name: str = "filler") -> int:
        """Write a file until the disk is full; its size."""
        written = 0
        block = b"\0" * (1 << 20)
        with open(self.outside(self.mount_point / name), "wb", buffering=0) as out:
            while True:
                try:
                    written += out.write(block)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    block = block[:len(block) // 2]
                    if not block:
                        return written


def committed_tables(lake: Path) -> list[str]:
    """Tables with at least one Delta commit (a _delta_log holding a version's JSON)."""
    return sorted(str(log.parent.relative_to(lake)) for log in lake.rglob("_delta_log")
                  if any(log.glob("*.json")))


def committed_state(lake: Path) -> tuple[dict[str, int], dict[str, list[dict]]]:
    """Version and rows of every committed table."""
    from deltalake import DeltaTable

    tables = committed_tables(lake)
    return ({t: DeltaTable(str(lake / t)).version() for t in tables},
            {t: table_rows(lake, t) for t in tables})


@pytest.fixture
def disk(tmp_path):
    disk = NamespacedDisk(tmp_path / "disk")
    yield disk
    disk.close()


def start(ws: Workspace, disk: NamespacedDisk, lake: Path, log_name: str) -> subprocess.Popen:
    """`refinery RUN` in the disk's namespace, with the lake on it."""
    env = ws.env()
    env["REFINERY_LAKE_ROOT"] = str(lake)
    log = open(ws.root / f"{log_name}.log", "w")
    return subprocess.Popen(disk.command(sys.executable, "-m", "orchestration.cli", *RUN),
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def test_a_full_lake_disk_fails_the_stage_clearly_and_a_rerun_completes(disk, tmp_path):
    ws = Workspace(tmp_path / "ws", make_mirror(tmp_path / "mirror", CRAWL, [WHIRLWIND_WARC]))
    ws.root.mkdir()
    lake = disk.mount_point / "lake"

    first = start(ws, disk, lake, "full")
    try:
        # The CLI creates the Dagster home and its tables (under its lock) before it says this.
        wait_for(lambda: "materializing" in ws.log("full"), RUN_TIMEOUT, "the CLI to start")
        with ws.instance() as instance:
            run = wait_for(lambda: run_of_pid(instance, first.pid), RUN_TIMEOUT, "the run")
            wait_for(lambda: "bronze_documents" in dict(
                step_events(instance, run.run_id, DagsterEventType.STEP_START)),
                RUN_TIMEOUT, "bronze's STEP_START", interval=0.1)
        before = disk.copy(lake, tmp_path / "before")
        assert committed_tables(before) == ["manifest"]
        state = committed_state(before)
        filled = disk.fill()
        assert finish(first, RUN_TIMEOUT) == 1
    finally:
        if first.poll() is None:
            kill_group(first)
    out = ws.log("full")
    assert filled > 32 << 20
    documents = lake / "bronze" / "documents"
    said = (f"  failed bronze_documents: {DISK_FULL_ERROR}: the disk under {documents} is full (ENOSPC: "
            "No space left on device): the write of this table failed and was not committed, the "
            "table is as it was before; free space there and rerun the same command")
    summary = out[out.index(f"materializing {CRAWL}"):]
    assert said + "\n" + f"run {run.run_id} ({CRAWL}) FAILED in " in summary, summary[-3000:]
    with ws.instance() as instance:
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
        [(step, reason)] = step_failures(instance, run.run_id)
        assert (step, reason) == ("bronze_documents", said.removeprefix("  failed bronze_documents: "))
        # The UI shows the error's own message first, not Dagster's wrapper or the Java trace.
        [failure] = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_FAILURE)
        error = failure.dagster_event.event_specific_data.error
        assert error.cause.message.startswith(f"{DISK_FULL_ERROR}: the disk under {documents} ")

    after = disk.copy(lake, tmp_path / "after")
    # Not one commit. Bronze's first write left an empty _delta_log (and orphan Parquet files no
    # reader sees), not a table.
    assert committed_tables(after) == ["manifest"]
    assert committed_state(after) == state

    (disk.outside(disk.mount_point) / "filler").unlink()  # space freed
    rerun = start(ws, disk, lake, "rerun")
    assert finish(rerun, RUN_TIMEOUT) == 0, ws.log("rerun")[-5000:]
    done = disk.copy(lake, tmp_path / "done")
    assert table_versions(done)["bronze/documents"] == 0
    assert lake_contents(done)["bronze/documents"]


# What each layer prints for a full disk, as seen on this machine (Spark 4.2 / Hadoop local FS,
# delta-rs, Python), and for a quota.
SPARK_TRACE = (
    "An error occurred while calling o163.save.\n: org.apache.spark.SparkException: "
    "[TASK_WRITE_FAILED] Task failed while writing rows to file:/lake/bronze/documents. "
    "SQLSTATE: 58030\n\tat org.apache.spark...\nCaused by: org.apache.hadoop.fs.FSError: "
    "java.io.IOException: No space left on device\n")


@pytest.mark.parametrize("text, code", [
    (SPARK_TRACE, errno.ENOSPC),
    ("Generic LocalFileSystem error: Unable to write (os error 28)", errno.ENOSPC),
    ("[Errno 28] No space left on device: '/lake/x.parquet'", errno.ENOSPC),
    ("java.io.IOException: Disk quota exceeded", errno.EDQUOT),
    ("[Errno 2] No such file or directory: '/lake/x'", None),
    ("space left: 28 bytes", None),
])
def test_a_full_disk_is_recognised_in_each_engines_words(text, code):
    assert disk_full_errno(text) == code


def test_the_path_a_failed_write_names():
    assert written_path(SPARK_TRACE) == "/lake/bronze/documents"
    assert written_path("[Errno 28] No space left on device: '/lake/x.parquet'") == "/lake/x.parquet"
    assert written_path("java.io.IOException: No space left on device") is None


def test_a_full_disk_deep_in_a_cause_chain_becomes_one_clear_error():
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as low:
            raise RuntimeError("task failed") from low
    except RuntimeError as exc:
        full = disk_full_error(exc, "/lake/scores/preselect")
    assert isinstance(full, OSError) and full.errno == errno.ENOSPC
    assert full.filename == "/lake/scores/preselect"
    assert str(full).startswith("the disk under /lake/scores/preselect is full (ENOSPC: No space "
                                "left on device): the write of this table failed")
    assert disk_full_error(RuntimeError("task failed"), "/lake") is None


@dataclass(frozen=True)
class ErrorInfo:
    """The fields of Dagster's (private) SerializableErrorInfo that the summary reads."""

    message: str
    cls_name: str
    cause: Optional["ErrorInfo"] = None
    context: Optional["ErrorInfo"] = None


def test_the_run_summary_says_a_full_disk_in_one_line_whatever_raised_it():
    java = ErrorInfo("py4j.protocol.Py4JJavaError: " + SPARK_TRACE, "Py4JJavaError")
    error = ErrorInfo("Error occurred while executing op", "DagsterExecutionStepExecutionError",
                      context=java)
    assert disk_full_reason(error) == (
        f"{DISK_FULL_ERROR}: the disk under /lake/bronze/documents is full (ENOSPC: No space left "
        "on device): the write of this table failed and was not committed, the table is as it "
        "was before; free space there and rerun the same command")
    other = ErrorInfo("ValueError: bad", "ValueError")
    assert disk_full_reason(other) is None

"""Which process executes a run, recorded in its tags, and whether that process still lives.

`refinery run` executes its run inside the CLI process (`execute_in_process`), with no daemon to
notice when that process dies. So the CLI tags each run with the host, the pid and the pid's
identity (boot id and start time, so that a recycled pid is not mistaken for the run's process),
and the next CLI start can tell a run whose process is gone from one that is still working.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

HOST_TAG = "refinery/host"
PID_TAG = "refinery/pid"
PROCESS_TAG = "refinery/process"  # "<boot id>:<start time in clock ticks>", Linux only
RUN_ID_TAG = "refinery/run_id"  # the run's own id: a re-execution copies tags, not the id

_PROC = Path("/proc")


@dataclass(frozen=True)
class RunProcess:
    """The process a run's tags name."""

    host: str
    pid: int
    identity: Optional[str]  # None where /proc is not available

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"


def _boot_id() -> Optional[str]:
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _stat_fields(pid: int) -> Optional[list[str]]:
    """Fields of /proc/<pid>/stat after the command name (state first), or None."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def process_identity(pid: int) -> Optional[str]:
    """Boot id and start time of a live process: equal only for the very same process."""
    fields, boot = _stat_fields(pid), _boot_id()
    if fields is None or boot is None or len(fields) < 20:
        return None
    return f"{boot}:{fields[19]}"  # field 22 of stat: start time since boot, in clock ticks


def this_process() -> RunProcess:
    pid = os.getpid()
    return RunProcess(socket.gethostname(), pid, process_identity(pid))


def process_tags(run_id: str, process: RunProcess | None = None) -> dict[str, str]:
    """Tags of run `run_id` naming the process that executes it (default: this one)."""
    process = process or this_process()
    tags = {RUN_ID_TAG: run_id, HOST_TAG: process.host, PID_TAG: str(process.pid)}
    if process.identity:
        tags[PROCESS_TAG] = process.identity
    return tags


def process_from_tags(run_id: str, tags: Mapping[str, str]) -> Optional[RunProcess]:
    """The process that executes run `run_id`, from its tags; None for a run the CLI did not
    start, or whose tags were copied from another run (a re-execution from the UI)."""
    host, pid = tags.get(HOST_TAG), tags.get(PID_TAG, "")
    if tags.get(RUN_ID_TAG) != run_id or not host or not pid.isdigit():
        return None
    return RunProcess(host, int(pid), tags.get(PROCESS_TAG) or None)


def is_local(process: RunProcess) -> bool:
    return process.host == socket.gethostname()


def is_alive(process: RunProcess) -> bool:
    """Whether the process still runs on this host: it exists, is not a zombie, and is the same
    process that was recorded (not a later one that got the same pid)."""
    try:
        os.kill(process.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    fields = _stat_fields(process.pid)
    if fields is not None and fields[0] in ("Z", "X"):  # zombie or dead, not yet reaped
        return False
    if process.identity is not None:
        current = process_identity(process.pid)
        if current is not None and current != process.identity:
            return False
    return True

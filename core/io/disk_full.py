"""A full disk (or an exceeded quota) under the lake root, recognised in whatever an engine raised.

Spark reports it as a Java trace: SparkException [TASK_WRITE_FAILED] ... caused by Hadoop's
`FSError: java.io.IOException: No space left on device`, two hundred lines long. delta-rs and
Python report `[Errno 28] No space left on device` or `(os error 28)`. `disk_full_error` turns any
of them into one `DiskFullError` whose message names the path and says what to do.
"""
from __future__ import annotations

import errno
import re
from typing import Optional

# What the JVM, Hadoop, Rust and Python print for the two errnos (strerror(3) wording).
_MARKERS = {
    errno.ENOSPC: ("No space left on device", "ENOSPC", "os error 28)", "[Errno 28]"),
    errno.EDQUOT: ("Disk quota exceeded", "EDQUOT", "os error 122)", "[Errno 122]"),
}
_WHAT = {errno.ENOSPC: "is full (ENOSPC: No space left on device)",
         errno.EDQUOT: "is over its quota (EDQUOT: Disk quota exceeded)"}
# Where Spark says it was writing: "Task failed while writing rows to file:/lake/bronze/documents."
# Python's OSError: "[Errno 28] No space left on device: '/lake/x.parquet'".
_WRITE_PATHS = (re.compile(r"while writing rows to (?:file:)?(\S+?)\.?(?:\s|$)"),
                re.compile(r"\[Errno (?:28|122)\] [^:\n]+: '([^'\n]+)'"))


class DiskFullError(OSError):
    """No space (or no quota) left under `path`: the write failed and was not committed."""

    def __init__(self, code: int, path: str):
        super().__init__(code, f"the disk under {path} {_WHAT[code]}", path)

    def __str__(self) -> str:
        return (f"the disk under {self.filename} {_WHAT[self.errno]}: the write of this table "
                "failed and was not committed, the table is as it was before; free space there "
                "and rerun the same command")


def disk_full_errno(text: str) -> Optional[int]:
    """ENOSPC or EDQUOT when `text` (an error message or trace) reports one, else None."""
    for code, markers in _MARKERS.items():
        if any(marker in text for marker in markers):
            return code
    return None


def _chain_text(exc: BaseException) -> str:
    """The messages of `exc` and of its causes (a Py4J error's includes the Java trace)."""
    parts, seen, current = [], set(), exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _MARKERS:
            parts.append(str(_MARKERS[current.errno][0]))
        parts.append(str(current))
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def disk_full_error(exc: BaseException, path: str) -> Optional[DiskFullError]:
    """A DiskFullError naming `path` when `exc` or one of its causes is a full disk, else None."""
    if isinstance(exc, DiskFullError):
        return exc
    code = disk_full_errno(_chain_text(exc))
    return DiskFullError(code, path) if code is not None else None


def written_path(text: str) -> Optional[str]:
    """The path a failed write names (Spark's or Python's message), if any."""
    for pattern in _WRITE_PATHS:
        match = pattern.search(text)
        if match:
            return match.group(1)
    return None

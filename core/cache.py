"""The project's cache directory on this machine, and files built into it atomically.

Everything cc-refinery derives once per machine and reuses offline lives under one root:
`$REFINERY_CACHE` if set, else `~/.cache/cc-refinery` (the Delta jars in `jars/`, compact URL
blocklists in `url-blocklists/`). A cached file is built under a temporary name in its own
directory and renamed into place (`os.replace`, atomic on POSIX), so a reader never sees half a
file and two processes building the same file at once both end with a complete one.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

CACHE_ENV = "REFINERY_CACHE"


def cache_root() -> Path:
    """`$REFINERY_CACHE`, else `~/.cache/cc-refinery` (not created here)."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "cc-refinery"


def cache_dir(name: str) -> Path:
    """A named directory under the cache root, created if missing."""
    path = cache_root() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def build_atomically(dest: Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` on a fresh temporary path beside `dest`, then rename it to `dest`.

    Concurrent builders of the same `dest` are safe: each writes its own temporary file and the
    last rename wins (their contents are the same by construction of a cache key). A failed
    `write` leaves no file behind.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache is read by every worker
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest

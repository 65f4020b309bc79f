"""Progress of long Spark jobs, reported through a log callback (Dagster's logger in assets).

A daemon thread polls Spark's status tracker and reports the active stages' completed tasks, which
for bronze is files done out of files. Silent where the tracker is not available (Spark Connect).
"""
from __future__ import annotations

import contextlib
import threading
import time
from typing import Callable, Iterator


def describe_stages(tracker) -> str | None:
    parts = []
    for stage_id in sorted(tracker.getActiveStageIds()):
        info = tracker.getStageInfo(stage_id)
        if info is not None and info.numTasks:
            parts.append(f"stage {stage_id} '{info.name.split(' at ')[0]}': "
                         f"{info.numCompletedTasks}/{info.numTasks} tasks "
                         f"({info.numActiveTasks} running, {info.numFailedTasks} failed)")
    return "; ".join(parts) or None


@contextlib.contextmanager
def report_progress(spark, log: Callable[[str], None], label: str, every_s: float = 30.0
                    ) -> Iterator[None]:
    try:
        tracker = spark.sparkContext.statusTracker()
    except Exception:  # Spark Connect has no SparkContext
        yield
        return
    stop = threading.Event()
    started = time.monotonic()

    def poll() -> None:
        while not stop.wait(every_s):
            status = describe_stages(tracker)
            if status:
                log(f"{label} ({time.monotonic() - started:.0f}s): {status}")

    thread = threading.Thread(target=poll, name=f"progress-{label}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)

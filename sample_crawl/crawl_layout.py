"""Common Crawl's layout for a local mirror: WARC paths, the paths listing, pages spread over files.

Shared by the sample crawl and the benchmark corpus.
"""
from __future__ import annotations

import datetime as dt
import gzip
import random
from pathlib import Path
from typing import Sequence, TypeVar

T = TypeVar("T")
CRAWL_HOURS = 3  # the time span in the WARC file names (Common Crawl: start and end of the segment)


def warc_relative_paths(crawl_id: str, n_files: int, segments: Sequence[str],
                        start: dt.datetime) -> list[str]:
    """Common Crawl style paths: crawl-data/<crawl>/segments/<seg>/warc/CC-MAIN-<t0>-<t1>-NNNNN.warc.gz,
    the files spread evenly over the segments in order."""
    if n_files < 1 or not segments:
        raise ValueError(f"need at least one file and one segment, got {n_files} files, {segments!r}")
    begin = start.strftime("%Y%m%d%H%M%S")
    end = (start + dt.timedelta(hours=CRAWL_HOURS)).strftime("%Y%m%d%H%M%S")
    return [f"crawl-data/{crawl_id}/segments/{segments[i * len(segments) // n_files]}/warc/"
            f"CC-MAIN-{begin}-{end}-{i:05d}.warc.gz" for i in range(n_files)]


def assign_to_files(items: Sequence[T], n_files: int, seed: int | str) -> list[list[T]]:
    """Shuffle items deterministically and cut them into n contiguous, near-equal groups."""
    order = list(items)
    random.Random(seed).shuffle(order)
    size, extra = divmod(len(order), n_files)
    groups, start = [], 0
    for i in range(n_files):
        stop = start + size + (1 if i < extra else 0)
        groups.append(order[start:stop])
        start = stop
    return groups


def write_paths_file(path: Path, relative_paths: Sequence[str]) -> None:
    """warc.paths.gz: gzip text (mtime 0, so the bytes are reproducible), one path a line."""
    path.write_bytes(gzip.compress(("\n".join(relative_paths) + "\n").encode(), mtime=0))

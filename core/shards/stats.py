"""Summaries of a shard set for metadata: the token-length histogram of its documents."""
from __future__ import annotations

import numpy as np

HISTOGRAM_EDGES = tuple(2 ** k for k in range(6, 18))  # 64 .. 131,072 tokens: doubling buckets


def _label(lo: int | None, hi: int | None) -> str:
    if lo is None:
        return f"< {hi:,}"
    if hi is None:
        return f">= {lo:,}"
    return f"{lo:,}-{hi - 1:,}"


def token_length_histogram(lengths: np.ndarray, edges: tuple[int, ...] = HISTOGRAM_EDGES) -> dict[str, int]:
    """Documents per token-length bucket ([edge_i, edge_(i+1)), doubling), in bucket order; every
    bucket is listed, empty ones with 0."""
    lengths = np.asarray(lengths, np.int64)
    bucket = np.searchsorted(np.asarray(edges, np.int64), lengths, side="right")
    counts = np.bincount(bucket, minlength=len(edges) + 1)
    bounds = [None, *edges, None]
    return {_label(bounds[i], bounds[i + 1]): int(counts[i]) for i in range(len(edges) + 1)}

"""Arrow batches cut to a bounded size: what `mapInArrow` (Spark) and `map_batches` (Ray) wrappers
hand to the engine-free functions, so a large input batch never means a large Python working set."""
from __future__ import annotations

from typing import Callable, Iterable, Iterator

import pyarrow as pa


def slices(batches: Iterable[pa.RecordBatch], max_rows: int) -> Iterator[pa.RecordBatch]:
    """Every batch cut into zero-copy slices of at most `max_rows` rows, in order (empty ones skipped)."""
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}")
    for batch in batches:
        for start in range(0, batch.num_rows, max_rows):
            yield batch.slice(start, max_rows)


def map_slices(fn: Callable[[pa.RecordBatch], pa.RecordBatch], max_rows: int
               ) -> Callable[[Iterable[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """A batch-iterator function (the shape `mapInArrow` wants) that applies `fn` to every slice."""

    def apply(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for part in slices(batches, max_rows):
            yield fn(part)

    return apply

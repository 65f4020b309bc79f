"""Row lookup by doc_id in a table held by every worker (a map-side join without a shuffle).

The training-shard stage joins the wide table of a crawl (texts) with narrow ones (scores, cluster
sizes, the copies' positions), which are small enough to be sent to every worker once. Per batch,
`pyarrow.Table.join` would rebuild a hash table of the whole narrow side; `DocIndex` builds one
sorted array of 64-bit hashes (xxh3-64 of the doc_id's UTF-8 bytes) once and answers a batch with
`np.searchsorted`. Every hit is confirmed by comparing the doc_id strings, so a hash collision
between two different ids never returns a wrong row: colliding ids are resolved by a scan of their
(tiny) hash run. Memory: 16 bytes per row plus the id column itself.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash


def doc_id_hashes(doc_ids: pa.Array | pa.ChunkedArray | list) -> np.ndarray:
    """xxh3-64 (uint64) of each doc_id; a null doc_id is an error."""
    values = doc_ids.to_pylist() if isinstance(doc_ids, (pa.Array, pa.ChunkedArray)) else list(doc_ids)
    if any(value is None for value in values):
        raise ValueError("a doc_id is null: every document needs an id")
    return np.fromiter((xxhash.xxh3_64_intdigest(value) for value in values), np.uint64, len(values))


def _as_string_array(doc_ids) -> pa.Array:
    if isinstance(doc_ids, pa.ChunkedArray):
        doc_ids = doc_ids.combine_chunks()
    if not isinstance(doc_ids, pa.Array):
        doc_ids = pa.array(list(doc_ids), pa.string())
    return doc_ids.cast(pa.large_string())


class DocIndex:
    """Positions of doc_ids in a column of unique ids; `rows(ids)` gives -1 for unknown ids."""

    def __init__(self, doc_ids: pa.Array | pa.ChunkedArray | list, name: str = "table"):
        self.name = name
        self._ids = _as_string_array(doc_ids)
        hashes = doc_id_hashes(self._ids)
        self._order = np.argsort(hashes, kind="stable").astype(np.int64)
        self._hashes = hashes[self._order]
        self._check_unique()

    def __len__(self) -> int:
        return len(self._ids)

    def _check_unique(self) -> None:
        same = np.flatnonzero(self._hashes[1:] == self._hashes[:-1])
        for i in same:
            run = self._order[self._hashes == self._hashes[i]]
            ids = self._ids.take(pa.array(run)).to_pylist()
            if len(set(ids)) != len(ids):
                duplicate = next(value for value in ids if ids.count(value) > 1)
                raise ValueError(f"{self.name}: doc_id {duplicate!r} appears more than once")

    def rows(self, doc_ids: pa.Array | pa.ChunkedArray | list) -> np.ndarray:
        """int64 row of each id in the indexed column, -1 where it is absent."""
        wanted = _as_string_array(doc_ids)
        hashes = doc_id_hashes(wanted)
        lo = np.searchsorted(self._hashes, hashes, side="left")
        hi = np.searchsorted(self._hashes, hashes, side="right")
        out = np.full(hashes.size, -1, np.int64)
        single = (hi - lo) == 1
        if single.any():
            candidates = self._order[lo[single]]
            equal = pc.equal(self._ids.take(pa.array(candidates)), wanted.filter(pa.array(single)))
            confirmed = pc.fill_null(equal, False).to_numpy(zero_copy_only=False)
            out[np.flatnonzero(single)[confirmed]] = candidates[confirmed]
        for i in np.flatnonzero((hi - lo) > 1):  # a hash shared by several ids: compare each
            target = wanted[int(i)].as_py()
            for row in self._order[lo[i]:hi[i]]:
                if self._ids[int(row)].as_py() == target:
                    out[i] = row
                    break
        return out


def take_or_null(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """Rows of `table` by position, a row of nulls where the position is -1."""
    rows = np.asarray(rows, np.int64)
    indices = pa.array(np.where(rows < 0, 0, rows), mask=rows < 0)
    return table.take(indices)

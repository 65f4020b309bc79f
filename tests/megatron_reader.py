"""An independent reader of Megatron-LM indexed datasets (.bin + .idx), for tests only.

Written from the format as Megatron-LM's `megatron/core/datasets/indexed_dataset.py` reads it
(`_IndexReader` and `IndexedDataset`), with numpy `memmap`/`frombuffer`; it shares no code with
`core/shards/megatron.py`, so a test that round-trips through both checks the writer against the
format and not against itself. It also checks what Megatron asserts when it opens a dataset.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAGIC = b"MMIDIDX\x00\x00"
# megatron.core.datasets.indexed_dataset.DType: code -> numpy dtype
CODE_TO_DTYPE = {1: np.uint8, 2: np.int8, 3: np.int16, 4: np.int32, 5: np.int64,
                 6: np.float64, 7: np.float32, 8: np.uint16}


@dataclass
class MegatronIndex:
    dtype: np.dtype
    sequence_lengths: np.ndarray  # int32[S]
    sequence_pointers: np.ndarray  # int64[S]
    document_indices: np.ndarray  # int64[D]
    trailing_bytes: int  # bytes after the document indices (0 in a well-formed index)


def read_index(idx_path: str) -> MegatronIndex:
    raw = np.fromfile(idx_path, dtype=np.uint8)
    buffer = raw.tobytes()
    if buffer[:9] != MAGIC:
        raise AssertionError(f"bad magic in {idx_path}: {buffer[:9]!r}")
    version = int(np.frombuffer(buffer, dtype="<u8", count=1, offset=9)[0])
    if version != 1:
        raise AssertionError(f"bad version {version}")
    code = buffer[17]
    dtype = np.dtype(CODE_TO_DTYPE[code]).newbyteorder("<")
    n_seq = int(np.frombuffer(buffer, dtype="<u8", count=1, offset=18)[0])
    n_doc = int(np.frombuffer(buffer, dtype="<u8", count=1, offset=26)[0])
    offset = 34
    lengths = np.frombuffer(buffer, dtype="<i4", count=n_seq, offset=offset)
    offset += 4 * n_seq
    pointers = np.frombuffer(buffer, dtype="<i8", count=n_seq, offset=offset)
    offset += 8 * n_seq
    doc_idx = np.frombuffer(buffer, dtype="<i8", count=n_doc, offset=offset)
    offset += 8 * n_doc
    return MegatronIndex(dtype, lengths, pointers, doc_idx, len(buffer) - offset)


class MegatronDataset:
    """Sequences of a dataset by index, as `IndexedDataset.__getitem__` returns them."""

    def __init__(self, prefix: str):
        self.index = read_index(prefix + ".idx")
        # what IndexedDataset asserts on open
        assert self.index.sequence_lengths.shape[0] == self.index.document_indices[-1]
        self.data = np.memmap(prefix + ".bin", mode="r", dtype=np.uint8)

    def __len__(self) -> int:
        return int(self.index.sequence_lengths.shape[0])

    def __getitem__(self, i: int) -> np.ndarray:
        count = int(self.index.sequence_lengths[i])
        start = int(self.index.sequence_pointers[i])
        return np.frombuffer(self.data, dtype=self.index.dtype, count=count, offset=start) if count else \
            np.zeros(0, self.index.dtype)

    def documents(self) -> list[np.ndarray]:
        """Each document's tokens: the concatenation of its sequences."""
        idx = self.index.document_indices
        return [np.concatenate([self[j] for j in range(int(idx[d]), int(idx[d + 1]))] or [np.zeros(0, self.index.dtype)])
                for d in range(idx.size - 1)]

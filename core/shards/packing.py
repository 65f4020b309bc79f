"""Packed fixed-length training rows: an alternative to Megatron shards for trainers that read
ready-made sequences (a `.npy` array or a Parquet file of fixed-size lists).

Documents (each already ending in its end-of-document token) are concatenated in order and cut
into rows. Row layout, chosen to match what Megatron-LM's GPTDataset does with its samples
(`build_sample_idx`: a sample is seq_length + 1 tokens and the next sample starts on its last
token):
- `label_token=True` (default): rows of `seq_len + 1` tokens, consecutive rows overlapping by one
  token. A trainer takes inputs = row[:-1] and labels = row[1:], and every token of the stream is a
  label exactly once (the first token of the stream is never a label, the last never an input).
  The cost is one duplicated token per row (1/seq_len of the storage).
- `label_token=False`: rows of exactly `seq_len` tokens without overlap, for trainers that shift
  inside the row (each row's last token is then never predicted from its successor).

The end of the stream never fills a whole row. `remainder` says what happens to it, explicitly:
- "drop" (default, as Megatron, whose sample count is (tokens - 1) // seq_length): its tokens are
  left out and counted in `dropped_tokens`;
- "pad": a last row filled up with `pad_id` (required, so padding is never a silent default); the
  valid length of each row is stored in `n_valid` (row_len for every full row).
A final shorter row is not offered: `.npy` and fixed-size lists hold rows of one length.

The row dtype is the shard token dtype of the vocabulary (uint16 or int32, `token_dtype`).
Files are written under a temporary name, hashed, and renamed into place.
"""
from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core.shards.token_dtype import check_token_range, token_dtype

REMAINDER_RULES = ("drop", "pad")


@dataclass(frozen=True)
class PackingParams:
    seq_len: int = 2048  # SmolLM2's context length (the project's reference model family)
    label_token: bool = True  # Megatron GPTDataset: samples of seq_length + 1 tokens, overlapping by one
    remainder: str = "drop"  # Megatron GPTDataset: num_samples = (tokens - 1) // seq_length
    pad_id: int | None = None  # required for remainder="pad"

    def __post_init__(self):
        if isinstance(self.seq_len, bool) or not isinstance(self.seq_len, int) or self.seq_len < 1:
            raise ValueError(f"PackingParams.seq_len must be a positive integer, got {self.seq_len!r}")
        if self.remainder not in REMAINDER_RULES:
            raise ValueError(f"PackingParams.remainder must be one of {REMAINDER_RULES}, got {self.remainder!r}")
        if self.remainder == "pad" and self.pad_id is None:
            raise ValueError("PackingParams.remainder='pad' needs a pad_id")

    @property
    def row_len(self) -> int:
        return self.seq_len + (1 if self.label_token else 0)

    @property
    def overlap(self) -> int:
        return 1 if self.label_token else 0


@dataclass(frozen=True)
class PackedRows:
    """Rows (int array [n_rows, row_len]) and the valid length of each row (int32[n_rows])."""

    rows: np.ndarray
    n_valid: np.ndarray


class SequencePacker:
    """Streaming packer: `add(ids)` returns the rows completed so far, `finish()` the remainder row
    (or none) and the number of dropped tokens. Rows depend only on the concatenated token stream,
    not on how it is split into batches."""

    def __init__(self, params: PackingParams, vocab_size: int):
        self.params = params
        self.vocab_size = vocab_size
        self.dtype = token_dtype(vocab_size)
        if params.pad_id is not None:
            check_token_range(np.array([params.pad_id]), vocab_size, "PackingParams.pad_id")
        self._carry = np.zeros(0, self.dtype)
        self.n_rows = 0
        self.dropped_tokens = 0
        self.padded_tokens = 0
        self._finished = False

    def add(self, ids: np.ndarray) -> PackedRows:
        if self._finished:
            raise ValueError("the packer is finished")
        ids = np.asarray(ids)
        check_token_range(ids, self.vocab_size, "packing")
        stream = np.concatenate((self._carry, ids.astype(self.dtype, copy=False)))
        seq_len, row_len = self.params.seq_len, self.params.row_len
        n_rows = max(0, (stream.size - self.params.overlap) // seq_len) if stream.size >= row_len else 0
        if n_rows:
            windows = np.lib.stride_tricks.sliding_window_view(stream, row_len)[::seq_len][:n_rows]
            rows = np.ascontiguousarray(windows)
        else:
            rows = np.zeros((0, row_len), self.dtype)
        self._carry = stream[n_rows * seq_len:].copy()
        self.n_rows += n_rows
        return PackedRows(rows, np.full(n_rows, row_len, np.int32))

    def finish(self) -> PackedRows:
        """The remainder: dropped (counted) or padded into one last row."""
        if self._finished:
            raise ValueError("the packer is finished")
        self._finished = True
        row_len = self.params.row_len
        already_in_a_row = self.params.overlap if self.n_rows else 0  # the last row's label token
        leftover = self._carry.size - already_in_a_row
        empty = PackedRows(np.zeros((0, row_len), self.dtype), np.zeros(0, np.int32))
        if leftover <= 0:
            return empty
        if self.params.remainder == "drop":
            self.dropped_tokens = int(leftover)
            return empty
        row = np.full((1, row_len), self.params.pad_id, self.dtype)
        row[0, : self._carry.size] = self._carry
        self.padded_tokens = row_len - self._carry.size
        self.n_rows += 1
        return PackedRows(row, np.array([self._carry.size], np.int32))


def packed_shape(n_tokens: int, params: PackingParams) -> tuple[int, int, int]:
    """(rows, dropped tokens, padded tokens) that SequencePacker gives for a stream of `n_tokens`
    tokens, without packing it (a file's header can then be written before its rows)."""
    if isinstance(n_tokens, bool) or int(n_tokens) != n_tokens or n_tokens < 0:
        raise ValueError(f"n_tokens must be a non-negative integer, got {n_tokens!r}")
    n_tokens = int(n_tokens)
    full = (n_tokens - params.overlap) // params.seq_len if n_tokens >= params.row_len else 0
    carry = n_tokens - full * params.seq_len
    leftover = carry - (params.overlap if full else 0)
    if leftover <= 0:
        return full, 0, 0
    if params.remainder == "drop":
        return full, leftover, 0
    return full + 1, 0, params.row_len - carry


def pack_tokens(ids: np.ndarray, params: PackingParams, vocab_size: int) -> tuple[PackedRows, int]:
    """All rows of one token stream at once, and the number of dropped tokens."""
    packer = SequencePacker(params, vocab_size)
    body, tail = packer.add(ids), packer.finish()
    rows = np.concatenate((body.rows, tail.rows))
    return PackedRows(rows, np.concatenate((body.n_valid, tail.n_valid))), packer.dropped_tokens


@dataclass(frozen=True)
class PackedFileInfo:
    path: str
    n_rows: int
    row_len: int
    dtype: str
    sha256: str
    bytes: int


def write_packed_npy(path: str | os.PathLike, packed: PackedRows) -> PackedFileInfo:
    """The rows as one `.npy` array [n_rows, row_len] (the valid lengths are not stored: with
    remainder="drop" every row is full; with "pad" the trainer masks `pad_id`)."""
    return _write_atomically(path, packed, lambda tmp: np.save(tmp, packed.rows, allow_pickle=False))


def packed_parquet_table(packed: PackedRows) -> pa.Table:
    """Columns `tokens` (fixed_size_list<uint16|int32>[row_len]) and `n_valid` (int32)."""
    rows = packed.rows
    row_len = rows.shape[1]
    values = pa.array(rows.reshape(-1), type=pa.from_numpy_dtype(rows.dtype))
    tokens = pa.FixedSizeListArray.from_arrays(values, row_len)
    return pa.table({"tokens": tokens, "n_valid": pa.array(packed.n_valid, pa.int32())})


def write_packed_parquet(path: str | os.PathLike, packed: PackedRows) -> PackedFileInfo:
    table = packed_parquet_table(packed)
    return _write_atomically(path, packed, lambda tmp: pq.write_table(table, tmp))


def _write_atomically(path, packed: PackedRows, write) -> PackedFileInfo:
    path = str(path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        sha, size = _sha256_of_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    rows = packed.rows
    return PackedFileInfo(path, int(rows.shape[0]), int(rows.shape[1]), rows.dtype.name, sha, size)


def _sha256_of_file(path: str) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            sha.update(block)
            size += len(block)
    return sha.hexdigest(), size

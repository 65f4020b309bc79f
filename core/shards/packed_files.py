"""The packed-sequence file written beside a Megatron shard: the shard's token stream (its documents
in shard order, each ending in its end-of-document token) cut into fixed-length rows by
core.shards.packing, as one `.npy` array or one Parquet file.

What happens at document boundaries: nothing special. The end-of-document tokens stay in the
stream, a row holds the end of one document and the start of the next, and a document longer than
a row continues in the next row (Megatron-LM's GPTDataset packs its samples the same way). Rows are
cut per shard, never across two shards, so each shard's file is written by the shard's own task and
depends on the shard's bytes only. The shard's last partial row is dropped (counted in
`dropped_tokens`: fewer than `seq_len` tokens per shard) or, with remainder="pad", filled with
`pad_id` (counted in `padded_tokens`).

File name: `<shard prefix>.<tag>.<npy|parquet>` with the tag `seq<seq_len>-overlap<0|1>-<drop|pad<id>>`,
so files of other packing settings never overwrite one another (an older manifest may point at them).

Writing streams the rows in chunks of about CHUNK_TOKENS tokens (no second copy of the shard in
memory) to a temporary name, hashes the bytes, and renames into place. `.npy` bytes equal what
`numpy.save` writes for the whole array; Parquet files are the same bytes for the same pyarrow
release (row groups follow the chunks, a function of the shard's token count only).
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from core.shards import lake_files
from core.shards.packing import PackedRows, PackingParams, SequencePacker, packed_parquet_table, packed_shape
from core.shards.token_dtype import token_dtype

FORMATS = ("npy", "parquet")
CHUNK_TOKENS = 1 << 22  # about 4M tokens (8 MB of uint16) per chunk and Parquet row group


@dataclass(frozen=True)
class PackedOutput:
    """Which packed file to write beside each shard."""

    params: PackingParams
    format: str = "npy"  # numpy's own format: np.load(path, mmap_mode="r") reads it without a copy

    def __post_init__(self):
        if self.format not in FORMATS:
            raise ValueError(f"packed sequences format must be one of {FORMATS}, got {self.format!r}")

    @property
    def tag(self) -> str:
        p = self.params
        rest = "drop" if p.remainder == "drop" else f"pad{p.pad_id}"
        return f"seq{p.seq_len}-overlap{p.overlap}-{rest}"

    def location(self, prefix: str) -> str:
        return f"{prefix}.{self.tag}.{self.format}"

    def describe(self) -> dict:
        """The settings as plain JSON values (recorded in the shard's completion marker)."""
        p = self.params
        return {"format": self.format, "seq_len": p.seq_len, "label_token": p.label_token,
                "remainder": p.remainder, "pad_id": p.pad_id}


@dataclass(frozen=True)
class PackedFile:
    """A finished packed file: where, its shape and counts, and its sha256."""

    location: str
    format: str
    row_len: int
    sequences: int  # rows
    tokens: int  # tokens of the shard's stream in the rows, each counted once (no padding, no overlap)
    dropped_tokens: int  # of the shard's stream, in no row (remainder="drop")
    padded_tokens: int  # pad ids in the last row (remainder="pad")
    sha256: str
    bytes: int


def packed_chunks(ids: np.ndarray, params: PackingParams, vocab_size: int):
    """The rows of a token stream, chunk by chunk (PackedRows), the remainder row last."""
    packer = SequencePacker(params, vocab_size)
    step = max(1, CHUNK_TOKENS // params.seq_len) * params.seq_len
    for lo in range(0, ids.size, step):
        chunk = packer.add(ids[lo:lo + step])
        if chunk.rows.shape[0]:
            yield chunk
    tail = packer.finish()
    if tail.rows.shape[0]:
        yield tail


def write_packed_file(path: str | os.PathLike, ids: np.ndarray, output: PackedOutput, vocab_size: int
                      ) -> PackedFile:
    """Pack one shard's token stream into a local file at `path` (temporary name, then renamed)."""
    path = str(path)
    ids = np.asarray(ids)
    params = output.params
    rows, dropped, padded = packed_shape(ids.size, params)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    try:
        with open(tmp, "wb") as handle:
            write = _write_npy if output.format == "npy" else _write_parquet
            written = write(handle, packed_chunks(ids, params, vocab_size), (rows, params.row_len),
                            token_dtype(vocab_size))
            handle.flush()
            os.fsync(handle.fileno())
        if written != rows:
            raise RuntimeError(f"{path}: packed {written} rows, expected {rows}")
        sha, size = lake_files.sha256_of(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return PackedFile(path, output.format, params.row_len, rows, int(ids.size) - dropped, dropped, padded, sha, size)


def _write_npy(handle, chunks, shape: tuple[int, int], dtype: np.dtype) -> int:
    """The header numpy.save writes for an array of `shape`, then the rows in C order."""
    little = np.dtype(dtype).newbyteorder("<")
    header = {"descr": np.lib.format.dtype_to_descr(little), "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(handle, header)
    written = 0
    for chunk in chunks:
        handle.write(np.ascontiguousarray(chunk.rows, dtype=little).tobytes())
        written += chunk.rows.shape[0]
    return written


def _write_parquet(handle, chunks, shape: tuple[int, int], dtype: np.dtype) -> int:
    """Columns `tokens` (fixed_size_list[row_len]) and `n_valid`, one row group per chunk."""
    empty = PackedRows(np.zeros((0, shape[1]), dtype), np.zeros(0, np.int32))
    schema = packed_parquet_table(empty).schema
    written = 0
    with pq.ParquetWriter(handle, schema) as writer:
        for chunk in chunks:
            writer.write_table(packed_parquet_table(chunk))
            written += chunk.rows.shape[0]
        if not written:
            writer.write_table(packed_parquet_table(empty))
    return written

"""Megatron-LM indexed dataset writer: a `.bin` + `.idx` pair in the MMIDIDX layout.

The layout is the one Megatron-LM's `megatron/core/datasets/indexed_dataset.py` reads
(`_IndexReader`, `IndexedDataset`) and writes (`_IndexWriter`, `IndexedDatasetBuilder`), and the one
datatrove's `MegatronTokenizedFile` writes. All integers are little-endian.

`.bin`: the token ids of every sequence back to back, in the token dtype, nothing else.

`.idx`:
    offset  size       field
    0       9          magic b"MMIDIDX\\x00\\x00"
    9       u64        version, 1
    17      u8         token dtype code: 1 uint8, 2 int8, 3 int16, 4 int32, 5 int64, 6 float64,
                       7 float32, 8 uint16 (Megatron's `DType` enum)
    18      u64        S, the sequence count
    26      u64        D, the length of the document-index array
    34      int32[S]   sequence lengths, in tokens
            int64[S]   sequence pointers: byte offset of each sequence in `.bin`
                       (the running sum of the lengths before it, times the dtype's item size)
            int64[D]   document indices: where each document starts in the sequence list, from 0,
                       ending with S (document k is sequences doc_idx[k] .. doc_idx[k+1]-1)
            (int8[S]   sequence modes, multimodal datasets only; never written here)

"Sequence" is what Megatron addresses (`dataset[i]`); a "document" is a run of sequences (one per
sentence with preprocess_data.py --split-sentences). As Megatron's preprocess_data.py without
--split-sentences and datatrove do, this writer stores one sequence per document, so the document
indices are 0, 1, ..., S and D = S + 1. `IndexedDataset` asserts doc_idx[-1] == S. Document
boundaries inside packed training samples are the end-of-document tokens the tokenizer appends.

Writing streams: token ids go straight to the `.bin` (one write per batch), only the lengths stay in
memory (4 bytes per document), and the `.idx` is written at `close` in chunks. Both files are
written under temporary names (`<final>.tmp-<random>`), hashed (sha256) as they are written, flushed
to disk, and renamed: first the `.bin`, the `.idx` last, so the `.idx` is the completion marker.
An interrupted write leaves only `*.tmp-*` files (or, between the two renames, a `.bin` without its
`.idx`, which no reader opens) and never a complete-looking shard. A writer used as a context
manager deletes its temporary files when the block raises.

Empty documents (no tokens, possible only without an end-of-document token) are written as
zero-length sequences and counted (`n_empty_documents`). A shard without any token is refused at
`close` (ValueError, temporary files removed): the format allows it, but Megatron's
`_MMapBinReader` memory-maps the `.bin` and a 0-byte file cannot be mapped.
"""
from __future__ import annotations

import hashlib
import os
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.shards.token_dtype import check_token_range, token_dtype

INDEX_MAGIC = b"MMIDIDX\x00\x00"
INDEX_VERSION = 1
# Megatron-LM megatron/core/datasets/indexed_dataset.py, class DType
DTYPE_CODES = {
    np.dtype(np.uint8): 1, np.dtype(np.int8): 2, np.dtype(np.int16): 3, np.dtype(np.int32): 4,
    np.dtype(np.int64): 5, np.dtype(np.float64): 6, np.dtype(np.float32): 7, np.dtype(np.uint16): 8,
}
INT32_MAX = np.iinfo(np.int32).max
_INDEX_CHUNK = 1 << 20  # sequences per chunk when writing the index arrays


@dataclass(frozen=True)
class ShardInfo:
    """A finished shard: paths, totals and the sha256 of both files."""

    prefix: str  # the path without .bin / .idx, what Megatron's --data-path takes
    bin_path: str
    idx_path: str
    n_documents: int
    n_tokens: int
    n_empty_documents: int
    dtype: str  # uint16 | int32
    bin_sha256: str
    idx_sha256: str
    bin_bytes: int
    idx_bytes: int


class _HashingFile:
    """A binary file opened for writing that hashes and counts what goes through it."""

    def __init__(self, path: str):
        self.path = path
        self._file = open(path, "wb")
        self._sha = hashlib.sha256()
        self.bytes = 0

    def write(self, data) -> None:
        view = memoryview(data).cast("B")
        self._file.write(view)
        self._sha.update(view)
        self.bytes += view.nbytes

    def close_durably(self) -> str:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        return self._sha.hexdigest()

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        if os.path.exists(self.path):
            os.remove(self.path)


class _GrowableInt32:
    """An append-only int32 array with amortized doubling (no Python int per element)."""

    def __init__(self, capacity: int = 1024):
        self._data = np.empty(capacity, np.int32)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        need = self.size + values.size
        if need > self._data.size:
            grown = np.empty(max(need, 2 * self._data.size), np.int32)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size:need] = values
        self.size = need

    def view(self) -> np.ndarray:
        return self._data[: self.size]


class MegatronWriter:
    """Writes one Megatron indexed dataset at `prefix` (.bin + .idx) for a vocabulary size.

    Use `add_documents(ids, lengths)` with the flat ids and per-document lengths of a batch (the
    shape `ShardTokenizer.encode_batch` returns) or `add_document(ids)`; `close()` returns a
    ShardInfo. As a context manager: closes on success, `abort()`s on an exception."""

    def __init__(self, prefix: str | os.PathLike, vocab_size: int):
        self.prefix = str(prefix)
        self.vocab_size = vocab_size
        self.dtype = token_dtype(vocab_size)
        Path(self.prefix).parent.mkdir(parents=True, exist_ok=True)
        tag = f".tmp-{uuid.uuid4().hex}"
        self._bin = _HashingFile(self.prefix + ".bin" + tag)
        self._idx_tmp = self.prefix + ".idx" + tag
        self._lengths = _GrowableInt32()
        self.n_tokens = 0
        self.n_empty_documents = 0
        self._state = "open"

    @property
    def n_documents(self) -> int:
        return self._lengths.size

    def add_documents(self, ids: np.ndarray, lengths: np.ndarray) -> None:
        """Append documents given as flat ids and per-document lengths (in order)."""
        self._require_open()
        ids = np.asarray(ids)
        lengths = np.asarray(lengths, dtype=np.int64)
        if lengths.ndim != 1 or ids.ndim != 1:
            raise ValueError("ids and lengths must be one-dimensional")
        if lengths.size and (lengths.min() < 0 or lengths.max() > INT32_MAX):
            raise ValueError(f"{self.prefix}: a document length is negative or above {INT32_MAX} tokens")
        if int(lengths.sum()) != ids.size:
            raise ValueError(f"{self.prefix}: lengths sum to {int(lengths.sum())} but {ids.size} ids were given")
        check_token_range(ids, self.vocab_size, self.prefix)
        self._bin.write(np.ascontiguousarray(ids, dtype=self.dtype.newbyteorder("<")))
        self._lengths.extend(lengths.astype(np.int32))
        self.n_tokens += int(ids.size)
        self.n_empty_documents += int(np.count_nonzero(lengths == 0))

    def add_document(self, ids: np.ndarray) -> None:
        ids = np.asarray(ids)
        self.add_documents(ids, np.array([ids.size], np.int64))

    def close(self) -> ShardInfo:
        """Write the index, make both files durable and rename them into place (.idx last)."""
        self._require_open()
        if self.n_tokens == 0:
            self.abort()
            raise ValueError(f"{self.prefix}: a shard without tokens is not written (Megatron memory-maps "
                             f"the .bin, and a 0-byte file cannot be mapped); nothing was left on disk")
        try:
            bin_sha = self._bin.close_durably()
            idx = _HashingFile(self._idx_tmp)
            try:
                _write_index(idx, self._lengths.view(), self.dtype)
                idx_sha = idx.close_durably()
            except BaseException:
                idx.discard()
                raise
            bin_path, idx_path = self.prefix + ".bin", self.prefix + ".idx"
            os.replace(self._bin.path, bin_path)
            os.replace(self._idx_tmp, idx_path)
            _fsync_directory(os.path.dirname(os.path.abspath(bin_path)))
        except BaseException:
            self.abort()
            raise
        self._state = "closed"
        return ShardInfo(
            prefix=self.prefix, bin_path=bin_path, idx_path=idx_path, n_documents=self.n_documents,
            n_tokens=self.n_tokens, n_empty_documents=self.n_empty_documents, dtype=self.dtype.name,
            bin_sha256=bin_sha, idx_sha256=idx_sha, bin_bytes=self._bin.bytes, idx_bytes=idx.bytes,
        )

    def abort(self) -> None:
        """Delete the temporary files; the final paths are never touched."""
        self._bin.discard()
        if os.path.exists(self._idx_tmp):
            os.remove(self._idx_tmp)
        self._state = "aborted"

    def _require_open(self) -> None:
        if self._state != "open":
            raise ValueError(f"{self.prefix}: the writer is {self._state}")

    def __enter__(self) -> "MegatronWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._state != "open":
            return
        if exc_type is None:
            self.close()
        else:
            self.abort()


def index_header(dtype: np.dtype, n_sequences: int, n_document_indices: int) -> bytes:
    """The 34 bytes before the index arrays."""
    return (INDEX_MAGIC + struct.pack("<Q", INDEX_VERSION) + struct.pack("<B", DTYPE_CODES[np.dtype(dtype)])
            + struct.pack("<Q", n_sequences) + struct.pack("<Q", n_document_indices))


def _write_index(out: _HashingFile, lengths: np.ndarray, dtype: np.dtype) -> None:
    """Header, then lengths, pointers and document indices, each written in bounded chunks."""
    n = lengths.size
    out.write(index_header(dtype, n, n + 1))
    for lo in range(0, n, _INDEX_CHUNK):
        out.write(lengths[lo:lo + _INDEX_CHUNK].astype("<i4"))
    itemsize = np.int64(np.dtype(dtype).itemsize)
    start = np.int64(0)
    for lo in range(0, n, _INDEX_CHUNK):
        chunk = lengths[lo:lo + _INDEX_CHUNK].astype(np.int64) * itemsize
        ends = np.cumsum(chunk) + start
        out.write((ends - chunk).astype("<i8"))
        start = ends[-1]
    for lo in range(0, n + 1, _INDEX_CHUNK):
        out.write(np.arange(lo, min(lo + _INDEX_CHUNK, n + 1), dtype="<i8"))


def _fsync_directory(path: str) -> None:
    """Make the renames durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


CODE_DTYPES = {code: dtype for dtype, code in DTYPE_CODES.items()}


@dataclass(frozen=True)
class IndexSummary:
    """What a `.idx` says about its dataset."""

    dtype: str
    n_sequences: int
    n_tokens: int  # the sum of the sequence lengths

    @property
    def bin_bytes(self) -> int:
        """The size the `.bin` must have."""
        return self.n_tokens * np.dtype(self.dtype).itemsize


def read_index_summary(data: bytes, where: str = "index") -> IndexSummary:
    """Parse and validate a `.idx` (header, lengths, pointers, document indices): a ValueError names
    the first inconsistency. Pointers must be the running byte offsets of the lengths and the
    document indices must end at the sequence count, as Megatron's reader assumes."""
    if len(data) < 34 or data[:9] != INDEX_MAGIC:
        raise ValueError(f"{where}: not a Megatron index (magic {data[:9]!r})")
    version, code, n_seq, n_doc = struct.unpack_from("<QBQQ", data, 9)
    if version != INDEX_VERSION or code not in CODE_DTYPES:
        raise ValueError(f"{where}: unsupported version {version} or dtype code {code}")
    expected = 34 + 4 * n_seq + 8 * n_seq + 8 * n_doc
    if len(data) != expected:
        raise ValueError(f"{where}: {len(data)} bytes, the header announces {expected}")
    dtype = CODE_DTYPES[code]
    lengths = np.frombuffer(data, "<i4", n_seq, 34).astype(np.int64)
    pointers = np.frombuffer(data, "<i8", n_seq, 34 + 4 * n_seq)
    doc_idx = np.frombuffer(data, "<i8", n_doc, 34 + 12 * n_seq)
    if lengths.size and lengths.min() < 0:
        raise ValueError(f"{where}: a negative sequence length")
    running = np.concatenate(([0], np.cumsum(lengths)[:-1])) * dtype.itemsize if n_seq else lengths
    if not np.array_equal(pointers, running):
        raise ValueError(f"{where}: sequence pointers are not the running offsets of the lengths")
    if n_doc == 0 or doc_idx[0] != 0 or doc_idx[-1] != n_seq or np.any(np.diff(doc_idx) < 0):
        raise ValueError(f"{where}: document indices do not run from 0 to the sequence count")
    return IndexSummary(dtype.name, int(n_seq), int(lengths.sum()))

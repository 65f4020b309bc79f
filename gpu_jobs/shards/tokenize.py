"""Mixing and tokenization of one Arrow batch, and the Ray actor that applies it.

Per batch of the wide table: the narrow columns are joined by doc_id (core.shards.doc_index), every
document gets its repetitions and reason (core.shards.mixing), and each document that goes in is
tokenized once (core.shards.tokenizer, with the end-of-document token), however many copies it
will have. The output has one row per input document:

    doc_id, repetitions, reason, refined_action, n_tokens, token_hash, tokens

`tokens` is the document's token ids as little-endian bytes of the shard dtype (uint16 or int32),
ready to be copied into a `.bin`; `token_hash` is xxh3-64 of those bytes (as int64). Documents left
out have null tokens. A document whose text gives no token at all (possible only without an
end-of-document token) is left out with the reason `tokenize.no_tokens`: a zero-length sequence
carries nothing to train on.

Each actor runs the tokenizer on one core (TOKENIZERS_PARALLELISM=false): the parallelism is the
actor pool, one actor per CPU, and Rust threads inside each actor would only compete with them.
"""
from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import xxhash

from core.shards.doc_index import DocIndex, take_or_null
from core.shards.mixing import MixingParams, mix_documents
from core.shards.token_dtype import token_dtype
from core.shards.tokenizer import ShardTokenizer, TokenizerParams

NO_TOKENS = "tokenize.no_tokens"
TOKENIZED_SCHEMA = pa.schema([
    ("doc_id", pa.string()), ("repetitions", pa.int32()), ("reason", pa.string()),
    ("refined_action", pa.string()), ("n_tokens", pa.int64()), ("token_hash", pa.int64()),
    ("tokens", pa.large_binary()),
])


def join_side(batch: pa.Table, side: pa.Table | None, index: DocIndex | None, refined: bool) -> pa.Table:
    """The batch with the side table's columns for each doc_id. With refined text as the wide
    table, a doc_id that dedup/documents does not have is an error (stale refinement output)."""
    if side is None:
        return batch
    rows = index.rows(batch.column("doc_id"))
    if refined and (rows < 0).any():
        missing = batch.column("doc_id")[int(np.flatnonzero(rows < 0)[0])].as_py()
        raise ValueError(f"refined/documents has doc_id {missing!r}, which dedup/documents of the crawl does "
                         f"not have ({int((rows < 0).sum())} such rows in this batch): the refined "
                         f"documents are stale; rerun refined_documents for the crawl")
    taken = take_or_null(side, rows)
    for name in side.column_names:
        if name != "doc_id" and name not in batch.column_names:
            batch = batch.append_column(name, taken.column(name))
    return batch


def token_bytes(ids: np.ndarray, lengths: np.ndarray, dtype: np.dtype) -> pa.LargeBinaryArray:
    """One binary value per document: its ids as little-endian bytes of `dtype` (no copy per document)."""
    data = np.ascontiguousarray(ids, dtype=np.dtype(dtype).newbyteorder("<"))
    offsets = np.zeros(lengths.size + 1, np.int64)
    np.cumsum(lengths * data.itemsize, out=offsets[1:])
    return pa.LargeBinaryArray.from_buffers(pa.large_binary(), int(lengths.size),
                                            [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def binary_offsets(values: pa.LargeBinaryArray) -> np.ndarray:
    """int64[n + 1]: value i is bytes offsets[i]:offsets[i + 1] of the data buffer."""
    return np.frombuffer(values.buffers()[1], np.int64, len(values) + 1, values.offset * 8)


def hash_values(values: pa.LargeBinaryArray) -> np.ndarray:
    """xxh3-64 of each binary value, as int64."""
    offsets = binary_offsets(values)
    data = memoryview(values.buffers()[2] or b"")
    hashes = np.fromiter((xxhash.xxh3_64_intdigest(data[offsets[i]:offsets[i + 1]]) for i in range(len(values))),
                         np.uint64, len(values))
    return hashes.view(np.int64)


def tokenize_batch(batch: pa.Table, tokenizer: ShardTokenizer, mixing: MixingParams,
                   side: pa.Table | None = None, index: DocIndex | None = None, refined: bool = False) -> pa.Table:
    """Mix and tokenize one batch (see the module docstring); output schema TOKENIZED_SCHEMA."""
    if isinstance(batch, pa.RecordBatch):
        batch = pa.Table.from_batches([batch])
    joined = join_side(batch, side, index, refined)
    mixed = mix_documents(joined, mixing)
    repetitions = mixed.column("repetitions").to_numpy(zero_copy_only=False).astype(np.int32)
    reasons = mixed.column("reason").to_pylist()
    kept = np.flatnonzero(repetitions > 0)
    encoded = tokenizer.encode_batch(mixed.column("text").take(pa.array(kept)))
    dtype = token_dtype(tokenizer.vocab_size)
    empty = kept[encoded.lengths == 0]
    repetitions[empty] = 0
    for row in empty:
        reasons[int(row)] = NO_TOKENS
    position = np.full(batch.num_rows, -1, np.int64)
    position[kept] = np.arange(kept.size)
    position[empty] = -1
    missing = position < 0
    scatter = pa.array(np.where(missing, 0, position), mask=missing)
    lengths = np.zeros(batch.num_rows, np.int64)
    lengths[kept] = encoded.lengths
    values = token_bytes(encoded.ids, encoded.lengths, dtype)
    hashes = pa.array(hash_values(values))
    if missing.any():  # spread over the batch's rows, nulls where nothing was tokenized
        values, hashes = values.take(scatter), hashes.take(scatter)
    action = batch.column("action").cast(pa.string()) if refined else pa.nulls(batch.num_rows, pa.string())
    return pa.Table.from_arrays(
        [mixed.column("doc_id"), pa.array(repetitions, pa.int32()), pa.array(reasons, pa.string()), action,
         pa.array(lengths, pa.int64(), mask=missing), hashes, values],
        schema=TOKENIZED_SCHEMA)


class TokenizeDocuments:
    """An actor of the tokenizer pool (`gpu_jobs.actor_pool`): one tokenizer and one doc_id index
    per actor; it reads the row groups of the wide table it is given itself (`columns`,
    `batch_size` rows per tokenizer call), so no text passes through Ray Data's readers."""

    def __init__(self, tokenizer_json: str, tokenizer_source: str, eos: str | None, mixing: MixingParams,
                 side: pa.Table | None = None, refined: bool = False, filesystem=None,
                 columns: tuple[str, ...] = (), batch_size: int = 1000):
        os.environ["TOKENIZERS_PARALLELISM"] = "false"
        self.tokenizer = ShardTokenizer(tokenizer_json, TokenizerParams(eos=eos), source=tokenizer_source)
        self.mixing = mixing
        self.refined = refined
        self.side = side  # a top-level ObjectRef argument arrives resolved
        self.index = (DocIndex(self.side.column("doc_id"), name="the joined narrow table")
                      if self.side is not None else None)
        self.filesystem, self.columns, self.batch_size = filesystem, list(columns), batch_size

    def __call__(self, batch: pa.Table) -> pa.Table:
        return tokenize_batch(batch, self.tokenizer, self.mixing, self.side, self.index, self.refined)

    def tokenize(self, group) -> pa.Table:
        """One row group (`gpu_jobs.delta_io.RowGroup`) of the wide table, tokenized."""
        from gpu_jobs import delta_io

        parts = [self(batch) for batch in
                 delta_io.read_row_group(self.filesystem, group, self.columns, self.batch_size)]
        return pa.concat_tables(parts) if parts else TOKENIZED_SCHEMA.empty_table()

"""Mixing: how many times each document goes into the training data, and a seeded order.

Input columns of a batch (one row per deduplicated document):
    doc_id (string), text (string, the original), refined_text (string, optional column: ProX's
    output, null when the document was not refined), selected (bool, PreSelect), score (float,
    PreSelect), dup_count (int, duplicate-cluster size >= 1), language (string).
`mix_documents` returns doc_id, text (refined when present, else the original), repetitions (int32)
and reason (null for a document that goes in; else why it does not).

repetitions = quality repetitions x rehydration repetitions, where
- quality is one of three rules (`MixingParams.quality`):
  "selected": 1 for PreSelect-selected documents, 0 for the others (PreSelect trains on its
  selection); "score_buckets": the repetitions of the score's bucket in `score_buckets`
  (`{min_score: repetitions}`, keys are lower edges as in FineWeb-2's tables; a score below the
  lowest edge gets 0); "all": 1;
- rehydration is FineWeb-2's repetition by duplicate-cluster size (`rehydration.py`), 1 when no
  tables are configured.
Documents with 0 repetitions carry a stable reason: mixing.missing_text (no text, or an empty
one), mixing.missing_score (the rule needs `selected` or `score` and it is null or NaN),
mixing.not_selected, mixing.score_below_buckets, mixing.zero_repetitions (a table gave 0). A null
or non-positive dup_count is a broken dedup contract and raises. `NOT_REFINED`
(mixing.not_refined) is the reason of a document that has no refined text when refined text is
required; the caller that joins the refined table assigns it (such a row never reaches this module).

Order: each document with r repetitions becomes copies 0..r-1, and every copy gets a 64-bit key
    key = splitmix64_finalizer(xxh64(doc_id as UTF-8, seed) + (copy + 1) * 0x9E3779B97F4A7C15)
read as a signed int64 (the type Delta and Spark store). The order is ascending (key, doc_id, copy).
A key depends only on (seed, doc_id, copy), so any split of the documents into batches or workers
computes the same keys, and a global sort by key gives the same order everywhere; copies of one
document land at independent places. The same doc_id twice in the input is an error.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from core.shards.rehydration import RepetitionTable, repetitions_for

QUALITY_RULES = ("selected", "score_buckets", "all")
NOT_REFINED = "mixing.not_refined"
REASONS = ("mixing.missing_text", "mixing.missing_score", "mixing.not_selected",
           "mixing.score_below_buckets", "mixing.zero_repetitions", NOT_REFINED)
MIXED_SCHEMA = pa.schema([("doc_id", pa.string()), ("text", pa.string()),
                          ("repetitions", pa.int32()), ("reason", pa.string())])
COPIES_SCHEMA = pa.schema([("row", pa.int64()), ("doc_id", pa.string()), ("copy", pa.int32()),
                           ("shuffle_key", pa.int64())])
_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_U64 = np.uint64


@dataclass(frozen=True)
class MixingParams:
    quality: str = "selected"  # PreSelect (arXiv 2503.00808): train on the selected documents
    score_buckets: Mapping[float, int] | None = None  # {min_score: repetitions}; for quality="score_buckets"
    rehydration_tables: Mapping[str, RepetitionTable] | None = None  # e.g. fineweb2_tables(10); None: off
    rehydration_fallback: RepetitionTable | None = None  # languages without a table; None: 1 repetition
    language_aliases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # e.g. {"de": "deu_Latn"}

    def __post_init__(self):
        if self.quality not in QUALITY_RULES:
            raise ValueError(f"MixingParams.quality must be one of {QUALITY_RULES}, got {self.quality!r}")
        if self.quality == "score_buckets":
            _score_table(self.score_buckets)  # validates
        elif self.score_buckets is not None:
            raise ValueError("MixingParams.score_buckets is only used with quality='score_buckets'")


def _score_table(buckets: Mapping[float, int] | None) -> tuple[np.ndarray, np.ndarray]:
    if not buckets:
        raise ValueError("quality='score_buckets' needs score_buckets {min_score: repetitions}")
    edges, reps = [], []
    for edge, count in sorted((float(k), v) for k, v in buckets.items()):
        if not np.isfinite(edge) and edge != -np.inf:
            raise ValueError(f"score bucket edge {edge!r} is not a number")
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
            raise ValueError(f"score bucket {edge}: repetitions {count!r} is not an integer >= 0")
        edges.append(edge)
        reps.append(int(count))
    return np.asarray(edges, np.float64), np.asarray(reps, np.int64)


def _column(batch: pa.RecordBatch | pa.Table, name: str, required: bool = True) -> pa.Array | None:
    if name not in batch.schema.names:
        if required:
            raise ValueError(f"mixing needs a {name!r} column; the batch has {batch.schema.names}")
        return None
    column = batch.column(name)
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _cluster_sizes(batch, doc_ids: pa.Array) -> np.ndarray:
    dup = _column(batch, "dup_count").cast(pa.int64())
    invalid = pc.fill_null(pc.less(dup, 1), True).to_numpy(zero_copy_only=False)
    if invalid.any():
        row = int(np.flatnonzero(invalid)[0])
        raise ValueError(f"document {doc_ids[row].as_py()!r}: dup_count {dup[row].as_py()!r} is not >= 1 "
                         f"({int(invalid.sum())} such rows); the dedup table guarantees dup_count >= 1")
    return dup.to_numpy(zero_copy_only=False).astype(np.int64)


def _quality(batch, params: MixingParams) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Quality repetitions and the masks of the reasons it produces."""
    n = batch.num_rows
    if params.quality == "all":
        return np.ones(n, np.int64), {}
    if params.quality == "selected":
        selected = _column(batch, "selected").cast(pa.bool_())
        missing = selected.is_null().to_numpy(zero_copy_only=False)
        chosen = pc.fill_null(selected, False).to_numpy(zero_copy_only=False).astype(bool)
        return chosen.astype(np.int64), {"mixing.missing_score": missing, "mixing.not_selected": ~chosen & ~missing}
    scores = pc.fill_null(pc.cast(_column(batch, "score"), pa.float64()), np.nan).to_numpy(zero_copy_only=False)
    missing = np.isnan(scores)
    edges, reps = _score_table(params.score_buckets)
    position = np.searchsorted(edges, np.where(missing, -np.inf, scores), side="right") - 1
    below = (position < 0) & ~missing
    quality = np.where(position >= 0, reps[np.maximum(position, 0)], 0)
    quality[missing] = 0
    return quality, {"mixing.missing_score": missing, "mixing.score_below_buckets": below}


def mix_documents(batch: pa.RecordBatch | pa.Table, params: MixingParams = MixingParams()) -> pa.RecordBatch:
    """doc_id, chosen text, repetitions and drop reason for every document of the batch."""
    doc_ids = _column(batch, "doc_id").cast(pa.string())
    original = _column(batch, "text").cast(pa.string())
    refined = _column(batch, "refined_text", required=False)
    text = pc.coalesce(refined.cast(pa.string()), original) if refined is not None else original
    sizes = _cluster_sizes(batch, doc_ids)
    quality, reasons = _quality(batch, params)
    rehydration = (repetitions_for(_column(batch, "language"), sizes, params.rehydration_tables,
                                   params.rehydration_fallback, params.language_aliases)
                   if params.rehydration_tables is not None else np.ones(batch.num_rows, np.int64))
    missing_text = pc.fill_null(pc.equal(pc.utf8_length(text), 0), True).to_numpy(zero_copy_only=False)
    repetitions = np.where(missing_text, 0, quality * rehydration)
    reason = np.full(batch.num_rows, None, dtype=object)
    reason[repetitions == 0] = "mixing.zero_repetitions"
    for name in ("mixing.score_below_buckets", "mixing.not_selected", "mixing.missing_score"):
        if name in reasons:
            reason[reasons[name]] = name
    reason[missing_text] = "mixing.missing_text"
    return pa.RecordBatch.from_arrays(
        [doc_ids, text, pa.array(repetitions.astype(np.int32)), pa.array(reason, pa.string())],
        schema=MIXED_SCHEMA,
    )


def mixing_counts(mixed: pa.RecordBatch | pa.Table) -> dict[str, int]:
    """total, kept, copies and dropped.<reason> of a `mix_documents` result (they add up:
    total = kept + sum of dropped)."""
    repetitions = _column(mixed, "repetitions").to_numpy(zero_copy_only=False)
    counts = {"total": int(repetitions.size), "kept": int(np.count_nonzero(repetitions)),
              "copies": int(repetitions.sum())}
    for value in pc.value_counts(_column(mixed, "reason").drop_null()).to_pylist():
        counts[f"dropped.{value['values']}"] = int(value["counts"])
    return counts


def _splitmix64_finalizer(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
        return x ^ (x >> _U64(31))


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
        raise ValueError(f"the shuffle seed must be an integer in [0, 2^64), got {seed!r}")


def document_hashes(doc_ids: pa.Array | list, seed: int) -> np.ndarray:
    """xxh64 of each doc_id's UTF-8 bytes with the seed (uint64); null doc_ids are an error."""
    _check_seed(seed)
    values = doc_ids.to_pylist() if isinstance(doc_ids, (pa.Array, pa.ChunkedArray)) else list(doc_ids)
    if any(value is None for value in values):
        raise ValueError("a doc_id is null: every document needs an id to be ordered")
    return np.fromiter((xxhash.xxh64_intdigest(value, seed) for value in values), np.uint64, len(values))


def shuffle_keys(doc_hashes: np.ndarray, copy_index: np.ndarray) -> np.ndarray:
    """int64 sort key of each copy from its document's hash and its copy number."""
    with np.errstate(over="ignore"):
        mixed = doc_hashes.astype(np.uint64) + (copy_index.astype(np.uint64) + _U64(1)) * _GOLDEN_GAMMA
    return _splitmix64_finalizer(mixed).view(np.int64)


def expand_copies(mixed: pa.RecordBatch | pa.Table, seed: int) -> pa.Table:
    """One row per copy: row (index into `mixed`), doc_id, copy (0..r-1) and shuffle_key; unsorted."""
    repetitions = _column(mixed, "repetitions").to_numpy(zero_copy_only=False).astype(np.int64)
    doc_ids = _column(mixed, "doc_id")
    rows = np.repeat(np.arange(repetitions.size, dtype=np.int64), repetitions)
    starts = np.cumsum(repetitions) - repetitions
    copy = (np.arange(rows.size, dtype=np.int64) - starts[rows]).astype(np.int32)
    keys = shuffle_keys(document_hashes(doc_ids, seed)[rows], copy)
    return pa.Table.from_arrays([pa.array(rows), doc_ids.take(pa.array(rows)), pa.array(copy), pa.array(keys)],
                                schema=COPIES_SCHEMA)


def sort_copies(copies: pa.Table) -> pa.Table:
    """Copies in training order: ascending (shuffle_key, doc_id, copy); a repeated (doc_id, copy)
    (the same document twice in the input) is an error."""
    order = pc.sort_indices(copies, sort_keys=[("shuffle_key", "ascending"), ("doc_id", "ascending"),
                                                ("copy", "ascending")])
    ordered = copies.take(order)
    keys = ordered.column("shuffle_key").to_numpy()
    ties = np.flatnonzero(keys[1:] == keys[:-1])
    if ties.size:
        ids, copy = ordered.column("doc_id"), ordered.column("copy")
        for i in ties:
            if ids[int(i)] == ids[int(i) + 1] and copy[int(i)] == copy[int(i) + 1]:
                raise ValueError(f"doc_id {ids[int(i)].as_py()!r} appears more than once in the mixing input")
    return ordered


def shuffled_copies(mixed: pa.RecordBatch | pa.Table, seed: int) -> pa.Table:
    """`expand_copies` then `sort_copies`: the training order of one batch (or of all documents)."""
    return sort_copies(expand_copies(mixed, seed))

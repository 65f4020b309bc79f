"""The training plan of a crawl: every document copy's position, the shard boundaries, and hashes of
what each shard's bytes are made of. Computed once, on one process, from narrow columns only
(doc_id, repetitions, tokens per copy, hash of the tokens), before any shard is written; shards are
then written in parallel, each by one task, from the plan alone.

- Order: "shuffle" sorts the copies by the seeded key of core.shards.mixing (a function of seed,
  doc_id and copy number only); "related" takes a document order (In-Context Pretraining,
  core.shards.ordering) and lays the copies out in passes: pass c holds copy c of every document
  with more than c repetitions, in that order, so related documents stay neighbours in every pass.
- Boundaries: core.shards.sharding.plan_shards over the copies' token counts in order (greedy,
  documents never cut, at most `max_tokens` per shard unless one document is longer).
- Fingerprint of a shard: sha256 of its copies' (token hash, token count) pairs in order, with the
  token dtype; the plan's sha256 hashes the budget and every fingerprint. Equal plans produce equal
  bytes, whatever the number of workers or the batching that produced the tokens.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from core.shards.mixing import shuffled_copies
from core.shards.sharding import plan_shards

ORDERS = ("shuffle", "related")
PLAN_FORMAT = b"cc-refinery/shard-plan/1"


@dataclass(frozen=True)
class TrainingPlan:
    rows: np.ndarray  # int64[C]: the document (row of the planned table) of each copy, in training order
    copies: np.ndarray  # int32[C]: which copy of its document
    lengths: np.ndarray  # int64[C]: tokens of each copy
    shard_starts: np.ndarray  # int64[S]: position of each shard's first copy
    fingerprints: tuple[str, ...]  # per shard
    sha256: str

    @property
    def n_copies(self) -> int:
        return int(self.rows.size)

    @property
    def n_shards(self) -> int:
        return int(self.shard_starts.size)

    def shard_bounds(self, shard: int) -> tuple[int, int]:
        """[start, end) positions of a shard's copies."""
        end = self.shard_starts[shard + 1] if shard + 1 < self.n_shards else self.n_copies
        return int(self.shard_starts[shard]), int(end)

    def shard_tokens(self) -> np.ndarray:
        """int64[S]: tokens of each shard."""
        cumulative = np.concatenate(([0], np.cumsum(self.lengths)))
        ends = np.append(self.shard_starts[1:], self.n_copies)
        return cumulative[ends] - cumulative[self.shard_starts]

    def shard_of_positions(self) -> np.ndarray:
        """int64[C]: the shard of each position."""
        return np.searchsorted(self.shard_starts, np.arange(self.n_copies), side="right") - 1


def shuffled_copy_order(doc_ids: pa.Array, repetitions: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, copies) of every copy in the seeded shuffle order."""
    table = pa.table({"doc_id": doc_ids, "repetitions": pa.array(np.asarray(repetitions, np.int32))})
    ordered = shuffled_copies(table, seed)
    return (ordered.column("row").to_numpy().astype(np.int64),
            ordered.column("copy").to_numpy().astype(np.int32))


def copies_in_passes(document_order: np.ndarray, repetitions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, copies): pass c is copy c of every document with more than c repetitions, in
    `document_order` (a permutation of the rows)."""
    document_order = np.asarray(document_order, np.int64)
    repetitions = np.asarray(repetitions, np.int64)
    if np.sort(document_order).tolist() != list(range(repetitions.size)):
        raise ValueError("the document order must be a permutation of the planned documents")
    rows, copies = [], []
    for copy in range(int(repetitions.max()) if repetitions.size else 0):
        in_pass = document_order[repetitions[document_order] > copy]
        rows.append(in_pass)
        copies.append(np.full(in_pass.size, copy, np.int32))
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int32)
    return np.concatenate(rows), np.concatenate(copies)


def shard_fingerprint(token_hashes: np.ndarray, lengths: np.ndarray, dtype: str) -> str:
    """sha256 of the (token hash, token count) pairs of a shard's copies, in order, and the dtype."""
    pairs = np.empty((lengths.size, 2), "<u8")
    pairs[:, 0] = np.asarray(token_hashes).astype(np.uint64)
    pairs[:, 1] = np.asarray(lengths).astype(np.uint64)
    return hashlib.sha256(PLAN_FORMAT + dtype.encode() + pairs.tobytes()).hexdigest()


def build_plan(rows: np.ndarray, copies: np.ndarray, n_tokens: np.ndarray, token_hashes: np.ndarray,
               max_tokens: int, dtype: str) -> TrainingPlan:
    """Shard boundaries and hashes for copies already in training order (`rows` index `n_tokens`
    and `token_hashes`, the per-document columns)."""
    rows = np.asarray(rows, np.int64)
    n_tokens = np.asarray(n_tokens, np.int64)
    if rows.size and n_tokens[rows].min() < 1:
        raise ValueError("every planned copy needs at least one token")
    lengths = n_tokens[rows]
    hashes = np.asarray(token_hashes).astype(np.uint64)[rows]
    starts = plan_shards(lengths, max_tokens)
    ends = np.append(starts[1:], rows.size)
    fingerprints = tuple(shard_fingerprint(hashes[lo:hi], lengths[lo:hi], dtype) for lo, hi in zip(starts, ends))
    digest = hashlib.sha256(PLAN_FORMAT + f"|{dtype}|{int(max_tokens)}|".encode())
    for fingerprint in fingerprints:
        digest.update(bytes.fromhex(fingerprint))
    return TrainingPlan(rows, np.asarray(copies, np.int32), lengths, starts, fingerprints, digest.hexdigest())


def copy_positions(plan: TrainingPlan, n_documents: int) -> tuple[np.ndarray, np.ndarray]:
    """Per planned document, its copies' positions: (offsets int64[n+1], positions int64[C]) with
    document d's positions at positions[offsets[d]:offsets[d+1]], ascending."""
    order = np.lexsort((np.arange(plan.n_copies), plan.rows))
    counts = np.bincount(plan.rows, minlength=n_documents)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    return offsets, order.astype(np.int64)

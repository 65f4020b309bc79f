"""In-Context Pretraining order (Shi et al., arXiv 2310.10638): related documents next to each other.

ICLM finds each document's nearest neighbours (Contriever embeddings, a FAISS index), then orders
the corpus by a greedy traversal of that graph that visits every document exactly once: start at
an unvisited document of minimum degree, repeatedly go to the most similar unvisited neighbour,
and jump to a new minimum-degree start when the current document has none left.

Here the neighbours come from the MinHash signatures the dedup stage already stores
(`dedup/signatures.minhash`, 112 values per document):
1. Candidates: LSH on the stored values re-banded into narrower bands (`rows_per_band`, 2 by
   default: 56 bands). The dedup stage's 14 bands of 8 rows find pairs of Jaccard ~0.7 and more,
   and those were removed as duplicates; 2-row bands find a pair of Jaccard s with probability
   1 - (1 - s^2)^56 (0.43 at s = 0.1, 0.89 at 0.2, 0.99 at 0.3). Inside a bucket (sorted by
   document), each document is linked to the next `bucket_window` members only, so a bucket of m
   documents gives at most m * bucket_window pairs, never m^2 / 2.
2. Similarity: the MinHash estimate of Jaccard (fraction of equal values; 0 for empty documents,
   which are never candidates).
3. Graph: per document, its `neighbours` most similar candidates (ties: smaller document index),
   kept band by band in an (n, k) array, so memory is O(n * k) plus one band's pairs.
4. Traversal: ICLM's greedy walk over those lists. The degree of a document is the length of its
   neighbour list, fixed before the walk; starts are taken in ascending (degree, index) order.

Cost: pairs <= bands * n * bucket_window; time O(pairs * 112 + bands * (n k + pairs) log) in numpy
plus an O(n k) walk in Python; memory O(n * (112 * 8 + k * 12)) bytes, the signatures dominating.
Order a corpus in groups of a bounded size (a language, a hash range of doc_id).

Result and determinism: documents are first put in doc_id order, so the result does not depend on
the order or the batching of the input rows; `IcpOrder.order` holds input row positions and
`path_starts` where each walk begins (a caller may shuffle whole paths).

Differences from ICLM:
- similarity is lexical (shared word 5-grams), not semantic: it groups pages that share passages,
  templates or quotations, not merely the same topic; the traversal accepts any neighbour lists,
  so an embedding kNN can replace the candidates later;
- ICLM's released `sort/sort.py` starts from an arbitrary unvisited document and caps a path at 21
  documents, then merges short paths; the paper's minimum-degree start is used here, without cap;
- ICLM deduplicates semantically and drops an adjacent document whose first 100 characters are
  near-identical to the previous one; here dedup happened before (exact + MinHash at 0.85).
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from core.dedup.minhash import MinHashParams, band_hashes, is_empty_signature


@dataclass(frozen=True)
class OrderingParams:
    rows_per_band: int = 2  # re-banding of the stored 112 values: 56 bands; see the module docstring
    neighbours: int = 9  # ICLM sort.py: the first unvisited document among knn[1:10], 9 neighbours
    bucket_window: int = 4  # links per document inside one LSH bucket (bounds the pairs)
    min_similarity: float = 0.0  # neighbours need an estimated Jaccard above this

    def __post_init__(self):
        for name in ("rows_per_band", "neighbours", "bucket_window"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"OrderingParams.{name} must be a positive integer, got {value!r}")
        if not 0.0 <= self.min_similarity < 1.0:
            raise ValueError(f"OrderingParams.min_similarity must be in [0, 1), got {self.min_similarity!r}")


@dataclass(frozen=True)
class IcpOrder:
    order: np.ndarray  # int64[n]: input row positions in training order (a permutation)
    path_starts: np.ndarray  # int64[n_paths]: positions in `order` where each walk starts


def _band_matrix(signatures: np.ndarray, rows_per_band: int) -> np.ndarray:
    n_values = signatures.shape[1]
    if n_values % rows_per_band:
        raise ValueError(f"{n_values} MinHash values cannot be split into bands of {rows_per_band}")
    params = MinHashParams(num_bands=n_values // rows_per_band, rows_per_band=rows_per_band)
    return band_hashes(signatures, params)


def candidate_pairs(signatures: np.ndarray, params: OrderingParams = OrderingParams()):
    """For each band, the candidate pairs (a, b) as two int64 arrays (a < b is not guaranteed)."""
    signatures = np.asarray(signatures, dtype=np.uint64)
    valid = np.flatnonzero(~is_empty_signature(signatures)) if signatures.size else np.zeros(0, np.int64)
    if valid.size < 2:
        return
    bands = _band_matrix(signatures[valid], params.rows_per_band)
    for band in range(bands.shape[1]):
        order = np.argsort(bands[:, band], kind="stable")
        hashes, members = bands[order, band], valid[order]
        for offset in range(1, params.bucket_window + 1):
            same = hashes[offset:] == hashes[:-offset]
            if same.any():
                yield members[:-offset][same], members[offset:][same]


def equal_value_counts(signatures: np.ndarray, a: np.ndarray, b: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Number of equal MinHash values of each pair (int64); 0 when either document is empty."""
    signatures = np.asarray(signatures, dtype=np.uint64)
    out = np.zeros(a.size, np.int64)
    for lo in range(0, a.size, chunk):
        out[lo:lo + chunk] = np.count_nonzero(signatures[a[lo:lo + chunk]] == signatures[b[lo:lo + chunk]], axis=1)
    if a.size:
        empty = is_empty_signature(signatures)
        out[empty[a] | empty[b]] = 0
    return out


def pair_similarity(signatures: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Estimated Jaccard (float64) of each pair: the fraction of equal values; 0 for empty documents."""
    signatures = np.asarray(signatures, dtype=np.uint64)
    width = signatures.shape[1] if signatures.ndim == 2 and signatures.shape[1] else 1
    return equal_value_counts(signatures, a, b) / width


def _merge_top_k(nb: np.ndarray, counts: np.ndarray, src: np.ndarray, dst: np.ndarray, c: np.ndarray,
                 width: int) -> None:
    """Fold directed edges (src -> dst with c equal values) into the per-row top-k lists, in place.
    One int64 sort key (src, width - c, dst) orders by source, then decreasing similarity, then
    neighbour index; a pair seen in several bands has the same key and is kept once."""
    n, k = nb.shape
    held = nb >= 0
    all_src = np.concatenate((np.nonzero(held)[0], src))
    all_dst = np.concatenate((nb[held], dst))
    all_c = np.concatenate((counts[held], c))
    key = np.unique((all_src * (width + 1) + (width - all_c)) * n + all_dst)  # sorted, distinct
    all_dst = key % n
    rest = key // n
    all_c = width - rest % (width + 1)
    all_src = rest // (width + 1)
    first = np.ones(key.size, bool)
    first[1:] = all_src[1:] != all_src[:-1]
    group_start = np.maximum.accumulate(np.where(first, np.arange(key.size), 0))
    rank = np.arange(key.size) - group_start
    keep = rank < k
    nb.fill(-1)
    counts.fill(0)
    nb[all_src[keep], rank[keep]] = all_dst[keep]
    counts[all_src[keep], rank[keep]] = all_c[keep]


def nearest_neighbours(signatures: np.ndarray, params: OrderingParams = OrderingParams()
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Per document, up to `neighbours` candidates by decreasing similarity (ties: smaller index):
    int64 (n, k) indices padded with -1, and float64 (n, k) estimated Jaccard (0 where padded).
    Candidate pairs are buffered across bands and folded in when the buffer reaches n * k edges,
    so memory stays O(n * k) plus one band's pairs."""
    signatures = np.asarray(signatures, dtype=np.uint64)
    n = signatures.shape[0]
    width = signatures.shape[1] if signatures.ndim == 2 else 0
    if n and (n * (width + 1)) * n >= 2**63:
        raise ValueError(f"{n} documents are too many to order at once; order them in groups")
    nb = np.full((n, params.neighbours), -1, np.int64)
    counts = np.zeros((n, params.neighbours), np.int64)
    min_count = int(np.floor(params.min_similarity * width)) + 1 if width else 1
    buffer, buffered = [], 0
    for a, b in candidate_pairs(signatures, params):
        c = equal_value_counts(signatures, a, b)
        keep = c >= min_count
        buffer.append((a[keep], b[keep], c[keep]))
        buffered += int(keep.sum())
        if buffered >= n * params.neighbours:
            _fold(nb, counts, buffer, width)
            buffer, buffered = [], 0
    _fold(nb, counts, buffer, width)
    similarity = np.where(nb >= 0, counts / max(width, 1), 0.0)
    return nb, similarity


def _fold(nb, counts, buffer, width) -> None:
    if not buffer:
        return
    a = np.concatenate([part[0] for part in buffer])
    if a.size == 0:
        return
    b = np.concatenate([part[1] for part in buffer])
    c = np.concatenate([part[2] for part in buffer])
    _merge_top_k(nb, counts, np.concatenate((a, b)), np.concatenate((b, a)), np.concatenate((c, c)), width)


def greedy_traversal(neighbours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ICLM's walk over neighbour lists (rows sorted by decreasing similarity, -1 padded): every
    document once; returns (order, path_starts)."""
    n, k = neighbours.shape
    degree = np.count_nonzero(neighbours >= 0, axis=1)
    starts, flat = array("q"), array("q")  # machine ints: no Python int object per entry
    starts.frombytes(np.lexsort((np.arange(n), degree)).astype(np.int64).tobytes())
    flat.frombytes(np.ascontiguousarray(neighbours, dtype=np.int64).tobytes())
    visited = bytearray(n)
    order, path_starts = array("q"), array("q")
    next_start, current = 0, -1
    for _ in range(n):
        chosen = -1
        if current >= 0:
            for slot in range(current * k, current * k + k):
                candidate = flat[slot]
                if candidate < 0:
                    break
                if not visited[candidate]:
                    chosen = candidate
                    break
        if chosen < 0:
            while visited[starts[next_start]]:
                next_start += 1
            chosen = starts[next_start]
            path_starts.append(len(order))
        visited[chosen] = 1
        order.append(chosen)
        current = chosen
    return np.frombuffer(order, np.int64).copy(), np.frombuffer(path_starts, np.int64).copy()


def icp_order(doc_ids: pa.Array | list, signatures: np.ndarray, params: OrderingParams = OrderingParams()) -> IcpOrder:
    """In-Context Pretraining order of the documents (input row positions), independent of the
    input's row order."""
    ids = doc_ids.combine_chunks() if isinstance(doc_ids, pa.ChunkedArray) else doc_ids
    ids = ids if isinstance(ids, pa.Array) else pa.array(list(ids), pa.string())
    signatures = np.asarray(signatures, dtype=np.uint64)
    if len(ids) != signatures.shape[0]:
        raise ValueError(f"{len(ids)} doc_ids but {signatures.shape[0]} signatures")
    if ids.null_count:
        raise ValueError("a doc_id is null: every document needs an id to be ordered")
    if pc.count_distinct(ids).as_py() != len(ids):
        raise ValueError("doc_ids repeat: each document must appear once to be ordered")
    canonical = pc.sort_indices(ids).to_numpy().astype(np.int64)
    nb, _ = nearest_neighbours(signatures[canonical], params)
    order, path_starts = greedy_traversal(nb)
    return IcpOrder(canonical[order], path_starts)


def adjacent_similarity(signatures: np.ndarray, order: np.ndarray) -> float:
    """Mean estimated Jaccard of consecutive documents in `order` (0.0 for fewer than two)."""
    order = np.asarray(order, dtype=np.int64)
    if order.size < 2:
        return 0.0
    return float(pair_similarity(signatures, order[:-1], order[1:]).mean())


def relatedness(signatures: np.ndarray, order: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Adjacent similarity of `order` and of a seeded random order of the same documents."""
    shuffled = np.random.default_rng(seed).permutation(np.asarray(order, dtype=np.int64))
    return {"ordered": adjacent_similarity(signatures, order), "random": adjacent_similarity(signatures, shuffled)}


def icp_order_in_groups(doc_ids: pa.Array | list, signatures: np.ndarray, group_size: int, seed: int = 0,
                        params: OrderingParams = OrderingParams()) -> IcpOrder:
    """`icp_order` within groups of about `group_size` documents (memory and time stay bounded),
    groups concatenated in group order. A document's group is xxh64(doc_id, seed) modulo the number
    of groups, ceil(n / group_size): a function of the id and the corpus size only."""
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 2:
        raise ValueError(f"the related-order group size must be an integer >= 2, got {group_size!r}")
    ids = doc_ids.combine_chunks() if isinstance(doc_ids, pa.ChunkedArray) else doc_ids
    ids = ids if isinstance(ids, pa.Array) else pa.array(list(ids), pa.string())
    n_groups = max(1, -(-len(ids) // group_size))
    if n_groups == 1:
        return icp_order(ids, signatures, params)
    signatures = np.asarray(signatures, dtype=np.uint64)
    groups = np.fromiter((xxhash.xxh64_intdigest(value, seed) % n_groups for value in ids.to_pylist()),
                         np.int64, len(ids))
    orders, starts, placed = [], [], 0
    for group in range(n_groups):
        members = np.flatnonzero(groups == group)
        if members.size == 0:
            continue
        part = icp_order(ids.take(pa.array(members)), signatures[members], params)
        orders.append(members[part.order])
        starts.append(part.path_starts + placed)
        placed += members.size
    return IcpOrder(np.concatenate(orders), np.concatenate(starts))

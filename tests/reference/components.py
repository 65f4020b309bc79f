"""REFERENCE CODE, not pipeline code: a pure-Python model of the clustering half of dedup (LSH
candidate pairs, verification by the MinHash estimate, connected components by union-find, one
deterministic representative per cluster), quadratic and single-process, for small inputs only.

Tests use it as the oracle the pipeline must agree with. The pipeline itself uses instead:
`spark_jobs.dedup.candidates` (LSH buckets linked pairwise or as stars, not all pairs),
`spark_jobs.dedup.verification` (MinHash estimate or exact Jaccard, in the JVM) and
`spark_jobs.dedup.components` (distributed Large-Star/Small-Star). Nothing under core/ or spark_jobs/
imports this package (tests/test_dedup_layout.py checks it).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Callable, Hashable, Iterable, Mapping, Sequence

import numpy as np

from core.dedup.minhash import estimate_jaccard, is_empty_signature

Node = Hashable


class UnionFind:
    """Disjoint sets with path halving; each set's root is its minimal member by `key`."""

    def __init__(self, key: Callable[[Node], object] = lambda n: n):
        self.parent: dict[Node, Node] = {}
        self.key = key

    def add(self, x: Node) -> None:
        self.parent.setdefault(x, x)

    def find(self, x: Node) -> Node:
        self.add(x)
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: Node, b: Node) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.key(rb) < self.key(ra):
            ra, rb = rb, ra
        self.parent[rb] = ra  # the smaller root (by key) stays the root


def connected_components(
    edges: Iterable[tuple[Node, Node]],
    nodes: Iterable[Node] = (),
    key: Callable[[Node], object] = lambda n: n,
) -> dict[Node, Node]:
    """node -> component id, the component's minimal node by `key` (ties impossible if `key` is
    injective; make it so, e.g. (fetch_time, doc_id)). Every node of `edges` and of `nodes` appears;
    a node without edges is its own component."""
    uf = UnionFind(key)
    for n in nodes:
        uf.add(n)
    for a, b in edges:
        uf.union(a, b)
    return {n: uf.find(n) for n in list(uf.parent)}


def representatives(
    edges: Iterable[tuple[Node, Node]], sort_keys: Mapping[Node, tuple]
) -> dict[Node, Node]:
    """doc -> representative of its duplicate cluster: the member with the smallest sort key, which
    by the project's rule is (snapshot, fetch_time, doc_id) (earliest crawl, then earliest fetch,
    doc_id breaks ties). Every doc in `sort_keys` appears; edges must only name docs in `sort_keys`."""
    return connected_components(edges, nodes=sort_keys.keys(), key=lambda n: sort_keys[n])


def clusters(components: Mapping[Node, Node]) -> dict[Node, list[Node]]:
    """component id -> sorted members."""
    out: dict[Node, list[Node]] = defaultdict(list)
    for node, comp in components.items():
        out[comp].append(node)
    return {c: sorted(m) for c, m in out.items()}


def lsh_candidate_pairs(doc_ids: Sequence[Node], band_hash_matrix: np.ndarray, empty=None) -> set[tuple]:
    """All pairs (a, b), a < b, that share at least one band hash (same band index). Rows flagged in
    `empty` (documents without shingles) take no part. Quadratic in bucket size: an oracle for small
    inputs; the Spark job (spark_jobs.dedup.candidates) links a small bucket pairwise too when it
    verifies exactly, and every other bucket as a star from its smallest member."""
    bands = np.asarray(band_hash_matrix)
    skip = np.zeros(len(doc_ids), bool) if empty is None else np.asarray(empty, bool)
    pairs: set[tuple] = set()
    for k in range(bands.shape[1]):
        buckets: dict[int, list[int]] = defaultdict(list)
        for i in np.flatnonzero(~skip):
            buckets[int(bands[i, k])].append(i)
        for members in buckets.values():
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    a, b = doc_ids[members[x]], doc_ids[members[y]]
                    pairs.add((a, b) if a < b else (b, a))
    return pairs


def verify_pairs(
    pairs: Iterable[tuple[Node, Node]], sig_of: Mapping[Node, np.ndarray], threshold: float
) -> set[tuple]:
    """The candidate pairs whose estimated Jaccard (fraction of equal MinHash values) is >= threshold;
    a pair involving an empty signature never passes."""
    out = set()
    for a, b in pairs:
        sa, sb = sig_of[a], sig_of[b]
        if is_empty_signature(sa) or is_empty_signature(sb):
            continue
        if estimate_jaccard(sa, sb) >= threshold:
            out.add((a, b))
    return out

"""core.shards.ordering: In-Context Pretraining order from stored MinHash signatures."""
from __future__ import annotations

import random
import string

import numpy as np
import pyarrow as pa
import pytest

from core.dedup.minhash import signature_columns, signatures_from_column
from core.shards.ordering import (OrderingParams, candidate_pairs, greedy_traversal, icp_order,
                                  nearest_neighbours, pair_similarity, relatedness)


def _clustered_corpus(n_clusters: int = 25, per_cluster: int = 5, mutation: float = 0.03, seed: int = 0):
    """Texts in clusters of near-duplicates (a base text with `mutation` of its words replaced);
    different clusters share no word 5-gram. Returned in a shuffled row order."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9))) for _ in range(5000)]
    rows = []
    for cluster in range(n_clusters):
        base = [rng.choice(vocab) for _ in range(150)]
        for copy in range(per_cluster):
            words = [w if rng.random() > mutation else rng.choice(vocab) for w in base]
            rows.append((f"doc-{cluster:03d}-{copy}", " ".join(words), cluster))
    rng.shuffle(rows)
    ids, texts, clusters = zip(*rows)
    return list(ids), list(texts), list(clusters)


def _stored_signatures(ids, texts) -> np.ndarray:
    """Signatures as the dedup stage stores them (list<int64> column) and reads them back."""
    stored = signature_columns(pa.RecordBatch.from_pydict({"doc_id": ids, "text": texts}))
    return signatures_from_column(stored.column("minhash"))


@pytest.fixture(scope="module")
def corpus():
    ids, texts, clusters = _clustered_corpus()
    return ids, texts, clusters, _stored_signatures(ids, texts)


def test_near_duplicate_clusters_come_out_adjacent(corpus):
    ids, _, clusters, sig = corpus
    result = icp_order(ids, sig)
    assert sorted(result.order.tolist()) == list(range(len(ids)))  # a permutation
    sequence = [clusters[i] for i in result.order]
    runs = [c for i, c in enumerate(sequence) if i == 0 or c != sequence[i - 1]]
    assert len(runs) == len(set(clusters))  # every cluster is one contiguous run
    assert result.path_starts[0] == 0 and np.all(np.diff(result.path_starts) > 0)


def test_relatedness_beats_a_random_order(corpus):
    ids, _, _, sig = corpus
    scores = relatedness(sig, icp_order(ids, sig).order, seed=1)
    assert scores["ordered"] > 0.4 and scores["random"] < 0.05


def test_order_does_not_depend_on_row_order_or_runs(corpus):
    ids, _, _, sig = corpus
    first = [ids[i] for i in icp_order(ids, sig).order]
    assert [ids[i] for i in icp_order(ids, sig).order] == first
    perm = np.random.default_rng(4).permutation(len(ids))
    shuffled_ids = [ids[i] for i in perm]
    again = icp_order(pa.array(shuffled_ids), sig[perm])
    assert [shuffled_ids[i] for i in again.order] == first


def test_neighbour_lists_are_sorted_and_hold_the_cluster(corpus):
    ids, _, clusters, sig = corpus
    nb, sim = nearest_neighbours(sig, OrderingParams(neighbours=6))
    for row in range(len(ids)):
        valid = nb[row] >= 0
        assert np.all(np.diff(sim[row][valid]) <= 0)
        assert np.allclose(sim[row][valid], pair_similarity(sig, np.full(valid.sum(), row), nb[row][valid]))
        siblings = {j for j in range(len(ids)) if clusters[j] == clusters[row] and j != row}
        assert set(nb[row][valid].tolist()) == siblings  # found, and nothing unrelated


def test_greedy_walk_on_a_small_graph():
    nb = np.array([[1, 2], [0, 2], [1, 0], [4, -1], [3, -1], [-1, -1]])
    order, starts = greedy_traversal(nb)
    # starts by (degree, index): 5 (degree 0), then 3; 3 -> 4; then 0 -> 1 -> 2
    assert order.tolist() == [5, 3, 4, 0, 1, 2] and starts.tolist() == [0, 1, 3]


def test_empty_documents_are_placed_once_and_never_neighbours():
    ids, texts, _ = _clustered_corpus(n_clusters=3, per_cluster=3)
    ids, texts = ids + ["empty-1", "empty-2"], texts + ["", "..."]
    sig = _stored_signatures(ids, texts)
    result = icp_order(ids, sig)
    assert sorted(result.order.tolist()) == list(range(len(ids)))
    nb, _ = nearest_neighbours(sig[np.argsort(ids)])
    empty_rows = [i for i, doc in enumerate(sorted(ids)) if doc.startswith("empty")]
    assert np.all(nb[empty_rows] == -1) and not np.isin(nb, empty_rows).any()


def test_a_huge_bucket_gives_a_bounded_number_of_pairs():
    n = 2000
    sig = np.tile(np.arange(112, dtype=np.uint64), (n, 1))  # 2,000 identical documents
    params = OrderingParams(bucket_window=3)
    pairs = sum(a.size for a, _ in candidate_pairs(sig, params))
    assert pairs <= 56 * n * 3  # not 56 * n * (n - 1) / 2
    result = icp_order([f"d{i:05d}" for i in range(n)], sig, params)
    assert sorted(result.order.tolist()) == list(range(n))


def test_small_inputs_and_bad_arguments():
    assert icp_order([], np.zeros((0, 112), np.uint64)).order.tolist() == []
    one = icp_order(["x"], np.arange(112, dtype=np.uint64)[None, :])
    assert one.order.tolist() == [0] and one.path_starts.tolist() == [0]
    sig = np.zeros((2, 112), np.uint64)
    with pytest.raises(ValueError, match="doc_ids repeat"):
        icp_order(["a", "a"], sig)
    with pytest.raises(ValueError, match="null"):
        icp_order(pa.array(["a", None]), sig)
    with pytest.raises(ValueError, match="3 doc_ids but 2 signatures"):
        icp_order(["a", "b", "c"], sig)
    with pytest.raises(ValueError, match="bands of 5"):
        icp_order(["a", "b"], sig, OrderingParams(rows_per_band=5))
    with pytest.raises(ValueError, match="neighbours"):
        OrderingParams(neighbours=0)

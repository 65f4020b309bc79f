"""The distributed connected components (spark_jobs.dedup.components) against the pure-Python
reference (tests.reference.components)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from tests.reference.components import connected_components as oracle
from spark_jobs.dedup.components import connected_components


def _edges_df(spark, edges, type_="string"):
    return spark.createDataFrame(list(edges), f"src {type_}, dst {type_}")


def _as_dict(df):
    rows = df.collect()
    out = {r["node"]: r["component"] for r in rows}
    assert len(out) == len(rows), "a node appears twice"
    return out


def _random_graph(rng, n_nodes, n_edges):
    return [(rng.randrange(n_nodes), rng.randrange(n_nodes)) for _ in range(n_edges)]


@pytest.mark.parametrize("seed", [1, 2])
def test_random_long_graph_matches_oracle(spark, seed):
    rng = random.Random(seed)
    edges = [(a, b) for a, b in _random_graph(rng, 400, 300) if a != b]
    got = _as_dict(connected_components(_edges_df(spark, edges, "long")))
    assert got == oracle(edges)


def test_long_chain_and_star_shapes(spark):
    """A shuffled path of 300 nodes (diameter 299: label propagation would need 299 rounds), a star,
    a cycle and duplicate/reversed edges."""
    rng = random.Random(3)
    path = list(range(1000, 1300))
    rng.shuffle(path)
    edges = list(zip(path, path[1:]))
    edges += [(5000, 5000 + k) for k in range(1, 50)]  # star
    edges += [(7000 + k, 7000 + (k + 1) % 20) for k in range(20)]  # cycle
    edges += [(b, a) for a, b in edges[:30]] + edges[:10]  # reversed and duplicated
    got = _as_dict(connected_components(_edges_df(spark, edges, "long"), checkpoint_every=1))
    assert got == oracle(edges)
    assert set(got.values()) == {min(path), 5000, 7000}


def test_string_nodes_with_fetch_time_order_and_singletons(spark):
    """The dedup rule: representative = earliest fetch_time, then doc_id; docs without edges are
    their own component; ties in fetch_time are broken by doc_id."""
    rng = random.Random(4)
    t0 = datetime(2024, 8, 1, tzinfo=timezone.utc)
    docs = [f"<urn:uuid:{i:04d}>" for i in range(300)]
    fetch = {d: t0 + timedelta(minutes=rng.randrange(50)) for d in docs}  # many ties
    edges = [(docs[a], docs[b]) for a, b in _random_graph(rng, 300, 200) if a != b]
    order = spark.createDataFrame([(d, fetch[d]) for d in docs], "node string, fetch_time timestamp")
    got = _as_dict(connected_components(_edges_df(spark, edges), order, ["fetch_time"]))
    want = oracle(edges, nodes=docs, key=lambda d: (fetch[d], d))
    assert got == want
    assert len(got) == 300


def test_empty_edges(spark):
    assert connected_components(_edges_df(spark, [], "long")).count() == 0
    order = spark.createDataFrame([("a", 1), ("b", 2)], "node string, k long")
    got = _as_dict(connected_components(_edges_df(spark, []), order, ["k"]))
    assert got == {"a": "a", "b": "b"}

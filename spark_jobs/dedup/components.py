"""Connected components of a large undirected graph in Spark DataFrames (no collect of edges): step 4
of dedup, the clusters of the verified LSH edges (decisions.py calls it).

Algorithm: alternating Large-Star / Small-Star (Kiveris, Lattanzi, Mirrokni, Rastogi, Vassilvitskii,
"Connected Components in MapReduce and Beyond", SoCC 2014), O(log^2 n) rounds, each round two window
aggregations (one shuffle each), no joins. It only compares node labels, so it runs on any ordered
type; with a custom ordering key, nodes are first relabelled by a global sort on that key
(`orderBy` + `monotonically_increasing_id`, which increases with the range-partitioned sort order), so
the component id is the minimal node *by the key*.

- Large-Star: every node u links each larger neighbour v to m(u) = min(N(u) + u).
- Small-Star: every node u links each smaller-or-equal neighbour and itself to m = min(N(u) + u),
  looking only at its smaller neighbours.
Converged when the edge set is a union of stars: no node is both a leaf (src) and a centre (dst), and
each leaf has exactly one centre. Then the centre is its component's minimum.

Lineage is cut every `checkpoint_every` rounds with `localCheckpoint` (or `checkpoint` when
`reliable_checkpoint=True` and a checkpoint directory is set), other rounds are persisted; both keep
the plan from growing with the iterations.

Its test oracle is the pure-Python reference `tests.reference.components.connected_components`
(union-find, for small inputs); both give the same (node, component) map.
"""
from __future__ import annotations

from typing import Sequence

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark import StorageLevel


class ComponentsDidNotConverge(RuntimeError):
    """Large-Star/Small-Star did not reach a union of stars within max_iterations (fatal: a bug or
    an absurd graph; O(log^2 n) rounds suffice)."""


def _undirected(edges: DataFrame) -> DataFrame:
    """(u, v) both ways, without self loops or duplicates."""
    e = edges.select(F.col("src").alias("u"), F.col("dst").alias("v")).where(F.col("u") != F.col("v"))
    return e.unionByName(e.select(F.col("v").alias("u"), F.col("u").alias("v"))).distinct()


def _large_star(e: DataFrame) -> DataFrame:
    """Input (src, dst) edges (either orientation); output (src, dst) with dst < src."""
    both = _undirected(e)
    m = F.least(F.min("v").over(Window.partitionBy("u")), F.col("u"))
    return (
        both.withColumn("m", m)
        .where(F.col("v") > F.col("u"))
        .select(F.col("v").alias("src"), F.col("m").alias("dst"))
        .distinct()
    )


def _small_star(e: DataFrame) -> DataFrame:
    """Input (src, dst) with dst < src; output (src, dst) with dst < src, stars around local minima."""
    oriented = e.select(
        F.greatest("src", "dst").alias("u"), F.least("src", "dst").alias("v")
    ).where(F.col("u") != F.col("v"))
    with_min = oriented.withColumn("m", F.min("v").over(Window.partitionBy("u")))
    leaves = with_min.where(F.col("v") != F.col("m")).select(F.col("v").alias("src"), F.col("m").alias("dst"))
    centre = with_min.select(F.col("u").alias("src"), F.col("m").alias("dst"))
    return leaves.unionByName(centre).distinct()


def _is_star_forest(e: DataFrame) -> bool:
    """Every leaf (src) has one centre (dst) and no centre is itself a leaf: one aggregation (one
    Spark job) over the nodes' roles, edges out (as src) and whether any edge comes in (as dst)."""
    roles = (e.select(F.col("src").alias("n"), F.lit(1).alias("out"), F.lit(0).alias("inc"))
             .unionByName(e.select(F.col("dst").alias("n"), F.lit(0).alias("out"), F.lit(1).alias("inc"))))
    broken = (roles.groupBy("n").agg(F.sum("out").alias("out"), F.max("inc").alias("inc"))
              .where((F.col("out") > 1) | ((F.col("out") > 0) & (F.col("inc") > 0))))
    return broken.limit(1).count() == 0


def _cut(df: DataFrame, round_no: int, checkpoint_every: int, reliable: bool) -> DataFrame:
    if checkpoint_every > 0 and round_no % checkpoint_every == 0:
        return df.checkpoint(eager=True) if reliable else df.localCheckpoint(eager=True)
    return df.persist(StorageLevel.MEMORY_AND_DISK)


def star_components(
    edges: DataFrame,
    checkpoint_every: int = 2,
    max_iterations: int = 60,
    reliable_checkpoint: bool = False,
) -> DataFrame:
    """(node, component) for every node that appears in `edges` (columns src, dst of one ordered
    type), component = the minimal node of its component by the type's natural order."""
    current = edges.select("src", "dst")
    previous: DataFrame | None = None
    for round_no in range(1, max_iterations + 1):
        nxt = _cut(_small_star(_large_star(current)), round_no, checkpoint_every, reliable_checkpoint)
        if previous is not None and previous.storageLevel != StorageLevel.NONE:
            previous.unpersist()
        previous = current = nxt
        if _is_star_forest(current):
            break
    else:
        raise ComponentsDidNotConverge(f"no star forest after {max_iterations} Large/Small-Star rounds")
    centres = current.select(F.col("dst").alias("node"), F.col("dst").alias("component")).distinct()
    leaves = current.select(F.col("src").alias("node"), F.col("dst").alias("component"))
    return leaves.unionByName(centres)


def connected_components(
    edges: DataFrame,
    order: DataFrame | None = None,
    order_by: Sequence[str] = (),
    checkpoint_every: int = 2,
    max_iterations: int = 60,
    reliable_checkpoint: bool = False,
) -> DataFrame:
    """Connected components of the undirected graph `edges` (columns src, dst: string or long).

    Without `order`: returns (node, component) for the nodes of `edges`, component = minimal node.
    With `order` (columns `node` + `order_by`, one row per node, e.g. node=doc_id,
    order_by=["fetch_time"]): returns (node, component) for *every* node of `order` (a node without
    edges is its own component), component = the member with the smallest (order_by..., node); edges
    naming a node absent from `order` are dropped. The dedup rule "earliest fetch_time, then doc_id"
    is `connected_components(pairs, docs.select(F.col("doc_id").alias("node"), "fetch_time"),
    ["fetch_time"])`.
    """
    if order is None:
        return star_components(edges, checkpoint_every, max_iterations, reliable_checkpoint)
    sort_cols = [F.col(c).asc_nulls_last() for c in order_by] + [F.col("node").asc()]
    ranked = order.select("node", *order_by).orderBy(*sort_cols).withColumn("rank", F.monotonically_increasing_id())
    # materialize once: the rank must not be recomputed (a new sample could move partition bounds)
    ranked = ranked.select("node", "rank").localCheckpoint(eager=True)
    r_src = ranked.select(F.col("node").alias("src"), F.col("rank").alias("src_rank"))
    r_dst = ranked.select(F.col("node").alias("dst"), F.col("rank").alias("dst_rank"))
    ranked_edges = (
        edges.select("src", "dst")
        .join(r_src, "src")
        .join(r_dst, "dst")
        .select(F.col("src_rank").alias("src"), F.col("dst_rank").alias("dst"))
    )
    comp = star_components(ranked_edges, checkpoint_every, max_iterations, reliable_checkpoint)
    back_node = ranked.select(F.col("rank").alias("node_rank"), F.col("node"))
    back_comp = ranked.select(F.col("rank").alias("component"), F.col("node").alias("component_node"))
    linked = (
        comp.withColumnRenamed("node", "node_rank")
        .join(back_node, "node_rank")
        .join(back_comp, "component")
        .select("node", F.col("component_node").alias("component"))
    )
    singles = ranked.join(linked.select("node"), "node", "left_anti").select("node", F.col("node").alias("component"))
    return linked.unionByName(singles)

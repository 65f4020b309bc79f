"""Steps 4 and 5 of dedup: clusters of the verified edges, then one decision per document of the crawl.

Clusters are the connected components of the verified edges (components.py, Large-Star/Small-Star);
nodes are strings that sort like the representative rule (nodes.py), so a component's id is its
smallest member. A document's cluster representative is the component of its exact representative
(or the exact representative itself when it is in no verified edge).

A document is kept iff it is its cluster's representative (with the fineweb2 preset, where the
inputs include documents a quality filter rejected, iff it is the representative and passed the
filters: the outputs keep silver's documents only). A removed document names the
representative as `duplicate_of`, with reason `dedup.exact` when it is an exact copy (even when the
representative is a near duplicate of its exact representative), else `dedup.near`; `cross_crawl`
when the representative is in an earlier crawl. `dup_count` is the number of input documents of this crawl
in the cluster (itself included; with the fineweb2 preset also those a quality filter rejected): a kept document's cluster has no earlier member by construction.
Copies in later crawls do not change it (that would make an old crawl's result depend on later
ones). `similarity` of a removed document is the MinHash estimate of its Jaccard with the
representative, whatever the verification method.
"""
from __future__ import annotations

from spark_jobs.dedup.config import REASON_EXACT, REASON_NEAR
from spark_jobs.dedup.nodes import node_doc_id, node_snapshot
from spark_jobs.dedup.verification import estimated_jaccard


def with_cluster_representatives(docs, edges):
    """docs + `rep`: the smallest member of the component of `exact_rep` in the verified `edges`
    ((src, dst, ..., verified); None: near dedup off, `rep` = `exact_rep`)."""
    from pyspark.sql import functions as F

    from spark_jobs.dedup.components import connected_components

    if edges is None:
        return docs.withColumn("rep", F.col("exact_rep"))
    components = connected_components(edges.where(F.col("verified")).select("src", "dst"))
    comp = components.select(F.col("node").alias("exact_rep"), F.col("component"))
    return (docs.join(comp, "exact_rep", "left")
            .withColumn("rep", F.coalesce(F.col("component"), F.col("exact_rep"))))


def decide(docs, current, earlier, snapshot: str):
    """One row per input document of the crawl (docs with `exact_rep` and `rep`): doc_id, kept (the
    cluster's survivor), reason, duplicate_of (+ its snapshot), cross_crawl, dup_count, n_exact,
    n_near, n_filtered, rep_passed_filters, similarity, passed_filters, language, script;
    checkpointed, since every output and the summary read it."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    members = Window.partitionBy("rep")
    decisions = (
        docs.select("node", "exact_rep", "rep", "minhash", "passed_filters", "language", "script")
        .withColumn("doc_id", node_doc_id(F.col("node")))
        .withColumn("kept", F.col("rep") == F.col("node"))
        .withColumn("reason", F.when(F.col("kept"), F.lit(None).cast("string"))
                    .when(F.col("exact_rep") != F.col("node"), F.lit(REASON_EXACT))
                    .otherwise(F.lit(REASON_NEAR)))
        .withColumn("duplicate_of", node_doc_id(F.col("rep")))
        .withColumn("duplicate_of_snapshot", node_snapshot(F.col("rep")))
        .withColumn("cross_crawl", F.col("duplicate_of_snapshot") < F.lit(snapshot))
        .withColumn("dup_count", F.count(F.lit(1)).over(members))
        .withColumn("n_exact", F.sum(F.when(F.col("reason") == REASON_EXACT, 1).otherwise(0)).over(members))
        .withColumn("n_near", F.sum(F.when(F.col("reason") == REASON_NEAR, 1).otherwise(0)).over(members))
        .withColumn("n_filtered", F.sum(F.when(F.col("passed_filters"), 0).otherwise(1)).over(members))
        # whether the survivor (this crawl's) passed the quality filters; null: survivor in an earlier crawl
        .withColumn("rep_passed_filters",
                    F.max(F.when(F.col("kept"), F.col("passed_filters"))).over(members))
    )
    rep_minhash = current.select(F.col("node").alias("rep"), F.col("minhash").alias("rep_minhash"))
    if earlier is not None:
        rep_minhash = rep_minhash.unionByName(
            earlier.select(F.col("node").alias("rep"), F.col("minhash").alias("rep_minhash"))
            .join(decisions.where(F.col("cross_crawl")).select("rep").distinct(), "rep", "left_semi"))
    return (decisions.join(rep_minhash, "rep", "left")
            .withColumn("similarity", F.when(F.col("kept"), F.lit(None).cast("double"))
                        .otherwise(estimated_jaccard("minhash", "rep_minhash")))
            .drop("minhash", "rep_minhash")
            .localCheckpoint(eager=True))

"""Step 3b of dedup: the similarity of every LSH candidate edge, and whether it passes verification.

An edge is verified when the Jaccard similarity of its two ends reaches `verify_threshold` (every
edge passes when the threshold is None; the similarity is still computed and stored in dedup/pairs).
- `verify_method="minhash"`: the MinHash estimate (share of equal values), computed in the JVM from
  the stored signatures.
- `verify_method="exact"`: the exact Jaccard of the word n-gram sets, from the shingle sets stored
  with the signatures (`dedup/signatures.shingle_set`, computed in the signature pass from the same
  normalization and shingles): each edge end is looked up in its crawl's partition (this crawl's,
  and only the earlier crawls that occur in an edge), mapped to the row holding its text's set, and
  |A & B| / |A | B| is computed in the JVM (`array_intersect`). No text is read. An end without a
  stored set gets similarity null and its edge fails verification (the job refuses earlier
  signatures written before sets were stored, signatures.check_earlier_signatures).
"""
from __future__ import annotations

from contract.tables import DEDUP_SIGNATURES, table_uri
from spark_jobs.dedup.config import DedupConfig
from spark_jobs.dedup.nodes import node_doc_id, node_snapshot


def estimated_jaccard(a: str, b: str):
    """Fraction of equal positions of two minhash array columns, computed in the JVM (no Python UDF)."""
    from pyspark.sql import functions as F

    equal = F.zip_with(F.col(a), F.col(b), lambda x, y: F.when(x == y, 1).otherwise(0))
    return F.aggregate(equal, F.lit(0), lambda acc, x: acc + x) / F.size(F.col(a))


def _edge_ends(edges):
    """The distinct nodes of (src, dst) edges, one column `node`."""
    from pyspark.sql import functions as F

    return (edges.select(F.col("src").alias("node"))
            .unionByName(edges.select(F.col("dst").alias("node"))).distinct())


def minhash_scores(edges, near_nodes, earlier):
    """Edges with `similarity` = the MinHash estimate of the two ends' Jaccard."""
    from pyspark.sql import functions as F

    minhash = near_nodes.select("node", "minhash")
    if earlier is not None:
        minhash = minhash.unionByName(
            earlier.select("node", "minhash").join(_edge_ends(edges), "node", "left_semi"))
    return (edges
            .join(minhash.select(F.col("node").alias("src"), F.col("minhash").alias("mh_src")), "src")
            .join(minhash.select(F.col("node").alias("dst"), F.col("minhash").alias("mh_dst")), "dst")
            .withColumn("similarity", estimated_jaccard("mh_src", "mh_dst")))


def _end_shingle_sets(edges, lake_root: str):
    """(node, shingle_set) of every edge end, from dedup/signatures: each end's row names the row of
    its crawl that holds its text's set (`shingle_set_doc_id`). Only the crawls that occur among the
    ends are read (a distinct-snapshot collect of a few strings); an end without a stored set is
    missing from the result."""
    from pyspark.sql import functions as F

    spark = edges.sparkSession
    ends = (_edge_ends(edges)
            .select("node", node_snapshot(F.col("node")).alias("snapshot"),
                    node_doc_id(F.col("node")).alias("doc_id")))
    crawls = sorted(r["snapshot"] for r in ends.select("snapshot").distinct().collect())
    if not crawls:
        return spark.createDataFrame([], "node string, shingle_set array<long>")
    rows = (spark.read.format("delta").load(table_uri(lake_root, DEDUP_SIGNATURES))
            .where(F.col("snapshot").isin(crawls)))
    refs = (rows.select("snapshot", "doc_id", "shingle_set_doc_id").join(ends, ["snapshot", "doc_id"])
            .select("node", "snapshot", "shingle_set_doc_id"))
    holders = refs.select("snapshot", F.col("shingle_set_doc_id").alias("doc_id")).distinct()
    sets = (rows.select("snapshot", "doc_id", "shingle_set").join(holders, ["snapshot", "doc_id"], "left_semi")
            .withColumnRenamed("doc_id", "shingle_set_doc_id"))
    return refs.join(sets, ["snapshot", "shingle_set_doc_id"]).select("node", "shingle_set")


def exact_scores(edges, lake_root: str):
    """Edges with `similarity` = exact Jaccard of the two ends' word n-gram sets, |A & B| / |A | B|
    (null when an end has no stored set)."""
    from pyspark.sql import functions as F

    sets = _end_shingle_sets(edges, lake_root)
    inter = F.size(F.array_intersect(F.col("sh_src"), F.col("sh_dst")))
    union = F.size(F.col("sh_src")) + F.size(F.col("sh_dst")) - inter
    return (edges
            .join(sets.select(F.col("node").alias("src"), F.col("shingle_set").alias("sh_src")), "src", "left")
            .join(sets.select(F.col("node").alias("dst"), F.col("shingle_set").alias("sh_dst")), "dst", "left")
            .withColumn("similarity", F.when(F.col("sh_src").isNull() | F.col("sh_dst").isNull(),
                                             F.lit(None).cast("double"))
                        .when(union > 0, inter / union).otherwise(F.lit(0.0))))


def verify_edges(edges, near_nodes, earlier, config: DedupConfig, lake_root: str):
    """(src, dst, similarity, verified) of candidate edges, by `config.verify_method` and
    `config.verify_threshold`. `lake_root` is read by the exact method (shingle sets from
    dedup/signatures)."""
    from pyspark.sql import functions as F

    if config.verify_method == "exact":
        scored = exact_scores(edges.localCheckpoint(eager=True), lake_root)
    else:
        scored = minhash_scores(edges, near_nodes, earlier)
    passed = (F.lit(True) if config.verify_threshold is None
              else F.coalesce(F.col("similarity") >= F.lit(config.verify_threshold), F.lit(False)))
    return scored.select("src", "dst", "similarity", passed.alias("verified"))

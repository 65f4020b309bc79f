"""Step 3b of dedup: the similarity of every LSH candidate edge, and whether it passes verification.

An edge is verified when the Jaccard similarity of its two ends reaches `verify_threshold` (every
edge passes when the threshold is None; the similarity is still computed and stored in dedup/pairs).
- `verify_method="minhash"`: the MinHash estimate (share of equal values), computed in the JVM from
  the stored signatures.
- `verify_method="exact"`: the exact Jaccard of the word n-gram sets, from the texts: the edge ends
  are joined to silver/documents (this crawl's partition, and only the earlier crawls that occur in
  an edge), `mapInArrow` turns each end's text into its sorted set of 61-bit shingle hashes
  (`minhash.shingle_sets`, the normalization and shingles of the signatures), and |A & B| / |A | B|
  is computed in the JVM (`array_intersect`). An end whose text is no longer in silver gets
  similarity null and its edge fails verification.
"""
from __future__ import annotations

import pyarrow as pa

from contract.tables import SILVER_DOCUMENTS, table_uri
from core.arrow_batches import map_slices
from core.dedup.minhash import shingle_sets
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


def make_shingle_set_batches(config: DedupConfig, batch_rows: int = 512):
    """The function Spark runs per task: (node, text) rows in, (node, shingles) out, where shingles
    is the sorted set of the text's word n-gram hashes (`minhash.shingle_sets`)."""
    schema = pa.schema([("node", pa.string()), ("shingles", pa.list_(pa.int64()))])

    return map_slices(lambda part: pa.RecordBatch.from_arrays(
        [part.column("node"), shingle_sets(part.column("text"), config.ngram)], schema=schema), batch_rows)


def exact_scores(edges, lake_root: str, config: DedupConfig):
    """Edges with `similarity` = exact Jaccard of the two ends' word n-gram sets (null when an end's
    text is missing from silver). Texts are read only for the edge ends, and only from the crawls
    that occur among them (a distinct-snapshot collect of a few strings)."""
    from pyspark.sql import functions as F

    spark = edges.sparkSession
    ends = (_edge_ends(edges)
            .select("node", node_snapshot(F.col("node")).alias("snapshot"),
                    node_doc_id(F.col("node")).alias("doc_id")))
    crawls = sorted(r["snapshot"] for r in ends.select("snapshot").distinct().collect())
    sets_schema = "node string, shingles array<long>"
    if crawls:
        silver = (spark.read.format("delta").load(table_uri(lake_root, SILVER_DOCUMENTS))
                  .where(F.col("snapshot").isin(crawls)).select("snapshot", "doc_id", "text"))
        sets = (ends.join(silver, ["snapshot", "doc_id"]).select("node", "text")
                .mapInArrow(make_shingle_set_batches(config), sets_schema))
    else:
        sets = spark.createDataFrame([], sets_schema)
    inter = F.size(F.array_intersect(F.col("sh_src"), F.col("sh_dst")))
    union = F.size(F.col("sh_src")) + F.size(F.col("sh_dst")) - inter
    return (edges
            .join(sets.select(F.col("node").alias("src"), F.col("shingles").alias("sh_src")), "src", "left")
            .join(sets.select(F.col("node").alias("dst"), F.col("shingles").alias("sh_dst")), "dst", "left")
            .withColumn("similarity", F.when(F.col("sh_src").isNull() | F.col("sh_dst").isNull(),
                                             F.lit(None).cast("double"))
                        .when(union > 0, inter / union).otherwise(F.lit(0.0))))


def verify_edges(edges, near_nodes, earlier, config: DedupConfig, lake_root: str):
    """(src, dst, similarity, verified) of candidate edges, by `config.verify_method` and
    `config.verify_threshold`. `lake_root` is read by the exact method (texts from silver)."""
    from pyspark.sql import functions as F

    if config.verify_method == "exact":
        scored = exact_scores(edges.localCheckpoint(eager=True), lake_root, config)
    else:
        scored = minhash_scores(edges, near_nodes, earlier)
    passed = (F.lit(True) if config.verify_threshold is None
              else F.coalesce(F.col("similarity") >= F.lit(config.verify_threshold), F.lit(False)))
    return scored.select("src", "dst", "similarity", passed.alias("verified"))

"""Steps 2 and 3a of dedup: exact representatives, then LSH candidate edges between the rest.

Exact: every document of the crawl gets the smallest member (by the node key, nodes.py) of its
exact-hash group, taken over this crawl and the earlier crawls' signatures with the same hash.

Groups and buckets are keyed by `lang_key` too (signatures.as_nodes): the language and script with
the fineweb2 preset, so two documents of different languages are never compared; a constant
otherwise.

Near candidates: the exact representatives of this crawl that have a signature, plus every
earlier-crawl document sharing an LSH bucket (band index, band hash) with one of them, are exploded to
buckets, so every bucket holds a document of this crawl. Earlier documents linked to each other only
through buckets without any document of this crawl are not followed (their own crawls already
handled them). A bucket is linked
- pairwise (every pair of members) when verify_method is "exact" and it has at most
  `pair_bucket_max` members: a verified pair then never depends on a third member passing too;
- otherwise as a star from its smallest member to every other member (O(n) edges per bucket, not
  O(n^2)): every bucket with verify_method "minhash", and the larger buckets with "exact".
Edges are distinct and run from the smaller node to the larger (src < dst).
"""
from __future__ import annotations

from spark_jobs.dedup.config import DedupConfig

_BUCKET = ("lang_key", "band", "band_hash")  # an LSH bucket: one band's hash within one language


def exact_representatives(current, earlier, config: DedupConfig):
    """current docs + `exact_rep`: the smallest node of their exact-hash group (self when off)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if not config.exact:
        return current.withColumn("exact_rep", F.col("node"))
    group = current.select("node", "exact_hash", "lang_key", F.lit(True).alias("is_current"))
    if earlier is not None:
        matches = (earlier.select("node", "exact_hash", "lang_key")
                   .join(current.select("exact_hash", "lang_key").distinct(), ["exact_hash", "lang_key"],
                         "left_semi")
                   .withColumn("is_current", F.lit(False)))
        group = group.unionByName(matches)
    w = Window.partitionBy("exact_hash", "lang_key")
    reps = (group.where(F.col("exact_hash").isNotNull())
            .withColumn("exact_rep", F.min("node").over(w))
            .where(F.col("is_current")).select("node", "exact_rep"))
    return (current.join(reps, "node", "left")
            .withColumn("exact_rep", F.coalesce(F.col("exact_rep"), F.col("node"))))


def near_candidates(docs):
    """The documents that take part in near dedup: exact representatives with a signature (a document
    without shingles has null band hashes)."""
    from pyspark.sql import functions as F

    return docs.where((F.col("exact_rep") == F.col("node")) & F.col("band_hashes").isNotNull())


def _buckets(near_nodes, earlier):
    """(node, lang_key, band, band_hash) of this crawl's near candidates and of the earlier documents
    that share a bucket with one of them."""
    from pyspark.sql import functions as F

    def explode(df):
        return df.select("node", "lang_key", F.posexplode("band_hashes").alias("band", "band_hash"))

    buckets = explode(near_nodes)
    if earlier is not None:
        keys = buckets.select(*_BUCKET).distinct()
        buckets = buckets.unionByName(explode(earlier.where(F.col("band_hashes").isNotNull()))
                                      .join(keys, list(_BUCKET), "left_semi"))
    return buckets


def candidate_edges(near_nodes, earlier, config: DedupConfig):
    """Distinct (src, dst) LSH candidate edges, src < dst: pairwise in small buckets when verifying
    exactly, a star from the bucket's smallest member otherwise (see the module docstring)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy(*_BUCKET)
    sized = (_buckets(near_nodes, earlier).withColumn("src", F.min("node").over(w))
             .withColumn("size", F.count(F.lit(1)).over(w)))
    pairwise = config.verify_method == "exact"
    star = sized.where(F.col("node") != F.col("src"))
    if pairwise:
        star = star.where(F.col("size") > config.pair_bucket_max)
    edges = star.select("src", F.col("node").alias("dst"))
    if pairwise:
        small = sized.where(F.col("size") <= config.pair_bucket_max).select(*_BUCKET, "node")
        pairs = (small.alias("a").join(small.alias("b"), list(_BUCKET))
                 .where(F.col("a.node") < F.col("b.node"))
                 .select(F.col("a.node").alias("src"), F.col("b.node").alias("dst")))
        edges = edges.unionByName(pairs)
    return edges.distinct()

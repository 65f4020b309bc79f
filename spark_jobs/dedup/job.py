"""Deduplication of one crawl on Spark: exact, then near (MinHash LSH), within the crawl and against
every earlier crawl of the lake. `silver/documents` in; `dedup/signatures`, `dedup/documents`,
`dedup/removed`, `dedup/clusters` and `dedup/pairs` out, each only for this crawl's partition.

Steps (no collect of documents, pairs or clusters to the driver; only counts come back):
1. Signatures: `mapInArrow` over the crawl's silver rows calls `minhash.signature_columns` (exact
   hash of the normalized text, 112 MinHash values, 14 band hashes, vectorized per Arrow batch);
   the result replaces this crawl's partition of `dedup/signatures`, and everything after reads it
   back from Delta (the write is the checkpoint; earlier crawls are never recomputed).
2. Exact: every document of the crawl gets the smallest member (by the key below) of its exact-hash
   group, taken over this crawl and the earlier crawls' signatures with the same hash.
3. Near: the exact representatives of this crawl, plus every earlier-crawl document sharing an LSH
   bucket (band index, band hash) with one of them, are exploded to buckets; each bucket is linked
   as a star from its smallest member to every other member (O(n) edges per bucket, not O(n^2)).
   Optionally each star edge is verified: the Jaccard similarity of the two ends must reach
   `verify_threshold`. `verify_method="minhash"`: the MinHash estimate (share of equal values,
   computed in the JVM from the stored signatures). `verify_method="exact"`: the exact Jaccard of the
   word n-gram sets, from the texts: the edge ends are joined to silver/documents (this crawl's
   partition, and only the earlier crawls that occur in an edge), `mapInArrow` turns each end's text
   into its sorted set of 61-bit shingle hashes (`minhash.shingle_sets`, the normalization and
   shingles of the signatures), and |A & B| / |A | B| is computed in the JVM (`array_intersect`).
   An end whose text is no longer in silver gets similarity null and its edge fails verification.
4. Connected components of the verified edges (`spark_components`, Large-Star/Small-Star); nodes
   are strings that sort like the key, so a component's id is its smallest member.
5. Each document of the crawl: kept iff it is the smallest member of its cluster. Removed documents
   go to `dedup/removed` with `duplicate_of` = the cluster's representative.

The key ("representative rule"): (snapshot, fetch_time, doc_id) ascending, nulls last. Earlier crawls
sort first, then the earliest fetch, then doc_id breaks ties.

Cross-crawl semantics, precisely:
- "Earlier crawls" of crawl S are the snapshots whose id sorts before S as a string. Common Crawl ids
  `CC-MAIN-YYYY-WW` sort chronologically; `CC-MAIN-SAMPLE` (and `CC-MAIN-BENCH`) sort after every real
  crawl. Only their rows in `dedup/signatures` count: a crawl whose dedup has not run yet is not
  "in the lake" (the result lists such crawls in `earlier_without_signatures`).
- A document of S is removed if its exact hash equals that of an earlier document, or its near-dup
  cluster (computed over S's documents and the earlier documents that share a bucket with them)
  contains an earlier document; `duplicate_of` is then the smallest earlier member (by the key).
  Earlier documents linked to each other only through buckets without any document of S are not
  followed (their own crawls already handled them); this can only change which earlier document
  `duplicate_of` names, never whether a document of S is removed by a direct or S-internal link.
- Earlier crawls' signatures include their own removed documents (the signature table holds every
  silver document), so a document of S that duplicates anything ever seen is removed.
- Later crawls are never read, so rerunning S after later crawls gives the same result, and only S's
  partitions are written.
- `dup_count` of a kept document is the number of documents of S in its cluster (itself included):
  a kept document's cluster has no earlier member by construction. Copies in later crawls do not
  change it (that would make an old crawl's result depend on later ones).

Counts: documents_in = kept + exact_removed + near_removed (a document removed because it is an
exact copy counts as exact even when its cluster's representative is a near duplicate);
cross_crawl_removed is the subset of removed documents whose representative is in an earlier crawl.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import pyarrow as pa

from contract.tables import (
    DEDUP_CLUSTERS, DEDUP_CLUSTERS_SCHEMA, DEDUP_DOCUMENT_COLUMNS, DEDUP_DOCUMENTS, DEDUP_PAIRS,
    DEDUP_PAIRS_SCHEMA, DEDUP_REMOVED,
    DEDUP_REMOVED_SCHEMA, DEDUP_SIGNATURES, DEDUP_SIGNATURES_SCHEMA, SILVER_DOCUMENTS, table_uri,
)
from core.arrow_batches import map_slices
from spark_jobs.arrow_schema import to_spark_schema
from spark_jobs.balance import partition_counts
from core.dedup.minhash import MinHashParams, shingle_sets, signature_columns
from spark_jobs.delta_io import overwrite_where, partition_predicate, read_partition, table_exists

REASON_EXACT = "dedup.exact"
REASON_NEAR = "dedup.near"
# Node strings: snapshot SEP fetch-time SEP doc_id, so string order == the representative rule.
# \x01 sorts below every printable character, so a shorter snapshot id that is a prefix of a longer
# one still sorts first, as the plain ids do.
_SEP = "\x01"
_NO_TIME = "9999-12-31 23:59:59.999999"  # a null fetch_time sorts last
VERIFY_METHODS = ("minhash", "exact")
CLUSTER_SIZE_BINS = (1, 2, 3, 5, 9, 17, 33, 65, 129)  # lower edges: 1, 2, 3-4, 5-8, ..., 129+


@dataclass(frozen=True)
class DedupConfig:
    """Dedup parameters. MinHash defaults are FineWeb's (datatrove `MinhashConfig`, v0.10.1, used by
    `examples/fineweb.py`); FineWeb deduplicated each crawl separately and did no verification."""

    num_bands: int = 14  # FineWeb: MinhashConfig.num_buckets = 14
    rows_per_band: int = 8  # FineWeb: MinhashConfig.hashes_per_bucket = 8
    ngram: int = 5  # FineWeb: MinhashConfig.n_grams = 5
    seed: int = 1  # FineWeb: MinhashConfig.seed = 1
    # Verify LSH edges against this Jaccard threshold (None: off, as in FineWeb, which removes whatever
    # LSH proposes, i.e. pairs at J = 0.7 with probability 0.56). 0.85 with the exact method makes the
    # claim "duplicates are pairs with word 5-gram Jaccard >= 0.85" true. With "minhash" use about 0.75:
    # the estimate's sd near 0.85 is 0.034 with 112 values, so a cut at 0.85 would lose half the pairs
    # at J = 0.85.
    verify_threshold: float | None = 0.85
    # How verification measures similarity: "minhash" (the estimate from the signatures) or "exact"
    # (exact Jaccard of word n-grams from the texts, so a hard cut such as 0.85 is exact). With
    # "exact", buckets of up to `pair_bucket_max` members are linked pairwise instead of as a star:
    # a star links two members only through the bucket's smallest one, and an exact cut that drops
    # the hub's edge to one end (a third copy below the threshold) would lose a true pair.
    # Benchmark corpus (bench/bench_dedup.py, 19,996 documents): exact @ 0.85 precision 1.0 and recall
    # 1.0 on J >= 0.85 pairs in 27.9 s; minhash @ 0.75 precision 0.787 (J < 0.85 counted false), recall
    # 1.0, 28.0 s. Exact reads the texts of edge ends from silver/documents.
    verify_method: str = "exact"
    pair_bucket_max: int = 20  # "exact" only: larger buckets keep star edges (O(n) per bucket)
    exact: bool = True  # exact dedup on xxh3-128 of the normalized text
    near: bool = True  # MinHash LSH near dedup
    cross_crawl: bool = True  # against the signatures of every earlier crawl in the lake
    partitions: int | None = None  # tasks for the signature step (default: 2 x default parallelism)

    def __post_init__(self):
        if self.verify_threshold is not None and not 0.0 <= self.verify_threshold <= 1.0:
            raise ValueError(f"verify_threshold must be in [0, 1] or None, got {self.verify_threshold}")
        if self.pair_bucket_max < 2:
            raise ValueError(f"pair_bucket_max must be at least 2, got {self.pair_bucket_max}")
        if self.verify_method not in VERIFY_METHODS:
            raise ValueError(f"verify_method must be one of {VERIFY_METHODS}, got {self.verify_method!r}")

    @property
    def minhash(self) -> MinHashParams:
        return MinHashParams(self.num_bands, self.rows_per_band, self.ngram, self.seed)

    @property
    def params_tag(self) -> str:
        """Identifies signatures that are comparable: the same tag means the same permutations."""
        return f"b{self.num_bands}r{self.rows_per_band}n{self.ngram}s{self.seed}"


@dataclass
class DedupResult:
    snapshot: str
    documents_in: int
    exact_removed: int
    near_removed: int
    kept: int
    clusters: int  # duplicate clusters touching this crawl (>= 2 members, or an earlier representative)
    cross_crawl_removed: int
    seconds: float
    candidate_edges: int = 0  # distinct star edges from LSH buckets
    verified_edges: int = 0  # of which passed verification (== candidate_edges when it is off)
    earlier_crawls: list[str] = field(default_factory=list)
    earlier_without_signatures: list[str] = field(default_factory=list)
    cluster_sizes: dict[str, int] = field(default_factory=dict)  # size bin -> clusters (this crawl's members)
    removed_by: dict[str, int] = field(default_factory=dict)  # "dedup.exact", "dedup.near.cross_crawl", ...

    @property
    def removed(self) -> int:
        return self.exact_removed + self.near_removed


# ---------------------------------------------------------------------------------------------
# step 1: signatures


def _signature_batch(batch: pa.RecordBatch, params: MinHashParams, tag: str) -> pa.RecordBatch:
    sig = signature_columns(
        pa.RecordBatch.from_arrays([batch.column("doc_id"), batch.column("text")], ["doc_id", "text"]),
        params,
    )
    columns = {
        "doc_id": batch.column("doc_id"),
        "snapshot": batch.column("snapshot"),
        "fetch_time": batch.column("fetch_time").cast(DEDUP_SIGNATURES_SCHEMA.field("fetch_time").type),
        "minhash_params": pa.array([tag] * batch.num_rows, pa.string()),
    }
    for name in ("exact_hash", "n_words", "n_shingles", "band_hashes", "minhash"):
        columns[name] = sig.column(name)
    return pa.RecordBatch.from_arrays([columns[f.name] for f in DEDUP_SIGNATURES_SCHEMA],
                                      schema=DEDUP_SIGNATURES_SCHEMA)


def make_signature_batches(config: DedupConfig, batch_rows: int = 512):
    """The function Spark runs per task: silver rows (doc_id, snapshot, fetch_time, text) in,
    signature rows out, `batch_rows` documents at a time to bound Python memory."""
    params, tag = config.minhash, config.params_tag
    return map_slices(lambda part: _signature_batch(part, params, tag), batch_rows)


def write_signatures(spark, lake_root: str, snapshot: str, config: DedupConfig) -> None:
    """Compute this crawl's signatures from silver and replace its partition of dedup/signatures."""
    silver = read_partition(spark, table_uri(lake_root, SILVER_DOCUMENTS), snapshot)
    n_parts = config.partitions or max(2, spark.sparkContext.defaultParallelism * 2)
    sigs = (silver.select("doc_id", "snapshot", "fetch_time", "text")
            .repartition(n_parts, "doc_id")
            .mapInArrow(make_signature_batches(config), to_spark_schema(DEDUP_SIGNATURES_SCHEMA)))
    overwrite_where(sigs, table_uri(lake_root, DEDUP_SIGNATURES), partition_predicate(snapshot))


# ---------------------------------------------------------------------------------------------
# helpers on Spark columns


def _node_col(snapshot="snapshot", fetch_time="fetch_time", doc_id="doc_id"):
    """The node string of a document; string order == (snapshot, fetch_time nulls last, doc_id)."""
    from pyspark.sql import functions as F

    ts = F.coalesce(F.date_format(F.col(fetch_time), "yyyy-MM-dd HH:mm:ss.SSSSSS"), F.lit(_NO_TIME))
    return F.concat_ws(_SEP, F.col(snapshot), ts, F.col(doc_id))


def _node_part(node_col, index: int):
    """0: snapshot, 2: doc_id of a node string (split into at most 3 parts, so a doc_id keeps
    anything it contains)."""
    from pyspark.sql import functions as F

    return F.split(node_col, _SEP, 3).getItem(index)


def _estimated_jaccard(a: str, b: str):
    """Fraction of equal positions of two minhash arrays, computed in the JVM (no Python UDF)."""
    from pyspark.sql import functions as F

    equal = F.zip_with(F.col(a), F.col(b), lambda x, y: F.when(x == y, 1).otherwise(0))
    return F.aggregate(equal, F.lit(0), lambda acc, x: acc + x) / F.size(F.col(a))


# ---------------------------------------------------------------------------------------------
# steps 2-5


def _earlier_signatures(spark, lake_root: str, snapshot: str, config: DedupConfig):
    """Earlier crawls' signatures (snapshot < this one), checked to use the same MinHash parameters."""
    from pyspark.sql import functions as F

    uri = table_uri(lake_root, DEDUP_SIGNATURES)
    earlier = spark.read.format("delta").load(uri).where(F.col("snapshot") < F.lit(snapshot))
    rows = (earlier.groupBy("snapshot")
            .agg(F.max((F.col("minhash_params") != F.lit(config.params_tag)).cast("int")).alias("bad"))
            .collect())
    crawls = sorted(r["snapshot"] for r in rows)
    mismatched = sorted(r["snapshot"] for r in rows if r["bad"])
    if mismatched:
        raise ValueError(
            f"dedup/signatures of {mismatched} were computed with other MinHash parameters than "
            f"{config.params_tag}; rerun dedup of those crawls with the same parameters first")
    return earlier, crawls


def _crawls_in_silver_before(spark, lake_root: str, snapshot: str) -> list[str]:
    from pyspark.sql import functions as F

    uri = table_uri(lake_root, SILVER_DOCUMENTS)
    if not table_exists(spark, uri):
        return []
    return sorted(r["snapshot"] for r in spark.read.format("delta").load(uri)
                  .where(F.col("snapshot") < F.lit(snapshot)).select("snapshot").distinct().collect())


def _exact_representatives(current, earlier, config: DedupConfig):
    """current docs + `exact_rep`: the smallest node of their exact-hash group (self when off)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if not config.exact:
        return current.withColumn("exact_rep", F.col("node"))
    group = current.select("node", "exact_hash", F.lit(True).alias("is_current"))
    if earlier is not None:
        matches = (earlier.select("node", "exact_hash")
                   .join(current.select("exact_hash").distinct(), "exact_hash", "left_semi")
                   .withColumn("is_current", F.lit(False)))
        group = group.unionByName(matches)
    w = Window.partitionBy("exact_hash")
    reps = (group.where(F.col("exact_hash").isNotNull())
            .withColumn("exact_rep", F.min("node").over(w))
            .where(F.col("is_current")).select("node", "exact_rep"))
    return (current.join(reps, "node", "left")
            .withColumn("exact_rep", F.coalesce(F.col("exact_rep"), F.col("node"))))


def _star_edges(near_nodes, earlier, config: DedupConfig, lake_root: str | None = None):
    """Distinct (src, dst) star edges, src = the smallest node of a shared LSH bucket, with the
    Jaccard of the two ends (estimated or exact, `config.verify_method`) and whether it passes
    verification. `lake_root` is needed for the exact method (texts from silver/documents)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    def explode(df):
        return df.select("node", F.posexplode("band_hashes").alias("band", "band_hash"))

    buckets = explode(near_nodes)
    if earlier is not None:
        keys = buckets.select("band", "band_hash").distinct()
        buckets = buckets.unionByName(explode(earlier.where(F.col("band_hashes").isNotNull()))
                                      .join(keys, ["band", "band_hash"], "left_semi"))
    w = Window.partitionBy("band", "band_hash")
    sized = (buckets.withColumn("src", F.min("node").over(w))
             .withColumn("size", F.count(F.lit(1)).over(w)))
    dense = config.verify_method == "exact"
    star = sized.where(F.col("node") != F.col("src"))
    if dense:
        star = star.where(F.col("size") > config.pair_bucket_max)
    edges = star.select("src", F.col("node").alias("dst"))
    if dense:
        small = sized.where(F.col("size") <= config.pair_bucket_max).select("band", "band_hash", "node")
        pairs = (small.alias("a").join(small.alias("b"), ["band", "band_hash"])
                 .where(F.col("a.node") < F.col("b.node"))
                 .select(F.col("a.node").alias("src"), F.col("b.node").alias("dst")))
        edges = edges.unionByName(pairs)
    edges = edges.distinct()
    if config.verify_method == "exact":
        scored = _exact_scores(edges.localCheckpoint(eager=True), lake_root, config)
    else:
        scored = _minhash_scores(edges, near_nodes, earlier)
    passed = (F.lit(True) if config.verify_threshold is None
              else F.coalesce(F.col("similarity") >= F.lit(config.verify_threshold), F.lit(False)))
    return scored.select("src", "dst", "similarity", passed.alias("verified"))


def _minhash_scores(edges, near_nodes, earlier):
    from pyspark.sql import functions as F

    minhash = near_nodes.select("node", "minhash")
    if earlier is not None:
        minhash = minhash.unionByName(earlier.select("node", "minhash")
                                      .join(edges.select(F.col("src").alias("node")).unionByName(
                                          edges.select(F.col("dst").alias("node"))).distinct(),
                                            "node", "left_semi"))
    scored = (edges
              .join(minhash.select(F.col("node").alias("src"), F.col("minhash").alias("mh_src")), "src")
              .join(minhash.select(F.col("node").alias("dst"), F.col("minhash").alias("mh_dst")), "dst")
              .withColumn("similarity", _estimated_jaccard("mh_src", "mh_dst")))
    return scored


def make_shingle_set_batches(config: DedupConfig, batch_rows: int = 512):
    """The function Spark runs per task: (node, text) rows in, (node, shingles) out, where shingles
    is the sorted set of the text's word n-gram hashes (`minhash.shingle_sets`)."""
    schema = pa.schema([("node", pa.string()), ("shingles", pa.list_(pa.int64()))])

    return map_slices(lambda part: pa.RecordBatch.from_arrays(
        [part.column("node"), shingle_sets(part.column("text"), config.ngram)], schema=schema), batch_rows)


def _exact_scores(edges, lake_root: str, config: DedupConfig):
    """Edges with `similarity` = exact Jaccard of the two ends' word n-gram sets (null when an end's
    text is missing from silver). Texts are read only for the edge ends, and only from the crawls
    that occur among them (a distinct-snapshot collect of a few strings)."""
    from pyspark.sql import functions as F

    spark = edges.sparkSession
    ends = (edges.select(F.col("src").alias("node")).unionByName(edges.select(F.col("dst").alias("node")))
            .distinct()
            .select("node", _node_part(F.col("node"), 0).alias("snapshot"),
                    _node_part(F.col("node"), 2).alias("doc_id")))
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


def _size_bin(n: int) -> str:
    edges = CLUSTER_SIZE_BINS
    for lo, hi in zip(edges, edges[1:]):
        if n < hi:
            return str(lo) if hi - lo == 1 else f"{lo}-{hi - 1}"
    return f"{edges[-1]}+"


def run_dedup(spark, lake_root: str, snapshot: str, config: DedupConfig = DedupConfig()) -> DedupResult:
    """Deduplicate one crawl (see the module docstring) and replace its partitions of the dedup tables."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from spark_jobs.dedup.spark_components import connected_components

    started = time.monotonic()
    write_signatures(spark, lake_root, snapshot, config)
    sig_uri = table_uri(lake_root, DEDUP_SIGNATURES)
    current = (read_partition(spark, sig_uri, snapshot)
               .select(_node_col().alias("node"), "exact_hash", "band_hashes", "minhash"))
    earlier, earlier_crawls = None, []
    if config.cross_crawl:
        earlier_all, earlier_crawls = _earlier_signatures(spark, lake_root, snapshot, config)
        if earlier_crawls:
            earlier = earlier_all.select(_node_col().alias("node"), "exact_hash", "band_hashes", "minhash")
    missing = sorted(set(_crawls_in_silver_before(spark, lake_root, snapshot)) - set(earlier_crawls)) \
        if config.cross_crawl else []

    docs = _exact_representatives(current, earlier, config)
    candidate_edges = verified_edges = 0
    if config.near:
        near_nodes = docs.where((F.col("exact_rep") == F.col("node")) & F.col("band_hashes").isNotNull())
        edges = _star_edges(near_nodes, earlier, config, lake_root).localCheckpoint(eager=True)
        pairs = (edges.withColumn("snapshot", F.lit(snapshot))
                 .withColumn("src_doc_id", _node_part(F.col("src"), 2))
                 .withColumn("src_snapshot", _node_part(F.col("src"), 0))
                 .withColumn("dst_doc_id", _node_part(F.col("dst"), 2))
                 .withColumn("dst_snapshot", _node_part(F.col("dst"), 0)))
        overwrite_where(_conform(pairs, DEDUP_PAIRS_SCHEMA), table_uri(lake_root, DEDUP_PAIRS),
                        partition_predicate(snapshot))
        for row in edges.groupBy("verified").count().collect():
            candidate_edges += row["count"]
            verified_edges += row["count"] if row["verified"] else 0
        components = connected_components(edges.where(F.col("verified")).select("src", "dst"))
        comp = components.select(F.col("node").alias("exact_rep"), F.col("component"))
        docs = (docs.join(comp, "exact_rep", "left")
                .withColumn("rep", F.coalesce(F.col("component"), F.col("exact_rep"))))
    else:
        docs = docs.withColumn("rep", F.col("exact_rep"))
        empty = spark.createDataFrame([], to_spark_schema(DEDUP_PAIRS_SCHEMA))
        overwrite_where(empty, table_uri(lake_root, DEDUP_PAIRS), partition_predicate(snapshot))

    members = Window.partitionBy("rep")
    decisions = (
        docs.select("node", "exact_rep", "rep", "minhash")
        .withColumn("doc_id", _node_part(F.col("node"), 2))
        .withColumn("kept", F.col("rep") == F.col("node"))
        .withColumn("reason", F.when(F.col("kept"), F.lit(None).cast("string"))
                    .when(F.col("exact_rep") != F.col("node"), F.lit(REASON_EXACT))
                    .otherwise(F.lit(REASON_NEAR)))
        .withColumn("duplicate_of", _node_part(F.col("rep"), 2))
        .withColumn("duplicate_of_snapshot", _node_part(F.col("rep"), 0))
        .withColumn("cross_crawl", F.col("duplicate_of_snapshot") < F.lit(snapshot))
        .withColumn("dup_count", F.count(F.lit(1)).over(members))
        .withColumn("n_exact", F.sum(F.when(F.col("reason") == REASON_EXACT, 1).otherwise(0)).over(members))
        .withColumn("n_near", F.sum(F.when(F.col("reason") == REASON_NEAR, 1).otherwise(0)).over(members))
    )
    rep_minhash = current.select(F.col("node").alias("rep"), F.col("minhash").alias("rep_minhash"))
    if earlier is not None:
        rep_minhash = rep_minhash.unionByName(
            earlier.select(F.col("node").alias("rep"), F.col("minhash").alias("rep_minhash"))
            .join(decisions.where(F.col("cross_crawl")).select("rep").distinct(), "rep", "left_semi"))
    decisions = (decisions.join(rep_minhash, "rep", "left")
                 .withColumn("similarity", F.when(F.col("kept"), F.lit(None).cast("double"))
                             .otherwise(_estimated_jaccard("minhash", "rep_minhash")))
                 .drop("minhash", "rep_minhash")
                 .localCheckpoint(eager=True))

    _write_outputs(spark, lake_root, snapshot, decisions)
    result = _summarize(snapshot, decisions, started)
    result.candidate_edges, result.verified_edges = candidate_edges, verified_edges
    result.earlier_crawls, result.earlier_without_signatures = earlier_crawls, missing
    return result


def _write_outputs(spark, lake_root: str, snapshot: str, decisions) -> None:
    from pyspark.sql import functions as F

    predicate = partition_predicate(snapshot)
    silver = read_partition(spark, table_uri(lake_root, SILVER_DOCUMENTS), snapshot)
    extra = to_spark_schema(DEDUP_DOCUMENT_COLUMNS)
    kept = (silver.join(decisions.where(F.col("kept"))
                        .select("doc_id", F.col("duplicate_of").alias("dup_cluster_id"), "dup_count"),
                        "doc_id")
            .select(*silver.columns, *[F.col(f.name).cast(f.dataType) for f in extra.fields]))
    overwrite_where(kept, table_uri(lake_root, DEDUP_DOCUMENTS), predicate)

    removed = (silver.select("doc_id", "snapshot", "url", "domain", "fetch_time", "n_chars")
               .join(decisions.where(~F.col("kept")), "doc_id")
               .withColumn("dup_cluster_id", F.col("duplicate_of")))
    overwrite_where(_conform(removed, DEDUP_REMOVED_SCHEMA), table_uri(lake_root, DEDUP_REMOVED), predicate)

    clusters = (decisions.where((F.col("dup_count") > 1) | F.col("cross_crawl"))
                .groupBy("rep").agg(
                    F.first("duplicate_of").alias("dup_cluster_id"),
                    F.first("duplicate_of_snapshot").alias("representative_snapshot"),
                    F.first("cross_crawl").alias("cross_crawl"),
                    F.count(F.lit(1)).alias("n_documents"),
                    F.first("n_exact").alias("n_exact"),
                    F.first("n_near").alias("n_near"),
                    F.min("similarity").alias("min_similarity"))
                .withColumn("snapshot", F.lit(snapshot)))
    overwrite_where(_conform(clusters, DEDUP_CLUSTERS_SCHEMA), table_uri(lake_root, DEDUP_CLUSTERS), predicate)


def _conform(df, schema: pa.Schema):
    """Select and cast the columns of a contract schema, in its order."""
    spark_schema = to_spark_schema(schema)
    return df.select(*[df[f.name].cast(f.dataType).alias(f.name) for f in spark_schema.fields])


def _summarize(snapshot: str, decisions, started: float) -> DedupResult:
    from pyspark.sql import functions as F

    by = {}
    kept = 0
    for row in decisions.groupBy("kept", "reason", "cross_crawl").count().collect():
        if row["kept"]:
            kept += row["count"]
        else:
            key = row["reason"] + (".cross_crawl" if row["cross_crawl"] else "")
            by[key] = by.get(key, 0) + row["count"]
    sizes: dict[str, int] = {}
    n_clusters = 0
    size_rows = (decisions.groupBy("rep").agg(F.count(F.lit(1)).alias("n"), F.max("cross_crawl").alias("x"))
                 .groupBy("n", "x").count().collect())
    for row in sorted(size_rows, key=lambda r: r["n"]):
        if row["n"] > 1 or row["x"]:
            n_clusters += row["count"]
        key = _size_bin(row["n"])
        sizes[key] = sizes.get(key, 0) + row["count"]
    exact = by.get(REASON_EXACT, 0) + by.get(REASON_EXACT + ".cross_crawl", 0)
    near = by.get(REASON_NEAR, 0) + by.get(REASON_NEAR + ".cross_crawl", 0)
    cross = by.get(REASON_EXACT + ".cross_crawl", 0) + by.get(REASON_NEAR + ".cross_crawl", 0)
    return DedupResult(snapshot, kept + exact + near, exact, near, kept, n_clusters, cross,
                       time.monotonic() - started, cluster_sizes=sizes, removed_by=dict(sorted(by.items())))


def dedup_balance(spark, lake_root: str, snapshot: str) -> dict[str, int]:
    """Rows of the crawl in silver/documents, dedup/documents and dedup/removed (silver must equal the
    other two), and the sum of dup_count over kept documents (must equal the removed documents whose
    representative is in this crawl, plus the kept ones)."""
    from pyspark.sql import functions as F

    counts = partition_counts(spark, lake_root, snapshot, {
        "silver": SILVER_DOCUMENTS, "documents": DEDUP_DOCUMENTS, "removed": DEDUP_REMOVED})
    docs_uri, removed_uri = table_uri(lake_root, DEDUP_DOCUMENTS), table_uri(lake_root, DEDUP_REMOVED)
    counts["dup_count_sum"] = int(read_partition(spark, docs_uri, snapshot)
                                  .agg(F.coalesce(F.sum("dup_count"), F.lit(0)).alias("n")).first()["n"]) \
        if table_exists(spark, docs_uri) else 0
    counts["removed_within_crawl"] = (read_partition(spark, removed_uri, snapshot)
                                      .where(~F.col("cross_crawl")).count()) \
        if table_exists(spark, removed_uri) else 0
    return counts


def balance_ok(counts: dict[str, int]) -> bool:
    """The two identities of `dedup_balance`."""
    return (counts["silver"] == counts["documents"] + counts["removed"]
            and counts["dup_count_sum"] == counts["documents"] + counts["removed_within_crawl"])

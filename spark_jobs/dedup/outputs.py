"""What the dedup job writes and reports: its Delta tables for one crawl, the counts of a
`DedupResult`, and the count balance the asset check compares.

Only this crawl's partitions are written (`replaceWhere` on snapshot): dedup/pairs (the verified and
rejected candidate edges), dedup/documents (the silver columns of kept documents + dup_cluster_id,
dup_count), dedup/removed (+ reason, duplicate_of, similarity) and dedup/clusters (clusters with at
least two documents of this crawl, or an earlier representative).
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Callable, TypeVar

import pyarrow as pa

from contract.tables import (
    DEDUP_CLUSTERS, DEDUP_CLUSTERS_SCHEMA, DEDUP_DOCUMENT_COLUMNS, DEDUP_DOCUMENTS, DEDUP_PAIRS,
    DEDUP_PAIRS_SCHEMA, DEDUP_REMOVED, DEDUP_REMOVED_SCHEMA, SILVER_DOCUMENTS, table_uri,
)
from spark_jobs.arrow_schema import to_spark_schema
from spark_jobs.balance import partition_counts
from spark_jobs.dedup.config import REASON_EXACT, REASON_NEAR, DedupResult
from spark_jobs.dedup.nodes import node_doc_id, node_snapshot
from spark_jobs.dedup.signatures import replace_partition_merging_schema
from spark_jobs.delta_io import overwrite_where, partition_predicate, read_partition, table_exists

CLUSTER_SIZE_BINS = (1, 2, 3, 5, 9, 17, 33, 65, 129)  # lower edges: 1, 2, 3-4, 5-8, ..., 129+
T = TypeVar("T")


def _conform(df, schema: pa.Schema):
    """Select and cast the columns of a contract schema, in its order."""
    spark_schema = to_spark_schema(schema)
    return df.select(*[df[f.name].cast(f.dataType).alias(f.name) for f in spark_schema.fields])


def write_pairs(spark, lake_root: str, snapshot: str, edges) -> None:
    """Replace this crawl's partition of dedup/pairs with `edges` (src, dst, similarity, verified);
    None (near dedup off) empties it."""
    from pyspark.sql import functions as F

    if edges is None:
        pairs = spark.createDataFrame([], to_spark_schema(DEDUP_PAIRS_SCHEMA))
    else:
        pairs = _conform(edges.withColumn("snapshot", F.lit(snapshot))
                         .withColumn("src_doc_id", node_doc_id(F.col("src")))
                         .withColumn("src_snapshot", node_snapshot(F.col("src")))
                         .withColumn("dst_doc_id", node_doc_id(F.col("dst")))
                         .withColumn("dst_snapshot", node_snapshot(F.col("dst"))), DEDUP_PAIRS_SCHEMA)
    overwrite_where(pairs, table_uri(lake_root, DEDUP_PAIRS), partition_predicate(snapshot))


def edge_counts(edges) -> tuple[int, int]:
    """(candidate edges, verified edges); (0, 0) when near dedup is off (`edges` None)."""
    candidate = verified = 0
    if edges is not None:
        for row in edges.groupBy("verified").count().collect():
            candidate += row["count"]
            verified += row["count"] if row["verified"] else 0
    return candidate, verified


def output_writes(spark, lake_root: str, snapshot: str, decisions) -> list:
    """The writes that replace this crawl's partitions of dedup/documents, dedup/removed and
    dedup/clusters, as functions of no argument (`concurrently` runs them)."""
    from pyspark.sql import functions as F

    predicate = partition_predicate(snapshot)
    silver = read_partition(spark, table_uri(lake_root, SILVER_DOCUMENTS), snapshot)
    extra = to_spark_schema(DEDUP_DOCUMENT_COLUMNS)
    kept = (silver.join(decisions.where(F.col("kept"))
                        .select("doc_id", F.col("duplicate_of").alias("dup_cluster_id"), "dup_count"),
                        "doc_id")
            .select(*silver.columns, *[F.col(f.name).cast(f.dataType) for f in extra.fields]))
    removed = (silver.select("doc_id", "snapshot", "url", "domain", "fetch_time", "n_chars")
               .join(decisions.where(~F.col("kept")), "doc_id")
               .withColumn("dup_cluster_id", F.col("duplicate_of")))
    clusters = (decisions.where((F.col("dup_count") > 1) | F.col("cross_crawl"))
                .groupBy("rep").agg(
                    F.first("duplicate_of").alias("dup_cluster_id"),
                    F.first("duplicate_of_snapshot").alias("representative_snapshot"),
                    F.first("cross_crawl").alias("cross_crawl"),
                    F.count(F.lit(1)).alias("n_documents"),
                    F.first("n_exact").alias("n_exact"),
                    F.first("n_near").alias("n_near"),
                    F.min("similarity").alias("min_similarity"),
                    F.first("language", ignorenulls=True).alias("language"),
                    F.first("script", ignorenulls=True).alias("script"),
                    F.first("n_filtered").alias("n_filtered"))
                .withColumn("snapshot", F.lit(snapshot)))
    return [
        lambda: overwrite_where(kept, table_uri(lake_root, DEDUP_DOCUMENTS), predicate),
        lambda: overwrite_where(_conform(removed, DEDUP_REMOVED_SCHEMA), table_uri(lake_root, DEDUP_REMOVED),
                                predicate),
        # a lake written before has no language, script or n_filtered columns: merged in
        lambda: replace_partition_merging_schema(_conform(clusters, DEDUP_CLUSTERS_SCHEMA),
                                                 table_uri(lake_root, DEDUP_CLUSTERS), snapshot),
    ]


def concurrently(*tasks: Callable[[], T]) -> list[T]:
    """Run functions that submit Spark jobs from threads of their own and return their results in
    order; the first exception is raised once all have finished. Independent Delta writes and counts
    overlap their driver-side work (planning, Delta log reads and commits) with each other's tasks."""
    if len(tasks) <= 1:
        return [task() for task in tasks]
    with ThreadPoolExecutor(max_workers=len(tasks), thread_name_prefix="dedup-output") as pool:
        futures = [pool.submit(task) for task in tasks]
        wait(futures)
    return [f.result() for f in futures]


def _size_bin(n: int) -> str:
    edges = CLUSTER_SIZE_BINS
    for lo, hi in zip(edges, edges[1:]):
        if n < hi:
            return str(lo) if hi - lo == 1 else f"{lo}-{hi - 1}"
    return f"{edges[-1]}+"


def language_label(language, script) -> str:
    """`fra_Latn`, `fr` (no script) or `unknown`: the per-language key of the metadata."""
    if not language:
        return "unknown"
    return f"{language}_{script}" if script else language


def summarize(snapshot: str, decisions, started: float) -> DedupResult:
    """The counts of a `DedupResult` from the decisions (see config.py for what they mean); only
    grouped counts come back to the driver. Kept and removed count silver's documents; inputs a
    quality filter rejected (fineweb2 preset) are counted apart."""
    from pyspark.sql import functions as F

    by: dict[str, int] = {}
    kept_by_language: dict[str, int] = {}
    removed_by_language: dict[str, int] = {}
    kept = filtered = lost = 0
    rows = (decisions.withColumn("lost", ~F.col("kept") & ~F.coalesce(F.col("rep_passed_filters"), F.lit(True)))
            .groupBy("kept", "reason", "cross_crawl", "passed_filters", "lost", "language", "script").count()
            .collect())
    for row in rows:
        if not row["passed_filters"]:
            filtered += row["count"]
            continue
        language = language_label(row["language"], row["script"])
        if row["kept"]:
            kept += row["count"]
            kept_by_language[language] = kept_by_language.get(language, 0) + row["count"]
            continue
        key = row["reason"] + (".cross_crawl" if row["cross_crawl"] else "")
        by[key] = by.get(key, 0) + row["count"]
        removed_by_language[language] = removed_by_language.get(language, 0) + row["count"]
        lost += row["count"] if row["lost"] else 0
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
                       time.monotonic() - started, cluster_sizes=sizes, removed_by=dict(sorted(by.items())),
                       kept_by_language=dict(sorted(kept_by_language.items())),
                       removed_by_language=dict(sorted(removed_by_language.items())),
                       filtered_inputs=filtered, removed_for_filtered_survivor=lost)


def dedup_balance(spark, lake_root: str, snapshot: str) -> dict[str, int]:
    """Rows of the crawl in silver/documents, dedup/documents and dedup/removed (silver must equal the
    other two), and the sum of dup_count over kept documents, which must equal the kept documents,
    plus the removed ones whose representative is a kept document of this crawl, plus the members a
    quality filter rejected of the kept documents' clusters (`n_filtered`, fineweb2 preset; 0 else)."""
    from pyspark.sql import functions as F

    counts = partition_counts(spark, lake_root, snapshot, {
        "silver": SILVER_DOCUMENTS, "documents": DEDUP_DOCUMENTS, "removed": DEDUP_REMOVED})
    docs_uri, removed_uri = table_uri(lake_root, DEDUP_DOCUMENTS), table_uri(lake_root, DEDUP_REMOVED)
    clusters_uri = table_uri(lake_root, DEDUP_CLUSTERS)
    counts["dup_count_sum"] = counts["removed_within_crawl"] = counts["filtered_in_kept_clusters"] = 0
    if not table_exists(spark, docs_uri):
        return counts
    docs = read_partition(spark, docs_uri, snapshot)
    kept_ids = docs.select(F.col("doc_id").alias("rep_id"))
    counts["dup_count_sum"] = int(docs.agg(F.coalesce(F.sum("dup_count"), F.lit(0)).alias("n")).first()["n"])
    if table_exists(spark, removed_uri):
        counts["removed_within_crawl"] = (read_partition(spark, removed_uri, snapshot).where(~F.col("cross_crawl"))
                                          .join(kept_ids, F.col("duplicate_of") == F.col("rep_id"), "left_semi")
                                          .count())
    if table_exists(spark, clusters_uri):
        clusters = read_partition(spark, clusters_uri, snapshot)
        if "n_filtered" in clusters.columns:
            counts["filtered_in_kept_clusters"] = int(
                clusters.join(kept_ids, F.col("dup_cluster_id") == F.col("rep_id"), "left_semi")
                .agg(F.coalesce(F.sum("n_filtered"), F.lit(0)).alias("n")).first()["n"])
    return counts


def balance_ok(counts: dict[str, int]) -> bool:
    """The two identities of `dedup_balance`."""
    return (counts["silver"] == counts["documents"] + counts["removed"]
            and counts["dup_count_sum"] == (counts["documents"] + counts["removed_within_crawl"]
                                            + counts.get("filtered_in_kept_clusters", 0)))

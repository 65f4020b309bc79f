"""Step 1 of dedup: MinHash signatures of a crawl, written to and read back from `dedup/signatures`.

`mapInArrow` over the crawl's silver rows calls `minhash.signature_columns` (exact hash of the
normalized text, 112 MinHash values, 14 band hashes, vectorized per Arrow batch); the result replaces
this crawl's partition of `dedup/signatures`, and everything after reads it back from Delta (the
write is the checkpoint; earlier crawls are never recomputed).

"Earlier crawls" of crawl S are the snapshots whose id sorts before S as a string. Common Crawl ids
`CC-MAIN-YYYY-WW` sort chronologically; `CC-MAIN-SAMPLE` (and `CC-MAIN-BENCH`) sort after every real
crawl. Only their rows in `dedup/signatures` count: a crawl whose dedup has not run yet is not "in
the lake" (the result lists such crawls in `earlier_without_signatures`). Earlier crawls' signatures
include their own removed documents (the signature table holds every silver document), so a
document of S that duplicates anything ever seen is removed. Signatures computed with other MinHash
parameters than the current config are not comparable: reading them is an error.
"""
from __future__ import annotations

import pyarrow as pa

from contract.tables import DEDUP_SIGNATURES, DEDUP_SIGNATURES_SCHEMA, SILVER_DOCUMENTS, table_uri
from core.arrow_batches import map_slices
from core.dedup.minhash import MinHashParams, signature_columns
from spark_jobs.arrow_schema import to_spark_schema
from spark_jobs.dedup.config import DedupConfig
from spark_jobs.dedup.nodes import node_column
from spark_jobs.delta_io import overwrite_where, partition_predicate, read_partition, table_exists

# What the later steps read of a signature row, with the document named by its node string.
_NODE_COLUMNS = ("exact_hash", "band_hashes", "minhash")


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


def as_nodes(signatures):
    """(node, exact_hash, band_hashes, minhash) of signature rows (see nodes.py)."""
    return signatures.select(node_column().alias("node"), *_NODE_COLUMNS)


def crawl_signatures(spark, lake_root: str, snapshot: str):
    """This crawl's signatures, as nodes."""
    return as_nodes(read_partition(spark, table_uri(lake_root, DEDUP_SIGNATURES), snapshot))


def earlier_signatures(spark, lake_root: str, snapshot: str, config: DedupConfig):
    """(earlier crawls' signature rows (snapshot < this one), their snapshots, sorted); a ValueError
    names the crawls whose signatures were computed with other MinHash parameters than `config`."""
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


def crawls_in_silver_before(spark, lake_root: str, snapshot: str) -> list[str]:
    """Snapshots of silver/documents that sort before `snapshot` (with or without signatures)."""
    from pyspark.sql import functions as F

    uri = table_uri(lake_root, SILVER_DOCUMENTS)
    if not table_exists(spark, uri):
        return []
    return sorted(r["snapshot"] for r in spark.read.format("delta").load(uri)
                  .where(F.col("snapshot") < F.lit(snapshot)).select("snapshot").distinct().collect())

"""Step 1 of dedup: MinHash signatures and shingle sets of a crawl, written to and read back from
`dedup/signatures`.

`mapInArrow` over the crawl's dedup inputs (inputs.py: silver's rows, and with the fineweb2 preset
also the quality filters' rejects) calls `minhash.signature_columns` (exact hash of the
normalized text, 112 MinHash values, 14 band hashes and the sorted set of shingle hashes, vectorized
per Arrow batch); the result replaces this crawl's partition of `dedup/signatures`, and everything
after reads it back from Delta (the write is the checkpoint; earlier crawls are never recomputed).

Byte-identical texts are computed once: rows are hash-partitioned on a 64-bit hash of the text and
sorted by (that hash, doc_id) within each task, so the copies of a text are adjacent in one task
(signature_rows.py). Every copy gets the full signature row; the shingle set, the bulky column (8
bytes per distinct n-gram), is stored once, on the copy with the smallest doc_id, which every copy
names in `shingle_set_doc_id`. Exact verification of a later crawl reads the sets from here, never
the earlier crawls' texts.

"Earlier crawls" of crawl S are the snapshots whose id sorts before S as a string. Common Crawl ids
`CC-MAIN-YYYY-WW` sort chronologically; `CC-MAIN-SAMPLE` (and `CC-MAIN-BENCH`) sort after every real
crawl. Only their rows in `dedup/signatures` count: a crawl whose dedup has not run yet is not "in
the lake" (the result lists such crawls in `earlier_without_signatures`). Earlier crawls' signatures
include their own removed documents (the signature table holds every silver document), so a
document of S that duplicates anything ever seen is removed. `check_earlier_signatures` runs before
anything is written and refuses earlier signatures that cannot be compared: computed with other
MinHash parameters, or (for exact verification) written before shingle sets were stored.
"""
from __future__ import annotations

from contract.tables import DEDUP_SIGNATURES, DEDUP_SIGNATURES_SCHEMA, SILVER_DOCUMENTS, table_uri
from spark_jobs.arrow_schema import to_spark_schema
from spark_jobs.dedup.config import DedupConfig
from spark_jobs.dedup.inputs import column_or_null, dedup_input_rows
from spark_jobs.dedup.nodes import node_column
from spark_jobs.dedup.signature_rows import TEXT_KEY, make_signature_batches
from spark_jobs.delta_io import partition_predicate, read_partition, table_exists

# What the later steps read of a signature row, with the document named by its node string.
_NODE_COLUMNS = ("exact_hash", "band_hashes", "minhash")


def write_signatures(spark, lake_root: str, snapshot: str, config: DedupConfig) -> None:
    """Compute the signatures of this crawl's dedup inputs (inputs.py) and replace its partition of
    dedup/signatures."""
    from pyspark.sql import functions as F

    rows = dedup_input_rows(spark, lake_root, snapshot, config)
    n_parts = config.partitions or max(2, spark.sparkContext.defaultParallelism * 2)
    # with words by language the signature depends on the language: copies run together only within one
    key = F.xxhash64("text", "language", "script") if config.per_language else F.xxhash64("text")
    sigs = (rows.withColumn(TEXT_KEY, key)
            .repartition(n_parts, TEXT_KEY)
            .sortWithinPartitions(TEXT_KEY, "doc_id")
            .mapInArrow(make_signature_batches(config), to_spark_schema(DEDUP_SIGNATURES_SCHEMA)))
    replace_partition_merging_schema(sigs, table_uri(lake_root, DEDUP_SIGNATURES), snapshot)


def replace_partition_merging_schema(df, uri: str, snapshot: str) -> None:
    """Replace the crawl's partition, adding the columns that rows written by older code lack
    (`mergeSchema`: their rows read as null there)."""
    spark = df.sparkSession
    writer = df.write.format("delta").mode("overwrite")
    if table_exists(spark, uri):
        writer.option("replaceWhere", partition_predicate(snapshot)).option("mergeSchema", "true").save(uri)
    else:
        writer.partitionBy("snapshot").save(uri)


def as_nodes(signatures, config: DedupConfig):
    """(node, exact_hash, band_hashes, minhash, lang_key, passed_filters, language, script) of
    signature rows (see nodes.py). `lang_key` partitions exact groups and LSH buckets: `fra_Latn`
    with the fineweb2 preset ("" for a row without language), "" for every row otherwise.
    Rows written before language and passed_filters were stored read as null language and passed."""
    from pyspark.sql import functions as F

    language, script = column_or_null(signatures, "language"), column_or_null(signatures, "script")
    lang_key = (F.when(language.isNull(), F.lit("")).otherwise(F.concat_ws("_", language, script))
                if config.per_language else F.lit(""))
    passed = (F.coalesce(F.col("passed_filters"), F.lit(True)) if "passed_filters" in signatures.columns
              else F.lit(True))
    return signatures.select(node_column().alias("node"), *_NODE_COLUMNS, lang_key.alias("lang_key"),
                             passed.alias("passed_filters"), language.alias("language"),
                             script.alias("script"))


def crawl_signatures(spark, lake_root: str, snapshot: str, config: DedupConfig):
    """This crawl's signatures, as nodes."""
    return as_nodes(read_partition(spark, table_uri(lake_root, DEDUP_SIGNATURES), snapshot), config)


def earlier_signature_rows(spark, lake_root: str, snapshot: str):
    """The signature rows of the crawls before `snapshot`."""
    from pyspark.sql import functions as F

    return (spark.read.format("delta").load(table_uri(lake_root, DEDUP_SIGNATURES))
            .where(F.col("snapshot") < F.lit(snapshot)))


def check_earlier_signatures(spark, lake_root: str, snapshot: str, config: DedupConfig) -> list[str]:
    """The earlier crawls with signatures, sorted, after checking that they can be compared with this
    run (one aggregation over light columns; nothing is written before it). A ValueError names the
    crawls whose signatures were computed with other MinHash parameters than `config`, or, when this
    run verifies exactly, those written before shingle sets were stored (rerun their dedup first,
    oldest first: each run reads only crawls before it)."""
    from pyspark.sql import functions as F

    uri = table_uri(lake_root, DEDUP_SIGNATURES)
    if not table_exists(spark, uri):
        return []
    earlier = earlier_signature_rows(spark, lake_root, snapshot)
    without_sets = (F.col("shingle_set_doc_id").isNull() if "shingle_set_doc_id" in earlier.columns
                    else F.lit(True))
    rows = (earlier.groupBy("snapshot")
            .agg(F.max((F.col("minhash_params") != F.lit(config.params_tag)).cast("int")).alias("bad"),
                 F.max(without_sets.cast("int")).alias("old"))
            .collect())
    mismatched = sorted(r["snapshot"] for r in rows if r["bad"])
    if mismatched:
        raise ValueError(
            f"dedup/signatures of {mismatched} were computed with other MinHash parameters than "
            f"{config.params_tag}; rerun dedup of those crawls with the same parameters first")
    old = sorted(r["snapshot"] for r in rows if r["old"])
    if old and config.near and config.verify_method == "exact":
        raise ValueError(
            f"dedup/signatures of {old} were written before shingle sets were stored, and exact "
            f"verification needs them; rerun dedup of those crawls first, oldest first (or verify "
            f"with verify_method='minhash')")
    return sorted(r["snapshot"] for r in rows)


def crawls_in_silver_before(spark, lake_root: str, snapshot: str) -> list[str]:
    """Snapshots of silver/documents that sort before `snapshot` (with or without signatures)."""
    from pyspark.sql import functions as F

    uri = table_uri(lake_root, SILVER_DOCUMENTS)
    if not table_exists(spark, uri):
        return []
    return sorted(r["snapshot"] for r in spark.read.format("delta").load(uri)
                  .where(F.col("snapshot") < F.lit(snapshot)).select("snapshot").distinct().collect())

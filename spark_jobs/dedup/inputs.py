"""What a crawl's dedup run deduplicates: the rows the signature step reads.

- preset `fineweb` (FineWeb: MinHash on the filtered output): silver's kept documents, their text as
  silver wrote it.
- preset `fineweb2` (fineweb-2-pipeline.py: language threshold -> MinHash per language -> quality
  filters): every document that passed language ID, i.e. silver's kept documents plus the rejects
  whose first failing rule comes after the language step (`gopher_repetition.*`,
  `fineweb_quality.*`, `gopher_quality.*`, `precision.*`, their `.error`s). Their text is the text
  before any filter or formatter: the rejects carry it already, kept documents take it from bronze
  (silver's text went through FTFY, PII and the table-line fix). `passed_filters` says which rows
  are silver's; only those can be kept, the others count in cluster sizes and can be the survivor
  that FineWeb2's quality filters then drop.

Both keep `language` and `script` (null when silver has no such column: a lake written before).
"""
from __future__ import annotations

from contract.tables import BRONZE_DOCUMENTS, SILVER_DOCUMENTS, SILVER_REJECTS, table_uri
from spark_jobs.dedup.config import DedupConfig
from spark_jobs.delta_io import read_partition, table_exists

# Steps of FineWeb2's recipe that run before its dedup: a reject of these never reaches MinHash.
STEPS_BEFORE_DEDUP = ("url", "language")
INPUT_COLUMNS = ("doc_id", "snapshot", "fetch_time", "text", "language", "script", "passed_filters")


def column_or_null(df, name: str, data_type: str = "string"):
    """`df[name]`, or a typed null when the table was written before the column existed."""
    from pyspark.sql import functions as F

    return F.col(name) if name in df.columns else F.lit(None).cast(data_type).alias(name)


def _rows(df, passed: bool):
    """The INPUT_COLUMNS of silver or rejects rows."""
    from pyspark.sql import functions as F

    return df.select("doc_id", "snapshot", "fetch_time", "text", column_or_null(df, "language"),
                     column_or_null(df, "script"), F.lit(passed).alias("passed_filters"))


def filtered_after_language_id(rejects):
    """Rejects whose first failing rule is a step after language ID (FineWeb2 deduplicates them)."""
    from pyspark.sql import functions as F

    step = F.split(F.col("reason"), r"\.").getItem(0)
    return rejects.where(F.col("reason").isNotNull() & ~step.isin(*STEPS_BEFORE_DEDUP))


def dedup_input_rows(spark, lake_root: str, snapshot: str, config: DedupConfig):
    """(doc_id, snapshot, fetch_time, text, language, script, passed_filters) of the crawl."""
    from pyspark.sql import functions as F

    kept = _rows(read_partition(spark, table_uri(lake_root, SILVER_DOCUMENTS), snapshot), True)
    if not config.per_language:
        return kept
    bronze_uri = table_uri(lake_root, BRONZE_DOCUMENTS)
    if table_exists(spark, bronze_uri):
        bronze = (read_partition(spark, bronze_uri, snapshot)
                  .select("doc_id", F.col("text").alias("bronze_text")))
        # a kept document whose bronze row is gone (bronze rewritten since) keeps silver's text
        kept = (kept.join(bronze, "doc_id", "left")
                .withColumn("text", F.coalesce(F.col("bronze_text"), F.col("text"))).select(*INPUT_COLUMNS))
    rejects_uri = table_uri(lake_root, SILVER_REJECTS)
    if not table_exists(spark, rejects_uri):
        return kept
    rejects = filtered_after_language_id(read_partition(spark, rejects_uri, snapshot))
    return kept.unionByName(_rows(rejects, False))


def silver_preset(spark, lake_root: str, snapshot: str) -> str:
    """The preset silver ran with for this crawl: `fineweb2` when any of its rows (kept or rejected)
    names a word tokenizer (only FineWeb2's language step sets `word_tokenizer`), else `fineweb`."""
    from pyspark.sql import functions as F

    for table in (SILVER_DOCUMENTS, SILVER_REJECTS):
        uri = table_uri(lake_root, table)
        if not table_exists(spark, uri):
            continue
        rows = read_partition(spark, uri, snapshot)
        if "word_tokenizer" in rows.columns and rows.where(F.col("word_tokenizer").isNotNull()).limit(1).count():
            return "fineweb2"
    return "fineweb"

"""Silver on Spark: bronze documents through the filter chain (FineWeb's recipe by default, FineWeb2's
with the `fineweb2` preset), vectorized per Arrow batch.

`mapInArrow` hands each Python worker Arrow batches of the crawl's bronze rows; the chain
(`core.filters.chain.run_chain_on_batch`) runs language ID for a whole batch in one fastText call
and the text filters per document. Kept documents go to `silver/documents` with their language,
score and every computed statistic; dropped ones to `silver/rejects` with the first failing rule as
`reason` and the same statistics, so a threshold can be studied without recomputing anything. Both
schemas are the contract's (`contract.tables.SILVER_SCHEMA`, `SILVER_REJECTS_SCHEMA`): the same
columns whatever is switched off, a step that did not run leaves its columns null.

FineWeb2: a kept language without a LID threshold gets one from the crawl before filtering
(`derive_language_thresholds`: language ID alone over the crawl, then FineWeb2's rule per language,
max(0.3, min(0.9, median - standard deviation)), on Spark's `percentile_approx` median and
`stddev_pop`); the result lists them with their document counts.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import pyarrow as pa

from contract.tables import (
    BRONZE_DOCUMENTS, BRONZE_SCHEMA, SILVER_DOCUMENTS, SILVER_REJECTS, SILVER_REJECTS_SCHEMA,
    SILVER_SCHEMA, SILVER_STATISTICS_SCHEMA, table_uri,
)
from core.arrow_batches import map_slices
from core.filters.chain import ChainConfig, run_chain_on_batch, statistics_schema
from spark_jobs.arrow_schema import to_spark_schema
from spark_jobs.balance import partition_counts
from spark_jobs.delta_io import overwrite_where, partition_predicate, read_partition

# What the filter task returns: every rejects column + the decision, split into the two tables.
_DECIDED_SCHEMA = pa.schema(list(SILVER_REJECTS_SCHEMA) + [pa.field("keep", pa.bool_())])


def check_recipe_fits_contract(config: ChainConfig) -> None:
    """Every statistic of the config's recipe must have its column, of its type, in the contract."""
    contract = {f.name: f.type for f in SILVER_STATISTICS_SCHEMA}
    misfits = [f"{f.name} ({f.type}; contract: {contract.get(f.name, 'no column')})"
               for f in statistics_schema(config.recipe) if contract.get(f.name) != f.type]
    if misfits:
        raise ValueError("the filter recipe's statistics do not fit the silver table contract "
                         f"(contract/tables.py SILVER_STATISTICS_SCHEMA): {misfits}")


def filter_batch(batch: pa.RecordBatch, config: ChainConfig) -> pa.RecordBatch:
    """Bronze rows in, the same rows with decision, language, statistics and final text out."""
    decided = run_chain_on_batch(batch, config)
    columns = {name: batch.column(name) for name in BRONZE_SCHEMA.names}
    columns["text"] = decided.column("text")
    columns["n_chars"] = pa.array([len(t) if t is not None else 0
                                   for t in decided.column("text").to_pylist()], pa.int64())
    for field in _DECIDED_SCHEMA:
        if field.name in columns:
            continue
        if field.name in decided.schema.names:
            columns[field.name] = decided.column(field.name)
        else:  # a statistic of a step the config's recipe does not have
            columns[field.name] = pa.nulls(batch.num_rows, field.type)
    return pa.RecordBatch.from_arrays([columns[f.name] for f in _DECIDED_SCHEMA], schema=_DECIDED_SCHEMA)


def make_filter_batches(config: ChainConfig, batch_rows: int = 256):
    """The function Spark runs per task: bronze batches in, decided rows out, `batch_rows` at a time."""
    return map_slices(lambda part: filter_batch(part, config), batch_rows)


@dataclass
class SilverResult:
    documents_in: int
    kept: int
    rejected: int
    by_reason: dict[str, int]
    by_language: dict[str, int]  # kept documents per language (`fra_Latn` when there is a script)
    seconds: float
    steps: tuple[str, ...] = ()  # the recipe's steps, in order (the funnel's rows)
    by_word_tokenizer: dict[str, int] = field(default_factory=dict)  # documents with a language
    derived_thresholds: dict[str, dict] = field(default_factory=dict)  # language -> threshold, n_docs

    def funnel(self) -> list[tuple[str, int, int]]:
        """(step, dropped at this step, remaining after it) in chain order."""
        remaining = self.documents_in
        rows = []
        for step in self.steps:
            dropped = sum(n for r, n in self.by_reason.items() if r.split(".")[0] == step)
            remaining -= dropped
            rows.append((step, dropped, remaining))
        return rows


def _language_key(row) -> str:
    language = row["language"] or "unknown"
    return f"{language}_{row['script']}" if row["script"] else language


def derive_language_thresholds(spark, bronze, config: ChainConfig) -> dict[str, dict]:
    """FineWeb2's LID threshold from this crawl for each kept language that has none: language ID
    alone over every document, then max(0.3, min(0.9, median - stddev)) of the language's scores."""
    from pyspark.sql import functions as F

    from core.filters.fineweb2.language_id import clamp_threshold
    from core.filters.fineweb2.preset import languages_without_threshold

    missing = languages_without_threshold(config)
    if not missing:
        return {}
    language_step = next(step for step in config.recipe if step.name == "language")
    lid_only = ChainConfig(params={"language": config.params["language"]}, recipe=(language_step,))
    schema = pa.schema([pa.field(n, statistics_schema((language_step,)).field(n).type)
                        for n in ("language", "script", "language_score")])

    def label(batches):
        for batch in batches:
            out = run_chain_on_batch(batch.select(["text"]), lid_only)
            yield pa.RecordBatch.from_arrays([out.column(n) for n in schema.names], schema=schema)

    scored = (bronze.select("text").mapInArrow(label, to_spark_schema(schema))
              .withColumn("key", F.concat_ws("_", "language", "script"))
              .where(F.col("key").isin(list(missing))))
    rows = (scored.groupBy("key")
            .agg(F.percentile_approx("language_score", 0.5, 10000).alias("median"),
                 F.stddev_pop("language_score").alias("std"), F.count("*").alias("n"))
            .collect())
    derived = {r["key"]: {"threshold": round(clamp_threshold(r["median"] - (r["std"] or 0.0)), 4),
                          "median": r["median"], "std": r["std"] or 0.0, "n_docs": r["n"]} for r in rows}
    for language in missing:  # no document of it in this crawl: the rule's floor
        derived.setdefault(language, {"threshold": 0.3, "median": None, "std": None, "n_docs": 0})
    return derived


def run_silver(spark, lake_root: str, snapshot: str, config: ChainConfig = ChainConfig(),
               partitions: int | None = None) -> SilverResult:
    """Filter one crawl's bronze documents and replace its partitions of the silver tables."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    check_recipe_fits_contract(config)
    started = time.monotonic()
    bronze = read_partition(spark, table_uri(lake_root, BRONZE_DOCUMENTS), snapshot)
    # Bronze is written one file per WARC, so its natural partitions already spread the work; a
    # repartition would shuffle every text once more. `partitions` forces one (few huge files).
    if partitions:
        bronze = bronze.repartition(partitions)
    derived = derive_language_thresholds(spark, bronze, config)
    if derived:
        from core.filters.fineweb2.preset import with_thresholds

        config = with_thresholds(config, {k: v["threshold"] for k, v in derived.items()})
    decided = (bronze
               .mapInArrow(make_filter_batches(config), to_spark_schema(_DECIDED_SCHEMA))
               .persist(StorageLevel.MEMORY_AND_DISK))
    try:
        summary = decided.groupBy("keep", "reason", "language", "script", "word_tokenizer").count().collect()
        predicate = partition_predicate(snapshot)
        overwrite_where(decided.where(F.col("keep")).select(*SILVER_SCHEMA.names),
                        table_uri(lake_root, SILVER_DOCUMENTS), predicate)
        overwrite_where(decided.where(~F.col("keep")).select(*SILVER_REJECTS_SCHEMA.names),
                        table_uri(lake_root, SILVER_REJECTS), predicate)
    finally:
        decided.unpersist()
    by_reason: dict[str, int] = {}
    by_language: dict[str, int] = {}
    by_tokenizer: dict[str, int] = {}
    kept = rejected = 0
    for row in summary:
        if row["word_tokenizer"]:
            by_tokenizer[row["word_tokenizer"]] = by_tokenizer.get(row["word_tokenizer"], 0) + row["count"]
        if row["keep"]:
            kept += row["count"]
            language = _language_key(row)
            by_language[language] = by_language.get(language, 0) + row["count"]
        else:
            rejected += row["count"]
            by_reason[row["reason"]] = by_reason.get(row["reason"], 0) + row["count"]
    return SilverResult(kept + rejected, kept, rejected, dict(sorted(by_reason.items())),
                        dict(sorted(by_language.items())), time.monotonic() - started,
                        steps=tuple(step.name for step in config.recipe),
                        by_word_tokenizer=dict(sorted(by_tokenizer.items())), derived_thresholds=derived)


def silver_balance(spark, lake_root: str, snapshot: str) -> dict[str, int]:
    """Rows of the crawl in bronze, silver and rejects (bronze must equal the other two)."""
    return partition_counts(spark, lake_root, snapshot, {
        "bronze": BRONZE_DOCUMENTS, "silver": SILVER_DOCUMENTS, "rejects": SILVER_REJECTS})

"""`dedup_documents`: a crawl's silver documents deduplicated (exact + MinHash near, across crawls).

No `from __future__ import annotations` here: Dagster infers Config field types at runtime.
"""

from typing import Literal, Optional

from dagster import (
    AssetCheckResult, AssetCheckSpec, AssetExecutionContext, Config, MaterializeResult, MetadataValue,
    asset,
)
import pyarrow as pa
from pydantic import Field

from assets.metadata import bar_chart_markdown, counts_table
from contract.tables import (
    DEDUP_CLUSTERS, DEDUP_DOCUMENTS, DEDUP_PAIRS, DEDUP_REMOVED, DEDUP_SIGNATURES,
)
from resources.partitions import crawl_partitions
from resources import LakeResource, SparkResource
from spark_jobs.dedup.inputs import silver_preset
from spark_jobs.dedup.job import DedupConfig, balance_ok, dedup_balance, run_dedup
from spark_jobs.progress import report_progress

_DEFAULTS = DedupConfig()
VerifyMethod = Literal["minhash", "exact"]  # spark_jobs.dedup.config.VERIFY_METHODS (a test checks)


class DedupAssetConfig(Config):
    num_bands: int = Field(default=_DEFAULTS.num_bands, description="LSH bands (FineWeb: 14).")
    rows_per_band: int = Field(default=_DEFAULTS.rows_per_band, description="Rows per band (FineWeb: 8).")
    ngram: int = Field(default=_DEFAULTS.ngram, description="Word n-gram size (FineWeb: 5).")
    seed: int = Field(default=_DEFAULTS.seed, description="Permutation seed (FineWeb: 1).")
    verify_threshold: Optional[float] = Field(
        default=_DEFAULTS.verify_threshold,
        description="Drop LSH edges whose Jaccard (see verify_method) is below this; null: no verification.")
    verify_method: VerifyMethod = Field(
        default=_DEFAULTS.verify_method,
        description="How edges are verified: 'minhash' (estimate from the signatures, free; sd ~0.034 "
                    "at J = 0.85 with 112 values) or 'exact' (exact Jaccard of the word n-gram sets stored "
                    "with both ends' signatures; use with verify_threshold 0.85 for a hard cut).")
    exact: bool = Field(default=True, description="Exact dedup on the normalized-text hash.")
    near: bool = Field(default=True, description="MinHash LSH near dedup.")
    cross_crawl: bool = Field(default=True, description="Also against every earlier crawl's signatures.")
    preset: Literal["silver", "fineweb", "fineweb2"] = Field(
        default="silver",
        description="silver: the preset silver ran with for this crawl. fineweb: silver's kept documents, whitespace "
                    "words, all languages together. fineweb2: per language and script, before the quality "
                    "filters (their rejects count in cluster sizes), words from each language's tokenizer.")

    def to_job_config(self, silver: str = "fineweb") -> DedupConfig:
        """The job's config; `silver` (silver's preset for the crawl) applies when the field says "silver"."""
        return DedupConfig(
            num_bands=self.num_bands, rows_per_band=self.rows_per_band, ngram=self.ngram,
            seed=self.seed, verify_threshold=self.verify_threshold, verify_method=self.verify_method,
            exact=self.exact, near=self.near, cross_crawl=self.cross_crawl,
            preset=silver if self.preset == "silver" else self.preset)


# ---- asset checks of the dedup tables (schema, unique doc_id, keep rate) -------------------------
from assets.crawl_range import CRAWL_BACKFILL_POLICY, for_each_crawl  # noqa: E402
from assets.stage_checks import (  # noqa: E402
    KEEP_RATE_MIN_DOCUMENTS, kept_removed_checks,
)
from contract.tables import DEDUP_DOCUMENT_COLUMNS, DEDUP_REMOVED_SCHEMA, SILVER_SCHEMA  # noqa: E402
from spark_jobs.stage_tables import stage_tables  # noqa: E402

DEDUP_DOCUMENTS_SCHEMA = pa.schema(list(SILVER_SCHEMA) + list(DEDUP_DOCUMENT_COLUMNS))
DEDUP_TABLE_CHECKS = [AssetCheckSpec(name, asset="dedup_documents", blocking=True)
                      for name in ("dedup_schema", "dedup_unique_doc_id", "dedup_keep_rate")]


class DedupCheckedConfig(DedupAssetConfig):
    # Check bounds (dedup_keep_rate): kept / silver documents. Within one crawl sample few documents
    # are duplicates (up to 1: nothing removed is normal for a small sample); against earlier crawls
    # FineWeb's blog reports that deduplicating an old crawl against all others removed about 90% of
    # it. Under 5% kept means a key that collapses distinct texts. 0 and 1 turn a side off.
    min_keep_rate: float = Field(default=0.05, description="Check: least kept / silver documents.")
    max_keep_rate: float = Field(default=1.0, description="Check: most kept / silver documents.")
    keep_rate_min_documents: int = Field(
        default=KEEP_RATE_MIN_DOCUMENTS, description="Check: fewer silver documents than this are not judged.")


def dedup_table_checks(session, lake_uri: str, crawl: str, config: DedupCheckedConfig):
    tables = stage_tables(session, lake_uri, crawl, (DEDUP_DOCUMENTS, DEDUP_DOCUMENTS_SCHEMA),
                          (DEDUP_REMOVED, DEDUP_REMOVED_SCHEMA))
    yield from kept_removed_checks("dedup", tables, config, "dedup/documents", "dedup/removed")
# ---- end of the dedup table checks ---------------------------------------------------------------

@asset(
    partitions_def=crawl_partitions,
    deps=["silver_documents"],
    group_name="dedup",
    kinds={"spark", "delta"},
    pool="spark",
    backfill_policy=CRAWL_BACKFILL_POLICY,  # a range of crawls: one at a time, oldest first
    # Blocking: the model stages that will follow must not score an unbalanced dedup partition.
    check_specs=[AssetCheckSpec("dedup_counts_balance", asset="dedup_documents", blocking=True),
                 *DEDUP_TABLE_CHECKS],
    description="Silver documents without exact and near duplicates, within the crawl and against "
                "earlier crawls (Delta `dedup/documents`, with dup_cluster_id and dup_count); removed "
                "ones in `dedup/removed`, clusters, LSH pairs and MinHash signatures beside them.",
)
def dedup_documents(
    context: AssetExecutionContext, config: DedupCheckedConfig, spark: SparkResource, lake: LakeResource,
):
    yield from for_each_crawl(context, lambda crawl: _dedup_of_crawl(context, config, spark, lake, crawl))


def _dedup_of_crawl(context, config: DedupCheckedConfig, spark: SparkResource, lake: LakeResource,
                    crawl: str):
    session = spark.session()
    silver = silver_preset(session, lake.uri, crawl) if config.preset == "silver" else config.preset
    job_config = config.to_job_config(silver)
    with report_progress(session, context.log.info, f"dedup {crawl}"):
        result = run_dedup(session, lake.uri, crawl, job_config)
    if result.earlier_without_signatures:
        context.log.warning(f"{crawl}: earlier crawls without dedup signatures (not compared): "
                            f"{result.earlier_without_signatures}")
    context.log.info(f"{crawl}: {result.documents_in} in, {result.kept} kept, {result.exact_removed} "
                     f"exact and {result.near_removed} near duplicates removed "
                     f"({result.cross_crawl_removed} against earlier crawls) in {result.seconds:.1f}s")
    counts = dedup_balance(session, lake.uri, crawl)
    rate = result.documents_in / result.seconds if result.seconds else 0.0
    yield MaterializeResult(metadata={
        "documents_in": result.documents_in,
        "kept": result.kept,
        "exact_removed": result.exact_removed,
        "near_removed": result.near_removed,
        "cross_crawl_removed": result.cross_crawl_removed,
        "clusters": result.clusters,
        "candidate_edges": result.candidate_edges,
        "verified_edges": result.verified_edges,
        "earlier_crawls": MetadataValue.json(result.earlier_crawls),
        "seconds": round(result.seconds, 2),
        "documents_per_second": round(rate, 1),
        "removed_by_kind": MetadataValue.md(counts_table(result.removed_by, "kind", result.documents_in)),
        "cluster_sizes": MetadataValue.md(counts_table(result.cluster_sizes, "documents of the crawl")),
        "cluster_size_chart": bar_chart_markdown(result.cluster_sizes, f"{crawl}: clusters by size"),
        "preset": job_config.preset,
        "kept_by_language": MetadataValue.md(counts_table(result.kept_by_language, "language", result.kept)),
        "kept_by_language_chart": bar_chart_markdown(result.kept_by_language, f"{crawl}: kept documents by language"),
        "removed_by_language": MetadataValue.md(
            counts_table(result.removed_by_language, "language", result.removed)),
        "filtered_inputs": result.filtered_inputs,
        "removed_for_filtered_survivor": result.removed_for_filtered_survivor,
        "table": MetadataValue.path(lake.table(DEDUP_DOCUMENTS)),
        "removed_table": MetadataValue.path(lake.table(DEDUP_REMOVED)),
        "clusters_table": MetadataValue.path(lake.table(DEDUP_CLUSTERS)),
        "pairs_table": MetadataValue.path(lake.table(DEDUP_PAIRS)),
        "signatures_table": MetadataValue.path(lake.table(DEDUP_SIGNATURES)),
    })
    yield AssetCheckResult(
        check_name="dedup_counts_balance",
        passed=balance_ok(counts),
        metadata={**{f"rows_{k}": v for k, v in counts.items()},
                  "rule": "silver == documents + removed; sum(dup_count) == documents + removed with a kept "
                          "representative + filtered members of kept clusters"},
    )
    yield from dedup_table_checks(session, lake.uri, crawl, config)

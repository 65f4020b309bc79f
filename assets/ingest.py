"""`warc_manifest` and `bronze_documents`: a crawl's files into the bronze Delta table.

No `from __future__ import annotations` here: Dagster infers Config field types at runtime.
"""
from typing import Literal

from dagster import (
    AssetCheckResult, AssetCheckSpec, AssetExecutionContext, Config, Failure, MaterializeResult,
    MetadataValue, asset,
)
from pydantic import Field

from assets.crawl_range import CRAWL_BACKFILL_POLICY, for_each_crawl
from assets.metadata import bar_chart_markdown, counts_table
from assets.stage_checks import (
    KEEP_RATE_MIN_DOCUMENTS, KeepRate, keep_rate_result, schema_result, unique_result,
)
from contract.tables import (
    BRONZE_DOCUMENTS, BRONZE_ERRORS, BRONZE_ERRORS_SCHEMA, BRONZE_SCHEMA, BRONZE_SKIPS,
    BRONZE_SKIPS_SCHEMA, MANIFEST,
)
from resources.partitions import crawl_partitions
from resources import CrawlSourceResource, LakeResource, SparkResource
from spark_jobs import manifest as manifest_job
from spark_jobs.bronze import BronzeBalance, bronze_balance, run_bronze, unlisted_paths
from spark_jobs.progress import report_progress
from spark_jobs.stage_tables import stage_tables
from core.io.listing import Selection, read_listing, select_paths, join_uri
from core.warc.extract import ExtractionConfig

# Literal types must be spelled out for Dagster; tests check they equal core's KINDS,
# SELECTION_MODES and EXTRACTORS.
Kind = Literal["warc", "wet"]
SelectionMode = Literal["first", "sample", "all"]
Extractor = Literal["resiliparse", "trafilatura"]


class ManifestConfig(Config):
    kind: Kind = Field(default="warc", description="warc (HTML, extracted here) or wet (CC's text).")
    selection: SelectionMode = Field(
        default="first", description="first N files, a seeded random sample of N, or all.")
    n_files: int = Field(default=4, description="How many files for first/sample.")
    seed: int = Field(default=42, description="Seed of the random sample.")
    reset: bool = Field(
        default=False, description="Replace the previous selection instead of adding to it: files "
                                   "no longer selected leave the manifest, and bronze drops their rows.")

    def to_selection(self) -> Selection:
        return Selection(mode=self.selection, n=self.n_files, seed=self.seed)


@asset(
    partitions_def=crawl_partitions,
    group_name="ingest",
    kinds={"spark", "delta"},
    pool="spark",
    backfill_policy=CRAWL_BACKFILL_POLICY,
    description="The crawl's selected WARC/WET files with a processing status (Delta `manifest`).",
)
def warc_manifest(
    context: AssetExecutionContext, config: ManifestConfig, spark: SparkResource,
    lake: LakeResource, crawl_source: CrawlSourceResource,
):
    yield from for_each_crawl(context, lambda crawl: _manifest_of_crawl(
        context, config, spark, lake, crawl_source, crawl))


def _manifest_of_crawl(context, config: ManifestConfig, spark: SparkResource, lake: LakeResource,
                       crawl_source: CrawlSourceResource, crawl: str):
    base = crawl_source.base_for(crawl)
    listing = read_listing(base, crawl, config.kind)
    chosen = select_paths(listing, config.to_selection())
    uris = [join_uri(base, p) for p in chosen]
    session = spark.session()
    counts = manifest_job.register_files(session, lake.uri, crawl, uris, config.kind, config.reset)
    context.log.info(f"{crawl}: {len(listing)} files listed, {len(uris)} selected, {counts}")
    yield MaterializeResult(metadata={
        "listed_files": len(listing),
        **counts,
        "base": base,
        "table": MetadataValue.path(lake.table(MANIFEST)),
        "first_files": MetadataValue.md("\n".join(f"- `{p}`" for p in chosen[:10])),
    })


_EXTRACTION = ExtractionConfig()


class BronzeConfig(Config):
    extractor: Extractor = Field(default=_EXTRACTION.extractor,
                                 description="resiliparse (main content, fast) or trafilatura (FineWeb).")
    trafilatura_favor_precision: bool = Field(
        default=_EXTRACTION.trafilatura_favor_precision,
        description="trafilatura only: favor_precision (FineWeb: true).")
    max_payload_bytes: int = Field(default=_EXTRACTION.max_payload_bytes,
                                   description="Larger payloads are skipped.")
    max_failed_file_share: float = Field(
        default=0.1, description="Fail the asset when more than this share of files fails.")
    reprocess: bool = Field(default=False, description="Redo files already marked done.")
    # Check bounds (bronze_keep_rate): documents / (responses + conversions). A main WARC file holds
    # mostly 200 responses of HTML pages (Common Crawl's MIME statistics: text/html well over 90%),
    # so well under half becoming documents means extraction or decoding broke. Judgement, not a
    # published figure; 0 and 1 turn a side off.
    min_keep_rate: float = Field(default=0.5, description="Check: least documents / responses.")
    max_keep_rate: float = Field(default=1.0, description="Check: most documents / responses.")
    keep_rate_min_documents: int = Field(
        default=KEEP_RATE_MIN_DOCUMENTS, description="Check: fewer responses than this are not judged.")

    def to_extraction_config(self) -> ExtractionConfig:
        return ExtractionConfig(extractor=self.extractor, max_payload_bytes=self.max_payload_bytes,
                                trafilatura_favor_precision=self.trafilatura_favor_precision)


@asset(
    partitions_def=crawl_partitions,
    deps=[warc_manifest],
    group_name="ingest",
    kinds={"spark", "delta"},
    pool="spark",
    backfill_policy=CRAWL_BACKFILL_POLICY,
    # Blocking: silver must not filter a bronze partition that disagrees with its manifest, breaks
    # the contract, repeats a document or lost most of its responses.
    check_specs=[AssetCheckSpec(
        "bronze_counts_match_manifest", asset="bronze_documents", blocking=True,
        description="Per file: responses + conversions read = documents + skip rows + record "
                    "errors, and the tables hold exactly the rows the manifest counts."),
        AssetCheckSpec("bronze_schema", asset="bronze_documents", blocking=True,
                       description="documents, skips and errors have the contract's columns and types."),
        AssetCheckSpec("bronze_unique_doc_id", asset="bronze_documents", blocking=True,
                       description="Every doc_id of the crawl once in bronze/documents."),
        AssetCheckSpec("bronze_keep_rate", asset="bronze_documents", blocking=True,
                       description="documents / (responses + conversions) within the configured bounds."),
    ],
    description="Documents extracted from the crawl's files (Delta `bronze/documents`); responses "
                "and conversions without a document in `bronze/skips` (with the reason), failures "
                "in `bronze/errors`.",
)
def bronze_documents(
    context: AssetExecutionContext, config: BronzeConfig, spark: SparkResource, lake: LakeResource,
):
    yield from for_each_crawl(context, lambda crawl: _bronze_of_crawl(context, config, spark, lake, crawl))


def _bronze_of_crawl(context, config: BronzeConfig, spark: SparkResource, lake: LakeResource, crawl: str):
    session = spark.session()
    paths = manifest_job.files_to_process(session, lake.uri, crawl, config.reprocess)
    retire = unlisted_paths(session, lake.uri, crawl)
    context.log.info(f"{crawl}: {len(paths)} files to extract, rows of {len(retire)} files no "
                     "longer in the manifest to remove")
    with report_progress(session, context.log.info, f"bronze {crawl}"):
        result = run_bronze(session, lake.uri, crawl, paths, config.to_extraction_config(), retire)
    manifest_job.record_outcomes(session, lake.uri, crawl, result.outcomes)
    for path in result.failed_files:
        context.log.warning(f"{crawl}: file failed: {path}")
    if result.stale_staging_removed:
        context.log.warning(f"{crawl}: removed {result.stale_staging_removed} staging directories of side "
                            "rows left by earlier bronze runs that were killed")
    rate = result.documents / result.seconds if result.seconds else 0.0
    context.log.info(f"{crawl}: {result.documents} documents, {result.errors} errors from "
                     f"{result.files} files in {result.seconds:.1f}s ({rate:.0f} docs/s)")
    share = len(result.failed_files) / result.files if result.files else 0.0
    if share > config.max_failed_file_share:
        raise Failure(
            f"{len(result.failed_files)} of {result.files} files failed ({share:.0%} > "
            f"{config.max_failed_file_share:.0%}); see bronze/errors",
            metadata={"failed_files": MetadataValue.md(
                "\n".join(f"- `{p}`" for p in result.failed_files[:50]))},
        )
    balance = bronze_balance(session, lake.uri, crawl)
    yield MaterializeResult(
        metadata={
            "files_processed": result.files,
            "files_failed": len(result.failed_files),
            "files_retired": len(result.retired_files),
            "records_read": sum(result.records_by_type.values()),
            "documents": result.documents,
            "skipped_rows": result.skip_rows,
            "errors": result.errors,
            "characters": result.chars,
            "seconds": round(result.seconds, 2),
            "documents_per_second": round(rate, 1),
            "rows_in_partition": balance.rows_in_bronze,
            "records_by_type": MetadataValue.md(counts_table(result.records_by_type, "WARC-Type")),
            "skipped_by_reason": MetadataValue.md(counts_table(result.skipped)),
            "errors_by_reason": MetadataValue.md(counts_table(result.errors_by_reason)),
            "record_funnel": bar_chart_markdown(
                {"documents": result.documents, **result.skipped, **result.errors_by_reason},
                f"{crawl}: records by outcome"),
            "table": MetadataValue.path(lake.table(BRONZE_DOCUMENTS)),
            "skips_table": MetadataValue.path(lake.table(BRONZE_SKIPS)),
            "errors_table": MetadataValue.path(lake.table(BRONZE_ERRORS)),
        }
    )
    yield balance_check_result(balance)
    yield from bronze_table_checks(session, lake.uri, crawl, balance, config)


def bronze_table_checks(session, lake_uri: str, crawl: str, balance: BronzeBalance, config: BronzeConfig):
    tables = stage_tables(session, lake_uri, crawl, (BRONZE_DOCUMENTS, BRONZE_SCHEMA), schema_only=(
        (BRONZE_SKIPS, BRONZE_SKIPS_SCHEMA), (BRONZE_ERRORS, BRONZE_ERRORS_SCHEMA)))
    yield schema_result("bronze_schema", tables.schema_differences)
    yield unique_result("bronze_unique_doc_id", tables.rows, tables.distinct_doc_ids, "bronze/documents")
    entered = balance.rows_in_bronze + balance.skip_rows + balance.record_error_rows
    keep = KeepRate(balance.rows_in_bronze, entered, config.min_keep_rate, config.max_keep_rate,
                    config.keep_rate_min_documents)
    yield keep_rate_result("bronze_keep_rate", keep,
                           "documents / (documents + skip rows + record errors) of the crawl")


def balance_check_result(balance: BronzeBalance) -> AssetCheckResult:
    metadata = {
        "rows_in_bronze": balance.rows_in_bronze,
        "documents_in_manifest": balance.documents_in_manifest,
        "skip_rows": balance.skip_rows,
        "record_error_rows": balance.record_error_rows,
        "files_checked": balance.files,
        "files_unbalanced": len(balance.unbalanced),
    }
    if balance.unbalanced:
        columns = list(balance.unbalanced[0])
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in balance.unbalanced]
        metadata["unbalanced_files"] = MetadataValue.md("\n".join(lines))
    return AssetCheckResult(check_name="bronze_counts_match_manifest", passed=balance.passed,
                            metadata=metadata)


"""`warc_manifest` and `bronze_documents`: a crawl's files into the bronze Delta table."""

from dagster import (
    AssetCheckResult, AssetCheckSpec, AssetExecutionContext, Config, Failure, MaterializeResult,
    MetadataValue, asset,
)
from pydantic import Field

from assets.metadata import bar_chart_markdown, counts_table
from contract.tables import BRONZE_DOCUMENTS, BRONZE_ERRORS, MANIFEST
from resources.partitions import crawl_partitions
from resources import CrawlSourceResource, LakeResource, SparkResource
from spark_jobs import manifest as manifest_job
from spark_jobs.bronze import bronze_balance, run_bronze
from spark_jobs.progress import report_progress
from core.io.listing import Selection, read_listing, select_paths, join_uri
from core.warc.extract import ExtractionConfig


class ManifestConfig(Config):
    kind: str = Field(default="warc", description="warc (HTML, extracted here) or wet (CC's text).")
    selection: str = Field(default="first", description="first | sample | all")
    n_files: int = Field(default=4, description="How many files for first/sample.")
    seed: int = Field(default=42, description="Seed of the random sample.")
    reset: bool = Field(default=False, description="Forget the previous selection first.")


@asset(
    partitions_def=crawl_partitions,
    group_name="ingest",
    kinds={"spark", "delta"},
    pool="spark",
    description="The crawl's selected WARC/WET files with a processing status (Delta `manifest`).",
)
def warc_manifest(
    context: AssetExecutionContext, config: ManifestConfig, spark: SparkResource,
    lake: LakeResource, crawl_source: CrawlSourceResource,
) -> MaterializeResult:
    crawl = context.partition_key
    base = crawl_source.base_for(crawl)
    listing = read_listing(base, crawl, config.kind)
    chosen = select_paths(listing, Selection(config.selection, config.n_files, config.seed))
    uris = [join_uri(base, p) for p in chosen]
    session = spark.session()
    if config.reset:
        manifest_job.reset_partition(session, lake.uri, crawl)
    counts = manifest_job.register_files(session, lake.uri, crawl, uris, config.kind)
    context.log.info(f"{crawl}: {len(listing)} files listed, {len(uris)} selected, {counts}")
    return MaterializeResult(metadata={
        "listed_files": len(listing),
        **counts,
        "base": base,
        "table": MetadataValue.path(lake.table(MANIFEST)),
        "first_files": MetadataValue.md("\n".join(f"- `{p}`" for p in chosen[:10])),
    })


class BronzeConfig(Config):
    extractor: str = Field(default="resiliparse",
                           description="resiliparse (main content, fast) or trafilatura (FineWeb).")
    max_payload_bytes: int = Field(default=5_000_000, description="Larger payloads are skipped.")
    max_failed_file_share: float = Field(
        default=0.1, description="Fail the asset when more than this share of files fails.")
    reprocess: bool = Field(default=False, description="Redo files already marked done.")


@asset(
    partitions_def=crawl_partitions,
    deps=[warc_manifest],
    group_name="ingest",
    kinds={"spark", "delta"},
    pool="spark",
    check_specs=[AssetCheckSpec("bronze_counts_match_manifest", asset="bronze_documents")],
    description="Documents extracted from the crawl's files (Delta `bronze/documents`), "
                "failures in `bronze/errors`.",
)
def bronze_documents(
    context: AssetExecutionContext, config: BronzeConfig, spark: SparkResource, lake: LakeResource,
):
    crawl = context.partition_key
    session = spark.session()
    paths = manifest_job.files_to_process(session, lake.uri, crawl, config.reprocess)
    context.log.info(f"{crawl}: {len(paths)} files to extract")
    extraction = ExtractionConfig(extractor=config.extractor,
                                  max_payload_bytes=config.max_payload_bytes)
    with report_progress(session, context.log.info, f"bronze {crawl}"):
        result = run_bronze(session, lake.uri, crawl, paths, extraction)
    manifest_job.record_outcomes(session, lake.uri, crawl, result.outcomes)
    for path in result.failed_files:
        context.log.warning(f"{crawl}: file failed: {path}")
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
    table_rows, manifest_docs = bronze_balance(session, lake.uri, crawl)
    yield MaterializeResult(
        metadata={
            "files_processed": result.files,
            "files_failed": len(result.failed_files),
            "documents": result.documents,
            "errors": result.errors,
            "characters": result.chars,
            "seconds": round(result.seconds, 2),
            "documents_per_second": round(rate, 1),
            "rows_in_partition": table_rows,
            "skipped_by_reason": MetadataValue.md(counts_table(result.skipped)),
            "errors_by_reason": MetadataValue.md(counts_table(result.errors_by_reason)),
            "record_funnel": bar_chart_markdown(
                {"documents": result.documents, **result.skipped, **result.errors_by_reason},
                f"{crawl}: records by outcome"),
            "table": MetadataValue.path(lake.table(BRONZE_DOCUMENTS)),
            "errors_table": MetadataValue.path(lake.table(BRONZE_ERRORS)),
        }
    )
    yield AssetCheckResult(
        check_name="bronze_counts_match_manifest",
        passed=table_rows == manifest_docs,
        metadata={"rows_in_bronze": table_rows, "documents_in_manifest": manifest_docs},
    )


"""`silver_documents`: language ID, URL and quality filters (FineWeb recipe), rejects kept."""
from dagster import (
    AssetCheckResult, AssetCheckSpec, AssetExecutionContext, Config, MaterializeResult,
    MetadataValue, asset,
)
from typing import Literal

from pydantic import Field

from assets.metadata import bar_chart_markdown, counts_table
from contract.tables import SILVER_DOCUMENTS, SILVER_REJECTS
from resources.partitions import crawl_partitions
from resources import LakeResource, SparkResource
from spark_jobs.progress import report_progress
from spark_jobs.silver import run_silver, silver_balance
from core.filters.config import chain_config


class SilverConfig(Config):
    # Each step of datatrove's examples/fineweb.py order; false switches it off.
    url_filter: bool = True
    language_filter: bool = True
    gopher_repetition: bool = True
    gopher_quality: bool = True
    c4: bool = True
    fineweb_quality: bool = True
    pii: bool = True
    languages: list[str] = Field(
        default=["en"], description="Languages kept (FineWeb: English). Empty list: keep all.")
    language_threshold: float = Field(
        default=0.65, description="Minimum fastText score (datatrove LanguageFilter 0.65).")
    language_thresholds: dict[str, float] = Field(
        default={}, description="Per-language minimum scores (FineWeb-2 style).")
    lid_model_path: str = Field(
        default="", description="fastText LID model (lid.176.bin, GlotLID); empty: lid.176.ftz.")
    url_blocklists: dict[str, list[str]] = Field(
        default={}, description="Extra URL lists: banned_domains_paths, banned_urls_paths, "
                                "banned_words_paths, soft_banned_words_paths, banned_subwords_paths.")
    url_domain_rule: Literal["datatrove", "parents"] = Field(
        default="datatrove",
        description="datatrove: the registered domain and the full host are looked up (FineWeb); "
                    "parents: also every parent domain of the host (UT1 lists many subdomains).")
    url_rule: Literal["datatrove", "host_path"] = Field(
        default="datatrove",
        description="datatrove: the URL list matches whole URLs as given (FineWeb); host_path: "
                    "host/path prefixes, as UT1 writes its URL list.")
    thresholds: dict[str, dict[str, float]] = Field(
        default={}, description="Filter parameter overrides, e.g. "
                                "{gopher_quality: {min_doc_words: 30}}.")
    language_overrides: dict[str, dict[str, dict[str, float]]] = Field(
        default={}, description="Per-language overrides, e.g. "
                                "{de: {gopher_quality: {max_avg_word_length: 12}}}.")

    def to_chain_config(self):
        return chain_config(
            enabled={"url": self.url_filter, "language": self.language_filter,
                     "gopher_repetition": self.gopher_repetition,
                     "gopher_quality": self.gopher_quality, "c4": self.c4,
                     "fineweb_quality": self.fineweb_quality, "pii": self.pii},
            languages=self.languages or None,
            language_threshold=self.language_threshold,
            language_thresholds=self.language_thresholds,
            lid_model_path=self.lid_model_path or None,
            url_blocklists={**self.url_blocklists, "domain_rule": self.url_domain_rule,
                            "url_rule": self.url_rule},
            thresholds=self.thresholds,
            language_overrides=self.language_overrides,
        )


def funnel_markdown(result) -> str:
    lines = ["| step | dropped | remaining | kept share |", "|---|---:|---:|---:|",
             f"| (bronze) | | {result.documents_in:,} | 100.0% |"]
    for step, dropped, remaining in result.funnel():
        share = remaining / result.documents_in if result.documents_in else 0.0
        lines.append(f"| {step} | {dropped:,} | {remaining:,} | {share:.1%} |")
    return "\n".join(lines)


@asset(
    partitions_def=crawl_partitions,
    deps=["bronze_documents"],
    group_name="silver",
    kinds={"spark", "delta"},
    pool="spark",
    # Blocking: dedup must not run on a silver partition that does not account for all of bronze.
    check_specs=[AssetCheckSpec("silver_counts_balance", asset="silver_documents", blocking=True)],
    description="Documents kept by URL, language, Gopher, C4 and FineWeb filters with PII "
                "scrubbed (Delta `silver/documents`); every drop in `silver/rejects` with its reason.",
)
def silver_documents(context: AssetExecutionContext, config: SilverConfig, spark: SparkResource,
                     lake: LakeResource):
    crawl = context.partition_key
    session = spark.session()
    chain = config.to_chain_config()
    with report_progress(session, context.log.info, f"silver {crawl}"):
        result = run_silver(session, lake.uri, crawl, chain)
    rate = result.documents_in / result.seconds if result.seconds else 0.0
    context.log.info(f"{crawl}: {result.kept} of {result.documents_in} documents kept, "
                     f"{result.rejected} rejected in {result.seconds:.1f}s ({rate:.0f} docs/s)")
    balance = silver_balance(session, lake.uri, crawl)
    yield MaterializeResult(metadata={
        "documents_in": result.documents_in,
        "kept": result.kept,
        "rejected": result.rejected,
        "keep_rate": round(result.kept / result.documents_in, 4) if result.documents_in else 0.0,
        "seconds": round(result.seconds, 2),
        "documents_per_second": round(rate, 1),
        "funnel": MetadataValue.md(funnel_markdown(result)),
        "rejects_by_reason": MetadataValue.md(counts_table(result.by_reason,
                                                           total=result.documents_in)),
        "kept_by_language": MetadataValue.md(counts_table(result.by_language, "language")),
        "funnel_chart": bar_chart_markdown(
            {"kept": result.kept, **result.by_reason}, f"{crawl}: silver outcome by reason"),
        "table": MetadataValue.path(lake.table(SILVER_DOCUMENTS)),
        "rejects_table": MetadataValue.path(lake.table(SILVER_REJECTS)),
    })
    yield AssetCheckResult(
        check_name="silver_counts_balance",
        passed=balance["bronze"] == balance["silver"] + balance["rejects"],
        metadata={k: v for k, v in balance.items()},
    )

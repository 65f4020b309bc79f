"""`silver_documents`: language ID, URL and quality filters (FineWeb recipe, or FineWeb2's with
`preset: fineweb2`), rejects kept."""
from dagster import (
    AssetCheckResult, AssetCheckSpec, AssetExecutionContext, Config, MaterializeResult,
    MetadataValue, asset,
)
from typing import Literal

from pydantic import Field

from assets.crawl_range import CRAWL_BACKFILL_POLICY, for_each_crawl
from assets.metadata import bar_chart_markdown, counts_table
from assets.stage_checks import (
    KEEP_RATE_MIN_DOCUMENTS, kept_removed_checks,
)
from contract.tables import SILVER_DOCUMENTS, SILVER_REJECTS, SILVER_REJECTS_SCHEMA, SILVER_SCHEMA
from resources.partitions import crawl_partitions
from resources import LakeResource, SparkResource
from spark_jobs.progress import report_progress
from spark_jobs.silver import run_silver, silver_balance
from spark_jobs.stage_tables import stage_tables
from core.filters.config import chain_config

PRESETS = ("fineweb", "fineweb2")


class SilverConfig(Config):
    preset: Literal["fineweb", "fineweb2"] = Field(
        default="fineweb",
        description="fineweb: FineWeb's English recipe (datatrove examples/fineweb.py). fineweb2: "
                    "FineWeb2's recipe for every language (huggingface/fineweb-2): GlotLID language "
                    "and script, per-language thresholds and word tokenizers, no C4, FTFY and "
                    "table-line fix; `languages`, `language_thresholds` and `language_overrides` "
                    "then take FineWeb2 names (fra_Latn); `language_threshold`, `thresholds` and "
                    "`c4` do not apply.")
    precision_wordlists_dir: str = Field(
        default="", description="fineweb2: directory of FineWeb2's precision word lists "
                                "(wordlists-0.85/<lang>.txt); empty: the precision filter is off.")
    # Each step of datatrove's examples/fineweb.py order; false switches it off.
    url_filter: bool = True
    language_filter: bool = True
    gopher_repetition: bool = True
    gopher_quality: bool = True
    c4: bool = True
    fineweb_quality: bool = True
    pii: bool = True
    languages: list[str] | None = Field(
        default=None, description="Languages kept; null: the preset's (fineweb: [en]; fineweb2: every "
                                  "language FineWeb2 has settings for). Empty list: keep all (fineweb).")
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
    # Check bounds (silver_keep_rate): kept / bronze documents. FineWeb's English recipe keeps
    # roughly a tenth of a crawl's pages (15T tokens from 96 crawls of 2-3.5B pages each, dedup
    # included): English is under half of Common Crawl, the Gopher, C4 and FineWeb filters drop a
    # large share of the rest. The real fixtures keep 3.6% (a 2016 WET sample of many languages).
    # Under 1% or over 80% means a filter that drops everything or lets everything through.
    # 0 and 1 turn a side off.
    min_keep_rate: float = Field(default=0.01, description="Check: least kept / bronze documents.")
    max_keep_rate: float = Field(default=0.8, description="Check: most kept / bronze documents.")
    keep_rate_min_documents: int = Field(
        default=KEEP_RATE_MIN_DOCUMENTS, description="Check: fewer bronze documents than this are not judged.")

    def to_chain_config(self):
        if self.preset == "fineweb2":
            return self._fineweb2_chain_config()
        return chain_config(
            enabled={"url": self.url_filter, "language": self.language_filter,
                     "gopher_repetition": self.gopher_repetition,
                     "gopher_quality": self.gopher_quality, "c4": self.c4,
                     "fineweb_quality": self.fineweb_quality, "pii": self.pii},
            languages=["en"] if self.languages is None else (self.languages or None),
            language_threshold=self.language_threshold,
            language_thresholds=self.language_thresholds,
            lid_model_path=self.lid_model_path or None,
            url_blocklists={**self.url_blocklists, "domain_rule": self.url_domain_rule,
                            "url_rule": self.url_rule},
            thresholds=self.thresholds,
            language_overrides=self.language_overrides,
        )

    def _fineweb2_chain_config(self):
        from core.filters.fineweb2.preset import fineweb2_chain_config
        from core.filters.url_filter import UrlFilterParams

        if self.thresholds:
            raise ValueError("preset fineweb2: `thresholds` does not apply, FineWeb2's params are per "
                             "language; use `language_overrides` ({fra_Latn: {gopher_quality: ...}})")
        url = chain_config(url_blocklists={**self.url_blocklists, "domain_rule": self.url_domain_rule,
                                           "url_rule": self.url_rule}).params["url"]
        return fineweb2_chain_config(
            languages=self.languages or None,
            lid_model_path=self.lid_model_path or None,
            language_thresholds=self.language_thresholds,
            wordlists_dir=self.precision_wordlists_dir or None,
            url_params=url if isinstance(url, UrlFilterParams) else None,
            enabled={"url": self.url_filter, "language": self.language_filter,
                     "gopher_repetition": self.gopher_repetition,
                     "gopher_quality": self.gopher_quality,
                     "fineweb_quality": self.fineweb_quality, "pii": self.pii},
            language_overrides=self.language_overrides,
        )


def preset_metadata(config: SilverConfig, chain) -> dict:
    """What the run's preset means: FineWeb2's model, languages and precision filter state."""
    if config.preset != "fineweb2":
        return {"preset": "fineweb"}
    from core.filters.fineweb2.preset import describe

    return describe(chain)


def derived_thresholds_markdown(derived: dict[str, dict]) -> str:
    lines = ["LID thresholds derived from this crawl (FineWeb2's rule: max(0.3, min(0.9, median - "
             "stddev)) of the language's scores; the floor 0.3 without documents):", "",
             "| language | threshold | median | stddev | documents |", "|---|---:|---:|---:|---:|"]
    for language, d in sorted(derived.items()):
        median = "" if d["median"] is None else f"{d['median']:.4f}"
        std = "" if d["std"] is None else f"{d['std']:.4f}"
        lines.append(f"| {language} | {d['threshold']:.4f} | {median} | {std} | {d['n_docs']:,} |")
    return "\n".join(lines)


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
    backfill_policy=CRAWL_BACKFILL_POLICY,
    # Blocking: dedup must not run on a silver partition that does not account for all of bronze,
    # breaks the contract, keeps or rejects a document twice, or kept an implausible share.
    check_specs=[AssetCheckSpec(name, asset="silver_documents", blocking=True) for name in (
        "silver_counts_balance", "silver_schema", "silver_unique_doc_id", "silver_keep_rate")],
    description="Documents kept by URL, language, Gopher, C4 and FineWeb filters with PII "
                "scrubbed (Delta `silver/documents`); every drop in `silver/rejects` with its reason.",
)
def silver_documents(context: AssetExecutionContext, config: SilverConfig, spark: SparkResource,
                     lake: LakeResource):
    yield from for_each_crawl(context, lambda crawl: _silver_of_crawl(context, config, spark, lake, crawl))


def _silver_of_crawl(context, config: SilverConfig, spark: SparkResource, lake: LakeResource, crawl: str):
    session = spark.session()
    chain = config.to_chain_config()
    preset = preset_metadata(config, chain)
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
        "kept_by_language_chart": bar_chart_markdown(
            dict(sorted(result.by_language.items(), key=lambda kv: -kv[1])[:30]),
            f"{crawl}: documents kept per language (top 30)"),
        "documents_by_word_tokenizer": MetadataValue.md(
            counts_table(result.by_word_tokenizer, "word tokenizer (fallbacks named)")),
        "word_tokenizer_fallbacks": sum(n for name, n in result.by_word_tokenizer.items()
                                        if "fallback" in name),
        "derived_language_thresholds": MetadataValue.md(
            derived_thresholds_markdown(result.derived_thresholds) if result.derived_thresholds
            else "none: every kept language has a configured threshold"),
        **{k: (MetadataValue.text(v) if isinstance(v, str) else MetadataValue.json(v))
           for k, v in preset.items()},
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
    yield from silver_table_checks(session, lake.uri, crawl, config)


def silver_table_checks(session, lake_uri: str, crawl: str, config: SilverConfig):
    tables = stage_tables(session, lake_uri, crawl, (SILVER_DOCUMENTS, SILVER_SCHEMA),
                          (SILVER_REJECTS, SILVER_REJECTS_SCHEMA))
    yield from kept_removed_checks("silver", tables, config, "silver/documents", "silver/rejects")

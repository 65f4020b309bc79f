"""`preselect_model` on Ray: sample a crawl's documents, bits per character under a reference family,
predictive strength, balanced labels, a fastText classifier with `</s>` zeroed, stored under the lake.

1. Before any work: the family is validated on the driver (at least 3 models, benchmark scores
   without ties, unique names, every model path present and well-formed: `validate_family`).
2. The sample (`sample`) is drawn; its doc_ids and the configuration give the model id. When a
   complete model with that id is in the store and `reuse` is set, it is used as it is.
3. BPC runs in an actor pool (`bpc.FamilyBpc`, a GPU per actor when the cluster has GPUs); the
   driver streams the results back and logs progress.
4. One Ray task trains the classifier (`core.preselect.train.train_preselect`) in a temporary
   directory of its node and publishes it to the store (`model_store`), which also moves
   `latest.json`. Nothing is written to the store before training succeeded.
"""
from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from core.preselect.bpc import BpcParams
from core.preselect.reference_models import ReferenceModelSpec, validate_family
from core.preselect.train import TrainParams, train_preselect
from gpu_jobs.cluster import leave_cpus_for_reads, plan_actors, s3_task_options
from gpu_jobs.preselect.bpc import FamilyBpc
from gpu_jobs.preselect.model_store import (
    MODEL_FILE, find_model, model_dir_uri, model_id_for, publish_model, set_latest,
)
from gpu_jobs.preselect.sample import sample_documents, sample_ids


@dataclass(frozen=True)
class TrainingConfig:
    family: tuple[ReferenceModelSpec, ...]
    sample_size: int = 128  # embedded default kept small for `make run` (paper: ~400k labelled documents)
    max_chars: int | None = 1000  # characters of each sampled document used (None: whole documents, as released)
    seed: int = 0  # sample and label tie-breaking
    bpc: BpcParams = BpcParams()
    train: TrainParams = field(default_factory=TrainParams)
    use_gpu: str = "auto"  # auto | never | always (gpu_jobs.cluster.plan_actors)
    cpus_per_actor: float = 1.0
    max_actors: int | None = None
    batch_size: int = 16  # documents per BPC actor call
    reuse: bool = True  # a complete model with the same id (same sample, same settings) is not trained again

    def fingerprint(self) -> dict:
        """Everything that changes the trained model (not how it is computed: actors, batches, reuse)."""
        return {"family": [dataclasses.asdict(s) for s in self.family], "max_chars": self.max_chars,
                "seed": self.seed, "bpc": {k: v for k, v in dataclasses.asdict(self.bpc).items()
                                           if k in ("block_size", "stride", "max_chars")},
                "train": dataclasses.asdict(self.train)}


@dataclass(frozen=True)
class TrainingResult:
    crawl: str
    model_id: str
    entry: dict  # the store entry: model_uri, report_uri, sha256_16, ...
    report: dict  # the training report (core TrainReport + sample and family)
    reused: bool
    n_sampled: int
    n_tokens: int  # tokens scored over all models
    seconds: dict[str, float]


def check_config(config: TrainingConfig) -> None:
    """Refuse a configuration that cannot train, before any work (paths, ranking, sizes)."""
    validate_family(config.family)
    if config.sample_size < 2:
        raise ValueError(f"sample_size must be >= 2 (one document per class at least), got {config.sample_size}")
    if config.max_chars is not None and config.max_chars < 1:
        raise ValueError(f"max_chars must be >= 1 or None, got {config.max_chars}")
    if config.batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {config.batch_size}")


def _collect_bpc(dataset, n_expected: int, n_models: int, log: Callable[[str], None]):
    ids, texts, rows, n_scored = [], [], [], 0
    last_log = time.monotonic()
    for batch in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
        ids += batch.column("doc_id").to_pylist()
        texts += batch.column("text").to_pylist()
        rows += batch.column("bpc").to_pylist()
        n_scored += int(sum(batch.column("n_scored").to_pylist()))
        if time.monotonic() - last_log > 10 or len(ids) == n_expected:
            log(f"bits per character: {len(ids)}/{n_expected} documents, {n_scored} tokens scored")
            last_log = time.monotonic()
    losses = np.array(rows, dtype=np.float64).reshape(len(ids), n_models)
    return ids, texts, losses, n_scored


def _train_and_publish(lake_uri: str, model_id: str, crawl: str, ids: list[str], texts: list[str], losses: np.ndarray,
                       specs: Sequence[ReferenceModelSpec], params: TrainParams, extra: dict) -> tuple[dict, dict]:
    """Runs as one Ray task: train in a temporary directory, then publish to the store."""
    with tempfile.TemporaryDirectory(prefix="preselect-train-") as directory:
        local = os.path.join(directory, MODEL_FILE)
        report = train_preselect(ids, texts, losses, [s.name for s in specs], [s.benchmark_score for s in specs],
                                 local, params).as_dict()
        report = {**report, **extra, "model_path": f"{model_dir_uri(lake_uri, model_id)}/{MODEL_FILE}"}
        entry = publish_model(lake_uri, model_id, local, report, crawl)
    return report, entry


def run_preselect_training(lake_uri: str, crawl: str, config: TrainingConfig,
                           log: Callable[[str], None] = print) -> TrainingResult:
    """Train (or reuse) the PreSelect classifier of a sample of `crawl` (see module doc)."""
    import ray

    check_config(config)
    started = time.monotonic()
    seconds: dict[str, float] = {}
    chosen = sample_ids(lake_uri, crawl, config.sample_size, config.seed)
    if len(chosen) < 2:
        raise ValueError(f"{crawl}: dedup/documents has {len(chosen)} document(s); training needs at least 2")
    model_id = model_id_for(config.fingerprint(), chosen)
    seconds["sample"] = time.monotonic() - started
    stored = find_model(lake_uri, model_id) if config.reuse else None
    if stored is not None:
        log(f"{crawl}: model {model_id} was trained on this sample with these settings; reusing it")
        set_latest(lake_uri, stored["store"])
        return TrainingResult(crawl, model_id, stored["store"], stored, True, len(chosen), 0,
                              {**seconds, "total": time.monotonic() - started})
    plan = plan_actors(config.use_gpu, config.max_actors, config.cpus_per_actor)
    log(f"{crawl}: {len(chosen)} documents sampled; bits per character under {len(config.family)} reference "
        f"models on {plan.actors} {plan.device} actor(s)")
    mark = time.monotonic()
    # The sample is small and often one file: cut it into batch-size blocks so every actor gets work.
    documents = sample_documents(lake_uri, crawl, chosen, config.max_chars).repartition(
        max(1, -(-len(chosen) // config.batch_size)))
    bpc = documents.map_batches(FamilyBpc, fn_constructor_args=(config.family, config.bpc, plan.device),
                                batch_format="pyarrow", batch_size=config.batch_size,
                                **leave_cpus_for_reads(plan).map_batches_args())
    ids, texts, losses, n_tokens = _collect_bpc(bpc, len(chosen), len(config.family), log)
    seconds["bpc"] = time.monotonic() - mark
    mark = time.monotonic()
    extra = {"crawl": crawl, "model_id": model_id, "n_sampled": len(ids), "sample_max_chars": config.max_chars,
             "family": [dataclasses.asdict(s) for s in config.family], "bpc_params": dataclasses.asdict(config.bpc),
             "tokens_scored": n_tokens, "bpc_seconds": round(seconds["bpc"], 2)}
    task = ray.remote(_train_and_publish).options(num_cpus=config.train.fasttext.thread,
                                                  **s3_task_options(lake_uri))
    report, entry = ray.get(task.remote(lake_uri, model_id, crawl, ids, texts, losses, config.family,
                                        config.train, extra))
    seconds["train"] = time.monotonic() - mark
    seconds["total"] = time.monotonic() - started
    log(f"{crawl}: model {model_id} trained in {seconds['train']:.1f}s, held-out accuracy "
        f"{report['holdout_accuracy']}, stored at {entry['model_uri']}")
    return TrainingResult(crawl, model_id, entry, report, False, len(ids), n_tokens, seconds)

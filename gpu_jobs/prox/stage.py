"""The `refined_documents` stage: a crawl's documents through ProX on a Ray actor pool, into Delta.

1. Inputs (`inputs.resolve_inputs`): dedup/documents of the crawl, and scores/preselect when only
   selected documents enter; model paths checked before any work.
2. Refine: the crawl's (doc_id, text) rows stream through `actor.RefineAndWrite` actors (one GPU
   each when the cluster has GPUs, else CPU actors), which write part files of both tables.
3. Before anything is committed, the part files must account for every document that entered
   (programs rows == entered, documents rows == entered - dropped); otherwise the run fails.
4. Commit refined/programs, then refined/documents, each one Delta transaction replacing the
   crawl's partition. Both carry the run id: if the process dies between the two commits, the
   tables disagree on it, the stage's blocking check says so, and a rerun replaces both.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

from contract.tables import (REFINED_DOCUMENTS, REFINED_DOCUMENTS_SCHEMA, REFINED_PROGRAMS,
                             REFINED_PROGRAMS_SCHEMA, table_uri)
from core.prox.backends.spec import VLLM
from core.prox.stats import RefinementStats, merge_stats
from gpu_jobs import delta_io
from gpu_jobs.cluster import ActorPlan, cluster_gpus, leave_cpus_for_reads, plan_actors, s3_task_options
from gpu_jobs.prox.actor import DOCUMENTS, PROGRAMS, RefineAndWrite
from gpu_jobs.prox.config import RefinementStageConfig
from gpu_jobs.prox.inputs import RefinementInputs, keep_doc_ids, resolve_inputs


@dataclass(frozen=True)
class RefinementStageResult:
    crawl: str
    run_id: str
    inputs: RefinementInputs
    stats: RefinementStats
    documents_rows: int
    programs_rows: int
    backend: str
    plan: ActorPlan
    versions: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def actor_plan(config: RefinementStageConfig) -> ActorPlan:
    """GPU actors when the cluster has GPUs (and use_gpu allows); CPU actors ask Ray for a bit less
    than their CPU so that reads always find one (`leave_cpus_for_reads`; one actor per CPU held every
    CPU of a 1-CPU cluster and hung). vLLM without a GPU is refused here, before work."""
    gpus = cluster_gpus()
    if config.backend.kind == VLLM and (gpus < 1 or config.use_gpu == "never"):
        raise RuntimeError("backend 'vllm' needs a GPU per actor, but the Ray cluster has "
                           f"{gpus:g} GPUs (use_gpu={config.use_gpu!r}): choose backend 'transformers' to "
                           "run on CPUs")
    return leave_cpus_for_reads(plan_actors(config.use_gpu, config.max_actors, config.cpus_per_actor))


def _commit(uri: str, crawl: str, schema, manifest: list[dict], table: str, run_id: str) -> int:
    files = [delta_io.WrittenFile(row["path"], row["size"], row["rows"]) for row in manifest if row["table"] == table]
    return delta_io.commit_partition(uri, crawl, schema, files, description=f"refined_documents {run_id}")


def run_refined_documents(lake_uri: str, crawl: str, config: RefinementStageConfig = RefinementStageConfig(),
                          log: Callable[[str], None] = lambda message: None) -> RefinementStageResult:
    start = time.perf_counter()
    inputs = resolve_inputs(lake_uri, crawl, config.entering)
    config.backend.validate(config.refinement.doc_stage, config.refinement.chunk_stage)
    plan = actor_plan(config)
    run_id = uuid.uuid4().hex
    uris = {PROGRAMS: table_uri(lake_uri, REFINED_PROGRAMS), DOCUMENTS: table_uri(lake_uri, REFINED_DOCUMENTS)}
    log(f"{crawl}: {inputs.entered} of {inputs.crawl_documents} documents enter refinement "
        f"(entering={inputs.entering}); backend {config.backend.kind}, {plan.actors} actor(s) on {plan.device}; "
        f"run {run_id}")

    ds = delta_io.read_partition(inputs.documents_uri, crawl, ["doc_id", "text"])
    if inputs.entering_ids is not None:
        ds = ds.map_batches(keep_doc_ids, fn_kwargs={"doc_ids": inputs.entering_ids},
                            batch_format="pyarrow")
    manifest = ds.map_batches(
        RefineAndWrite, batch_size=config.batch_size, batch_format="pyarrow",
        fn_constructor_kwargs=dict(backend=config.backend, params=config.refinement, crawl=crawl, run_id=run_id,
                                   programs_uri=uris[PROGRAMS], documents_uri=uris[DOCUMENTS]),
        **plan.map_batches_args(), **s3_task_options(lake_uri)).take_all()

    stats = merge_stats(RefinementStats.from_json(row["stats"]) for row in manifest if row["stats"])
    rows = {table: sum(r["rows"] for r in manifest if r["table"] == table) for table in uris}
    _check_accounted(crawl, inputs, stats, rows)
    versions = {REFINED_PROGRAMS: _commit(uris[PROGRAMS], crawl, REFINED_PROGRAMS_SCHEMA, manifest, PROGRAMS, run_id)}
    versions[REFINED_DOCUMENTS] = _commit(uris[DOCUMENTS], crawl, REFINED_DOCUMENTS_SCHEMA, manifest, DOCUMENTS, run_id)
    backend = next((row["backend"] for row in manifest), config.backend.kind)
    return RefinementStageResult(crawl, run_id, inputs, stats, rows[DOCUMENTS], rows[PROGRAMS], backend, plan,
                                 versions, time.perf_counter() - start)


def _check_accounted(crawl: str, inputs: RefinementInputs, stats: RefinementStats, rows: dict) -> None:
    """Every document that entered has a program row, and a document row unless dropped."""
    expected = {PROGRAMS: inputs.entered, DOCUMENTS: inputs.entered - stats.dropped}
    if stats.entered != inputs.entered or rows != expected:
        raise RuntimeError(f"refined_documents {crawl}: {inputs.entered} documents entered but the actors "
                           f"refined {stats.entered} and wrote {rows} rows (expected {expected}); "
                           "nothing was committed")

"""`quality_scores` on Ray: a crawl's dedup documents scored by a fastText classifier, selected, committed.

1. The classifier is checked on the driver before any work (`check_classifier_file`: it exists, is
   a complete supervised fastText model and knows the positive label), and its digest taken.
2. `dedup/documents` of the crawl is scored by a pool of actors (`gpu_jobs.actor_pool`, one model
   load per actor; fastText is CPU only, so no GPU is asked for) over the partition's Parquet row
   groups (listed from the Delta log and the files' footers): each actor reads its row groups itself
   (doc_id, text; `batch_size` rows per `FastTextScorer` call). Each actor reads a local model path
   directly and downloads a URI once. Not `ray.data` (`read_parquet` + `map_batches`): on one core
   its footer-reading actors, read tasks, object-store hop of every text and streaming executor made
   the stage take twice the time of fastText alone (BENCHMARKS.md, PreSelect).
3. The scores are kept in the object store; selection runs over all of them (`selection`).
4. The marked rows are written as Parquet files by the workers and committed in ONE Delta
   transaction that replaces the crawl's partition of `scores/preselect`; anything that fails
   before the commit leaves the table as it was.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from contract.tables import DEDUP_DOCUMENTS, SCORES_PRESELECT, SCORES_PRESELECT_SCHEMA, table_uri
from core.preselect.select import SelectParams, check_classifier_file, load_classifier, score_texts
from gpu_jobs import delta_io
from gpu_jobs.actor_pool import map_on_actor_pool
from gpu_jobs.cluster import ActorPlan, leave_cpus_for_reads, plan_actors, s3_task_options
from gpu_jobs.preselect.model_store import file_digest, localize
from gpu_jobs.preselect.selection import ScoreSummary, SelectionMarker, SelectionRule, count_selected, summarize

SCORED_SCHEMA = pa.schema([("doc_id", pa.string()), ("score", pa.float64()), ("n_chars", pa.int64())])


class FastTextScorer:
    """Ray actor for `map_batches`: loads the classifier once, then scores (doc_id, text) batches."""

    def __init__(self, model_uri: str, positive_label: str):
        self.model = load_classifier(localize(model_uri), positive_label)
        self.positive_label = positive_label

    def __call__(self, batch: pa.Table) -> pa.Table:
        text = batch.column("text")
        scores = score_texts(self.model, text, self.positive_label)
        n_chars = pc.fill_null(pc.utf8_length(text), 0).cast(pa.int64())
        return pa.table({"doc_id": batch.column("doc_id"), "score": scores, "n_chars": n_chars}, schema=SCORED_SCHEMA)


@dataclass(frozen=True)
class ScoringConfig:
    model_uri: str  # local path or URI of a supervised fastText classifier
    select: SelectParams = SelectParams()
    batch_size: int = 512  # documents per actor call (fastText predict is one call per batch)
    cpus_per_actor: float = 1.0  # fastText predicts on one thread
    max_actors: int | None = None  # None: one actor per CPU slot of the cluster
    histogram_bins: int = 20
    sort_in_ray_above: int = 1_000_000  # partitions with more documents are sorted by Ray, not on the driver


@dataclass(frozen=True)
class ScoringResult:
    crawl: str
    model_uri: str
    classifier: str  # sha256 (16 hex) of the model file
    labels: tuple[str, ...]
    summary: ScoreSummary
    rule: SelectionRule
    n_selected: int
    selected_chars: int
    rows_written: int
    actors: int
    seconds: dict[str, float]

    @property
    def doc_share(self) -> float:
        return self.n_selected / self.summary.n_documents if self.summary.n_documents else 0.0

    @property
    def char_share(self) -> float:
        return self.selected_chars / self.summary.total_chars if self.summary.total_chars else 0.0


class RowGroupScorer:
    """An actor of the scoring pool: makes `scorer` once (one model load), then reads and scores row
    groups of the partition itself (doc_id, text; `batch_size` rows per scorer call)."""

    def __init__(self, scorer, model_uri: str, positive_label: str, filesystem, batch_size: int):
        self.scorer = scorer(model_uri, positive_label)
        self.filesystem, self.batch_size = filesystem, batch_size

    def score(self, group: delta_io.RowGroup) -> pa.Table:
        scored = [self.scorer(batch) for batch in
                  delta_io.read_row_group(self.filesystem, group, ["doc_id", "text"], self.batch_size)]
        return pa.concat_tables(scored) if scored else SCORED_SCHEMA.empty_table()


def score_partition(documents_uri: str, crawl: str, config: ScoringConfig, plan: ActorPlan, scorer=FastTextScorer):
    """The crawl's (doc_id, score, n_chars) as a Ray Dataset over the object store, one block per row group."""
    import ray

    filesystem, groups = delta_io.partition_row_groups(documents_uri, crawl)
    if not groups:
        return ray.data.from_arrow(SCORED_SCHEMA.empty_table())
    args = (scorer, config.model_uri, config.select.positive_label, filesystem, config.batch_size)
    refs = map_on_actor_pool(RowGroupScorer, args, "score", groups, leave_cpus_for_reads(plan),
                             s3_task_options(config.model_uri))  # the actors fetch the classifier
    return ray.data.from_arrow_refs(refs)


def check_select_params(params: SelectParams) -> None:
    if params.threshold is None and params.char_share is None:
        raise ValueError("selection needs char_share or threshold")
    if params.threshold is None and not 0.0 <= params.char_share <= 1.0:
        raise ValueError(f"char_share must be within [0, 1], got {params.char_share}")
    if params.threshold is not None and not np.isfinite(params.threshold):
        raise ValueError(f"threshold must be a finite number, got {params.threshold}")


def run_quality_scores(lake_uri: str, crawl: str, config: ScoringConfig, log: Callable[[str], None] = print,
                       scorer=FastTextScorer) -> ScoringResult:
    """Score, select and commit one crawl's partition of `scores/preselect` (see module doc)."""
    check_select_params(config.select)
    local = localize(config.model_uri)
    info = check_classifier_file(local, config.select.positive_label)
    digest = file_digest(local)
    log(f"{crawl}: classifier {config.model_uri} ({info.size / 2**20:.1f} MiB, labels {list(info.labels)[:4]}, "
        f"sha256 {digest})")
    seconds: dict[str, float] = {}
    started = time.monotonic()
    plan = plan_actors("never", config.max_actors, config.cpus_per_actor)
    scored = score_partition(table_uri(lake_uri, DEDUP_DOCUMENTS), crawl, config, plan, scorer)
    seconds["score"] = time.monotonic() - started
    summary = summarize(scored, config.histogram_bins)
    log(f"{crawl}: scored {summary.n_documents} documents ({summary.total_chars} characters) on {plan.actors} "
        f"actor(s) in {seconds['score']:.1f}s")
    mark = time.monotonic()
    rule = SelectionRule.of(config.select, scored, summary, config.sort_in_ray_above)
    n_selected, selected_chars = count_selected(scored, rule)
    seconds["select"] = time.monotonic() - mark
    mark = time.monotonic()
    marked = scored.map_batches(SelectionMarker(rule, digest), batch_format="pyarrow")
    rows = delta_io.write_partition(marked, table_uri(lake_uri, SCORES_PRESELECT), crawl, SCORES_PRESELECT_SCHEMA,
                                    description=f"quality_scores {digest}")
    seconds["write"] = time.monotonic() - mark
    seconds["total"] = time.monotonic() - started
    log(f"{crawl}: selected {n_selected} documents ({selected_chars} characters), threshold "
        f"{rule.threshold_used}; committed {rows} rows in {seconds['total']:.1f}s")
    return ScoringResult(crawl, config.model_uri, digest, info.labels, summary, rule, n_selected, selected_chars,
                         rows, plan.actors, seconds)

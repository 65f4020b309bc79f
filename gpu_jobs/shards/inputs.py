"""The input tables of the training-shard stage, as the configuration requires them.

| configuration | wide table (tokenized text) | narrow tables joined by doc_id |
|---|---|---|
| use_refined: false | dedup/documents (text, dup_count, language) | scores/preselect (score, selected) if the selection needs it |
| use_refined: true | refined/documents (text, action) | dedup/documents (dup_count, language) + scores/preselect if needed |

The wide table streams through the Ray actors; the narrow ones are read on the driver and sent to
every actor once. A table the configuration needs is an error when it does not exist or has no rows
for the crawl (naming the table, its location and the asset that writes it), never a silent
fallback to "all documents". dedup/documents is always read narrow as well: it is the list of the
crawl's documents that every document of shards/documents is accounted against.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from contract.tables import (DEDUP_DOCUMENTS, DEDUP_SIGNATURES, REFINED_DOCUMENTS, SCORES_PRESELECT)
from core.shards.doc_index import DocIndex, take_or_null
from gpu_jobs import delta_io
from gpu_jobs.shards.config import ShardStageConfig

WRITTEN_BY = {DEDUP_DOCUMENTS: "dedup_documents", DEDUP_SIGNATURES: "dedup_documents",
              SCORES_PRESELECT: "quality_scores", REFINED_DOCUMENTS: "refined_documents"}


MissingInputError = delta_io.MissingInputError  # raised by require_partition


@dataclass(frozen=True)
class StageInputs:
    wide_uri: str  # table whose text is tokenized
    wide_table: str
    wide_columns: tuple[str, ...]
    side: pa.Table | None  # narrow columns joined to the wide rows by doc_id
    documents: pa.Table  # dedup/documents: doc_id of every document of the crawl
    refined: bool


def require_partition(lake_uri: str, table: str, crawl: str, why: str) -> str:
    """The table's URI; MissingInputError when it does not exist or has no rows for the crawl."""
    return delta_io.require_partition(lake_uri, table, crawl, "training_shards", why, WRITTEN_BY.get(table, table))


def resolve_inputs(lake_uri: str, crawl: str, config: ShardStageConfig) -> StageInputs:
    dedup_uri = require_partition(lake_uri, DEDUP_DOCUMENTS, crawl, "the crawl's documents")
    if config.order == "related":  # read after tokenization; checked now, before any work
        require_partition(lake_uri, DEDUP_SIGNATURES, crawl, "order=related")
    scores = None
    if config.needs_scores:
        scores_uri = require_partition(lake_uri, SCORES_PRESELECT, crawl, f"selection={config.selection}")
        scores = delta_io.read_partition_table(scores_uri, crawl, ["doc_id", "score", "selected"])
    if not config.use_refined:
        documents = delta_io.read_partition_table(dedup_uri, crawl, ["doc_id"])
        return StageInputs(dedup_uri, DEDUP_DOCUMENTS, ("doc_id", "text", "dup_count", "language"), scores,
                           documents, refined=False)
    refined_uri = require_partition(lake_uri, REFINED_DOCUMENTS, crawl, "use_refined=true")
    documents = delta_io.read_partition_table(dedup_uri, crawl, ["doc_id", "dup_count", "language"])
    side = documents if scores is None else join_by_doc_id(documents, scores, ["score", "selected"])
    return StageInputs(refined_uri, REFINED_DOCUMENTS, ("doc_id", "text", "action"), side,
                       documents.select(["doc_id"]), refined=True)


def join_by_doc_id(left: pa.Table, right: pa.Table, columns: list[str]) -> pa.Table:
    """`left` with `right`'s columns for the same doc_id (nulls where right has no row)."""
    rows = DocIndex(right.column("doc_id"), name="scores/preselect").rows(left.column("doc_id"))
    taken = take_or_null(right.select(columns), rows)
    for name in columns:
        left = left.append_column(name, taken.column(name))
    return left


def read_signatures(lake_uri: str, crawl: str, doc_ids: pa.Array) -> tuple[np.ndarray, int]:
    """MinHash signatures (uint64 [n, width]) of the given documents from dedup/signatures, in
    their order, and how many documents had none (no stored row, or a null one for a text without
    word 5-grams): their rows are empty signatures, which have no neighbours."""
    from core.dedup.minhash import EMPTY_SIGNATURE_VALUE, MinHashParams, signatures_from_column

    uri = require_partition(lake_uri, DEDUP_SIGNATURES, crawl, "order=related")
    stored = delta_io.read_partition_table(uri, crawl, ["doc_id", "minhash"])
    # documents without shingles are stored with a null signature: keep only the others
    stored = stored.filter(stored.column("minhash").is_valid())
    signatures = signatures_from_column(stored.column("minhash"))
    rows = DocIndex(stored.column("doc_id"), name=DEDUP_SIGNATURES).rows(doc_ids)
    width = signatures.shape[1] if signatures.shape[0] else MinHashParams().num_perm
    out = np.full((len(doc_ids), width), EMPTY_SIGNATURE_VALUE, np.uint64)
    found = rows >= 0
    out[found] = signatures[rows[found]]
    return out, int((~found).sum())

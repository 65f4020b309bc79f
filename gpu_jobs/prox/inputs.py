"""Which documents enter refinement: every document of the crawl's dedup/documents, or (entering =
selected) only those PreSelect selected in scores/preselect.

A table the configuration needs is an error when it does not exist or has no rows for the crawl,
naming the table, where it was looked for and the asset that writes it; `selected` never falls
back to "all". The doc_id columns are read on the driver (narrow) and checked: a null or
repeated doc_id in dedup/documents, a repeated doc_id in scores/preselect, or a score for a
document that dedup/documents of the crawl does not have (stale scores) is an error too.
Documents without a score row or with a null `selected` do not enter; they are counted (`unscored`).
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from contract.tables import DEDUP_DOCUMENTS, SCORES_PRESELECT
from gpu_jobs import delta_io
from gpu_jobs.prox.config import ALL, SELECTED

WRITTEN_BY = {DEDUP_DOCUMENTS: "dedup_documents", SCORES_PRESELECT: "quality_scores"}


MissingInputError = delta_io.MissingInputError  # raised by require_partition


class BadInputError(ValueError):
    """An input table breaks the contract (null or repeated doc_id, stale scores)."""


@dataclass(frozen=True)
class RefinementInputs:
    documents_uri: str  # dedup/documents
    crawl_documents: int  # rows of dedup/documents for the crawl
    entering: str
    entering_ids: pa.Array | None  # doc_ids that enter; None: all of them
    not_selected: int  # entering = selected: documents PreSelect did not select
    unscored: int  # entering = selected: documents without a score row or with a null selected

    @property
    def entered(self) -> int:
        return self.crawl_documents if self.entering_ids is None else len(self.entering_ids)


def require_partition(lake_uri: str, table: str, crawl: str, why: str) -> str:
    """The table's URI; MissingInputError when it does not exist or has no rows for the crawl."""
    return delta_io.require_partition(lake_uri, table, crawl, "refined_documents", why, WRITTEN_BY.get(table, table))


def _check_ids(ids: pa.ChunkedArray, table: str, crawl: str) -> None:
    if ids.null_count:
        raise BadInputError(f"{table} of {crawl} has {ids.null_count} rows with a null doc_id")
    counts = pc.value_counts(ids)
    repeated = pc.filter(counts, pc.greater(counts.field("counts"), 1))
    if len(repeated):
        example = repeated[0]["values"].as_py()
        raise BadInputError(f"{table} of {crawl} has {len(repeated)} repeated doc_ids (e.g. {example!r})")


def resolve_inputs(lake_uri: str, crawl: str, entering: str = ALL) -> RefinementInputs:
    documents_uri = require_partition(lake_uri, DEDUP_DOCUMENTS, crawl, "the crawl's documents")
    ids = delta_io.read_partition_table(documents_uri, crawl, ["doc_id"]).column("doc_id")
    _check_ids(ids, DEDUP_DOCUMENTS, crawl)
    if entering == ALL:
        return RefinementInputs(documents_uri, len(ids), ALL, None, 0, 0)
    if entering != SELECTED:
        raise ValueError(f"entering must be {ALL!r} or {SELECTED!r}, got {entering!r}")
    scores_uri = require_partition(lake_uri, SCORES_PRESELECT, crawl, "entering=selected")
    scores = delta_io.read_partition_table(scores_uri, crawl, ["doc_id", "selected"])
    _check_ids(scores.column("doc_id"), SCORES_PRESELECT, crawl)
    stale = pc.invert(pc.is_in(scores.column("doc_id"), value_set=ids.combine_chunks()))
    n_stale = pc.sum(stale).as_py() or 0
    if n_stale:
        example = pc.filter(scores.column("doc_id"), stale)[0].as_py()
        raise BadInputError(f"{SCORES_PRESELECT} of {crawl} scores {n_stale} documents that {DEDUP_DOCUMENTS} "
                            f"does not have (e.g. {example!r}): its scores are stale, rematerialize "
                            f"`quality_scores` for {crawl}")
    selected = scores.column("selected")
    entering_ids = pc.filter(scores.column("doc_id"), pc.fill_null(selected, False)).combine_chunks()
    not_selected = pc.sum(pc.invert(pc.fill_null(selected, True))).as_py() or 0
    unscored = len(ids) - len(entering_ids) - not_selected
    return RefinementInputs(documents_uri, len(ids), SELECTED, entering_ids, not_selected, unscored)


def keep_doc_ids(batch: pa.Table, doc_ids: pa.Array) -> pa.Table:
    """The rows of `batch` whose doc_id is in `doc_ids` (a Ray batch function)."""
    return batch.filter(pc.is_in(batch.column("doc_id"), value_set=doc_ids))

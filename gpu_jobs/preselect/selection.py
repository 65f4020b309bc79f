"""PreSelect's selection over a whole crawl partition in Ray, in bounded driver memory.

The scores of a partition are a Ray Dataset of (doc_id, score, n_chars). Three passes over it:

1. `summarize`: every block reduces to its counts (documents, characters, NaN scores, a histogram
   of the scores, the largest document); the driver adds the block summaries up.
2. `find_cut` (character-share rule only): Ray sorts the rows by score descending and doc_id
   ascending (a distributed sort: range partitions sampled from the blocks), and the driver reads
   the sorted blocks in order, one at a time, only until the kept documents reach the share
   (`core.preselect.select.find_share_cut`). A partition of up to `sort_in_ray_above` documents
   (1M by default) is sorted on the driver instead: Ray's shuffle costs seconds of task start-up
   that a small partition does not need. A fixed threshold needs no sort.
3. `SelectionMarker`: every block marks its rows with the cut, in parallel, before they are written.

Cost per million documents: the sort moves about 70 MB (doc_ids of ~47 characters, two 8-byte
numbers) through the object store, which spills to disk when it is full; the driver holds one
sorted block (by default up to ~128 MiB of Arrow data, far less in practice) and the histogram.
Sorting on the driver holds the three columns (~70 MB) plus Python strings for the doc_id order
(~100 MB) per million documents, for a moment. The
result equals `core.preselect.select.select` on the same rows (a test checks it).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from core.preselect.select import SelectParams, ShareCut, find_share_cut, in_share_cut, rank_order

SUMMARY_SCHEMA = pa.schema([("n", pa.int64()), ("chars", pa.int64()), ("nan", pa.int64()),
                            ("max_chars", pa.int64()), ("histogram", pa.list_(pa.int64()))])


@dataclass(frozen=True)
class ScoreSummary:
    n_documents: int = 0
    total_chars: int = 0
    n_nan: int = 0
    largest_document: int = 0  # characters of the longest document (bounds the share's overshoot)
    histogram: tuple[int, ...] = field(default_factory=tuple)  # counts over equal bins of [0, 1]

    def merge(self, other: "ScoreSummary") -> "ScoreSummary":
        hist = tuple(int(x) for x in np.add(self.histogram, other.histogram))
        return ScoreSummary(self.n_documents + other.n_documents, self.total_chars + other.total_chars,
                            self.n_nan + other.n_nan, max(self.largest_document, other.largest_document), hist)


class BlockSummary:
    """Ray batch function: a block of (score, n_chars) -> one summary row."""

    def __init__(self, bins: int):
        if bins < 1:
            raise ValueError(f"histogram bins must be >= 1, got {bins}")
        self.bins = bins

    def __call__(self, batch: pa.Table) -> pa.Table:
        scores = batch.column("score").to_numpy(zero_copy_only=False).astype(np.float64)
        n_chars = batch.column("n_chars").to_numpy(zero_copy_only=False).astype(np.int64)
        finite = scores[~np.isnan(scores)]
        counts, _ = np.histogram(np.clip(finite, 0.0, 1.0), bins=self.bins, range=(0.0, 1.0))
        row = {"n": [len(scores)], "chars": [int(n_chars.sum())], "nan": [int(np.isnan(scores).sum())],
               "max_chars": [int(n_chars.max()) if n_chars.size else 0], "histogram": [counts.tolist()]}
        return pa.table(row, schema=SUMMARY_SCHEMA)


def summarize(scored, bins: int = 20) -> ScoreSummary:
    """Counts of a scored Dataset (columns score, n_chars), reduced block by block."""
    total = ScoreSummary(histogram=(0,) * bins)
    rows = scored.select_columns(["score", "n_chars"]).map_batches(
        BlockSummary(bins), batch_format="pyarrow", batch_size=None).take_all()
    for row in rows:
        total = total.merge(ScoreSummary(row["n"], row["chars"], row["nan"], row["max_chars"], tuple(row["histogram"])))
    return total


def _sorted_batches(sorted_ds):
    """(doc_ids, scores, n_chars) of each block of a sorted, materialized Dataset, in order, one at a time."""
    import ray

    for ref in sorted_ds.to_arrow_refs():
        block = ray.get(ref)
        if block.num_rows:
            yield (block.column("doc_id").to_pylist(), block.column("score").to_numpy(zero_copy_only=False),
                   block.column("n_chars").to_numpy(zero_copy_only=False))


def _sorted_on_driver(scored):
    """The whole (doc_id, score, n_chars) of a small Dataset as one batch sorted on the driver."""
    import ray

    blocks = [ray.get(ref) for ref in scored.select_columns(["doc_id", "score", "n_chars"]).to_arrow_refs()]
    table = pa.concat_tables(blocks) if blocks else pa.table({"doc_id": [], "score": [], "n_chars": []})
    ids = table.column("doc_id").to_pylist()
    scores = table.column("score").to_numpy(zero_copy_only=False).astype(np.float64)
    order = rank_order(ids, scores)
    yield [ids[i] for i in order], scores[order], table.column("n_chars").to_numpy(zero_copy_only=False)[order]


def find_cut(scored, summary: ScoreSummary, share: float, sort_in_ray_above: int = 1_000_000) -> ShareCut:
    """The character-share cut of a scored Dataset (see module doc). Up to `sort_in_ray_above` documents
    are sorted on the driver (about 170 MB per million documents at its peak), more by Ray's sort."""
    if summary.n_nan:
        raise ValueError(f"{summary.n_nan} scores are NaN: every document must be scored before selection")
    if share <= 0.0 or summary.n_documents == 0:
        return find_share_cut(iter(()), summary.total_chars, share)
    if summary.n_documents <= sort_in_ray_above:
        return find_share_cut(_sorted_on_driver(scored), summary.total_chars, share)
    ordered = scored.select_columns(["doc_id", "score", "n_chars"]).sort(
        ["score", "doc_id"], descending=[True, False]).materialize()
    return find_share_cut(_sorted_batches(ordered), summary.total_chars, share)


@dataclass(frozen=True)
class SelectionRule:
    """What `SelectionMarker` applies: a share cut, or `score >= threshold`."""
    cut: ShareCut | None = None
    threshold: float | None = None

    @classmethod
    def of(cls, params: SelectParams, scored, summary: ScoreSummary, sort_in_ray_above: int = 1_000_000
           ) -> "SelectionRule":
        if params.threshold is not None:
            return cls(threshold=float(params.threshold))
        if params.char_share is None:
            raise ValueError("SelectParams needs a char_share or a threshold")
        return cls(cut=find_cut(scored, summary, params.char_share, sort_in_ray_above))

    def mark(self, doc_ids: list[str], scores: np.ndarray) -> np.ndarray:
        if self.cut is not None:
            return in_share_cut(doc_ids, scores, self.cut)
        return np.asarray(scores, dtype=np.float64) >= self.threshold

    @property
    def threshold_used(self) -> float | None:
        return self.cut.threshold if self.cut is not None else self.threshold


class SelectionMarker:
    """Ray batch function: adds `selected` (the rule) and `classifier` (the model's digest)."""

    def __init__(self, rule: SelectionRule, classifier: str):
        self.rule, self.classifier = rule, classifier

    def __call__(self, batch: pa.Table) -> pa.Table:
        scores = batch.column("score").to_numpy(zero_copy_only=False)
        selected = self.rule.mark(batch.column("doc_id").to_pylist(), scores)
        return batch.append_column("selected", pa.array(selected, pa.bool_())).append_column(
            "classifier", pa.array([self.classifier] * batch.num_rows, pa.string()))


class _SelectedCount:
    def __init__(self, rule: SelectionRule):
        self.rule = rule

    def __call__(self, batch: pa.Table) -> pa.Table:
        selected = self.rule.mark(batch.column("doc_id").to_pylist(), batch.column("score").to_numpy(zero_copy_only=False))
        n_chars = batch.column("n_chars").to_numpy(zero_copy_only=False)
        return pa.table({"n": [int(selected.sum())], "chars": [int(n_chars[selected].sum())]})


def count_selected(scored, rule: SelectionRule) -> tuple[int, int]:
    """(documents, characters) that `rule` selects in a scored Dataset."""
    if rule.cut is not None:
        return rule.cut.n_selected, rule.cut.kept_chars
    rows = scored.map_batches(_SelectedCount(rule), batch_format="pyarrow", batch_size=None).take_all()
    return sum(r["n"] for r in rows), sum(r["chars"] for r in rows)

"""Scoring documents with a fastText classifier and selecting by character share or threshold.

Scoring works with any supervised fastText model (PreSelect's, DCLM's, one trained by `train`): the
score is the probability of the configured positive label, over every label (`k=-1`), of the text
preprocessed exactly as in training (`fasttext_texts`, the bulk form of `fasttext_text`). Empty texts
are scored (fastText then sees only its end-of-line token `</s>`; with that row zeroed, as `train`
does, every label is equally likely) and long texts are scored whole.

Selection is PreSelect's rule: keep the highest-scoring documents until they hold the configured
share of all characters. Differences from the released `find_threshold.py` + datatrove filter:
- it estimates the threshold from the first 3 output files and then keeps every document with
  score >= threshold everywhere; here the cut is computed exactly over every document given (the
  whole partition), by one sort by score (descending) with ties broken by doc_id (ascending) and a
  cumulative sum of characters;
- it stops at the first document whose running sum is strictly greater than the share; here at the
  first whose running sum reaches ceil(share x total characters) (>=), so a share of 0 keeps
  nothing and a share of 1 keeps everything (empty documents included);
- documents tied with the last kept score are cut by doc_id, so the share is met exactly; the
  returned threshold is the last kept score, and applying it as `score >= threshold` elsewhere
  would also keep the tied documents below the cut (the released behaviour).

`select_by_char_share` holds every document in memory. For a partition too large for that, the same
cut is found in a stream: an engine sorts (doc_id, score, n_chars) by score descending and doc_id
ascending, `find_share_cut` reads the sorted batches only until the share is reached, and
`in_share_cut` marks any batch, in any order, with the resulting `ShareCut` (score above the last
kept score, or equal to it with a doc_id not after the last kept one). Both give the same selection.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pyarrow as pa

from core.preselect.fasttext_file import FastTextFileError, FastTextFileInfo, inspect_fasttext_file
from core.preselect.fasttext_text import LABEL_PREFIX, fasttext_texts


@dataclass(frozen=True)
class SelectParams:
    positive_label: str = "__label__1"  # PreSelect-classifier.bin labels __label__1 / __label__0
    char_share: float | None = 0.1  # PreSelect keeps the top 10% of characters (find_threshold.py --percentage 0.1)
    threshold: float | None = None  # a fixed score threshold instead of `char_share` (datatrove: score >= threshold)


class ClassifierError(ValueError):
    """A fastText classifier that cannot be used (missing file, unsupervised, unknown label)."""


def load_classifier(path: str, positive_label: str | None = SelectParams.positive_label):
    """Load a supervised fastText model and check that it knows `positive_label` (None: any labels)."""
    import fasttext

    if not os.path.isfile(path):
        raise ClassifierError(f"fastText classifier not found: {path}")
    fasttext.FastText.eprint = lambda *args, **kwargs: None  # silence the load warning
    try:
        model = fasttext.load_model(path)
    except Exception as err:  # fastText raises ValueError/RuntimeError on corrupt files
        raise ClassifierError(f"cannot load fastText classifier {path}: {err}") from err
    labels = list(model.get_labels()) if model.get_labels() else []
    if not labels or (positive_label is not None and positive_label not in labels):
        raise ClassifierError(
            f"{path} has no label {positive_label!r}; its labels are {labels[:10]}"
            f" (a supervised model's labels start with {LABEL_PREFIX!r})"
        )
    return model


def check_classifier_file(path: str, positive_label: str | None = SelectParams.positive_label) -> FastTextFileInfo:
    """Validate a classifier file without loading it (see `fasttext_file`): it exists, is a complete
    supervised fastText model and knows `positive_label`. Cheap enough for a driver before any work."""
    try:
        info = inspect_fasttext_file(path)
    except FastTextFileError as err:
        raise ClassifierError(str(err)) from err
    if not info.supervised or not info.labels:
        raise ClassifierError(f"{path} is a fastText model without labels (not a supervised classifier)")
    if positive_label is not None and positive_label not in info.labels:
        raise ClassifierError(
            f"{path} has no label {positive_label!r}; its labels are {list(info.labels[:10])}"
            f" (a supervised model's labels start with {LABEL_PREFIX!r})"
        )
    return info


def score_texts(model, texts: Sequence[str | None] | pa.Array | pa.ChunkedArray,
                positive_label: str = SelectParams.positive_label) -> np.ndarray:
    """Probability of `positive_label` for every text (float64 in [0, 1]), one fastText call.
    `texts`: Python strings or an Arrow string array (preprocessed by `fasttext_texts` in bulk)."""
    if len(texts) == 0:
        return np.zeros(0, dtype=np.float64)
    if not isinstance(texts, (pa.Array, pa.ChunkedArray)):
        texts = pa.array(texts, pa.string())
    lines = fasttext_texts(texts)
    all_labels, all_probs = model.predict(lines, k=-1, threshold=0.0)
    scores = np.zeros(len(lines), dtype=np.float64)
    for i, (labels, probs) in enumerate(zip(all_labels, all_probs)):
        for label, prob in zip(labels, probs):
            if label == positive_label:
                scores[i] = min(float(prob), 1.0)  # fastText adds 1e-5 before its log; clamp
                break
    return scores


@dataclass(frozen=True)
class Selection:
    selected: np.ndarray  # bool per document, in input order
    threshold: float | None  # score of the last kept document (None: nothing kept)
    kept_chars: int
    total_chars: int
    n_selected: int

    @property
    def kept_char_share(self) -> float:
        return self.kept_chars / self.total_chars if self.total_chars else 0.0


def _check_scores(scores: np.ndarray) -> None:
    if np.isnan(scores).any():
        raise ValueError(f"{int(np.isnan(scores).sum())} scores are NaN: every document must be scored before selection")


def rank_order(doc_ids: Sequence[str], scores: np.ndarray) -> np.ndarray:
    """Row indices from the highest score to the lowest, equal scores by doc_id ascending."""
    ids = np.asarray(doc_ids, dtype=object)
    by_id = np.argsort(ids, kind="stable")
    return by_id[np.argsort(-scores[by_id], kind="stable")]


def _check_share(share: float) -> None:
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"char_share must be within [0, 1], got {share}")


def char_target(share: float, total_chars: int) -> int:
    """Characters the kept documents must reach: ceil(share x total); rounding absorbs 0.1 * 30 > 3."""
    return math.ceil(round(share * total_chars, 9))


def select_by_char_share(doc_ids: Sequence[str], scores: np.ndarray, n_chars: np.ndarray, share: float) -> Selection:
    """Keep the top-scoring documents until they hold `share` of all characters (exact, see module doc)."""
    scores = np.asarray(scores, dtype=np.float64)
    n_chars = np.asarray(n_chars, dtype=np.int64)
    if not (len(doc_ids) == scores.size == n_chars.size):
        raise ValueError(f"got {len(doc_ids)} doc_ids, {scores.size} scores and {n_chars.size} character counts")
    _check_share(share)
    if (n_chars < 0).any():
        raise ValueError("character counts must be >= 0")
    _check_scores(scores)
    order = rank_order(doc_ids, scores)
    total = int(n_chars.sum())
    cumulative = np.cumsum(n_chars[order])
    if share == 1.0:
        n_keep = scores.size
    else:
        target = char_target(share, total)
        n_keep = int(np.searchsorted(cumulative, target, side="left")) + 1 if target > 0 else 0
    selected = np.zeros(scores.size, dtype=bool)
    selected[order[:n_keep]] = True
    return Selection(
        selected=selected,
        threshold=float(scores[order[n_keep - 1]]) if n_keep else None,
        kept_chars=int(cumulative[n_keep - 1]) if n_keep else 0,
        total_chars=total,
        n_selected=n_keep,
    )


def select_by_threshold(scores: np.ndarray, n_chars: np.ndarray, threshold: float) -> Selection:
    """Keep every document with score >= threshold (datatrove's `keep_labels` rule)."""
    scores = np.asarray(scores, dtype=np.float64)
    n_chars = np.asarray(n_chars, dtype=np.int64)
    if scores.size != n_chars.size:
        raise ValueError(f"got {scores.size} scores and {n_chars.size} character counts")
    _check_scores(scores)
    selected = scores >= threshold
    return Selection(selected, float(threshold), int(n_chars[selected].sum()), int(n_chars.sum()), int(selected.sum()))


def select(doc_ids: Sequence[str], scores: np.ndarray, n_chars: np.ndarray, params: SelectParams = SelectParams()) -> Selection:
    """The configured rule: a fixed `threshold` when set, else the top `char_share` of characters."""
    if params.threshold is not None:
        return select_by_threshold(scores, n_chars, params.threshold)
    if params.char_share is None:
        raise ValueError("SelectParams needs a char_share or a threshold")
    return select_by_char_share(doc_ids, scores, n_chars, params.char_share)


def score_histogram(scores: np.ndarray, bins: int = 20, value_range: tuple[float, float] = (0.0, 1.0)
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(bin edges, counts) of the scores over `value_range` (scores outside it are clipped in)."""
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    scores = np.clip(np.asarray(scores, dtype=np.float64), *value_range)
    counts, edges = np.histogram(scores, bins=bins, range=value_range)
    return edges, counts


@dataclass(frozen=True)
class ShareCut:
    """The end of the top `share` of characters in the order (score descending, doc_id ascending)."""
    keep_all: bool  # share 1: every document, empty ones included
    threshold: float | None  # score of the last kept document; None: nothing kept
    last_doc_id: str | None  # doc_id of the last kept document
    n_selected: int
    kept_chars: int
    total_chars: int

    @property
    def kept_char_share(self) -> float:
        return self.kept_chars / self.total_chars if self.total_chars else 0.0


SortedBatch = tuple[Sequence[str], np.ndarray, np.ndarray]  # (doc_ids, scores, n_chars), already in rank order


def find_share_cut(sorted_batches: Iterable[SortedBatch], total_chars: int, share: float) -> ShareCut:
    """The cut of `select_by_char_share`, read from batches sorted by (score desc, doc_id asc).

    Reads batches only until the target is reached (all of them when `share` is 1). `total_chars` is
    the sum of n_chars over every batch (computed beforehand, e.g. by an engine's aggregation)."""
    _check_share(share)
    target = char_target(share, total_chars)
    if share < 1.0 and target <= 0:
        return ShareCut(False, None, None, 0, 0, total_chars)
    seen, cumulative, last = 0, 0, None
    for doc_ids, scores, n_chars in sorted_batches:
        scores = np.asarray(scores, dtype=np.float64)
        _check_scores(scores)
        running = cumulative + np.cumsum(np.asarray(n_chars, dtype=np.int64))
        if share < 1.0:
            i = int(np.searchsorted(running, target, side="left"))
            if i < running.size:
                return ShareCut(False, float(scores[i]), str(doc_ids[i]), seen + i + 1, int(running[i]), total_chars)
        if running.size:
            last = (float(scores[-1]), str(doc_ids[-1]))
            cumulative = int(running[-1])
            seen += running.size
    if share == 1.0:
        return ShareCut(True, last[0] if last else None, last[1] if last else None, seen, cumulative, total_chars)
    raise ValueError(f"the sorted batches hold {cumulative} characters, fewer than the {target} that a share "
                     f"of {share} of {total_chars} needs: total_chars does not match the batches")


def in_share_cut(doc_ids: Sequence[str], scores: np.ndarray, cut: ShareCut) -> np.ndarray:
    """Per document (any order): is it among the documents `cut` keeps?"""
    scores = np.asarray(scores, dtype=np.float64)
    if cut.keep_all:
        return np.ones(scores.size, dtype=bool)
    if cut.threshold is None:
        return np.zeros(scores.size, dtype=bool)
    ids = np.asarray(doc_ids, dtype=object)
    tied = scores == cut.threshold
    if tied.any():
        tied[tied] = ids[tied] <= cut.last_doc_id
    return (scores > cut.threshold) | tied

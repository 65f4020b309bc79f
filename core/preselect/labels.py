"""Balanced fastText training labels from predictive strength (PreSelect section 3).

Positives are the documents of strength exactly 1 (every stronger model compresses them better).
Negatives are taken from strength 0 upward, lowest first, until there are as many as positives.
When positives outnumber the documents below 1 (or a `max_per_class` cap is set), the positives are
subsampled. Every choice among equals (documents of the same strength at the cut, the positives
kept by a subsample) is made by a seeded hash of the doc_id, so the result depends on the seed and
the set of documents, not on their row order (which an engine does not keep).

Differences from the released `train_fasttext.py`: there the negatives are the first ones of a list
sorted by score only (ties broken by whatever order Python's sort met them) and positives are never
subsampled, so the classes balance only when negatives suffice; duplicate ids are refused in both.
Documents without a strength (NaN: empty text) get no label and are counted.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from core.preselect.fasttext_text import fasttext_line

POSITIVE = 1
NEGATIVE = 0
UNLABELLED = -1


@dataclass(frozen=True)
class LabelParams:
    seed: int = 0  # tie-breaking among equal strengths; the paper does not say
    max_per_class: int | None = None  # None: as many as the data give (paper: about 200k per class)


@dataclass(frozen=True)
class LabelReport:
    n_documents: int
    n_without_strength: int  # NaN strength (a model gave no loss, e.g. empty text): not labelled
    n_positive_candidates: int  # strength == 1
    n_negative_candidates: int  # strength < 1
    n_positives: int
    n_negatives: int
    max_negative_strength: float | None  # the highest strength that was taken as negative

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def seeded_keys(doc_ids: Sequence[str], seed: int) -> np.ndarray:
    """A uint64 per doc_id, stable across runs and platforms, that depends on the seed."""
    salt = f"{seed}\x00".encode()
    keys = [int.from_bytes(hashlib.blake2b(salt + str(d).encode(), digest_size=8).digest(), "big") for d in doc_ids]
    return np.asarray(keys, dtype=np.uint64)


def _check_ids(doc_ids: Sequence[str], n: int) -> None:
    if len(doc_ids) != n:
        raise ValueError(f"got {len(doc_ids)} doc_ids for {n} strengths")
    if len(set(doc_ids)) != n:
        seen: set = set()
        dup = next(d for d in doc_ids if d in seen or seen.add(d))
        raise ValueError(f"doc_ids must be unique, {dup!r} appears more than once")


def assign_labels(doc_ids: Sequence[str], strength: np.ndarray, params: LabelParams = LabelParams()
                  ) -> tuple[np.ndarray, LabelReport]:
    """Per document POSITIVE (1), NEGATIVE (0) or UNLABELLED (-1) as int8, and the counts."""
    strength = np.asarray(strength, dtype=np.float64)
    _check_ids(doc_ids, strength.size)
    if params.max_per_class is not None and params.max_per_class < 0:
        raise ValueError(f"max_per_class must be >= 0, got {params.max_per_class}")
    keys = seeded_keys(doc_ids, params.seed)
    valid = ~np.isnan(strength)
    pos = np.flatnonzero(valid & (strength == 1.0))
    neg = np.flatnonzero(valid & (strength < 1.0))
    n = min(pos.size, neg.size)
    if params.max_per_class is not None:
        n = min(n, params.max_per_class)
    chosen_pos = pos[np.argsort(keys[pos], kind="stable")[:n]]
    chosen_neg = neg[np.lexsort((keys[neg], strength[neg]))[:n]]  # lowest strength, then seeded key
    labels = np.full(strength.size, UNLABELLED, dtype=np.int8)
    labels[chosen_pos] = POSITIVE
    labels[chosen_neg] = NEGATIVE
    report = LabelReport(
        n_documents=int(strength.size),
        n_without_strength=int((~valid).sum()),
        n_positive_candidates=int(pos.size),
        n_negative_candidates=int(neg.size),
        n_positives=int(n),
        n_negatives=int(n),
        max_negative_strength=float(strength[chosen_neg].max()) if n else None,
    )
    return labels, report


def training_lines(texts: Sequence[str], labels: np.ndarray) -> list[str]:
    """fastText lines `__label__1 <text>` / `__label__0 <text>` of the labelled documents, in row order."""
    labels = np.asarray(labels)
    if len(texts) != labels.size:
        raise ValueError(f"got {len(texts)} texts for {labels.size} labels")
    return [fasttext_line(str(int(lab)), texts[i]) for i, lab in enumerate(labels) if lab != UNLABELLED]

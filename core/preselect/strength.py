"""Predictive strength of documents (PreSelect paper, equation 1).

Reference models are ordered by benchmark score, S_1 < ... < S_N. For one document with per-model
losses C (bits per character), its strength is the share of model pairs i < j that the losses order
like the benchmark does:

    S = sum_{i<j} 1{C_i > C_j} / (N (N - 1) / 2)

so S = 1 when every stronger model compresses the document better and S = 0 when the losses order
the models exactly backwards. A tie in C counts as disagreement (0 for that pair). A document with a
missing (NaN) loss under any model has no strength: NaN, and callers count it.

Differences from the released `train_fasttext.py`: it compares every pair in both directions with
strict inequalities, so two models with equal benchmark scores silently drop out of the count while
the maximum stays hard-coded at 15 (six models); here benchmark ties are refused, as is N < 3
(with two models S is only 0 or 1 and says little; the paper uses six).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def benchmark_order(benchmark_scores: Sequence[float]) -> np.ndarray:
    """Column order that sorts models from the weakest to the strongest benchmark score.

    Refuses fewer than 3 models, non-finite scores and ties (a tie leaves the order undefined)."""
    scores = np.asarray(benchmark_scores, dtype=np.float64)
    if scores.ndim != 1 or scores.size < 3:
        raise ValueError(
            f"predictive strength needs at least 3 reference models ordered by benchmark score, "
            f"got {scores.size}: with fewer the strength can only be 0 or 1"
        )
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"benchmark scores must be finite numbers, got {scores.tolist()}")
    order = np.argsort(scores, kind="stable")
    ties = np.diff(scores[order]) == 0
    if ties.any():
        tied = sorted({float(scores[order][i]) for i in np.flatnonzero(ties)})
        raise ValueError(
            f"benchmark scores must order the models strictly, but {tied} appear more than once: "
            "a tie leaves the expected loss order of those models undefined"
        )
    return order


def agreeing_pairs(losses: np.ndarray, benchmark_scores: Sequence[float]) -> np.ndarray:
    """Per document, the number of model pairs (weaker i, stronger j) with C_i > C_j (int64).

    `losses` is (n_documents, n_models), columns in the order of `benchmark_scores`; rows with a NaN
    loss count as 0 here (see `predictive_strength`, which marks them NaN)."""
    losses = np.asarray(losses, dtype=np.float64)
    order = benchmark_order(benchmark_scores)
    if losses.ndim != 2 or losses.shape[1] != order.size:
        raise ValueError(
            f"losses must be a (documents, {order.size}) matrix, one column per model, got shape {losses.shape}"
        )
    ranked = losses[:, order]  # weakest model first
    weaker, stronger = np.triu_indices(order.size, k=1)
    return np.sum(ranked[:, weaker] > ranked[:, stronger], axis=1, dtype=np.int64)


def n_pairs(n_models: int) -> int:
    return n_models * (n_models - 1) // 2


def predictive_strength(losses: np.ndarray, benchmark_scores: Sequence[float]) -> np.ndarray:
    """Strength in [0, 1] of every document (float64); NaN where any model's loss is NaN."""
    losses = np.asarray(losses, dtype=np.float64)
    agree = agreeing_pairs(losses, benchmark_scores)
    strength = agree / n_pairs(losses.shape[1])
    strength[np.isnan(losses).any(axis=1)] = np.nan
    return strength

"""Training PreSelect's fastText classifier, with the paper's settings and the `</s>` row zeroed.

Settings (paper table 5): lr 0.1, dim 100, epoch 5, minn 0, maxn 0, wordNgrams 2; the rest are
fastText's supervised defaults (softmax loss, minCount 1, 2M hash buckets). fastText is
deterministic for a given seed only with one thread, so `thread` defaults to 1; more threads train
faster and differ run to run (Hogwild updates).

fastText ends every line with its end-of-sentence token `</s>`, in training and in prediction (the
Python `predict` appends "\\n"). Its input vector is averaged into every document, and weighs more
in short ones, so it teaches the classifier a length bias. The paper zeroes that feature; here its
row of the input matrix is set to zero after training (`set_matrices`), the model saved, reloaded
and the row checked to be zero. A text is then scored only on its words and word bigrams (an empty
text gets equal probabilities for every label). The bigram of the last word and `</s>` still hashes
into a bucket shared with other bigrams and is left alone.

The installed fastText build (fasttext-numpy2 0.10.4, fastText's master code) initializes only the
first `thread`/10 of the input matrix rows (`DenseMatrix::uniform` cuts the matrix into 10 blocks
and fills one per thread); the other rows are whatever memory the allocator hands out. In a
long-lived process that can be reused heap (measured: NaN errors, values near 1e29 and runs that
differ with the same seed, even for a 40 MB table in a full test run). `train_fasttext` therefore
trains in a child process (`fasttext_worker`) started with glibc's `MALLOC_PERTURB_=255`, which
fills every block malloc hands out with 0x00 (255 ^ 0xff): the rows fastText skips start at zero,
whatever the table size, and one-thread training is reproducible (checked by a test, also with heap
garbage a small table would otherwise inherit). The trained matrix is
also checked to be finite.

Differences from the released `train_fasttext.py`, on purpose: epoch 5 as the paper says (the
script uses 3); `</s>` zeroed (the script does not); a seeded shuffle of the training lines (the
script writes every positive before every negative, and fastText reads the file in order with a
decaying learning rate); a held-out split and a report; the same `fasttext_text` preprocessing as
the scorer (see `fasttext_text`).
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from core.preselect.fasttext_text import fasttext_line
from core.preselect.labels import NEGATIVE, POSITIVE, LabelParams, LabelReport, assign_labels, seeded_keys
from core.preselect.select import load_classifier, score_texts
from core.preselect.strength import agreeing_pairs, n_pairs, predictive_strength

EOS_TOKEN = "</s>"  # fastText's end-of-sentence word (Dictionary::EOS)
MALLOC_ZERO_FILL = "255"  # MALLOC_PERTURB_ value whose allocation fill byte is 255 ^ 0xff = 0
POSITIVE_LABEL = f"__label__{POSITIVE}"


@dataclass(frozen=True)
class FastTextParams:
    lr: float = 0.1  # PreSelect paper table 5
    dim: int = 100  # PreSelect paper table 5
    epoch: int = 5  # PreSelect paper table 5 (released train_fasttext.py: 3)
    minn: int = 0  # PreSelect paper table 5
    maxn: int = 0  # PreSelect paper table 5
    word_ngrams: int = 2  # PreSelect paper table 5
    bucket: int = 2_000_000  # fastText default (the paper does not say)
    min_count: int = 1  # fastText supervised default
    loss: str = "softmax"  # fastText supervised default
    thread: int = 1  # fastText is reproducible only with one thread
    seed: int = 0  # fastText -seed
    zero_eos: bool = True  # PreSelect paper: zero the </s> feature (released code does not)
    verbose: int = 0


@dataclass(frozen=True)
class TrainParams:
    fasttext: FastTextParams = field(default_factory=FastTextParams)
    labels: LabelParams = field(default_factory=LabelParams)
    holdout_fraction: float = 0.1  # share of each class held out for accuracy (not in the paper)


@dataclass(frozen=True)
class TrainReport:
    model_path: str
    labels: LabelReport
    n_train: int
    n_holdout: int
    holdout_accuracy: float | None  # None when nothing was held out
    eos_word_id: int | None  # None when </s> is not in the vocabulary
    eos_row_zeroed: bool
    strength_counts: dict[str, int]  # documents per strength value (agreeing pairs / all pairs)
    bpc_summary: dict[str, dict[str, float | int | None]]  # per model: mean, median, n

    def as_dict(self) -> dict:
        out = dict(self.__dict__)
        out["labels"] = self.labels.as_dict()
        return out


def _train_file(lines: Sequence[str], directory: str) -> str:
    fd, path = tempfile.mkstemp(prefix="preselect-train-", suffix=".txt", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line + "\n")
    return path


def zero_eos_row(model) -> int | None:
    """Set the input vector of `</s>` to zero in place; return its word id (None if absent)."""
    eos = model.get_word_id(EOS_TOKEN)
    if eos < 0:
        return None
    input_matrix = model.get_input_matrix()
    input_matrix[eos, :] = 0.0
    model.set_matrices(input_matrix, model.get_output_matrix())
    return int(eos)


def eos_row_is_zero(model) -> bool:
    eos = model.get_word_id(EOS_TOKEN)
    return eos >= 0 and not np.any(model.get_input_vector(eos))


def train_fasttext(lines: Sequence[str], model_path: str, params: FastTextParams = FastTextParams()):
    """Train a supervised fastText model on `lines` (`__label__x text`), zero `</s>` if asked, save.

    Returns the model reloaded from `model_path` and the `</s>` word id."""
    if not lines:
        raise ValueError("no training lines")
    model_path = os.path.abspath(model_path)
    directory = os.path.dirname(model_path)
    os.makedirs(directory, exist_ok=True)
    train_path = _train_file(lines, directory)
    args = dict(
        lr=params.lr, dim=params.dim, epoch=params.epoch, minn=params.minn, maxn=params.maxn,
        wordNgrams=params.word_ngrams, bucket=params.bucket, minCount=params.min_count, loss=params.loss,
        thread=params.thread, seed=params.seed, verbose=params.verbose,
    )
    with tempfile.TemporaryDirectory(prefix="preselect-train-", dir=directory) as scratch:
        request = os.path.join(scratch, "request.json")
        result = os.path.join(scratch, "result.json")
        with open(request, "w", encoding="utf-8") as fh:
            json.dump({"input": train_path, "model_path": model_path, "args": args,
                       "zero_eos": params.zero_eos, "result": result}, fh)
        env = dict(os.environ, MALLOC_PERTURB_=MALLOC_ZERO_FILL,
                   PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        try:
            proc = subprocess.run([sys.executable, "-m", "core.preselect.fasttext_worker", request],
                                  env=env, capture_output=True, text=True)
        finally:
            os.remove(train_path)
        if proc.returncode != 0:
            detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"fastText training on {len(lines)} lines for {model_path} failed "
                               f"(exit {proc.returncode}): {detail}")
        with open(result, encoding="utf-8") as fh:
            eos = json.load(fh)["eos"]
    reloaded = load_classifier(model_path, positive_label=None)
    if params.zero_eos and eos is not None and not eos_row_is_zero(reloaded):
        raise RuntimeError(f"{model_path}: the {EOS_TOKEN} row is not zero after save and reload")
    return reloaded, eos


def split_holdout(doc_ids: Sequence[str], labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, held-out rows) of the labelled documents: `fraction` of each class, chosen by a
    seeded hash of the doc_id; the train rows come back in a seeded shuffled order."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"holdout_fraction must be within [0, 1), got {fraction}")
    keys = seeded_keys(doc_ids, seed + 1)  # not the labels' seed: an independent draw
    train, holdout = [], []
    for label in (POSITIVE, NEGATIVE):
        rows = np.flatnonzero(labels == label)
        rows = rows[np.argsort(keys[rows], kind="stable")]
        n_out = math.floor(fraction * rows.size)
        holdout.append(rows[:n_out])
        train.append(rows[n_out:])
    train_rows = np.concatenate(train)
    shuffle_keys = seeded_keys(doc_ids, seed + 2)
    return train_rows[np.argsort(shuffle_keys[train_rows], kind="stable")], np.concatenate(holdout)


def holdout_accuracy(model, texts: Sequence[str], labels: np.ndarray) -> float | None:
    """Share of held-out documents whose positive-label probability is on their label's side of 0.5."""
    if len(texts) == 0:
        return None
    predicted = (score_texts(model, texts, POSITIVE_LABEL) >= 0.5).astype(np.int8)
    return float(np.mean(predicted == labels))


def bpc_summary(losses: np.ndarray, model_names: Sequence[str]) -> dict[str, dict[str, float | int | None]]:
    """Per model: mean and median bits per character over the documents that have one, and their number."""
    out = {}
    for j, name in enumerate(model_names):
        col = losses[:, j][~np.isnan(losses[:, j])]
        out[name] = {"mean": float(col.mean()) if col.size else None,
                     "median": float(np.median(col)) if col.size else None, "n": int(col.size)}
    return out


def strength_counts(losses: np.ndarray, benchmark_scores: Sequence[float]) -> dict[str, int]:
    """Documents per strength value, keyed `agreeing/pairs` (e.g. `6/6`), and `nan` for no strength."""
    agree = agreeing_pairs(losses, benchmark_scores)
    missing = np.isnan(losses).any(axis=1)
    total = n_pairs(losses.shape[1])
    counts = {f"{k}/{total}": int(np.sum((agree == k) & ~missing)) for k in range(total + 1)}
    counts["nan"] = int(missing.sum())
    return counts


def train_preselect(doc_ids: Sequence[str], texts: Sequence[str], losses: np.ndarray, model_names: Sequence[str],
                    benchmark_scores: Sequence[float], model_path: str, params: TrainParams = TrainParams()) -> TrainReport:
    """Losses (n_docs, n_models) -> strength -> balanced labels -> fastText classifier at `model_path`."""
    losses = np.asarray(losses, dtype=np.float64)
    if len(texts) != losses.shape[0] or len(model_names) != losses.shape[1]:
        raise ValueError(f"got {len(texts)} texts and {len(model_names)} model names for losses of shape {losses.shape}")
    strength = predictive_strength(losses, benchmark_scores)
    labels, label_report = assign_labels(doc_ids, strength, params.labels)
    if label_report.n_positives == 0:
        raise ValueError(
            f"no training pairs: {label_report.n_positive_candidates} documents of strength 1 and "
            f"{label_report.n_negative_candidates} below 1 (of {label_report.n_documents}; "
            f"{label_report.n_without_strength} without strength); both classes are needed"
        )
    train_rows, holdout_rows = split_holdout(doc_ids, labels, params.holdout_fraction, params.labels.seed)
    lines = [fasttext_line(str(int(labels[i])), texts[i]) for i in train_rows]
    model, eos = train_fasttext(lines, model_path, params.fasttext)
    accuracy = holdout_accuracy(model, [texts[i] for i in holdout_rows], labels[holdout_rows])
    return TrainReport(
        model_path=model_path, labels=label_report, n_train=int(train_rows.size), n_holdout=int(holdout_rows.size),
        holdout_accuracy=accuracy, eos_word_id=eos, eos_row_zeroed=bool(params.fasttext.zero_eos and eos is not None),
        strength_counts=strength_counts(losses, benchmark_scores), bpc_summary=bpc_summary(losses, model_names),
    )

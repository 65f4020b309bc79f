"""fastText training with the `</s>` row zeroed, the held-out split and the report, without an LM
(losses given by hand; the test with real reference models is in test_preselect_models.py)."""
from __future__ import annotations

import random

import fasttext
import numpy as np
import pytest

from core.preselect.fasttext_text import fasttext_line
from core.preselect.labels import NEGATIVE, POSITIVE, UNLABELLED
from core.preselect.select import score_texts
from core.preselect.train import (
    EOS_TOKEN, FastTextParams, TrainParams, bpc_summary, split_holdout, strength_counts, train_fasttext, train_preselect,
)

GOOD = "river city market cathedral university museum history century people".split()
BAD = "click buy now free cheap login cookie subscribe offer deal".split()
SMALL = FastTextParams(bucket=100_000, epoch=25)


def _docs(n: int, seed: int = 0) -> tuple[list[str], list[bool]]:
    rng = random.Random(seed)
    texts, good = [], []
    for i in range(n):
        g = i % 2 == 0
        texts.append(" ".join(rng.choice(GOOD if g else BAD) for _ in range(rng.randint(2, 30))))
        good.append(g)
    return texts, good


@pytest.mark.parametrize("zero_eos", [True, False])
def test_eos_row_after_save_and_reload(tmp_path, zero_eos):
    texts, good = _docs(300)
    lines = [fasttext_line("1" if g else "0", t) for t, g in zip(texts, good)]
    path = str(tmp_path / "m.bin")
    _, eos = train_fasttext(lines, path, FastTextParams(bucket=100_000, epoch=25, zero_eos=zero_eos))
    fresh = fasttext.load_model(path)  # straight from disk, not through our loader
    eos_id = fresh.get_word_id(EOS_TOKEN)
    assert eos_id >= 0
    row_is_zero = not np.any(fresh.get_input_vector(eos_id))
    assert row_is_zero == zero_eos and (eos == eos_id if zero_eos else eos is None)
    # An empty text is only </s>: with its row zeroed there is no evidence for either label.
    empty = score_texts(fresh, [""])[0]
    if zero_eos:
        assert empty == pytest.approx(0.5, abs=1e-4)
    else:
        assert abs(empty - 0.5) > 1e-3
    # The words still decide.
    assert score_texts(fresh, ["museum history of the city"])[0] > 0.9


def test_training_is_reproducible_with_one_thread(tmp_path):
    texts, good = _docs(200, seed=3)
    lines = [fasttext_line("1" if g else "0", t) for t, g in zip(texts, good)]
    a, _ = train_fasttext(lines, str(tmp_path / "a.bin"), SMALL)
    b, _ = train_fasttext(lines, str(tmp_path / "b.bin"), SMALL)
    np.testing.assert_array_equal(a.get_input_matrix(), b.get_input_matrix())


def test_holdout_split_is_per_class_disjoint_and_seeded():
    ids = [f"d{i}" for i in range(40)]
    labels = np.array([POSITIVE] * 10 + [NEGATIVE] * 10 + [UNLABELLED] * 20, dtype=np.int8)
    train, held = split_holdout(ids, labels, 0.2, seed=0)
    assert len(held) == 4 and len(train) == 16 and not set(train) & set(held)
    assert (labels[held] == POSITIVE).sum() == 2 and (labels[held] == NEGATIVE).sum() == 2
    assert (labels[train] != UNLABELLED).all()
    assert split_holdout(ids, labels, 0.2, seed=0)[1].tolist() == held.tolist()
    assert set(split_holdout(ids, labels, 0.2, seed=5)[1]) != set(held)


def test_summaries_skip_missing_losses():
    losses = np.array([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0], [np.nan, 1.0, 1.0]])
    summary = bpc_summary(losses, ["weak", "mid", "strong"])
    assert summary["weak"] == {"mean": 2.0, "median": 2.0, "n": 2}
    assert summary["strong"]["n"] == 3
    counts = strength_counts(losses, [1.0, 2.0, 3.0])
    assert counts == {"0/3": 1, "1/3": 0, "2/3": 0, "3/3": 1, "nan": 1}


def test_train_preselect_end_to_end_on_given_losses(tmp_path):
    texts, good = _docs(400, seed=1)
    rng = np.random.default_rng(0)
    # "Good" documents are ordered by every model (strength 1); the rest get shuffled losses.
    losses = np.array([[3.0, 2.0, 1.0] if g else rng.permutation([3.0, 2.0, 1.0]) for g in good])
    losses[5, 0] = np.nan  # a document one model could not score
    ids = [f"doc-{i}" for i in range(len(texts))]
    report = train_preselect(ids, texts, losses, ["small", "mid", "large"], [1.0, 2.0, 3.0],
                             str(tmp_path / "preselect.bin"), TrainParams(fasttext=SMALL, holdout_fraction=0.2))
    labels = report.labels
    assert labels.n_positives == labels.n_negatives > 0 and labels.n_without_strength == 1
    assert report.n_train + report.n_holdout == 2 * labels.n_positives
    assert report.holdout_accuracy is not None and report.holdout_accuracy > 0.8
    assert report.eos_row_zeroed and report.eos_word_id is not None
    assert report.bpc_summary["large"]["n"] == 400 and report.bpc_summary["small"]["n"] == 399
    assert sum(report.strength_counts.values()) == 400
    assert report.as_dict()["labels"]["n_positives"] == labels.n_positives


def test_train_preselect_refuses_when_a_class_is_missing(tmp_path):
    losses = np.tile([3.0, 2.0, 1.0], (10, 1))  # every document of strength 1: no negatives
    with pytest.raises(ValueError, match="both classes are needed"):
        train_preselect([str(i) for i in range(10)], ["x"] * 10, losses, ["a", "b", "c"], [1, 2, 3],
                        str(tmp_path / "m.bin"))


def test_small_tables_train_reproducibly_with_skipped_rows_at_zero(tmp_path):
    """fastText fills only the first tenth of the input matrix with one thread; trained in a child
    whose large allocations are fresh pages, the rest start at zero, so even a small table (heap
    leftovers in a long-lived process) gives the same model twice and no huge values."""
    texts, good = _docs(200, seed=4)
    lines = [fasttext_line("1" if g else "0", t) for t, g in zip(texts, good)]
    for params in (FastTextParams(bucket=10_000, epoch=5), FastTextParams(word_ngrams=1, epoch=5)):
        a, _ = train_fasttext(lines, str(tmp_path / "a.bin"), params)
        b, _ = train_fasttext(lines, str(tmp_path / "b.bin"), params)
        matrix = a.get_input_matrix()
        np.testing.assert_array_equal(matrix, b.get_input_matrix())
        assert np.abs(matrix).max() < 10.0
        assert score_texts(a, ["museum history of the city"])[0] > 0.5


def test_a_failed_training_names_the_model(tmp_path):
    texts, good = _docs(20)
    lines = [fasttext_line("1" if g else "0", t) for t, g in zip(texts, good)]
    (tmp_path / "m.bin").mkdir()  # the model cannot be saved over a directory
    with pytest.raises(RuntimeError, match=r"m\.bin failed \(exit 1\)"):
        train_fasttext(lines, str(tmp_path / "m.bin"), SMALL)

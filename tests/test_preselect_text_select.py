"""The shared fastText preprocessing, scoring with a fastText classifier and selection rules."""
from __future__ import annotations

import random

import numpy as np
import pytest

import pyarrow as pa

from core.preselect.fasttext_text import fasttext_line, fasttext_text, fasttext_texts
from core.preselect.select import (
    ClassifierError, SelectParams, load_classifier, score_histogram, score_texts, select, select_by_char_share,
    select_by_threshold,
)
from core.preselect.train import FastTextParams, train_fasttext

GOOD = "river city market cathedral university museum history century people".split()
BAD = "click buy now free cheap login cookie subscribe offer deal".split()


def test_fasttext_text_joins_lines_and_whitespace_runs():
    assert fasttext_text("a\nb\r\n\tc\u2028d\x00e \u00a0 f\n") == "a b c d e f"
    assert fasttext_text("") == "" and fasttext_text(None) == ""


def test_fasttext_text_defuses_label_words_only_at_word_start():
    assert fasttext_text("see __label__1 and x__label__1") == "see __label_1 and x__label__1"
    with pytest.raises(ValueError):
        fasttext_line("bad label", "text")


def _corpus(labels=("1", "0"), n=300, seed=0):
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        good = i % 2 == 0
        words = [rng.choice(GOOD if good else BAD) for _ in range(rng.randint(3, 25))]
        lines.append(fasttext_line(labels[0] if good else labels[1], "\n".join(words)))
    return lines


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("ft") / "clf.bin")
    model, _ = train_fasttext(_corpus(), path, FastTextParams(bucket=100_000, epoch=25))
    return path, model


def test_bulk_preprocessing_equals_the_per_string_one_on_every_code_point():
    """`fasttext_texts` (Arrow's RE2) must give exactly `fasttext_text`'s lines (Python's re), which
    training uses: every code point as a separator candidate, and random mixes of separators."""
    points = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]  # Arrow holds no lone surrogates
    cases = [f"{c}a{c}{c}__label__b {c}__label__c{c} {c}" for c in points]
    rng = random.Random(0)
    pieces = [" ", "  ", "\t", "\n", "\r\n", "\x00", "\u2028", "\xa0", "\x1c", "\u200b", "_", "__label__", "a", "é"]
    cases += ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(5000)]
    cases += [None, "", " ", "__label__", "x __label____label__y"]
    got = fasttext_texts(pa.array(cases, pa.string()))
    mismatched = [repr(t) for t, line in zip(cases, got) if line != fasttext_text(t)]
    assert not mismatched, mismatched[:5]
    assert fasttext_texts(pa.chunked_array([["a\nb"], [None]], pa.large_string())) == ["a b", ""]


def test_scores_are_positive_label_probabilities(classifier):
    _, model = classifier
    scores = score_texts(model, ["the river and the museum", "buy now free cheap offer"])
    assert scores[0] > 0.9 and scores[1] < 0.1
    negative = score_texts(model, ["the river and the museum"], positive_label="__label__0")
    assert scores[0] + negative[0] == pytest.approx(1.0, abs=1e-3)


def test_scoring_preprocesses_like_training(classifier):
    _, model = classifier
    text = "the river\nand the\n\nmuseum\tof history"
    assert score_texts(model, [text])[0] == score_texts(model, [fasttext_text(text)])[0]


def test_empty_and_very_long_texts_are_scored(classifier):
    _, model = classifier
    long_text = " ".join(random.Random(1).choice(GOOD) for _ in range(300_000))
    scores = score_texts(model, ["", None, long_text, "   \n  "])
    assert scores.shape == (4,) and np.all((scores >= 0) & (scores <= 1))
    assert scores[0] == pytest.approx(0.5, abs=1e-4)  # </s> zeroed: no evidence either way
    assert scores[2] > 0.9
    assert score_texts(model, []).shape == (0,)


def test_any_classifier_with_its_own_labels(tmp_path):
    path = str(tmp_path / "dclm_like.bin")
    train_fasttext(_corpus(labels=("hq", "cc")), path, FastTextParams(bucket=100_000, epoch=25))
    model = load_classifier(path, positive_label="__label__hq")
    assert score_texts(model, ["the cathedral of the city"], positive_label="__label__hq")[0] > 0.9
    with pytest.raises(ClassifierError, match="no label '__label__1'"):
        load_classifier(path)


def test_missing_or_corrupt_classifier_is_a_clear_error(tmp_path):
    with pytest.raises(ClassifierError, match="not found"):
        load_classifier(str(tmp_path / "nope.bin"))
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"not a fasttext model")
    with pytest.raises(ClassifierError, match="bad.bin"):
        load_classifier(str(bad))


IDS = ["a", "b", "c", "d", "e"]
SCORES = np.array([0.9, 0.1, 0.5, 0.9, 0.3])
CHARS = np.array([10, 40, 20, 30, 0])  # total 100


def test_char_share_keeps_highest_scores_until_the_share_is_reached():
    sel = select_by_char_share(IDS, SCORES, CHARS, 0.35)
    # order: a (0.9, id a), d (0.9), c (0.5), e (0.3), b (0.1); cumulative 10, 40, 60, 60, 100
    assert sel.selected.tolist() == [True, False, False, True, False]
    assert (sel.kept_chars, sel.total_chars, sel.threshold, sel.n_selected) == (40, 100, 0.9, 2)


def test_char_share_reached_exactly_stops_there():
    sel = select_by_char_share(IDS, SCORES, CHARS, 0.4)
    assert sel.n_selected == 2 and sel.kept_chars == 40


def test_char_share_zero_keeps_nothing_and_one_keeps_everything():
    none = select_by_char_share(IDS, SCORES, CHARS, 0.0)
    assert not none.selected.any() and none.threshold is None and none.kept_chars == 0
    everything = select_by_char_share(IDS, SCORES, CHARS, 1.0)
    assert everything.selected.all() and everything.kept_char_share == 1.0 and everything.threshold == 0.1


def test_ties_are_cut_by_doc_id_whatever_the_row_order():
    ids = ["z", "m", "a", "q"]
    scores = np.full(4, 0.7)
    chars = np.array([25, 25, 25, 25])
    sel = select_by_char_share(ids, scores, chars, 0.5)
    assert [i for i, s in zip(ids, sel.selected) if s] == ["m", "a"]
    perm = [3, 1, 0, 2]
    sel2 = select_by_char_share([ids[i] for i in perm], scores[perm], chars[perm], 0.5)
    assert sorted(ids[perm[i]] for i in np.flatnonzero(sel2.selected)) == ["a", "m"]


def test_float_share_does_not_overshoot_by_one_document():
    sel = select_by_char_share([str(i) for i in range(30)], np.linspace(1, 0, 30), np.ones(30, dtype=int), 0.1)
    assert sel.n_selected == 3  # 0.1 * 30 is 3.0000000000000004 in floating point


def test_fixed_threshold_keeps_ties_and_select_dispatches():
    sel = select_by_threshold(SCORES, CHARS, 0.5)
    assert sel.selected.tolist() == [True, False, True, True, False]
    assert select(IDS, SCORES, CHARS, SelectParams(threshold=0.5)).selected.tolist() == sel.selected.tolist()
    assert select(IDS, SCORES, CHARS).n_selected == 1  # default 10% of 100 characters: a alone


def test_bad_selection_inputs_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        select_by_char_share(IDS, np.array([0.1, np.nan, 0.2, 0.3, 0.4]), CHARS, 0.1)
    with pytest.raises(ValueError, match="within"):
        select_by_char_share(IDS, SCORES, CHARS, 1.5)
    with pytest.raises(ValueError, match="doc_ids"):
        select_by_char_share(IDS[:2], SCORES, CHARS, 0.5)


def test_histogram_counts_every_score_in_its_bin():
    edges, counts = score_histogram(np.array([0.0, 0.05, 0.5, 0.99, 1.0]), bins=10)
    assert edges[0] == 0.0 and edges[-1] == 1.0 and counts.sum() == 5
    assert counts[0] == 2 and counts[5] == 1 and counts[9] == 2

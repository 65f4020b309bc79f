"""Predictive strength (PreSelect eq. 1) and balanced labels, on hand-made loss matrices."""
from __future__ import annotations

import numpy as np
import pytest

from core.preselect.labels import NEGATIVE, POSITIVE, UNLABELLED, LabelParams, assign_labels, training_lines
from core.preselect.strength import agreeing_pairs, benchmark_order, predictive_strength

SCORES = [10.0, 20.0, 30.0, 40.0]  # model 0 weakest ... model 3 strongest


def test_perfect_and_reversed_order():
    losses = np.array([
        [4.0, 3.0, 2.0, 1.0],  # every stronger model has lower loss
        [1.0, 2.0, 3.0, 4.0],  # exactly backwards
    ])
    assert predictive_strength(losses, SCORES).tolist() == [1.0, 0.0]


def test_one_swapped_pair_scores_five_of_six():
    losses = np.array([[4.0, 2.0, 3.0, 1.0]])  # models 1 and 2 swapped
    assert agreeing_pairs(losses, SCORES).tolist() == [5]
    assert predictive_strength(losses, SCORES)[0] == pytest.approx(5 / 6)


def test_ties_in_losses_count_as_disagreement():
    assert predictive_strength(np.array([[2.0, 2.0, 2.0, 2.0]]), SCORES)[0] == 0.0
    assert predictive_strength(np.array([[3.0, 3.0, 2.0, 1.0]]), SCORES)[0] == pytest.approx(5 / 6)


def test_columns_follow_the_given_benchmark_scores_not_their_position():
    losses = np.array([[1.0, 4.0, 2.0, 3.0]])  # columns: strongest, weakest, 3rd, 2nd
    assert predictive_strength(losses, [40.0, 10.0, 30.0, 20.0])[0] == 1.0
    assert predictive_strength(losses, SCORES)[0] < 1.0


def test_nan_loss_gives_nan_strength():
    s = predictive_strength(np.array([[4.0, np.nan, 2.0, 1.0], [4.0, 3.0, 2.0, 1.0]]), SCORES)
    assert np.isnan(s[0]) and s[1] == 1.0


def test_vectorized_matches_the_pairwise_definition():
    rng = np.random.default_rng(0)
    losses = rng.integers(0, 4, size=(200, 5)).astype(float)  # many ties
    scores = [3.0, 1.0, 5.0, 2.0, 4.0]
    order = np.argsort(scores)
    expected = []
    for row in losses:
        c = row[order]
        expected.append(sum(c[i] > c[j] for i in range(5) for j in range(i + 1, 5)) / 10)
    np.testing.assert_array_equal(predictive_strength(losses, scores), expected)


@pytest.mark.parametrize("scores, message", [
    ([1.0, 2.0], "at least 3"),
    ([1.0, 2.0, 2.0], "more than once"),
    ([1.0, float("nan"), 3.0], "finite"),
])
def test_refuses_too_few_models_and_benchmark_ties(scores, message):
    with pytest.raises(ValueError, match=message):
        benchmark_order(scores)


def test_refuses_a_loss_matrix_of_the_wrong_width():
    with pytest.raises(ValueError, match="one column per model"):
        predictive_strength(np.zeros((3, 2)), SCORES)


def test_labels_balance_positives_with_lowest_strength_negatives():
    strength = np.array([1.0, 1.0, 1.0, 0.0, 0.5, 0.25, 0.25, 0.75, np.nan])
    ids = [f"d{i}" for i in range(strength.size)]
    labels, report = assign_labels(ids, strength)
    assert (labels == POSITIVE).sum() == (labels == NEGATIVE).sum() == 3
    assert set(np.flatnonzero(labels == POSITIVE)) == {0, 1, 2}
    assert set(np.flatnonzero(labels == NEGATIVE)) == {3, 5, 6}  # 0.0, then both 0.25
    assert labels[8] == UNLABELLED and report.n_without_strength == 1
    assert report.max_negative_strength == 0.25
    assert (report.n_positive_candidates, report.n_negative_candidates) == (3, 5)


def test_ties_at_the_cut_are_broken_by_seed_and_not_by_row_order():
    strength = np.array([1.0, 1.0] + [0.5] * 6)
    ids = [f"doc-{i}" for i in range(8)]
    chosen = {}
    for seed in range(6):
        labels, _ = assign_labels(ids, strength, LabelParams(seed=seed))
        chosen[seed] = {ids[i] for i in np.flatnonzero(labels == NEGATIVE)}
        perm = np.random.default_rng(seed).permutation(8)
        relabelled, _ = assign_labels([ids[i] for i in perm], strength[perm], LabelParams(seed=seed))
        assert {ids[perm[i]] for i in np.flatnonzero(relabelled == NEGATIVE)} == chosen[seed]
    assert all(len(c) == 2 for c in chosen.values())
    assert len({frozenset(c) for c in chosen.values()}) > 1  # the seed matters


def test_more_positives_than_negatives_subsamples_positives_and_caps():
    strength = np.array([1.0] * 6 + [0.0] * 2)
    ids = [str(i) for i in range(8)]
    labels, report = assign_labels(ids, strength)
    assert report.n_positives == report.n_negatives == 2 and (labels == POSITIVE).sum() == 2
    labels, report = assign_labels(ids, strength, LabelParams(max_per_class=1))
    assert (labels == POSITIVE).sum() == (labels == NEGATIVE).sum() == 1


def test_no_positive_means_no_labels():
    labels, report = assign_labels(["a", "b"], np.array([0.5, 0.0]))
    assert (labels == UNLABELLED).all() and report.n_positives == 0 and report.max_negative_strength is None


def test_duplicate_ids_are_refused():
    with pytest.raises(ValueError, match="'a' appears more than once"):
        assign_labels(["a", "b", "a"], np.array([1.0, 0.0, 0.0]))


def test_training_lines_put_each_document_on_one_line():
    lines = training_lines(["good\ntext", "x", "bad\r\n\ttext  here"], np.array([POSITIVE, UNLABELLED, NEGATIVE]))
    assert lines == ["__label__1 good text", "__label__0 bad text here"]

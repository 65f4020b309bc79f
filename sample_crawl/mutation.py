"""Controlled word replacement, for near duplicates with a known similarity to their base.

"Different" and "similar" mean what deduplication measures: words are compared after
`core.dedup.normalize.normalize_text`, and similarity is `exact_jaccard` (word 5-gram sets of the
normalized texts), so a replaced word always changes the shingles dedup sees.
"""
from __future__ import annotations

import random
import re

from core.dedup.normalize import SHINGLE_NGRAM, jaccard_of_sets, normalize_array, normalize_text, shingles

_WORD = re.compile(r"\S+")
_REPLACEMENT_TRIES = 20


def mutate_words(text: str, fraction: float, seed: int | str) -> str:
    """Replace `fraction` of the whitespace-separated words by other words of the same text.

    Whitespace (paragraph breaks included) is kept; the positions and replacements come from a
    generator seeded with `seed` and `fraction`, so the result is deterministic. A replacement
    differs from the word it replaces after dedup's normalization.
    """
    spans = [m.span() for m in _WORD.finditer(text)]
    if not spans or fraction <= 0:
        return text
    rng = random.Random(f"mutate:{seed}:{fraction}")
    count = max(1, round(fraction * len(spans)))
    chosen = sorted(rng.sample(range(len(spans)), min(count, len(spans))))
    vocabulary = sorted({text[s:e] for s, e in spans})
    normalized = dict(zip(vocabulary, normalize_array(vocabulary).to_pylist()))
    pieces, last = [], 0
    for index in chosen:
        start, end = spans[index]
        pieces += [text[last:start], _different_word(text[start:end], vocabulary, normalized, rng)]
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _different_word(original: str, vocabulary: list[str], normalized: dict[str, str],
                    rng: random.Random) -> str:
    """A random word of the vocabulary that normalizes differently from `original`."""
    key = normalized[original]
    for _ in range(_REPLACEMENT_TRIES):
        candidate = rng.choice(vocabulary)
        if normalized[candidate] != key:
            return candidate
    return original + "s" if key else "words"


def expected_fraction(target: float, n: int = SHINGLE_NGRAM) -> float:
    """The share of words to replace for a Jaccard `target` under a random-replacement model.

    A replaced word kills the n shingles that contain it, so a share s = (1 - f)^n of shingles
    survives, and J = s / (2 - s); hence s = 2J / (1 + J) and f = 1 - s^(1/n).
    """
    return 1.0 - (2 * target / (1 + target)) ** (1 / n)


def fraction_for_target(text: str, target: float, seed: str, iterations: int = 12) -> float:
    """The share of words to replace so that exact_jaccard(text, mutated) is closest to `target`.

    Bisection on the measured similarity (it falls as the share rises), searched below three times
    the share the random-replacement model predicts (`expected_fraction`).
    """
    base = shingles(normalize_text(text))
    low, high = 0.0, min(1.0, 3 * expected_fraction(target))
    best, best_gap = 0.0, float("inf")
    for _ in range(iterations):
        middle = (low + high) / 2
        similarity = jaccard_of_sets(base, shingles(normalize_text(mutate_words(text, middle, seed))))
        gap = abs(similarity - target)
        if gap < best_gap:
            best, best_gap = middle, gap
        if similarity > target:
            low = middle
        else:
            high = middle
    return best

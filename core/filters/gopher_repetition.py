"""Gopher repetition filter (Rae et al. 2021, table A1) as datatrove's GopherRepetitionFilter.

Duplicate paragraphs and lines (by count and by characters), the most frequent 2/3/4-gram's share of
characters, and the share of characters in repeated 5..10-grams. Differences from datatrove, none of
which changes a decision on the parity corpus: n-grams are compared as word tuples (held as integer
ids, `NGrams`; datatrove joins the words of a repeated n-gram without a separator, so `ab c` and
`a bc` count as equal there), and 5..10-gram passes stop early once an n-gram size has no repeat at
all (a longer one cannot have one).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from core.filters.base import Document, FilterResult, FilterStep, float_stats
from core.filters.text import split_words

_PARAGRAPH_SPLIT = re.compile(r"\n{2,}")
_LINE_SPLIT = re.compile(r"\n+")
# n-gram sizes with a statistic (and a table column): datatrove's defaults, also FineWeb-2's
TOP_N_GRAM_SIZES = (2, 3, 4)
DUP_N_GRAM_SIZES = (5, 6, 7, 8, 9, 10)


@dataclass(frozen=True)
class GopherRepetitionParams:
    dup_line_frac: float | None = 0.3  # datatrove GopherRepetitionFilter dup_line_frac=0.3
    dup_para_frac: float | None = 0.3  # datatrove GopherRepetitionFilter dup_para_frac=0.3
    dup_line_char_frac: float | None = 0.2  # datatrove GopherRepetitionFilter dup_line_char_frac=0.2
    dup_para_char_frac: float | None = 0.2  # datatrove GopherRepetitionFilter dup_para_char_frac=0.2
    # datatrove GopherRepetitionFilter top_n_grams=((2, 0.2), (3, 0.18), (4, 0.16))
    top_n_grams: tuple[tuple[int, float], ...] | None = ((2, 0.2), (3, 0.18), (4, 0.16))
    # datatrove GopherRepetitionFilter dup_n_grams=((5, 0.15), ..., (10, 0.10))
    dup_n_grams: tuple[tuple[int, float], ...] | None = (
        (5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10),
    )

    def __post_init__(self):
        for name, sizes in (("top_n_grams", TOP_N_GRAM_SIZES), ("dup_n_grams", DUP_N_GRAM_SIZES)):
            unknown = [n for n, _ in getattr(self, name) or () if n not in sizes]
            if unknown:
                raise ValueError(f"gopher_repetition {name}: n-gram size(s) {unknown} have no "
                                 f"statistic; sizes with one: {sizes}")


def duplicates(items: list[str]) -> tuple[int, int]:
    """(number of repeated items, characters in the repeats), first occurrences not counted."""
    counts = Counter(items)
    dup_items = len(items) - len(counts)
    if not dup_items:
        return 0, 0
    return dup_items, sum(len(item) * (n - 1) for item, n in counts.items() if n > 1)


class NGrams:
    """The n-grams of a word list as integer ids (equal ids, equal word tuples), built on demand
    from the (n-1)-grams: an n-gram is the pair ((n-1)-gram id, id of its last word), packed into
    one int64 and made dense with `np.unique`. Exact, and no tuple per position."""

    def __init__(self, words: list[str]):
        index: dict[str, int] = {}
        setdefault = index.setdefault
        self._ids = {1: np.fromiter((setdefault(w, len(index)) for w in words), np.int64, len(words))}
        self._base = max(len(index), 1)
        self.cum_len = np.fromiter(accumulate(map(len, words), initial=0), np.int64, len(words) + 1)

    def ids(self, n: int) -> np.ndarray:
        """Dense ids of the n-grams at positions 0 .. len(words) - n."""
        if n not in self._ids:
            shorter, words = self.ids(n - 1), self._ids[1]
            count = max(len(words) - n + 1, 0)
            keys = shorter[:count] * self._base + words[n - 1:n - 1 + count]
            self._ids[n] = np.unique(keys, return_inverse=True)[1].astype(np.int64) if count else keys
        return self._ids[n]

    def chars(self, position: int, n: int) -> int:
        """Characters of the words of the n-gram at `position` (no spaces)."""
        return int(self.cum_len[position + n] - self.cum_len[position])


def top_n_gram_chars(grams: NGrams, n: int) -> int:
    """Characters covered by the most frequent n-gram (words joined by one space), times its count;
    ties go to the n-gram seen first, as datatrove's Counter.most_common."""
    ids = grams.ids(n)
    if not len(ids):
        return 0
    counts = np.bincount(ids)
    top = int(counts.max())
    first = int(np.argmax(counts[ids] == top))
    return (grams.chars(first, n) + n - 1) * top


def repeated_n_gram_chars(grams: NGrams, n: int) -> int:
    """Characters (spaces excluded) in n-grams seen before, scanning left to right and jumping over
    a repeat once counted (datatrove's find_all_duplicate)."""
    ids = grams.ids(n)
    if not len(ids) or int(np.bincount(ids).max()) == 1:
        return 0
    cum_len = grams.cum_len.tolist()
    order = ids.tolist()
    seen: set = set()
    add = seen.add
    repeated, idx, end = 0, 0, len(order)
    while idx < end:
        gram = order[idx]
        if gram in seen:
            repeated += cum_len[idx + n] - cum_len[idx]
            idx += n
        else:
            add(gram)
            idx += 1
    return repeated


def gopher_repetition(
    text: str, params: GopherRepetitionParams = GopherRepetitionParams(), words: list[str] | None = None
) -> FilterResult:
    """Drop documents made of repeated lines, paragraphs or n-grams."""
    if not text:
        return FilterResult(False, "gopher_repetition.empty", {})
    n_chars = len(text)
    stats: dict = {}

    def fail(rule: str) -> FilterResult:
        return FilterResult(False, f"gopher_repetition.{rule}", stats)

    for unit, pieces in (("para", _PARAGRAPH_SPLIT.split(text.strip())), ("line", _LINE_SPLIT.split(text))):
        # paragraphs first, then lines, as datatrove's GopherRepetitionFilter checks them
        dup_count, dup_chars = duplicates(pieces)
        stats[f"gopher_repetition.dup_{unit}_frac"] = dup_count / len(pieces)
        stats[f"gopher_repetition.dup_{unit}_char_frac"] = dup_chars / n_chars
        for rule in (f"dup_{unit}_frac", f"dup_{unit}_char_frac"):
            limit = getattr(params, rule)
            if limit and stats[f"gopher_repetition.{rule}"] > limit:
                return fail(rule)

    if words is None:
        words = split_words(text)
    grams = NGrams(words)
    for n, max_frac in params.top_n_grams or ():
        frac = top_n_gram_chars(grams, n) / n_chars
        stats[f"gopher_repetition.top_{n}_gram_frac"] = frac
        if max_frac is not None and frac > max_frac:
            return fail(f"top_{n}_gram")

    no_repeat_below = None  # smallest n found without any repeated n-gram
    for n, max_frac in params.dup_n_grams or ():
        if no_repeat_below is not None and n >= no_repeat_below:
            chars = 0
        else:
            chars = repeated_n_gram_chars(grams, n)
            if chars == 0:
                no_repeat_below = n
        frac = chars / n_chars
        stats[f"gopher_repetition.dup_{n}_gram_frac"] = frac
        if max_frac is not None and frac > max_frac:
            return fail(f"dup_{n}_gram")
    return FilterResult(True, None, stats)


def _apply(doc: Document, params: GopherRepetitionParams) -> FilterResult:
    return gopher_repetition(doc.text, params, doc.words())


GOPHER_REPETITION_STEP = FilterStep(
    name="gopher_repetition",
    params_type=GopherRepetitionParams,
    statistics=float_stats("gopher_repetition", "dup_para_frac", "dup_para_char_frac", "dup_line_frac",
                           "dup_line_char_frac", *(f"top_{n}_gram_frac" for n in TOP_N_GRAM_SIZES),
                           *(f"dup_{n}_gram_frac" for n in DUP_N_GRAM_SIZES)),
    apply=_apply,
    per_language=True,
)

"""Gopher quality filter (Rae et al. 2021) as datatrove's GopherQualityFilter.

Word count and mean word length over words that are not only punctuation; `#` and ellipses per word;
share of lines starting with a bullet or ending with an ellipsis; share of words with a letter; stop
words. Guarded where datatrove divides by zero (a text of no words with the word-count rule off).
"""
from __future__ import annotations

from dataclasses import dataclass

from core.filters.base import Document, FilterResult, FilterStep, float_stats, int_stats, ratio
from core.filters.text import PUNCTUATION_SET, split_words

# datatrove gopher_quality_filter.STOP_WORDS (Gopher's stop words)
GOPHER_STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")


@dataclass(frozen=True)
class GopherQualityParams:
    min_doc_words: int | None = 50  # datatrove GopherQualityFilter min_doc_words=50
    max_doc_words: int | None = 100_000  # datatrove GopherQualityFilter max_doc_words=100000
    min_avg_word_length: float | None = 3  # datatrove GopherQualityFilter min_avg_word_length=3
    max_avg_word_length: float | None = 10  # datatrove GopherQualityFilter max_avg_word_length=10
    max_symbol_word_ratio: float | None = 0.1  # datatrove GopherQualityFilter max_symbol_word_ratio=0.1
    max_bullet_lines_ratio: float | None = 0.9  # datatrove GopherQualityFilter max_bullet_lines_ratio=0.9
    max_ellipsis_lines_ratio: float | None = 0.3  # datatrove GopherQualityFilter max_ellipsis_lines_ratio=0.3
    # datatrove GopherQualityFilter max_non_alpha_words_ratio=0.8 (a minimum despite its name there)
    min_alpha_words_ratio: float | None = 0.8
    min_stop_words: int | None = 2  # datatrove GopherQualityFilter min_stop_words=2
    stop_words: tuple[str, ...] = GOPHER_STOP_WORDS  # datatrove gopher_quality_filter.STOP_WORDS


def _has_alpha(word: str) -> bool:
    return word.isalpha() or any(c.isalpha() for c in word)


def gopher_quality(
    text: str, params: GopherQualityParams = GopherQualityParams(), words: list[str] | None = None
) -> FilterResult:
    """Drop documents whose words, symbols and lines do not look like prose."""
    if words is None:
        words = split_words(text)
    n_words = len(words)
    is_symbol = PUNCTUATION_SET.issuperset
    word_lengths = [len(w) for w in words if not is_symbol(w)]
    n_non_symbol = len(word_lengths)
    stats: dict = {"gopher_quality.n_words": n_non_symbol}

    def fail(rule: str) -> FilterResult:
        return FilterResult(False, f"gopher_quality.{rule}", stats)

    if params.min_doc_words and n_non_symbol < params.min_doc_words:
        return fail("word_count")
    if params.max_doc_words and n_non_symbol > params.max_doc_words:
        return fail("word_count")

    if n_non_symbol:
        avg = sum(word_lengths) / n_non_symbol
        stats["gopher_quality.avg_word_length"] = avg
        if params.min_avg_word_length and avg < params.min_avg_word_length:
            return fail("avg_word_length")
        if params.max_avg_word_length and avg > params.max_avg_word_length:
            return fail("avg_word_length")

    stats["gopher_quality.hash_ratio"] = ratio(text.count("#"), n_words)
    stats["gopher_quality.ellipsis_ratio"] = ratio(text.count("...") + text.count("…"), n_words)
    if params.max_symbol_word_ratio and stats["gopher_quality.hash_ratio"] > params.max_symbol_word_ratio:
        return fail("hash_ratio")
    if params.max_symbol_word_ratio and stats["gopher_quality.ellipsis_ratio"] > params.max_symbol_word_ratio:
        return fail("ellipsis_ratio")

    lines = text.splitlines()
    n_bullets = sum(1 for line in lines if line.lstrip().startswith(("•", "-")))
    n_end_ellipsis = sum(1 for line in lines if line.rstrip().endswith(("...", "…")))
    stats["gopher_quality.bullet_lines_ratio"] = ratio(n_bullets, len(lines))
    stats["gopher_quality.end_ellipsis_lines_ratio"] = ratio(n_end_ellipsis, len(lines))
    if params.max_bullet_lines_ratio and stats["gopher_quality.bullet_lines_ratio"] > params.max_bullet_lines_ratio:
        return fail("bullet_lines_ratio")
    if (
        params.max_ellipsis_lines_ratio
        and stats["gopher_quality.end_ellipsis_lines_ratio"] > params.max_ellipsis_lines_ratio
    ):
        return fail("end_ellipsis_lines_ratio")

    if n_words:
        stats["gopher_quality.alpha_words_ratio"] = sum(map(_has_alpha, words)) / n_words
        if params.min_alpha_words_ratio and stats["gopher_quality.alpha_words_ratio"] < params.min_alpha_words_ratio:
            return fail("alpha_words_ratio")

    n_stop = len(set(params.stop_words).intersection(words))
    stats["gopher_quality.n_stop_words"] = n_stop
    if params.min_stop_words and n_stop < params.min_stop_words:
        return fail("stop_words")
    return FilterResult(True, None, stats)


def _apply(doc: Document, params: GopherQualityParams) -> FilterResult:
    return gopher_quality(doc.text, params, doc.words())


GOPHER_QUALITY_STEP = FilterStep(
    name="gopher_quality",
    params_type=GopherQualityParams,
    statistics=(*int_stats("gopher_quality", "n_words"),
                *float_stats("gopher_quality", "avg_word_length", "hash_ratio", "ellipsis_ratio",
                             "bullet_lines_ratio", "end_ellipsis_lines_ratio", "alpha_words_ratio"),
                *int_stats("gopher_quality", "n_stop_words")),
    apply=_apply,
    per_language=True,
)

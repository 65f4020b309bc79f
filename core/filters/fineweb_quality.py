"""FineWeb quality filter (Penedo et al. 2024) as datatrove's FineWebQualityFilter.

Over non-blank lines (split on `\\n`): share ending in terminal punctuation, share of short lines,
characters in duplicate lines over all non-newline characters, and newlines per word.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.filters.base import Document, FilterResult, FilterStep, float_stats, ratio
from core.filters.gopher_repetition import duplicates
from core.filters.text import TERMINAL_PUNCTUATION_TUPLE, split_words


@dataclass(frozen=True)
class FineWebQualityParams:
    line_punct_thr: float | None = 0.12  # datatrove FineWebQualityFilter line_punct_thr=0.12
    line_punct_exclude_zero: bool = False  # datatrove FineWebQualityFilter line_punct_exclude_zero=False
    stop_chars: tuple[str, ...] = TERMINAL_PUNCTUATION_TUPLE  # datatrove utils/text.TERMINAL_PUNCTUATION
    short_line_thr: float | None = 0.67  # datatrove FineWebQualityFilter short_line_thr=0.67
    short_line_length: int = 30  # datatrove FineWebQualityFilter short_line_length=30
    char_duplicates_ratio: float | None = 0.01  # datatrove FineWebQualityFilter char_duplicates_ratio=0.01
    new_line_ratio: float | None = 0.3  # datatrove FineWebQualityFilter new_line_ratio=0.3


def fineweb_quality(
    text: str, params: FineWebQualityParams = FineWebQualityParams(), words: list[str] | None = None
) -> FilterResult:
    """Drop list-like, boilerplate-heavy or unpunctuated documents."""
    lines = [line for line in text.split("\n") if line.strip()]
    stats: dict = {}
    if not lines:
        return FilterResult(False, "fineweb_quality.empty", stats)

    def fail(rule: str) -> FilterResult:
        return FilterResult(False, f"fineweb_quality.{rule}", stats)

    stop_chars = params.stop_chars
    punct = sum(1 for line in lines if line.endswith(stop_chars)) / len(lines)
    stats["fineweb_quality.line_punct_ratio"] = punct
    if params.line_punct_thr is not None and punct < params.line_punct_thr and not (
        punct == 0 and params.line_punct_exclude_zero
    ):
        return fail("line_punct_ratio")

    short = sum(1 for line in lines if len(line) <= params.short_line_length) / len(lines)
    stats["fineweb_quality.short_line_ratio"] = short
    if params.short_line_thr is not None and short > params.short_line_thr:
        return fail("short_line_ratio")

    dup_chars = duplicates(lines)[1]
    stats["fineweb_quality.char_dup_ratio"] = ratio(dup_chars, len(text) - text.count("\n"))
    if params.char_duplicates_ratio is not None and stats["fineweb_quality.char_dup_ratio"] > params.char_duplicates_ratio:
        return fail("char_dup_ratio")

    if words is None:
        words = split_words(text)
    stats["fineweb_quality.list_ratio"] = ratio(text.count("\n"), len(words))
    if params.new_line_ratio is not None and stats["fineweb_quality.list_ratio"] > params.new_line_ratio:
        return fail("list_ratio")
    return FilterResult(True, None, stats)


def _apply(doc: Document, params: FineWebQualityParams) -> FilterResult:
    return fineweb_quality(doc.text, params, doc.known_words())  # splits only if it gets that far


FINEWEB_QUALITY_STEP = FilterStep(
    name="fineweb_quality",
    params_type=FineWebQualityParams,
    statistics=float_stats("fineweb_quality", "line_punct_ratio", "short_line_ratio", "char_dup_ratio",
                           "list_ratio"),
    apply=_apply,
    per_language=True,
)

"""C4 quality filter (Raffel et al. 2020) as datatrove's C4QualityFilter, line mode.

Lines (`str.splitlines`, stripped) are removed for a word over 1,000 characters, fewer than 3 words,
"javascript", a cookie/terms/privacy phrase, or (off in FineWeb) no terminal punctuation; citations
like `[1]` and `[edit]` are cut out. The document is dropped for "lorem ipsum", a `{`, or fewer than
5 sentences in the kept lines; otherwise the kept lines joined by `\\n` are the new text.
Sentences are counted only when the number of kept lines does not already reach the minimum (a
kept line holds at least one sentence), so `c4.n_sentences` is None when it was not needed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.filters.base import Document, FilterResult, FilterStep, int_stats
from core.filters.text import count_sentences

_CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
_END_PUNCTUATION = (".", "?", "!", '"', "'")
# datatrove c4_filters.POLICY_SUBSTRINGS (from the C4 reference code)
C4_POLICY_PHRASES = (
    "terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies",
)


@dataclass(frozen=True)
class C4QualityParams:
    remove_citations: bool = True  # datatrove C4QualityFilter remove_citations=True
    filter_no_terminal_punct: bool = False  # datatrove examples/fineweb.py C4QualityFilter(filter_no_terminal_punct=False)
    min_num_sentences: int | None = 5  # datatrove C4QualityFilter min_num_sentences=5
    min_words_per_line: int | None = 3  # datatrove C4QualityFilter min_words_per_line=3
    max_word_length: int | None = 1000  # datatrove C4QualityFilter max_word_length=1000
    filter_lorem_ipsum: bool = True  # datatrove C4QualityFilter filter_lorem_ipsum=True
    filter_javascript: bool = True  # datatrove C4QualityFilter filter_javascript=True
    filter_curly_bracket: bool = True  # datatrove C4QualityFilter filter_curly_bracket=True
    filter_policy: bool = True  # datatrove C4QualityFilter filter_policy=True
    policy_phrases: tuple[str, ...] = C4_POLICY_PHRASES  # datatrove c4_filters.POLICY_SUBSTRINGS


_LINE_REASONS = ("too_long_word", "no_terminal_punct", "too_few_words", "javascript", "policy")


def c4_quality(text: str, params: C4QualityParams = C4QualityParams()) -> FilterResult:
    """Remove boilerplate lines; drop the document for lorem ipsum, code braces or too few sentences."""
    removed = dict.fromkeys(_LINE_REASONS, 0)
    kept: list[str] = []
    lines = text.splitlines()
    stats: dict = {"c4.n_lines": len(lines)}

    def fail(rule: str) -> FilterResult:
        stats.update({f"c4.lines_removed_{k}": v for k, v in removed.items()})
        return FilterResult(False, f"c4.{rule}", stats)

    for line in lines:
        line = line.strip()
        words = line.split()
        if params.max_word_length is not None and params.max_word_length >= 0 and any(
            len(w) > params.max_word_length for w in words
        ):
            removed["too_long_word"] += 1
            continue
        if params.remove_citations and "[" in line:
            line = _CITATION.sub("", line)
        if params.filter_no_terminal_punct and (not line.endswith(_END_PUNCTUATION) or line.endswith("...")):
            removed["no_terminal_punct"] += 1
            continue
        if params.min_words_per_line is not None and len(words) < params.min_words_per_line:
            removed["too_few_words"] += 1
            continue
        lower = line.lower()
        if params.filter_lorem_ipsum and "lorem ipsum" in lower:
            return fail("lorem_ipsum")
        if params.filter_javascript and "javascript" in lower:
            removed["javascript"] += 1
            continue
        if params.filter_curly_bracket and "{" in line:
            return fail("curly_bracket")
        if params.filter_policy and any(p in lower for p in params.policy_phrases):
            removed["policy"] += 1
            continue
        kept.append(line)

    stats["c4.n_lines_kept"] = len(kept)
    stats["c4.n_sentences"] = None
    min_sentences = params.min_num_sentences
    if min_sentences is not None and min_sentences > 0 and len(kept) < min_sentences:
        stats["c4.n_sentences"] = sum(count_sentences(line) for line in kept)
        if stats["c4.n_sentences"] < min_sentences:
            return fail("too_few_sentences")
    stats.update({f"c4.lines_removed_{k}": v for k, v in removed.items()})
    return FilterResult(True, None, stats, text="\n".join(kept).strip())


def _apply(doc: Document, params: C4QualityParams) -> FilterResult:
    return c4_quality(doc.text, params)


C4_STEP = FilterStep(
    name="c4",
    params_type=C4QualityParams,
    statistics=int_stats("c4", "n_lines", "n_lines_kept", "n_sentences",
                         *(f"lines_removed_{reason}" for reason in _LINE_REASONS)),
    apply=_apply,
    per_language=True,
)

"""Words of a normalized text split by its language's word tokenizer (FineWeb2's MinHash words).

FineWeb2 computes MinHash signatures per language with `MinhashDedupSignature(language=lang_script)`:
datatrove simplifies the text, splits it with the language's word tokenizer (jieba for Chinese,
PyThaiNLP for Thai, spaCy for most others: `core.filters.fineweb2.word_tokenizers`) and hashes word
5-grams. Whitespace alone fails for scripts written without spaces: a Chinese or Thai paragraph is
one "word", so two copies that differ in one character share no shingle at all.

`segment_words` rewrites a column of normalized texts (`core.dedup.normalize`) as the same text with
exactly one space between the words its language's tokenizer finds, so the rest of the MinHash code
(hash the space-separated words, then their n-grams) is unchanged. Rows are grouped by language, one
tokenizer per group, loaded once per process. The English splitter and a null language keep the
text as it is (the fast path: normalized English has no punctuation left to split on).
"""
from __future__ import annotations

from typing import Sequence

import pyarrow as pa

from core.filters.fineweb2.word_tokenizers import resolve_tokenizer, splitter_for

WORDS_WHITESPACE = "whitespace"  # FineWeb: words are the space-separated tokens of the normalized text
WORDS_LANGUAGE = "language"  # FineWeb2: words from the language's word tokenizer (datatrove's assignment)
WORD_MODES = (WORDS_WHITESPACE, WORDS_LANGUAGE)
WORD_INNER_SPACE = "\x1f"  # a control character: normalization folds every one to a space, so none is left


def uses_fast_path(language: str | None) -> bool:
    """True when `language` (`fra_Latn`) keeps the whitespace words: no language, or English."""
    return language is None or resolve_tokenizer(language).library == "english"


def segment_text(normalized: str, language: str | None) -> str:
    """One normalized text with its language's words separated by single spaces."""
    if not normalized or uses_fast_path(language):
        return normalized
    return _joined(splitter_for(language)(normalized))


def segment_words(normalized: pa.Array, languages: Sequence[str | None]) -> pa.Array:
    """`segment_text` over a column (nulls stay null); `languages` holds one key per row."""
    texts = normalized.to_pylist()
    if len(languages) != len(texts):
        raise ValueError(f"segment_words: {len(texts)} texts but {len(languages)} languages")
    rows_by_language: dict[str, list[int]] = {}
    for row, language in enumerate(languages):
        if texts[row] and not uses_fast_path(language):
            rows_by_language.setdefault(language, []).append(row)
    for language, rows in rows_by_language.items():
        split = splitter_for(language)
        for row in rows:
            texts[row] = _joined(split(texts[row]))
    return pa.array(texts, type=pa.string())


def _joined(words: list[str]) -> str:
    """Words separated by single spaces; a word that holds a space itself (Sudachi keeps `le monde`
    together) keeps it as WORD_INNER_SPACE, so it stays one word, as datatrove hashes it."""
    return " ".join(word.replace(" ", WORD_INNER_SPACE) for word in words)

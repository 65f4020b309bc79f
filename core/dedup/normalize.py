"""Text normalization, word tokenization, shingles and the exact-dedup key.

One definition of "normalized text", used by exact dedup and by MinHash alike, in the spirit of
datatrove's `simplify_text` (datatrove/utils/text.py, v0.10.1), but computed with Arrow compute kernels
over a whole column at once (C++), so a batch of documents is normalized without a Python loop:

1. lowercase (Unicode, utf8proc);
2. NFD, then drop nonspacing marks (category Mn: diacritics) and format characters (Cf: soft hyphen,
   zero-width space/joiners, BOM), so ``déjà`` -> ``deja`` and ``x\\u00ady`` -> ``xy``;
3. numbers -> ``0``: a run of decimal digits in any script, optionally with one decimal part
   (``3.14``, ``1,000`` -> ``0``), the pattern datatrove uses;
4. punctuation (P*), symbols (S*: ``$ + < = > ^ ` | ~``, currency, math, emoji), separators (Z*:
   NBSP, em space, ...) and control characters (Cc: tab, newline, ...) -> a space;
5. runs of spaces folded to one, leading/trailing spaces removed.

Differences from datatrove, on purpose: diacritics are stripped *before* punctuation is removed
(datatrove strips them last, so a canonical decomposition to punctuation such as U+037E -> ``;``
survives there); the punctuation set is all of Unicode P*/S* rather than a hand-written list; weekday
and month names are left alone (datatrove's default too). Words are the space-separated tokens of
the normalized text (datatrove uses a language-specific word tokenizer; for scripts written without
spaces, such as Chinese or Japanese, a "word" here is a whole run of text, see the module notes in
minhash.py).

`normalize_text` (one string) is the same kernel on a one-element array, so there is only one
definition to test.
"""
from __future__ import annotations

from typing import Iterable

import pyarrow as pa
import pyarrow.compute as pc
import xxhash

# Step 2: diacritics and invisible format characters are deleted.
_DROP_MARKS = r"[\p{Mn}\p{Cf}]"
# Step 3: the number pattern of datatrove's NUMBERS_PATTERN, in RE2 syntax.
_NUMBER = r"\p{Nd}+(?:[.,\x{060C}\x{066B}\x{2396}\x{2397}\x{2398}]\p{Nd}+)?"
# Step 4 and 5: everything that is not part of a word becomes a space; runs of spaces fold to one.
_NON_WORD = r"[\p{P}\p{S}\p{Z}\p{Cc}]+"

SHINGLE_NGRAM = 5  # FineWeb: word 5-grams (datatrove MinhashConfig.n_grams = 5)


def normalize_array(texts: pa.Array | pa.ChunkedArray | Iterable[str | None]) -> pa.Array:
    """Normalize a column of texts (nulls stay null). Returns a `pa.string()` or `pa.large_string()` array."""
    if not isinstance(texts, (pa.Array, pa.ChunkedArray)):
        texts = pa.array(list(texts), type=pa.string())
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    out = pc.utf8_lower(texts)
    out = pc.utf8_normalize(out, form="NFD")
    out = pc.replace_substring_regex(out, _DROP_MARKS, "")
    out = pc.replace_substring_regex(out, _NUMBER, "0")
    out = pc.replace_substring_regex(out, _NON_WORD, " ")
    return pc.utf8_trim(out, " ")


def normalize_text(text: str) -> str:
    """Normalize one text (see the module docstring for the rules)."""
    return normalize_array(pa.array([text], type=pa.string()))[0].as_py()


def words(normalized: str) -> list[str]:
    """The words of an already normalized text: its space-separated tokens ([] for "")."""
    return normalized.split(" ") if normalized else []


def shingles(normalized: str, n: int = SHINGLE_NGRAM) -> set[tuple[str, ...]]:
    """The set of word n-grams of a normalized text.

    Rule for short texts: a text of 1..n-1 words has exactly one shingle, its whole word sequence
    (so two short texts match only if their words are identical); an empty text has no shingles.
    """
    ws = words(normalized)
    if not ws:
        return set()
    if len(ws) < n:
        return {tuple(ws)}
    return {tuple(ws[i : i + n]) for i in range(len(ws) - n + 1)}


def exact_key(normalized: str, raw: str | None = None) -> str:
    """The exact-dedup key: xxh3-128 of the UTF-8 normalized text, as 32 lowercase hex digits.

    A text that normalizes to "" (only punctuation, symbols, whitespace) is keyed on its raw text
    instead, behind a prefix that no normalized text can produce (a NUL byte), so such documents are
    exact duplicates only when byte-identical, never merely because both are "empty".
    """
    if normalized:
        return xxhash.xxh3_128_hexdigest(normalized.encode("utf-8"))
    return xxhash.xxh3_128_hexdigest(b"\x00raw\x00" + (raw or "").encode("utf-8", "surrogatepass"))


def exact_keys(normalized: pa.Array, raw: pa.Array) -> pa.Array:
    """`exact_key` over columns; a null text gets a null key."""
    out = []
    for norm, text in zip(normalized.to_pylist(), raw.to_pylist()):
        out.append(None if text is None else exact_key(norm, text))
    return pa.array(out, type=pa.string())


def exact_jaccard(text_a: str, text_b: str, ngram: int = SHINGLE_NGRAM) -> float:
    """The exact Jaccard similarity of two raw texts on their normalized word n-gram sets (the oracle
    that MinHash estimates). Two texts without shingles have similarity 0.0 by definition (an empty
    document is not a near duplicate of anything)."""
    a = shingles(normalize_text(text_a), ngram)
    b = shingles(normalize_text(text_b), ngram)
    return jaccard_of_sets(a, b)


def jaccard_of_sets(a: set, b: set) -> float:
    """|a & b| / |a | b|, 0.0 when both are empty."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0

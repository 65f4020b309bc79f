"""The one text preprocessing of PreSelect's fastText classifier, shared by training and scoring.

fastText reads one example per line and splits words on ASCII whitespace and NUL. A document is
therefore put on one line by replacing every run of whitespace (Unicode included: U+2028, U+00A0,
...) and NUL with a single space, then stripping the ends. A word that starts with fastText's label
prefix (`__label__`) would be read as an extra label of a training line, so its prefix is defused to
`__label_` (training and scoring see the same defused word).

Difference from the released code, on purpose: `train_fasttext.py` replaces "\\n" with " " when it
writes training lines, but its scorer (datatrove `FastTextClassifierFilter`,
`newline_replacement=""`) replaces "\\n" with "", gluing the last word of each line to the first word
of the next; the classifier is thus scored on words it never saw in training. Here both sides call
`fasttext_text`.
"""
from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

LABEL_PREFIX = "__label__"  # fastText's default label prefix (`-label`)
_SPACE_RUNS = re.compile(r"[\s\x00]+")
_LABEL_WORD = re.compile(r"(?:(?<= )|^)__label__")
# The same rules for Arrow's RE2 kernels. `\s` of Python's str patterns, written out (a test checks every
# code point against `_SPACE_RUNS`); single spaces, most of any text, are left alone (replacing them by
# themselves made the pass 3x slower): runs starting with a space and another separator, or with any
# other separator, become one space.
_SEPARATORS = r"\t-\r\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\x{0}"
_RE2_SPACE_RUNS = rf"(?: [ {_SEPARATORS}]+|[{_SEPARATORS}][ {_SEPARATORS}]*)"
_RE2_LABEL_WORD = r"(^| )__label__"  # RE2 has no look-behind: the space is matched and put back


def fasttext_text(text: str | None) -> str:
    """`text` on one line: whitespace runs and NUL -> one space, ends stripped, label prefix defused."""
    if not text:
        return ""
    line = _SPACE_RUNS.sub(" ", text).strip()
    return _LABEL_WORD.sub("__label_", line)


def fasttext_line(label: str, text: str) -> str:
    """One training line, `__label__<label> <text>` (no trailing newline)."""
    if not label or _SPACE_RUNS.search(label):
        raise ValueError(f"a fastText label must be a non-empty word without spaces, got {label!r}")
    return f"{LABEL_PREFIX}{label} {fasttext_text(text)}"


def fasttext_texts(texts: pa.Array | pa.ChunkedArray) -> list[str]:
    """`fasttext_text` of every string of an Arrow string array (nulls give ""), computed by Arrow's
    kernels over the whole array (5x faster than `fasttext_text` per string: 0.10 s against 0.51 s for
    5,000 web pages of 2,000 characters)."""
    lines = pc.replace_substring_regex(texts, _RE2_SPACE_RUNS, " ")
    lines = pc.replace_substring_regex(pc.utf8_trim(lines, " "), _RE2_LABEL_WORD, r"\1__label_")
    return pc.fill_null(lines, "").to_pylist()

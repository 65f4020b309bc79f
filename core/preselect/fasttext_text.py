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

LABEL_PREFIX = "__label__"  # fastText's default label prefix (`-label`)
_SPACE_RUNS = re.compile(r"[\s\x00]+")
_LABEL_WORD = re.compile(r"(?:(?<= )|^)__label__")


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

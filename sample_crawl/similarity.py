"""How the ground truths measure similarity: dedup's own definition, on the extracted main text.

Both the sample crawl and the benchmark corpus record the Jaccard similarity of a near duplicate and
its base as `core.dedup.normalize.exact_jaccard` of the texts resiliparse extracts from the two
pages, which is what the dedup stage's exact verification computes (on silver text, see
docs/sample_crawl.md), so a recorded value can be compared with dedup's threshold directly.
"""
from __future__ import annotations

from core.dedup.normalize import exact_jaccard
from core.warc.extract import decode_html, html_to_text

JACCARD_DEFINITION = (
    "core.dedup.normalize.exact_jaccard of the resiliparse main-content texts: sets of word 5-grams "
    "after dedup's normalize_text (lowercase; diacritics and format characters dropped; numbers -> 0; "
    "punctuation, symbols, separators and control characters -> one space); 0.0 if both are empty"
)


def main_text(body: bytes, charset: str | None = None) -> str:
    """The main-content text bronze extracts from an HTML payload (resiliparse)."""
    decoded, _ = decode_html(body, charset)
    return html_to_text(decoded, "resiliparse").strip()


def page_jaccard(base_body: bytes, copy_body: bytes, charset: str | None = None) -> float:
    """Dedup's Jaccard of the main texts of two HTML payloads, rounded to 4 decimals."""
    return round(exact_jaccard(main_text(base_body, charset), main_text(copy_body, charset)), 4)

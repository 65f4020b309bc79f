"""The sample crawl's ground truth: what every record is, which pages are duplicates of which, how
similar documents are, and which pages the silver filters must reject.

Similarity is dedup's (`core.dedup.normalize`: word 5-gram sets of the normalized text, Jaccard), on
the main text resiliparse extracts from each page, as bronze does. Besides the labelled near
duplicates (a copy and its base), every pair of documents at or above `SIMILAR_PAIR_MIN_JACCARD` is
listed, labelled or not: real text overlaps (pydoc's `execmodel` topic contains its `naming` topic),
and a deduplicator is right to merge such pages.
"""
from __future__ import annotations

import datetime as dt
import itertools

from core.dedup.normalize import jaccard_of_sets, normalize_array, shingles
from sample_crawl.pages import SamplePage
from sample_crawl.similarity import JACCARD_DEFINITION, main_text

GROUND_TRUTH_FILE = "ground_truth.json"
SIMILAR_PAIR_MIN_JACCARD = 0.5  # pairs below this are not listed (far below any dedup threshold)


def document_shingles(pages: list[SamplePage]) -> dict[str, set]:
    """URL -> word 5-gram set of the extracted main text, for every page that becomes a document."""
    documents = [p for p in pages if p.expect_document]
    texts = [main_text(p.body, p.charset) for p in documents]
    normalized = normalize_array(texts).to_pylist()
    return {page.url: shingles(text) for page, text in zip(documents, normalized)}


def measure_near_duplicates(pages: list[SamplePage], shingle_sets: dict[str, set]) -> None:
    """Record on each labelled near duplicate its Jaccard with its base."""
    for page in pages:
        if page.category == "near_dup":
            similarity = jaccard_of_sets(shingle_sets[page.truth["near_dup_of"]], shingle_sets[page.url])
            page.truth["jaccard_5gram"] = round(similarity, 4)


def similar_document_pairs(shingle_sets: dict[str, set],
                           min_jaccard: float = SIMILAR_PAIR_MIN_JACCARD) -> list[dict]:
    """Every pair of documents with Jaccard >= min_jaccard, sorted: [{url_a, url_b, jaccard_5gram}]
    with url_a < url_b. Exact copies are included (Jaccard 1.0)."""
    pairs = []
    for (url_a, a), (url_b, b) in itertools.combinations(sorted(shingle_sets.items()), 2):
        smaller, larger = sorted((len(a), len(b)))
        if larger == 0 or smaller < min_jaccard * larger:  # J <= smaller / larger: cannot reach
            continue
        similarity = jaccard_of_sets(a, b)
        if similarity >= min_jaccard:
            pairs.append({"url_a": url_a, "url_b": url_b, "jaccard_5gram": round(similarity, 4)})
    return pairs


def truth_row(page: SamplePage, warc_file: str, fetch_time: dt.datetime) -> dict:
    """One record's row: where it was written, what it is, and its category-specific fields."""
    row = {"url": page.url, "category": page.category, "warc_file": warc_file,
           "fetch_time": fetch_time.strftime("%Y-%m-%dT%H:%M:%SZ"), "status": page.status,
           "content_type": page.content_type, "charset": page.charset, "language": page.language,
           "source": page.source, "expect_document": page.expect_document,
           "expected_reject": page.expected_reject, "n_words_source": len(page.text.split())}
    row.update(page.truth)
    return row


def ground_truth(rows: list[dict], similar_pairs: list[dict], crawl_id: str,
                 builder_version: str) -> dict:
    """The JSON document: counts, duplicates, similar pairs, expected rejects, and every page."""
    return {
        "crawl_id": crawl_id,
        "builder_version": builder_version,
        "jaccard_definition": JACCARD_DEFINITION,
        "n_records": len(rows),
        "n_documents_expected": sum(r["expect_document"] for r in rows),
        "counts_by_category": _count(r["category"] for r in rows),
        "documents_by_language": _count(r["language"] for r in rows
                                        if r["expect_document"] and r["language"]),
        "expected_rejects_by_cause": _count(r["expected_reject"] for r in rows if r["expected_reject"]),
        "exact_duplicates": sorted(({"url": r["url"], "duplicate_of": r["duplicate_of"]}
                                    for r in rows if "duplicate_of" in r), key=lambda r: r["url"]),
        "near_duplicates": sorted(({"url": r["url"], "near_dup_of": r["near_dup_of"],
                                    "mutation_fraction": r["mutation_fraction"],
                                    "jaccard_5gram": r["jaccard_5gram"]}
                                   for r in rows if "near_dup_of" in r), key=lambda r: r["url"]),
        "similar_pairs_min_jaccard": SIMILAR_PAIR_MIN_JACCARD,
        "similar_document_pairs": similar_pairs,
        "pages": sorted(rows, key=lambda r: r["url"]),
    }


def _count(values) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))

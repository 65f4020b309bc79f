"""Duplicates of articles with known ground truth: byte-identical copies and word-mutated copies."""
from __future__ import annotations

import dataclasses

from sample_crawl.mutation import mutate_words
from sample_crawl.pages.page import SamplePage, html_page
from sample_crawl.rendering import THEMES, slug

NEAR_DUP_FRACTIONS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.10, 0.20)  # share of words replaced
N_NEAR_DUP_BASES = 6
MIN_NEAR_DUP_BASE_WORDS = 300
N_EXACT_DUP_BASES = 10
EXACT_COPIES = 2
MIN_EXACT_DUP_BASE_WORDS = 150
EXACT_COPY_HOSTS = (THEMES["mirror"].host, "archive.devmirror.org")


def exact_duplicate_pages(articles: list[SamplePage]) -> list[SamplePage]:
    """Byte-identical copies of module articles served under other URLs (mirrors, archive copies)."""
    bases = _spread(_long([p for p in articles if p.source.startswith("docstring:")],
                          MIN_EXACT_DUP_BASE_WORDS), N_EXACT_DUP_BASES)
    copies = []
    for base in bases:
        path = base.url.split("/", 3)[3]
        for host in EXACT_COPY_HOSTS[:EXACT_COPIES]:
            copies.append(dataclasses.replace(base, url=f"http://{host}/{path}", category="exact_dup",
                                              truth={"duplicate_of": base.url}))
    return copies


def near_duplicate_pages(articles: list[SamplePage]) -> list[SamplePage]:
    """Copies of long pydoc articles with a known share of words replaced, on a content-farm blog."""
    bases = _spread(_long([p for p in articles if p.source.startswith("pydoc")],
                          MIN_NEAR_DUP_BASE_WORDS), N_NEAR_DUP_BASES)
    pages = []
    for base in bases:
        title = base.source.split(":", 1)[1].replace("-", " ").title()
        for fraction in NEAR_DUP_FRACTIONS:
            text = mutate_words(base.text, fraction, seed=base.url)
            url = f"https://{THEMES['blog'].host}/2024/08/{slug(title)}-{round(fraction * 1000):03d}"
            pages.append(html_page(url, "near_dup", THEMES["reference"], title, text,
                                   source=base.source, near_dup_of=base.url,
                                   mutation_fraction=fraction))
    return pages


def _long(articles: list[SamplePage], min_words: int) -> list[SamplePage]:
    return [p for p in articles if len(p.text.split()) >= min_words]


def _spread(pages: list[SamplePage], n: int) -> list[SamplePage]:
    """Up to n pages taken at an even stride through the list (deterministic, not all alike)."""
    return pages[::max(1, len(pages) // n)][:n]

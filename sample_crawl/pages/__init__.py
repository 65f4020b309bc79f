"""The pages of the sample crawl, one module per kind; `sample_pages()` lists them all."""
from __future__ import annotations

from sample_crawl.pages.articles import article_pages
from sample_crawl.pages.duplicates import exact_duplicate_pages, near_duplicate_pages
from sample_crawl.pages.low_quality import javascript_pages, lorem_pages, short_pages, spam_pages
from sample_crawl.pages.non_documents import http_error_pages, non_html_pages
from sample_crawl.pages.non_english import non_english_pages
from sample_crawl.pages.page import SamplePage


def sample_pages() -> list[SamplePage]:
    """All pages of the sample crawl, in category order (not yet spread over files)."""
    articles = article_pages()
    return (articles + exact_duplicate_pages(articles) + near_duplicate_pages(articles)
            + spam_pages(articles) + short_pages(articles) + lorem_pages() + javascript_pages()
            + non_english_pages() + http_error_pages() + non_html_pages())


__all__ = ["SamplePage", "sample_pages"]

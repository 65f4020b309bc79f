"""One record of the sample crawl: the response to write and its ground truth."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sample_crawl.rendering import SiteTheme, render_page, text_to_html


@dataclass
class SamplePage:
    """A page to write plus its ground truth.

    `truth` holds the category-specific ground-truth fields (`duplicate_of`, `near_dup_of`,
    `mutation_fraction`, `spam_kind`, ...); `jaccard_5gram` is filled in after rendering.
    `expected_reject` names why the silver filters must reject the page by construction
    (`not_english`, `too_short`, `repetitive`), or is None when nothing about the page demands it.
    """

    url: str
    category: str
    body: bytes
    status: int = 200
    content_type: str = "text/html; charset=UTF-8"
    language: str | None = "en"
    charset: str | None = "utf-8"
    source: str = ""
    expect_document: bool = True
    expected_reject: str | None = None
    extra_headers: tuple[tuple[str, str], ...] = ()
    truth: dict = dataclasses.field(default_factory=dict)
    text: str = ""  # the main text the HTML was built from (not written to the WARC)


def html_page(url: str, category: str, theme: SiteTheme, title: str, text: str, *,
              language: str = "en", charset: str = "utf-8", source: str = "",
              related: tuple[str, ...] = (), expected_reject: str | None = None,
              **truth) -> SamplePage:
    """A 200 HTML page: `text` rendered into `theme`'s chrome, encoded in `charset`, with the same
    charset declared in the Content-Type header and in <meta charset>."""
    html_doc = render_page(theme, title=title, main_html=text_to_html(text), lang=language,
                           charset=charset, related=related)
    header_charset = "UTF-8" if charset == "utf-8" else charset.upper()
    return SamplePage(
        url=url, category=category, body=html_doc.encode(charset, errors="xmlcharrefreplace"),
        content_type=f"text/html; charset={header_charset}", language=language, charset=charset,
        source=source, expected_reject=expected_reject, truth=truth, text=text,
    )

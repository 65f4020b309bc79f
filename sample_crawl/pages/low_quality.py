"""Pages a quality filter must reject: SEO spam, one-sentence pages, lorem ipsum, JavaScript shells.

Each carries `expected_reject`, why the silver filters must reject it by construction:
`repetitive` (keyword stuffing, one line repeated), `too_short` (one sentence, a link farm whose
extracted text is one line, an app shell) or `not_english` (lorem ipsum).
"""
from __future__ import annotations

import html
import json
import re

from sample_crawl.pages.page import SamplePage, html_page
from sample_crawl.rendering import THEMES, render_page, slug
from sample_crawl.text_sources import LOREM_IPSUM

N_PER_SPAM_KIND = 5
REPEATED_LINE_COPIES = 40
LINK_FARM_LINKS = 60
N_SHORT_PAGES = 20
APP_VIEWS = ("overview", "projects", "billing", "settings", "reports")


def spam_pages(articles: list[SamplePage]) -> list[SamplePage]:
    """SEO spam from real topic words: keyword stuffing, one line repeated, link farms."""
    keywords = [p.source.split(":", 1)[1] for p in articles if p.source.startswith("pydoc")]
    first_lines = [p.text.split("\n", 1)[0] for p in articles if p.source.startswith("docstring:")]
    return (keyword_stuffing_pages(keywords[:N_PER_SPAM_KIND])
            + repeated_line_pages(first_lines[:N_PER_SPAM_KIND])
            + link_farm_pages(keywords[N_PER_SPAM_KIND:2 * N_PER_SPAM_KIND]))


def keyword_stuffing_pages(keywords: list[str]) -> list[SamplePage]:
    theme, pages = THEMES["spam"], []
    for i, kw in enumerate(keywords):
        text = "\n\n".join(
            f"Best {kw} tutorial 2024. Cheap {kw} hosting. Free {kw} download. {kw} {kw} {kw} "
            f"online. Buy {kw} now, {kw} discount, {kw} coupon, {kw} review, top {kw} deals."
            for _ in range(12))
        pages.append(html_page(f"https://{theme.host}/{slug(kw)}-best-deals-{i}.html", "spam",
                               theme, f"BEST {kw.upper()} DEALS 2024", text, source="keyword_stuffing",
                               expected_reject="repetitive", spam_kind="keyword_stuffing"))
    return pages


def repeated_line_pages(lines: list[str]) -> list[SamplePage]:
    theme = THEMES["spam"]
    return [html_page(f"https://{theme.host}/repeat/{i}.html", "spam", theme, line[:60],
                      "\n\n".join([line] * REPEATED_LINE_COPIES), source="repeated_line",
                      expected_reject="repetitive", spam_kind="repeated_line")
            for i, line in enumerate(lines)]


def link_farm_pages(keywords: list[str]) -> list[SamplePage]:
    """A list of links the extractor reduces to one short line."""
    theme, pages = THEMES["spam"], []
    for kw in keywords:
        links = "".join(f'<li><a href="/go/{slug(kw)}-{j}">buy {html.escape(kw)} cheap online '
                        f"#{j}</a></li>" for j in range(LINK_FARM_LINKS))
        main = f"<p>Top {html.escape(kw)} links.</p><ul>{links}</ul>"
        body = render_page(theme, title=f"{kw} links", main_html=main)
        pages.append(SamplePage(url=f"https://links-{slug(kw)}.biz/index.html", category="spam",
                                body=body.encode(), source="link_farm", expected_reject="too_short",
                                truth={"spam_kind": "link_farm"}))
    return pages


def short_pages(articles: list[SamplePage]) -> list[SamplePage]:
    """Pages whose main text is one sentence: the first sentence of a module docstring."""
    theme, pages = THEMES["notes"], []
    docstrings = [p for p in articles if p.source.startswith("docstring:")]
    for page in docstrings[1::4][:N_SHORT_PAGES]:
        first_paragraph = " ".join(page.text.strip().split("\n\n")[0].split())
        sentence = re.split(r"(?<=[.!?])\s", first_paragraph, maxsplit=1)[0]
        module = page.source.split(":", 1)[1]
        pages.append(html_page(f"https://{theme.host}/snippets/{module}", "short", theme, module,
                               sentence, source=page.source, expected_reject="too_short"))
    return pages


def lorem_pages() -> list[SamplePage]:
    """Placeholder pages of a site under construction, one lorem ipsum paragraph each."""
    return [html_page(f"https://newsite-under-construction.com/page-{i}", "lorem", THEMES["blog"],
                      f"Coming soon {i}", paragraph, language="la", source="lorem_ipsum",
                      expected_reject="not_english")
            for i, paragraph in enumerate(LOREM_IPSUM)]


def javascript_pages() -> list[SamplePage]:
    """Single-page-app shells: megabytes of script in real life, a loading line in the markup."""
    theme = THEMES["app"]
    main = ('<div id="root"><p class="loading">Loading your dashboard, please wait.</p></div>'
            "<noscript>You need to enable JavaScript to run this app.</noscript>")
    pages = []
    for i, view in enumerate(APP_VIEWS):
        body = render_page(theme, title=view.title(), main_html=main, head_extra=_app_scripts(i, view))
        pages.append(SamplePage(url=f"https://{theme.host}/{view}", category="javascript",
                                body=body.encode(), source="spa_shell", expected_reject="too_short"))
    return pages


def _app_scripts(index: int, view: str) -> str:
    """An inline app config, twelve bundled chunks and a boot script."""
    config = json.dumps({"route": f"/{view}", "build": f"2024.08.{index}", "features":
                         {"darkMode": True, "betaCharts": index % 2 == 0}}, sort_keys=True)
    return (f"<script>window.__APP_CONFIG__ = {config};</script>\n"
            + "".join(f'<script src="/static/js/chunk-{view}-{j}.{j * 7919 % 9973:04x}.js" '
                      "defer></script>\n" for j in range(12))
            + "<script>(function(){var r=document.getElementById('root');"
            "if(!r){return;}r.setAttribute('data-ready','0');"
            "window.addEventListener('load',function(){r.setAttribute('data-ready','1');});"
            "})();</script>")

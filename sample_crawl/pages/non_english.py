"""Non-English pages: CJK prose from CPython's codec tests and CLDR name lists in 16 languages,
some declared in legacy charsets (in the HTTP header and in <meta charset>)."""
from __future__ import annotations

from sample_crawl.pages.page import SamplePage, html_page
from sample_crawl.rendering import THEMES
from sample_crawl.text_sources import babel_name_lists, cjk_texts, fallback_cjk_text

BABEL_LOCALES = ("de", "fr", "es", "it", "pt", "nl", "pl", "ru", "tr", "sv", "cs", "da", "fi",
                 "hu", "ro", "el")
# Legacy charsets declared in the HTTP header: language or page key -> charset.
LEGACY_CHARSETS = {"ja": "shift_jis", "zh": "gb2312", "zh-Hant": "big5", "ko": "euc-kr",
                   "ru": "windows-1251", "de": "iso-8859-1"}
CJK_TITLES = {"ja": "Python の開発", "zh": "Python 语言",
              "zh-Hant": "如何在 Python 中使用既有的 C library", "ko": "파이썬"}


def non_english_pages() -> list[SamplePage]:
    """Four CJK pages, then two CLDR pages (territories, languages) per Babel locale."""
    return cjk_pages() + cldr_pages()


def cjk_pages() -> list[SamplePage]:
    """Japanese, simplified and traditional Chinese, Korean; each in its legacy charset."""
    theme, texts, pages = THEMES["atlas"], cjk_texts(), []
    for key in ("ja", "zh", "zh-Hant", "ko"):
        text = texts.get(key) or fallback_cjk_text(key)
        source = "cpython:test/cjkencodings" if key in texts else "babel:territories"
        pages.append(html_page(f"https://{key.lower()}.python-users.org/about.html", "non_english",
                               theme, CJK_TITLES[key], text, language=key.split("-")[0],
                               charset=LEGACY_CHARSETS[key], source=source,
                               expected_reject="not_english", script=key))
    return pages


def cldr_pages() -> list[SamplePage]:
    """Country and language names per locale; the first page of a locale in its legacy charset."""
    theme, pages = THEMES["atlas"], []
    for code in BABEL_LOCALES:
        for i, (title, text) in enumerate(babel_name_lists(code)):
            charset = LEGACY_CHARSETS.get(code, "utf-8") if i == 0 else "utf-8"
            pages.append(html_page(f"https://{code}.{theme.host}/{('territories', 'languages')[i]}",
                                   "non_english", theme, title, text, language=code,
                                   charset=charset, source=f"babel:{code}",
                                   expected_reject="not_english"))
    return pages

"""The embedded default crawl `CC-MAIN-SAMPLE`: a small local mirror in Common Crawl's layout.

`build_sample_mirror(dest)` writes

    dest/crawl-data/CC-MAIN-SAMPLE/warc.paths.gz          gzip text, one relative WARC path a line
    dest/crawl-data/CC-MAIN-SAMPLE/segments/<seg>/warc/CC-MAIN-...-0000N.warc.gz   (4 files)
    dest/crawl-data/CC-MAIN-SAMPLE/ground_truth.json      what every URL is, and which are duplicates
    dest/crawl-data/CC-MAIN-SAMPLE/_BUILT                 marker with the builder version

Every text is real text that ships with Python or with the project's runtime dependencies, read at
build time (nothing is downloaded): pydoc topics, standard-library module docstrings, Python's
licence, the CJK sample texts of CPython's codec tests, and Babel's CLDR data for other languages.
It is wrapped in realistic page chrome (navigation, cookie banner, sidebar, footer, scripts) so
main-content extraction has something to remove, and mixed with the cases later stages must handle:
exact and near duplicates at known levels, spam, very short pages, lorem ipsum, JavaScript shells,
non-English pages, legacy charsets, non-200 and non-HTML records. See docs/sample_crawl.md.

The helpers for words, shingles, mutation and page chrome are public: the benchmark corpus builder
(bench/build_corpus.py) uses the same ones.
"""
from __future__ import annotations

import ast
import inspect
import dataclasses
import datetime as dt
import gzip
import html
import json
import os
import random
import re
import shutil
import sysconfig
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from contract.tables import SAMPLE_CRAWL_ID
from core.warc.extract import html_to_text
from core.warc.writer import Page, tiny_pdf, tiny_png, write_warc

# Bump when the content or layout changes: a mirror with another version is rebuilt.
BUILDER_VERSION = "2"
MARKER = "_BUILT"
SEED = 20240803
CRAWL_START = dt.datetime(2024, 8, 3, 0, 31, 22, tzinfo=dt.timezone.utc)
N_FILES = 4
SEGMENTS = ("1722640350571.10", "1722640351012.42")

# The texts a reader of the ground truth needs to know how the near duplicates were made.
NEAR_DUP_FRACTIONS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.10, 0.20)  # share of words replaced
N_NEAR_DUP_BASES = 6
N_EXACT_DUP_BASES = 10
EXACT_COPIES = 2
SHINGLE_SIZE = 5

BABEL_LOCALES = ("de", "fr", "es", "it", "pt", "nl", "pl", "ru", "tr", "sv", "cs", "da", "fi",
                 "hu", "ro", "el")
# Legacy charsets declared in the HTTP header: language or page key -> charset.
LEGACY_CHARSETS = {"ja": "shift_jis", "zh": "gb2312", "zh-Hant": "big5", "ko": "euc-kr",
                   "ru": "windows-1251", "de": "iso-8859-1"}

# The standard filler text (Cicero, de finibus, as typesetters have used it since the 1500s).
LOREM_IPSUM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut "
    "labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco "
    "laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in "
    "voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat "
    "non proident, sunt in culpa qui officia deserunt mollit anim id est laborum.",
    "Sed ut perspiciatis unde omnis iste natus error sit voluptatem accusantium doloremque "
    "laudantium, totam rem aperiam, eaque ipsa quae ab illo inventore veritatis et quasi architecto "
    "beatae vitae dicta sunt explicabo. Nemo enim ipsam voluptatem quia voluptas sit aspernatur aut "
    "odit aut fugit, sed quia consequuntur magni dolores eos qui ratione voluptatem sequi nesciunt.",
    "At vero eos et accusamus et iusto odio dignissimos ducimus qui blanditiis praesentium "
    "voluptatum deleniti atque corrupti quos dolores et quas molestias excepturi sint occaecati "
    "cupiditate non provident, similique sunt in culpa qui officia deserunt mollitia animi, id est "
    "laborum et dolorum fuga.",
)


# --------------------------------------------------------------------------------------------
# Words, shingles and controlled mutation (shared with bench/build_corpus.py)
# --------------------------------------------------------------------------------------------

def normalize_words(text: str) -> list[str]:
    """Lowercase, punctuation (Unicode category P*) replaced by spaces, split on whitespace."""
    lowered = text.lower()
    stripped = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in lowered)
    return stripped.split()


def word_shingles(text: str, size: int = SHINGLE_SIZE) -> set[tuple[str, ...]]:
    """Word n-grams of the normalised text; a text shorter than n words is one shingle."""
    words = normalize_words(text)
    if len(words) < size:
        return {tuple(words)} if words else set()
    return {tuple(words[i:i + size]) for i in range(len(words) - size + 1)}


def jaccard(a: str, b: str, size: int = SHINGLE_SIZE) -> float:
    """Jaccard similarity of the word n-gram sets of two texts (1.0 for two empty texts)."""
    left, right = word_shingles(a, size), word_shingles(b, size)
    union = left | right
    return len(left & right) / len(union) if union else 1.0


_WORD = re.compile(r"\S+")


def mutate_words(text: str, fraction: float, seed: int | str) -> str:
    """Replace `fraction` of the whitespace-separated words by other words of the same text.

    Whitespace (paragraph breaks included) is kept; the positions and replacements come from a
    generator seeded with `seed`, so the result is deterministic. A replacement always differs
    from the word it replaces after normalisation.
    """
    spans = [m.span() for m in _WORD.finditer(text)]
    if not spans or fraction <= 0:
        return text
    rng = random.Random(f"mutate:{seed}:{fraction}")
    count = max(1, round(fraction * len(spans)))
    chosen = sorted(rng.sample(range(len(spans)), min(count, len(spans))))
    vocabulary = sorted({text[s:e] for s, e in spans})
    pieces, last = [], 0
    for index in chosen:
        start, end = spans[index]
        original = text[start:end]
        replacement = _different_word(original, vocabulary, rng)
        pieces += [text[last:start], replacement]
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _different_word(original: str, vocabulary: list[str], rng: random.Random) -> str:
    key = normalize_words(original)
    for _ in range(20):
        candidate = rng.choice(vocabulary)
        if normalize_words(candidate) != key:
            return candidate
    return original + "s" if key else "words"


# --------------------------------------------------------------------------------------------
# Page chrome: realistic boilerplate around a main text (shared with bench/build_corpus.py)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SiteTheme:
    name: str
    host: str
    nav: tuple[str, ...]
    sidebar_title: str
    footer: str
    cookie_banner: bool = True
    analytics: bool = True


THEMES = {
    "reference": SiteTheme("PyReference", "docs.pyreference.net",
                           ("Home", "Tutorial", "Library", "Language Reference", "FAQ", "Download"),
                           "More in this section", "PyReference is a community documentation site."),
    "notes": SiteTheme("Stdlib Notes", "www.stdlib-notes.org",
                       ("Home", "Modules", "Recipes", "Blog", "Newsletter", "About"),
                       "Popular modules", "Stdlib Notes. Written by volunteers, hosted by friends."),
    "legal": SiteTheme("Open Source Legal", "opensource-legal.info",
                       ("Licences", "Compare", "FAQ", "Contact"),
                       "Other licences", "Not legal advice. Ask a lawyer.", analytics=False),
    "mirror": SiteTheme("DevMirror", "pyref-mirror.com",
                        ("Home", "Docs", "Search", "Donate"), "Mirrored pages",
                        "This mirror is updated nightly."),
    "blog": SiteTheme("Code Snippets Blog", "blog.codesnippets.io",
                      ("Home", "Python", "JavaScript", "DevOps", "Write for us", "Subscribe"),
                      "Trending posts", "Code Snippets Blog. Affiliate links may earn us a commission."),
    "atlas": SiteTheme("World Names", "world-names.org",
                       ("Start", "Atlas", "Languages", "Calendar"), "Browse", "World Names, CLDR data."),
    "spam": SiteTheme("BEST DEALS 2024", "best-python-hosting-deals.biz",
                      ("Deals", "Coupons", "Top 10", "Reviews"), "Hot offers",
                      "All trademarks belong to their owners.", cookie_banner=False),
    "app": SiteTheme("CloudBoard", "app.cloudboard-dashboard.io",
                     ("Dashboard", "Projects", "Billing", "Sign in"), "Shortcuts",
                     "CloudBoard Inc.", cookie_banner=True),
}

_COOKIE_BANNER = (
    '<div id="cookie-consent" class="cookie-banner" role="dialog">'
    "<p>We use cookies to personalise content and ads, to provide social media features and to "
    "analyse our traffic. By clicking Accept all you agree to the storing of cookies on your device."
    '</p><button class="accept">Accept all</button><button class="reject">Reject</button>'
    '<a href="/privacy">Privacy policy</a></div>'
)
_ANALYTICS = (
    "<script async src=\"https://www.googletagmanager.com/gtag/js?id=G-5X2K9PL7QE\"></script>\n"
    "<script>window.dataLayer = window.dataLayer || [];function gtag(){dataLayer.push(arguments);}"
    "gtag('js', new Date());gtag('config', 'G-5X2K9PL7QE', {anonymize_ip: true});</script>"
)


def text_to_html(text: str) -> str:
    """Main text as HTML: blank-line separated paragraphs become <p>, indented blocks <pre>."""
    blocks = [b for b in re.split(r"\n\s*\n", text.strip("\n")) if b.strip()]
    out = []
    for block in blocks:
        lines = block.split("\n")
        if all(line.startswith("   ") or not line.strip() for line in lines):
            out.append("<pre><code>" + html.escape("\n".join(lines)) + "</code></pre>")
        else:
            out.append("<p>" + html.escape(" ".join(line.strip() for line in lines)) + "</p>")
    return "\n".join(out)


def render_page(theme: SiteTheme, *, title: str, main_html: str, lang: str = "en",
                charset: str = "utf-8", related: tuple[str, ...] = (), head_extra: str = "") -> str:
    """A whole HTML document: header and navigation, cookie banner, main article, sidebar, footer."""
    nav = "".join(f'<li><a href="/{_slug(item)}/">{html.escape(item)}</a></li>' for item in theme.nav)
    side = "".join(f'<li><a href="/{_slug(r)}">{html.escape(r)}</a></li>' for r in related)
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="{charset}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} | {html.escape(theme.name)}</title>
<link rel="stylesheet" href="/static/css/main.3f9a1c.css">
{_ANALYTICS if theme.analytics else ""}{head_extra}
</head>
<body>
{_COOKIE_BANNER if theme.cookie_banner else ""}
<header class="site-header"><a class="logo" href="/">{html.escape(theme.name)}</a>
<nav class="main-nav"><ul>{nav}</ul></nav>
<form class="search" action="/search"><input type="search" name="q" placeholder="Search"></form>
</header>
<div class="breadcrumbs"><a href="/">Home</a> &rsaquo; {html.escape(title)}</div>
<main id="content">
<article>
<h1>{html.escape(title)}</h1>
{main_html}
</article>
</main>
<aside class="sidebar"><h3>{html.escape(theme.sidebar_title)}</h3><ul>{side}</ul>
<div class="newsletter"><h4>Newsletter</h4><p>Get the best articles in your inbox every week.</p>
<input type="email" placeholder="you@example.com"><button>Subscribe</button></div></aside>
<footer class="site-footer"><p>&copy; 2024 {html.escape(theme.footer)}</p>
<ul><li><a href="/about">About</a></li><li><a href="/privacy">Privacy</a></li>
<li><a href="/terms">Terms of use</a></li><li><a href="/contact">Contact</a></li></ul></footer>
</body>
</html>
"""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "page"


# --------------------------------------------------------------------------------------------
# Sources of real text
# --------------------------------------------------------------------------------------------

def _stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


_ALPHA = re.compile(r"[^\W\d_]")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def prose_only(text: str) -> str:
    """The prose paragraphs of a documentation text, each unwrapped onto one line.

    Indented blocks (code, grammar, tables) and paragraphs that are mostly symbols are dropped, so an
    "article" reads like a web article rather than a code listing, which FineWeb's filters would
    rightly reject; hard-wrapped lines are joined, as a browser renders a paragraph.
    """
    kept = []
    for block in re.split(r"\n\s*\n", text):
        if not block.strip() or block[:1] in (" ", "\t"):
            continue
        paragraph = " ".join(line.strip() for line in block.splitlines())
        tokens = _TOKEN.findall(paragraph)  # punctuation marks count as tokens, as in spaCy
        alpha = sum(1 for t in tokens if _ALPHA.search(t))
        if alpha / len(tokens) >= 0.85 and not set("{}[]<>=|`*") & set(paragraph):
            kept.append(paragraph)
    return "\n\n".join(kept)


def pydoc_topics(min_words: int = 60) -> list[tuple[str, str]]:
    """(topic, prose of the text) of Python's help topics (pydoc_data.topics), sorted by topic."""
    from pydoc_data.topics import topics

    found = ((name, prose_only(text)) for name, text in topics.items())
    return sorted((name, text) for name, text in found if len(text.split()) >= min_words)


_DOCSTRING = re.compile(r"\A(?:\s*#[^\n]*\n|\s)*([rRuU]?(?:\"\"\"|''')[\s\S]*?(?:\"\"\"|'''))")
_SKIP_STDLIB = {"test", "tests", "idlelib", "lib2to3", "site-packages", "dist-packages",
                "turtledemo", "ensurepip", "tkinter", "__phello__", "__pycache__"}


def module_docstrings(min_words: int = 60) -> list[tuple[str, str]]:
    """(module, prose) of standard-library modules: the module docstring followed by the prose of
    its public classes' and functions' docstrings, as a module's reference page reads; sorted."""
    root = _stdlib_dir()
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIP_STDLIB and not d.startswith("test"))
        for name in sorted(files):
            if not name.endswith(".py") or name.startswith("test"):
                continue
            path = Path(directory, name)
            try:
                tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
            except (SyntaxError, ValueError):
                continue
            docs = [ast.get_docstring(tree)] + [
                ast.get_docstring(node) for node in tree.body
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")
            ]
            text = "\n\n".join(prose_only(inspect.cleandoc(d)) for d in docs if d)
            text = re.sub(r"\n{3,}", "\n\n", text).strip()
            if len(text.split()) >= min_words:
                module = ".".join(path.relative_to(root).with_suffix("").parts)
                found.append((module.removesuffix(".__init__"), text))
    return sorted(found)


def _dedent_docstring(doc: str) -> str:
    import inspect

    return inspect.cleandoc(doc)


def python_license_sections() -> list[tuple[str, str]]:
    """(heading, text) of the sections of Python's LICENSE.txt that have a dashed heading."""
    path = _stdlib_dir() / "LICENSE.txt"
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    parts = re.split(r"\n([A-Z][A-Z0-9 .,()/-]{8,})\n-{5,}\n", "\n" + text)
    return [(parts[i].strip().title(), parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)
            if len(parts[i + 1].split()) >= 40]


def cjk_texts() -> dict[str, str]:
    """Real Japanese, Chinese and Korean prose from CPython's codec tests, when installed."""
    folder = _stdlib_dir() / "test" / "cjkencodings"
    wanted = {"ja": "shift_jis-utf8.txt", "zh": "gb2312-utf8.txt", "zh-Hant": "big5-utf8.txt",
              "ko": "euc_kr-utf8.txt"}
    texts = {}
    for key, name in wanted.items():
        path = folder / name
        if path.exists():
            raw = path.read_bytes().decode("utf-8", errors="replace")
            lines = [line for line in raw.splitlines() if "\ufffd" not in line]
            texts[key] = "\n".join(lines).strip()
    return texts


def babel_name_lists(locale_code: str) -> list[tuple[str, str]]:
    """Two pages of real text in a language from Babel's CLDR data: countries and languages."""
    from babel import Locale
    from babel.lists import format_list

    locale = Locale.parse(locale_code)

    def prose(names: list[str]) -> str:
        chunks = [names[i:i + 12] for i in range(0, len(names), 12)]
        return "\n\n".join(format_list(chunk, locale=locale) + "." for chunk in chunks if len(chunk) > 1)

    territories = sorted(n for code, n in locale.territories.items() if code.isalpha())
    languages = sorted(n for code, n in locale.languages.items() if len(code) == 2)
    world = locale.territories.get("001", locale_code)
    return [(f"{locale.display_name}: {world}", prose(territories)),
            (f"{locale.display_name}: {locale.languages.get(locale_code, locale_code)}",
             prose(languages))]


def fallback_cjk_text(key: str) -> str:
    """Babel's country names for a CJK language when CPython's test texts are not installed."""
    return babel_name_lists({"zh-Hant": "zh_Hant"}.get(key, key))[0][1]


# --------------------------------------------------------------------------------------------
# The pages
# --------------------------------------------------------------------------------------------

@dataclass
class SamplePage:
    """A page to write plus its ground truth."""

    url: str
    category: str
    body: bytes
    status: int = 200
    content_type: str = "text/html; charset=UTF-8"
    language: str | None = "en"
    charset: str | None = "utf-8"
    source: str = ""
    expect_document: bool = True
    extra_headers: tuple[tuple[str, str], ...] = ()
    truth: dict = dataclasses.field(default_factory=dict)
    text: str = ""  # the main text the HTML was built from (not written to the WARC)


def _html_page(url, category, theme, title, text, *, language="en", charset="utf-8", source="",
               related=(), **truth) -> SamplePage:
    html_doc = render_page(theme, title=title, main_html=text_to_html(text), lang=language,
                           charset=charset, related=related)
    return SamplePage(
        url=url, category=category, body=html_doc.encode(charset, errors="xmlcharrefreplace"),
        content_type=f"text/html; charset={charset.upper() if charset != 'utf-8' else 'UTF-8'}",
        language=language, charset=charset, source=source, truth=truth, text=text,
    )


def article_pages() -> list[SamplePage]:
    """Clean English articles: pydoc topics, module docstrings, Python's licence sections."""
    pages = []
    topics = pydoc_topics()
    titles = tuple(name for name, _ in topics[:8])
    for name, text in topics:
        pages.append(_html_page(f"https://{THEMES['reference'].host}/reference/{_slug(name)}.html",
                                "article", THEMES["reference"], name.replace("-", " ").title(), text,
                                source=f"pydoc_data.topics:{name}", related=titles))
    modules = module_docstrings()
    related = tuple(name for name, _ in modules[:6])
    for module, text in modules:
        pages.append(_html_page(f"https://{THEMES['notes'].host}/modules/{module}/", "article",
                                THEMES["notes"], f"The {module} module", text,
                                source=f"docstring:{module}", related=related))
    for heading, text in python_license_sections():
        pages.append(_html_page(f"https://{THEMES['legal'].host}/python/{_slug(heading)}",
                                "article", THEMES["legal"], heading, text,
                                source=f"LICENSE.txt:{heading}"))
    return pages


def _long_articles(articles: list[SamplePage], min_words: int) -> list[SamplePage]:
    return [p for p in articles if len(p.text.split()) >= min_words]


def exact_duplicate_pages(articles: list[SamplePage]) -> list[SamplePage]:
    """Byte-identical copies of articles served under other URLs (mirrors, archive copies)."""
    bases = _long_articles([p for p in articles if p.source.startswith("docstring:")], 150)
    bases = bases[::max(1, len(bases) // N_EXACT_DUP_BASES)][:N_EXACT_DUP_BASES]
    copies = []
    hosts = (THEMES["mirror"].host, "archive.devmirror.org")
    for base in bases:
        path = base.url.split("/", 3)[3]
        for host in hosts[:EXACT_COPIES]:
            copies.append(dataclasses.replace(
                base, url=f"http://{host}/{path}", category="exact_dup",
                truth={"duplicate_of": base.url}))
    return copies


def near_duplicate_pages(articles: list[SamplePage]) -> list[SamplePage]:
    """Copies of articles with a known share of words replaced, on a content-farm blog."""
    bases = _long_articles([p for p in articles if p.source.startswith("pydoc")], 300)
    bases = bases[::max(1, len(bases) // N_NEAR_DUP_BASES)][:N_NEAR_DUP_BASES]
    pages = []
    for base in bases:
        title = base.source.split(":", 1)[1].replace("-", " ").title()
        for fraction in NEAR_DUP_FRACTIONS:
            text = mutate_words(base.text, fraction, seed=base.url)
            url = f"https://{THEMES['blog'].host}/2024/08/{_slug(title)}-{round(fraction * 1000):03d}"
            pages.append(_html_page(url, "near_dup", THEMES["reference"], title, text,
                                    source=base.source, near_dup_of=base.url,
                                    mutation_fraction=fraction))
    return pages


def spam_pages(articles: list[SamplePage]) -> list[SamplePage]:
    """SEO spam: keyword stuffing, one line repeated, and link farms, from real topic words."""
    keywords = [p.source.split(":", 1)[1] for p in articles if p.source.startswith("pydoc")][:15]
    theme, pages = THEMES["spam"], []
    for i, kw in enumerate(keywords[:5]):
        text = "\n\n".join(
            f"Best {kw} tutorial 2024. Cheap {kw} hosting. Free {kw} download. {kw} {kw} {kw} "
            f"online. Buy {kw} now, {kw} discount, {kw} coupon, {kw} review, top {kw} deals."
            for _ in range(12))
        pages.append(_html_page(f"https://{theme.host}/{_slug(kw)}-best-deals-{i}.html", "spam",
                                theme, f"BEST {kw.upper()} DEALS 2024", text,
                                source="keyword_stuffing", spam_kind="keyword_stuffing"))
    first_lines = [p.text.split("\n", 1)[0] for p in articles if p.source.startswith("docstring:")]
    for i, line in enumerate(first_lines[:5]):
        text = "\n\n".join([line] * 40)
        pages.append(_html_page(f"https://{theme.host}/repeat/{i}.html", "spam", theme,
                                line[:60], text, source="repeated_line", spam_kind="repeated_line"))
    for i, kw in enumerate(keywords[5:10]):
        links = "".join(f'<li><a href="/go/{_slug(kw)}-{j}">buy {html.escape(kw)} cheap online '
                        f"#{j}</a></li>" for j in range(60))
        main = f"<p>Top {html.escape(kw)} links.</p><ul>{links}</ul>"
        body = render_page(theme, title=f"{kw} links", main_html=main)
        pages.append(SamplePage(url=f"https://links-{_slug(kw)}.biz/index.html", category="spam",
                                body=body.encode(), source="link_farm",
                                truth={"spam_kind": "link_farm"}))
    return pages


def short_pages(articles: list[SamplePage]) -> list[SamplePage]:
    """Pages whose main text is one sentence: the first sentence of a module docstring."""
    pages = []
    docstrings = [p for p in articles if p.source.startswith("docstring:")]
    for page in docstrings[1::4][:20]:
        first_paragraph = " ".join(page.text.strip().split("\n\n")[0].split())
        sentence = re.split(r"(?<=[.!?])\s", first_paragraph, maxsplit=1)[0]
        module = page.source.split(":", 1)[1]
        pages.append(_html_page(f"https://{THEMES['notes'].host}/snippets/{module}", "short",
                                THEMES["notes"], module, sentence, source=page.source))
    return pages


def lorem_pages() -> list[SamplePage]:
    """Placeholder pages of a site under construction."""
    return [_html_page(f"https://newsite-under-construction.com/page-{i}", "lorem",
                       THEMES["blog"], f"Coming soon {i}", paragraph, language="la",
                       source="lorem_ipsum")
            for i, paragraph in enumerate(LOREM_IPSUM)]


def javascript_pages() -> list[SamplePage]:
    """Single-page-app shells: megabytes of script in real life, a loading line in the markup."""
    theme, pages = THEMES["app"], []
    for i, view in enumerate(("overview", "projects", "billing", "settings", "reports")):
        config = json.dumps({"route": f"/{view}", "build": f"2024.08.{i}", "features":
                             {"darkMode": True, "betaCharts": i % 2 == 0}}, sort_keys=True)
        scripts = (f"<script>window.__APP_CONFIG__ = {config};</script>\n"
                   + "".join(f'<script src="/static/js/chunk-{view}-{j}.{j * 7919 % 9973:04x}.js" '
                             "defer></script>\n" for j in range(12))
                   + "<script>(function(){var r=document.getElementById('root');"
                   "if(!r){return;}r.setAttribute('data-ready','0');"
                   "window.addEventListener('load',function(){r.setAttribute('data-ready','1');});"
                   "})();</script>")
        main = ('<div id="root"><p class="loading">Loading your dashboard, please wait.</p></div>'
                "<noscript>You need to enable JavaScript to run this app.</noscript>")
        body = render_page(theme, title=view.title(), main_html=main, head_extra=scripts)
        pages.append(SamplePage(url=f"https://{theme.host}/{view}", category="javascript",
                                body=body.encode(), source="spa_shell"))
    return pages


def non_english_pages() -> list[SamplePage]:
    """CJK prose from CPython's codec tests and CLDR name lists in sixteen languages."""
    pages, theme = [], THEMES["atlas"]
    texts = cjk_texts()
    titles = {"ja": "Python の開発", "zh": "Python 语言", "zh-Hant": "如何在 Python 中使用既有的 C library",
              "ko": "파이썬", }
    for key in ("ja", "zh", "zh-Hant", "ko"):
        text = texts.get(key) or fallback_cjk_text(key)
        source = "cpython:test/cjkencodings" if key in texts else "babel:territories"
        charset = LEGACY_CHARSETS[key]
        pages.append(_html_page(f"https://{key.lower()}.python-users.org/about.html", "non_english",
                                theme, titles[key], text, language=key.split("-")[0],
                                charset=charset, source=source, script=key))
    for code in BABEL_LOCALES:
        for i, (title, text) in enumerate(babel_name_lists(code)):
            charset = LEGACY_CHARSETS.get(code, "utf-8") if i == 0 else "utf-8"
            pages.append(_html_page(f"https://{code}.{theme.host}/{('territories', 'languages')[i]}",
                                    "non_english", theme, title, text, language=code,
                                    charset=charset, source=f"babel:{code}"))
    return pages


def http_error_pages() -> list[SamplePage]:
    """Non-200 answers: redirects with empty bodies, error pages with HTML bodies."""
    host = THEMES["notes"].host
    not_found = render_page(THEMES["notes"], title="Page not found",
                            main_html="<p>Sorry, the page you are looking for does not exist.</p>")
    specs = [
        (301, "http://stdlib-notes.org/", b"", "", (("Location", f"https://{host}/"),)),
        (302, f"https://{host}/login?next=/account", b"", "", (("Location", f"https://{host}/login"),)),
        (404, f"https://{host}/modules/missing-module/", not_found.encode(), "text/html; charset=UTF-8", ()),
        (403, f"https://{THEMES['legal'].host}/admin/", b"<html><body><h1>403 Forbidden</h1></body></html>",
         "text/html", ()),
        (500, f"https://{THEMES['app'].host}/api/export", b"Internal Server Error", "text/plain", ()),
        (503, f"https://{THEMES['blog'].host}/2024/08/maintenance",
         b"<html><body><h1>Service Unavailable</h1><p>Back soon.</p></body></html>", "text/html",
         (("Retry-After", "3600"),)),
    ]
    return [SamplePage(url=url, category="http_error", body=body, status=status,
                       content_type=ctype, language=None, charset=None, expect_document=False,
                       extra_headers=headers, source=f"http_{status}")
            for status, url, body, ctype, headers in specs]


def non_html_pages() -> list[SamplePage]:
    """200 answers that are not HTML: PDF, images, JSON, plain text, CSS."""
    host = THEMES["legal"].host
    specs = [
        (f"https://{host}/downloads/psf-license.pdf", tiny_pdf("Python Software Foundation License"),
         "application/pdf"),
        (f"https://{host}/downloads/annual-report-2023.pdf", tiny_pdf("Annual report 2023"),
         "application/pdf"),
        (f"https://{THEMES['blog'].host}/images/logo.png", tiny_png(), "image/png"),
        (f"https://{THEMES['atlas'].host}/flags/world.png", tiny_png(3, 2, (20, 90, 200)), "image/png"),
        (f"https://{THEMES['app'].host}/api/status.json",
         json.dumps({"status": "ok", "version": "2024.08.1"}, sort_keys=True).encode(),
         "application/json"),
        (f"https://{THEMES['reference'].host}/static/css/main.3f9a1c.css",
         b"body{font-family:sans-serif;margin:0}.site-header{background:#306998}", "text/css"),
    ]
    return [SamplePage(url=url, category="non_html", body=body, content_type=ctype, language=None,
                       charset=None, expect_document=False, source=ctype)
            for url, body, ctype in specs]


def sample_pages() -> list[SamplePage]:
    """All pages of the sample crawl, in category order (not yet spread over files)."""
    articles = article_pages()
    return (articles + exact_duplicate_pages(articles) + near_duplicate_pages(articles)
            + spam_pages(articles) + short_pages(articles) + lorem_pages() + javascript_pages()
            + non_english_pages() + http_error_pages() + non_html_pages())


def measure_near_duplicates(pages: list[SamplePage]) -> None:
    """Fill in the actual word-5-gram Jaccard, on the text the extractor returns, for near dups."""
    by_url = {p.url: p for p in pages}
    extracted: dict[str, str] = {}

    def text_of(page: SamplePage) -> str:
        if page.url not in extracted:
            extracted[page.url] = html_to_text(page.body.decode(page.charset or "utf-8"), "resiliparse")
        return extracted[page.url]

    for page in pages:
        if page.category == "near_dup":
            base = by_url[page.truth["near_dup_of"]]
            page.truth["jaccard_5gram"] = round(jaccard(text_of(base), text_of(page)), 4)


# --------------------------------------------------------------------------------------------
# Layout and writing
# --------------------------------------------------------------------------------------------

def warc_relative_paths(crawl_id: str = SAMPLE_CRAWL_ID, n_files: int = N_FILES,
                        segments: tuple[str, ...] = SEGMENTS,
                        start: dt.datetime = CRAWL_START) -> list[str]:
    """Common Crawl style paths: crawl-data/<crawl>/segments/<seg>/warc/CC-MAIN-<t0>-<t1>-NNNNN.warc.gz"""
    begin = start.strftime("%Y%m%d%H%M%S")
    end = (start + dt.timedelta(hours=3)).strftime("%Y%m%d%H%M%S")
    return [f"crawl-data/{crawl_id}/segments/{segments[i * len(segments) // n_files]}/warc/"
            f"CC-MAIN-{begin}-{end}-{i:05d}.warc.gz" for i in range(n_files)]


def assign_to_files(pages: list, n_files: int, seed: int | str) -> list[list]:
    """Shuffle pages deterministically and cut them into n contiguous, near-equal groups."""
    order = list(pages)
    random.Random(seed).shuffle(order)
    size, extra = divmod(len(order), n_files)
    groups, start = [], 0
    for i in range(n_files):
        stop = start + size + (1 if i < extra else 0)
        groups.append(order[start:stop])
        start = stop
    return groups


def write_paths_file(path: Path, relative_paths: list[str]) -> None:
    """warc.paths.gz: gzip text (mtime 0), one path a line."""
    path.write_bytes(gzip.compress(("\n".join(relative_paths) + "\n").encode(), mtime=0))


def _truth_row(page: SamplePage, warc_file: str, fetch_time: dt.datetime) -> dict:
    row = {"url": page.url, "category": page.category, "warc_file": warc_file,
           "fetch_time": fetch_time.strftime("%Y-%m-%dT%H:%M:%SZ"), "status": page.status,
           "content_type": page.content_type, "charset": page.charset, "language": page.language,
           "source": page.source, "expect_document": page.expect_document,
           "n_words_source": len(page.text.split())}
    row.update(page.truth)
    return row


def ground_truth(rows: list[dict], crawl_id: str) -> dict:
    """The JSON document: counts by category and language, duplicate pairs, and every page."""
    counts: dict[str, int] = {}
    languages: dict[str, int] = {}
    for row in rows:
        counts[row["category"]] = counts.get(row["category"], 0) + 1
        if row["expect_document"] and row["language"]:
            languages[row["language"]] = languages.get(row["language"], 0) + 1
    exact = [{"url": r["url"], "duplicate_of": r["duplicate_of"]} for r in rows if "duplicate_of" in r]
    near = [{"url": r["url"], "near_dup_of": r["near_dup_of"], "mutation_fraction": r["mutation_fraction"],
             "jaccard_5gram": r["jaccard_5gram"]} for r in rows if "near_dup_of" in r]
    return {
        "crawl_id": crawl_id,
        "builder_version": BUILDER_VERSION,
        "jaccard_definition": "word 5-gram sets of the resiliparse main-content text; words = "
                              "lowercase, Unicode punctuation replaced by spaces, whitespace split",
        "n_records": len(rows),
        "n_documents_expected": sum(r["expect_document"] for r in rows),
        "counts_by_category": dict(sorted(counts.items())),
        "documents_by_language": dict(sorted(languages.items())),
        "exact_duplicates": sorted(exact, key=lambda r: r["url"]),
        "near_duplicates": sorted(near, key=lambda r: r["url"]),
        "pages": sorted(rows, key=lambda r: r["url"]),
    }


def _is_built(crawl_dir: Path) -> bool:
    marker = crawl_dir / MARKER
    try:
        return json.loads(marker.read_text())["builder_version"] == BUILDER_VERSION
    except (OSError, ValueError, KeyError):
        return False


def _write_crawl(crawl_dir: Path, crawl_id: str) -> None:
    pages = sample_pages()
    measure_near_duplicates(pages)
    relative = warc_relative_paths(crawl_id)
    rows, moment = [], CRAWL_START
    for rel_path, group in zip(relative, assign_to_files(pages, N_FILES, SEED)):
        file_pages = []
        for page in group:
            moment += dt.timedelta(seconds=7)
            file_pages.append(Page(url=page.url, body=page.body, fetch_time=moment,
                                   status=page.status, content_type=page.content_type,
                                   extra_headers=page.extra_headers))
            rows.append(_truth_row(page, rel_path, moment))
        local = crawl_dir / Path(rel_path).relative_to(f"crawl-data/{crawl_id}")
        write_warc(local, crawl_id, file_pages, file_pages[0].fetch_time)
    write_paths_file(crawl_dir / "warc.paths.gz", relative)
    truth = json.dumps(ground_truth(rows, crawl_id), indent=1, sort_keys=True, ensure_ascii=False)
    (crawl_dir / "ground_truth.json").write_text(truth + "\n", encoding="utf-8")
    (crawl_dir / MARKER).write_text(json.dumps({"builder_version": BUILDER_VERSION}) + "\n")


def build_sample_mirror(dest: Path) -> Path:
    """Build the CC-MAIN-SAMPLE mirror under `dest` (once per builder version); return `dest`.

    The crawl directory is written next to its final place and renamed into it, so a reader never
    sees half a mirror and a crashed build leaves nothing that looks finished.
    """
    dest = Path(dest)
    crawl_dir = dest / "crawl-data" / SAMPLE_CRAWL_ID
    if _is_built(crawl_dir):
        return dest
    staging = crawl_dir.with_name(f".{SAMPLE_CRAWL_ID}.building-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        _write_crawl(staging, SAMPLE_CRAWL_ID)
        if crawl_dir.exists() and not _is_built(crawl_dir):
            shutil.rmtree(crawl_dir)  # an older version or a foreign partial directory
        try:
            os.rename(staging, crawl_dir)
        except OSError:
            if not _is_built(crawl_dir):  # lost a race to a concurrent builder: fine if it finished
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest

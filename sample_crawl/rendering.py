"""Page rendering: site themes, main text to HTML, and the page template with realistic chrome.

Every generated page wraps its main text in what real sites put around it (navigation, cookie
banner, breadcrumbs, sidebar, newsletter box, footer, analytics scripts), so main-content extraction
has something to remove. Shared by the sample crawl and the benchmark corpus.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SiteTheme:
    """The chrome of one site: its name, host, navigation, sidebar, footer and optional extras."""

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
_HEAD_END = re.compile(rb"</head\s*>", re.IGNORECASE)


def slug(text: str) -> str:
    """A URL path segment: lowercase ASCII letters and digits joined by hyphens ("page" if none)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "page"


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


def lines_to_html(text: str) -> str:
    """Extracted text back to HTML: each non-empty line one paragraph."""
    return "\n".join(f"<p>{html.escape(line.strip())}</p>" for line in text.splitlines()
                     if line.strip())


def render_page(theme: SiteTheme, *, title: str, main_html: str, lang: str = "en",
                charset: str = "utf-8", related: tuple[str, ...] = (), head_extra: str = "") -> str:
    """A whole HTML document: header and navigation, cookie banner, main article, sidebar, footer."""
    nav = "".join(f'<li><a href="/{slug(item)}/">{html.escape(item)}</a></li>' for item in theme.nav)
    side = "".join(f'<li><a href="/{slug(r)}">{html.escape(r)}</a></li>' for r in related)
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


def vary_chrome(page: bytes, cycle: int) -> bytes:
    """Change a page outside its main text: a generator meta tag and a cache comment."""
    marker = f'<meta name="generator" content="docs-mirror cycle {cycle}">'.encode()
    varied, count = _HEAD_END.subn(marker + b"</head>", page, count=1)
    if count == 0:
        varied = marker + page
    return varied + f"\n<!-- cached copy {cycle} -->\n".encode()

"""Records that must not become documents: non-200 answers and 200 answers that are not HTML."""
from __future__ import annotations

import json

from core.warc.writer import tiny_pdf, tiny_png
from sample_crawl.pages.page import SamplePage
from sample_crawl.rendering import THEMES, render_page


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
    """200 answers that are not HTML: PDF, images, JSON, CSS."""
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

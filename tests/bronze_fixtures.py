"""A WARC file with one response of every outcome bronze knows, written with core.warc.writer.

Every page is a response whose fate is fixed by construction; the file is cut inside the last
one's payload, so it fails as a truncated record. `EXPECTED` says what each URL becomes.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from core.warc.extract import ExtractionConfig
from core.warc.writer import Page, tiny_pdf, write_warc

MOMENT = dt.datetime(2024, 8, 3, 12, 0, tzinfo=dt.timezone.utc)
ARTICLE = ("<html><head><title>A page</title></head><body><article><h1>Rivers</h1>"
           + "<p>Rivers carry water from the hills down to the sea, year after year.</p>" * 12
           + "</article></body></html>").encode()
# Small enough that the oversized page is skipped and every other page is not.
CONFIG = ExtractionConfig(max_payload_bytes=20_000)

# url -> (outcome table, reason or None, HTTP status)
EXPECTED = {
    "https://every.example/article": ("documents", None, 200),
    "https://every.example/sniffed": ("documents", None, 200),  # no Content-Type: libmagic says HTML
    "https://every.example/missing": ("skips", "http_status.non_200", 404),
    "https://every.example/moved": ("skips", "http_status.non_200", 301),
    "https://every.example/report.pdf": ("skips", "content_type.not_html", 200),
    "https://every.example/blank": ("skips", "empty_text", 200),
    "https://every.example/huge": ("skips", "payload_too_large", 200),
    "https://every.example/cut": ("errors", "warc.truncated_record", 200),
}


def _pages() -> list[Page]:
    def page(path, body, status=200, content_type="text/html; charset=UTF-8", **extra):
        return Page(url=f"https://every.example/{path}", body=body, fetch_time=MOMENT,
                    status=status, content_type=content_type, **extra)

    return [
        page("article", ARTICLE),
        page("sniffed", ARTICLE, content_type=""),
        page("missing", b"<html><body><p>Not here.</p></body></html>", status=404),
        page("moved", b"", status=301, content_type="",
             extra_headers=(("Location", "https://every.example/"),)),
        page("report.pdf", tiny_pdf("Annual report"), content_type="application/pdf"),
        page("blank", b"<html><head><title></title></head><body></body></html>"),
        page("huge", ARTICLE * 40),
        page("cut", ARTICLE),
    ]


def write_every_outcome_warc(path: Path) -> Path:
    """The file, cut at 90% of the last response's gzip member: its headers are whole, its payload
    is not. (A cut inside the WARC headers is not used: fastwarc then returns the record as if it
    were complete and without HTTP headers, a `not_http` skip; see the report of issue 8.)"""
    offsets = write_warc(path, "CC-MAIN-2024-33", _pages(), MOMENT)
    data = path.read_bytes()
    start = offsets["https://every.example/cut"]
    end = data.index(b"\x1f\x8b\x08", start + 10)  # the metadata record's member
    path.write_bytes(data[: start + (end - start) * 9 // 10])
    return path

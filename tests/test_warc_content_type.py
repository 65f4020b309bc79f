"""Pages whose HTTP Content-Type is missing or says nothing: the type is decided from the crawler's
identified type, then by sniffing the payload (libmagic), and the document says which.

End-to-end files are written by the test: a Common-Crawl-style WARC (`core.warc.writer`) and a
ClueWeb09-style WARC/0.18 file (written here, both with CRLF and with bare-LF line ends, gzipped
as one member like ClueWeb's)."""
from __future__ import annotations

import datetime as dt
import gzip
import io

import pytest

from core.warc import writer as ww
from core.warc.content_type import decide_content_type, normalize_mime_type
from core.warc.extract import ExtractionError, Skip, extract_file
from core.warc.lenient import LenientRecord, iter_records
from core.io.remote import open_uri

T0 = dt.datetime(2009, 1, 13, 18, 5, 10, tzinfo=dt.timezone.utc)

HTML = (
    "<!DOCTYPE html><html><head><title>Harbour walks</title></head><body>"
    "<h1>Walks along the old harbour</h1>"
    "<p>The harbour walk starts at the lighthouse and follows the quay for three kilometres.</p>"
    "<p>Benches face the water every few hundred metres, and the cafes open at nine.</p>"
    "</body></html>"
).encode("utf-8")
HEAD_FIRST_HTML = (  # ClueWeb09 pages often start with <head>, no doctype, no <html>
    "<head><title>Real estate listings</title></head><body>"
    "<h1>Houses for sale near the river</h1>"
    "<p>Three bedroom house with a garden and a view of the river, close to the station.</p>"
    "<p>Call the office to arrange a visit on any weekday between nine and five.</p></body>"
).encode("utf-8")


# ---- the decision on plain values -----------------------------------------------------------

@pytest.mark.parametrize("http, identified, payload, expected", [
    ("text/html", None, b"", ("text/html", "http")),
    ("Text/HTML; Charset=UTF-8", "application/pdf", b"%PDF-1.4", ("text/html", "http")),
    ("text/html, text/html", None, b"", ("text/html", "http")),  # a repeated header
    ("image/png", "text/html", HTML, ("image/png", "http")),  # a specific HTTP type wins
    (None, "text/html", b"", ("text/html", "warc_identified")),
    ("application/octet-stream", "text/html", b"", ("text/html", "warc_identified")),
    ("", "application/xhtml+xml", b"", ("application/xhtml+xml", "warc_identified")),
    (None, None, HTML, ("text/html", "sniffed")),
    (None, "", HEAD_FIRST_HTML, ("text/html", "sniffed")),
    ("application/octet-stream", "application/octet-stream", HTML, ("text/html", "sniffed")),
    ("unknown/unknown", None, HTML, ("text/html", "sniffed")),
    ("html", None, HTML, ("text/html", "sniffed")),  # not type/subtype: as if missing
    ("text/plain", None, HTML, ("text/html", "sniffed")),  # Apache's default type
    ("text/plain", None, b"Just a line of plain text.\n", ("text/plain", "sniffed")),
    (None, None, ww.tiny_png(), ("image/png", "sniffed")),
    (None, None, ww.tiny_pdf("Annual report"), ("application/pdf", "sniffed")),
    (None, None, b"", ("", "sniffed")),
])
def test_content_type_is_decided_from_the_first_informative_source(http, identified, payload,
                                                                   expected):
    decided = decide_content_type(http, identified, payload)
    assert (decided.mime_type, decided.source) == expected


def test_sniffing_reads_only_the_start_of_a_page():
    # A stray binary byte far down a page does not make it application/octet-stream.
    page = HTML[:-len(b"</body></html>")] + b"<p>" + b"x" * 40_000 + b"\x00</p></body></html>"
    assert decide_content_type(None, None, page).mime_type == "text/html"


def test_normalize_mime_type():
    assert normalize_mime_type(' "text/html" ; charset=utf-8') == "text/html"
    assert normalize_mime_type("none") == ""
    assert normalize_mime_type("text / html") == ""
    assert normalize_mime_type(None) == ""


# ---- a Common-Crawl-style WARC written by the test --------------------------------------------

def _common_crawl_style_pages() -> list[ww.Page]:
    return [
        ww.Page("http://declared.example/", HTML, T0),
        ww.Page("http://no-type.example/", HTML, T0, content_type=""),
        ww.Page("http://octet.example/", HTML, T0, content_type="application/octet-stream",
                identified_type="text/html"),
        ww.Page("http://plain.example/", HEAD_FIRST_HTML, T0, content_type="text/plain"),
        ww.Page("http://image.example/logo", ww.tiny_png(), T0, content_type=""),
        ww.Page("http://pdf.example/report", ww.tiny_pdf("Annual report"), T0, content_type=""),
        ww.Page("http://pdf-octet.example/report", ww.tiny_pdf("Annual report"), T0,
                content_type="application/octet-stream"),
    ]


EXPECTED_SOURCES = {
    "http://declared.example/": "http",
    "http://no-type.example/": "sniffed",  # the writer puts application/octet-stream as identified
    "http://octet.example/": "warc_identified",
    "http://plain.example/": "sniffed",
}


def _split(events):
    docs = [e for e in events if isinstance(e, dict)]
    errors = [e for e in events if isinstance(e, ExtractionError)]
    skips = [e.reason for e in events if isinstance(e, Skip)]
    return docs, errors, skips


def _strict_fails_once(uri_opened: list[str]):
    """An opener whose first stream fails like a file fastwarc cannot read; later ones work."""

    class Unreadable(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, buffer):
            raise OSError("simulated unreadable stream")

    def opener(uri):
        uri_opened.append(uri)
        return Unreadable() if len(uri_opened) == 1 else open_uri(uri)

    return opener


def test_pages_without_an_http_type_become_documents_with_their_source(tmp_path):
    path = tmp_path / "typeless.warc.gz"
    ww.write_warc(path, "CC-MAIN-2009-03", _common_crawl_style_pages(), T0)
    docs, errors, skips = _split(list(extract_file(str(path), "S")))
    assert not errors
    assert {d["url"]: d["content_type_source"] for d in docs} == EXPECTED_SOURCES
    assert {d["content_type"] for d in docs} == {"text/html"}
    assert all("harbour" in d["text"] or "river" in d["text"] for d in docs)
    assert skips.count("content_type.not_html") == 3  # the PNG and the two PDFs

    # The lenient reader decides the same way (the same documents, field for field).
    opened: list[str] = []
    lenient_docs, lenient_errors, lenient_skips = _split(
        list(extract_file(str(path), "S", opener=_strict_fails_once(opened))))
    assert len(opened) == 2
    assert [e.reason for e in lenient_errors] == ["warc.parse_error"]
    assert lenient_docs == docs
    assert sorted(lenient_skips) == sorted(skips)


# ---- a ClueWeb09-style WARC/0.18 file written by the test -------------------------------------

CLUEWEB_PAGES = [  # (url, HTTP body); no page has an HTTP Content-Type
    ("http://00000-nrt-realestate.homepagestartup.com/", HEAD_FIRST_HTML),
    ("http://harbour-walks.example.org/", HTML),
    ("http://photos.example.org/logo.png", ww.tiny_png()),
]


def _clueweb_record(lines: list[str], block: bytes, newline: bytes) -> bytes:
    header = newline.join(line.encode("utf-8") for line in lines)
    return (b"WARC/0.18" + newline + header + newline
            + f"Content-Length: {len(block)}".encode() + newline + newline + block
            + newline + newline)


def clueweb_warc(newline: bytes) -> bytes:
    """A ClueWeb09-like file: WARC/0.18, a warcinfo record, responses whose HTTP headers have no
    Content-Type and whose WARC-Identified-Payload-Type is empty; gzipped as one member."""
    info = newline.join([b"software: Nutch 1.0-dev (modified for clueweb09)",
                         b"isPartOf: clueweb09-en", b"format: WARC file format 0.18", b""])
    out = [_clueweb_record(["WARC-Type: warcinfo", "WARC-Date: 2009-03-65T08:43:19-0800",
                            "WARC-Record-ID: <urn:uuid:993d3969-9643-4934-b1c6-68d4dbe55b83>",
                            "Content-Type: application/warc-fields"], info, newline)]
    for number, (url, body) in enumerate(CLUEWEB_PAGES):
        http = newline.join([b"HTTP/1.1 200 OK", b"Date: Tue, 13 Jan 2009 18:05:10 GMT",
                             b"Server: Apache/1.3.41", b"Connection: close", b""]) + newline + body
        out.append(_clueweb_record([
            "WARC-Type: response", f"WARC-Target-URI: {url}",
            "WARC-Warcinfo-ID: 993d3969-9643-4934-b1c6-68d4dbe55b83",
            "WARC-Date: 2009-03-65T08:43:19-0800",
            f"WARC-Record-ID: <urn:uuid:67f7cabd-146c-41cf-bd01-04f5fa7d52{number:02d}>",
            f"WARC-TREC-ID: clueweb09-en0000-00-{number:05d}",
            "Content-Type: application/http;msgtype=response",
            "WARC-Identified-Payload-Type: ",
        ], http, newline))
    return gzip.compress(b"".join(out), mtime=0)


@pytest.mark.parametrize("newline, strict_reads_it", [(b"\r\n", True), (b"\n", False)])
def test_clueweb09_style_warc_0_18_gives_sniffed_documents(tmp_path, newline, strict_reads_it):
    path = tmp_path / "clueweb09-en0000-00.warc.gz"
    path.write_bytes(clueweb_warc(newline))
    docs, errors, skips = _split(list(extract_file(str(path), "S")))
    assert [d["url"] for d in docs] == [url for url, _ in CLUEWEB_PAGES[:2]]
    assert {(d["content_type"], d["content_type_source"]) for d in docs} == {
        ("text/html", "sniffed")}
    assert "river" in docs[0]["text"] and "harbour" in docs[1]["text"]
    assert sorted(skips) == ["content_type.not_html", "record_type.warcinfo"]
    # With CRLF fastwarc reads WARC/0.18 itself; with bare LF it swallows the file as one
    # `unknown` record, which sends the file to the lenient reader.
    assert [e.reason for e in errors] == ([] if strict_reads_it else ["warc.parse_error"])


def test_lenient_reader_accepts_warc_0_18_version_lines():
    records = list(iter_records(io.BytesIO(clueweb_warc(b"\n"))))
    assert all(isinstance(r, LenientRecord) for r in records)
    assert [r.record_type for r in records] == ["warcinfo", "response", "response", "response"]
    assert [r.http_status for r in records[1:]] == [200, 200, 200]
    assert all(r.http_content_type is None for r in records[1:])
    assert not any(r.length_mismatch for r in records)
    assert records[1].payload == HEAD_FIRST_HTML

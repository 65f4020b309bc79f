"""The WARC writer: Common Crawl's record layout, exact lengths and digests, byte-identical reruns,
and a round trip through fastwarc, warcio and `core.warc.extract.extract_file`."""
from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import io
import zlib

import pytest
from fastwarc.warc import ArchiveIterator
from warcio.archiveiterator import ArchiveIterator as WarcioIterator

from core.warc import writer as ww
from core.warc.extract import ExtractionError, Skip, extract_file

CRAWL = "CC-MAIN-2024-33"
T0 = dt.datetime(2024, 8, 3, 0, 31, 22, tzinfo=dt.timezone.utc)

ARTICLE = (
    "<html><head><title>Pages</title></head><body><nav><a href='/'>Home</a></nav>"
    "<main><article><h1>On the WARC format</h1>"
    "<p>The WARC format keeps the request and the response of every fetched page together.</p>"
    "<p>Each record starts with a version line and named fields, then a block of bytes.</p>"
    "</article></main><footer>Copyright 2024</footer></body></html>"
)


def _pages() -> list[ww.Page]:
    return [
        ww.Page("https://www.example.org/warc.html", ARTICLE.encode("utf-8"), T0),
        ww.Page("https://www.example.org/missing", b"<html><body>Not here</body></html>",
                T0 + dt.timedelta(seconds=5), status=404),
        ww.Page("https://www.example.org/moved", b"", T0 + dt.timedelta(seconds=9), status=301,
                content_type="", extra_headers=(("Location", "https://www.example.org/warc.html"),)),
        ww.Page("https://www.example.org/report.pdf", ww.tiny_pdf("Annual report"),
                T0 + dt.timedelta(seconds=11), content_type="application/pdf"),
        ww.Page("https://www.example.org/logo.png", ww.tiny_png(), T0 + dt.timedelta(seconds=12),
                content_type="image/png"),
        ww.Page("https://www.example.jp/nihongo.html",
                "<html><body><main><p>日本語のページです。文字コードはシフトJISです。</p></main></body></html>"
                .encode("shift_jis"), T0 + dt.timedelta(seconds=20),
                content_type="text/html; charset=Shift_JIS"),
    ]


@pytest.fixture()
def warc_path(tmp_path):
    path = tmp_path / "CC-MAIN-20240803003122-20240803033122-00000.warc.gz"
    ww.write_warc(path, CRAWL, _pages(), T0)
    return path


def _gzip_members(data: bytes) -> list[bytes]:
    members = []
    while data:
        decompressor = zlib.decompressobj(wbits=31)
        members.append(decompressor.decompress(data))
        data = decompressor.unused_data
    return members


def test_sha1_digest_is_base32_of_sha1():
    expected = base64.b32encode(hashlib.sha1(b"abc").digest()).decode()
    assert ww.sha1_digest(b"abc") == "sha1:" + expected == "sha1:VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE5"


def test_record_ids_are_deterministic_and_distinct_per_type_url_and_crawl():
    a = ww.record_id(CRAWL, "response", "https://a.org/", T0)
    assert a == ww.record_id(CRAWL, "response", "https://a.org/", T0)
    assert a.startswith("<urn:uuid:") and a.endswith(">")
    others = {
        ww.record_id(CRAWL, "request", "https://a.org/", T0),
        ww.record_id(CRAWL, "response", "https://b.org/", T0),
        ww.record_id("CC-MAIN-2024-38", "response", "https://a.org/", T0),
    }
    assert a not in others and len(others) == 3


def test_warc_date_is_utc_with_z():
    eastern = dt.timezone(dt.timedelta(hours=-5))
    assert ww.warc_date(dt.datetime(2024, 8, 2, 20, 0, 1, tzinfo=eastern)) == "2024-08-03T01:00:01Z"
    assert ww.http_date(T0) == "Sat, 03 Aug 2024 00:31:22 GMT"


def test_one_gzip_member_per_record_and_warcinfo_first(warc_path):
    members = _gzip_members(warc_path.read_bytes())
    assert len(members) == 1 + 3 * len(_pages())
    types = [m.split(b"\r\n", 2)[1] for m in members]
    assert types[0] == b"WARC-Type: warcinfo"
    assert types[1:4] == [b"WARC-Type: request", b"WARC-Type: response", b"WARC-Type: metadata"]
    assert b"isPartOf: " + CRAWL.encode() in members[0]
    for member in members:
        assert member.startswith(b"WARC/1.0\r\n") and member.endswith(b"\r\n\r\n")


def test_content_length_is_exact(warc_path):
    for member in _gzip_members(warc_path.read_bytes()):
        head, _, rest = member.partition(b"\r\n\r\n")
        fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
        assert len(rest) == int(fields[b"Content-Length"]) + 4  # block + trailing CRLFCRLF


def test_gzip_headers_carry_no_time_or_name_and_reruns_are_byte_identical(tmp_path, warc_path):
    data = warc_path.read_bytes()
    assert data[4:8] == b"\x00\x00\x00\x00"  # MTIME of the first member
    assert data[3] & 0x08 == 0  # no FNAME flag
    again = tmp_path / "again" / warc_path.name
    ww.write_warc(again, CRAWL, _pages(), T0)
    assert again.read_bytes() == data


def test_fastwarc_reads_every_record_with_valid_digests(warc_path):
    responses = []
    with open(warc_path, "rb") as stream:
        for record in ArchiveIterator(stream, parse_http=False):
            if record.headers.get("WARC-Block-Digest"):
                assert record.verify_block_digest(), record.headers.get("WARC-Record-ID")
            if record.headers.get("WARC-Type") == "response":
                responses.append(record.headers)
    assert [h.get("WARC-Target-URI") for h in responses] == [p.url for p in _pages()]
    assert responses[0].get("Content-Type") == "application/http; msgtype=response"
    assert responses[0].get("WARC-Identified-Payload-Type") == "text/html"
    assert responses[3].get("WARC-Identified-Payload-Type") == "application/pdf"
    assert responses[0].get("WARC-IP-Address") == ww.ip_address_for("www.example.org")


def test_warcio_checks_block_and_payload_digests(warc_path):
    checked = 0
    with open(warc_path, "rb") as stream:
        for record in WarcioIterator(stream, check_digests="raise"):
            record.content_stream().read()
            if record.rec_type != "warcinfo":
                assert record.digest_checker.passed is True
                checked += 1
    assert checked == 3 * len(_pages())


def test_response_concurrent_to_its_request(warc_path):
    ids = {}
    with open(warc_path, "rb") as stream:
        for record in ArchiveIterator(stream, parse_http=False):
            key = (record.headers.get("WARC-Type"), record.headers.get("WARC-Target-URI"))
            ids[key] = (record.headers.get("WARC-Record-ID"), record.headers.get("WARC-Concurrent-To"))
    url = _pages()[0].url
    assert ids[("response", url)][1] == ids[("request", url)][0]
    assert ids[("metadata", url)][1] == ids[("response", url)][0]


def test_extract_file_returns_html_200_pages_and_skips_the_rest(warc_path):
    events = list(extract_file(str(warc_path), CRAWL))
    assert not [e for e in events if isinstance(e, ExtractionError)]
    docs = [e for e in events if isinstance(e, dict)]
    assert [d["url"] for d in docs] == [_pages()[0].url, _pages()[5].url]
    assert "keeps the request and the response" in docs[0]["text"]
    assert "Copyright" not in docs[0]["text"]
    assert docs[0]["fetch_time"] == T0
    assert docs[0]["doc_id"] == ww.record_id(CRAWL, "response", _pages()[0].url, T0)
    assert docs[1]["charset"] == "shift_jis" and "シフトJIS" in docs[1]["text"]
    reasons = sorted(e.reason for e in events if isinstance(e, Skip) and "record_type" not in e.reason)
    assert reasons == ["content_type.not_html", "content_type.not_html",
                       "http_status.non_200", "http_status.non_200"]


def test_offsets_point_at_the_response_members(tmp_path):
    path = tmp_path / "x.warc.gz"
    offsets = ww.write_warc(path, CRAWL, _pages()[:2], T0)
    data = path.read_bytes()
    for url, offset in offsets.items():
        record = gzip.GzipFile(fileobj=io.BytesIO(data[offset:])).read(400)
        assert record.startswith(b"WARC/1.0\r\nWARC-Type: response\r\n")
        assert url.encode() in record


def test_tiny_binaries_are_what_they_claim():
    png = ww.tiny_png()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png.endswith(b"IEND\xaeB`\x82")
    pdf = ww.tiny_pdf("Hello (world)")
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert b"(Hello \\(world\\)) Tj" in pdf

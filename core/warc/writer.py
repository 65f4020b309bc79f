"""Write small Common-Crawl-style WARC/1.0 files, byte for byte the same on every run.

A file looks like a Common Crawl WARC: one gzip member per record (so any record can be read from its
offset alone), a `warcinfo` record first, then for each page a `request`, a `response` and a
`metadata` record. Headers end in CRLF, Content-Length is the exact block length, digests are SHA-1 in
base 32 as Common Crawl writes them (`sha1:...`), and record ids are name-based UUIDs computed from the
crawl id, record type, URL and fetch time, so rerunning a build gives the same bytes.

Used by the embedded sample crawl (`sample_crawl`), the benchmark corpus builder
(`bench/build_corpus.py`) and tests. Pure standard library.
"""
from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable
from urllib.parse import urlsplit

# Namespace of the name-based record ids; any fixed UUID works, this one is uuid5(URL, "cc-refinery").
RECORD_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/cc-refinery/warc-writer")

# What Common Crawl's crawler says about itself in request and warcinfo records.
USER_AGENT = "CCBot/2.0 (https://commoncrawl.org/faq/)"
SOFTWARE = "Apache Nutch 1.20 (modified, https://github.com/commoncrawl/nutch/)"

HTTP_REASONS = {
    200: "OK", 301: "Moved Permanently", 302: "Found", 304: "Not Modified", 403: "Forbidden",
    404: "Not Found", 410: "Gone", 429: "Too Many Requests", 500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class Page:
    """One fetched URL: what the server answered and when."""

    url: str
    body: bytes
    fetch_time: dt.datetime
    status: int = 200
    content_type: str = "text/html; charset=UTF-8"  # the HTTP Content-Type header, verbatim
    # Extra HTTP response headers, e.g. (("Location", "https://..."),) for a redirect.
    extra_headers: tuple[tuple[str, str], ...] = ()
    # What the crawler's content sniffing would call the payload; defaults to the declared MIME type.
    identified_type: str | None = None
    # Extra lines for the metadata record (Common Crawl writes charset and language guesses there).
    metadata: tuple[tuple[str, str], ...] = field(default=())


def sha1_digest(data: bytes) -> str:
    """`sha1:` + base-32 SHA-1, the form of WARC-Block-Digest and WARC-Payload-Digest."""
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def warc_date(moment: dt.datetime) -> str:
    """WARC-Date: UTC, second precision, 'Z' suffix (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def http_date(moment: dt.datetime) -> str:
    """RFC 7231 date for HTTP headers (weekday and month in English whatever the locale)."""
    moment = moment.astimezone(dt.timezone.utc) if moment.tzinfo else moment
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    return (f"{days[moment.weekday()]}, {moment.day:02d} {months[moment.month - 1]} {moment.year} "
            f"{moment:%H:%M:%S} GMT")


def record_id(crawl_id: str, warc_type: str, name: str, moment: dt.datetime | None = None) -> str:
    """A deterministic `<urn:uuid:...>` from the crawl, record type, URL (or file name) and time."""
    key = "\n".join((crawl_id, warc_type, name, warc_date(moment) if moment else ""))
    return f"<urn:uuid:{uuid.uuid5(RECORD_ID_NAMESPACE, key)}>"


def ip_address_for(host: str) -> str:
    """A stable public-looking IPv4 address for a host name (no DNS: a hash of the name)."""
    digest = hashlib.sha1(host.encode("utf-8")).digest()
    first = 11 + digest[0] % 180  # 11..190: avoids 0/8, 10/8 and 127/8
    return f"{first}.{digest[1]}.{digest[2]}.{1 + digest[3] % 254}"


def mime_type(content_type: str) -> str:
    """The MIME type of a Content-Type header value, lowercased, without parameters."""
    return content_type.split(";")[0].strip().lower()


def _header_block(lines: Iterable[tuple[str, str]]) -> bytes:
    return "".join(f"{name}: {value}\r\n" for name, value in lines).encode("utf-8")


def http_request_block(page: Page) -> bytes:
    """The HTTP GET the crawler sent for a page."""
    parts = urlsplit(page.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    head = f"GET {target} HTTP/1.1\r\n".encode("ascii")
    return head + _header_block((
        ("User-Agent", USER_AGENT),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("Accept-Language", "en-US,en;q=0.5"),
        ("Accept-Encoding", "br,gzip"),
        ("Host", parts.netloc),
        ("Connection", "Keep-Alive"),
    )) + b"\r\n"


def http_response_block(page: Page) -> bytes:
    """Status line, headers and payload of a response as Common Crawl stores it (decoded body)."""
    reason = HTTP_REASONS.get(page.status, "Unknown")
    head = f"HTTP/1.1 {page.status} {reason}\r\n".encode("ascii")
    headers = [("Date", http_date(page.fetch_time)), ("Server", "nginx")]
    if page.content_type:
        headers.append(("Content-Type", page.content_type))
    headers += [("Content-Length", str(len(page.body))), ("Connection", "close")]
    headers += list(page.extra_headers)
    return head + _header_block(headers) + b"\r\n" + page.body


def warc_record(warc_type: str, headers: Iterable[tuple[str, str]], block: bytes) -> bytes:
    """One uncompressed WARC/1.0 record: version line, headers, Content-Length, block, CRLFCRLF."""
    header_lines = [("WARC-Type", warc_type), *headers, ("Content-Length", str(len(block)))]
    return b"WARC/1.0\r\n" + _header_block(header_lines) + b"\r\n" + block + b"\r\n\r\n"


def gzip_member(data: bytes) -> bytes:
    """One gzip member with mtime 0 and no file name, so equal data gives equal bytes."""
    return gzip.compress(data, compresslevel=6, mtime=0)


def warcinfo_fields(crawl_id: str, description: str | None = None) -> bytes:
    """The `application/warc-fields` block of a warcinfo record, as Common Crawl writes it."""
    return _header_block((
        ("isPartOf", crawl_id),
        ("publisher", "Common Crawl"),
        ("description", description or f"Wide crawl of the web, {crawl_id}"),
        ("operator", "Common Crawl Admin (info@commoncrawl.org)"),
        ("hostname", "ip-10-67-67-33.ec2.internal"),
        ("software", SOFTWARE),
        ("robots", "checked via crawler-commons 1.5-SNAPSHOT (https://github.com/crawler-commons/crawler-commons)"),
        ("format", "WARC File Format 1.1"),
        ("conformsTo", "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"),
    ))


def metadata_fields(page: Page, fetch_ms: int) -> bytes:
    """The `application/warc-fields` block of a metadata record (fetch time and extra lines)."""
    return _header_block((("fetchTimeMs", str(fetch_ms)), *page.metadata))


class WarcWriter:
    """Appends gzip-member records to a binary stream; `offsets` keeps where each response starts."""

    def __init__(self, stream: BinaryIO, crawl_id: str, filename: str, created: dt.datetime):
        self.stream = stream
        self.crawl_id = crawl_id
        self.filename = filename
        self.warcinfo_id = record_id(crawl_id, "warcinfo", filename, created)
        self.offsets: dict[str, int] = {}
        self._position = 0
        self._write("warcinfo", (
            ("WARC-Date", warc_date(created)),
            ("WARC-Filename", filename),
            ("WARC-Record-ID", self.warcinfo_id),
            ("Content-Type", "application/warc-fields"),
        ), warcinfo_fields(crawl_id))

    def _write(self, warc_type: str, headers, block: bytes) -> int:
        member = gzip_member(warc_record(warc_type, headers, block))
        start = self._position
        self.stream.write(member)
        self._position += len(member)
        return start

    def write_page(self, page: Page) -> int:
        """Write request, response and metadata of one page; return the response record's offset."""
        date = warc_date(page.fetch_time)
        ip = ip_address_for(urlsplit(page.url).hostname or "")
        request_id = record_id(self.crawl_id, "request", page.url, page.fetch_time)
        response_id = record_id(self.crawl_id, "response", page.url, page.fetch_time)
        request = http_request_block(page)
        self._write("request", (
            ("WARC-Date", date), ("WARC-Record-ID", request_id),
            ("Content-Type", "application/http; msgtype=request"),
            ("WARC-Warcinfo-ID", self.warcinfo_id), ("WARC-IP-Address", ip),
            ("WARC-Target-URI", page.url), ("WARC-Block-Digest", sha1_digest(request)),
        ), request)
        response = http_response_block(page)
        identified = page.identified_type or mime_type(page.content_type) or "application/octet-stream"
        offset = self._write("response", (
            ("WARC-Date", date), ("WARC-Record-ID", response_id),
            ("Content-Type", "application/http; msgtype=response"),
            ("WARC-Warcinfo-ID", self.warcinfo_id), ("WARC-Concurrent-To", request_id),
            ("WARC-IP-Address", ip), ("WARC-Target-URI", page.url),
            ("WARC-Payload-Digest", sha1_digest(page.body)),
            ("WARC-Block-Digest", sha1_digest(response)),
            ("WARC-Identified-Payload-Type", identified),
        ), response)
        fetch_ms = 40 + int.from_bytes(hashlib.sha1(page.url.encode()).digest()[:2], "big") % 2000
        metadata = metadata_fields(page, fetch_ms)
        self._write("metadata", (
            ("WARC-Date", date),
            ("WARC-Record-ID", record_id(self.crawl_id, "metadata", page.url, page.fetch_time)),
            ("Content-Type", "application/warc-fields"),
            ("WARC-Warcinfo-ID", self.warcinfo_id), ("WARC-Concurrent-To", response_id),
            ("WARC-Target-URI", page.url), ("WARC-Block-Digest", sha1_digest(metadata)),
        ), metadata)
        self.offsets[page.url] = offset
        return offset


def write_warc(path: Path, crawl_id: str, pages: Iterable[Page], created: dt.datetime) -> dict[str, int]:
    """Write a whole .warc.gz file atomically (temporary file, then rename).

    Returns the offset of each page's response record by URL. The warcinfo record takes the file
    name (not the directory) as WARC-Filename, like Common Crawl.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    with open(partial, "wb") as stream:
        writer = WarcWriter(stream, crawl_id, path.name, created)
        for page in pages:
            writer.write_page(page)
    os.replace(partial, path)
    return writer.offsets


def tiny_png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid, minimal PNG image (for non-HTML responses)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * height, 9)) + chunk(b"IEND", b""))


def tiny_pdf(text: str) -> bytes:
    """A valid one-page PDF showing one line of ASCII text (for non-HTML responses)."""
    safe = text.encode("ascii", "replace").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    stream = b"BT /F1 12 Tf 72 720 Td (" + safe + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)

"""Decide the MIME type of a response payload when the HTTP header is missing or says nothing.

Old crawls (ClueWeb09), misconfigured servers and many error pages send no Content-Type, an empty
one, or a catch-all (`application/octet-stream`, Apache's default `text/plain`). Such a page is
still often HTML. The type is decided in this order, and the way it was decided is kept:

1. `http`: the HTTP Content-Type, when it names a specific type;
2. `warc_identified`: the crawler's own content sniffing in `WARC-Identified-Payload-Type`
   (Common Crawl writes Apache Tika's result there), when that names a specific type;
3. `sniffed`: libmagic (python-magic) on the first bytes of the payload.

A specific HTTP type always wins, even over a different identified type: a server that names a type
has chosen it, and extraction of a wrong "text/html" just gives an empty text (skipped and counted).
"""
from __future__ import annotations

from dataclasses import dataclass

import magic

SOURCE_HTTP = "http"
SOURCE_WARC_IDENTIFIED = "warc_identified"
SOURCE_SNIFFED = "sniffed"
# WET conversion records carry their type in the WARC record's own Content-Type.
SOURCE_WARC_RECORD = "warc_record"

# Types that say nothing about the payload, so the next source is asked:
# - unknown/unknown, application/unknown, */*: the WHATWG MIME Sniffing Standard's "unknown" types
#   (mimesniff.spec.whatwg.org, "MIME type sniffing algorithm", step 1);
# - application/octet-stream (and the older binary/octet-stream): the HTTP default when a server
#   does not know (RFC 9110, section 8.3: the recipient may examine the data instead);
# - text/plain: Apache httpd up to 2.2 sent `DefaultType text/plain` for every file it had no
#   mapping for (extension-less or CGI/PHP pages included), which is why the WHATWG standard does
#   not trust it either ("check-for-apache-bug flag"). Real plain text is still sniffed as
#   text/plain by libmagic and skipped as not HTML, so the cost is one libmagic call.
UNINFORMATIVE_TYPES = frozenset({
    "", "application/octet-stream", "binary/octet-stream", "application/unknown",
    "unknown/unknown", "*/*", "text/plain",
})

# libmagic's HTML rules (file's magic/Magdir/sgml) search at most 4096 bytes from the start or
# from the end of a leading comment; 16 KiB covers them, and a stray binary byte further down a
# page cannot turn the whole page into application/octet-stream.
SNIFF_BYTES = 16_384


@dataclass(frozen=True)
class ContentTypeDecision:
    mime_type: str  # lowercased, without parameters; "" when nothing could be decided
    source: str  # http | warc_identified | sniffed


def normalize_mime_type(value: str | None) -> str:
    """`Text/HTML; charset=x` -> `text/html`; a value that is not `type/subtype` -> ''.

    A repeated header joined by a comma (`text/html, text/html`) gives its first value.
    """
    if not value:
        return ""
    essence = value.split(";", 1)[0].split(",", 1)[0].strip().strip("\"'").lower()
    kind, slash, subtype = essence.partition("/")
    if not slash or not kind or not subtype or " " in essence:
        return ""
    return essence


def is_informative(mime_type: str) -> bool:
    """True when a (normalized) type names what the payload is."""
    return mime_type not in UNINFORMATIVE_TYPES


def sniff_mime_type(payload: bytes) -> str:
    """libmagic's MIME type of the payload's first bytes ('' when libmagic has no answer)."""
    if not payload:
        return ""
    try:
        return normalize_mime_type(magic.from_buffer(payload[:SNIFF_BYTES], mime=True))
    except magic.MagicException:
        return ""


def decide_content_type(
    http_content_type: str | None, identified_type: str | None, payload: bytes
) -> ContentTypeDecision:
    """The payload's MIME type from the first informative source: HTTP, identified, sniffed."""
    http_type = normalize_mime_type(http_content_type)
    if is_informative(http_type):
        return ContentTypeDecision(http_type, SOURCE_HTTP)
    identified = normalize_mime_type(identified_type)
    if is_informative(identified):
        return ContentTypeDecision(identified, SOURCE_WARC_IDENTIFIED)
    return ContentTypeDecision(sniff_mime_type(payload), SOURCE_SNIFFED)

"""Turn one WARC or WET file into bronze documents, errors and skip counts.

Pure Python (fastwarc + resiliparse), no Spark: `spark_jobs.bronze` calls `extract_file` inside a
Spark task, the benchmark calls it in a plain loop, tests call it on the real fixtures.

What comes out of a file is a stream of events:
- `dict` rows with the columns of `contract.tables.BRONZE_SCHEMA` (documents),
- `ExtractionError` for anything that went wrong at a place in the file (quarantined, never raised),
- `Skip` for records that are valid but not wanted (requests, non-200, non-HTML, oversized, ...).

A file that fastwarc cannot parse (headers with bare LF, a wrong Content-Length, a damaged gzip
member) or in which it finds no record is read again by the lenient reader in `warc_lenient`, which
recovers what it can and resynchronizes at the next gzip member after a damaged one; each skipped
byte range is an error. When the HTTP Content-Type is missing or uninformative, the type is decided
from WARC-Identified-Payload-Type or by sniffing the payload (`content_type`), and the document
says which (`content_type_source`).
"""
from __future__ import annotations

import codecs
import datetime as dt
import io
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator
from urllib.parse import urlsplit

from fastwarc.warc import ArchiveIterator, WarcRecordType
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import bytes_to_str, detect_encoding

from core.warc import lenient as warc_lenient
from core.warc.stream_tail import StreamTail
from core.warc.content_type import SOURCE_WARC_RECORD, decide_content_type
from core.io.remote import open_uri

EXTRACTORS = ("resiliparse", "trafilatura")
HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class ExtractionConfig:
    extractor: str = "resiliparse"  # main-content extraction; "trafilatura" as FineWeb
    # Payloads above this are skipped and counted (Common Crawl truncates at 1 MiB anyway:
    # WARC-Truncated: length), so this only guards against pathological records.
    max_payload_bytes: int = 5_000_000
    # trafilatura only: datatrove's Trafilatura(favour_precision=True) in examples/fineweb.py. (FineWeb
    # also stops trafilatura after 1 s per document; that timeout is not implemented here.)
    trafilatura_favor_precision: bool = True

    def __post_init__(self) -> None:
        if self.extractor not in EXTRACTORS:
            raise ValueError(f"extractor must be one of {EXTRACTORS}, got {self.extractor!r}")


@dataclass(frozen=True)
class ExtractionError:
    offset: int
    record_id: str | None
    reason: str
    detail: str


@dataclass(frozen=True)
class Skip:
    reason: str


Event = dict | ExtractionError | Skip


def domain_of(url: str) -> str:
    """Host of a URL, lowercased, without port or credentials; '' if there is none."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return ""
    return host or ""


def parse_warc_date(value: str | None) -> dt.datetime | None:
    """WARC-Date (ISO 8601, 'Z' suffix, optional fraction) as an aware UTC datetime."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def _known_codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def decode_html(payload: bytes, declared_charset: str | None) -> tuple[str, str]:
    """Decode an HTML payload: the declared charset when Python knows it, else detection.

    An unknown or wrong declared charset falls back to detection and then UTF-8/Windows-1252;
    undecodable bytes end up as U+FFFD rather than an exception. Returns (text, charset used).
    """
    charset = _known_codec(declared_charset) or detect_encoding(payload) or "utf-8"
    charset = _known_codec(charset) or "utf-8"
    return bytes_to_str(payload, charset, errors="replace"), charset


def html_to_text(html: str, extractor: str, favor_precision: bool = True) -> str:
    """Main-content text of an HTML page, paragraphs on their own lines.

    `favor_precision` is trafilatura's (keep less, but less boilerplate); resiliparse ignores it.
    """
    if extractor == "trafilatura":
        import trafilatura  # imported lazily: slow to import and only used when selected

        # FineWeb's settings: deduplicate, no comments (datatrove Trafilatura).
        text = trafilatura.extract(
            html, favor_precision=favor_precision, include_comments=False, deduplicate=True
        )
        return text or ""
    return extract_plain_text(
        html,
        preserve_formatting=True,
        main_content=True,
        list_bullets=True,
        alt_texts=False,
        links=False,
        form_fields=False,
        noscript=False,
        comments=False,
    )


def _document(
    *, record_id, url, date, warc_path, offset, snapshot, content_type, content_type_source,
    charset, text, extractor,
) -> dict:
    return {
        "doc_id": record_id,
        "snapshot": snapshot,
        "url": url,
        "domain": domain_of(url),
        "fetch_time": parse_warc_date(date),
        "warc_path": warc_path,
        "offset": offset,
        "content_type": content_type,
        # how content_type was decided: http | warc_identified | sniffed | warc_record (WET)
        "content_type_source": content_type_source,
        "charset": charset,
        "text": text,
        "n_chars": len(text),
        "extractor": extractor,
    }


def _record_to_event(
    *,
    record_type: str,
    headers,
    http_status: int | None,
    http_content_type: str | None,
    http_charset: str | None,
    payload: bytes,
    offset: int,
    warc_path: str,
    snapshot: str,
    config: ExtractionConfig,
) -> Event:
    """Decide what one record becomes. Shared by the fastwarc path and the lenient reader."""
    record_id = headers.get("WARC-Record-ID")
    url = headers.get("WARC-Target-URI") or ""
    date = headers.get("WARC-Date")
    if record_type == "conversion":
        if len(payload) > config.max_payload_bytes:
            return Skip("payload_too_large")
        text, charset = bytes_to_str(payload, "utf-8", errors="replace"), "utf-8"
        text = text.strip()
        if not text:
            return Skip("empty_text")
        return _document(
            record_id=record_id, url=url, date=date, warc_path=warc_path, offset=offset,
            snapshot=snapshot, content_type="text/plain", content_type_source=SOURCE_WARC_RECORD,
            charset=charset, text=text, extractor="wet",
        )
    if record_type != "response":
        return Skip(f"record_type.{record_type}")
    if http_status is None:
        return Skip("not_http")
    if http_status != 200:
        return Skip("http_status.non_200")
    decided = decide_content_type(
        http_content_type, headers.get("WARC-Identified-Payload-Type"), payload
    )
    if decided.mime_type not in HTML_TYPES:
        return Skip("content_type.not_html")
    if len(payload) > config.max_payload_bytes:
        return Skip("payload_too_large")
    html, charset = decode_html(payload, http_charset)
    try:
        text = html_to_text(html, config.extractor, config.trafilatura_favor_precision).strip()
    except Exception as exc:  # a parser failure on one page must not fail the file
        return ExtractionError(offset, record_id, "extract.failed", f"{type(exc).__name__}: {exc}")
    if not text:
        return Skip("empty_text")
    return _document(
        record_id=record_id, url=url, date=date, warc_path=warc_path, offset=offset,
        snapshot=snapshot, content_type=decided.mime_type, content_type_source=decided.source,
        charset=charset, text=text, extractor=config.extractor,
    )


class StrictReaderGaveUp(Exception):
    """fastwarc returned a record whose WARC headers it did not parse (bare-LF line ends)."""


def _unparsed(record) -> bool:
    """fastwarc reads a record with bare-LF headers as one `unknown` record swallowing the file."""
    warc_type = record.headers.get("WARC-Type")
    return warc_type is None or "\n" in warc_type


def _consume(record) -> int:
    """Skip the rest of a record's payload; the number of bytes skipped."""
    if hasattr(record.reader, "consume"):
        return record.reader.consume()
    return len(record.reader.read())


def _fastwarc_event(record, warc_path: str, snapshot: str, config: ExtractionConfig) -> Event:
    """The event of one record fastwarc has parsed."""
    record_type = str(record.record_type).split(".")[-1]
    record_id = record.headers.get("WARC-Record-ID")
    expected = record.content_length
    if record_type not in ("response", "conversion"):
        consumed = _consume(record)
        if consumed < expected:
            return ExtractionError(
                record.stream_pos, record_id, "warc.truncated_record",
                f"{record_type} record has {consumed} of {expected} bytes (truncated file?)",
            )
        return Skip(f"record_type.{record_type}")
    payload = record.reader.read(config.max_payload_bytes + 1)
    if len(payload) > config.max_payload_bytes:
        _consume(record)
    elif len(payload) < expected:
        return ExtractionError(
            record.stream_pos, record_id, "warc.truncated_record",
            f"payload has {len(payload)} of {expected} bytes (truncated file?)",
        )
    http = record.http_headers if record.is_http else None
    return _record_to_event(
        record_type=record_type,
        headers=record.headers,
        http_status=http.status_code if http is not None else None,
        http_content_type=record.http_content_type,
        http_charset=record.http_charset,
        payload=payload,
        offset=record.stream_pos,
        warc_path=warc_path,
        snapshot=snapshot,
        config=config,
    )


def _produced_key(record_id: str | None, offset: int) -> object:
    """How a record already produced is recognized when a file is read again: by its id, or by
    its offset when it has none (offsets agree between the readers for member-per-record gzip
    and uncompressed files)."""
    return record_id if record_id else ("offset", offset)


@dataclass
class _StrictPass:
    """What the fastwarc pass did: events produced, why it stopped, its last record."""

    n_events: int = 0
    failure: BaseException | None = None
    last_offset: int | None = None  # stream_pos of the last record produced
    last_truncated: bool = False  # that record was already reported as truncated


def _iter_fastwarc(
    stream: BinaryIO, warc_path: str, snapshot: str, config: ExtractionConfig, seen: set,
    progress: _StrictPass,
) -> Iterator[Event]:
    """Records through fastwarc. Raises what fastwarc raises; the caller falls back on it.

    Each record's event is held back until fastwarc has read the next record (or the end): zlib may
    notice a damaged member only at its CRC check, after the record's bytes were handed out. When
    fastwarc fails, the held record is not produced and is left to the lenient reader.
    """
    held: tuple[object, int, Event] | None = None

    def release(item):
        progress.last_offset = item[1]
        progress.last_truncated = (isinstance(item[2], ExtractionError)
                                   and item[2].reason == "warc.truncated_record")
        progress.n_events += 1
        return item[2]

    try:
        records = ArchiveIterator(stream, parse_http=True, record_types=WarcRecordType.any_type)
        for record in records:
            if _unparsed(record):
                raise StrictReaderGaveUp(
                    f"record at {record.stream_pos} has no parsed WARC-Type (bare-LF headers?)")
            if held is not None:
                yield release(held)
            key = _produced_key(record.headers.get("WARC-Record-ID"), record.stream_pos)
            held = (key, record.stream_pos, _fastwarc_event(record, warc_path, snapshot, config))
            seen.add(key)
    except BaseException:
        if held is not None:
            seen.discard(held[0])
        raise
    if held is not None:
        yield release(held)


def _iter_lenient(
    opener: Callable[[], BinaryIO], warc_path: str, snapshot: str, config: ExtractionConfig,
    seen: set, start_offset: int = 0,
) -> Iterator[Event]:
    with opener() as stream:
        for item in warc_lenient.iter_records(stream, max_payload_bytes=config.max_payload_bytes,
                                              start_offset=start_offset):
            if isinstance(item, warc_lenient.LenientError):
                yield ExtractionError(item.offset, item.record_id, item.reason, item.detail)
                continue
            record_id = item.headers.get("WARC-Record-ID")
            key = _produced_key(record_id, item.offset)
            if key in seen:
                continue
            seen.add(key)
            if item.length_mismatch:
                yield ExtractionError(
                    item.offset, record_id, "warc.content_length_mismatch",
                    f"Content-Length {item.declared_length}, block has {item.block_length} bytes;"
                    " recovered by the lenient reader",
                )
            if item.oversized:
                yield Skip("payload_too_large")
                continue
            yield _record_to_event(
                record_type=item.record_type,
                headers=item.headers,
                http_status=item.http_status,
                http_content_type=item.http_content_type,
                http_charset=item.http_charset,
                payload=item.payload,
                offset=item.offset,
                warc_path=warc_path,
                snapshot=snapshot,
                config=config,
            )


def _iter_strict_pass(
    stream: BinaryIO, uri: str, snapshot: str, config: ExtractionConfig, seen: set,
    progress: _StrictPass,
) -> Iterator[Event]:
    """The fastwarc pass; then what fastwarc silently left out at the end of a file.

    fastwarc ends without an error when a file is cut inside the first bytes of a record (its gzip
    header or WARC headers). So the end of the file, from the last record fastwarc produced on, is
    read again leniently (from the bytes kept by `StreamTail`, no second read of the file):
    records fastwarc did not produce come out, and so does the error saying where the file ends.
    """
    tail = StreamTail(stream)
    try:
        with stream:
            yield from _iter_fastwarc(tail, uri, snapshot, config, seen, progress)
    except BaseException as exc:
        if not _is_reader_failure(exc):
            raise
        progress.failure = exc
        return
    if progress.last_offset is None or progress.last_truncated:
        return
    rest = tail.since(progress.last_offset)
    if rest is not None:  # None: the last record is larger than the kept tail; not checked
        yield from _iter_lenient(lambda: io.BytesIO(rest), uri, snapshot, config, seen,
                                 start_offset=progress.last_offset)


def extract_file(
    uri: str,
    snapshot: str,
    config: ExtractionConfig = ExtractionConfig(),
    opener: Callable[[str], BinaryIO] = open_uri,
) -> Iterator[Event]:
    """All events of one WARC/WET file. Never raises for bad data: failures become events.

    A missing or unreadable file gives one `file.*` error at offset -1. A file fastwarc rejects, or
    in which it finds no record, is read again leniently (bare-LF headers, WARC/0.18, damaged gzip
    members); records already produced are not produced twice.
    """
    seen: set = set()
    try:
        stream = opener(uri)
    except FileNotFoundError as exc:
        yield ExtractionError(-1, None, "file.missing", str(exc))
        return
    except Exception as exc:  # permission, network after retries, bad URI scheme, ...
        yield ExtractionError(-1, None, "file.unreadable", f"{type(exc).__name__}: {exc}")
        return
    strict = _StrictPass()
    yield from _iter_strict_pass(stream, uri, snapshot, config, seen, strict)
    if strict.failure is None and strict.n_events:
        return
    if strict.failure is None and not _nonempty(uri, opener):
        yield ExtractionError(0, None, "file.empty", "the file has no bytes")
        return
    if strict.failure is not None:
        failure = strict.failure
        reason = "gzip.corrupt" if "ecompress" in str(failure) else "warc.parse_error"
        yield ExtractionError(
            -1, None, reason,
            f"{type(failure).__name__}: {failure} after {strict.n_events} records; trying the"
            " lenient reader",
        )
    n_records = strict.n_events
    try:
        for event in _iter_lenient(lambda: opener(uri), uri, snapshot, config, seen):
            n_records += not isinstance(event, ExtractionError)
            yield event
    except Exception as exc:  # the stream itself fails (network after retries, I/O error)
        yield ExtractionError(-1, None, "file.unreadable",
                              f"{type(exc).__name__}: {exc} while reading leniently")
        return
    if n_records == 0:
        yield ExtractionError(0, None, "warc.no_records", "no WARC record could be read")


def _is_reader_failure(exc: BaseException) -> bool:
    """Any Exception, and fastwarc's Rust panics: pyo3's PanicException derives from BaseException,
    and fastwarc 2.0.1 panics when a stream that cannot seek (an HTTP stream) raises in a read."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def _nonempty(uri: str, opener: Callable[[str], BinaryIO]) -> bool:
    try:
        with opener(uri) as stream:
            return bool(stream.read(1))
    except Exception:
        return False

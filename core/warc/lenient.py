"""A tolerant WARC reader for files that a strict parser rejects.

Used after fastwarc has failed on a file (or found nothing in it), and on the end of a file from
the last record fastwarc produced. It accepts headers ending in bare LF, the version lines of WARC
0.17, 0.18 (ClueWeb09), 1.0 and 1.1, ignores a Content-Length that does not match (a record ends
where the next version line starts: `record_splitter`), and reads member-per-record gzip,
whole-file gzip and plain files through `gzip_members`, which resynchronizes after a damaged member.

Offsets: a record that starts a gzip member gets the member's compressed offset (what fastwarc and
Common Crawl's indexes give); a record in the middle of a member (a file gzipped as one member) gets
its position in the decompressed data; a record in an uncompressed file gets its file offset.

Damage: the record being read when a damaged member (`gzip.corrupt_member`) or the end of a
truncated file (`gzip.truncated`) interrupts it is dropped and named in the error, unless none of
its bytes came from that member and its block has exactly its Content-Length (then it is whole).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Iterator

from core.warc.gzip_members import Chunk, DamagedRange, iter_pieces
from core.warc.record_splitter import VERSION_LINES, HeaderTooLong, RawRecord, RecordSplitter


@dataclass
class LenientRecord:
    offset: int
    headers: dict
    record_type: str
    payload: bytes  # for HTTP responses the body after the HTTP headers, else the whole block
    declared_length: int
    block_length: int
    oversized: bool = False
    http_status: int | None = None
    http_content_type: str | None = None
    http_charset: str | None = None

    @property
    def length_mismatch(self) -> bool:
        return not self.oversized and self.declared_length != self.block_length


@dataclass(frozen=True)
class LenientError:
    offset: int
    reason: str
    detail: str
    record_id: str | None = None


def parse_header_block(lines: list[bytes]) -> dict:
    """'Name: value' lines into a dict (first occurrence wins); continuation lines are joined."""
    headers: dict = {}
    last = None
    for raw in lines:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if line[:1] in (" ", "\t") and last is not None:
            headers[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue
        last = name.strip()
        headers.setdefault(last, value.strip())
    return headers


def parse_http_block(block: bytes) -> tuple[int | None, dict, bytes]:
    """Split an HTTP response block into (status, headers, body); status None if not HTTP."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        head, found, body = block.partition(sep)
        if found:
            break
    else:
        return None, {}, block
    lines = head.split(b"\n")
    status_line = lines[0].decode("latin-1", errors="replace").split()
    if len(status_line) < 2 or not status_line[0].startswith("HTTP/"):
        return None, {}, block
    try:
        status = int(status_line[1])
    except ValueError:
        return None, {}, block
    headers = {k.lower(): v for k, v in parse_header_block(lines[1:]).items()}
    return status, headers, body


def _content_type_and_charset(headers: dict) -> tuple[str | None, str | None]:
    value = headers.get("content-type")
    if not value:
        return None, None
    parts = [p.strip() for p in value.split(";")]
    charset = None
    for part in parts[1:]:
        key, _, val = part.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip("\"'") or None
    return parts[0].lower() or None, charset


def _finish(offset, header_lines, body_parts, body_size, max_payload_bytes) -> LenientRecord:
    headers = parse_header_block(header_lines)
    record_type = headers.get("WARC-Type", "unknown").strip().lower()
    oversized = body_size > max_payload_bytes
    block = b"" if oversized else b"".join(body_parts)
    # The record ends with two CRLF (or, once CRs were stripped, two LF) before the next record.
    trimmed = block
    for ending in (b"\r\n\r\n", b"\n\n"):
        if trimmed.endswith(ending):
            trimmed = trimmed[: -len(ending)]
            break
    try:
        declared = int(headers.get("Content-Length", "-1"))
    except ValueError:
        declared = -1
    record = LenientRecord(
        offset=offset, headers=headers, record_type=record_type, payload=trimmed,
        declared_length=declared, block_length=len(trimmed) if not oversized else body_size,
        oversized=oversized,
    )
    if record_type == "response" and not oversized:
        status, http_headers, body = parse_http_block(trimmed)
        record.http_status = status
        record.http_content_type, record.http_charset = _content_type_and_charset(http_headers)
        record.payload = body
    return record


def _record_id_in(head: bytes) -> str | None:
    """WARC-Record-ID from the start of a record's bytes, if they hold its version line."""
    lines = head.split(b"\n")
    if len(lines) < 2 or lines[0].rstrip(b"\r") not in VERSION_LINES:
        return None
    header: list[bytes] = []
    for line in lines[1:-1]:  # the last piece may be cut short
        if not line.strip():
            break
        header.append(line)
    return parse_header_block(header).get("WARC-Record-ID")


class _LenientReader:
    """Records from the splitter, and what to do when the data breaks off."""

    def __init__(self, max_payload_bytes: int):
        self.max_payload_bytes = max_payload_bytes
        self.splitter = RecordSplitter(max_payload_bytes)
        # Records produced from one member: (member offset, count), to report on its damage.
        self.produced_in: tuple[int | None, int] = (None, 0)

    def record(self, raw: RawRecord) -> LenientRecord:
        member, count = self.produced_in
        same = member == raw.last_member
        self.produced_in = (member, count + 1) if same else (raw.last_member, 1)
        return _finish(raw.offset, raw.header_lines, raw.body_parts, raw.body_size,
                       self.max_payload_bytes)

    def feed(self, chunk: Chunk) -> Iterator[LenientRecord | LenientError]:
        for item in self.splitter.feed(chunk):
            if isinstance(item, HeaderTooLong):
                yield LenientError(item.offset, "warc.header_too_long", item.detail)
            else:
                yield self.record(item)

    def interrupted(self, member_offset: int, reason: str, detail: str, head: bytes = b""
                    ) -> Iterator[LenientRecord | LenientError]:
        """Damage, or the end of the data, in the member at `member_offset`.

        The open record is kept only if none of its bytes came from that member and its block has
        exactly its Content-Length. The error names the record that was lost: the open record when
        it is dropped, else the one whose headers start the damaged member (`head`, what zlib
        could still decompress) when no record of that member was produced.
        """
        self.splitter.drop_pending()
        in_header = self.splitter.in_header
        raw = self.splitter.close()
        record_id = None
        if raw is not None:
            whole = None
            if not in_header and raw.last_member != member_offset:
                whole = _finish(raw.offset, raw.header_lines, raw.body_parts, raw.body_size,
                                self.max_payload_bytes)
            if whole is not None and not whole.length_mismatch:
                yield self.record(raw)
            else:
                record_id = parse_header_block(raw.header_lines).get("WARC-Record-ID")
                detail += f"; the record at {raw.offset} that it cut is dropped"
        member, count = self.produced_in
        if member == member_offset and count:
            detail += (f"; {count} records read before from this member are kept, but zlib checks"
                       " a member only at its end, so those decoded after the damaged byte may"
                       " carry wrong bytes")
        elif record_id is None:
            record_id = _record_id_in(head)
        yield LenientError(member_offset, reason, detail, record_id)

    def end(self) -> Iterator[LenientRecord | LenientError]:
        for item in self.splitter.end():
            yield LenientError(item.offset, "warc.header_too_long", item.detail)
        in_header = self.splitter.in_header
        raw = self.splitter.close()
        if raw is not None and in_header:
            yield LenientError(raw.offset, "warc.truncated_record",
                               "the data ends inside the record's header",
                               parse_header_block(raw.header_lines).get("WARC-Record-ID"))
        elif raw is not None:
            yield self.record(raw)


def iter_records(stream: BinaryIO, max_payload_bytes: int = 5_000_000, start_offset: int = 0
                 ) -> Iterator[LenientRecord | LenientError]:
    """Records of a possibly malformed or damaged WARC stream, with an error per damaged range.

    `start_offset`: the file offset of the stream's first byte (a stream that starts inside a file).
    """
    reader = _LenientReader(max_payload_bytes)
    for piece in iter_pieces(stream, start_offset=start_offset):
        if isinstance(piece, Chunk):
            yield from reader.feed(piece)
        elif isinstance(piece, DamagedRange):
            yield from reader.interrupted(piece.start, "gzip.corrupt_member", piece.detail,
                                          piece.head)
        else:
            yield from reader.interrupted(piece.offset, "gzip.truncated", piece.detail)
    yield from reader.end()

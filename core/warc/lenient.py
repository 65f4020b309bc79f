"""A tolerant WARC reader for files that a strict parser rejects.

Used only after fastwarc has failed on a file. It accepts headers ending in bare LF, the version
lines of WARC 0.17, 0.18 (ClueWeb09), 1.0 and 1.1, ignores a Content-Length that does not match (a
record ends where the next version line starts), and reads member-per-record gzip, whole-file gzip
and plain files through `gzip_members`, which resynchronizes after a damaged gzip member.

Offsets: a record that starts a gzip member gets the member's compressed offset (what fastwarc and
Common Crawl's indexes give); a record in the middle of a member (a file gzipped as one member) or
in an uncompressed file gets its offset in the decompressed data.

Damage: the record being read when a damaged member (`gzip.corrupt_member`) or the end of a
truncated file (`gzip.truncated`) interrupts it is dropped and named in the error, unless none of
its bytes came from that member and its block has exactly its Content-Length (then it is whole).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Iterator

from core.warc.gzip_members import Chunk, DamagedRange, Piece, TruncatedMember, iter_pieces

# WARC/0.17 and 0.18 are the drafts older crawls used (ClueWeb09 is WARC/0.18).
_VERSION_LINES = (b"WARC/0.17", b"WARC/0.18", b"WARC/1.0", b"WARC/1.1")
_MAX_HEADER_LINES = 512
# A line longer than this is handed on in fragments (a fragment is never taken for a version line).
_MAX_LINE_BYTES = 1 << 20


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


def _finish(offset, header_lines, body_lines, body_size, max_payload_bytes) -> LenientRecord:
    headers = parse_header_block(header_lines)
    record_type = headers.get("WARC-Type", "unknown").strip().lower()
    oversized = body_size > max_payload_bytes
    block = b"" if oversized else b"".join(body_lines)
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


@dataclass(frozen=True)
class _Line:
    data: bytes
    offset: int  # the record offset if a record starts here (see the module docstring)
    member_offset: int | None  # member of the line's last byte (None: uncompressed file)
    line_start: bool = True  # False for the second and later fragments of an over-long line


def _lines(pieces: Iterator[Piece]) -> Iterator[_Line | DamagedRange | TruncatedMember]:
    """Lines (with their end) of the decompressed data; damage events pass through and cut a line."""
    partial = bytearray()
    partial_offset = 0
    partial_is_start = True
    decompressed = 0  # bytes of decompressed data so far (positions inside whole-file members)
    member = None
    for piece in pieces:
        if not isinstance(piece, Chunk):
            partial.clear()
            partial_is_start = True
            yield piece
            continue
        data, member = piece.data, piece.member_offset
        base = piece.position if member is None else decompressed
        at = 0
        while at < len(data):
            if not partial:
                starts_member = member is not None and piece.position == 0 and at == 0
                partial_offset = member if starts_member else base + at
            newline = data.find(b"\n", at)
            if newline < 0:
                partial += data[at:]
                break
            partial += data[at:newline + 1]
            yield _Line(bytes(partial), partial_offset, member, partial_is_start)
            partial.clear()
            partial_is_start = True
            at = newline + 1
        if len(partial) > _MAX_LINE_BYTES:
            yield _Line(bytes(partial), partial_offset, member, partial_is_start)
            partial.clear()
            partial_is_start = False
        decompressed += len(data)
    if partial:
        yield _Line(bytes(partial), partial_offset, member, partial_is_start)


class _RecordAssembler:
    """Collects lines into records: a version line starts one, a blank line ends its header."""

    def __init__(self, max_payload_bytes: int):
        self.max_payload_bytes = max_payload_bytes
        self.offset: int | None = None  # None: not inside a record
        self.header_lines: list[bytes] = []
        self.body_lines: list[bytes] = []
        self.body_size = 0
        self.in_header = False
        self.last_member: int | None = None  # member the open record's last line came from
        # Records produced from one member: (member offset, count), to report on its damage.
        self.produced_in: tuple[int | None, int] = (None, 0)

    def feed(self, line: _Line) -> Iterator[LenientRecord | LenientError]:
        is_version = (line.line_start and not self.in_header
                      and line.data.rstrip(b"\r\n") in _VERSION_LINES)
        if is_version:
            if self.offset is not None:
                yield self.finish()
            self._start(line.offset)
            self.last_member = line.member_offset
            return
        if self.offset is None:
            return  # bytes before the first record
        self.last_member = line.member_offset
        if not self.in_header:
            self.body_size += len(line.data)
            if self.body_size <= self.max_payload_bytes:
                self.body_lines.append(line.data)
        elif line.data.strip() == b"":
            self.in_header = False
        elif len(self.header_lines) >= _MAX_HEADER_LINES:
            yield LenientError(self.offset, "warc.header_too_long",
                               f"more than {_MAX_HEADER_LINES} header lines")
            self.offset = None
            self.in_header = False
        else:
            self.header_lines.append(line.data)

    def _start(self, offset: int) -> None:
        self.offset, self.header_lines, self.body_lines = offset, [], []
        self.body_size, self.in_header = 0, True

    def _record(self) -> LenientRecord:
        return _finish(self.offset, self.header_lines, self.body_lines, self.body_size,
                       self.max_payload_bytes)

    def finish(self) -> LenientRecord:
        """The open record, now complete."""
        record = self._record()
        self.offset = None
        member, count = self.produced_in
        self.produced_in = ((member, count + 1) if member == self.last_member
                            else (self.last_member, 1))
        return record

    def _open_record_if_whole(self, member_offset: int | None) -> LenientRecord | None:
        """The open record if none of it came from the member at `member_offset` and its block
        has exactly its Content-Length; else None (the record is lost)."""
        if self.offset is None or self.in_header:
            return None
        if self.last_member is not None and self.last_member == member_offset:
            return None
        record = self._record()
        return None if record.length_mismatch else self.finish()

    def interrupted(self, member_offset: int | None, reason: str, error_offset: int, detail: str,
                    head: bytes = b"") -> Iterator[LenientRecord | LenientError]:
        """Damage, or the end of the data, in the member at `member_offset`.

        The error names the record that was lost: the open record when it is dropped, else the
        one whose headers start the damaged member (`head`, what zlib could still decompress)
        when no record of that member was produced.
        """
        whole = self._open_record_if_whole(member_offset)
        record_id = None
        if whole is not None:
            yield whole
        elif self.offset is not None:
            record_id = (parse_header_block(self.header_lines).get("WARC-Record-ID")
                         if self.in_header else self._record().headers.get("WARC-Record-ID"))
            detail += f"; the record at {self.offset} that it cut is dropped"
        self.offset, self.in_header = None, False
        member, count = self.produced_in
        if member is not None and member == member_offset and count:
            detail += (f"; {count} records read before from this member are kept, but zlib checks"
                       " a member only at its end, so those decoded after the damaged byte may"
                       " carry wrong bytes")
        elif record_id is None:
            record_id = _record_id_in(head)
        yield LenientError(error_offset, reason, detail, record_id)


def _record_id_in(head: bytes) -> str | None:
    """WARC-Record-ID from the start of a record's bytes, if they hold its version line."""
    lines = head.split(b"\n")
    if len(lines) < 2 or lines[0].rstrip(b"\r") not in _VERSION_LINES:
        return None
    header: list[bytes] = []
    for line in lines[1:-1]:  # the last piece may be cut short
        if not line.strip():
            break
        header.append(line)
    return parse_header_block(header).get("WARC-Record-ID")


def iter_records(stream: BinaryIO, max_payload_bytes: int = 5_000_000, start_offset: int = 0
                 ) -> Iterator[LenientRecord | LenientError]:
    """Records of a possibly malformed or damaged WARC stream, with an error per damaged range.

    `start_offset`: the file offset of the stream's first byte (a stream that starts inside a file).
    """
    records = _RecordAssembler(max_payload_bytes)
    for item in _lines(iter_pieces(stream, start_offset=start_offset)):
        if isinstance(item, _Line):
            yield from records.feed(item)
        elif isinstance(item, DamagedRange):
            yield from records.interrupted(item.start, "gzip.corrupt_member", item.start,
                                           item.detail, item.head)
        else:
            yield from records.interrupted(item.offset, "gzip.truncated", item.offset,
                                           item.detail)
    if records.offset is not None and records.in_header:
        yield LenientError(records.offset, "warc.truncated_record",
                           "the data ends inside the record's header",
                           parse_header_block(records.header_lines).get("WARC-Record-ID"))
    elif records.offset is not None:
        yield records.finish()

"""Split decompressed WARC data into records at version lines, whatever their Content-Length says.

A record starts with a version line (`WARC/0.17`, `WARC/0.18`, `WARC/1.0`, `WARC/1.1`) at the start
of a line; its header ends at the first blank line (CRLF or bare LF); its block runs to the next
version line. Blocks are passed on in slices, not line by line: only the places where a line starts
with `WARC/` are looked at, so a page costs a few `find` calls, not one Python step per line.

Offsets: a record whose version line is the first byte of a gzip member gets the member's
compressed offset; one in the middle of a member gets its position in the decompressed data; one in
an uncompressed file gets its file offset.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Iterator

from core.warc.gzip_members import Chunk

# WARC/0.17 and 0.18 are the drafts older crawls used (ClueWeb09 is WARC/0.18).
VERSION_LINES = (b"WARC/0.17", b"WARC/0.18", b"WARC/1.0", b"WARC/1.1")
_LONGEST_VERSION_LINE = max(len(v) for v in VERSION_LINES) + 2  # with CRLF
MAX_HEADER_LINES = 512
MAX_HEADER_LINE_BYTES = 1 << 20


@dataclass
class RawRecord:
    offset: int
    header_lines: list[bytes] = field(default_factory=list)
    body_parts: list[bytes] = field(default_factory=list)  # the block, up to max_body_bytes
    body_size: int = 0  # the whole block's size, also beyond max_body_bytes
    last_member: int | None = None  # member of the last byte given to the record


@dataclass(frozen=True)
class HeaderTooLong:
    offset: int
    detail: str


class RecordSplitter:
    """Feed decompressed chunks in order; get records as each one is followed by the next."""

    def __init__(self, max_body_bytes: int):
        self.max_body_bytes = max_body_bytes
        self.data = bytearray()  # decompressed bytes not yet given to a record
        self.data_start = 0  # position of data[0] in all the decompressed bytes fed
        self.line_start = True  # data[0] starts a line
        # (position of the chunk's first byte, member offset, position within the member)
        self.chunks: deque[tuple[int, int | None, int]] = deque()
        self.record: RawRecord | None = None  # the open record
        self.in_header = False

    def feed(self, chunk: Chunk) -> Iterator[RawRecord | HeaderTooLong]:
        """Records completed by this chunk (each one ends where the next starts)."""
        self.chunks.append((self.data_start + len(self.data), chunk.member_offset, chunk.position))
        self.data += chunk.data
        yield from self._advance(final=False)

    def end(self) -> Iterator[HeaderTooLong]:
        """No more data: hand every byte left to the open record (which stays open)."""
        for item in self._advance(final=True):
            if isinstance(item, RawRecord):
                raise AssertionError("a record is completed only by the next one")
            yield item

    def drop_pending(self) -> None:
        """The data broke off (a damaged member): bytes not yet given to a record are dropped."""
        self._consume(len(self.data))
        self.chunks.clear()
        self.line_start = True

    def close(self) -> RawRecord | None:
        """Take the open record away (complete or not)."""
        record, self.record, self.in_header = self.record, None, False
        return record

    # -- inside --------------------------------------------------------------------------------

    def _advance(self, final: bool) -> Iterator[RawRecord | HeaderTooLong]:
        while True:
            if self.record is not None and self.in_header:
                step = self._header_line(final)
                if step is None:
                    return
                if isinstance(step, HeaderTooLong):
                    yield step
                continue
            start, undecided = self._next_version_line(final)
            if start is None:
                self._give_block(undecided)
                return
            self._give_block(start)
            if self.record is not None:
                yield self.close()
            self.record = RawRecord(self._offset_here())
            self.in_header = True
            self._note_member(0)
            self._consume(self.data.find(b"\n") + 1 or len(self.data))

    def _next_version_line(self, final: bool) -> tuple[int | None, int]:
        """(index of the next version line at a line start, or None; where undecided bytes start).

        Bytes from the undecided index on may begin a version line whose end has not come yet.
        """
        data = self.data
        search_from = 0
        while True:
            at = data.find(b"WARC/", search_from)
            if at < 0:
                return None, len(data) if final else self._maybe_partial_version_line()
            if (at == 0 and self.line_start) or (at > 0 and data[at - 1] == 0x0A):
                end = data.find(b"\n", at, at + _LONGEST_VERSION_LINE)
                if end < 0 and not final and len(data) - at < _LONGEST_VERSION_LINE:
                    return None, at
                line = bytes(data[at: end if end >= 0 else at + _LONGEST_VERSION_LINE])
                if line.rstrip(b"\r\n") in VERSION_LINES:
                    return at, at
            search_from = at + 1

    def _maybe_partial_version_line(self) -> int:
        """Start of a last line that may still become `WARC/...`, else the end of the data."""
        last_newline = self.data.rfind(b"\n")
        if last_newline < 0 and not self.line_start:
            return len(self.data)
        tail = bytes(self.data[last_newline + 1:])
        could_be = len(tail) < _LONGEST_VERSION_LINE and b"WARC/".startswith(tail[:5])
        return last_newline + 1 if could_be else len(self.data)

    def _header_line(self, final: bool) -> bool | HeaderTooLong | None:
        """Take one header line; None when the line has not fully arrived."""
        end = self.data.find(b"\n")
        if end < 0:
            if len(self.data) > MAX_HEADER_LINE_BYTES:
                return self._header_too_long(f"a header line over {MAX_HEADER_LINE_BYTES} bytes")
            if not final or not self.data:
                return None
            end = len(self.data) - 1
        line = bytes(self.data[: end + 1])
        self._note_member(end)
        self._consume(end + 1)
        if not line.strip():
            self.in_header = False
        elif len(self.record.header_lines) >= MAX_HEADER_LINES:
            return self._header_too_long(f"more than {MAX_HEADER_LINES} header lines")
        else:
            self.record.header_lines.append(line)
        return True

    def _header_too_long(self, detail: str) -> HeaderTooLong:
        record = self.close()
        return HeaderTooLong(record.offset, detail)

    def _give_block(self, upto: int) -> None:
        """Give data[:upto] to the open record's block (or drop it when no record is open)."""
        if upto <= 0:
            return
        record = self.record
        if record is not None and not self.in_header:
            record.body_size += upto
            if record.body_size <= self.max_body_bytes:
                record.body_parts.append(bytes(self.data[:upto]))
            self._note_member(upto - 1)
        self._consume(upto)

    def _note_member(self, index: int) -> None:
        if self.record is not None:
            self.record.last_member = self._chunk_at(self.data_start + index)[1]

    def _consume(self, count: int) -> None:
        if count <= 0:
            return
        self.line_start = self.data[count - 1] == 0x0A
        del self.data[:count]
        self.data_start += count
        while len(self.chunks) > 1 and self.chunks[1][0] <= self.data_start:
            self.chunks.popleft()

    def _chunk_at(self, position: int) -> tuple[int, int | None, int]:
        for chunk in reversed(self.chunks):
            if chunk[0] <= position:
                return chunk
        return self.chunks[0]

    def _offset_here(self) -> int:
        """The record offset of data[0] (see the module docstring)."""
        start, member, member_position = self._chunk_at(self.data_start)
        within = member_position + self.data_start - start
        if member is None:
            return within
        return member if within == 0 else self.data_start

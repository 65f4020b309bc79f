"""Read a WARC file's bytes member by member, and resynchronize after a damaged gzip member.

Common Crawl (like most WARC writers) compresses every record as its own gzip member, so one damaged
member need not cost the rest of the file: when zlib fails inside a member, reading goes on at the
next gzip member (`1f 8b 08`) whose decompressed data starts with `WARC/`, and the skipped byte
range is reported. Neither warcio nor fastwarc does this; both stop at the first bad member.

`iter_pieces` turns a binary stream into a sequence of
- `Chunk`: decompressed bytes, with the compressed offset of the member they come from,
- `DamagedRange`: compressed bytes [start, end) that were skipped (a member zlib rejects, or bytes
  before the first member that are not gzip at all),
- `TruncatedMember`: the file ends inside a member (nothing follows; nothing was skipped).

Memory stays bounded for 1 GB files: the stream is read in blocks, each member is inflated
incrementally with a cap on each output chunk, and compressed bytes are kept only from the start of
the current member (at most `max_retained` of them, needed to rescan after a damaged member).

Limits, by construction of gzip:
- A file compressed as one gzip member cannot be resynchronized: everything after the damage is
  lost, reported as one range from the member's start to the end of the file.
- zlib may notice damage only at the member's CRC check, at its end. With one record per member
  nothing is lost by that (a record is handed on only when the next member has begun, see
  `lenient`), but inside a member that holds many records, records decoded between the damaged
  byte and the check can carry wrong bytes; the error says how many records that member gave.

An uncompressed file is passed through as chunks with `member_offset=None`.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterator

GZIP_MAGIC = b"\x1f\x8b\x08"  # ID1, ID2, CM = deflate (RFC 1952, section 2.3.1)
WARC_START = b"WARC/"
GZIP_WBITS = 31  # zlib: gzip header and trailer, 32 KiB window
READ_SIZE = 1 << 20  # compressed bytes read from the stream at a time
CHUNK_SIZE = 1 << 20  # at most this many decompressed bytes per Chunk (bounds a gzip bomb too)
# Compressed bytes given to zlib at a time: zlib raises without returning what it decompressed in
# the failing call, so small steps hand out the damaged record's headers (its id goes in the error).
INFLATE_STEP = 16 << 10
MAX_RETAINED = 8 << 20  # compressed bytes of one member kept for a rescan after damage (a
# Common Crawl member is at most about 1 MiB: payloads are truncated at 1 MiB)
HEAD_BYTES = 4096  # decompressed bytes salvaged from a damaged member to name its record
# A member's first five decompressed bytes need its header (10 bytes, more with optional fields)
# and a few bytes of deflate data; a candidate needing more than this is not a record start.
PROBE_BYTES = 64 << 10


@dataclass(frozen=True)
class Chunk:
    data: bytes
    member_offset: int | None  # compressed offset of the member; None for an uncompressed file
    position: int  # offset of data[0] within its member (gzip) or within the file (uncompressed)


@dataclass(frozen=True)
class DamagedRange:
    start: int  # compressed offset of the first skipped byte (the damaged member's start)
    end: int  # compressed offset where reading resumed, or the file size
    detail: str
    # What zlib could still decompress at the start of the damaged member (at most HEAD_BYTES):
    # its WARC headers, when the damage lies after them, name the record that was lost.
    head: bytes = b""


@dataclass(frozen=True)
class TruncatedMember:
    offset: int  # compressed offset of the member the file ends in
    detail: str


Piece = Chunk | DamagedRange | TruncatedMember


class _Window:
    """The stream's bytes from `base` on, read on demand; bytes before `base` are forgotten."""

    def __init__(self, stream: BinaryIO, read_size: int, base: int = 0):
        self.stream = stream
        self.read_size = read_size
        self.base = base
        self.buf = bytearray()
        self.at_eof = False

    @property
    def end(self) -> int:
        return self.base + len(self.buf)

    def fill(self, upto: int) -> bool:
        """Read until the window reaches absolute offset `upto`; False if the stream ends first."""
        while self.end < upto and not self.at_eof:
            block = self.stream.read(self.read_size)
            if not block:
                self.at_eof = True
            else:
                self.buf += block
        return self.end >= upto

    def get(self, start: int, stop: int) -> bytes:
        self.fill(stop)
        start = max(start, self.base)
        return bytes(self.buf[start - self.base: max(start, stop) - self.base])

    def forget_before(self, offset: int) -> None:
        """Drop the bytes before `offset` (at most up to the end of what was read)."""
        new_base = min(offset, self.end)
        if new_base > self.base:
            del self.buf[: new_base - self.base]
            self.base = new_base

    def find(self, patterns: tuple[bytes, ...], start: int) -> tuple[int, bytes] | None:
        """The first occurrence of any of `patterns` at or after `start`: (offset, pattern).

        None at the end of the data. Bytes scanned without a match are forgotten, so a scan over
        a large damaged region keeps at most one read block in memory.
        """
        longest = max(len(p) for p in patterns)
        position = max(start, self.base)
        while True:
            hits = [(self.buf.find(p, position - self.base), p) for p in patterns]
            hits = [(self.base + at, p) for at, p in hits if at >= 0]
            if hits:
                return min(hits)
            position = max(position, self.end - longest + 1)
            self.forget_before(position)
            if not self.fill(self.end + 1):
                return None

    def size(self) -> int:
        """Offset of the end of the stream (reads it to the end)."""
        while self.fill(self.end + 1):
            self.forget_before(self.end)
        return self.end


class _EndOfData(Exception):
    """The stream ended inside a gzip member."""


class _Damaged(Exception):
    """zlib rejected a member's data."""


def _inflate_member(window: _Window, start: int, chunk_size: int, max_retained: int):
    """Yield the decompressed chunks of the member at `start`; return the offset after it.

    Raises _Damaged for a member zlib rejects and _EndOfData when the stream ends inside it.
    """
    inflater = zlib.decompressobj(GZIP_WBITS)
    fed_to = start
    position = 0
    while not inflater.eof:
        if not window.fill(fed_to + 1):
            raise _EndOfData(f"{position} decompressed bytes")
        block = window.get(fed_to, min(window.end, fed_to + INFLATE_STEP))
        fed_to += len(block)
        try:
            data = inflater.decompress(block, chunk_size)
            while True:
                if data:
                    yield Chunk(data, start, position)
                    position += len(data)
                if inflater.eof or not inflater.unconsumed_tail:
                    break
                data = inflater.decompress(inflater.unconsumed_tail, chunk_size)
        except zlib.error as exc:
            raise _Damaged(f"zlib: {exc}, after {position} decompressed bytes") from exc
        # Keep the member's bytes for a rescan, but never more than max_retained of them.
        window.forget_before(min(fed_to, max(start, fed_to - max_retained)))
    return fed_to - len(inflater.unused_data)


def starts_warc_record(window: _Window, offset: int) -> bool:
    """True when a gzip member starts at `offset` and its data starts with `WARC/`."""
    inflater = zlib.decompressobj(GZIP_WBITS)
    output = b""
    fed_to = offset
    step = 256
    try:
        while len(output) < len(WARC_START) and not inflater.eof and fed_to - offset < PROBE_BYTES:
            block = window.get(fed_to, fed_to + step)
            if not block:
                return False
            fed_to += len(block)
            output += inflater.decompress(block, len(WARC_START) - len(output))
            while inflater.unconsumed_tail and len(output) < len(WARC_START):
                missing = len(WARC_START) - len(output)
                output += inflater.decompress(inflater.unconsumed_tail, missing)
    except zlib.error:
        return False
    return output.startswith(WARC_START)


def next_record_member(window: _Window, start: int) -> int | None:
    """Offset of the first gzip member at or after `start` that starts a WARC record, or None."""
    hit = window.find((GZIP_MAGIC,), start)
    while hit is not None:
        if starts_warc_record(window, hit[0]):
            return hit[0]
        hit = window.find((GZIP_MAGIC,), hit[0] + 1)
    return None


def readable_head(window: _Window, offset: int, limit: int = HEAD_BYTES) -> bytes:
    """The first decompressed bytes of a (damaged) member, up to where zlib fails."""
    inflater = zlib.decompressobj(GZIP_WBITS)
    output = bytearray()
    fed_to = max(offset, window.base)
    try:
        while len(output) < limit and not inflater.eof and fed_to < offset + PROBE_BYTES:
            block = window.get(fed_to, fed_to + 64)
            if not block:
                break
            fed_to += len(block)
            output += inflater.decompress(block, limit - len(output))
    except zlib.error:
        pass
    return bytes(output[:limit])


def _only_padding_left(window: _Window, offset: int) -> bool:
    """True when nothing but NUL bytes follows `offset` (gzip files may be padded with zeros)."""
    if window.get(offset, offset + 1) not in (b"", b"\x00"):
        return False  # the usual case: the next member starts here
    while window.fill(offset + 1):
        if window.get(offset, window.end).lstrip(b"\x00"):
            return False
        offset = window.end
    return True


def _damage(window: _Window, start: int, why: str) -> tuple[DamagedRange, int | None]:
    head = readable_head(window, start) if window.base <= start else b""
    resume = next_record_member(window, start + 1)
    end = resume if resume is not None else window.size()
    then = ("reading resumed at the next gzip member that starts a WARC record"
            if resume is not None else
            "no later gzip member starts a WARC record, so the rest of the file is lost (inside"
            " one gzip member nothing can be resynchronized)")
    detail = (f"compressed bytes [{start}, {end}) skipped: the gzip member at {start} is damaged"
              f" ({why}); {then}")
    return DamagedRange(start, end, detail, head), resume


def _iter_members(window: _Window, start: int, chunk_size: int, max_retained: int
                  ) -> Iterator[Piece]:
    offset = start
    while True:
        if _only_padding_left(window, offset):
            return
        try:
            end = yield from _inflate_member(window, offset, chunk_size, max_retained)
        except _Damaged as exc:
            damaged, resume = _damage(window, offset, str(exc))
        except _EndOfData as exc:
            damaged, resume = _damage(window, offset, f"the file ends inside it, after {exc}")
            if resume is None:
                yield TruncatedMember(offset, f"the file ends inside the gzip member at {offset},"
                                              f" after {exc}")
                return
        else:
            window.forget_before(end)
            offset = end
            continue
        yield damaged
        if resume is None:
            return
        offset = resume


def _iter_plain(window: _Window, start: int, chunk_size: int) -> Iterator[Piece]:
    offset = start
    while window.fill(offset + 1):
        data = window.get(offset, min(window.end, offset + chunk_size))
        yield Chunk(data, None, offset)
        offset += len(data)
        window.forget_before(offset)


def _first_record_start(window: _Window) -> tuple[int, bool] | None:
    """Where the first record starts in a file that begins with neither gzip nor `WARC/`.

    The earliest of a gzip member starting a WARC record and a line starting with `WARC/`;
    returns (offset, is_gzip) or None when the data has neither.
    """
    hit = window.find((GZIP_MAGIC, b"\nWARC/"), window.base)
    while hit is not None:
        offset, pattern = hit
        if pattern != GZIP_MAGIC:
            return offset + 1, False
        if starts_warc_record(window, offset):
            return offset, True
        hit = window.find((GZIP_MAGIC, b"\nWARC/"), offset + 1)
    return None


def iter_pieces(stream: BinaryIO, read_size: int = READ_SIZE, chunk_size: int = CHUNK_SIZE,
                max_retained: int = MAX_RETAINED, start_offset: int = 0) -> Iterator[Piece]:
    """Decompressed chunks of a gzip (member per record or whole-file) or uncompressed stream.

    A stream that starts with neither a gzip member nor `WARC/` is searched for its first record;
    skipped bytes before a first gzip member are reported as a `DamagedRange` (they are most
    likely a member whose header is damaged). `start_offset` is the file offset of the stream's
    first byte, for a stream that starts inside a file; every offset reported includes it.
    """
    window = _Window(stream, read_size, start_offset)
    head = window.get(start_offset, start_offset + len(WARC_START))
    if head.startswith(GZIP_MAGIC[:2]):
        yield from _iter_members(window, start_offset, chunk_size, max_retained)
        return
    if head.startswith(WARC_START) or not head:
        yield from _iter_plain(window, start_offset, chunk_size)
        return
    first = _first_record_start(window)
    if first is None:
        return
    offset, is_gzip = first
    if not is_gzip:
        yield from _iter_plain(window, offset, chunk_size)
        return
    yield DamagedRange(start_offset, offset,
                       f"compressed bytes [{start_offset}, {offset}) skipped: they are not a gzip"
                       " member; reading starts at the first gzip member that starts a WARC record")
    yield from _iter_members(window, offset, chunk_size, max_retained)

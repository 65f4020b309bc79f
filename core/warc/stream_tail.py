"""A read-only view of a stream that remembers the last bytes read through it.

fastwarc ends without an error when a file is cut inside the first bytes of a record; to notice, the
end of the file is read again from the last record fastwarc produced. The view keeps references to
the last blocks the reader took (no copy), so the check needs no second pass over a remote file.
"""
from __future__ import annotations

from collections import deque
from typing import BinaryIO

# Covers the last record of a Common Crawl file (payloads are truncated at 1 MiB), with room.
KEEP_BYTES = 4 << 20


class StreamTail:
    """Wraps a binary stream for a reader that calls `read` (and `tell`); keeps the last bytes."""

    def __init__(self, stream: BinaryIO, keep: int = KEEP_BYTES):
        self.stream = stream
        self.keep = keep
        self.blocks: deque[bytes] = deque()
        self.kept = 0
        self.total = 0  # bytes read through the view

    def read(self, size: int = -1) -> bytes:
        block = self.stream.read(size)
        if block:
            self.blocks.append(block)
            self.kept += len(block)
            self.total += len(block)
            while self.kept - len(self.blocks[0]) >= self.keep:
                self.kept -= len(self.blocks.popleft())
        return block

    def tell(self) -> int:
        return self.stream.tell()

    def since(self, offset: int) -> bytes | None:
        """The bytes read from stream offset `offset` on; None if they are no longer all kept.

        Offsets count from where the view started reading (the start of the file for a file
        opened by the caller).
        """
        first = self.total - self.kept
        if offset < first or offset > self.total:
            return None
        return b"".join(self.blocks)[offset - first:]

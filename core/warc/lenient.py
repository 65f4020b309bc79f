"""A tolerant WARC reader for files that a strict parser rejects.

Used only after fastwarc has failed on a file. It accepts headers ending in bare LF, ignores a
Content-Length that does not match (a record ends where the next `WARC/1.x` line starts), reads
multi-member and single-member gzip and plain files, and stops with an error at the first corrupt
or truncated gzip data, keeping every record read before it.

Offsets are positions in the decompressed stream (a strict reader gives compressed offsets).
"""
from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

_VERSION_LINES = (b"WARC/1.0", b"WARC/1.1")
_MAX_HEADER_LINES = 512


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


def _decompressed(stream: BinaryIO) -> BinaryIO:
    buffered = io.BufferedReader(stream) if not hasattr(stream, "peek") else stream
    magic = buffered.peek(2)[:2]
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=buffered, mode="rb")
    return buffered


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


def iter_records(stream: BinaryIO, max_payload_bytes: int = 5_000_000
                 ) -> Iterator[LenientRecord | LenientError]:
    """Records of a possibly malformed WARC stream, then at most one error where reading stopped."""
    data = _decompressed(stream)
    position = 0
    offset = None
    header_lines: list[bytes] = []
    body_lines: list[bytes] = []
    body_size = 0
    in_header = False
    try:
        while True:
            line = data.readline()
            if not line:
                break
            line_start = position
            position += len(line)
            if line.rstrip(b"\r\n") in _VERSION_LINES and not in_header:
                if offset is not None:
                    yield _finish(offset, header_lines, body_lines, body_size, max_payload_bytes)
                offset, header_lines, body_lines, body_size = line_start, [], [], 0
                in_header = True
                continue
            if offset is None:
                continue  # garbage before the first record
            if in_header:
                if line.strip() == b"":
                    in_header = False
                elif len(header_lines) >= _MAX_HEADER_LINES:
                    in_header = False
                    yield LenientError(offset, "warc.header_too_long",
                                       f"more than {_MAX_HEADER_LINES} header lines")
                    offset = None
                else:
                    header_lines.append(line)
                continue
            body_size += len(line)
            if body_size <= max_payload_bytes:
                body_lines.append(line)
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        reason = "gzip.truncated" if isinstance(exc, EOFError) else "gzip.corrupt"
        # The record being read when the data broke off is incomplete: report it, do not keep it.
        yield LenientError(offset if offset is not None else position, reason,
                           f"{type(exc).__name__}: {exc} at decompressed byte {position}")
        return
    if offset is not None and not in_header:
        yield _finish(offset, header_lines, body_lines, body_size, max_payload_bytes)

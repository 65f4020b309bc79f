"""Open a WARC/WET file by URI as a stream: local paths, file://, http(s):// and s3:// (or s3a://).

HTTP(S) reads are streamed, retried with exponential backoff on throttling (Common Crawl answers
503 SlowDown) and on dropped connections, and resumed with a Range request from the byte already
reached, so a 1 GB file is never held in memory and never restarted from zero. S3 objects are read
the same way through GetObject (`core.io.s3_stream`, settings from the AWS_* variables).
"""
from __future__ import annotations

import io
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import BinaryIO

RETRYABLE_STATUS = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    timeout_s: float = 60.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, min(self.max_delay_s, self.base_delay_s * (2 ** attempt)))


class RetryableHTTPError(IOError):
    pass


class HTTPStream(io.RawIOBase):
    """A read-only stream over an HTTP(S) URL that retries and resumes with Range requests."""

    def __init__(self, url: str, policy: RetryPolicy = RetryPolicy(), sleep=time.sleep):
        super().__init__()
        self.url = url
        self.policy = policy
        self._sleep = sleep
        self._pos = 0
        self._response = None
        self._end = None
        self.retries = 0
        self._connect()

    def _open_once(self):
        request = urllib.request.Request(self.url, headers={"User-Agent": "cc-refinery/0.1"})
        if self._pos:
            request.add_header("Range", f"bytes={self._pos}-")
        try:
            response = urllib.request.urlopen(request, timeout=self.policy.timeout_s)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise FileNotFoundError(f"{self.url}: HTTP 404") from exc
            if exc.code in RETRYABLE_STATUS:
                raise RetryableHTTPError(f"{self.url}: HTTP {exc.code}") from exc
            raise OSError(f"{self.url}: HTTP {exc.code} {exc.reason}") from exc
        if self._pos and response.status != 206:
            response.close()
            raise OSError(f"{self.url}: server ignored the Range request; cannot resume")
        return response

    def _connect(self) -> None:
        last = None
        for attempt in range(self.policy.attempts):
            try:
                self._response = self._open_once()
                length = self._response.length  # None for chunked responses
                self._end = None if length is None else self._pos + length
                return
            except (RetryableHTTPError, urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                last = exc
                self.retries += 1
                self._sleep(self.policy.delay(attempt))
        raise OSError(f"{self.url}: gave up after {self.policy.attempts} attempts: {last}")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        last: Exception | None = None
        for attempt in range(self.policy.attempts):
            try:
                n = self._response.readinto(buffer)
                if n == 0 and len(buffer) and self._end is not None and self._pos < self._end:
                    raise ConnectionError(f"connection closed at byte {self._pos} of {self._end}")
                self._pos += n
                return n
            except (ConnectionError, TimeoutError, urllib.error.URLError, OSError) as exc:
                last = exc
                self.retries += 1
                self._response.close()
                self._sleep(self.policy.delay(attempt))
                self._connect()
        raise OSError(f"{self.url}: connection kept failing at byte {self._pos}: {last}")

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
        super().close()


def open_uri(uri: str, policy: RetryPolicy = RetryPolicy(), s3_settings=None) -> BinaryIO:
    """A buffered binary stream for the URI. Raises FileNotFoundError for a missing file.
    `s3_settings` (an `S3Settings`) for s3:// URIs; None: this process's AWS_* variables."""
    if uri.startswith(("http://", "https://")):
        return io.BufferedReader(HTTPStream(uri, policy), buffer_size=1 << 20)
    if uri.startswith(("s3://", "s3a://")):
        from core.io.s3_stream import open_s3

        return open_s3(uri, policy, settings=s3_settings)
    path = uri[len("file://"):] if uri.startswith("file://") else uri
    return open(path, "rb", buffering=1 << 20)

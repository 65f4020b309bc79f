"""HTTP streaming against a local server that throttles and drops connections (loopback only)."""
from __future__ import annotations

import http.server
import threading

import pytest

from core.io.remote import HTTPStream, RetryPolicy, open_uri
from core.warc.extract import extract_file
from tests.conftest import WARC_2020

FAST = RetryPolicy(attempts=5, base_delay_s=0.01, max_delay_s=0.02, timeout_s=5)


class FlakyHandler(http.server.BaseHTTPRequestHandler):
    """503 for the first `throttle` requests; the first full response is cut after `cut` bytes."""

    payload = b""
    throttle = 0
    cut = None
    requests: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        cls = type(self)
        cls.requests.append(self.headers.get("Range"))
        if self.path.endswith("/missing"):
            self.send_error(404)
            return
        if cls.throttle > 0:
            cls.throttle -= 1
            self.send_response(503, "SlowDown")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].split("=")[1].rstrip("-"))
            self.send_response(206)
        else:
            self.send_response(200)
        body = cls.payload[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if cls.cut is not None and start == 0:
            self.wfile.write(body[: cls.cut])
            cls.cut = None
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    handler = type("Handler", (FlakyHandler,), {"payload": WARC_2020.read_bytes(), "requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_retries_throttling_then_streams_whole_file(server):
    handler, base = server
    handler.throttle = 2
    stream = HTTPStream(base + "/file.warc.gz", FAST)
    assert stream.read() == handler.payload
    assert stream.retries == 2


def test_resumes_with_range_after_a_dropped_connection(server):
    handler, base = server
    handler.cut = 50_000
    stream = HTTPStream(base + "/file.warc.gz", FAST)
    data = b"".join(iter(lambda: stream.read(8192), b""))
    assert data == handler.payload
    assert "bytes=50000-" in handler.requests


def test_missing_remote_file_is_file_not_found(server):
    _, base = server
    with pytest.raises(FileNotFoundError):
        open_uri(base + "/missing", FAST)


def test_extraction_over_http_matches_local(server):
    handler, base = server
    handler.throttle = 1
    remote = [e["doc_id"] for e in extract_file(base + "/f.warc.gz", "S",
                                                 opener=lambda u: open_uri(u, FAST))
              if isinstance(e, dict)]
    local = [e["doc_id"] for e in extract_file(str(WARC_2020), "S") if isinstance(e, dict)]
    assert remote == local and len(local) == 16


def test_gives_up_after_the_retry_budget(server):
    handler, base = server
    handler.throttle = 100
    with pytest.raises(OSError, match="gave up after 5 attempts"):
        HTTPStream(base + "/file.warc.gz", FAST)

"""Check, before a run writes anything, that the lake can be written and the crawl source read.

A wrong key, a missing bucket or an endpoint that is down would otherwise surface deep inside a
Spark task or a Ray actor, after some tables were written. Here they are one clear error naming
the URI, raised when a run's resources are set up. S3 lakes get HeadBucket and a probe object
written and deleted under the lake root; S3 crawl sources get a one-key listing under the base.
Other URIs pass: local paths are created on demand, HTTPS errors already name the URI on the first
read, and other object stores (gs://, abfss://) are not probed here.
"""
from __future__ import annotations

import time
import uuid

from core.io.object_store import S3Settings, is_s3_uri, split_s3_uri

PROBE_DIR = "_refinery_preflight"
ATTEMPTS = 3  # an unreachable endpoint: three tries ~1 s apart, then the error
DELAY_S = 0.5


class StorageUnavailableError(RuntimeError):
    """The lake or the crawl source cannot be used; the message names the URI and the cause."""


def _call(uri: str, what: str, operation, settings: S3Settings, sleep=time.sleep):
    """Run one S3 call; retry what may pass (throttling, connection), name the URI when it fails."""
    from core.io.s3_stream import RetryableS3Error, classify

    last = None
    for attempt in range(ATTEMPTS):
        try:
            return operation()
        except Exception as exc:  # botocore raises many types; classify sorts them
            problem = classify(uri, exc, settings)
            if not isinstance(problem, RetryableS3Error):
                raise StorageUnavailableError(f"{what} {uri} is not usable: {problem}") from None
            last = problem
            sleep(DELAY_S * (attempt + 1))
    raise StorageUnavailableError(f"{what} {uri} is not usable after {ATTEMPTS} attempts: {last}")


def check_lake_writable(uri: str, settings: S3Settings | None = None, client=None) -> None:
    """HeadBucket, then write and delete a probe object under the lake root (S3 lakes only)."""
    if not is_s3_uri(uri):
        return
    from core.io.s3_stream import s3_client

    settings = settings or S3Settings.from_env()
    client = client or s3_client(settings, timeout_s=10)
    bucket, prefix = split_s3_uri(uri)
    _call(uri, "lake", lambda: client.head_bucket(Bucket=bucket), settings)
    key = f"{prefix.rstrip('/')}/{PROBE_DIR}/{uuid.uuid4().hex}".lstrip("/")
    _call(uri, "lake", lambda: client.put_object(Bucket=bucket, Key=key, Body=b""), settings)
    _call(uri, "lake", lambda: client.delete_object(Bucket=bucket, Key=key), settings)


def check_source_readable(uri: str, settings: S3Settings | None = None, client=None) -> None:
    """List one key under the crawl source's base (S3 sources only)."""
    if not is_s3_uri(uri):
        return
    from core.io.s3_stream import s3_client

    settings = settings or S3Settings.from_env()
    client = client or s3_client(settings, timeout_s=10)
    bucket, prefix = split_s3_uri(uri)
    _call(uri, "crawl source",
          lambda: client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1), settings)

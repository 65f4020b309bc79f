"""Read an `s3://` (or `s3a://`) object as a stream, the way `HTTPStream` reads HTTPS.

GetObject is streamed; throttling (`SlowDown`, 503) and dropped connections are retried with the
same backoff as HTTPS, and a read that breaks mid-object resumes with `Range: bytes=<pos>-` from the
byte already reached. botocore's own retries are switched off so one policy decides. Errors name the
URI and what to check (missing object or bucket, refused credentials, unreachable endpoint) and
never carry the secret key.
"""
from __future__ import annotations

import io
import time

from core.io.object_store import S3Settings, as_s3, boto3_client_kwargs, split_s3_uri

RETRYABLE_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout",
                   "InternalError", "ServiceUnavailable", "500", "502", "503", "504"}
DENIED_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403",
                "ExpiredToken", "InvalidToken"}
MISSING_CODES = {"NoSuchKey", "NoSuchBucket", "404", "NotFound"}


class RetryableS3Error(IOError):
    pass


def s3_client(settings: S3Settings | None = None, timeout_s: float = 60.0):
    """A boto3 S3 client for `settings` (default: the AWS_* variables) without botocore retries."""
    import boto3
    from botocore.config import Config

    settings = settings or S3Settings.from_env()
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=timeout_s,
                    read_timeout=timeout_s,
                    s3={"addressing_style": "path" if settings.path_style else "auto"})
    return boto3.client("s3", config=config, **boto3_client_kwargs(settings))


def error_code(exc: Exception) -> str | None:
    """The S3 error code of a botocore ClientError (None for other exceptions)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    error = response.get("Error") or {}
    return str(error.get("Code") or response.get("ResponseMetadata", {}).get("HTTPStatusCode"))


def classify(uri: str, exc: Exception, settings: S3Settings) -> Exception:
    """The exception to raise (or retry) for a botocore failure on `uri`."""
    from botocore.exceptions import (BotoCoreError, ConnectionError as BotoConnectionError,
                                     NoCredentialsError, PartialCredentialsError)

    code = error_code(exc)
    if code in MISSING_CODES:
        what = {"NoSuchBucket": "no such bucket", "NoSuchKey": "no such object"}.get(code, "not found")
        return FileNotFoundError(f"{uri}: {what} ({code}) at {settings.describe()}")
    if code in DENIED_CODES:
        return PermissionError(f"{uri}: access refused ({code}) at {settings.describe()}: check "
                               "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket policy")
    if code in RETRYABLE_CODES:
        return RetryableS3Error(f"{uri}: {code}")
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return PermissionError(f"{uri}: no AWS credentials found (set AWS_ACCESS_KEY_ID and "
                               "AWS_SECRET_ACCESS_KEY, a profile or an instance role)")
    if isinstance(exc, (BotoConnectionError, ConnectionError, TimeoutError)):
        return RetryableS3Error(f"{uri}: cannot reach {settings.describe()}: {type(exc).__name__}")
    if isinstance(exc, BotoCoreError):
        return RetryableS3Error(f"{uri}: {type(exc).__name__}")
    if code is not None:
        return OSError(f"{uri}: S3 error {code} at {settings.describe()}")
    return exc


class S3Stream(io.RawIOBase):
    """A read-only stream over one S3 object that retries and resumes with Range requests."""

    def __init__(self, uri: str, policy, client=None, settings: S3Settings | None = None,
                 sleep=time.sleep):
        super().__init__()
        self.uri = uri
        self.bucket, self.key = split_s3_uri(uri)
        self.policy = policy
        self.settings = settings or S3Settings.from_env()
        self._client = client if client is not None else s3_client(self.settings, policy.timeout_s)
        self._sleep = sleep
        self._pos = 0
        self._end = None
        self._body = None
        self.retries = 0
        self._connect()

    def _open_once(self) -> None:
        request = {"Bucket": self.bucket, "Key": self.key}
        if self._pos:
            request["Range"] = f"bytes={self._pos}-"
        try:
            response = self._client.get_object(**request)
        except Exception as exc:  # botocore raises many types; classify names the URI
            raise classify(self.uri, exc, self.settings) from exc
        if self._pos and not str(response.get("ContentRange", "")).startswith(f"bytes {self._pos}-"):
            response["Body"].close()
            raise OSError(f"{self.uri}: server ignored the Range request; cannot resume")
        self._body = response["Body"]
        length = response.get("ContentLength")
        self._end = None if length is None else self._pos + int(length)

    def _connect(self) -> None:
        last = None
        for attempt in range(self.policy.attempts):
            try:
                self._open_once()
                return
            except RetryableS3Error as exc:
                last = exc
                self.retries += 1
                self._sleep(self.policy.delay(attempt))
        raise OSError(f"{self.uri}: gave up after {self.policy.attempts} attempts: {last}")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        for attempt in range(self.policy.attempts):
            try:
                data = self._body.read(len(buffer))
                n = len(data)
                if n == 0 and len(buffer) and self._end is not None and self._pos < self._end:
                    raise ConnectionError(f"connection closed at byte {self._pos} of {self._end}")
                buffer[:n] = data
                self._pos += n
                return n
            except Exception as exc:  # a dropped or timed-out body read: resume from _pos
                if isinstance(classify(self.uri, exc, self.settings), (FileNotFoundError, PermissionError)):
                    raise
                self.retries += 1
                self._body.close()
                self._sleep(self.policy.delay(attempt))
                self._connect()
        raise OSError(f"{self.uri}: connection kept failing at byte {self._pos}")

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if self._body is not None:
            self._body.close()
        super().close()


def open_s3(uri: str, policy, client=None, settings: S3Settings | None = None) -> io.BufferedReader:
    """`settings` None: the AWS_* variables of this process."""
    return io.BufferedReader(S3Stream(as_s3(uri), policy, client, settings), buffer_size=1 << 20)

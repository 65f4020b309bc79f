"""Common Crawl from S3: listings and WARC files read from a local S3 server with GetObject, resumed
with Range requests after a dropped connection, retried on SlowDown, errors naming the URI."""
from __future__ import annotations

import pytest

from core.io.listing import read_listing
from core.io.remote import RetryPolicy, open_uri
from core.io.s3_stream import S3Stream, s3_client
from core.warc.extract import extract_file
from tests.conftest import WARC_2020, make_mirror
from tests.s3_helpers import SECRET, LocalS3, aws_env  # noqa: F401 (fixture)

FAST = RetryPolicy(attempts=5, base_delay_s=0.01, max_delay_s=0.02, timeout_s=5)
CRAWL = "CC-MAIN-2020-34"
BUCKET = "source-tests"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    server = LocalS3().start()
    server.create_bucket(BUCKET)
    server.upload_dir(make_mirror(tmp_path_factory.mktemp("mirror"), CRAWL, [WARC_2020]), BUCKET, "cc")
    yield server
    server.stop()


class FlakyClient:
    """A real S3 client whose GetObject answers SlowDown `throttle` times, and whose first body is
    cut after `cut` bytes (the connection drops); records every Range asked for."""

    def __init__(self, client, throttle: int = 0, cut: int | None = None):
        self.client, self.throttle, self.cut, self.ranges = client, throttle, cut, []

    def get_object(self, **request):
        from botocore.exceptions import ClientError

        self.ranges.append(request.get("Range"))
        if self.throttle > 0:
            self.throttle -= 1
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
                               "ResponseMetadata": {"HTTPStatusCode": 503}}, "GetObject")
        response = self.client.get_object(**request)
        if self.cut is not None:
            response["Body"] = CutBody(response["Body"], self.cut)
            self.cut = None
        return response


class CutBody:
    def __init__(self, body, cut: int):
        self.body, self.left = body, cut

    def read(self, n: int) -> bytes:
        from botocore.exceptions import ResponseStreamingError

        if self.left <= 0:
            raise ResponseStreamingError(error=ConnectionResetError("connection reset by peer"))
        data = self.body.read(min(n, self.left))
        self.left -= len(data)
        return data

    def close(self) -> None:
        self.body.close()


def test_listing_and_warc_come_from_the_bucket_as_from_the_local_file(s3, aws_env):
    paths = read_listing(f"s3://{BUCKET}/cc/", CRAWL, "warc")
    assert paths == [f"crawl-data/{CRAWL}/segments/0/warc/file-00000-{WARC_2020.name}"]
    with open_uri(f"s3a://{BUCKET}/cc/{paths[0]}") as stream:  # s3a:// names the same object
        assert stream.read() == WARC_2020.read_bytes()
    uri = f"s3://{BUCKET}/cc/{paths[0]}"
    remote = [e for e in extract_file(uri, "S") if isinstance(e, dict)]
    local = [e for e in extract_file(str(WARC_2020), "S") if isinstance(e, dict)]
    assert {e["warc_path"] for e in remote} == {uri}
    assert [{**e, "warc_path": None} for e in remote] == [{**e, "warc_path": None} for e in local]
    assert len(local) > 0


def test_a_dropped_connection_resumes_with_a_range_request_after_slowdowns(s3, aws_env):
    uri = f"s3://{BUCKET}/cc/crawl-data/{CRAWL}/segments/0/warc/file-00000-{WARC_2020.name}"
    flaky = FlakyClient(s3_client(), throttle=2, cut=100_000)
    stream = S3Stream(uri, FAST, client=flaky, sleep=lambda s: None)
    data = b"".join(iter(lambda: stream.read(1 << 16), b""))
    assert data == WARC_2020.read_bytes()
    assert flaky.ranges == [None, None, None, "bytes=100000-"]  # 2 SlowDowns, the read, the resume
    assert stream.retries == 3


def test_throttling_that_never_ends_gives_up_naming_the_uri(s3, aws_env):
    uri = f"s3://{BUCKET}/cc/crawl-data/{CRAWL}/warc.paths.gz"
    flaky = FlakyClient(s3_client(), throttle=99)
    with pytest.raises(OSError, match=f"{uri}: gave up after 5 attempts: .*SlowDown"):
        S3Stream(uri, FAST, client=flaky, sleep=lambda s: None)


def test_missing_object_bucket_and_refused_key_are_clear_errors(s3, aws_env, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"no warc listing for CC-MAIN-2099-01 at s3://"):
        read_listing(f"s3://{BUCKET}/cc/", "CC-MAIN-2099-01", "warc")
    with pytest.raises(FileNotFoundError, match=r"s3://no-such-bucket-here/x.warc.gz: no such bucket"):
        open_uri("s3://no-such-bucket-here/x.warc.gz", FAST)


def test_an_unreachable_endpoint_is_retried_then_named(aws_env, monkeypatch):
    from tests.s3_helpers import free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens
    uri = f"s3://{BUCKET}/cc/crawl-data/{CRAWL}/warc.paths.gz"
    with pytest.raises(OSError) as error:
        S3Stream(uri, FAST, sleep=lambda s: None)
    assert f"{uri}: gave up after 5 attempts: {uri}: cannot reach http://127.0.0.1:" in str(error.value)
    assert SECRET not in str(error.value)


def test_bronze_workers_read_the_bucket_with_the_drivers_settings(spark, s3, aws_env, tmp_path):
    """The test session's Spark started before aws_env set the variables, so its Python workers lack
    them, like a notebook's session: bronze ships the driver's settings with its tasks."""
    from spark_jobs.bronze import run_bronze

    uri = f"s3://{BUCKET}/cc/crawl-data/{CRAWL}/segments/0/warc/file-00000-{WARC_2020.name}"
    result = run_bronze(spark, str(tmp_path / "lake"), CRAWL, [uri])
    local = [e for e in extract_file(str(WARC_2020), CRAWL) if isinstance(e, dict)]
    assert result.files == 1 and result.failed_files == []
    assert not [reason for reason in result.errors_by_reason if reason.startswith("file.")]
    assert result.documents == len(local) > 0


def test_bronze_ships_s3_settings_only_for_an_s3_crawl_named_by_the_variables(monkeypatch):
    from core.io.object_store import S3Settings
    from spark_jobs.bronze import driver_s3_settings

    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_S3_FORCE_PATH_STYLE"):
        monkeypatch.delenv(name, raising=False)
    assert driver_s3_settings([f"s3://{BUCKET}/a.warc.gz"]) is None  # executors use their own chain
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert driver_s3_settings(["/mirror/a.warc.gz", "https://data.commoncrawl.org/b.warc.gz"]) is None
    settings = driver_s3_settings(["/mirror/a.warc.gz", f"s3a://{BUCKET}/b.warc.gz"])
    assert settings == S3Settings(endpoint="http://127.0.0.1:9", path_style=True)

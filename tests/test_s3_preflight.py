"""A wrong key, a missing bucket, an endpoint that is down: one clear error naming the URI before
any work starts, no table or object left behind, and the secret in no message."""
from __future__ import annotations

import pytest

from core.io.preflight import StorageUnavailableError, check_lake_writable, check_source_readable
from orchestration.cli import main
from tests.s3_helpers import SECRET, LocalS3, free_port, s3_env

LAKE_BUCKET = "preflight-lake"


@pytest.fixture(scope="module")
def s3():
    server = LocalS3().start()
    server.create_bucket(LAKE_BUCKET)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    server = LocalS3(tmp_path_factory.mktemp("strict") / "moto.log", strict=True).start()
    yield server
    server.stop()


def use(monkeypatch, env: dict) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_a_writable_lake_and_a_listable_source_pass_and_leave_nothing(s3, monkeypatch):
    use(monkeypatch, s3.env)
    check_lake_writable(f"s3a://{LAKE_BUCKET}/lake")
    check_source_readable(f"s3://{LAKE_BUCKET}/")
    assert s3.keys(LAKE_BUCKET) == []  # the probe object was deleted
    check_lake_writable("/tmp/not-s3/lake")  # local lakes and HTTPS sources are not probed
    check_source_readable("https://data.commoncrawl.org/")


def test_a_key_the_store_never_issued_is_refused_naming_the_uri(strict, monkeypatch):
    use(monkeypatch, s3_env(strict.endpoint, key_id="AKIAWRONGKEY", secret=SECRET))
    for check, uri, what in ((check_lake_writable, "s3a://strict-lake/lake", "lake"),
                             (check_source_readable, "s3://strict-crawl/", "crawl source")):
        with pytest.raises(StorageUnavailableError) as error:
            check(uri)
        message = str(error.value)
        assert message.startswith(f"{what} {uri} is not usable: {uri}: access refused"), message
        assert "AWS_ACCESS_KEY_ID" in message and SECRET not in message


def test_a_missing_bucket_is_named(s3, monkeypatch):
    use(monkeypatch, s3.env)
    with pytest.raises(StorageUnavailableError, match=r"^lake s3a://no-such-lake/lake is not usable: "
                                                      r"s3a://no-such-lake/lake: not found \(404\)"):
        check_lake_writable("s3a://no-such-lake/lake")
    with pytest.raises(StorageUnavailableError, match=r"^crawl source s3://no-such-crawl/cc/ is not "
                                                      r"usable: .*no such bucket"):
        check_source_readable("s3://no-such-crawl/cc/")


def test_an_endpoint_that_is_down_is_named(monkeypatch):
    endpoint = f"http://127.0.0.1:{free_port()}"
    use(monkeypatch, s3_env(endpoint))
    monkeypatch.setattr("core.io.preflight.DELAY_S", 0.01)
    with pytest.raises(StorageUnavailableError) as error:
        check_lake_writable(f"s3a://{LAKE_BUCKET}/lake")
    assert str(error.value).startswith(f"lake s3a://{LAKE_BUCKET}/lake is not usable after 3 attempts")
    assert f"cannot reach {endpoint}" in str(error.value) and SECRET not in str(error.value)


@pytest.mark.parametrize("broken", ["lake bucket", "source bucket"])
def test_a_run_fails_before_any_asset_and_writes_nothing(spark, s3, broken, tmp_path, monkeypatch,
                                                         capsys):
    """`refinery run` on S3 with one bucket missing: the resources' preflight fails the run before
    a step starts; the lake bucket stays empty."""
    lake = f"s3a://{'missing-lake' if broken == 'lake bucket' else LAKE_BUCKET}/lake"
    source = f"s3://{'missing-crawl' if broken == 'source bucket' else LAKE_BUCKET}/cc/"
    use(monkeypatch, {**s3.env, "DAGSTER_HOME": str(tmp_path / "home"), "REFINERY_LAKE_ROOT": lake,
                      "REFINERY_CC_BASE": source, "REFINERY_SAMPLE_DIR": str(tmp_path / "sample")})
    code = main(["run", "--crawl", "CC-MAIN-2016-50", "--until", "bronze_documents"])
    out = capsys.readouterr()
    text = out.out + out.err
    assert code == 1, text
    named = lake if broken == "lake bucket" else source
    assert f"is not usable" in text and named in text, text
    assert "warc_manifest: {" not in text  # no asset materialized
    assert SECRET not in text
    assert s3.keys(LAKE_BUCKET) == []

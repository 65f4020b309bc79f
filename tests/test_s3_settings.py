"""One place for S3 settings: the standard AWS variables mapped to S3A, delta-rs, pyarrow and boto3;
the S3A jars cached by set-up and loaded by every session; the secret never printed."""
from __future__ import annotations

import os

import pytest

from core.io.object_store import (S3Settings, as_s3, delta_storage_options, hadoop_s3a_conf,
                                  is_s3_uri, pyarrow_s3_kwargs, split_s3_uri, storage_options_for)
from tests.s3_helpers import SECRET

ENV = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET,
       "AWS_DEFAULT_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000"}


def test_settings_come_from_the_standard_aws_variables():
    settings = S3Settings.from_env(ENV)
    assert (settings.access_key_id, settings.region, settings.endpoint) == \
        ("AKIAEXAMPLE", "eu-west-1", "http://127.0.0.1:9000")
    assert settings.path_style and settings.plain_http  # an endpoint: an S3-compatible server
    # The S3-specific endpoint and AWS_REGION win over the generic ones.
    specific = S3Settings.from_env({**ENV, "AWS_ENDPOINT_URL_S3": "https://s3.example", "AWS_REGION": "us-east-2"})
    assert (specific.endpoint, specific.region, specific.plain_http) == ("https://s3.example", "us-east-2", False)
    assert not S3Settings.from_env({**ENV, "AWS_S3_FORCE_PATH_STYLE": "false"}).path_style
    plain_aws = S3Settings.from_env({})
    assert (plain_aws.endpoint, plain_aws.path_style, plain_aws.access_key_id) == (None, False, None)


def test_the_secret_is_in_no_repr_description_or_spark_conf():
    settings = S3Settings.from_env({**ENV, "AWS_SESSION_TOKEN": "token-" + SECRET})
    assert SECRET not in repr(settings) and SECRET not in settings.describe()
    assert "AKIA…" in settings.describe() and "127.0.0.1:9000" in settings.describe()
    spark_side = hadoop_s3a_conf(settings, credentials=False)
    assert SECRET not in str(spark_side) and "fs.s3a.access.key" not in spark_side


def test_hadoop_s3a_conf_maps_endpoint_region_path_style_and_credentials():
    conf = hadoop_s3a_conf(S3Settings.from_env(ENV))
    assert conf["fs.s3.impl"] == conf["fs.s3a.impl"] == "org.apache.hadoop.fs.s3a.S3AFileSystem"
    assert conf["fs.s3a.endpoint"] == "http://127.0.0.1:9000"
    assert conf["fs.s3a.connection.ssl.enabled"] == "false"
    assert conf["fs.s3a.endpoint.region"] == "eu-west-1"
    assert conf["fs.s3a.path.style.access"] == "true"
    assert (conf["fs.s3a.access.key"], conf["fs.s3a.secret.key"]) == ("AKIAEXAMPLE", SECRET)
    temporary = hadoop_s3a_conf(S3Settings.from_env({**ENV, "AWS_SESSION_TOKEN": "tok"}))
    assert temporary["fs.s3a.session.token"] == "tok"
    assert temporary["fs.s3a.aws.credentials.provider"].endswith("TemporaryAWSCredentialsProvider")
    on_aws = hadoop_s3a_conf(S3Settings.from_env({}))
    assert "fs.s3a.endpoint" not in on_aws and on_aws["fs.s3a.path.style.access"] == "false"


def test_delta_and_pyarrow_options():
    options = delta_storage_options(S3Settings.from_env(ENV))
    assert options == {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET,
                       "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
                       "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "false", "AWS_ALLOW_HTTP": "true"}
    assert delta_storage_options(S3Settings.from_env({})) == {}  # delta-rs's own chain decides
    assert storage_options_for("/tmp/lake/t", ENV) is None
    assert storage_options_for("s3a://b/lake/t", ENV) == options
    kwargs = pyarrow_s3_kwargs(S3Settings.from_env(ENV))
    assert (kwargs["endpoint_override"], kwargs["scheme"], kwargs["force_virtual_addressing"]) == \
        ("127.0.0.1:9000", "http", False)


def test_uris():
    assert is_s3_uri("s3a://b/k") and is_s3_uri("s3://b/k") and not is_s3_uri("gs://b/k")
    assert split_s3_uri("s3a://bucket/lake/t") == ("bucket", "lake/t")
    assert split_s3_uri("s3://bucket") == ("bucket", "")
    assert as_s3("s3a://bucket/k") == "s3://bucket/k" and as_s3("/x") == "/x"
    with pytest.raises(ValueError, match="not an s3"):
        split_s3_uri("https://bucket/k")


def test_sessions_load_the_s3a_jars_only_when_setup_cached_them(tmp_path, monkeypatch):
    from spark_jobs import jars
    from spark_jobs.session import build_conf

    for group, artifact, version in jars.ARTIFACTS:  # Delta's jars, so build_conf downloads nothing
        (tmp_path / f"{artifact}-{version}.jar").write_bytes(b"")
    monkeypatch.setenv("REFINERY_JAR_CACHE", str(tmp_path))
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert jars.cached_s3a_jars() == []
    conf = build_conf("local[2]")
    assert "hadoop-aws" not in conf["spark.jars"] and "spark.hadoop.fs.s3a.endpoint" not in conf
    assert "spark.driver.extraClassPath" not in conf

    names = [f"{artifact}-{version}.jar" for _, artifact, version in jars.S3A_ARTIFACTS]
    assert names == ["hadoop-aws-3.5.0.jar", "bundle-2.35.4.jar", "analyticsaccelerator-s3-1.3.1.jar"]
    for name in names[:-1]:
        (tmp_path / name).write_bytes(b"")
    assert jars.cached_s3a_jars() == []  # one missing: none, never a half set
    (tmp_path / names[-1]).write_bytes(b"")
    delta = [str(tmp_path / f"{artifact}-{version}.jar") for _, artifact, version in jars.ARTIFACTS]
    s3a = [str(tmp_path / name) for name in names]
    conf = build_conf("local[2]")  # executors in the driver's JVM: S3A on its class path, not copied
    assert conf["spark.jars"].split(",") == delta
    assert conf["spark.driver.extraClassPath"].split(os.pathsep) == s3a
    cluster = build_conf("spark://spark-master:7077")  # shipped to the executors
    assert cluster["spark.jars"].split(",") == delta + s3a and "spark.driver.extraClassPath" not in cluster
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:9000"
    assert conf["spark.hadoop.fs.s3.impl"] == "org.apache.hadoop.fs.s3a.S3AFileSystem"
    assert SECRET not in str(conf) and "spark.hadoop.fs.s3a.secret.key" not in conf


def test_hadoop_aws_matches_the_hadoop_client_pyspark_bundles():
    from pathlib import Path

    import pyspark

    from spark_jobs.jars import HADOOP_VERSION

    bundled = sorted(p.name for p in (Path(pyspark.__file__).parent / "jars").glob("hadoop-client-api-*.jar"))
    assert bundled == [f"hadoop-client-api-{HADOOP_VERSION}.jar"]


def test_local_masters_are_those_whose_executors_share_the_drivers_jvm():
    from spark_jobs.session import is_local_master

    assert all(is_local_master(m) for m in ("local", "local[2]", "local[*]", "local[2,3]"))
    assert not any(is_local_master(m) for m in ("local-cluster[2,1,1024]", "spark://h:7077", "yarn",
                                                 "k8s://https://h:6443"))


def test_a_jvm_already_running_gets_the_class_path_jars_it_lacks_through_spark_jars():
    """The class path is fixed when the JVM starts: a session created again in the same process (or
    after other code started the JVM) must still load S3A, so what the JVM lacks goes to spark.jars."""
    from spark_jobs.session import fit_class_path_to_running_jvm

    class_path = os.pathsep.join(["/c/aws.jar", "/c/sdk.jar"])
    conf = {"spark.jars": "/c/delta.jar", "spark.driver.extraClassPath": class_path}
    assert fit_class_path_to_running_jvm(conf, None) == conf  # no JVM yet: launched with the class path
    started_with_it = fit_class_path_to_running_jvm(conf, os.pathsep.join(["/spark/jars/*", class_path]))
    assert started_with_it == {"spark.jars": "/c/delta.jar"}
    started_without = fit_class_path_to_running_jvm(conf, "/spark/jars/*")
    assert started_without == {"spark.jars": "/c/delta.jar,/c/aws.jar,/c/sdk.jar"}

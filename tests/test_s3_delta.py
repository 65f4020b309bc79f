"""Delta on S3 (a local S3 server): Spark (S3A) and delta-rs commit to the same table in turn and its
log stays one valid history; two delta-rs writers that race never lose a commit (conditional PUT)."""
from __future__ import annotations

import json

import pyarrow as pa
import pytest

from tests.s3_helpers import SECRET, LocalS3, aws_env  # noqa: F401 (fixture)

BUCKET = "delta-tests"
SCHEMA = pa.schema([("doc_id", pa.string()), ("text", pa.string()), ("snapshot", pa.string())])


@pytest.fixture(scope="module")
def s3():
    server = LocalS3().start()
    server.create_bucket(BUCKET)
    yield server
    server.stop()


def rows(snapshot: str, n: int, tag: str) -> list[tuple]:
    return [(f"{snapshot}-{i}", f"{tag} {i}", snapshot) for i in range(n)]


def delta_rs_replace(uri: str, snapshot: str, data: list[tuple]) -> int:
    """Replace one partition from delta-rs the way the Ray stages do (files, then one commit)."""
    from gpu_jobs.delta_io import commit_partition, write_part_file

    table = pa.Table.from_pylist([dict(zip(SCHEMA.names, r)) for r in data], schema=SCHEMA)
    written = write_part_file(uri, snapshot, table)
    return commit_partition(uri, snapshot, SCHEMA, [written], description="test")


def log_entries(s3: LocalS3, prefix: str) -> dict[int, list[dict]]:
    """Every commit file of a table's _delta_log, parsed (a bad line fails the test)."""
    s3_client, commits = s3.client(), {}
    for key in s3.keys(BUCKET, f"{prefix}/_delta_log/"):
        if key.endswith(".json"):
            body = s3_client.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
            commits[int(key.rsplit("/", 1)[1].split(".")[0])] = [json.loads(l) for l in body.splitlines()]
    return commits


def test_spark_and_delta_rs_commit_to_one_s3_table_in_turn(spark, s3, aws_env):
    from deltalake import DeltaTable

    from core.io.object_store import storage_options_for
    from spark_jobs.session import SparkSettings, open_session

    session, created = open_session(SparkSettings())  # the running session, given the S3 settings
    assert session is spark and not created
    spark_uri, rs_uri = f"s3a://{BUCKET}/lake/mixed", f"s3://{BUCKET}/lake/mixed"  # one table
    spark_df = lambda data: spark.createDataFrame(data, "doc_id string, text string, snapshot string")

    spark_df(rows("A", 3, "spark")).write.format("delta").partitionBy("snapshot").save(spark_uri)
    assert delta_rs_replace(rs_uri, "B", rows("B", 2, "delta-rs")) == 1
    (spark_df(rows("A", 2, "spark again")).write.format("delta").mode("overwrite")
     .option("replaceWhere", "snapshot = 'A'").save(spark_uri))
    assert delta_rs_replace(spark_uri, "B", rows("B", 4, "delta-rs again")) == 3

    expected = sorted(rows("A", 2, "spark again") + rows("B", 4, "delta-rs again"))
    from_spark = sorted(tuple(r) for r in spark.read.format("delta").load(rs_uri)
                        .select("doc_id", "text", "snapshot").collect())
    rs_table = DeltaTable(rs_uri, storage_options=storage_options_for(rs_uri))
    from_rs = sorted(tuple(r.values()) for r in rs_table.to_pyarrow_table()
                     .select(["doc_id", "text", "snapshot"]).to_pylist())
    assert from_spark == from_rs == expected

    # One history, versions 0..3 with no gap, written by the engine that made each.
    commits = log_entries(s3, "lake/mixed")
    assert sorted(commits) == [0, 1, 2, 3]
    engines = []
    for version in range(4):
        info = next(e["commitInfo"] for e in commits[version] if "commitInfo" in e)
        engines.append("spark" if "Apache-Spark" in info.get("engineInfo", "") else "delta-rs")
    assert engines == ["spark", "delta-rs", "spark", "delta-rs"]
    assert rs_table.version() == 3 and len(rs_table.history()) == 4
    versions = [r["version"] for r in spark.sql(f"DESCRIBE HISTORY delta.`{spark_uri}`").collect()]
    assert sorted(versions) == [0, 1, 2, 3]
    # Both engines see the same live files (Spark lists them as s3a://, delta-rs as s3://).
    spark_files = spark.read.format("delta").load(spark_uri).inputFiles()
    assert sorted(f.split("/mixed/", 1)[1] for f in spark_files) == \
        sorted(f.split("/mixed/", 1)[1] for f in rs_table.file_uris())
    # No credential reaches the table: the log and the data carry no secret.
    for version, entries in commits.items():
        assert SECRET not in json.dumps(entries), version


def test_two_delta_rs_writers_racing_on_s3_both_land(s3, aws_env):
    """Both writers read version 0; the second one's PUT of version 1 is refused by the store
    (If-None-Match), so it retries as version 2 instead of overwriting the first's commit."""
    from deltalake import DeltaTable, write_deltalake

    from core.io.object_store import storage_options_for

    uri = f"s3://{BUCKET}/lake/race"
    options = storage_options_for(uri)
    write_deltalake(uri, pa.table({"n": [0]}), storage_options=options)
    first, second = DeltaTable(uri, storage_options=options), DeltaTable(uri, storage_options=options)
    assert first.version() == second.version() == 0
    write_deltalake(first, pa.table({"n": [1]}), mode="append")
    write_deltalake(second, pa.table({"n": [2]}), mode="append")  # its snapshot is stale

    table = DeltaTable(uri, storage_options=options)
    assert table.version() == 2
    assert sorted(table.to_pyarrow_table().column("n").to_pylist()) == [0, 1, 2]
    commits = log_entries(s3, "lake/race")
    assert sorted(commits) == [0, 1, 2]
    added = [[e["add"]["path"] for e in commits[v] if "add" in e] for v in (1, 2)]
    assert all(len(a) == 1 for a in added) and added[0] != added[1]


def test_the_store_refuses_to_overwrite_a_commit_file(s3):
    """What the race above relies on: the server honours PUT If-None-Match (as S3 does since 2024)."""
    from botocore.exceptions import ClientError

    client = s3.client()
    client.put_object(Bucket=BUCKET, Key="cond/00000000000000000001.json", Body=b"{}")
    with pytest.raises(ClientError, match="PreconditionFailed"):
        client.put_object(Bucket=BUCKET, Key="cond/00000000000000000001.json", Body=b"[]", IfNoneMatch="*")
    assert client.get_object(Bucket=BUCKET, Key="cond/00000000000000000001.json")["Body"].read() == b"{}"


def _worker_endpoint() -> str | None:
    import os

    return os.environ.get("AWS_ENDPOINT_URL")


def test_ray_tasks_that_open_lake_files_get_the_drivers_aws_variables(ray_session, s3, aws_env, tmp_path):
    """The test session's Ray started before aws_env set the variables, so its workers lack them (as a
    notebook's Ray, or a cluster's workers without them): the tasks that open lake files themselves
    (the model store's publish, a classifier download, a shard writer) take the driver's through
    s3_task_options; the secret travels in the runtime_env, never into the store."""
    from gpu_jobs.cluster import s3_task_options
    from gpu_jobs.preselect.model_store import find_model, latest_model, localize, publish_model

    ray = ray_session
    lake = f"s3a://{BUCKET}/lake"
    assert ray.get(ray.remote(_worker_endpoint).remote()) is None  # the premise: workers lack them
    assert s3_task_options(str(tmp_path)) == {}  # a local lake needs nothing
    options = s3_task_options(str(tmp_path), lake)
    assert options["runtime_env"]["env_vars"]["AWS_ENDPOINT_URL"] == s3.endpoint

    model = tmp_path / "model.bin"
    model.write_bytes(b"not really fastText, the store copies bytes")
    publish = ray.remote(lambda: publish_model(lake, "m1", str(model), {"n": 1}, "CC-MAIN-2024-33"))
    entry = ray.get(publish.options(**options).remote())
    assert entry["model_uri"] == f"{lake}/models/preselect/m1/model.bin"
    assert find_model(lake, "m1")["store"] == entry == latest_model(lake)
    download = ray.remote(lambda: open(localize(entry["model_uri"]), "rb").read())
    assert ray.get(download.options(**options).remote()) == model.read_bytes()
    stored = s3.client().get_object(Bucket=BUCKET, Key="lake/models/preselect/m1/report.json")["Body"].read()
    assert SECRET.encode() not in stored

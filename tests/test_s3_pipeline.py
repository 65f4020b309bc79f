"""The pipeline with its lake and its crawl source on S3 (a local S3 server) writes the tables a
local run writes: Spark stages through S3A, the crawl read with GetObject, a Ray stage through
delta-rs and pyarrow's S3 filesystem. Both runs are `refinery run` subprocesses, so their JVMs,
Python workers and Ray workers get the AWS settings from their environment as on a cluster."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.io.object_store import as_s3
from tests.conftest import WET_REPAIRED, make_mirror
from tests.s3_helpers import SECRET, LocalS3
from tests.test_scale_out import VOLATILE_COLUMNS, finish, kill_run

REPO = Path(__file__).resolve().parents[1]
CRAWL = "CC-MAIN-2016-50"
LAKE_BUCKET, CRAWL_BUCKET = "pipeline-lake", "pipeline-crawl"
# The Spark stages, the tokenizer and one Ray stage (training_shards; PreSelect needs more
# documents than one small file keeps, and refined_documents is the rule backend on the same path).
RUN_ARGS = ["--selection", "first", "--files", "1", "--until", "training_shards",
            "--skip", "preselect_model", "--skip", "quality_scores"]
RUN_TIMEOUT = 1500


def start_run(root: Path, lake: str, source: str, extra_env: dict) -> subprocess.Popen:
    root.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("SPARK_MASTER", "SPARK_REMOTE", "RAY_ADDRESS")}
    env.update(DAGSTER_HOME=str(root / "dagster-home"), REFINERY_LAKE_ROOT=lake,
               REFINERY_CC_BASE=source, REFINERY_SAMPLE_DIR=str(root / "sample"),
               PYTHONPATH=str(REPO), SPARK_MASTER="local[2]", **extra_env)
    return subprocess.Popen([sys.executable, "-m", "orchestration.cli", "run", "--crawl", CRAWL, *RUN_ARGS],
                            cwd=REPO, env=env, stdout=open(root / "run.log", "w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def rows_of(uri: str, table: str, storage_options: dict | None, replace: dict[str, str]) -> list[dict]:
    """A table's rows without clock columns, its lake and source locations replaced by names."""
    from deltalake import DeltaTable

    data = DeltaTable(uri, storage_options=storage_options).to_pyarrow_table()
    keep = [c for c in data.column_names if c not in VOLATILE_COLUMNS.get(table, set())]
    text = json.dumps(data.select(keep).to_pylist(), default=str, sort_keys=True)
    for old, new in replace.items():
        text = text.replace(old, new)
    return sorted(json.loads(text), key=lambda r: json.dumps(r, sort_keys=True))


@pytest.mark.timeout(RUN_TIMEOUT + 300)
def test_pipeline_on_s3_writes_the_tables_of_a_local_run(tmp_path):
    mirror = make_mirror(tmp_path / "mirror", CRAWL, [WET_REPAIRED])
    s3 = LocalS3(tmp_path / "moto.log").start()
    try:
        s3.create_bucket(LAKE_BUCKET)
        s3.create_bucket(CRAWL_BUCKET)
        s3.upload_dir(mirror, CRAWL_BUCKET, "cc")
        lake, source = f"s3a://{LAKE_BUCKET}/lake", f"s3://{CRAWL_BUCKET}/cc/"
        on_s3 = start_run(tmp_path / "s3", lake, source, s3.env)
        local = start_run(tmp_path / "local", str(tmp_path / "local" / "lake"), str(mirror), {})
        try:
            s3_log = finish(on_s3, tmp_path / "s3")
            finish(local, tmp_path / "local")
        finally:
            for process in (on_s3, local):
                if process.poll() is None:
                    kill_run(process)

        assert f"lake: {lake} is writable at {s3.endpoint}" in s3_log
        assert SECRET not in s3_log
        local_lake = tmp_path / "local" / "lake"
        tables = sorted(str(p.parent.relative_to(local_lake)) for p in local_lake.rglob("_delta_log"))
        assert {"manifest", "bronze/documents", "silver/documents", "dedup/documents",
                "shards/manifest"} <= set(tables), tables
        s3_tables = sorted({k.split("/_delta_log/")[0].removeprefix("lake/")
                            for k in s3.keys(LAKE_BUCKET, "lake/") if "/_delta_log/" in k})
        assert s3_tables == tables
        options = {**{"AWS_ALLOW_HTTP": "true", "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "false"},
                   "AWS_ENDPOINT_URL": s3.endpoint, "AWS_ACCESS_KEY_ID": s3.env["AWS_ACCESS_KEY_ID"],
                   "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": s3.env["AWS_REGION"]}
        for table in tables:
            local_rows = rows_of(str(local_lake / table), table, None,
                                 {str(local_lake): "<lake>", str(mirror): "<source>"})
            s3_rows = rows_of(f"{lake}/{table}", table, options,
                              {lake: "<lake>", as_s3(lake): "<lake>", source.rstrip("/"): "<source>"})
            assert s3_rows == local_rows, table
        assert rows_of(str(local_lake / "dedup/documents"), "dedup/documents", None, {}), \
            "the crawl must keep some documents"
        shard_files = [k for k in s3.keys(LAKE_BUCKET, "lake/shards/") if "_delta_log" not in k]
        assert shard_files, "the Ray stage wrote its shards to the bucket"
    finally:
        s3.stop()

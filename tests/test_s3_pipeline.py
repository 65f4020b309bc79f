"""The whole pipeline with its lake and its crawl source on S3 (a local S3 server) writes the tables a
local run writes: manifest, bronze, silver and dedup through S3A (the crawl read from the bucket with
GetObject in Spark's Python workers), quality_scores (its classifier read from the bucket),
refined_documents and training_shards through delta-rs and pyarrow's S3 filesystem in Ray, and the
crawl report.

`preselect_model` is left out: training needs the bits per character of dozens of documents under
four language models (minutes per run; one file's 24 documents all had strength 1, so no negative
class), which is not what this test is about; quality_scores takes a small fastText classifier
through `model_path` instead, and the model store's writes to S3 have their own test
(test_s3_delta.py).

In-process, as the other pipeline tests: both runs share the test session's Spark and Ray, which
started before this test set the AWS variables, so the settings must travel from the driver (S3A
through the Hadoop configuration, bronze's reads and the Ray stages with their tasks). The input is
one file of the embedded sample crawl (built to pass the filters and hold duplicates) under a real
crawl id: `CC-MAIN-SAMPLE` itself is always read from the mirror the project builds locally.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from core.io.object_store import as_s3
from core.preselect.fasttext_text import fasttext_line
from core.preselect.train import FastTextParams, train_fasttext
from resources import CrawlSourceResource, LakeResource, RayResource, SparkResource
from resources.partitions import crawl_partitions
from tests.conftest import make_mirror
from tests.s3_helpers import SECRET, LocalS3
from tests.test_pipeline_sample import _all_assets_and_checks
from tests.test_scale_out import VOLATILE_COLUMNS

CRAWL = "CC-MAIN-2024-33"
N_FILES = 1  # 74 documents; silver keeps 48, dedup 47: every stage has work
LAKE_BUCKET, CRAWL_BUCKET = "pipeline-lake", "pipeline-crawl"
CLASSIFIER = "models/given/model.bin"  # under each run's lake root, so rows differ only by root
GOOD = "river city market cathedral university museum history century people".split()
BAD = "click buy now free cheap login cookie subscribe offer deal".split()


def train_classifier(path: Path) -> Path:
    """A small fastText classifier of PreSelect's labels (the model stages have their own tests)."""
    rng = random.Random(1)
    lines = [fasttext_line("1" if i % 2 == 0 else "0",
                           " ".join(rng.choice(GOOD if i % 2 == 0 else BAD) for _ in range(rng.randint(2, 30))))
             for i in range(400)]
    path.parent.mkdir(parents=True, exist_ok=True)
    train_fasttext(lines, str(path), FastTextParams(bucket=20_000, epoch=10, dim=16))
    return path


def pipeline_assets() -> list:
    """Every asset and check of the crawl job but preselect_model (see the module doc)."""
    return [a for a in _all_assets_and_checks()
            if "preselect_model" not in {k.to_user_string() for k in getattr(a, "keys", ())}]


def sample_files(directory: Path) -> list[Path]:
    """The embedded sample crawl's WARC files, in listing order."""
    from sample_crawl import build_sample_mirror

    mirror = build_sample_mirror(directory)
    return sorted(mirror.glob("crawl-data/*/segments/*/warc/*.warc.gz"))


def run_pipeline(lake: str, source: str, sample_dir: Path):
    resources = {"spark": SparkResource(), "ray": RayResource(), "lake": LakeResource(root=lake),
                 "crawl_source": CrawlSourceResource(base_uri=source, sample_dir=str(sample_dir))}
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(crawl_partitions.name, [CRAWL])
        run_config = {"ops": {
            "warc_manifest": {"config": {"selection": "first", "n_files": N_FILES}},
            "quality_scores": {"config": {"model_path": f"{lake.rstrip('/')}/{CLASSIFIER}"}}}}
        result = materialize(pipeline_assets(), partition_key=CRAWL, instance=instance,
                             resources=resources, run_config=run_config)
        logs = "\n".join(str(e.message or "") for e in instance.all_logs(result.run_id))
    assert result.success
    assert all(check.passed for check in result.get_asset_check_evaluations())
    return result, logs


def rows_of(uri: str, table: str, storage_options: dict | None, roots: dict[str, str]) -> list[dict]:
    """A table's rows without clock columns, its lake and source roots replaced by names, ordered
    by doc_id (then by the whole row)."""
    from deltalake import DeltaTable

    data = DeltaTable(uri, storage_options=storage_options).to_pyarrow_table()
    keep = [c for c in data.column_names if c not in VOLATILE_COLUMNS.get(table, set())]
    text = json.dumps(data.select(keep).to_pylist(), default=str, sort_keys=True)
    for old, new in roots.items():
        text = text.replace(old, new)
    return sorted(json.loads(text), key=lambda r: (str(r.get("doc_id", "")), json.dumps(r, sort_keys=True)))


@pytest.fixture
def s3(tmp_path):
    server = LocalS3(tmp_path / "moto.log").start()
    yield server
    server.stop()


@pytest.mark.timeout(1800)
def test_pipeline_on_s3_writes_the_tables_of_a_local_run(spark, ray_session, s3, tmp_path, monkeypatch):
    files = sample_files(tmp_path / "sample")[:N_FILES]
    mirror = make_mirror(tmp_path / "mirror", CRAWL, files)
    s3.create_bucket(LAKE_BUCKET)
    s3.create_bucket(CRAWL_BUCKET)
    s3.upload_dir(mirror, CRAWL_BUCKET, "cc")
    lake, source = f"s3a://{LAKE_BUCKET}/lake", f"s3://{CRAWL_BUCKET}/cc/"

    local_lake = tmp_path / "local-lake"
    classifier = train_classifier(local_lake / CLASSIFIER)
    s3.client().upload_file(str(classifier), LAKE_BUCKET, f"lake/{CLASSIFIER}")
    run_pipeline(str(local_lake), str(mirror), tmp_path / "sample")
    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)
    result, s3_logs = run_pipeline(lake, source, tmp_path / "sample")

    assert f"lake: {lake} is writable at {s3.endpoint}" in s3_logs
    assert SECRET not in s3_logs and SECRET not in str(result.all_events)
    tables = sorted(str(p.parent.relative_to(local_lake)) for p in local_lake.rglob("_delta_log"))
    assert {"manifest", "bronze/documents", "silver/documents", "dedup/documents", "scores/preselect",
            "refined/documents", "shards/manifest", "shards/documents"} <= set(tables), tables
    s3_tables = sorted({k.split("/_delta_log/")[0].removeprefix("lake/")
                        for k in s3.keys(LAKE_BUCKET, "lake/") if "/_delta_log/" in k})
    assert s3_tables == tables
    options = {"AWS_ALLOW_HTTP": "true", "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "false",
               "AWS_ENDPOINT_URL": s3.endpoint, **{k: v for k, v in s3.env.items() if k != "AWS_ENDPOINT_URL"}}
    for table in tables:
        local_rows = rows_of(str(local_lake / table), table, None,
                             {str(local_lake): "<lake>", str(mirror.resolve()): "<source>"})
        s3_rows = rows_of(f"{lake}/{table}", table, options,
                          {lake: "<lake>", as_s3(lake): "<lake>", source.rstrip("/"): "<source>"})
        assert s3_rows == local_rows, table
    assert rows_of(str(local_lake / "shards/manifest"), "shards/manifest", None, {}), \
        "the crawl must reach the shards"
    assert [k for k in s3.keys(LAKE_BUCKET, "lake/shards/files/") if k.endswith(".bin")], \
        "the Ray stage wrote its shards to the bucket"
    assert s3.keys(LAKE_BUCKET, f"lake/reports/{CRAWL}/report.md")

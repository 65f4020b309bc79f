"""Dagster: the Definitions load, and the ingest assets materialize a crawl end to end."""
from __future__ import annotations

import json

import pytest
from dagster import DagsterInstance, materialize
from pyspark.sql import functions as F

from assets.ingest import bronze_documents, warc_manifest
from contract.tables import BRONZE_SKIPS, SAMPLE_CRAWL_ID, table_uri
from resources.partitions import crawl_partitions
from resources import CrawlSourceResource, LakeResource, SparkResource
from sample_crawl.ground_truth import GROUND_TRUTH_FILE
from spark_jobs.bronze import trace_url, trace_urls
from tests.conftest import WARC_2020, WET_REPAIRED, WHIRLWIND_WARC, make_mirror

CRAWL = "CC-MAIN-2020-34"


def test_definitions_load():
    from orchestration.definitions import defs

    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"warc_manifest", "bronze_documents"} <= keys
    assert defs.resolve_job_def("crawl_pipeline").partitions_def == crawl_partitions


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as inst:
        yield inst


def _materialize(instance, mirror, lake_root, run_config=None):
    resources = {"spark": SparkResource(), "lake": LakeResource(root=lake_root),
                 "crawl_source": CrawlSourceResource(base_uri=str(mirror))}
    return materialize([warc_manifest, bronze_documents], partition_key=CRAWL, instance=instance,
                       resources=resources, run_config=run_config or {}, raise_on_error=False)


def test_materialize_ingest_and_rerun_processes_only_new_files(spark, instance, tmp_path, lake_root):
    # The third file holds other records: WET_LF_ONLY repeats WET_REPAIRED's record ids, which the
    # blocking bronze_unique_doc_id check rightly refuses.
    mirror = make_mirror(tmp_path / "mirror", CRAWL, [WARC_2020, WET_REPAIRED, WHIRLWIND_WARC])
    instance.add_dynamic_partitions(crawl_partitions.name, [CRAWL])
    config = {"ops": {"warc_manifest": {"config": {"selection": "first", "n_files": 2}}}}
    result = _materialize(instance, mirror, lake_root, config)
    assert result.success
    bronze = result.asset_materializations_for_node("bronze_documents")[0].metadata
    assert bronze["documents"].value == 16 + 68
    assert bronze["files_processed"].value == 2
    assert "record_type.request" in bronze["skipped_by_reason"].value
    assert bronze["records_read"].value == 16 + 17 + 16 + 1 + 68 + 1  # WARC: +requests, metadata, warcinfo
    assert bronze["skipped_rows"].value == 0
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert {name: c.passed for name, c in checks.items()} == {
        "bronze_counts_match_manifest": True, "bronze_schema": True, "bronze_unique_doc_id": True,
        "bronze_keep_rate": True}
    assert checks["bronze_counts_match_manifest"].metadata["files_checked"].value == 2

    # A rerun with a larger selection extracts only the new file; earlier rows stay.
    config["ops"]["warc_manifest"]["config"]["n_files"] = 3
    result = _materialize(instance, mirror, lake_root, config)
    assert result.success
    bronze = result.asset_materializations_for_node("bronze_documents")[0].metadata
    assert bronze["files_processed"].value == 1
    assert bronze["rows_in_partition"].value == 16 + 68 + 1
    assert _balance(result).passed


def test_too_many_failed_files_fail_the_asset(spark, instance, tmp_path, lake_root):
    broken = tmp_path / "broken.warc.gz"
    broken.write_bytes(b"")
    mirror = make_mirror(tmp_path / "mirror", CRAWL, [WARC_2020, broken])
    instance.add_dynamic_partitions(crawl_partitions.name, [CRAWL])
    config = {"ops": {"warc_manifest": {"config": {"selection": "all"}},
                      "bronze_documents": {"config": {"max_failed_file_share": 0.25}}}}
    result = _materialize(instance, mirror, lake_root, config)
    assert not result.success
    failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
    assert "1 of 2 files failed" in str(failure.event_specific_data.error)


def test_sample_crawl_every_page_is_found_where_its_ground_truth_says(spark, instance, tmp_path,
                                                                      lake_root):
    """Every response of the embedded sample crawl is a document or a skip row with the right reason,
    and "where did URL X go" answers for each one."""
    sample_dir = tmp_path / "sample"
    instance.add_dynamic_partitions(crawl_partitions.name, [SAMPLE_CRAWL_ID])
    resources = {"spark": SparkResource(), "lake": LakeResource(root=lake_root),
                 "crawl_source": CrawlSourceResource(sample_dir=str(sample_dir))}
    result = materialize([warc_manifest, bronze_documents], partition_key=SAMPLE_CRAWL_ID,
                         instance=instance, resources=resources,
                         run_config={"ops": {"warc_manifest": {"config": {"selection": "all"}}}})
    assert result.success
    check = _balance(result)
    assert check.passed and check.metadata["files_unbalanced"].value == 0
    truth = json.loads((sample_dir / "crawl-data" / SAMPLE_CRAWL_ID / GROUND_TRUTH_FILE)
                       .read_text(encoding="utf-8"))
    bronze = result.asset_materializations_for_node("bronze_documents")[0].metadata
    not_documents = [p for p in truth["pages"] if not p["expect_document"]]
    assert bronze["skipped_rows"].value == check.metadata["skip_rows"].value == len(not_documents)

    expected_reason = {"http_error": "http_status.non_200", "non_html": "content_type.not_html"}
    found = trace_urls(spark, lake_root, SAMPLE_CRAWL_ID, [p["url"] for p in truth["pages"]])
    assert len(found) == len(truth["pages"])
    for page in truth["pages"]:
        (where,) = found[page["url"]]
        if page["expect_document"]:
            assert where["table"] == "documents", page["url"]
        else:
            assert (where["table"], where["reason"]) == ("skips", expected_reason[page["category"]])
            assert where["warc_path"].endswith(page["warc_file"])
    skips = spark.read.format("delta").load(table_uri(lake_root, BRONZE_SKIPS)).collect()
    status = {p["url"]: p["status"] for p in not_documents}
    assert {r.url: r.http_status for r in skips} == status
    (a_404,) = [p["url"] for p in not_documents if p["status"] == 404]
    assert [(w["table"], w["reason"]) for w in trace_url(spark, lake_root, SAMPLE_CRAWL_ID, a_404)] == [
        ("skips", "http_status.non_200")]


def test_a_missing_skip_row_fails_the_check_and_names_the_file(spark, instance, tmp_path, lake_root):
    from delta.tables import DeltaTable

    from tests.bronze_fixtures import write_every_outcome_warc

    every = write_every_outcome_warc(tmp_path / "every.warc.gz")
    mirror = make_mirror(tmp_path / "mirror", CRAWL, [WARC_2020, every])
    instance.add_dynamic_partitions(crawl_partitions.name, [CRAWL])
    config = {"ops": {"warc_manifest": {"config": {"selection": "all"}}}}
    assert _balance(_materialize(instance, mirror, lake_root, config)).passed

    DeltaTable.forPath(spark, table_uri(lake_root, BRONZE_SKIPS)).delete(
        F.col("reason") == "http_status.non_200")
    config["ops"]["bronze_documents"] = {"config": {"reprocess": False}}
    result = _materialize(instance, mirror, lake_root, config)  # nothing to extract: only the checks
    check = _balance(result)
    assert not check.passed
    assert check.metadata["files_unbalanced"].value == 1
    assert "every.warc.gz" in check.metadata["unbalanced_files"].value


def _balance(result):
    """The bronze_counts_match_manifest evaluation of a run."""
    (check,) = [c for c in result.get_asset_check_evaluations()
                if c.check_name == "bronze_counts_match_manifest"]
    return check

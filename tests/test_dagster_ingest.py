"""Dagster: the Definitions load, and the ingest assets materialize a crawl end to end."""
from __future__ import annotations

import pytest
from dagster import DagsterInstance, materialize

from assets.ingest import bronze_documents, warc_manifest
from resources.partitions import crawl_partitions
from resources import CrawlSourceResource, LakeResource, SparkResource
from tests.conftest import WARC_2020, WET_LF_ONLY, WET_REPAIRED, make_mirror

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
    mirror = make_mirror(tmp_path / "mirror", CRAWL, [WARC_2020, WET_REPAIRED, WET_LF_ONLY])
    instance.add_dynamic_partitions(crawl_partitions.name, [CRAWL])
    config = {"ops": {"warc_manifest": {"config": {"selection": "first", "n_files": 2}}}}
    result = _materialize(instance, mirror, lake_root, config)
    assert result.success
    bronze = result.asset_materializations_for_node("bronze_documents")[0].metadata
    assert bronze["documents"].value == 16 + 68
    assert bronze["files_processed"].value == 2
    assert "record_type.request" in bronze["skipped_by_reason"].value
    checks = result.get_asset_check_evaluations()
    assert [c.passed for c in checks] == [True]

    # A rerun with a larger selection extracts only the new file; earlier rows stay.
    config["ops"]["warc_manifest"]["config"]["n_files"] = 3
    result = _materialize(instance, mirror, lake_root, config)
    assert result.success
    bronze = result.asset_materializations_for_node("bronze_documents")[0].metadata
    assert bronze["files_processed"].value == 1
    assert bronze["rows_in_partition"].value == 16 + 68 + 68
    assert result.get_asset_check_evaluations()[0].passed


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

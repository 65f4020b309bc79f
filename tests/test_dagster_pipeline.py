"""Dagster: the Spark stages on a mirror of real files, re-selected smaller with `reset`, and a
blocking check that stops the next stage."""
from __future__ import annotations

import pytest
from dagster import DagsterInstance, load_asset_checks_from_modules, load_assets_from_modules, materialize
from pyspark.sql import functions as F

from assets import dedup, ingest, silver
from assets.ingest import bronze_documents, warc_manifest
from contract.tables import (
    BRONZE_DOCUMENTS, BRONZE_ERRORS, DEDUP_DOCUMENTS, DEDUP_REMOVED, DEDUP_SIGNATURES, MANIFEST,
    SILVER_DOCUMENTS, SILVER_REJECTS, table_uri,
)
from resources import CrawlSourceResource, LakeResource, SparkResource
from resources.partitions import crawl_partitions
from spark_jobs.delta_io import read_partition, table_exists
from tests.conftest import WARC_2020, WET_REPAIRED, WHIRLWIND_WARC, WHIRLWIND_WET, make_mirror

CRAWL = "CC-MAIN-2024-22"
SPARK_MODULES = [ingest, silver, dedup]  # the Ray stages have their own end-to-end tests
SPARK_STAGES = [*load_assets_from_modules(SPARK_MODULES), *load_asset_checks_from_modules(SPARK_MODULES)]


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as inst:
        inst.add_dynamic_partitions(crawl_partitions.name, [CRAWL])
        yield inst


def _run(instance, mirror, lake_root, manifest_config, assets=SPARK_STAGES):
    resources = {"spark": SparkResource(), "lake": LakeResource(root=lake_root),
                 "crawl_source": CrawlSourceResource(base_uri=str(mirror))}
    return materialize(assets, partition_key=CRAWL, instance=instance, resources=resources,
                       run_config={"ops": {"warc_manifest": {"config": manifest_config}}},
                       raise_on_error=False)


def _column(spark, lake_root, table, column) -> set:
    frame = read_partition(spark, table_uri(lake_root, table), CRAWL)
    return {row[column] for row in frame.select(column).collect()}


def _checks(result) -> dict[str, bool]:
    return {c.check_name: c.passed for c in result.get_asset_check_evaluations()}


ALL_CHECKS_PASS = {name: True for name in (
    "bronze_counts_match_manifest", "silver_counts_balance", "dedup_counts_balance",
    *(f"{stage}_{check}" for stage in ("bronze", "silver", "dedup")
      for check in ("schema", "unique_doc_id", "keep_rate")))}
BRONZE_CHECKS_PASS = {name: True for name in ALL_CHECKS_PASS if name.startswith("bronze")}


def test_a_smaller_reset_selection_leaves_only_its_files_in_every_stage(
        spark, instance, tmp_path, lake_root):
    mirror = make_mirror(tmp_path / "mirror", CRAWL, [WARC_2020, WET_REPAIRED, WHIRLWIND_WARC,
                                                      WHIRLWIND_WET])
    result = _run(instance, mirror, lake_root, {"selection": "first", "n_files": 4})
    assert result.success and _checks(result) == ALL_CHECKS_PASS
    assert len(_column(spark, lake_root, BRONZE_DOCUMENTS, "warc_path")) == 4

    result = _run(instance, mirror, lake_root, {"selection": "first", "n_files": 2, "reset": True})
    assert result.success and _checks(result) == ALL_CHECKS_PASS
    bronze_meta = result.asset_materializations_for_node("bronze_documents")[0].metadata
    assert bronze_meta["files_processed"].value == 2 and bronze_meta["files_retired"].value == 2

    kept_files = _column(spark, lake_root, MANIFEST, "path")
    assert kept_files == {str(mirror.resolve() / f"crawl-data/{CRAWL}/segments/0/warc/file-{i:05d}-"
                                                  f"{source.name}")
                          for i, source in enumerate([WARC_2020, WET_REPAIRED])}
    assert _column(spark, lake_root, BRONZE_DOCUMENTS, "warc_path") == kept_files
    assert _column(spark, lake_root, BRONZE_ERRORS, "warc_path") <= kept_files
    bronze_ids = _column(spark, lake_root, BRONZE_DOCUMENTS, "doc_id")
    assert len(bronze_ids) == 16 + 68
    silver_ids = _column(spark, lake_root, SILVER_DOCUMENTS, "doc_id")
    assert silver_ids and silver_ids | _column(spark, lake_root, SILVER_REJECTS, "doc_id") == bronze_ids
    dedup_ids = (_column(spark, lake_root, DEDUP_DOCUMENTS, "doc_id")
                 | _column(spark, lake_root, DEDUP_REMOVED, "doc_id"))
    assert dedup_ids == silver_ids
    assert _column(spark, lake_root, DEDUP_SIGNATURES, "doc_id") == silver_ids


def test_an_unbalanced_bronze_fails_its_blocking_check_and_silver_does_not_run(
        spark, instance, tmp_path, lake_root):
    from delta.tables import DeltaTable

    mirror = make_mirror(tmp_path / "mirror", CRAWL, [WHIRLWIND_WARC])
    result = _run(instance, mirror, lake_root, {"selection": "all"},
                  assets=[warc_manifest, bronze_documents])
    assert result.success and _checks(result) == BRONZE_CHECKS_PASS

    # A row goes missing behind the manifest's back: bronze no longer holds what the manifest says.
    DeltaTable.forPath(spark, table_uri(lake_root, BRONZE_DOCUMENTS)).delete(F.col("snapshot") == CRAWL)
    result = _run(instance, mirror, lake_root, {"selection": "all"})
    assert not result.success
    assert _checks(result) == {**BRONZE_CHECKS_PASS, "bronze_counts_match_manifest": False}
    check = next(c for c in result.get_asset_check_evaluations()
                 if c.check_name == "bronze_counts_match_manifest")
    assert check.metadata["rows_in_bronze"].value == 0
    assert check.metadata["documents_in_manifest"].value == 1
    failed = {e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"}
    assert failed == {"bronze_documents"}
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"warc_manifest", "bronze_documents"}
    assert not table_exists(spark, table_uri(lake_root, SILVER_DOCUMENTS))

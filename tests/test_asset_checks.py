"""Asset checks of the Spark stages (schema, unique doc_id, keep rate) on the real fixtures, and on
tables made bad on purpose; a failing blocking check stops the stage after it."""
from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest
from dagster import AssetCheckResult, DagsterInstance, materialize
from pyspark.sql import functions as F

from assets import dedup, ingest, silver
from assets.crawl_range import merge_check_results
from assets.stage_checks import KeepRate
from contract.tables import (
    BRONZE_DOCUMENTS, DEDUP_DOCUMENTS, SILVER_DOCUMENTS, SILVER_REJECTS, table_uri,
)
from resources import CrawlSourceResource, LakeResource, SparkResource
from resources.partitions import crawl_partitions
from spark_jobs.delta_io import read_partition
from tests.conftest import WARC_2020, WET_REPAIRED, make_mirror
from tests.test_dagster_pipeline import SPARK_STAGES

CRAWL = "CC-MAIN-2020-34"
JUDGE_ALL = {"keep_rate_min_documents": 1}  # the fixtures are small: judge their rates anyway


# ---------------------------------------------------------------- keep rate, without an engine

def test_keep_rate_inside_outside_and_on_the_bounds():
    assert KeepRate(30, 100, 0.1, 0.7, 1).passed
    assert KeepRate(10, 100, 0.1, 0.7, 1).passed and KeepRate(70, 100, 0.1, 0.7, 1).passed
    assert not KeepRate(9, 100, 0.1, 0.7, 1).passed
    assert not KeepRate(71, 100, 0.1, 0.7, 1).passed


def test_bounds_of_zero_and_one_turn_the_check_off():
    assert KeepRate(0, 100, 0.0, 1.0, 1).passed and KeepRate(100, 100, 0.0, 1.0, 1).passed


def test_too_few_documents_are_not_judged_and_nothing_in_has_no_rate():
    small = KeepRate(0, 50, 0.1, 0.7, 1000)
    assert small.passed and not small.judged and small.rate == 0.0
    empty = KeepRate(0, 0, 0.1, 0.7, 0)
    assert empty.rate is None and not empty.judged and empty.passed


def test_bounds_out_of_order_are_an_error():
    with pytest.raises(ValueError, match="0 <= min <= max <= 1"):
        KeepRate(1, 2, 0.8, 0.2)
    with pytest.raises(ValueError):
        KeepRate(1, 2, 0.0, 1.5)


def test_a_range_check_passes_only_when_every_crawl_passed():
    results = {"CC-MAIN-2024-10": AssetCheckResult(check_name="c", passed=True, metadata={"n": 1}),
               "CC-MAIN-2024-18": AssetCheckResult(check_name="c", passed=False, metadata={"n": 2})}
    merged = merge_check_results(results)
    assert not merged.passed and merged.check_name == "c"
    assert merged.metadata["failed_crawls"].value == ["CC-MAIN-2024-18"]
    assert merged.metadata["CC-MAIN-2024-10.n"].value == 1 and merged.metadata["CC-MAIN-2024-18.n"].value == 2
    del results["CC-MAIN-2024-18"]
    assert merge_check_results(results).passed


# ---------------------------------------------------------------- Spark stages on the real fixtures
# One pipeline run (the real fixtures through dedup) for the module; each test works on a copy of
# its lake, so tables made bad on purpose never leak into another test.

@pytest.fixture(scope="module")
def pipeline(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("checks")
    mirror = make_mirror(root / "mirror", CRAWL, [WARC_2020, WET_REPAIRED])
    lake = root / "lake"
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(crawl_partitions.name, [CRAWL])
        result = _run(instance, mirror, lake, {})
    return SimpleNamespace(result=result, mirror=mirror, lake=lake)


@pytest.fixture
def lake_copy(pipeline, tmp_path) -> str:
    copy = tmp_path / "lake"
    shutil.copytree(pipeline.lake, copy)
    return str(copy)


def _run(instance, mirror, lake_root, ops: dict, assets=SPARK_STAGES, selection=None):
    resources = {"spark": SparkResource(), "lake": LakeResource(root=str(lake_root)),
                 "crawl_source": CrawlSourceResource(base_uri=str(mirror))}
    run_config = {"ops": {**({} if selection else {"warc_manifest": {"config": {"selection": "all"}}}),
                          **{op: {"config": config} for op, config in ops.items()}}}
    return materialize(assets, partition_key=CRAWL, instance=instance, resources=resources,
                       run_config=run_config, raise_on_error=False, selection=selection)


def _evaluations(result) -> dict:
    return {c.check_name: c for c in result.get_asset_check_evaluations()}


def _by_name(results) -> dict:
    return {c.check_name: c for c in results}


def test_every_check_passes_on_the_real_fixtures_and_small_crawls_are_not_judged(pipeline):
    result = pipeline.result
    checks = _evaluations(result)
    assert result.success, {name: c.metadata for name, c in checks.items() if not c.passed}
    assert set(checks) == {f"{stage}_{name}" for stage in ("bronze", "silver", "dedup")
                           for name in ("schema", "unique_doc_id", "keep_rate")} | {
        "bronze_counts_match_manifest", "silver_counts_balance", "dedup_counts_balance"}
    assert all(c.passed for c in checks.values())
    assert checks["silver_unique_doc_id"].metadata["rows"].value == 16 + 68
    assert checks["silver_schema"].metadata["differences"].value == {
        "silver/documents": [], "silver/rejects": []}
    keep = checks["silver_keep_rate"].metadata
    assert keep["entered"].value == 16 + 68 and not keep["judged"].value
    assert "84 documents in, fewer than keep_rate_min_documents (1000)" == keep["not_judged_because"].value


def test_the_real_fixtures_keep_rates_are_inside_the_default_bounds_when_judged(spark, lake_copy):
    from spark_jobs.bronze import bronze_balance

    bronze = _by_name(ingest.bronze_table_checks(spark, lake_copy, CRAWL, bronze_balance(spark, lake_copy, CRAWL),
                                                 ingest.BronzeConfig(**JUDGE_ALL)))["bronze_keep_rate"]
    silver_keep = _by_name(silver.silver_table_checks(spark, lake_copy, CRAWL, silver.SilverConfig(**JUDGE_ALL))
                           )["silver_keep_rate"]
    dedup_keep = _by_name(dedup.dedup_table_checks(spark, lake_copy, CRAWL, dedup.DedupCheckedConfig(**JUDGE_ALL))
                          )["dedup_keep_rate"]
    for check in (bronze, silver_keep, dedup_keep):
        assert check.passed and check.metadata["judged"].value, check.metadata
    assert bronze.metadata["kept"].value == 16 + 68
    assert silver_keep.metadata["keep_rate"].value == pytest.approx(3 / 84, abs=1e-6)
    assert dedup_keep.metadata["entered"].value == 3


def test_keep_rate_outside_its_bounds_fails_and_the_blocking_check_stops_dedup(spark, pipeline, lake_copy):
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(crawl_partitions.name, [CRAWL])
        result = _run(instance, pipeline.mirror, lake_copy,
                      {"silver_documents": {**JUDGE_ALL, "max_keep_rate": 0.01}},
                      selection=["silver_documents", "dedup_documents"])
    assert not result.success
    checks = _evaluations(result)
    assert not checks["silver_keep_rate"].passed
    assert checks["silver_keep_rate"].metadata["max_keep_rate"].value == 0.01
    assert checks["silver_counts_balance"].passed and checks["silver_unique_doc_id"].passed
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"silver_documents"}
    failed = {e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"}
    assert failed == {"silver_documents"}
    assert not any(e.step_key == "dedup_documents" and e.event_type_value == "STEP_START"
                   for e in result.all_events)


def test_a_duplicated_doc_id_and_a_wrong_schema_fail_their_checks(spark, lake_copy):
    silver_config = silver.SilverConfig()
    checks = _by_name(silver.silver_table_checks(spark, lake_copy, CRAWL, silver_config))
    assert checks["silver_unique_doc_id"].passed and checks["silver_schema"].passed

    # A rejected document also written as kept: a doc_id twice across the stage's two tables.
    rejected = read_partition(spark, table_uri(lake_copy, SILVER_REJECTS), CRAWL).limit(1)
    rejected.drop("reason", "error").write.format("delta").mode("append").save(
        table_uri(lake_copy, SILVER_DOCUMENTS))
    checks = _by_name(silver.silver_table_checks(spark, lake_copy, CRAWL, silver_config))
    assert not checks["silver_unique_doc_id"].passed
    assert checks["silver_unique_doc_id"].metadata["repeated"].value == 1

    # A column the contract does not have, added to bronze/documents with a copy of one of its rows.
    bronze_rows = read_partition(spark, table_uri(lake_copy, BRONZE_DOCUMENTS), CRAWL).limit(1)
    bronze_rows.withColumn("stray", F.lit(1)).write.format("delta").mode("append").option(
        "mergeSchema", "true").save(table_uri(lake_copy, BRONZE_DOCUMENTS))
    from spark_jobs.bronze import bronze_balance

    checks = _by_name(ingest.bronze_table_checks(spark, lake_copy, CRAWL, bronze_balance(spark, lake_copy, CRAWL),
                                                 ingest.BronzeConfig()))
    assert not checks["bronze_schema"].passed
    assert checks["bronze_schema"].metadata["differences"].value == {
        "bronze/documents": ["unexpected column stray"], "bronze/skips": [], "bronze/errors": []}
    assert not checks["bronze_unique_doc_id"].passed  # the appended row repeats a doc_id


def test_dedup_checks_see_a_repeated_document(spark, lake_copy):
    config = dedup.DedupCheckedConfig()
    checks = _by_name(dedup.dedup_table_checks(spark, lake_copy, CRAWL, config))
    assert all(c.passed for c in checks.values()), checks
    kept = read_partition(spark, table_uri(lake_copy, DEDUP_DOCUMENTS), CRAWL)
    kept.limit(2).write.format("delta").mode("append").save(table_uri(lake_copy, DEDUP_DOCUMENTS))
    checks = _by_name(dedup.dedup_table_checks(spark, lake_copy, CRAWL, config))
    assert not checks["dedup_unique_doc_id"].passed
    assert checks["dedup_unique_doc_id"].metadata["repeated"].value == 2
    assert checks["dedup_schema"].passed

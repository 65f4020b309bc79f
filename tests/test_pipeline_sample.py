"""The embedded default end to end: every asset of the pipeline on the sample crawl, in Dagster."""
from __future__ import annotations

from dagster import DagsterInstance, materialize

from contract.tables import SAMPLE_CRAWL_ID
from orchestration.definitions import ASSET_MODULES
from resources.partitions import crawl_partitions
from resources import CrawlSourceResource, LakeResource, RayResource, SparkResource


def _all_assets_and_checks():
    from dagster import load_asset_checks_from_modules, load_assets_from_modules

    return [*load_assets_from_modules(ASSET_MODULES), *load_asset_checks_from_modules(ASSET_MODULES)]


def test_sample_crawl_through_the_whole_pipeline(spark, tmp_path, lake_root):
    resources = {"spark": SparkResource(), "ray": RayResource(), "lake": LakeResource(root=lake_root),
                 "crawl_source": CrawlSourceResource(sample_dir=str(tmp_path / "sample"))}
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(crawl_partitions.name, [SAMPLE_CRAWL_ID])
        result = materialize(_all_assets_and_checks(), partition_key=SAMPLE_CRAWL_ID,
                             instance=instance, resources=resources,
                             run_config={"ops": {"warc_manifest": {"config": {"selection": "all"}}}})
    assert result.success
    meta = {m.asset_key.to_user_string(): m.metadata for m in result.get_asset_materialization_events()
            and [e.event_specific_data.materialization
                 for e in result.get_asset_materialization_events()]}
    assert meta["warc_manifest"]["selected"].value == 4
    assert meta["bronze_documents"]["documents"].value == 304  # docs/sample_crawl.md
    silver = meta["silver_documents"]
    assert silver["documents_in"].value == 304
    assert 150 <= silver["kept"].value <= 200
    assert "language" in silver["funnel"].value
    dedup = meta["dedup_documents"]
    assert dedup["documents_in"].value == silver["kept"].value
    assert dedup["kept"].value + dedup["exact_removed"].value + dedup["near_removed"].value == \
        dedup["documents_in"].value
    # The sample holds 10 articles copied byte for byte under 2 other URLs, and 6 articles each with
    # 7 near copies, of which the 0.5 % and 1 % mutations (Jaccard >= 0.90) are above the 0.85
    # threshold and the 2 % ones (0.81-0.83) below it (docs/sample_crawl.md).
    assert dedup["exact_removed"].value >= 10
    assert 2 * 6 <= dedup["near_removed"].value < 3 * 6
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)

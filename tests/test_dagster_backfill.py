"""A backfill over several crawls is one run: every crawl-partitioned asset has the single-run
backfill policy, so Dagster's backfill daemon launches one run over the partition key range (the
run tags `dagster/asset_partition_range_start` / `_end`, which this test sets as the daemon does),
and each asset processes the crawls of the range oldest first. Each crawl's tables must equal those
of one-crawl runs."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from dagster import BackfillPolicy, DagsterInstance, materialize

from assets.crawl_range import CRAWL_BACKFILL_POLICY, crawls_of
from orchestration.definitions import defs
from resources import CrawlSourceResource, LakeResource, SparkResource
from resources.partitions import add_crawls, crawl_partitions
from tests.conftest import WARC_2020, WHIRLWIND_WARC, make_mirror
from tests.ops_helpers import lake_contents
from tests.test_dagster_pipeline import SPARK_STAGES

A, B = "CC-MAIN-2020-34", "CC-MAIN-2024-22"
pytestmark = pytest.mark.timeout(2700)  # three small pipeline runs on a shared 2-core machine
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def test_every_crawl_partitioned_asset_backfills_in_a_single_run():
    assert CRAWL_BACKFILL_POLICY == BackfillPolicy.single_run()
    nodes = defs.resolve_asset_graph().asset_nodes
    partitioned = {n.key.to_user_string() for n in nodes if n.partitions_def == crawl_partitions}
    assert partitioned == {"warc_manifest", "bronze_documents", "silver_documents", "dedup_documents",
                           "quality_scores", "refined_documents", "training_shards", "crawl_report"}
    assert {n.key.to_user_string() for n in nodes if n.backfill_policy == CRAWL_BACKFILL_POLICY} == partitioned


def test_the_crawls_of_a_range_come_oldest_first_whatever_order_they_were_registered_in():
    context = SimpleNamespace(partition_keys=["CC-MAIN-2024-18", "CC-MAIN-2023-50", "CC-MAIN-2024-10"])
    assert crawls_of(context) == ["CC-MAIN-2023-50", "CC-MAIN-2024-10", "CC-MAIN-2024-18"]


def _materialize(instance, mirror: Path, lake: Path, **partition):
    resources = {"spark": SparkResource(), "lake": LakeResource(root=str(lake)),
                 "crawl_source": CrawlSourceResource(base_uri=str(mirror))}
    return materialize(SPARK_STAGES, instance=instance, resources=resources,
                       run_config={"ops": {"warc_manifest": {"config": {"selection": "all"}}}},
                       raise_on_error=False, **partition)


def test_a_backfill_of_two_crawls_is_one_run_with_the_tables_of_one_crawl_runs(spark, tmp_path):
    mirror = make_mirror(tmp_path / "mirror", A, [WARC_2020])
    make_mirror(mirror, B, [WHIRLWIND_WARC])
    with DagsterInstance.ephemeral() as instance:
        add_crawls(instance, [B, A])
        backfill = _materialize(instance, mirror, tmp_path / "backfill",
                                tags={RANGE_START: A, RANGE_END: B})
        assert backfill.success
        assert len(instance.get_runs()) == 1
        by_asset: dict[str, set] = {}
        for event in backfill.get_asset_materialization_events():
            by_asset.setdefault(event.asset_key.to_user_string(), set()).add(event.partition)
        assert by_asset == {name: {A, B} for name in
                            ("warc_manifest", "bronze_documents", "silver_documents", "dedup_documents")}
        checks = backfill.get_asset_check_evaluations()
        assert len(checks) == 12 and all(c.passed for c in checks)
        dedup_balance = next(c for c in checks if c.check_name == "dedup_counts_balance")
        assert dedup_balance.metadata["crawls"].value == [A, B]
        assert dedup_balance.metadata["failed_crawls"].value == []
        # Oldest first: A's dedup step ran before B's (B is compared with A's signatures).
        logs = [e.message or "" for e in instance.all_logs(backfill.run_id)]
        said = [m for m in logs if m.startswith("crawl CC-MAIN-")]
        assert said[-2:] == [f"crawl {A} (1 of 2)", f"crawl {B} (2 of 2)"]

        for crawl in (A, B):  # the same crawls one run each, into another lake
            assert _materialize(instance, mirror, tmp_path / "one-by-one", partition_key=crawl).success
        assert len(instance.get_runs()) == 3
    backfilled = lake_contents(tmp_path / "backfill")
    assert backfilled == lake_contents(tmp_path / "one-by-one")
    assert {row["snapshot"] for row in backfilled["bronze/documents"]} == {A, B}


def test_preselect_model_samples_the_runs_crawl_or_the_last_crawl_of_a_range():
    from dagster import PartitionKeyRange

    from assets.scoring import PreselectModelConfig, _crawl_to_sample

    one = SimpleNamespace(has_partition_key=True, partition_key=A)
    assert _crawl_to_sample(one, PreselectModelConfig()) == A
    several = SimpleNamespace(has_partition_key=False, has_partition_key_range=True,
                              partition_key_range=PartitionKeyRange(A, B))
    assert _crawl_to_sample(several, PreselectModelConfig()) == B
    assert _crawl_to_sample(several, PreselectModelConfig(crawl=A)) == A
    none = SimpleNamespace(has_partition_key=False, has_partition_key_range=False)
    with pytest.raises(ValueError, match="needs a crawl to sample"):
        _crawl_to_sample(none, PreselectModelConfig())

"""The weekly schedule, the job's executor and the instance settings that operations rely on."""
from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from dagster import (
    DagsterInstance, DefaultScheduleStatus, DefaultSensorStatus, build_schedule_context,
    instance_for_test, validate_run_config,
)

from orchestration.definitions import build_definitions
from orchestration.schedules import weekly_crawl_schedule
from resources.crawl_catalog import CrawlCatalogResource, scheduled_crawls
from resources.partitions import add_crawls

REPO = Path(__file__).resolve().parents[1]
MONDAY = datetime(2025, 9, 1, 6, 0, tzinfo=timezone.utc)
REGISTERED = ["CC-MAIN-2023-50", "CC-MAIN-2025-33", "CC-MAIN-2024-33", "CC-MAIN-SAMPLE"]


def evaluate(instance, setting: str):
    with build_schedule_context(instance=instance, scheduled_execution_time=MONDAY, resources={
            "crawl_catalog": CrawlCatalogResource(scheduled_crawls=setting)}) as context:
        return weekly_crawl_schedule(context)


def test_which_crawls_a_tick_runs():
    registered = set(REGISTERED)
    assert scheduled_crawls("newest", registered) == ["CC-MAIN-2025-33"]  # not the sample
    assert scheduled_crawls("newest", set()) == []
    assert scheduled_crawls(" CC-MAIN-2024-33,CC-MAIN-2023-50 ,CC-MAIN-2024-33", registered) == [
        "CC-MAIN-2023-50", "CC-MAIN-2024-33"]
    with pytest.raises(ValueError, match="not registered as partitions: CC-MAIN-2020-34 .*"
                                         "refinery add-crawl CC-MAIN-2020-34"):
        scheduled_crawls("CC-MAIN-2024-33,CC-MAIN-2020-34", registered)
    with pytest.raises(ValueError, match="'2024-33' is not a crawl id"):
        scheduled_crawls("2024-33", registered)


def test_the_schedule_requests_one_run_per_configured_crawl_per_tick():
    job = build_definitions({}).resolve_job_def("crawl_pipeline")
    with instance_for_test() as instance:
        assert "no crawl registered yet" in evaluate(instance, "newest").skip_message
        add_crawls(instance, REGISTERED)
        [newest] = evaluate(instance, "newest")
        assert (newest.partition_key, newest.run_key) == (
            "CC-MAIN-2025-33", "CC-MAIN-2025-33@2025-09-01T06:00:00+00:00")
        assert newest.tags["refinery/trigger"] == "weekly_crawl_schedule"
        listed = evaluate(instance, "CC-MAIN-2025-33,CC-MAIN-2023-50")
        assert [r.partition_key for r in listed] == ["CC-MAIN-2023-50", "CC-MAIN-2025-33"]
        for request in listed:  # the assets' defaults make a valid run config
            validate_run_config(job, request.run_config)
        with pytest.raises(ValueError, match="not registered as partitions: CC-MAIN-2020-34"):
            evaluate(instance, "CC-MAIN-2020-34")


def test_schedule_and_sensor_are_defined_off_and_every_run_is_one_process():
    defs = build_definitions({})
    schedule = defs.resolve_schedule_def("weekly_crawl_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 * * 1", "UTC")
    assert schedule.default_status == DefaultScheduleStatus.STOPPED
    assert schedule.job_name == "crawl_pipeline"
    sensor = defs.resolve_sensor_def("new_crawl_sensor")
    assert sensor.default_status == DefaultSensorStatus.STOPPED
    assert sensor.job_name == "crawl_pipeline"
    # One process per run, so one Spark session per run: the job's and the UI's ad-hoc runs.
    assert defs.resolve_job_def("crawl_pipeline").executor_def.name == "in_process"
    assert defs.resolve_implicit_global_asset_job_def().executor_def.name == "in_process"


def test_the_instance_serializes_engine_steps_and_frees_the_slots_of_dead_runs(tmp_path):
    shutil.copyfile(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        concurrency = instance.get_concurrency_config()
        assert concurrency.pool_config.default_pool_limit == 1
        assert concurrency.pool_config.pool_granularity.value == "op"  # in-process runs too
        assert concurrency.run_queue_config.max_concurrent_runs == 1
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] > 0

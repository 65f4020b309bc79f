"""Jobs: the whole pipeline for one crawl partition, its steps in one process.

The in-process executor runs every step of a run in the run's process, so a run sets up its
resources once: one SparkSession (and one Ray instance) for all its stages. Dagster's default
multiprocess executor would start a process, and with it a JVM, for every step. Steps of one run
follow each other anyway (each stage reads the one before), and the `spark` and `ray` pools
(dagster.yaml) keep steps of different runs from using an engine at the same time.
"""
from __future__ import annotations

from dagster import AssetSelection, define_asset_job, in_process_executor

from resources.partitions import crawl_partitions

crawl_pipeline_job = define_asset_job(
    "crawl_pipeline",
    selection=AssetSelection.all(),
    partitions_def=crawl_partitions,
    executor_def=in_process_executor,
    description="Every stage of the pipeline for one crawl, in one process (one Spark session).",
)

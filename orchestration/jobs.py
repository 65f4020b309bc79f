"""Jobs: the whole pipeline for one crawl partition."""
from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from resources.partitions import crawl_partitions

crawl_pipeline_job = define_asset_job(
    "crawl_pipeline",
    selection=AssetSelection.all(),
    partitions_def=crawl_partitions,
    description="Every stage of the pipeline for one crawl.",
)

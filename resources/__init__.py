"""Dagster resources and partitions: below the assets, above the engines.

Local defaults need nothing; production points them elsewhere through environment variables or
resource config (`SPARK_MASTER` / `SPARK_REMOTE`, `RAY_ADDRESS`, `REFINERY_LAKE_ROOT`,
`REFINERY_CC_BASE`).
"""
from resources.crawl_source import CrawlSourceResource
from resources.lake import LakeResource
from resources.ray import RayResource
from resources.spark import SparkResource

__all__ = ["CrawlSourceResource", "LakeResource", "RayResource", "SparkResource"]

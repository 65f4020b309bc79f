"""Dagster resources and partitions: below the assets, above the engines.

Each resource owns what it opens: SparkResource its SparkSession, RayResource its Ray instance,
set up once per run and torn down after it. Local defaults need nothing; production points them
elsewhere through resource config or the environment variables the Definitions pass as `EnvVar`
(`SPARK_MASTER` / `SPARK_REMOTE`, `RAY_ADDRESS`, `REFINERY_LAKE_ROOT`, `REFINERY_CC_BASE`,
`REFINERY_SAMPLE_DIR`).
"""
from resources.crawl_source import CrawlSourceResource
from resources.lake import LakeResource
from resources.ray import RayResource
from resources.spark import SparkResource

__all__ = ["CrawlSourceResource", "LakeResource", "RayResource", "SparkResource"]

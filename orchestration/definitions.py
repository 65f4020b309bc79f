"""The Dagster Definitions of cc-refinery (loaded by workspace.yaml and the CLI)."""
from __future__ import annotations

from dagster import Definitions, load_asset_checks_from_modules, load_assets_from_modules

from assets import dedup, ingest, silver
from orchestration.jobs import crawl_pipeline_job
from resources import CrawlSourceResource, LakeResource, RayResource, SparkResource
from orchestration.sensors import new_crawl_sensor

ASSET_MODULES = [ingest, silver, dedup]


def build_resources() -> dict:
    return {
        "spark": SparkResource(),
        "ray": RayResource(),
        "lake": LakeResource(),
        "crawl_source": CrawlSourceResource(),
    }


defs = Definitions(
    assets=load_assets_from_modules(ASSET_MODULES),
    asset_checks=load_asset_checks_from_modules(ASSET_MODULES),
    jobs=[crawl_pipeline_job],
    sensors=[new_crawl_sensor],
    resources=build_resources(),
)

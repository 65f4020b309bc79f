"""The Dagster Definitions of cc-refinery (loaded by workspace.yaml and the CLI)."""
from __future__ import annotations

import os
from typing import Mapping

from dagster import (
    Definitions, EnvVar, in_process_executor, load_asset_checks_from_modules,
    load_assets_from_modules,
)

from assets import ASSET_MODULES
from orchestration.jobs import crawl_pipeline_job
from orchestration.schedules import weekly_crawl_schedule
from orchestration.sensors import new_crawl_sensor
from resources import CrawlSourceResource, LakeResource, RayResource, SparkResource
from resources.crawl_catalog import CrawlCatalogResource

__all__ = ["ASSET_MODULES", "build_definitions", "build_resources", "defs"]

# Resource field <- environment variable. A variable that is set is passed as an EnvVar, so the UI
# shows where the value comes from and it is read when a run starts; an unset one leaves the
# field at its default (EnvVar of an unset variable would be an error at run time).
ENVIRONMENT = {
    "spark": {"master": "SPARK_MASTER", "remote": "SPARK_REMOTE"},
    "ray": {"address": "RAY_ADDRESS"},
    "lake": {"root": "REFINERY_LAKE_ROOT"},
    "crawl_source": {"base_uri": "REFINERY_CC_BASE", "sample_dir": "REFINERY_SAMPLE_DIR"},
    "crawl_catalog": {"collinfo_uri": "REFINERY_COLLINFO_URI", "min_crawl": "REFINERY_MIN_CRAWL",
                      "scheduled_crawls": "REFINERY_SCHEDULED_CRAWLS"},
}
RESOURCE_TYPES = {"spark": SparkResource, "ray": RayResource, "lake": LakeResource,
                  "crawl_source": CrawlSourceResource, "crawl_catalog": CrawlCatalogResource}


def env_fields(fields: Mapping[str, str], environ: Mapping[str, str]) -> dict:
    """{field: EnvVar(name)} for the variables of `fields` that are set (and not empty)."""
    return {field: EnvVar(name) for field, name in fields.items() if environ.get(name)}


def build_resources(environ: Mapping[str, str] | None = None) -> dict:
    environ = os.environ if environ is None else environ
    return {key: RESOURCE_TYPES[key](**env_fields(ENVIRONMENT[key], environ))
            for key in RESOURCE_TYPES}


def build_definitions(environ: Mapping[str, str] | None = None) -> Definitions:
    return Definitions(
        assets=load_assets_from_modules(ASSET_MODULES),
        asset_checks=load_asset_checks_from_modules(ASSET_MODULES),
        jobs=[crawl_pipeline_job],
        schedules=[weekly_crawl_schedule],
        sensors=[new_crawl_sensor],
        resources=build_resources(environ),
        # Runs launched from the UI's Materialize buttons too: one process, one Spark session.
        executor=in_process_executor,
    )


defs = build_definitions()

"""Dagster resources: the Spark session, the Ray cluster, the lake root and the crawl source.

Local defaults need nothing; production points them elsewhere through environment variables or
resource config (`SPARK_MASTER` / `SPARK_REMOTE`, `RAY_ADDRESS`, `REFINERY_LAKE_ROOT`,
`REFINERY_CC_BASE`).
"""
from __future__ import annotations

import os
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from contract.tables import SAMPLE_CRAWL_ID, table_uri
from spark_jobs.crawl_listing import COMMON_CRAWL_HTTPS


def _is_uri(value: str) -> bool:
    return "://" in value


class LakeResource(ConfigurableResource):
    """Where the Delta tables live: a local directory or any URI Spark and delta-rs understand."""

    root: str = Field(
        default_factory=lambda: os.environ.get("REFINERY_LAKE_ROOT", "lake"),
        description="Lake root: ./lake by default, or s3a://, abfss://, gs:// in production.",
    )

    @property
    def uri(self) -> str:
        return self.root if _is_uri(self.root) else str(Path(self.root).resolve())

    def table(self, name: str) -> str:
        return table_uri(self.uri, name)


class SparkResource(ConfigurableResource):
    """The process's SparkSession (created once, stopped at exit)."""

    master: str | None = Field(
        default=None, description="Spark master URL; SPARK_MASTER or local[*] when unset."
    )
    remote: str | None = Field(
        default=None, description="Spark Connect URL (sc://host:15002); SPARK_REMOTE when unset."
    )
    shuffle_partitions: int | None = Field(
        default=None, description="spark.sql.shuffle.partitions; 2 x cores (min 4) when unset."
    )
    driver_memory: str = Field(default="4g", description="spark.driver.memory for local runs.")

    def session(self):
        from spark_jobs.session import get_spark

        return get_spark(self.master, self.remote, self.shuffle_partitions, self.driver_memory)


class RayResource(ConfigurableResource):
    """A Ray cluster: a local instance by default, RAY_ADDRESS or `address` for a cluster."""

    address: str | None = Field(default=None, description="Ray address; RAY_ADDRESS when unset.")
    num_cpus: int | None = Field(default=None, description="CPUs for a local instance.")

    def init(self):
        import ray

        if not ray.is_initialized():
            address = self.address or os.environ.get("RAY_ADDRESS")
            if address:
                ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
            else:
                ray.init(num_cpus=self.num_cpus, include_dashboard=False,
                         ignore_reinit_error=True, log_to_driver=False)
        return ray


class CrawlSourceResource(ConfigurableResource):
    """Where crawl listings and files come from.

    `base_uri` is Common Crawl's HTTPS host by default; `s3://commoncrawl/` or a local mirror
    directory in Common Crawl's layout (`crawl-data/<crawl>/warc.paths.gz`) work the same way. The
    embedded sample crawl is always read from a mirror the project builds under `sample_dir`.
    """

    base_uri: str = Field(
        default_factory=lambda: os.environ.get("REFINERY_CC_BASE", COMMON_CRAWL_HTTPS),
        description="Common Crawl base: https://data.commoncrawl.org/, s3://commoncrawl/ or a dir.",
    )
    sample_dir: str = Field(
        default_factory=lambda: os.environ.get("REFINERY_SAMPLE_DIR", ".sample-crawl"),
        description="Where the embedded sample crawl is built (deterministic, a few MB).",
    )

    def base_for(self, crawl_id: str) -> str:
        if crawl_id == SAMPLE_CRAWL_ID:
            from orchestration.sample_crawl import build_sample_mirror

            return str(build_sample_mirror(Path(self.sample_dir).resolve()))
        base = self.base_uri
        return base if _is_uri(base) else str(Path(base).resolve())

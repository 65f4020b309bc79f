"""The Spark session of a run (local by default, a cluster through SPARK_MASTER / SPARK_REMOTE)."""
from __future__ import annotations


from dagster import ConfigurableResource
from pydantic import Field


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

"""The Spark session of a run (local by default, a cluster through SPARK_MASTER / SPARK_REMOTE)."""
from __future__ import annotations

from typing import Optional

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from spark_jobs.session import SparkSettings, close_session, open_session


class SparkResource(ConfigurableResource):
    """The SparkSession of a run: opened in setup, stopped in teardown if this resource created it.

    Dagster sets a resource up once per run and process, so an in-process run (`refinery run`,
    `materialize`) shares one session across its assets, and the multiprocess executor opens one per
    step process. A session already running in the process (a test's, a notebook's) is reused when
    it agrees with every setting given here and is never stopped; one that disagrees is an error.
    Unset settings agree with any running session and take the defaults when one is created.
    """

    master: Optional[str] = Field(
        default=None, description="Spark master URL; SPARK_MASTER or local[*] when unset.")
    remote: Optional[str] = Field(
        default=None, description="Spark Connect URL (sc://host:15002); SPARK_REMOTE when unset.")
    shuffle_partitions: Optional[int] = Field(
        default=None, description="spark.sql.shuffle.partitions; 2 x cores (min 4) when unset.")
    driver_memory: Optional[str] = Field(
        default=None, description="spark.driver.memory for local runs; 4g when unset.")

    _session: object = PrivateAttr(default=None)
    _created: bool = PrivateAttr(default=False)

    @property
    def settings(self) -> SparkSettings:
        return SparkSettings(self.master, self.remote, self.shuffle_partitions, self.driver_memory)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._session, self._created = open_session(self.settings)
        what = "started" if self._created else "reusing the running"
        if context.log is not None:
            context.log.info(f"spark: {what} session {_describe(self._session)}")

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        session, created = self._session, self._created
        self._session, self._created = None, False
        close_session(session, created)

    def session(self):
        """The run's SparkSession (only inside a Dagster run, after setup)."""
        if self._session is None:
            raise RuntimeError("SparkResource has no session: it is opened when a Dagster run "
                               "sets the resource up (use it through an asset, or "
                               "spark_jobs.session.open_session outside Dagster)")
        return self._session


def _describe(session) -> str:
    try:
        return f"{session.sparkContext.master} ({session.sparkContext.applicationId})"
    except Exception:  # Spark Connect has no SparkContext
        return type(session).__name__

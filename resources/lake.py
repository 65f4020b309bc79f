"""The lake root: where every Delta table lives (a local directory or any URI)."""
from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field

from contract.tables import table_uri
from core.io.object_store import S3Settings, is_s3_uri
from core.io.preflight import check_lake_writable


def _is_uri(value: str) -> bool:
    return "://" in value


class LakeResource(ConfigurableResource):
    """Where the Delta tables live: a local directory or any URI Spark and delta-rs understand."""

    root: str = Field(
        default="lake",
        description="Lake root: ./lake by default (REFINERY_LAKE_ROOT through the Definitions), "
                    "or s3a://, abfss://, gs:// in production.",
    )

    @property
    def uri(self) -> str:
        return self.root if _is_uri(self.root) else str(Path(self.root).resolve())

    def table(self, name: str) -> str:
        return table_uri(self.uri, name)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Before any asset of the run writes: an S3 lake must accept a write (else a clear
        error naming the root: wrong key, missing bucket, endpoint down)."""
        check_lake_writable(self.uri)
        if is_s3_uri(self.uri) and context.log is not None:
            context.log.info(f"lake: {self.uri} is writable at {S3Settings.from_env().describe()}")
